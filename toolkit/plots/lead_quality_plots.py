"""Figures for lead quality: odds ratios, conversion per lead type, price against quality, and
cost per customer. Each takes a frame computed by :mod:`toolkit.lead_quality` and never computes."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, HoverTool, NumeralTickFormatter, Span

from toolkit.plots.style import (
    LEAD_TYPE_COLORS,
    OBSERVED,
    new_figure,
    new_source,
    palette,
    source_data,
)


def level_colors(frame: pd.DataFrame) -> list[str]:
    """A colour per row of ``frame``: its lead type's colour where the ``level`` starts with one,
    a palette colour otherwise (the colours every lead quality figure uses)."""
    levels = frame["level"].astype(str).tolist()
    first = [lev.split(" / ")[0].split(":")[0] for lev in levels]
    fallback = palette(levels)
    return [LEAD_TYPE_COLORS.get(f, fb) for f, fb in zip(first, fallback, strict=True)]


def _require(frame: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {missing}; got {list(frame.columns)}")


def odds_ratios(summary: pd.DataFrame, *, fig=None, title: str = "Odds ratios (log scale)"):
    """Each term's odds ratio with its interval, against the line of no effect (1).

    ``summary`` is ``LeadQualityModel.summary``; the intercept (the baseline's odds) is left out.
    """
    _require(summary, ["term", "odds_ratio", "ci_lower", "ci_upper"], "odds_ratios")
    frame = summary[summary["term"] != "intercept"].reset_index(drop=True)
    terms = frame["term"].astype(str).tolist()[::-1]
    if fig is None:
        fig = new_figure(
            "lead_quality_odds_ratios",
            title=title,
            x_axis_type="log",
            y_range=terms,
            height=max(200, 60 + 36 * len(terms)),
            x_axis_label="odds ratio (1 = no difference from the baseline)",
        )
    source = new_source(frame, "lead_quality_odds_ratios_source")
    fig.segment(
        "ci_lower", "term", "ci_upper", "term", source=source, line_width=3, color="#555555"
    )
    dots = fig.scatter("odds_ratio", "term", source=source, size=10, color="#2b8cbe")
    fig.add_layout(Span(location=1.0, dimension="height", line_dash="dashed", line_color="#999999"))
    fig.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[
                ("term", "@term"),
                ("odds ratio", "@odds_ratio{0.00}"),
                ("interval", "@ci_lower{0.00} to @ci_upper{0.00}"),
                ("p", "@p_value{0.0000}"),
            ],
        )
    )
    return fig


def conversion_by_type(
    conversion: pd.DataFrame, *, fig=None, title: str = "Conversion by lead type"
):
    """Each level's conversion rate with its interval (``LeadQualityModel.conversion_``).

    Levels with no counted leads (NaN) are listed on the axis with nothing drawn.
    """
    _require(conversion, ["level", "conversion", "ci_lower", "ci_upper"], "conversion_by_type")
    frame = conversion.reset_index(drop=True).copy()
    frame["color"] = level_colors(frame)
    levels = frame["level"].astype(str).tolist()
    if fig is None:
        fig = new_figure(
            "lead_quality_conversion",
            title=title,
            x_range=levels,
            y_axis_label="share of leads converting",
        )
        fig.yaxis.formatter = NumeralTickFormatter(format="0.0%")
        fig.xaxis.major_label_orientation = 0.6 if len(levels) > 4 else 0.0
    source = new_source(frame, "lead_quality_conversion_source")
    fig.segment(
        "level", "ci_lower", "level", "ci_upper", source=source, line_width=3, color="color"
    )
    dots = fig.scatter("level", "conversion", source=source, size=12, color="color")
    tips = [
        ("level", "@level"),
        ("conversion", "@conversion{0.0%}"),
        ("interval", "@ci_lower{0.0%} to @ci_upper{0.0%}"),
    ]
    if "leads" in frame:
        tips.append(("leads counted", "@leads"))
    if "in_progress" in frame:
        tips.append(("in progress (left out)", "@in_progress"))
    fig.add_tools(HoverTool(renderers=[dots], tooltips=tips))
    fig.y_range.start = 0
    return fig


def price_quality(
    curve: pd.DataFrame,
    observed: pd.DataFrame | None = None,
    *,
    price_col: str = "cost",
    fig=None,
    title: str = "Price paid per lead against conversion",
):
    """The fitted conversion over each level's price range, with its band, and the observed
    rate at each price point (dot area ~ leads).

    ``curve`` is ``LeadQualityModel.price_curve()``; ``observed`` is ``calibration()`` of the
    same model (its price column is ``price_col``).
    """
    _require(curve, ["level", "price", "conversion", "ci_lower", "ci_upper"], "price_quality")
    if fig is None:
        fig = new_figure(
            "lead_quality_price_quality",
            title=title,
            x_axis_type="log",
            x_axis_label="price paid per lead (log scale)",
            y_axis_label="share of leads converting",
        )
        fig.yaxis.formatter = NumeralTickFormatter(format="0.0%")
        fig.xaxis.formatter = NumeralTickFormatter(format="$0[.]00")
    levels = list(dict.fromkeys(curve["level"].astype(str)))
    colors = dict(zip(levels, level_colors(pd.DataFrame({"level": levels})), strict=True))
    for level in levels:
        part = curve[curve["level"].astype(str) == level]
        src = new_source(part, f"lead_quality_price_curve_{level}")
        fig.varea("price", "ci_lower", "ci_upper", source=src, fill_alpha=0.2, color=colors[level])
        fig.line(
            "price", "conversion", source=src, line_width=2, color=colors[level], legend_label=level
        )
    if observed is not None:
        _require(observed, ["level", price_col, "observed", "leads"], "price_quality (observed)")
        obs = observed[
            (observed[price_col] > 0) & observed["level"].astype(str).isin(levels)
        ].reset_index(drop=True)
        data = source_data(obs)
        data["price"] = obs[price_col].to_numpy()
        data["size"] = 4 + 16 * np.sqrt(obs["leads"].to_numpy() / max(1, obs["leads"].max()))
        data["color"] = [colors[str(v)] for v in obs["level"]]
        src = ColumnDataSource(data, name="lead_quality_price_observed")
        dots = fig.scatter("price", "observed", size="size", color="color", alpha=0.6, source=src)
        fig.add_tools(
            HoverTool(
                renderers=[dots],
                tooltips=[
                    ("level", "@level"),
                    ("price", "@price{$0.00}"),
                    ("observed", "@observed{0.0%}"),
                    ("leads", "@leads"),
                ],
            )
        )
    fig.legend.location = "top_left"
    fig.legend.click_policy = "hide"
    return fig


def cost_per_customer(cost: pd.DataFrame, *, fig=None, title: str | None = None):
    """Cost per customer (or rep, leader) per level with its interval (``model.cost_per()``)."""
    _require(cost, ["level", "cost_per", "ci_lower", "ci_upper"], "cost_per_customer")
    frame = cost.reset_index(drop=True).copy()
    frame["color"] = level_colors(frame)
    outcome = str(frame["outcome"].iloc[0]) if "outcome" in frame and len(frame) else "customer"
    levels = frame["level"].astype(str).tolist()[::-1]
    if fig is None:
        fig = new_figure(
            "lead_quality_cost_per",
            title=title or f"What one {outcome} costs, by lead type",
            y_range=levels,
            height=max(200, 60 + 40 * len(levels)),
            x_axis_label=f"money spent on leads per {outcome}",
        )
        fig.xaxis.formatter = NumeralTickFormatter(format="$0,0[.]00")
    source = new_source(frame, "lead_quality_cost_per_source")
    fig.hbar(y="level", right="cost_per", height=0.6, source=source, color="color", alpha=0.7)
    fig.segment(
        "ci_lower", "level", "ci_upper", "level", source=source, line_width=2, color="#333333"
    )
    fig.x_range.start = 0
    fig.add_tools(
        HoverTool(
            tooltips=[
                ("level", "@level"),
                (f"cost per {outcome}", "@cost_per{$0,0.00}"),
                ("interval", "@ci_lower{$0,0.00} to @ci_upper{$0,0.00}"),
            ]
        )
    )
    return fig


# -- the lead budget explorer's layout ---------------------------------------------------------

OUTCOME_WORDS = {"customer": "customers", "rep": "reps", "leader": "leaders"}


def _totals(outlook) -> pd.DataFrame:
    return outlook.totals


def _count_data(outlook) -> dict:
    totals = _totals(outlook)
    frame = totals[
        ["outcome", "expected", "ci_lower", "ci_upper", "likely_lower", "likely_upper"]
    ].copy()
    frame["label"] = [
        f"{e:,.1f} (likely {lo:,.0f}–{hi:,.0f})"
        for e, lo, hi in zip(
            frame["expected"], frame["likely_lower"], frame["likely_upper"], strict=True
        )
    ]
    frame["top"] = frame["likely_upper"].astype(float)
    return source_data(frame)


def _cost_frame(outlook) -> pd.DataFrame:
    cost = outlook.cost
    return cost[cost["outcome"] == "customer"].reset_index(drop=True)


def _money(value: float) -> str:
    return f"${value:,.2f}" if np.isfinite(value) else "n/a"


def budget_outlook_readout(outlook) -> str:
    """The lead budget explorer's readout (HTML): what the money should bring and what one
    customer costs, with the model checks' warnings."""
    totals = _totals(outlook).set_index("outcome")
    cost = _cost_frame(outlook).set_index("level").loc["total"]
    first = totals.iloc[0]
    parts = []
    for outcome, row in totals.iterrows():
        word = OUTCOME_WORDS.get(outcome, html.escape(str(outcome)))
        parts.append(
            f"<b>{row['expected']:,.1f}</b> {word} ({row['ci_lower']:,.1f} to "
            f"{row['ci_upper']:,.1f}; in one go you might see {row['likely_lower']:,.0f} to "
            f"{row['likely_upper']:,.0f})"
        )
    notes = sorted({str(n) for n in _totals(outlook)["note"] if str(n)})
    warning = (
        f"<br><span style='color:#b30000'>Model checks: {html.escape('; '.join(notes))}</span>"
        if notes
        else ""
    )
    return (
        f"<div style='font-size:15px'>Spending <b>{_money(first['spend'])}</b> on "
        f"<b>{first['leads']:,.0f}</b> leads should bring " + ", ".join(parts) + ".<br>"
        f"One customer costs <b>{_money(cost['cost_per'])}</b> "
        f"({_money(cost['ci_lower'])} to {_money(cost['ci_upper'])})." + warning + "</div>"
    )


def _with_colors(frame: pd.DataFrame) -> pd.DataFrame:
    # the same column cost_per_customer adds (its source carries it)
    frame = frame.copy()
    frame["color"] = level_colors(frame)
    return frame


def budget_outlook_data(outlook) -> dict[str, dict]:
    """The data of :func:`budget_outlook_figure`'s sources, by source name
    (``lead_budget_explorer_counts``: expected counts with their ranges and labels;
    ``lead_quality_cost_per_source``: the cost of one customer per level); live and static
    explorers replace it."""
    return {
        "lead_budget_explorer_counts": _count_data(outlook),
        "lead_quality_cost_per_source": source_data(_with_colors(_cost_frame(outlook))),
    }


def budget_outlook_figure(outlook):
    """The lead budget explorer's layout from a :class:`toolkit.lead_quality.BudgetOutlook`: a readout, expected counts with their ranges, and the cost of one customer per
    lead type (:func:`cost_per_customer`). Draws only."""
    from bokeh.layouts import column, row
    from bokeh.models import Div, LabelSet, Whisker

    counts = ColumnDataSource(_count_data(outlook), name="lead_budget_explorer_counts")
    outcomes = [str(o) for o in counts.data["outcome"]]
    fig = new_figure(
        "lead_budget_explorer_figure",
        x_range=outcomes,
        # a short title (a long one is cut off at half the page's width); the key goes below
        title="Expected from the budget",
        x_axis_label="thick bar: the expected number's range; thin line: what one try might give",
        y_axis_label="people",
        tools="save",
        height=340,
    )
    bars = fig.vbar(x="outcome", top="expected", width=0.6, source=counts, color=OBSERVED)
    fig.add_layout(
        Whisker(
            base="outcome",
            lower="likely_lower",
            upper="likely_upper",
            source=counts,
            line_width=1,
            line_color="#777777",
        )
    )
    fig.segment(
        "outcome", "ci_lower", "outcome", "ci_upper", source=counts, line_width=6, color="#333333"
    )
    fig.add_layout(
        LabelSet(
            x="outcome",
            y="top",
            text="label",
            source=counts,
            y_offset=4,
            text_align="center",
            text_font_size="9pt",
        )
    )
    fig.add_tools(
        HoverTool(
            renderers=[bars],
            tooltips=[
                ("outcome", "@outcome"),
                ("expected", "@expected{0,0.0}"),
                ("range of the expected number", "@ci_lower{0,0.0} to @ci_upper{0,0.0}"),
                ("one try might give", "@likely_lower{0,0} to @likely_upper{0,0}"),
            ],
        )
    )
    # whiskers and labels are annotations, which the auto range ignores: an invisible mark at
    # each label's height keeps them inside the plot
    fig.scatter(x="outcome", y="top", source=counts, size=1, alpha=0)
    fig.y_range.start = 0
    fig.y_range.range_padding = 0.15
    fig.xgrid.grid_line_color = None
    cost = cost_per_customer(_cost_frame(outlook), title="What one customer costs")
    cost.height = 340
    readout = Div(
        text=budget_outlook_readout(outlook),
        name="lead_budget_explorer_readout",
        sizing_mode="stretch_width",
    )
    return column(readout, row(fig, cost, sizing_mode="stretch_width"), sizing_mode="stretch_width")
