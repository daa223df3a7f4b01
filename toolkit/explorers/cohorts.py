"""Cohort explorer: period, metric and segment to the cohort heatmap and the retention curves
(:func:`toolkit.cohort_table`, :func:`toolkit.plots.cohort_heatmap`,
:func:`toolkit.plots.retention_curves`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from toolkit.cohorts.outlook import RECENT, CohortOutlook, cohort_outlook
from toolkit.explorers.core import Control, Explorer, model_state

NONE = "none"  # how the segment control says "everyone together" (None is not a widget value)
# explorer metric -> (cohort_table metric, cumulative, what a cell says)
METRICS = {
    "active": ("active", False, "share of each joining group still active"),
    "ordering": ("ordering", False, "share of each joining group ordering in the period"),
    "ever_ordered": ("ordering", True, "share of each joining group who have ever ordered"),
    "revenue": ("revenue", True, "dollars bought per starting member, running total"),
}
PERIOD_WORDS = {"M": "months", "Q": "quarters", "Y": "years"}
# the exported page steps through these metrics (with the notebook's own)
STATIC_METRICS = ("active", "ordering", "revenue")
# heatmap cells the exported page may carry over all its states (about 115 bytes each)
MAX_GRID_CELLS = 15_000


# -- drawing: names, layout and column plumbing only, no numbers --------------------------------

# The heatmap's columns that its glyphs and tooltips read (the rest would only weigh the page).
HEAT_COLUMNS = ("x", "label", "rate", "ci_lower", "ci_upper", "size", "state", "text")
HEAT_SOURCES = {"observed": "cohort_heatmap_observed", "not finished": "cohort_heatmap_incomplete"}
# Properties (besides data, text and factors) that change with the metric or the segment.
_PROPS = {
    "cohort_explorer_heatmap": ("height",),
    "cohort_explorer_colors": ("low", "high"),
    "cohort_explorer_heatmap_hover": ("tooltips",),
    "cohort_explorer_curves_hover": ("tooltips",),
    "cohort_explorer_curves_axis": ("axis_label",),
}


def _title(outlook: CohortOutlook) -> str:
    """The heatmap's title, in words, from what the outlook holds."""
    what = next(
        words
        for name, cumulative, words in METRICS.values()
        if (name, cumulative) == (outlook.metric, outlook.cumulative)
    )
    split = "" if outlook.segment is None else f", by {outlook.segment}"
    return what[0].upper() + what[1:] + split


def _build(outlook: CohortOutlook, *, slots: int):
    """The heatmap and the curves, named so that each control change can replace their data.

    ``slots`` curves always exist (empty ones included), so every state of the static grid has
    a line to draw into."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, GlyphRenderer, HoverTool, LinearColorMapper

    from toolkit.plots.cohort_plots import cohort_heatmap, curve_colors, retention_curves

    heat = cohort_heatmap(outlook.table, title=_title(outlook))
    heat.name = "cohort_explorer_heatmap"
    heat.x_range.name = "cohort_explorer_periods"
    heat.y_range.name = "cohort_explorer_cohorts"
    heat.title.name = "cohort_explorer_heatmap_title"
    heat.select_one(HoverTool).name = "cohort_explorer_heatmap_hover"
    for mapper in heat.select(type=LinearColorMapper):
        mapper.name = "cohort_explorer_colors"
    for source in heat.select(type=ColumnDataSource):
        source.data = {c: source.data[c] for c in HEAT_COLUMNS}

    curves = retention_curves(outlook.curves, title="The latest cohorts, period by period")
    curves.name = "cohort_explorer_curves"
    curves.select_one(HoverTool).name = "cohort_explorer_curves_hover"
    curves.yaxis[0].name = "cohort_explorer_curves_axis"
    renderers = curves.select(type=GlyphRenderer)
    n_lines = len({r.data_source.name for r in renderers})
    if n_lines > slots:
        raise ValueError(f"{n_lines} curves for {slots} slots")  # a bug, not bad data
    pad = curve_colors(slots)
    for i in range(n_lines, slots):
        src = ColumnDataSource(_empty_curve(), name=f"retention_observed_{i}")
        curves.line("period", "rate", source=src, color=pad[i], line_width=2)
        curves.scatter("period", "rate", source=src, color=pad[i], size=4)
    # name the glyphs: the colour of line i follows the number of lines drawn
    for renderer in curves.select(type=GlyphRenderer):
        i = renderer.data_source.name.rsplit("_", 1)[1]
        renderer.glyph.name = f"cohort_explorer_{type(renderer.glyph).__name__.lower()}_{i}"
    return column(heat, curves, sizing_mode="stretch_width")


def _empty_curve() -> dict:
    return {
        "period": np.array([], dtype="int64"),
        **{k: np.array([], dtype="float64") for k in ("rate", "ci_lower", "ci_upper")},
        "size": np.array([], dtype="int64"),
        "label": np.array([], dtype=object),
    }


def _read_state(layout) -> dict:
    """What a control change alters, read off a built layout (slow: the reference for
    :func:`_state`, which a test holds to it): the core's data, text and factors, plus the
    heatmap's height, colour range and tooltips, the curves' axis label, tooltips and colours."""
    from bokeh.models import Line, Scatter

    state = model_state(layout)
    for model in layout.references():
        name = model.name or ""
        if name in _PROPS:
            state[name] = {prop: getattr(model, prop) for prop in _PROPS[name]}
            if "tooltips" in state[name]:
                state[name]["tooltips"] = [list(t) for t in state[name]["tooltips"]]
        elif isinstance(model, Line) and name.startswith("cohort_explorer_"):
            state[name] = {"line_color": model.line_color}
        elif isinstance(model, Scatter) and name.startswith("cohort_explorer_"):
            state[name] = {"fill_color": model.fill_color, "line_color": model.line_color}
    return state


def _state(outlook: CohortOutlook, *, slots: int) -> dict:
    """The same as ``_read_state(_build(outlook))`` without building figures (building 30
    curves and a heatmap takes about a second). It reads the data the figures draw from
    :func:`toolkit.plots.cohort_plots.heatmap_frame` and
    :func:`~toolkit.plots.cohort_plots.retention_frame`, the preparations the figures use; a
    test checks that both agree for every state of the static grid."""
    from toolkit.plots.cohort_plots import (
        CURVE_COLUMNS,
        curve_colors,
        heatmap_frame,
        retention_frame,
    )
    from toolkit.plots.style import source_data

    heat = heatmap_frame(outlook.table)
    state: dict = {
        source: {"data": source_data(heat.state(kind)[list(HEAT_COLUMNS)])}
        for kind, source in HEAT_SOURCES.items()
    }
    state.update(
        {
            "cohort_explorer_heatmap": {"height": heat.height},
            "cohort_explorer_periods": {"factors": heat.periods},
            "cohort_explorer_cohorts": {"factors": heat.labels},
            "cohort_explorer_heatmap_title": {"text": _title(outlook)},
            "cohort_explorer_colors": {"low": 0, "high": heat.high},
            "cohort_explorer_heatmap_hover": {"tooltips": [list(t) for t in heat.tooltips]},
        }
    )
    curves = retention_frame(outlook.curves)
    names = curves.labels
    colors = [*curve_colors(len(names)), *curve_colors(slots)[len(names) :]]
    for i in range(slots):
        if i < len(names):
            data = source_data(curves.observed(names[i])[list(CURVE_COLUMNS)])
        else:
            data = _empty_curve()
        state[f"retention_observed_{i}"] = {"data": data}
        state[f"cohort_explorer_line_{i}"] = {"line_color": colors[i]}
        state[f"cohort_explorer_scatter_{i}"] = {"fill_color": colors[i], "line_color": colors[i]}
    state["cohort_explorer_curves_hover"] = {"tooltips": [list(t) for t in curves.tooltips]}
    state["cohort_explorer_curves_axis"] = {"axis_label": curves.y_axis_label}
    return state


def cohort_explorer(
    members,
    orders=None,
    *,
    period: str = "M",
    metric: str = "active",
    segment: str | None = None,
    segments: Sequence[str] = ("role",),
    as_of=None,
    recent: int = RECENT,
) -> Explorer:
    """What-if menus for cohorts: which joining groups stay, keep ordering, keep spending?

    Parameters
    ----------
    members, orders
        The contract's members and orders tables (any engine). Without orders only the
        "still active" metric is offered.
    period : {"M", "Q", "Y"}
        Where the period menu starts (months, quarters, years).
    metric : {"active", "ordering", "ever_ordered", "revenue"}
        Where the metric menu starts: still active; ordering in the period; has ever ordered;
        dollars bought per starting member, running total.
    segment : str, optional
        Where the segment menu starts: None (everyone together) or one of ``segments``.
    segments : sequence of str
        Members' columns the cohorts can be split by (default: role).
    as_of : timestamp-like, optional
        The export date (default: the latest timestamp in the tables).
    recent : int
        Cohorts of each segment drawn as curves (the latest with a finished first period).

    Returns
    -------
    Explorer
        Displays itself (live in JupyterLab and Voila, static in exported HTML). The headless
        twin is :func:`cohort_outlook`. In exported HTML the metric and segment menus switch
        between tables computed in advance; the period stays at the notebook's value.
    """
    if period not in PERIOD_WORDS:
        raise ValueError(f"period must be one of {tuple(PERIOD_WORDS)}, got {period!r}")
    metrics = [m for m in METRICS if orders is not None or METRICS[m][0] == "active"]
    if metric not in metrics:
        raise ValueError(
            f"metric must be one of {tuple(metrics)}"
            + ("" if orders is not None else " (the others need the orders table)")
            + f", got {metric!r}"
        )
    segments = [str(s) for s in segments]
    if segment is not None and segment not in segments:
        raise ValueError(f"segment must be None or one of {segments}, got {segment!r}")
    # one curve slot per possible line: `recent` cohorts of each group of the widest segment
    groups = {NONE: 1, **{s: _distinct(members, s) for s in segments}}
    slots = recent * max(groups.values())

    def compute(period, metric, segment):
        name, cumulative, _ = METRICS[metric]
        return cohort_outlook(
            members,
            orders,
            period=period,
            metric=name,
            cumulative=cumulative,
            segment=None if segment == NONE else segment,
            as_of=as_of,
            recent=recent,
        )

    def build(outlook):
        return _build(outlook, slots=slots)

    # The exported page carries every heatmap of its grid: as many menus step through tables
    # computed in advance as keep it near 2 MB; the others stay at the notebook's choice.
    segment = segment or NONE
    first = compute(period, metric, segment).table
    rectangle = first["cohort"].nunique() * first["period"].nunique()
    static_metrics = tuple(dict.fromkeys([m for m in STATIC_METRICS if m in metrics] + [metric]))
    all_cells = len(static_metrics) * sum(rectangle * n for n in groups.values())
    one_split = len(static_metrics) * rectangle * groups[segment]
    segment_static = all_cells <= MAX_GRID_CELLS
    metric_static = one_split <= MAX_GRID_CELLS

    controls = [
        Control(
            "period",
            "Period",
            period,
            options=tuple(PERIOD_WORDS.items()),
            static=False,
        ),
        Control(
            "metric",
            "Metric",
            metric,
            options=tuple((m, METRICS[m][2]) for m in metrics),
            static=metric_static,
            static_values=static_metrics,
        ),
        Control(
            "segment",
            "Split by",
            segment,
            options=((NONE, "everyone together"), *((s, f"by {s}") for s in segments)),
            static=segment_static,
        ),
    ]

    explorer = Explorer(
        "cohort_explorer",
        "Cohorts: who stays, who keeps buying",
        controls,
        compute,
        build,
        state=lambda outlook: _state(outlook, slots=slots),
        note="Each row of the heatmap is a joining group, each column the periods since "
        "joining. Grey hatched cells have not finished yet: unknown, not zero.",
    )
    return explorer


def _distinct(members, column: str) -> int:
    import narwhals as nw

    from toolkit.frames import collect, from_native

    frame = from_native(members, "members", [column])
    return len(collect(frame.select(nw.col(column)).unique()))
