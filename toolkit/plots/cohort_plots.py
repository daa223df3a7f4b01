"""Cohort figures: the heatmap, retention curves and the customer/rep mix. They draw what
:func:`toolkit.cohort_table`, :func:`toolkit.project_cohorts` and :func:`toolkit.member_mix`
computed; nothing here computes a rate."""

from __future__ import annotations

from dataclasses import dataclass

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


def cohort_labels(frame: pd.DataFrame) -> pd.Series:
    """Row label per cohort of a cohort table (pandas): the by-group (if any) and the cohort's
    first day, ``"leader | 2024-01-01"``."""
    by = [c for c in frame.columns if c not in CELL_COLUMNS]
    label = frame["cohort"].dt.strftime("%Y-%m-%d")
    for col in reversed(by):
        label = frame[col].astype("str") + " | " + label
    return label


def amount_per_member(frame: pd.DataFrame) -> bool:
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


@dataclass(frozen=True)
class HeatmapFrame:
    """What :func:`cohort_heatmap` draws, prepared once for the heatmap and the cohort explorer.

    Attributes
    ----------
    cells : pandas.DataFrame
        The table's rows (as pandas) plus ``label`` (the row's cohort label), ``projected``,
        ``state`` (``"observed"``, ``"not finished"`` or ``"projected"``), ``text`` (what the
        cell says) and ``x`` (the period as a category).
    labels : list of str
        Row labels, oldest cohort on top.
    periods : list of str
        Column categories, in order.
    money : bool
        Whether the rate is an amount per starting member (see :func:`amount_per_member`).
    high : float
        Top of the colour scale: the largest observed rate (1 with none).
    height : int
        The figure's height in pixels for that many rows.
    title : str
        The default title for what the table holds.
    tooltips : list of (str, str)
        The hover's rows.
    """

    cells: pd.DataFrame
    labels: list
    periods: list
    money: bool
    high: float
    height: int
    title: str
    tooltips: list

    def state(self, state: str) -> pd.DataFrame:
        """The cells in ``state``."""
        return self.cells[self.cells["state"] == state]


def heatmap_frame(table) -> HeatmapFrame:
    """Prepare a cohort table (any engine, projected or not) for :func:`cohort_heatmap`.

    Parameters
    ----------
    table : dataframe
        A result of :func:`toolkit.cohort_table` or :func:`toolkit.project_cohorts`.

    Returns
    -------
    HeatmapFrame
        The cells with their labels, states and texts, and the figure's layout values.
    """
    frame = to_pandas(table).copy()
    frame["label"] = cohort_labels(frame)
    frame["projected"] = frame["projected"].astype(bool) if "projected" in frame else False
    frame["state"] = np.where(
        frame["projected"], "projected", np.where(frame["complete"], "observed", "not finished")
    )
    money = amount_per_member(frame)
    frame["text"] = _cell_text(frame, money)
    frame["x"] = frame["period"].astype("str")
    labels = list(dict.fromkeys(frame["label"]))[::-1]  # oldest cohort on top
    observed = frame[frame["state"] == "observed"]
    high = (
        float(observed["rate"].max())
        if len(observed) and np.isfinite(observed["rate"].max())
        else 1.0
    )
    rate, low, up = (
        ("@rate{0,0.00}", "@ci_lower{0,0.00}", "@ci_upper{0,0.00}")
        if money
        else ("@rate{0.0%}", "@ci_lower{0.0%}", "@ci_upper{0.0%}")
    )
    return HeatmapFrame(
        cells=frame,
        labels=labels,
        periods=[str(p) for p in sorted(frame["period"].unique())],
        money=money,
        high=max(high, 1e-9),
        height=max(300, 18 * len(labels) + 120),
        title=(
            "Cohorts: amount per starting member, period by period"
            if money
            else "Cohorts: share of each starting group, period by period"
        ),
        tooltips=[
            ("cohort", "@label"),
            ("period", "@x"),
            ("state", "@state"),
            ("starting members", "@size"),
            ("rate", f"{rate} ({low} to {up})"),
        ],
    )


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

    heat = heatmap_frame(table)
    fig = fig or new_figure(
        "cohort_heatmap",
        x_range=heat.periods,
        y_range=heat.labels,
        height=heat.height,
        title=title or heat.title,
        x_axis_label="periods since joining",
        tools="hover,save,reset",
    )
    observed = heat.state("observed")
    cmap = linear_cmap(
        "rate", palette=Viridis256[::-1][:200], low=0, high=heat.high, nan_color=INCOMPLETE
    )
    src = ColumnDataSource(source_data(observed), name="cohort_heatmap_observed")
    observed_cells = fig.rect(
        "x", "label", 0.95, 0.95, source=src, fill_color=cmap, line_color=None
    )
    unknown = heat.state("not finished")
    src_unknown = ColumnDataSource(source_data(unknown), name="cohort_heatmap_incomplete")
    unknown_cells = fig.rect(
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
    )
    items = [("observed", [observed_cells]), ("not finished (unknown)", [unknown_cells])]
    projected = heat.state("projected")
    if len(projected):
        src_proj = ColumnDataSource(source_data(projected), name="cohort_heatmap_projected")
        # projected cells: a pale fill, a sparse dot hatch and a dashed edge (unlike the grey
        # stripes of unknown cells), so the dark number written in them stays readable
        projected_cells = fig.rect(
            "x",
            "label",
            0.9,
            0.9,
            source=src_proj,
            fill_color=PROJECTED,
            fill_alpha=0.3,
            line_color="#e6550d",
            line_dash="dashed",
            line_width=1,
            hatch_pattern="dot",
            hatch_scale=6,
            hatch_color="#e6550d",
            hatch_alpha=0.35,
        )
        items.append(("projected (model estimate)", [projected_cells]))
        fig.text(
            "x",
            "label",
            text="text",
            source=src_proj,
            text_font_size="7pt",
            text_font_style="bold",
            text_align="center",
            text_baseline="middle",
            text_color="#5a1b02",
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
        hover.tooltips = heat.tooltips
    fig.xgrid.visible = fig.ygrid.visible = False
    # the key sits below the grid, never over its cells
    fig.add_layout(
        Legend(
            items=items,
            orientation="horizontal",
            click_policy="hide",
            label_text_font_size="8pt",
        ),
        "below",
    )
    return fig


#: The columns of each retention curve's data source.
CURVE_COLUMNS = ("period", "rate", "ci_lower", "ci_upper", "size", "label")


def curve_colors(n: int) -> list[str]:
    """The colours of ``n`` retention curves, oldest cohort first (Viridis, without its
    palest yellows)."""
    return [Viridis256[int(i)] for i in np.linspace(0, 230, max(n, 1))][:n]


@dataclass(frozen=True)
class RetentionFrame:
    """What :func:`retention_curves` draws, prepared once for the figure and the cohort explorer.

    Attributes
    ----------
    cells : pandas.DataFrame
        The table's rows (as pandas) plus ``label`` and ``projected``.
    labels : list of str
        One per curve, in the table's order.
    money : bool
        Whether the rate is an amount per starting member.
    y_axis_label : str
        What the vertical axis counts.
    tooltips : list of (str, str)
        The hover's rows.
    """

    cells: pd.DataFrame
    labels: list
    money: bool
    y_axis_label: str
    tooltips: list

    def observed(self, label: str) -> pd.DataFrame:
        """The finished cells of one curve, by period (what its solid line draws)."""
        part = self.cells[self.cells["label"] == label].sort_values("period")
        return part[part["complete"].astype(bool)]


def retention_frame(table) -> RetentionFrame:
    """Prepare a cohort table (any engine, projected or not) for :func:`retention_curves`.

    Parameters
    ----------
    table : dataframe
        A result of :func:`toolkit.cohort_table` or :func:`toolkit.project_cohorts`.

    Returns
    -------
    RetentionFrame
    """
    frame = to_pandas(table).copy()
    frame["label"] = cohort_labels(frame)
    frame["projected"] = frame["projected"].astype(bool) if "projected" in frame else False
    money = amount_per_member(frame)
    fmt = "{0,0.00}" if money else "{0.0%}"
    return RetentionFrame(
        cells=frame,
        labels=list(dict.fromkeys(frame["label"])),
        money=money,
        y_axis_label="per starting member" if money else "share of the starting group",
        tooltips=[
            ("cohort", "@label"),
            ("period", "@period"),
            ("rate", f"@rate{fmt} (@ci_lower{fmt} to @ci_upper{fmt})"),
        ],
    )


def retention_curves(table, *, title: str | None = None, fig=None):
    """One line per cohort: observed periods solid, projected periods dashed.

    Parameters
    ----------
    table : dataframe
        A cohort table, projected or not (any engine). Cells that are neither observed nor
        projected are not drawn.
    """
    curves = retention_frame(table)
    frame, money = curves.cells, curves.money
    fig = fig or new_figure(
        "retention_curves",
        title=title or "Retention by cohort (dashed: projected)",
        x_axis_label="periods since joining",
        y_axis_label=curves.y_axis_label,
        tools="pan,wheel_zoom,box_zoom,reset,save,hover",
    )
    colors = curve_colors(len(curves.labels))
    items = []
    for i, (label, color) in enumerate(zip(curves.labels, colors, strict=True)):
        part = frame[frame["label"] == label].sort_values("period")
        seen = curves.observed(label)
        src = ColumnDataSource(
            source_data(seen[list(CURVE_COLUMNS)]), name=f"retention_observed_{i}"
        )
        line = fig.line("period", "rate", source=src, color=color, line_width=2)
        dots = fig.scatter("period", "rate", source=src, color=color, size=4)
        parts = [line, dots]
        ahead = part[part["projected"]]
        if len(ahead):
            # join the dashed part to the last observed point so the curve reads as one line
            bridge = pd.concat([seen.tail(1), ahead])
            src_p = ColumnDataSource(
                source_data(bridge[list(CURVE_COLUMNS)]),
                name=f"retention_projected_{i}",
            )
            parts.append(
                fig.line(
                    "period",
                    "rate",
                    source=src_p,
                    color=color,
                    line_width=2,
                    line_dash="dashed",
                    alpha=0.8,
                )
            )
        if len(seen) or len(ahead):  # a cohort with nothing drawn gets no key
            items.append((str(label), parts))
    if items:
        # which line is which cohort: a key beside the plot (click a cohort to hide it)
        fig.add_layout(
            Legend(
                items=items,
                title="cohort",
                click_policy="hide",
                label_text_font_size="8pt",
                spacing=0,
            ),
            "right",
        )
    hover = fig.select_one(HoverTool)
    if hover is not None:
        hover.tooltips = curves.tooltips
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
    complete = per["complete"].to_numpy(dtype=bool)
    # a period still in progress has not had all its orders: its paying customers are unknown
    # (drawn as a gap and a grey hatched box, as the cohort heatmap does), never a plunge to 0
    paying = per["paying_customers_per_rep"].to_numpy(dtype="float64")
    data["paying_customers_per_rep"] = np.where(complete, paying, np.nan)
    data["paying_text"] = [
        f"{v:.2f}" if ok and np.isfinite(v) else "not known yet (period not finished)"
        for v, ok in zip(paying, complete, strict=True)
    ]
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
    unfinished = ~complete
    if unfinished.any():
        half = width_ms / 0.8 / 2
        starts = data["period"][unfinished].astype("datetime64[ms]").astype("int64")
        box = fig.quad(
            left=starts - half,
            right=starts + half,
            bottom=0,
            top=float(ratio_max) * 1.3 if np.isfinite(ratio_max) else 2,
            y_range_name="ratio",
            fill_color=INCOMPLETE,
            fill_alpha=0.25,
            line_color=None,
            hatch_pattern="/",
            hatch_color="#bdbdbd",
            hatch_alpha=0.8,
        )
        items.append(("not finished (unknown)", [box]))
    fig.add_layout(Legend(items=items, label_text_font_size="8pt", click_policy="hide"), "right")
    hover = fig.select_one(HoverTool)
    if hover is not None:
        hover.renderers = [ratio]
        hover.tooltips = [
            ("period", "@period{%Y-%m}"),
            ("customers per rep", "@customers_per_rep{0.00}"),
            ("paying customers per rep", "@paying_text"),
            ("customers' share of volume", "@customer_volume_share{0%}"),
        ]
        hover.formatters = {"@period": "datetime"}
        hover.mode = "vline"
    return fig
