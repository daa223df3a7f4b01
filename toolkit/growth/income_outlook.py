"""Everything the income explorer shows, computed without a widget (:func:`income_outlook`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from toolkit.growth.income import IncomeClaim, SimulatedIncome, TypicalIncome, simulate_income
from toolkit.growth.params import GrowthParams, as_params
from toolkit.growth.projection import project_growth
from toolkit.results import FieldReads

#: Where the distribution is read: every 2.5th percentile of participants.
DISTRIBUTION_QUANTILES = tuple(np.round(np.linspace(0.0, 1.0, 41), 4))
#: Participants the outlook pays at most (expected): fewer runs of a large organisation (at
#: least MIN_RUNS, to show a spread), and none of one whose MIN_RUNS runs would pass it.
MAX_PAID = 30_000
MIN_RUNS = 3


class TooLargeToPay(ValueError):
    """``MIN_RUNS`` simulated organisations would pass ``MAX_PAID`` participants: the outlook
    says so instead of paying them (the message is meant for the page)."""


#: The paid components, in the order the explorer draws them.
PAID_COMPONENTS = ("retail", "unilevel", "fast_start", "stairstep", "generation")


@dataclass(frozen=True)
class IncomeOutlook(FieldReads):
    """What the income explorer shows for one plan and organisation (made by :func:`income_outlook`).

    Attributes
    ----------
    params : GrowthParams
        The organisation.
    plan : CompensationPlan
        The plan as the sliders set it.
    result : SimulatedIncome
        The simulated organisations paid by the plan.
    typical : TypicalIncome
        The headline: share earning nothing, median net, share with a loss (whole horizon).
    claim : IncomeClaim
        The pitched monthly income checked at the horizon.
    distribution : pandas.DataFrame
        ``quantile`` (0 to 1 by 0.025), ``gross`` and ``net`` of participants over the horizon
        at that quantile (every participant counted, zero earners included).
    sources : pandas.DataFrame
        One row per paid component (``PAID_COMPONENTS``): ``component``, ``amount`` (mean per
        run), ``from_customers`` and ``from_participants`` (the part earned on customers'
        purchases and on participants' own).
    note : str
        Empty, or (from :func:`unpaid_outlook`) why nobody was paid: then ``result``,
        ``typical`` and ``claim`` are None and the figures NaN, drawn as nothing.
    """

    params: GrowthParams
    plan: object
    result: SimulatedIncome
    typical: TypicalIncome
    claim: IncomeClaim
    distribution: pd.DataFrame
    sources: pd.DataFrame
    note: str = ""

    def __repr__(self) -> str:
        return f"IncomeOutlook(plan={self.plan.name!r}, typical={self.typical})"


def scaled_plan(plan, *, unilevel_scale=1.0, **changes):
    """``plan`` with its unilevel rates multiplied by ``unilevel_scale`` (each at most 1) and
    the fields in ``changes`` replaced (validated again)."""
    rates = tuple(min(1.0, r * float(unilevel_scale)) for r in plan.unilevel)
    return replace(plan, unilevel=rates, **changes)


def paid_runs(params: GrowthParams, months: int, runs: int) -> int:
    """How many of ``runs`` simulated organisations an outlook pays: all, or fewer (at least
    ``MIN_RUNS``) so that about ``MAX_PAID`` people are paid; :class:`TooLargeToPay` when even
    ``MIN_RUNS`` would pass it."""
    per_run = float(project_growth(params, months)["cumulative_joined"].iloc[-1])
    if per_run * MIN_RUNS > MAX_PAID:
        raise TooLargeToPay(
            f"About {per_run:,.0f} people would join each simulated organisation in {months} "
            f"months: too many to pay one by one here (the limit is {MAX_PAID:,} people over "
            f"{MIN_RUNS} organisations). Lower the contacts or the sign-up rate, or raise the quit "
            "rate, to see what they earn."
        )
    return int(min(runs, max(MIN_RUNS, MAX_PAID // max(per_run, 1.0))))


def unpaid_outlook(params, plan, note: str) -> IncomeOutlook:
    """The outlook of an organisation too large to pay (:class:`TooLargeToPay`): ``note`` says
    why, every figure is NaN (the explorer draws nothing rather than a made-up $0)."""
    q = np.asarray(DISTRIBUTION_QUANTILES)
    nothing = np.full(len(PAID_COMPONENTS), np.nan)
    return IncomeOutlook(
        params=as_params(params),
        plan=plan,
        result=None,
        typical=None,
        claim=None,
        distribution=pd.DataFrame({"quantile": q, "gross": np.nan, "net": np.nan}),
        sources=pd.DataFrame(
            {
                "component": list(PAID_COMPONENTS),
                "amount": nothing,
                "from_customers": nothing,
                "from_participants": nothing,
            }
        ),
        note=note,
    )


def income_outlook(
    params: GrowthParams | dict | None = None,
    plan=None,
    *,
    months: int = 12,
    runs: int = 100,
    seed: int = 0,
    autoship: float = 100.0,
    purchases: float = 50.0,
    claim_value: float = 10_000,
) -> IncomeOutlook:
    """Everything the income explorer shows (its headless twin).

    Parameters
    ----------
    params : GrowthParams or dict, optional
        The organisation (default: a typical participant).
    plan : CompensationPlan, optional
        The plan (default: ``CompensationPlan.unilevel_example()``).
    months, runs, seed, autoship, purchases
        As :func:`simulate_income`; an organisation expected to pass ``MAX_PAID`` participants
        over ``runs`` runs is simulated in fewer runs (at least ``MIN_RUNS``), ``result.runs``
        says how many. One expected to pass ``MAX_PAID`` in ``MIN_RUNS`` runs raises
        :class:`TooLargeToPay` (a ValueError whose message says so in plain words).
    claim_value : float
        The pitched monthly gross checked in the last month ("five figures a month": 10,000).

    Returns
    -------
    IncomeOutlook
    """
    from toolkit.income.plan import CompensationPlan

    plan = CompensationPlan.unilevel_example() if plan is None else plan
    p = as_params(params)
    runs = paid_runs(p, months, runs)
    result = simulate_income(
        p, plan, months=months, runs=runs, seed=seed, autoship=autoship, purchases=purchases
    )
    income = result.income
    q = np.asarray(DISTRIBUTION_QUANTILES)
    distribution = pd.DataFrame(
        {
            "quantile": q,
            "gross": np.quantile(income["gross"], q) if len(income) else np.full(len(q), np.nan),
            "net": np.quantile(income["net"], q) if len(income) else np.full(len(q), np.nan),
        }
    )
    paid = result.sources.groupby("component")[["amount", "from_customer_volume"]].sum()
    paid = paid.reindex(list(PAID_COMPONENTS), fill_value=0.0) / result.runs
    sources = pd.DataFrame(
        {
            "component": list(PAID_COMPONENTS),
            "amount": paid["amount"].to_numpy(),
            "from_customers": paid["from_customer_volume"].to_numpy(),
            "from_participants": (paid["amount"] - paid["from_customer_volume"]).to_numpy(),
        }
    )
    return IncomeOutlook(
        params=p,
        plan=plan,
        result=result,
        typical=result.typical(),
        claim=result.claim(claim_value, per="month", at_month=result.months),
        distribution=distribution,
        sources=sources,
    )
