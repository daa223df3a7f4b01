"""The expected-value path of the duplication model (:func:`project_growth`).

The model itself is described in :mod:`toolkit.growth`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd

from toolkit.growth.params import GrowthParams, as_params

#: Columns of :func:`project_growth` and of ``GrowthSimulation.paths`` (after run, month).
PATH_COLUMNS = (
    "active_reps",
    "leaders",
    "customers",
    "new_reps",
    "cumulative_joined",
    "remaining_market",
    "contacts",
    "new_customers",
)
MAX_MONTHS = 1200  # a century: the longest horizon of a what-if


def _check_months(months) -> int:
    if (
        isinstance(months, bool)
        or not isinstance(months, (int, np.integer))
        or not 1 <= months <= MAX_MONTHS
    ):
        raise ValueError(f"months must be a whole number from 1 to {MAX_MONTHS}, got {months!r}")
    return int(months)


def effort_grid(dispersion: float) -> np.ndarray:
    """Reps' relative recruiting efforts (mean 1) as 2,000 quantile midpoints of their gamma
    distribution with shape ``dispersion``; one effort of 1 when everyone is equal (infinite).
    What the warm-market factor averages over (the exported growth page carries it)."""
    if math.isinf(dispersion):
        return np.ones(1)
    from scipy.special import gammaincinv  # scipy.special imports far faster than scipy.stats

    grid = (np.arange(2000) + 0.5) / 2000
    return gammaincinv(dispersion, grid) / dispersion


@functools.lru_cache(maxsize=256)  # a slider's what-if asks for the same factor several times
def _warm_market_factor(p: GrowthParams, months: int) -> np.ndarray:
    """Expected share of a rep's contact rate still available in their a-th month of contacts
    (a = 1..months), shape (2, months + 1): row 0 ordinary reps, row 1 leaders.

    A rep of effort e and rate r = contacts x multiplier x e has approached about r (a - 1)
    people before that month; what is left of the ``warm_market_size`` caps the month. The
    share is averaged over the gamma effort distribution (quantile midpoints)."""
    out = np.ones((2, months + 1))
    out.flags.writeable = False  # cached: shared by every caller
    if p.warm_market_size is None or p.contacts_per_rep_per_month == 0:
        return out
    out = out.copy()
    effort = effort_grid(p.recruit_dispersion)
    age = np.arange(months + 1)[:, None] - 1.0
    for row, mult in enumerate((1.0, p.leader_multiplier)):
        rate = p.contacts_per_rep_per_month * mult * effort[None, :]
        if mult == 0:
            continue
        capped = np.clip(p.warm_market_size - rate * age, 0, rate)
        out[row] = capped.mean(axis=1) / (p.contacts_per_rep_per_month * mult * effort.mean())
    out.flags.writeable = False  # cached: shared by every caller
    return out


def _project(
    p: GrowthParams, months: int, starting_reps: float | None = None
) -> dict[str, np.ndarray]:
    start = float(p.starting_reps if starting_reps is None else starting_reps)
    mult = np.array([1.0, p.leader_multiplier])
    g = _warm_market_factor(p, months)
    n = np.zeros((months + 1, 2))  # expected active reps by join month and leader flag
    n[0] = (start * (1 - p.leader_share), start * p.leader_share)
    out = {c: np.zeros(months + 1) for c in PATH_COLUMNS}
    remaining = math.inf if p.market_size is None else p.market_size - start
    customers, joined = 0.0, start
    out["active_reps"][0], out["leaders"][0], out["cumulative_joined"][0] = start, n[0, 1], start
    out["remaining_market"][0] = np.nan if p.market_size is None else remaining
    for t in range(1, months + 1):
        age = t - np.arange(t)  # contact month of each earlier cohort
        contacts = float((p.contacts_per_rep_per_month * n[:t] * mult * g[:, age].T).sum())
        fresh = (
            contacts
            if p.market_size is None
            else min(contacts * remaining / p.market_size, remaining)
        )
        remaining -= fresh
        new_reps, new_customers = fresh * p.contact_to_rep, fresh * p.contact_to_customer
        n[:t] *= 1 - p.monthly_attrition
        n[t] = (new_reps * (1 - p.leader_share), new_reps * p.leader_share)
        customers = customers * (1 - p.customer_attrition) + new_customers
        joined += new_reps
        row = {
            "active_reps": n.sum(),
            "leaders": n[:, 1].sum(),
            "customers": customers,
            "new_reps": new_reps,
            "cumulative_joined": joined,
            "remaining_market": np.nan if p.market_size is None else remaining,
            "contacts": contacts,
            "new_customers": new_customers,
        }
        for col, value in row.items():
            out[col][t] = value
    return out


def project_growth(params: GrowthParams | dict | None = None, months: int = 24) -> pd.DataFrame:
    """The expected-value path of the duplication model, month by month.

    With no market and no warm-market limit, active reps grow each month by exactly
    ``1 - monthly_attrition + contacts_per_rep_per_month * contact_to_rep *
    (1 - leader_share + leader_share * leader_multiplier)`` (``params.monthly_growth_factor``).
    The limits bend the curve: reps run out of people they know, the town runs out of people.

    Returns
    -------
    pandas.DataFrame
        One row per month 0..``months``:

        - ``month``: months since the start (0 = the starting reps alone).
        - ``active_reps``: reps still active at the end of the month (expected).
        - ``leaders``: active reps who are leaders.
        - ``customers``: customers still buying.
        - ``new_reps``: reps who joined this month.
        - ``cumulative_joined``: reps who ever joined, the starting reps included.
        - ``remaining_market``: people in the market nobody has approached yet; NaN when the
          market is unlimited.
        - ``contacts``: people approached this month by all reps.
        - ``new_customers``: customers won this month.
    """
    p = as_params(params)
    months = _check_months(months)
    with np.errstate(over="ignore", invalid="ignore"):
        out = _project(p, months)
    _check_finite(out, p)
    return pd.DataFrame({"month": np.arange(months + 1), **out})


def _check_finite(path: dict[str, np.ndarray], p: GrowthParams) -> None:
    """Refuse an expected path that overflowed a float rather than show inf as a forecast."""
    over = ~np.isfinite(path["cumulative_joined"]) | ~np.isfinite(path["contacts"])
    if over.any():
        month = int(np.argmax(over))
        raise ValueError(
            f"the expected organisation overflows a float (beyond 1e308 people) at month {month} "
            f"(it grows {p.monthly_growth_factor:.3g} times a month): choose fewer months, a "
            "market_size or a warm_market_size, or a smaller contacts_per_rep_per_month or "
            "contact_to_rep"
        )
