"""Everything the growth explorer shows, computed without a widget (:func:`growth_outlook`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.growth.claims import ClaimCheck, claim_check
from toolkit.growth.params import GrowthParams, as_params
from toolkit.growth.simulation import GrowthSimulation, simulate_growth
from toolkit.results import FieldReads

FAN_QUANTILES = (0.1, 0.5, 0.9)  # growth_fan's default band and median
MAX_FOLLOWED = 30_000  # participants simulated one by one for the typical-participant panel
#: Columns of ``GrowthOutlook.typical`` (those of ``GrowthSimulation.typical()``).
TYPICAL_COLUMNS = (
    "share_recruited_nobody",
    "median_downline",
    "top1pct_share_of_recruits",
    "gini_downline",
    "share_lines_died_out",
    "participants",
    "runs",
)


@dataclass(frozen=True)
class GrowthOutlook(FieldReads):
    """What the growth explorer shows for one set of parameters (made by :func:`growth_outlook`).

    Attributes
    ----------
    params : GrowthParams
        The what-if.
    metric : str
        The path column the fan and the claim are about.
    simulation : GrowthSimulation
        The Monte Carlo runs (the fan chart's input).
    quantiles : pandas.DataFrame
        ``simulation.quantiles((0.1, 0.5, 0.9))``: ``month``, ``quantile`` and the path columns.
    claim : ClaimCheck
        The pitched outcome checked at ``claim.at_month``.
    typical : pandas.DataFrame
        One row, the columns of ``GrowthSimulation.typical()`` (``share_recruited_nobody``,
        ``median_downline``, ``top1pct_share_of_recruits``, ``gini_downline``,
        ``share_lines_died_out``, ``participants``, ``runs``); NaN with ``participants`` 0 when
        an organisation is too large to follow one person at a time.
    wall : pandas.DataFrame
        One row per month: ``month``, ``market`` (the market's size; NaN when unlimited),
        ``remaining_expected`` and ``remaining_median`` (people nobody has approached yet),
        ``joined_median`` (reps who ever joined, median run).

    income : TypicalIncome or None
        With a ``plan``: what the typical participant earns and spends under it
        (:meth:`SimulatedIncome.typical`, the whole horizon); None without a plan.
    income_claim : IncomeClaim or None
        With a ``plan``: the pitched monthly income checked at the horizon
        (:meth:`SimulatedIncome.claim`).
    income_note : str
        With a ``plan`` but an organisation too large to pay (:class:`TooLargeToPay`): why
        ``income`` and ``income_claim`` are None, in plain words; empty otherwise.

    ``outlook["wall"]`` reads a field like a dict key, a convenience kept from when the
    outlook was a dict.
    """

    params: GrowthParams
    metric: str
    simulation: GrowthSimulation
    quantiles: pd.DataFrame
    claim: ClaimCheck
    typical: pd.DataFrame
    wall: pd.DataFrame
    income: object = None
    income_claim: object = None
    income_note: str = ""

    def __repr__(self) -> str:
        return f"GrowthOutlook(metric={self.metric!r}, claim={self.claim})"


def growth_outlook(
    params: GrowthParams | dict | None = None,
    *,
    months: int = 12,
    runs: int = 200,
    seed: int = 0,
    metric: str = "cumulative_joined",
    claim_value: float = 5_000,
    claim_month: int | None = None,
    plan=None,
    income_claim_value: float = 10_000,
    autoship: float = 100.0,
    purchases: float = 50.0,
) -> GrowthOutlook:
    """Everything the growth explorer shows (its headless twin).

    Parameters
    ----------
    params : GrowthParams or dict, optional
        The what-if (default: a typical participant).
    months, runs, seed
        Horizon, Monte Carlo runs and seed of :func:`toolkit.simulate_growth`.
    metric : str
        The path column the fan and the claim are about (default: reps who ever joined).
    claim_value, claim_month
        The pitched outcome checked by :func:`toolkit.claim_check` (default: 5,000 by the
        horizon).
    plan : CompensationPlan, optional
        Pays the organisations (:func:`toolkit.simulate_income`, a large organisation in fewer
        runs as :func:`toolkit.growth.income_outlook.paid_runs` says): fills ``income`` and
        ``income_claim``.
    income_claim_value : float
        The pitched monthly gross checked at the horizon (10,000: "five figures a month", 001).
    autoship, purchases
        Monthly own order of each participant and purchase of each customer (with a plan).

    Returns
    -------
    GrowthOutlook
        ``simulation``, ``quantiles``, ``claim``, ``typical`` and ``wall`` (see its fields).
    """
    p = as_params(params)
    at = months if claim_month is None else int(claim_month)
    sim = simulate_growth(p, months=months, runs=runs, seed=seed, progress=False)
    claim = claim_check(sim, metric=metric, at_month=at, value=claim_value)
    try:
        typical = sim.typical(max_participants=MAX_FOLLOWED)
    except ValueError:  # too many people to follow one at a time: say so, do not guess
        typical = {name: np.nan for name in TYPICAL_COLUMNS} | {"participants": 0, "runs": 0}
    quantiles = sim.quantiles(FAN_QUANTILES)
    median = quantiles[quantiles["quantile"] == 0.5].drop(columns="quantile").set_index("month")
    expected = sim.expected.set_index("month")
    market = np.nan if p.market_size is None else float(p.market_size)
    wall = pd.DataFrame(
        {
            "month": expected.index.to_numpy(),
            "market": np.full(len(expected), market),
            "remaining_expected": expected["remaining_market"].to_numpy(),
            "remaining_median": median["remaining_market"].to_numpy(),
            "joined_median": median["cumulative_joined"].to_numpy(),
        }
    )
    income = income_claim = None
    income_note = ""
    if plan is not None:
        from toolkit.growth.income import pay_simulation
        from toolkit.growth.income_outlook import TooLargeToPay, paid_runs

        try:
            paid = paid_runs(p, months, runs)
        except TooLargeToPay as err:
            income_note = str(err)
        else:  # what the income explorer's headline shows (income_outlook), without its charts
            # simulate_income(p, plan, runs=paid, ...) would simulate the paths again: the
            # people it pays are those of ``sim`` (the same parameters, horizon and seed)
            money = pay_simulation(sim, plan, runs=paid, autoship=autoship, purchases=purchases)
            income = money.typical()
            income_claim = money.claim(income_claim_value, per="month", at_month=money.months)
    return GrowthOutlook(
        income=income,
        income_claim=income_claim,
        income_note=income_note,
        params=p,
        metric=metric,
        simulation=sim,
        quantiles=quantiles,
        claim=claim,
        typical=pd.DataFrame([{name: typical[name] for name in TYPICAL_COLUMNS}]),
        wall=wall,
    )
