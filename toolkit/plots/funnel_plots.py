"""Funnel figures. Each takes the tidy frame (or result object) that ``toolkit.funnel`` computed
and draws it; nothing is computed here beyond labels and positions."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from bokeh.models import FactorRange, HoverTool, Legend, NumeralTickFormatter, Whisker
from bokeh.transform import dodge

from toolkit.frames import to_pandas as _pandas
from toolkit.funnel import TABLE_COLUMNS, TREND_COLUMNS
from toolkit.plots.style import INCOMPLETE, OBSERVED, new_figure, new_source, palette, source_data


def _segment_labels(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    if not by:
        return pd.Series(["all leads"] * len(frame), index=frame.index)
    parts = [frame[c].astype("str").where(frame[c].notna(), "(none)") for c in by]
    label = parts[0]
    for p in parts[1:]:
        label = label + " / " + p
    return label


def _pct(x) -> str:
    return "" if pd.isna(x) else f"{x:.0%}" if x >= 0.1 or x == 0 else f"{x:.1%}"


def funnel(table, *, title: str = "Funnel: share of entrants reaching each step", fig=None):
    """Bars of ``conversion_from_start`` per step (segments side by side), whiskers for its
    interval, labels with % of start and % of previous, and counts in the hover.

    Parameters
    ----------
    table : the frame returned by :func:`toolkit.funnel_table` (any engine)
    title : str
    fig : bokeh figure, optional
        Draw into this figure (its x range must be the step labels) instead of a new one.
    """
    t = _pandas(table).copy()
    by = [c for c in t.columns if c not in TABLE_COLUMNS]
    t["segment"] = _segment_labels(t, by)
    t = t.sort_values("step_index")
    steps = list(dict.fromkeys(t["step"]))
    segments = list(dict.fromkeys(t["segment"]))
    colors = dict(zip(segments, palette(segments), strict=True))
    if fig is None:
        fig = new_figure(
            "funnel",
            x_range=FactorRange(*steps),
            y_range=(0, 1.18),
            title=title,
            tools="save,reset",
        )
        fig.yaxis.formatter = NumeralTickFormatter(format="0%")
        fig.yaxis.axis_label = "share of entrants (censored)"
    width = 0.8 / max(len(segments), 1)
    legend_items = []
    for i, seg in enumerate(segments):
        part = t[t["segment"] == seg].copy()
        part["label_start"] = [f"{_pct(x)} of start" for x in part["conversion_from_start"]]
        part["label_previous"] = [
            f"{_pct(x)} of previous" if pd.notna(x) else ""
            for x in part["conversion_from_previous"]
        ]
        part["height"] = part["conversion_from_start"].fillna(0.0)
        keep = [
            "step",
            "segment",
            "height",
            "conversion_from_start",
            "conversion_from_previous",
            "start_ci_lower",
            "start_ci_upper",
            "reached",
            "in_progress",
            "dropped",
            "eligible",
            "label_start",
            "label_previous",
        ]
        source = new_source(part[keep], name=f"funnel_source_{i}")
        offset = (i - (len(segments) - 1) / 2) * width
        x = dodge("step", offset, range=fig.x_range)
        bars = fig.vbar(
            x=x, top="height", width=width * 0.9, source=source, color=colors[seg], alpha=0.85
        )
        fig.add_layout(
            Whisker(
                source=source,
                base=x,
                lower="start_ci_lower",
                upper="start_ci_upper",
                line_color="#333333",
                line_width=1.2,
            )
        )
        fig.text(
            x=x,
            y="start_ci_upper",
            text="label_start",
            source=source,
            y_offset=-14,
            text_font_size="8pt",
            text_align="center",
            text_baseline="bottom",
        )
        fig.text(
            x=x,
            y="start_ci_upper",
            text="label_previous",
            source=source,
            y_offset=-2,
            text_font_size="7pt",
            text_align="center",
            text_baseline="bottom",
            text_color="#555555",
        )
        legend_items.append((seg, [bars]))
    fig.add_tools(
        HoverTool(
            tooltips=[
                ("segment", "@segment"),
                ("step", "@step"),
                (
                    "of start",
                    "@conversion_from_start{0.0%} (@start_ci_lower{0.0%} to @start_ci_upper{0.0%})",
                ),
                ("of previous", "@conversion_from_previous{0.0%}"),
                ("reached", "@reached"),
                ("in progress", "@in_progress"),
                ("dropped", "@dropped"),
            ]
        )
    )
    if len(segments) > 1:
        fig.add_layout(Legend(items=legend_items, location="top_right"), "right")
    fig.xgrid.grid_line_color = None
    return fig


def time_to_convert(km, *, title: str | None = None, fig=None):
    """Kaplan-Meier curves of the share converted by each day, with pointwise interval bands.

    Parameters
    ----------
    km : the :class:`toolkit.funnel.TimeToConvert` returned by :func:`toolkit.time_to_convert`
    """
    t = km.table
    by = list(km.by)
    t = t.assign(segment=_segment_labels(t, by))
    segments = list(dict.fromkeys(t["segment"]))
    colors = dict(zip(segments, palette(segments), strict=True))
    if fig is None:
        fig = new_figure(
            "time_to_convert",
            title=title
            or f"Time from {km.from_step} to {km.to_step} (Kaplan-Meier, censored at export)",
            y_range=(0, 1),
        )
        fig.yaxis.formatter = NumeralTickFormatter(format="0%")
        fig.yaxis.axis_label = f"share converted to {km.to_step}"
        fig.xaxis.axis_label = f"days since {km.from_step}"
    items = []
    for i, seg in enumerate(segments):
        part = t[t["segment"] == seg][
            ["days", "converted_share", "ci_lower", "ci_upper", "at_risk", "segment"]
        ]
        source = new_source(part, name=f"time_to_convert_source_{i}")
        fig.varea_step(
            x="days",
            y1="ci_lower",
            y2="ci_upper",
            source=source,
            step_mode="after",
            fill_color=colors[seg],
            fill_alpha=0.15,
        )
        line = fig.step(
            x="days",
            y="converted_share",
            source=source,
            mode="after",
            line_color=colors[seg],
            line_width=2,
        )
        items.append((seg, [line]))
    fig.add_tools(
        HoverTool(
            tooltips=[
                ("segment", "@segment"),
                ("day", "@days{0.0}"),
                ("converted", "@converted_share{0.0%} (@ci_lower{0.0%} to @ci_upper{0.0%})"),
                ("still waiting", "@at_risk"),
            ]
        )
    )
    if len(segments) > 1:
        fig.add_layout(Legend(items=items, location="bottom_right"))
    return fig


def conversion_trend(trend, *, title: str = "Conversion by entry period", fig=None):
    """Conversion from the start per entry period, one line per step after the first; periods
    whose entrants have not all had their full window are drawn hollow in grey.

    Parameters
    ----------
    trend : the frame returned by :func:`toolkit.conversion_trend`
    """
    t = _pandas(trend)
    t = t[t["step_index"] > 0].copy()
    extra = [c for c in t.columns if c not in ("period", *TREND_COLUMNS)]
    t["series"] = t["step"] if not extra else t["step"] + " / " + _segment_labels(t, extra)
    t["period"] = pd.to_datetime(t["period"])
    series = list(dict.fromkeys(t["series"]))
    colors = dict(zip(series, palette(series), strict=True))
    if fig is None:
        fig = new_figure("conversion_trend", title=title, x_axis_type="datetime")
        fig.yaxis.formatter = NumeralTickFormatter(format="0%")
        fig.yaxis.axis_label = "share of entrants reaching the step"
        fig.xaxis.axis_label = "entry period"
    items = []
    for i, name in enumerate(series):
        part = t[t["series"] == name].sort_values("period").copy()
        part["fill"] = np.where(part["complete"].astype(bool), colors[name], "white")
        part["edge"] = np.where(part["complete"].astype(bool), colors[name], INCOMPLETE)
        part["status"] = np.where(part["complete"].astype(bool), "complete", "still maturing")
        cols = [
            "period",
            "series",
            "conversion",
            "ci_lower",
            "ci_upper",
            "entered",
            "eligible",
            "fill",
            "edge",
            "status",
        ]
        source = new_source(part[cols], name=f"conversion_trend_source_{i}")
        line = fig.line(
            x="period", y="conversion", source=source, line_color=colors[name], line_width=1.5
        )
        fig.scatter(
            x="period",
            y="conversion",
            source=source,
            size=7,
            fill_color="fill",
            line_color="edge",
            line_width=1.5,
        )
        fig.add_layout(
            Whisker(
                source=source,
                base="period",
                lower="ci_lower",
                upper="ci_upper",
                line_color=colors[name],
                line_alpha=0.5,
            )
        )
        items.append((name, [line]))
    fig.add_tools(
        HoverTool(
            tooltips=[
                ("", "@series"),
                ("entered", "@period{%b %Y}: @entered leads (@eligible with a full window)"),
                ("conversion", "@conversion{0.0%} (@ci_lower{0.0%} to @ci_upper{0.0%})"),
                ("period", "@status"),
            ],
            formatters={"@period": "datetime"},
        )
    )
    fig.add_layout(Legend(items=items, location="top_left"), "right")
    return fig


# -- the funnel explorer's layout --------------------------------------------------------------


def funnel_outlook_data(outlook) -> dict[str, dict]:
    """The data of :func:`funnel_outlook_figure`'s source, by source name
    (``funnel_explorer_source``: step, expected, likely_lower, likely_upper, probability_of_none,
    label, top);
    live and static explorers replace it. Labels are formatting, not computation."""
    table = outlook.table
    frame = table[
        ["step", "expected", "likely_lower", "likely_upper", "probability_of_none"]
    ].copy()
    frame["label"] = [
        f"{e:,.1f} ({lo:,}–{hi:,})"
        for e, lo, hi in zip(
            frame["expected"], frame["likely_lower"], frame["likely_upper"], strict=True
        )
    ]
    frame["top"] = frame["likely_upper"].astype(float)
    return {"funnel_explorer_source": source_data(frame)}


def funnel_outlook_readout(outlook) -> str:
    """The funnel explorer's readout (HTML): what the last step should get, with its range."""
    last = outlook.last
    return (
        f"Out of <b>{int(last['contacts']):,}</b> {html.escape(str(outlook.table['step'].iloc[0]))}s, "
        f"expect about <b>{last['expected']:,.1f}</b> to reach {html.escape(str(last['step']))}; "
        f"{last['level']:.0%} of the time between <b>{int(last['likely_lower']):,}</b> and "
        f"<b>{int(last['likely_upper']):,}</b>. Chance of none: <b>{last['probability_of_none']:.0%}</b>."
    )


def funnel_outlook_figure(outlook):
    """The funnel explorer's layout from a :class:`toolkit.funnel.FunnelOutlook`: a readout and
    bars of expected counts per step with their range (whiskers). Draws, never computes."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, Div, LabelSet

    source = ColumnDataSource(
        funnel_outlook_data(outlook)["funnel_explorer_source"], name="funnel_explorer_source"
    )
    steps = [str(s) for s in outlook.table["step"]]
    fig = new_figure(
        "funnel_explorer_figure",
        x_range=FactorRange(*steps, name="funnel_explorer_steps"),
        title="Expected people at each step, with the range to expect",
        y_axis_label="people",
        tools="save",
    )
    fig.vbar(x="step", top="expected", width=0.6, source=source, color=OBSERVED, alpha=0.8)
    fig.add_layout(
        Whisker(
            base="step", lower="likely_lower", upper="likely_upper", source=source, line_width=1.5
        )
    )
    fig.add_layout(
        LabelSet(
            x="step",
            y="top",
            text="label",
            source=source,
            y_offset=4,
            text_align="center",
            text_font_size="10pt",
        )
    )
    # the whiskers and labels are annotations, which the auto range ignores: an invisible mark
    # at each label's height keeps them inside the plot
    fig.scatter(x="step", y="top", source=source, size=1, alpha=0)
    fig.y_range.start = 0
    fig.y_range.range_padding = 0.12  # room for the labels above the tallest bar
    fig.xgrid.grid_line_color = None
    readout = Div(text=funnel_outlook_readout(outlook), name="funnel_explorer_readout")
    return column(readout, fig, sizing_mode="stretch_width")
