"""Lead budget explorer: a budget, the price of each lead type and the split of the budget to
expected customers, reps and leaders (with their ranges) and what one customer costs, from a
fitted :class:`toolkit.LeadQualityModel` (:func:`toolkit.lead_budget`)."""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np

from toolkit.explorers.core import Control, Explorer, PageFormula
from toolkit.explorers.formulas import BUDGET_JS, COMMON_JS
from toolkit.lead_quality.budget import check_fitted, linear_terms
from toolkit.lead_quality.model import BUDGET_OUTCOMES
from toolkit.lead_quality.outlook import BudgetOutlook, budget_outlook

# The exported page's grid (the "likely" range is Monte Carlo, so the budget and the first share
# step through these values; the expected counts and their ranges are computed in the page).
BUDGET_STEP = 250.0
SHARE_STEP = 0.25


def _state(outlook: BudgetOutlook) -> dict:
    from toolkit.plots.lead_quality_plots import budget_outlook_data, budget_outlook_readout

    state = {name: {"data": data} for name, data in budget_outlook_data(outlook).items()}
    state["lead_budget_explorer_readout"] = {"text": budget_outlook_readout(outlook)}
    return state


def _figure(outlook: BudgetOutlook):
    from toolkit.plots.lead_quality_plots import budget_outlook_figure

    return budget_outlook_figure(outlook)


def _steps(step: float, end: float, current: float, *, start: float | None = None) -> tuple:
    """Evenly spaced grid values from ``start`` (one step) to ``end``, rounded to the step."""
    first = step if start is None else start
    n = int(np.floor((end - first) / step + 1e-9)) + 1
    return tuple(round(first + i * step, 10) for i in range(n))


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
        step through results computed in advance (the "likely" range is Monte Carlo: the sliders
        offer only the grid's values, every $250 and 25%), and the page computes the expected
        counts, their ranges and the cost of a customer itself; the prices stay at the
        notebook's values.
    """
    check_fitted(model)
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
            static_values=_steps(BUDGET_STEP, max(5000.0, 4 * budget), budget),
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
                static_values=tuple(
                    s for s in _steps(SHARE_STEP, 1.0, shares[i], start=0.0) if s <= room + 1e-9
                ),
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

    def page_args(values) -> dict:
        # what the page holds fixed: the fits at the notebook's prices
        from toolkit.plots.lead_quality_plots import OUTCOME_WORDS

        level_prices = {level: values[f"price_{i}"] for i, level in enumerate(levels)}
        terms = [linear_terms(model, o, levels, level_prices) for o in BUDGET_OUTCOMES]
        notes = sorted({t.note for t in terms if t.note})
        return {
            "levels": levels,
            "prices": [float(level_prices[level]) for level in levels],
            "outcomes": list(BUDGET_OUTCOMES),
            "words": [OUTCOME_WORDS.get(o, html.escape(o)) for o in BUDGET_OUTCOMES],
            "customer": BUDGET_OUTCOMES.index("customer"),
            "p": [t.conversion.tolist() for t in terms],
            "X": terms[0].design.tolist(),
            "cov": [t.covariance.tolist() for t in terms],
            "z": terms[0].z,
            "warning": (
                "<br><span style='color:#b30000'>Model checks: "
                f"{html.escape('; '.join(notes))}</span>"
                if notes
                else ""
            ),
        }

    page = PageFormula(
        controls=(),  # the budget and shares step through the grid (see BUDGET_STEP)
        code=COMMON_JS + BUDGET_JS,
        args=page_args,
        replaces=(
            "lead_budget_explorer_readout",
            "lead_quality_cost_per_source",
            *(
                f"lead_budget_explorer_counts.{col}"
                for col in ("outcome", "expected", "ci_lower", "ci_upper", "label", "top")
            ),
        ),
    )
    explorer = Explorer(
        "lead_budget_explorer",
        "Lead budget: what should my money bring?",
        controls,
        compute,
        _figure,
        state=_state,
        note=f"The last lead type ({levels[-1]}) gets what the shares leave of the budget. "
        "Thick bars: the range of the expected number; thin whiskers: what one try might give "
        "(luck included).",
        page=page,
    )
    explorer.results()  # fits the rep and leader models once, so slider moves only predict
    return explorer
