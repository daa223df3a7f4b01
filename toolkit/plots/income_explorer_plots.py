"""The income explorer's layout (:func:`income_outlook_figure`) and the data its fast path
shares (:func:`income_outlook_data`), from a :class:`toolkit.growth.income_outlook.IncomeOutlook`."""

from __future__ import annotations

import html

from bokeh.models import ColumnDataSource, NumeralTickFormatter

from toolkit.income.disclosure import dollars
from toolkit.plots.style import new_figure, source_data

DISTRIBUTION = "income_explorer_distribution"
SOURCES = "income_explorer_sources"
HEADLINE = "income_explorer_headline"
CLAIM = "income_explorer_claim"


def headline_readout(typical) -> str:
    """The disclosure headline in words (HTML): share earning nothing, median net, share with a
    loss, each with its interval."""
    if typical.participants == 0:
        return "<div style='font-size:15px'>No participant joined in these runs.</div>"
    return (
        f"<div style='font-size:15px'><b>Of {typical.participants:,} participants</b> "
        f"({typical.runs:,} simulated organisations, {typical.months} months):<br>"
        f"<b>{typical.share_earning_nothing:.0%}</b> earned nothing "
        f"({typical.share_earning_nothing_ci_lower:.0%} to {typical.share_earning_nothing_ci_upper:.0%}); "
        f"the median participant kept <b>{dollars(typical.median_net)}</b> after fees "
        f"({dollars(typical.median_net_ci_lower)} to {dollars(typical.median_net_ci_upper)}); "
        f"<b>{typical.share_net_loss:.0%}</b> lost money "
        f"({typical.share_net_loss_ci_lower:.0%} to {typical.share_net_loss_ci_upper:.0%}).</div>"
    )


def claim_income_readout(claim) -> str:
    """The income claim check in words (HTML), from an ``IncomeClaim``."""
    return f"<div style='font-size:15px'><b>Income claim:</b> {html.escape(str(claim))}.</div>"


def typical_income_readout(typical, plan_name: str = "") -> str:
    """What the typical participant earns and spends under a plan (HTML), for the growth
    explorer's typical-participant panel, from a ``TypicalIncome``."""
    if typical.participants == 0:
        return "<div style='font-size:15px'>Nobody joined in these runs: no income to show.</div>"
    under = f" under {html.escape(plan_name)}" if plan_name else ""
    return (
        f"<div style='font-size:15px'><b>What they earn{under}</b> over {typical.months} "
        f"months:<br><b>{typical.share_earning_nothing:.0%}</b> are paid nothing; the median "
        f"participant earns <b>{dollars(typical.median_gross)}</b> and, after fees, keeps "
        f"<b>{dollars(typical.median_net)}</b> ({dollars(typical.median_net_after_purchases)} "
        f"after their own orders); <b>{typical.share_net_loss:.0%}</b> lose money.</div>"
    )


def note_readout(text: str) -> str:
    """Why a panel shows no money (an organisation too large to pay), as the readouts set it."""
    return f"<div style='font-size:15px'>{html.escape(text)}</div>"


def growth_income_readouts(outlook) -> dict[str, str]:
    """The growth explorer's money readouts (HTML) by model name, from a ``GrowthOutlook``:
    none without a plan; the reason in both when the organisation was too large to pay."""
    if outlook.income is None and not outlook.income_note:
        return {}
    if outlook.income is None:
        return {
            "growth_explorer_income": note_readout(outlook.income_note),
            "growth_explorer_income_claim": "",
        }
    return {
        "growth_explorer_income": typical_income_readout(outlook.income),
        "growth_explorer_income_claim": claim_income_readout(outlook.income_claim),
    }


def income_outlook_data(outlook) -> dict:
    """``{model name: {property: value}}`` of everything that changes with the sliders."""
    return {
        DISTRIBUTION: {"data": source_data(outlook.distribution)},
        SOURCES: {"data": source_data(outlook.sources)},
        HEADLINE: {
            "text": note_readout(outlook.note)
            if outlook.note
            else headline_readout(outlook.typical)
        },
        CLAIM: {"text": "" if outlook.note else claim_income_readout(outlook.claim)},
    }


def income_outlook_figure(outlook):
    """The income explorer's layout: the headline, the claim, the income distribution (gross and
    net by participant quantile) and where the money comes from. Draws only."""
    from bokeh.layouts import column, row
    from bokeh.models import Div

    data = income_outlook_data(outlook)
    dist = ColumnDataSource(data[DISTRIBUTION]["data"], name=DISTRIBUTION)
    fig = new_figure(
        "income_explorer_distribution_figure",
        title="What participants got over the whole time, from the lowest to the highest",
        x_axis_label="share of participants at or below",
        y_axis_label="dollars",
        height=300,
    )
    fig.line("quantile", "gross", source=dist, line_width=3, color="#1f78b4", legend_label="gross")
    fig.line(
        "quantile", "net", source=dist, line_width=3, color="#e31a1c", legend_label="net of fees"
    )
    fig.xaxis.formatter = NumeralTickFormatter(format="0%")
    fig.yaxis.formatter = NumeralTickFormatter(format="$0,0")
    fig.legend.location = "top_left"
    src = ColumnDataSource(data[SOURCES]["data"], name=SOURCES)
    bars = new_figure(
        "income_explorer_sources_figure",
        title="Where the money comes from (per organisation)",
        x_range=list(outlook.sources["component"]),
        y_axis_label="dollars paid",
        height=300,
    )
    bars.vbar_stack(
        ["from_customers", "from_participants"],
        x="component",
        width=0.7,
        source=src,
        color=["#33a02c", "#ff7f00"],
        legend_label=["customers' purchases", "participants' own purchases"],
    )
    bars.yaxis.formatter = NumeralTickFormatter(format="$0,0")
    headline = Div(text=data[HEADLINE]["text"], name=HEADLINE, sizing_mode="stretch_width")
    claim = Div(text=data[CLAIM]["text"], name=CLAIM, sizing_mode="stretch_width")
    return column(
        row(headline, claim, sizing_mode="stretch_width"),
        row(fig, bars, sizing_mode="stretch_width"),
        sizing_mode="stretch_width",
    )
