"""What a lead budget should bring, customers to leaders, and what one of each costs
(:func:`budget_outlook`), the headless twin of the lead budget explorer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.lead_quality.budget import lead_budget
from toolkit.results import FieldReads


@dataclass(frozen=True)
class BudgetOutlook(FieldReads):
    """What a lead budget should bring (made by :func:`budget_outlook`).

    Attributes
    ----------
    budget : pandas.DataFrame
        :func:`lead_budget`'s frame, unchanged: ``outcome``, ``level``, ``price``, ``share``,
        ``spend``, ``leads``, ``conversion``, ``expected``, ``ci_lower``, ``ci_upper``,
        ``likely_lower``, ``likely_upper``, ``note``.
    cost : pandas.DataFrame
        One row per outcome and level of ``mix`` (in ``mix`` order) plus ``total``:
        ``outcome``, ``level``, ``spend``, ``expected``, ``cost_per`` (``spend / expected``)
        with ``ci_lower`` and ``ci_upper`` (``spend`` over the expected count's ``ci_upper``
        and ``ci_lower``: the model's uncertainty; the money spent is known). NaN where
        nothing is bought or nothing is expected.
    mix : dict
        Level -> share of the budget, as asked.

    ``outlook["cost"]`` reads a field like a dict key.
    """

    budget: pd.DataFrame
    cost: pd.DataFrame
    mix: dict

    @property
    def totals(self) -> pd.DataFrame:
        """The ``total`` rows of ``budget``: one per outcome."""
        return self.budget[self.budget["level"] == "total"].reset_index(drop=True)


def budget_outlook(
    model,
    budget: float,
    prices: Mapping[str, float],
    mix: Mapping[str, float],
    *,
    draws: int = 4000,
    seed: int = 0,
) -> BudgetOutlook:
    """What ``budget`` spent on leads at ``prices`` split by ``mix`` should bring.

    The headless twin of :func:`toolkit.explorers.lead_budget_explorer`:
    :func:`toolkit.lead_budget`, plus the cost of one customer, rep and leader read off its rows.

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
    BudgetOutlook
        ``budget`` (:func:`toolkit.lead_budget`'s frame, unchanged) and ``cost`` (what one
        customer, rep and leader costs per level); see its fields.
    """
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
    return BudgetOutlook(
        budget=table,
        cost=pd.concat(rows, ignore_index=True),
        mix={k: float(v) for k, v in mix.items()},
    )
