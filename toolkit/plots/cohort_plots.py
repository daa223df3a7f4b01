"""Cohort figures: the heatmap, retention curves and the customer/rep mix. They draw what
:func:`toolkit.cohort_table`, :func:`toolkit.project_cohorts` and :func:`toolkit.member_mix`
computed; nothing here computes a rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, HoverTool, Legend, LinearAxis, Range1d
from bokeh.palettes import Viridis256

from toolkit.cohorts import CELL_COLUMNS
from toolkit.frames import to_pandas
from toolkit.plots.style import (
    INCOMPLETE,
    PROJECTED,
    ROLE_COLORS,
    new_figure,
    source_data,
)
from toolkit.schema import ROLES


def _labels(frame: pd.DataFrame) -> pd.Series:
    """Row label per cohort: the by-group (if any) and the cohort's month."""
    by = [c for c in frame.columns if c not in CELL_COLUMNS]
    label = frame["cohort"].dt.strftime("%Y-%m-%d")
    for col in reversed(by):
        label = frame[col].astype("str") + " | " + label
    return label


def _money(frame: pd.DataFrame) -> bool:
    """True when the table's rate is an amount per starting member (revenue or volume against the
    starting size), False for shares and ratios: read from the table's own ``metric`` and
    ``reference`` columns (see :func:`toolkit.cohort_table`), never guessed from the values
    (revenue per member under 1.00 is still money)."""
    missing = [c for c in ("metric", "reference") if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the table does not say what it holds (no {' or '.join(missing)} column): draw a "
            "result of toolkit.cohort_table or toolkit.project_cohorts"
        )
    metric = set(frame["metric"].dropna().unique())
    reference = set(frame["reference"].dropna().unique())
    return metric <= {"revenue", "volume"} and bool(metric) and reference == {"initial"}


def _cell_text(frame: pd.DataFrame, money: bool) -> list[str]:
    """The number written in each cell: a share as a percentage, money as an amount (with cents
    when every amount is under 10, so that 0.45 per member does not read as 0)."""
    rates = frame["rate"].to_numpy(dtype="float64")
    if not money:
        fmt = "{:.0%}"
    else:
        finite = np.abs(rates[np.isfinite(rates)])
        fmt = "{:,.2f}" if len(finite) and finite.max() < 10 else "{:,.0f}"
    return [fmt.format(r) if np.isfinite(r) else "" for r in rates]


def cohort_heatmap(table, *, title: str | None = None, fig=None):
    """Cohort x period grid coloured by ``rate``.

    Observed cells are shaded blue by their rate; cells not finished by ``as_of`` are grey and
    hatched (unknown, not zero); projected cells (from :func:`toolkit.project_cohorts`) are orange
    and hatched, with the projected rate written in them.

    Parameters
    ----------
    table : dataframe
        A cohort table, projected or not (any engine).
    title : str, optional
    fig : bokeh figure, optional
        Draw into this figure instead of a new one.
    """
    from bokeh.transform import linear_cmap

    frame = to_pandas(table).copy()
    frame["label"] = _labels(frame)
    frame["projected"] = frame["projected"].astype(bool) if "projected" in frame else False
    frame["state"] = np.where(
        frame["projected"], "projected", np.where(frame["complete"], "observed", "not finished")
    )
    money = _money(frame)
    frame["text"] = _cell_text(frame, money)
    labels = list(dict.fromkeys(frame["label"]))[::-1]  # oldest cohort on top
    periods = [str(p) for p in sorted(frame["period"].unique())]
    frame["x"] = frame["period"].astype("str")
    fig = fig or new_figure(
        "cohort_heatmap",
        x_range=periods,
        y_range=labels,
        height=max(300, 18 * len(labels) + 120),
        title=title
        or (
            "Cohorts: amount per starting member, period by period"
            if money
            else "Cohorts: share of each starting group, period by period"
        ),
        x_axis_label="periods since joining",
        tools="hover,save,reset",
    )
    observed = frame[frame["state"] == "observed"]
    high = (
        float(observed["rate"].max())
        if len(observed) and np.isfinite(observed["rate"].max())
        else 1.0
    )
    cmap = linear_cmap(
        "rate", palette=Viridis256[::-1][:200], low=0, high=max(high, 1e-9), nan_color=INCOMPLETE
    )
    src = ColumnDataSource(source_data(observed), name="cohort_heatmap_observed")
    fig.rect(
        "x",
        "label",
        0.95,
        0.95,
        source=src,
        fill_color=cmap,
        line_color=None,
        legend_label="observed",
    )
    unknown = frame[frame["state"] == "not finished"]
    src_unknown = ColumnDataSource(source_data(unknown), name="cohort_heatmap_incomplete")
    fig.rect(
        "x",
        "label",
        0.95,
        0.95,
        source=src_unknown,
        fill_color=INCOMPLETE,
        line_color=None,
        hatch_pattern="/",
        hatch_color="#bdbdbd",
        hatch_alpha=0.8,
        legend_label="not finished (unknown)",
    )
    projected = frame[frame["state"] == "projected"]
    if len(projected):
        src_proj = ColumnDataSource(source_data(projected), name="cohort_heatmap_projected")
        fig.rect(
            "x",
            "label",
            0.95,
            0.95,
            source=src_proj,
            fill_color=PROJECTED,
            fill_alpha=0.55,
            line_color=None,
            hatch_pattern="dot",
            hatch_color="#e6550d",
            hatch_alpha=0.5,
            legend_label="projected",
        )
        fig.text(
            "x",
            "label",
            text="text",
            source=src_proj,
            text_font_size="7pt",
            text_align="center",
            text_baseline="middle",
            text_color="#7f2704",
        )
    fig.text(
        "x",
        "label",
        text="text",
        source=src,
        text_font_size="7pt",
        text_align="center",
        text_baseline="middle",
        text_color="white",
    )
    hover = fig.select_one(HoverTool)
    if hover is not None:
        rate = "@rate{0,0.00}" if money else "@rate{0.0%}"
        low = "@rate_lower{0,0.00}" if money else "@rate_lower{0.0%}"
        up = "@rate_upper{0,0.00}" if money else "@rate_upper{0.0%}"
        hover.tooltips = [
            ("cohort", "@label"),
            ("period", "@x"),
            ("state", "@state"),
            ("starting members", "@size"),
            ("rate", f"{rate} ({low} to {up})"),
        ]
    fig.xgrid.visible = fig.ygrid.visible = False
    fig.legend.location = "top_right"
    fig.legend.click_policy = "hide"
    fig.legend.label_text_font_size = "8pt"
    return fig


def retention_curves(table, *, title: str | None = None, fig=None):
    """One line per cohort: observed periods solid, projected periods dashed.

    Parameters
    ----------
    table : dataframe
        A cohort table, projected or not (any engine). Cells that are neither observed nor
        projected are not drawn.
    """
    frame = to_pandas(table).copy()
    frame["label"] = _labels(frame)
    frame["projected"] = frame["projected"].astype(bool) if "projected" in frame else False
    money = _money(frame)
    fig = fig or new_figure(
        "retention_curves",
        title=title or "Retention by cohort (dashed: projected)",
        x_axis_label="periods since joining",
        y_axis_label="per starting member" if money else "share of the starting group",
        tools="pan,wheel_zoom,box_zoom,reset,save,hover",
    )
    labels = list(dict.fromkeys(frame["label"]))
    colors = [Viridis256[int(i)] for i in np.linspace(0, 230, max(len(labels), 1))]
    for i, (label, color) in enumerate(zip(labels, colors, strict=False)):
        part = frame[frame["label"] == label].sort_values("period")
        seen = part[part["complete"].astype(bool)]
        src = ColumnDataSource(
            source_data(seen[["period", "rate", "rate_lower", "rate_upper", "size", "label"]]),
            name=f"retention_observed_{i}",
        )
        fig.line("period", "rate", source=src, color=color, line_width=2)
        fig.scatter("period", "rate", source=src, color=color, size=4)
        ahead = part[part["projected"]]
        if len(ahead):
            # join the dashed part to the last observed point so the curve reads as one line
            bridge = pd.concat([seen.tail(1), ahead])
            src_p = ColumnDataSource(
                source_data(
                    bridge[["period", "rate", "rate_lower", "rate_upper", "size", "label"]]
                ),
                name=f"retention_projected_{i}",
            )
            fig.line(
                "period",
                "rate",
                source=src_p,
                color=color,
                line_width=2,
                line_dash="dashed",
                alpha=0.8,
            )
    hover = fig.select_one(HoverTool)
    if hover is not None:
        fmt = "{0,0.00}" if money else "{0.0%}"
        hover.tooltips = [
            ("cohort", "@label"),
            ("period", "@period"),
            ("rate", f"@rate{fmt} (@rate_lower{fmt} to @rate_upper{fmt})"),
        ]
    if not money:
        fig.y_range.start = 0
    return fig


def member_mix(mix, *, title: str | None = None, fig=None):
    """Members by role per period, stacked, with the customers-per-rep ratio on a second axis.

    Parameters
    ----------
    mix : dataframe
        A result of :func:`toolkit.member_mix` (any engine). The period still in progress at
        ``as_of`` is drawn faded.
    """
    frame = to_pandas(mix)
    wide = frame.pivot_table(
        index="period", columns="role", values="members", aggfunc="sum", fill_value=0
    )
    roles = [r for r in ROLES if r in wide.columns] + [r for r in wide.columns if r not in ROLES]
    wide = wide[roles]
    per = frame.drop_duplicates("period").set_index("period").loc[wide.index]
    data = {
        "period": wide.index.to_numpy(),
        **{r: wide[r].to_numpy(dtype="float64") for r in roles},
    }
    data["customers_per_rep"] = per["customers_per_rep"].to_numpy(dtype="float64")
    data["paying_customers_per_rep"] = per["paying_customers_per_rep"].to_numpy(dtype="float64")
    data["customer_volume_share"] = per["customer_volume_share"].to_numpy(dtype="float64")
    data["alpha"] = np.where(per["complete"].to_numpy(dtype=bool), 0.9, 0.35)
    src = ColumnDataSource(data, name="member_mix_source")
    fig = fig or new_figure(
        "member_mix",
        x_axis_type="datetime",
        title=title or "Members by role, and paying customers per rep",
        y_axis_label="members at the end of the period",
        tools="pan,wheel_zoom,box_zoom,reset,save,hover",
    )
    width = 0.8 * (
        np.diff(wide.index.to_numpy()).min() if len(wide) > 1 else np.timedelta64(28, "D")
    )
    width_ms = float(width / np.timedelta64(1, "ms"))
    renderers = fig.vbar_stack(
        roles,
        x="period",
        width=width_ms,
        source=src,
        fill_alpha="alpha",
        color=[ROLE_COLORS.get(r, "#999999") for r in roles],
        line_color=None,
    )
    ratio_max = np.nanmax(np.r_[data["customers_per_rep"], data["paying_customers_per_rep"], 1.0])
    fig.extra_y_ranges = {
        "ratio": Range1d(0, float(ratio_max) * 1.3 if np.isfinite(ratio_max) else 2)
    }
    fig.add_layout(LinearAxis(y_range_name="ratio", axis_label="per rep"), "right")
    ratio = fig.line(
        "period", "customers_per_rep", source=src, y_range_name="ratio", color="black", line_width=2
    )
    paying = fig.line(
        "period",
        "paying_customers_per_rep",
        source=src,
        y_range_name="ratio",
        color="black",
        line_width=2,
        line_dash="dotted",
    )
    one = fig.line(
        x=[data["period"].min(), data["period"].max()] if len(wide) else [],
        y=[1, 1] if len(wide) else [],
        y_range_name="ratio",
        color="#e31a1c",
        line_dash="dashed",
        alpha=0.6,
    )
    items = [(r.replace("_", " "), [rend]) for r, rend in zip(roles, renderers, strict=True)]
    items += [
        ("customers per rep", [ratio]),
        ("paying customers per rep", [paying]),
        ("1 customer per rep", [one]),
    ]
    fig.add_layout(Legend(items=items, label_text_font_size="8pt", click_policy="hide"), "right")
    hover = fig.select_one(HoverTool)
    if hover is not None:
        hover.renderers = [ratio]
        hover.tooltips = [
            ("period", "@period{%Y-%m}"),
            ("customers per rep", "@customers_per_rep{0.00}"),
            ("paying customers per rep", "@paying_customers_per_rep{0.00}"),
            ("customers' share of volume", "@customer_volume_share{0%}"),
        ]
        hover.formatters = {"@period": "datetime"}
        hover.mode = "vline"
    return fig
