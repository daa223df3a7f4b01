"""Lead budget explorer: a budget, the price of each lead type and the split of the budget to
expected customers, reps and leaders (with their ranges) and what one customer costs, from a
fitted :class:`toolkit.LeadQualityModel` (:func:`toolkit.lead_budget`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from toolkit.explorers.core import Control, Explorer

BUDGET_STEPS = (100, 250, 500, 1000, 2000, 5000)
SHARE_STEPS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)


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


def _state(outlook) -> dict:
    from toolkit.plots.lead_quality_plots import budget_outlook_data, budget_outlook_readout

    state = {name: {"data": data} for name, data in budget_outlook_data(outlook).items()}
    state["lead_budget_explorer_readout"] = {"text": budget_outlook_readout(outlook)}
    return state


def _figure(outlook):
    from toolkit.plots.lead_quality_plots import budget_outlook_figure

    return budget_outlook_figure(outlook)


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
        _figure,
        state=_state,
        note=f"The last lead type ({levels[-1]}) gets what the shares leave of the budget. "
        "Thick bars: the range of the expected number; thin whiskers: what one try might give "
        "(luck included).",
    )
    explorer.results()  # fits the rep and leader models once, so slider moves only predict
    return explorer
