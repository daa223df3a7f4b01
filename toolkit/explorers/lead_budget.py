"""Lead budget explorer: a budget, the price of each lead type and the split of the budget to
expected customers, reps and leaders (with their ranges) and what one customer costs, from a
fitted :class:`toolkit.LeadQualityModel` (:func:`toolkit.lead_budget`)."""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import pandas as pd

from toolkit.explorers.core import Control, Explorer

BUDGET_STEPS = (100, 250, 500, 1000, 2000, 5000)
SHARE_STEPS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)
OUTCOME_WORDS = {"customer": "customers", "rep": "reps", "leader": "leaders"}


def budget_outlook(
    model,
    budget: float,
    prices: Mapping[str, float],
    mix: Mapping[str, float],
    *,
    draws: int = 4000,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """What ``budget`` spent on leads at ``prices`` split by ``mix`` should bring.

    The headless twin of :func:`lead_budget_explorer`: :func:`toolkit.lead_budget`, plus the
    cost of one customer, rep and leader read off its rows.

    Parameters
    ----------
    model : fitted LeadQualityModel
    budget : float
        Money to spend on leads.
    prices : mapping
        Level (e.g. lead type) -> price per lead.
    mix : mapping
        Level -> share of the budget (shares add up to 1). Levels with share 0 are listed in
        ``cost`` with NaN (nothing bought).
    draws, seed
        Passed to :func:`toolkit.lead_budget` (the "likely" range).

    Returns
    -------
    dict
        - ``budget``: :func:`toolkit.lead_budget`'s frame, unchanged (``outcome``, ``level``,
          ``price``, ``share``, ``spend``, ``leads``, ``conversion``, ``expected``,
          ``ci_lower``, ``ci_upper``, ``likely_lower``, ``likely_upper``, ``note``).
        - ``cost``: one row per outcome and level of ``mix`` (in ``mix`` order) plus ``total``:
          ``outcome``, ``level``, ``spend``, ``expected``, ``cost_per`` (``spend / expected``)
          with ``ci_lower`` and ``ci_upper`` (``spend`` over the expected count's ``ci_upper``
          and ``ci_lower``: the model's uncertainty; the money spent is known). NaN where
          nothing is bought or nothing is expected.
    """
    from toolkit.lead_quality import lead_budget

    table = lead_budget(model, budget, prices, mix, draws=draws, seed=seed)
    levels = [*mix, "total"]
    rows = []
    for outcome, part in table.groupby("outcome", sort=False):
        part = part.set_index("level").reindex(levels)
        spend = part["spend"].to_numpy(dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            cost = np.where(part["expected"] > 0, spend / part["expected"], np.nan)
            low = np.where(part["ci_upper"] > 0, spend / part["ci_upper"], np.nan)
            high = np.where(part["ci_lower"] > 0, spend / part["ci_lower"], np.nan)
        rows.append(
            pd.DataFrame(
                {
                    "outcome": outcome,
                    "level": levels,
                    "spend": spend,
                    "expected": part["expected"].to_numpy(dtype="float64"),
                    "cost_per": cost,
                    "ci_lower": low,
                    "ci_upper": high,
                }
            )
        )
    return {"budget": table, "cost": pd.concat(rows, ignore_index=True)}


# -- drawing (no computation: labels and layout only) -------------------------------------------


def _totals(outlook: dict) -> pd.DataFrame:
    table = outlook["budget"]
    return table[table["level"] == "total"].reset_index(drop=True)


def _count_data(outlook: dict) -> dict:
    from toolkit.plots.style import source_data

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


def _cost_frame(outlook: dict) -> pd.DataFrame:
    cost = outlook["cost"]
    return cost[cost["outcome"] == "customer"].reset_index(drop=True)


def _money(value: float) -> str:
    return f"${value:,.2f}" if np.isfinite(value) else "n/a"


def _readout(outlook: dict) -> str:
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


def _state(outlook: dict) -> dict:
    from toolkit.plots.style import source_data

    return {
        "lead_budget_explorer_counts": {"data": _count_data(outlook)},
        "lead_quality_cost_per_source": {"data": source_data(_with_colors(_cost_frame(outlook)))},
        "lead_budget_explorer_readout": {"text": _readout(outlook)},
    }


def _with_colors(frame: pd.DataFrame) -> pd.DataFrame:
    # the same column toolkit.plots.cost_per_customer adds (its source carries it)
    from toolkit.plots.lead_quality_plots import _colors

    frame = frame.copy()
    frame["color"] = _colors(frame)
    return frame


def plot_outlook(outlook: dict):
    """The explorer's layout: a readout, expected counts with their ranges, and the cost of one
    customer per lead type (:func:`toolkit.plots.cost_per_customer`). Draws only."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, Div, HoverTool, LabelSet, Whisker

    from toolkit.plots.lead_quality_plots import cost_per_customer
    from toolkit.plots.style import OBSERVED, new_figure

    counts = ColumnDataSource(_count_data(outlook), name="lead_budget_explorer_counts")
    outcomes = [str(o) for o in counts.data["outcome"]]
    fig = new_figure(
        "lead_budget_explorer_figure",
        x_range=outcomes,
        title="Expected from the budget (thick: the expected number's range; thin: what one "
        "try might give)",
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
    fig.y_range.start = 0
    fig.y_range.range_padding = 0.15
    fig.xgrid.grid_line_color = None
    cost = cost_per_customer(
        _cost_frame(outlook), title="What one customer costs, by lead type and for the whole mix"
    )
    cost.height = 340
    readout = Div(
        text=_readout(outlook), name="lead_budget_explorer_readout", sizing_mode="stretch_width"
    )
    return column(readout, row(fig, cost, sizing_mode="stretch_width"), sizing_mode="stretch_width")


def _default_prices(model) -> dict[str, float]:
    cost = model.cost_per("customer")
    paid = cost.set_index("level")["cost_per_lead"]
    return {str(k): float(v) for k, v in paid.items() if np.isfinite(v) and v > 0}


def lead_budget_explorer(
    model,
    *,
    budget: float = 500.0,
    prices: Mapping[str, float] | None = None,
    mix: Mapping[str, float] | None = None,
    draws: int = 4000,
    seed: int = 0,
) -> Explorer:
    """What-if sliders for a lead budget: what do my dollars buy in customers, reps and leaders?

    Parameters
    ----------
    model : fitted LeadQualityModel
        Its levels (e.g. lead types) are what can be bought. The sibling fits for reps and
        leaders are made once, here, so a slider move only predicts.
    budget : float
        Where the budget slider starts.
    prices : mapping, optional
        Level -> price per lead. Default: each level's mean price paid in the data
        (``model.cost_per()["cost_per_lead"]``), levels that cost nothing left out.
    mix : mapping, optional
        Level -> share of the budget (adding up to 1); its levels are the ones the explorer
        splits the budget between. Default: equal shares over the priced levels.
    draws, seed
        Passed to :func:`toolkit.lead_budget`.

    Returns
    -------
    Explorer
        Displays itself (live in JupyterLab and Voila, static in exported HTML). The headless
        twin is :func:`budget_outlook`. One slider per level but the last sets that level's
        share; the last level gets the rest. In exported HTML the budget and the first share
        step through results computed in advance; the prices stay at the notebook's values.
    """
    from toolkit.lead_quality import _check_fitted

    _check_fitted(model)
    prices = dict(prices) if prices is not None else _default_prices(model)
    if mix is None:
        mix = {level: 1 / len(prices) for level in prices}
    levels = [str(level) for level in mix]
    if len(levels) < 1:
        raise ValueError("mix needs at least one level to spend the budget on")
    missing = [level for level in levels if level not in prices]
    if missing:
        raise ValueError(f"no price given for {missing}; prices are given for {list(prices)}")
    shares = [float(mix[level]) for level in levels]
    if min(shares) < 0 or not np.isclose(sum(shares), 1.0):
        raise ValueError(f"mix shares must be >= 0 and add up to 1, got {dict(mix)}")
    budget = float(budget)

    controls = [
        Control(
            "budget",
            "Budget ($)",
            budget,
            10.0,
            max(5000.0, 4 * budget),
            10.0,
            static_values=BUDGET_STEPS,
            fmt="$0,0",
        )
    ]
    others_default = sum(shares[1:-1])
    for i, level in enumerate(levels[:-1]):
        # only the first share steps in exported HTML; its steps leave room for the others
        room = 1.0 - others_default
        controls.append(
            Control(
                f"share_{i}",
                f"Share on {level}",
                round(shares[i], 4),
                0.0,
                1.0,
                0.05,
                static=i == 0,
                static_values=tuple(s for s in SHARE_STEPS if s <= room + 1e-9),
                fmt="0%",
            )
        )
    for i, level in enumerate(levels):
        price = float(prices[level])
        if not price > 0:
            raise ValueError(f"the price of {level!r} must be > 0 to spend a budget on it")
        controls.append(
            Control(
                f"price_{i}",
                f"Price per {level} lead ($)",
                price,
                0.01,
                max(1.0, round(4 * price, 2)),
                0.01 if price < 5 else 0.05,
                static=False,
                fmt="$0,0.00",
            )
        )

    def compute(budget, **values):
        split = [values[f"share_{i}"] for i in range(len(levels) - 1)]
        rest = 1.0 - sum(split)
        if rest < -1e-9:
            raise ValueError(
                f"the shares add up to {sum(split):.0%}: more than the whole budget "
                f"(the rest goes to {levels[-1]})"
            )
        shares = {
            level: float(s) for level, s in zip(levels, [*split, max(rest, 0.0)], strict=True)
        }
        level_prices = {level: values[f"price_{i}"] for i, level in enumerate(levels)}
        return budget_outlook(model, budget, level_prices, shares, draws=draws, seed=seed)

    explorer = Explorer(
        "lead_budget_explorer",
        "Lead budget: what should my money bring?",
        controls,
        compute,
        plot_outlook,
        state=_state,
        note=f"The last lead type ({levels[-1]}) gets what the shares leave of the budget. "
        "Thick bars: the range of the expected number; thin whiskers: what one try might give "
        "(luck included).",
    )
    explorer.results()  # fits the rep and leader models once, so slider moves only predict
    return explorer
