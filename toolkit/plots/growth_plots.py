"""Growth figures: the fan of Monte Carlo outcomes, participants' outcomes, the tornado, and the
growth explorer's layout (:func:`growth_outlook_figure`)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, HoverTool, Label, NumeralTickFormatter, Span

from toolkit.plots.style import OBSERVED, PROJECTED, new_figure, new_source, source_data

# whole people at scale, a decimal when a small what-if puts ticks between whole numbers
COUNT_FORMAT = "0,0[.]0"
LABELS = {
    "active_reps": "active reps",
    "leaders": "active leaders",
    "customers": "active customers",
    "new_reps": "new reps this month",
    "cumulative_joined": "reps who ever joined",
    "remaining_market": "people not yet approached",
    "contacts": "contacts this month",
    "new_customers": "new customers this month",
}


MARKET_METRICS = ("cumulative_joined", "active_reps", "customers")


def fan_data(result, *, metric: str = "active_reps", q=(0.1, 0.5, 0.9), log: bool = False) -> dict:
    """The data of :func:`growth_fan`'s sources, by source name (live explorers replace it).

    ``growth_fan_band`` (month, low, median, high; only for a simulation),
    ``growth_fan_expected`` (month, expected) and ``growth_fan_market`` (month, market; when
    ``metric`` counts people, empty without a market size). Values are floored at 0, or at half
    a person on a log axis, which cannot show zero.
    """
    expected = result if isinstance(result, pd.DataFrame) else result.expected
    params = None if isinstance(result, pd.DataFrame) else result.params
    floor = 0.5 if log else 0
    data = {
        "growth_fan_expected": {
            "month": expected["month"].to_numpy(),
            "expected": np.maximum(expected[metric].to_numpy(), floor),
        }
    }
    if params is not None:
        table = result.quantiles(q).pivot(index="month", columns="quantile", values=metric)
        low, mid, high = (table[v].to_numpy() for v in sorted(table.columns))
        data["growth_fan_band"] = {
            "month": table.index.to_numpy(),
            "low": np.maximum(low, floor),
            "median": np.maximum(mid, floor),
            "high": np.maximum(high, floor),
        }
        if metric in MARKET_METRICS:  # empty without a market: a what-if may set one
            limited = params.market_size is not None
            data["growth_fan_market"] = {
                "month": expected["month"].to_numpy()[: len(expected) if limited else 0],
                "market": np.full(len(expected) if limited else 0, float(params.market_size or 0)),
            }
    return data


def growth_fan(
    result,
    *,
    metric: str = "active_reps",
    q=(0.1, 0.5, 0.9),
    log: bool = False,
    fig=None,
    title=None,
):
    """Median and band of ``metric`` across Monte Carlo runs, the expected path, the market limit.

    ``result`` is a :class:`toolkit.growth.GrowthSimulation` (or a :func:`toolkit.project_growth`
    frame, drawn as the expected path alone). ``q`` gives the band's low, the median and the
    band's high quantile. The market size is drawn when the metric counts people who joined.
    """
    label = LABELS.get(metric, metric)
    if fig is None:
        fig = new_figure(
            "growth_fan",
            title=title or f"{label}, month by month",
            x_axis_label="month",
            y_axis_label=label,
            y_axis_type="log" if log else "linear",
        )
    sources = {
        name: ColumnDataSource(data, name=name)
        for name, data in fan_data(result, metric=metric, q=q, log=log).items()
    }
    if "growth_fan_band" in sources:
        band = sources["growth_fan_band"]
        lo_pct, hi_pct = int(round(100 * min(q))), int(round(100 * max(q)))
        fig.varea(
            "month",
            "low",
            "high",
            source=band,
            fill_color=OBSERVED,
            fill_alpha=0.25,
            legend_label=f"{lo_pct}% to {hi_pct}% of runs",
        )
        median_line = fig.line(
            "month",
            "median",
            source=band,
            line_color=OBSERVED,
            line_width=3,
            legend_label="median run",
        )
        fmt = "{0,0}"
        formatters = {}
        if log:
            # zeros are drawn at half a person (a log axis has no zero): say 0, not 1
            from bokeh.models import CustomJSHover

            people = CustomJSHover(
                code="return value <= 0.5 ? '0' : Math.round(value).toLocaleString('en-US');"
            )
            formatters = {f"@{c}": people for c in ("median", "low", "high")}
            fmt = "{custom}"
        fig.add_tools(
            HoverTool(
                renderers=[median_line],
                tooltips=[
                    ("month", "@month"),
                    ("median", f"@median{fmt}"),
                    ("band", f"@low{fmt} to @high{fmt}"),
                ],
                formatters=formatters,
                mode="vline",
            )
        )
    fig.line(
        "month",
        "expected",
        source=sources["growth_fan_expected"],
        line_color=PROJECTED,
        line_width=2,
        line_dash="dashed",
        legend_label="expected value (mean)",
    )
    if "growth_fan_market" in sources:
        # a line rather than a Span, so the axis reaches the town's size: the gap is the point
        fig.line(
            "month",
            "market",
            source=sources["growth_fan_market"],
            line_color="#e31a1c",
            line_dash="dotted",
            line_width=2,
            legend_label="market size",
        )
    if not log:
        fig.yaxis.formatter = NumeralTickFormatter(format=COUNT_FORMAT)
    else:
        # the bottom line (half a person) is where zero is drawn: label it 0, and mark whole
        # people only (a log axis would otherwise show a median of "0.5 reps")
        from bokeh.models import CustomJSTickFormatter

        fig.yaxis.formatter = CustomJSTickFormatter(
            code="if (Math.abs(tick - 0.5) < 1e-9) return '0';"
            " return Number.isInteger(tick) ? tick.toLocaleString('en-US') : '';"
        )
    fig.legend.location = "top_left"
    fig.legend.click_policy = "hide"
    return fig


def participant_outcomes(
    distribution: pd.DataFrame, *, column: str = "downline_size", fig=None, title=None
):
    """Participants by outcome on log-log axes, the median participant marked.

    ``distribution`` is :func:`toolkit.growth.outcome_distribution` of ``.participants()``.
    Outcomes are drawn at value + 1 (a log axis has no zero): the left-most bar is the
    participants with nothing.
    """
    label = column.replace("_", " ")
    data = distribution.assign(x=distribution["value"] + 1)
    if fig is None:
        fig = new_figure(
            "participant_outcomes",
            title=title or f"Participants by {label} (log scales)",
            x_axis_type="log",
            y_axis_type="log",
            x_axis_label=f"{label} (log scale: nothing drawn at the left)",
            y_axis_label="participants",
        )
        # the axis is drawn at value + 1; its ticks are labelled with the value itself, and
        # only where that is a whole number (a log axis would otherwise mark "0.5 reps")
        from bokeh.models import CustomJSTickFormatter

        fig.xaxis.formatter = CustomJSTickFormatter(
            code="const v = Math.round((tick - 1) * 1e6) / 1e6;"
            " return Number.isInteger(v) && v >= 0 ? v.toLocaleString('en-US') : '';"
        )
    src = new_source(
        data[["x", "value", "participants", "share", "share_at_least"]],
        "participant_outcomes_source",
    )
    dots = fig.scatter("x", "participants", source=src, size=7, color=OBSERVED, alpha=0.8)
    fig.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[
                (label, "@value"),
                ("participants", "@participants{0,0}"),
                ("share", "@share{0.0%}"),
                ("this or more", "@share_at_least{0.0%}"),
            ],
        )
    )
    for flag, colour, text in (
        ("is_median", "#e31a1c", "median participant"),
        ("is_mean", PROJECTED, "mean"),
    ):
        row = data[data[flag]]
        if len(row):
            x = float(row["x"].iloc[0])
            fig.add_layout(
                Span(
                    location=x,
                    dimension="height",
                    line_color=colour,
                    line_dash="dashed",
                    line_width=2,
                )
            )
            fig.add_layout(
                Label(
                    x=x,
                    y=float(data["participants"].max()),
                    text=f"{text}: {row['value'].iloc[0]:,.0f}",
                    text_color=colour,
                    x_offset=4,
                    y_offset=-16 if flag == "is_mean" else 0,
                    text_font_size="10pt",
                )
            )
    return fig


def tornado(table: pd.DataFrame, *, fig=None, title=None):
    """Bars from the metric with each parameter moved down to the metric with it moved up,
    largest effect on top (``table`` from :func:`toolkit.sensitivity`)."""
    data = table.iloc[::-1].reset_index(drop=True)  # largest effect drawn last = on top
    metric_label = "metric"
    if len(data) and "metric" in data:
        metric_label = f"{LABELS.get(data['metric'].iloc[0], data['metric'].iloc[0])} at month {data['at_month'].iloc[0]}"
    base = float(data["metric_base"].iloc[0]) if len(data) else 0.0
    if fig is None:
        fig = new_figure(
            "tornado",
            title=title or f"What moves {metric_label} most",
            y_range=list(data["parameter"]),
            x_axis_label=metric_label,
            height=max(240, 36 * len(data) + 80),
        )
    src = ColumnDataSource(
        {
            **source_data(
                data[
                    ["parameter", "value", "low", "high", "metric_low", "metric_high", "elasticity"]
                ]
            ),
            "base": np.full(len(data), base),
        },
        name="tornado_source",
    )
    down = fig.hbar(
        y="parameter",
        left="base",
        right="metric_low",
        height=0.7,
        source=src,
        color="#6baed6",
        legend_label="parameter lowered",
    )
    up = fig.hbar(
        y="parameter",
        left="base",
        right="metric_high",
        height=0.7,
        source=src,
        color=PROJECTED,
        legend_label="parameter raised",
    )
    fig.add_layout(Span(location=base, dimension="height", line_color="black", line_width=1))
    fig.add_tools(
        HoverTool(
            renderers=[down, up],
            tooltips=[
                ("parameter", "@parameter (@value{0.[000]})"),
                ("lowered to @low{0.[000]}", "@metric_low{0,0.0}"),
                ("raised to @high{0.[000]}", "@metric_high{0,0.0}"),
                ("elasticity", "@elasticity{0.00}"),
            ],
        )
    )
    fig.legend.location = "bottom_right"
    return fig


# -- the growth explorer's layout --------------------------------------------------------------


def claim_readout(c) -> str:
    """The claim check in words (HTML): the growth explorer's readout of a
    :class:`toolkit.growth.ClaimCheck`."""
    what = {"cumulative_joined": "reps who ever joined", "active_reps": "active reps"}.get(
        c.metric, html.escape(c.metric.replace("_", " "))
    )
    return (
        f"<div style='font-size:15px'><b>Claim check:</b> {c.value:,.0f} {what} by month "
        f"{c.at_month}?<br>Reached in <b>{c.probability:.0%}</b> of {c.runs:,} "
        f"runs (95% interval {c.probability_ci_lower:.0%} to {c.probability_ci_upper:.0%}). "
        f"Median run: <b>{c.median:,.0f}</b>; expected value: {c.expected:,.0f}.</div>"
    )


def typical_readout(typical: pd.DataFrame) -> str:
    """The typical participant in words (HTML), from ``GrowthOutlook.typical`` (one row)."""
    t = typical.iloc[0]
    if t["participants"] == 0:
        return (
            "<div style='font-size:15px'><b>The typical participant:</b> too many people to "
            "follow one by one at this horizon; shorten it to see them.</div>"
        )
    return (
        f"<div style='font-size:15px'><b>The typical participant</b> "
        f"(of {int(t['participants']):,} followed one by one):<br>"
        f"<b>{t['share_recruited_nobody']:.0%}</b> recruit nobody; median downline "
        f"<b>{t['median_downline']:,.0f}</b>; the top 1% of recruiters make "
        f"{t['top1pct_share_of_recruits']:.0%} of all recruits.</div>"
    )


def growth_outlook_figure(outlook, *, metric: str = "cumulative_joined"):
    """The growth explorer's layout from a :class:`toolkit.growth.GrowthOutlook`: the claim and
    typical-participant readouts, the fan chart (:func:`growth_fan`) and the market wall.
    Draws only."""
    from bokeh.layouts import column, row
    from bokeh.models import Div

    fan = growth_fan(outlook.simulation, metric=metric, title="The organisation, month by month")
    wall = ColumnDataSource(source_data(outlook.wall), name="growth_explorer_wall")
    fig = new_figure(
        "growth_explorer_wall_figure",
        title="The market wall: people nobody has approached yet (no line: no limit set)",
        x_axis_label="month",
        y_axis_label="people",
        height=260,
        x_range=fan.x_range,
    )
    fig.line(
        "month",
        "market",
        source=wall,
        color="#e31a1c",
        line_dash="dotted",
        line_width=2,
        legend_label="market size",
    )
    fig.line(
        "month",
        "remaining_median",
        source=wall,
        color=OBSERVED,
        line_width=3,
        legend_label="not yet approached (median run)",
    )
    fig.line(
        "month",
        "joined_median",
        source=wall,
        color=PROJECTED,
        line_width=2,
        legend_label="reps who ever joined (median run)",
    )
    fig.yaxis.formatter = NumeralTickFormatter(format=COUNT_FORMAT)
    fig.legend.location = "top_left"
    claim = Div(
        text=claim_readout(outlook.claim),
        name="growth_explorer_claim",
        sizing_mode="stretch_width",
    )
    typical = Div(
        text=typical_readout(outlook.typical),
        name="growth_explorer_typical",
        sizing_mode="stretch_width",
    )
    readouts = [claim, typical]
    from toolkit.plots.income_explorer_plots import growth_income_readouts

    # the money half, when a plan pays the organisations
    readouts += [
        Div(text=text, name=name, sizing_mode="stretch_width")
        for name, text in growth_income_readouts(outlook).items()
    ]
    return column(
        row(*readouts, sizing_mode="stretch_width"), fan, fig, sizing_mode="stretch_width"
    )
