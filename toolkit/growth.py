"""Duplication what-ifs: the expected curve, Monte Carlo outcomes, claim checks, calibration.

The model, month by month (month 0 is the start):

1. Every active rep approaches contacts: Poisson with mean ``contacts_per_rep_per_month`` times
   the rep's lasting effort (gamma, mean 1, shape ``recruit_dispersion``) times
   ``leader_multiplier`` for leaders. This is :mod:`toolkit.recruiting`, the same mechanism the
   sample-world generator uses. A rep stops once they have approached ``warm_market_size``
   people (everyone they know).
2. With a finite ``market_size`` a contact reaches someone nobody has approached yet with
   probability remaining / market_size; only such fresh people can say yes, and once approached
   they leave the market whatever they answer (a town canvassed end to end).
3. A fresh contact becomes a rep with probability ``contact_to_rep`` (a leader with probability
   ``leader_share`` of that), or else a customer with probability ``contact_to_customer``.
4. At the end of the month each rep who was active quits with probability ``monthly_attrition``
   and each customer stops buying with probability ``customer_attrition``; the month's newcomers
   start next month.

:func:`project_growth` follows the expected values of that process; :func:`simulate_growth`
draws it many times (counts of reps per run, join month and leader flag, so a run of millions
costs what a run of ten does) and, on request, one participant at a time for per-participant
outcomes (who recruited whom, downline sizes).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from toolkit import recruiting
from toolkit.schema import CUSTOMER_ROLES, NOT_SHOWN, REP_ROLES, CRMData, DataError

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
DAYS_PER_MONTH = 30.4375  # 365.25 / 12: the month used to turn dates into months and back

# --------------------------------------------------------------------------------------------
# parameters


@dataclass(frozen=True)
class GrowthParams:
    """Parameters of a duplication what-if. The defaults describe a typical participant.

    Parameters
    ----------
    starting_reps : int
        Reps at month 0 (you alone: 1).
    contacts_per_rep_per_month : float
        People an ordinary (non-leader) rep approaches in a month. Default 4, about one a week.
    contact_to_rep : float
        Share of fresh contacts who sign up as reps. Default 0.02.
    contact_to_customer : float
        Share of fresh contacts who become customers (and not reps). Default 0.03, the national
        average for bought leads (000).
    leader_share : float
        Share of new reps who become leaders (reps who duplicate). Default 0.2 (5 of 25 in 001).
    leader_multiplier : float
        A leader approaches this many times more contacts than an ordinary rep. Default 3.
    monthly_attrition : float
        Chance an active rep quits in a given month. Default 0.08 (about 63% gone within a year).
    customer_attrition : float
        Chance a customer stops buying in a given month. Default 0.05.
    warm_market_size : float or None
        People one rep can approach in a lifetime (about 150 people one knows). None: no limit.
    market_size : int or None
        People reachable in all (a town). None: unlimited.
    recruit_dispersion : float
        Negative-binomial shape of recruiting effort: small means a heavy tail (most recruit
        nobody, a few recruit many); ``inf`` means everyone makes the same effort. Default 0.5.

    Named presets: :meth:`typical`, :meth:`story_001` (the pitch of seed article 001) and
    :meth:`saturated_town`; ``GrowthParams.preset(name)`` looks them up by name.
    Out-of-range values raise ``ValueError`` naming the field.
    """

    starting_reps: int = 1
    contacts_per_rep_per_month: float = 4.0
    contact_to_rep: float = 0.02
    contact_to_customer: float = 0.03
    leader_share: float = 0.2
    leader_multiplier: float = 3.0
    monthly_attrition: float = 0.08
    customer_attrition: float = 0.05
    warm_market_size: float | None = 150.0
    market_size: int | None = None
    recruit_dispersion: float = 0.5
    #: The calibration behind parameters made by :func:`fit_recruitment` (None otherwise).
    fit: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        def bad(name, rule):
            raise ValueError(f"GrowthParams.{name} must be {rule}, got {getattr(self, name)!r}")

        def number(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                bad(name, "a number")
            if math.isnan(value):
                bad(name, "a number")
            return float(value)

        s = number("starting_reps")
        if s < 1 or s != int(s):
            bad("starting_reps", "a whole number >= 1")
        object.__setattr__(self, "starting_reps", int(s))
        for name in (
            "contact_to_rep",
            "contact_to_customer",
            "leader_share",
            "monthly_attrition",
            "customer_attrition",
        ):
            if not 0 <= number(name) <= 1:
                bad(name, "a probability between 0 and 1")
        if self.contact_to_rep + self.contact_to_customer > 1:
            raise ValueError(
                "GrowthParams.contact_to_rep + contact_to_customer must be at most 1 (a contact "
                f"becomes a rep or a customer, not both), got {self.contact_to_rep} + "
                f"{self.contact_to_customer}"
            )
        for name in ("contacts_per_rep_per_month", "leader_multiplier"):
            if not 0 <= number(name) < math.inf:
                bad(name, "a finite number >= 0")
        if not number("recruit_dispersion") > 0:
            bad("recruit_dispersion", "> 0 (use inf for no heterogeneity)")
        if self.warm_market_size is not None and not 0 < number("warm_market_size"):
            bad("warm_market_size", "> 0 or None (no limit)")
        if self.market_size is not None:
            m = number("market_size")
            if m < self.starting_reps or m != int(m) or math.isinf(m):
                bad(
                    "market_size", f"a whole number >= starting_reps ({self.starting_reps}) or None"
                )
            object.__setattr__(self, "market_size", int(m))

    # presets ------------------------------------------------------------------------------
    @classmethod
    def typical(cls, **changes) -> GrowthParams:
        """A typical participant (the defaults): about one contact a week, 2 in 100 contacts
        sign up, most quit within a year, a heavy-tailed effort, 150 people known."""
        return cls(**changes)

    @classmethod
    def story_001(cls, **changes) -> GrowthParams:
        """The pitch of seed article 001 applied to every recruit: about 150 cold leads approached
        over 2 years (6.25 a month), 25 recruited (1 in 6), 5 of them leaders, and 001's good
        sales result of 10 customers per 1,000 leads for the rest; each recruit does
        the same, nobody quits, no limit on whom they can reach, everyone equally keen.
        The expected organisation after 12 months is about 5,000 reps, the number the story
        pitches; the article itself says this is not typical."""
        base = dict(
            starting_reps=1,
            contacts_per_rep_per_month=150 / 24,
            contact_to_rep=25 / 150,
            contact_to_customer=0.01,
            leader_share=5 / 25,
            leader_multiplier=1.0,
            monthly_attrition=0.0,
            customer_attrition=0.0,
            warm_market_size=None,
            market_size=None,
            recruit_dispersion=math.inf,
        )
        return cls(**{**base, **changes})

    @classmethod
    def saturated_town(cls, **changes) -> GrowthParams:
        """The 001 story's recruiting in a town of 20,000 people: everyone gets approached
        within about a year and growth stops well short of 5,000."""
        return cls.story_001(**{"market_size": 20_000, **changes})

    @classmethod
    def preset(cls, name: str, **changes) -> GrowthParams:
        """A named preset: ``"typical"``, ``"story_001"`` or ``"saturated_town"``."""
        makers = {
            "typical": cls.typical,
            "story_001": cls.story_001,
            "saturated_town": cls.saturated_town,
        }
        if name not in makers:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(makers)}")
        return makers[name](**changes)

    def replace(self, **changes) -> GrowthParams:
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("fit")
        return out

    @property
    def monthly_growth_factor(self) -> float:
        """Active reps next month over this month while nothing limits growth."""
        return (
            1
            - self.monthly_attrition
            + self.contacts_per_rep_per_month
            * self.contact_to_rep
            * (1 - self.leader_share + self.leader_share * self.leader_multiplier)
        )

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame({"value": pd.Series(self.as_dict(), dtype=object)}).rename_axis(
            "parameter"
        )

    def _repr_html_(self) -> str:
        return "<p><b>GrowthParams</b></p>" + self.summary.to_html(na_rep=NOT_SHOWN)


PARAM_NAMES = tuple(f.name for f in fields(GrowthParams) if f.name != "fit")


def _check_months(months) -> int:
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise ValueError(f"months must be a whole number >= 1, got {months!r}")
    return int(months)


def _warm_market_factor(p: GrowthParams, months: int) -> np.ndarray:
    """Expected share of a rep's contact rate still available in their a-th month of contacts
    (a = 1..months), shape (2, months + 1): row 0 ordinary reps, row 1 leaders.

    A rep of effort e and rate r = contacts x multiplier x e has approached about r (a - 1)
    people before that month; what is left of the ``warm_market_size`` caps the month. The
    share is averaged over the gamma effort distribution (quantile midpoints)."""
    out = np.ones((2, months + 1))
    if p.warm_market_size is None or p.contacts_per_rep_per_month == 0:
        return out
    if math.isinf(p.recruit_dispersion):
        effort = np.ones(1)
    else:
        from scipy.special import gammaincinv  # scipy.special imports far faster than scipy.stats

        grid = (np.arange(2000) + 0.5) / 2000
        effort = gammaincinv(p.recruit_dispersion, grid) / p.recruit_dispersion
    age = np.arange(months + 1)[:, None] - 1.0
    for row, mult in enumerate((1.0, p.leader_multiplier)):
        rate = p.contacts_per_rep_per_month * mult * effort[None, :]
        if mult == 0:
            continue
        capped = np.clip(p.warm_market_size - rate * age, 0, rate)
        out[row] = capped.mean(axis=1) / (p.contacts_per_rep_per_month * mult * effort.mean())
    return out


# --------------------------------------------------------------------------------------------
# expected path


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


def project_growth(params: GrowthParams | None = None, months: int = 24) -> pd.DataFrame:
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
    p = params if params is not None else GrowthParams()
    months = _check_months(months)
    out = _project(p, months)
    return pd.DataFrame({"month": np.arange(months + 1), **out})


# --------------------------------------------------------------------------------------------
# Monte Carlo: counts per run (paths)


def _progress(total: int, enabled: bool | None, work: float, desc: str):
    from tqdm import tqdm

    show = work > 2e7 if enabled is None else enabled
    return tqdm(total=total, desc=desc, disable=not show, leave=False)


def _simulate_paths(
    p: GrowthParams, months: int, runs: int, rng, progress
) -> dict[str, np.ndarray]:
    """Each run's reps as groups (run, join month, leader flag) holding a count of reps and their
    summed effort. Only groups with someone in them are kept, as flat arrays, so the work per
    month follows the number of occupied groups, not runs x months."""
    k = p.recruit_dispersion
    by_cohort = p.warm_market_size is not None  # join month only matters for the warm market
    g = _warm_market_factor(p, months)
    leaders0 = rng.binomial(p.starting_reps, p.leader_share, size=runs)
    g_run = np.repeat(np.arange(runs), 2)
    g_leader = np.tile([False, True], runs)
    g_cohort = np.zeros(2 * runs, dtype=np.int64)
    g_n = np.stack([p.starting_reps - leaders0, leaders0], axis=1).ravel().astype(np.int64)
    g_effort = recruiting.group_effort(rng, g_n, dispersion=k)
    customers = np.zeros(runs, dtype=np.int64)
    remaining = np.full(
        runs, p.market_size - p.starting_reps if p.market_size else 0, dtype=np.int64
    )
    out = {c: np.zeros((runs, months + 1)) for c in PATH_COLUMNS}
    out["active_reps"][:, 0], out["leaders"][:, 0] = p.starting_reps, leaders0
    out["cumulative_joined"][:, 0] = p.starting_reps
    out["remaining_market"][:, 0] = remaining if p.market_size else np.nan
    joined = np.full(runs, p.starting_reps, dtype=np.int64)
    q_cust = p.contact_to_customer / (1 - p.contact_to_rep) if p.contact_to_rep < 1 else 0.0
    bar = _progress(
        months, progress, runs * months * (months if by_cohort else 1), "simulating runs"
    )
    for t in range(1, months + 1):
        keep = g_n > 0
        g_run, g_leader, g_cohort, g_n, g_effort = (
            a[keep] for a in (g_run, g_leader, g_cohort, g_n, g_effort)
        )
        weights = recruiting.effort_weights(g_effort, g_leader, p.leader_multiplier)
        if by_cohort:
            weights = weights * g[g_leader.astype(np.int64), t - g_cohort]
        contacts = recruiting.monthly_contacts(rng, weights, p.contacts_per_rep_per_month)
        total = np.bincount(g_run, weights=contacts, minlength=runs).astype(np.int64)
        if p.market_size is None:
            fresh = total
        else:
            fresh = np.minimum(rng.binomial(total, remaining / p.market_size), remaining)
            remaining = remaining - fresh
        new_reps = rng.binomial(fresh, p.contact_to_rep)
        new_customers = rng.binomial(fresh - new_reps, q_cust)
        new_leaders = rng.binomial(new_reps, p.leader_share)
        # attrition of everyone who was active this month (newcomers start next month)
        stay = rng.binomial(g_n, 1 - p.monthly_attrition)
        g_effort = recruiting.surviving_effort(rng, g_effort, g_n, stay, dispersion=k)
        g_n = stay
        arrivals = np.stack([new_reps - new_leaders, new_leaders], axis=1).ravel()
        came = np.flatnonzero(arrivals)
        g_run = np.concatenate([g_run, came // 2])
        g_leader = np.concatenate([g_leader, came % 2 == 1])
        g_cohort = np.concatenate([g_cohort, np.full(len(came), t if by_cohort else 0)])
        g_n = np.concatenate([g_n, arrivals[came]])
        g_effort = np.concatenate(
            [g_effort, recruiting.group_effort(rng, arrivals[came], dispersion=k)]
        )
        if not by_cohort:  # fold the newcomers into their run's single group per leader flag
            key = g_run * 2 + g_leader
            uniq, inverse = np.unique(key, return_inverse=True)
            g_n = np.bincount(inverse, weights=g_n).astype(np.int64)
            g_effort = np.bincount(inverse, weights=g_effort)
            g_run, g_leader, g_cohort = (
                uniq // 2,
                uniq % 2 == 1,
                np.zeros(len(uniq), dtype=np.int64),
            )
        customers = rng.binomial(customers, 1 - p.customer_attrition) + new_customers
        joined += new_reps
        out["active_reps"][:, t] = np.bincount(g_run, weights=g_n, minlength=runs)
        out["leaders"][:, t] = np.bincount(g_run, weights=g_n * g_leader, minlength=runs)
        out["customers"][:, t] = customers
        out["new_reps"][:, t] = new_reps
        out["cumulative_joined"][:, t] = joined
        out["remaining_market"][:, t] = remaining if p.market_size else np.nan
        out["contacts"][:, t] = total
        out["new_customers"][:, t] = new_customers
        bar.update()
    bar.close()
    return out


# --------------------------------------------------------------------------------------------
# Monte Carlo: one participant at a time (who recruited whom)


def _cap_within_groups(values: np.ndarray, groups: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Cut ``values`` so each group's total is at most ``caps[group]``, earliest entries first."""
    order = np.argsort(groups, kind="stable")
    v, g = values[order], groups[order]
    before = np.cumsum(v) - v
    first = np.r_[True, g[1:] != g[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(g)), 0))
    before = before - before[group_start]
    kept = np.clip(caps[g] - before, 0, v)
    out = np.empty_like(values)
    out[order] = kept
    return out


class _People:
    """Growable column store of participants across all runs (appended in join order)."""

    def __init__(self, capacity: int):
        self.n = 0
        self.cols = {
            "run": np.zeros(capacity, np.int32),
            "sponsor": np.zeros(capacity, np.int64),
            "line": np.zeros(capacity, np.int64),
            "level": np.zeros(capacity, np.int32),
            "joined_month": np.zeros(capacity, np.int32),
            "left_month": np.full(capacity, -1, np.int32),
            "effort": np.zeros(capacity),
            "leader": np.zeros(capacity, bool),
            "used": np.zeros(capacity, np.int64),
            "personal_recruits": np.zeros(capacity, np.int64),
        }

    def append(self, **values) -> np.ndarray:
        count = len(next(iter(values.values())))
        need = self.n + count
        capacity = len(self.cols["run"])
        if need > capacity:
            new = max(need, 2 * capacity)
            for name, col in self.cols.items():
                grown = np.full(new, -1 if name == "left_month" else 0, dtype=col.dtype)
                grown[: self.n] = col[: self.n]
                self.cols[name] = grown
        idx = np.arange(self.n, need)
        for name, value in values.items():
            self.cols[name][idx] = value
        self.n = need
        return idx

    def __getitem__(self, name):
        return self.cols[name]


def _simulate_people(
    p: GrowthParams,
    months: int,
    runs: int,
    rng,
    max_participants: int,
    progress,
    expected: float = 0.0,
):
    k = p.recruit_dispersion
    people = _People(max(1024, runs * p.starting_reps * 4))
    start = runs * p.starting_reps
    run0 = np.repeat(np.arange(runs), p.starting_reps)
    idx0 = people.append(
        run=run0,
        sponsor=np.full(start, -1),
        line=np.arange(start),
        level=np.zeros(start, np.int32),
        joined_month=np.zeros(start, np.int32),
        effort=recruiting.prospecting_effort(rng, start, dispersion=k),
        leader=rng.random(start) < p.leader_share,
    )
    active = idx0
    remaining = np.full(runs, (p.market_size or 0) - p.starting_reps, dtype=np.int64)
    q_cust = p.contact_to_customer / (1 - p.contact_to_rep) if p.contact_to_rep < 1 else 0.0
    customers = np.zeros(runs, dtype=np.int64)
    # about 20 array operations per participant: a bar from about a million participants
    bar = _progress(months, progress, 20 * expected, "growing participants")
    for t in range(1, months + 1):
        weights = recruiting.effort_weights(
            people["effort"][active], people["leader"][active], p.leader_multiplier
        )
        contacts = recruiting.monthly_contacts(rng, weights, p.contacts_per_rep_per_month)
        if p.warm_market_size is not None:
            left = np.maximum(int(p.warm_market_size) - people["used"][active], 0)
            contacts = np.minimum(contacts, left)
        people["used"][active] += contacts
        runs_of = people["run"][active]
        if p.market_size is None:
            fresh = contacts
        else:
            fresh = rng.binomial(contacts, (remaining / p.market_size)[runs_of])
            fresh = _cap_within_groups(fresh, runs_of, remaining)
            remaining = remaining - np.bincount(runs_of, weights=fresh, minlength=runs).astype(
                np.int64
            )
        recruits = rng.binomial(fresh, p.contact_to_rep)
        won = rng.binomial(fresh - recruits, q_cust)
        people["personal_recruits"][active] += recruits
        quit = rng.random(len(active)) < p.monthly_attrition
        people["left_month"][active[quit]] = t
        sponsors = np.repeat(active, recruits)
        if people.n + len(sponsors) > max_participants:
            bar.close()
            raise ValueError(
                f"the simulation passed max_participants={max_participants:,} in month {t}; "
                "simulate fewer runs or months, set a market_size, or raise max_participants"
            )
        count = len(sponsors)
        new = people.append(
            run=people["run"][sponsors],
            sponsor=sponsors,
            line=people["line"][sponsors],
            level=people["level"][sponsors] + 1,
            joined_month=np.full(count, t, np.int32),
            effort=recruiting.prospecting_effort(rng, count, dispersion=k),
            leader=rng.random(count) < p.leader_share,
        )
        customers = rng.binomial(customers, 1 - p.customer_attrition) + np.bincount(
            runs_of, weights=won, minlength=runs
        ).astype(np.int64)
        active = np.concatenate([active[~quit], new])
        bar.update()
    bar.close()
    return people, active, customers


def _participant_frame(
    people: _People, active: np.ndarray, months: int
) -> tuple[pd.DataFrame, np.ndarray]:
    n = people.n
    cols = {name: col[:n] for name, col in people.cols.items()}
    sponsor, joined = cols["sponsor"], cols["joined_month"]
    size = np.zeros(n, np.int64)
    depth = np.zeros(n, np.int64)
    # Sponsors always joined in an earlier month, so folding each month's newcomers into their
    # sponsors, latest month first, totals every downline in one pass per month.
    bounds = np.searchsorted(joined, np.arange(months + 2))
    for t in range(months, 0, -1):
        sl = slice(bounds[t], bounds[t + 1])
        np.add.at(size, sponsor[sl], size[sl] + 1)
        np.maximum.at(depth, sponsor[sl], depth[sl] + 1)
    left = cols["left_month"]
    still = left < 0
    frame = pd.DataFrame(
        {
            "run": cols["run"],
            "participant": np.arange(n),
            "sponsor": sponsor,
            "line": cols["line"],
            "level": cols["level"],
            "leader": cols["leader"],
            "joined_month": joined,
            "left_month": np.where(still, np.nan, left),
            "months_active": np.where(still, months, left) - joined,
            "personal_recruits": cols["personal_recruits"],
            "downline_size": size,
            "depth": depth,
            "active": still,
        }
    )
    roots = np.flatnonzero(sponsor < 0)
    alive = np.bincount(cols["line"][active], minlength=n)[roots] > 0
    return frame, alive


def gini(values) -> float:
    """Gini coefficient of non-negative values (0: all equal; near 1: one holds everything)."""
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0 or x.sum() == 0:
        return float("nan") if len(x) == 0 else 0.0
    i = np.arange(1, len(x) + 1)
    return float((2 * (i * x).sum()) / (len(x) * x.sum()) - (len(x) + 1) / len(x))


def outcome_distribution(participants: pd.DataFrame, column: str = "downline_size") -> pd.DataFrame:
    """How many participants ended with each value of ``column`` (from ``.participants()``),
    the data of :func:`toolkit.plots.participant_outcomes`.

    Returns
    -------
    pandas.DataFrame
        One row per distinct value, ascending: ``value``, ``participants``, ``share``,
        ``share_at_least`` (share of participants with this value or more), ``is_median`` (the
        row holding the median participant), ``is_mean`` (the row nearest the mean, from below).
    """
    if column not in participants.columns:
        raise ValueError(f"column {column!r} is not in the participants frame")
    values = participants[column].to_numpy()
    counts = pd.Series(values).value_counts().sort_index()
    out = pd.DataFrame({"value": counts.index.to_numpy(), "participants": counts.to_numpy()})
    out["share"] = out["participants"] / len(values)
    out["share_at_least"] = out["share"][::-1].cumsum()[::-1].to_numpy()
    median, mean = np.median(values), values.mean()
    out["is_median"] = out["value"] == out["value"][out["value"] <= median].max()
    out["is_mean"] = out["value"] == out["value"][out["value"] <= mean].max()
    return out


# --------------------------------------------------------------------------------------------
# the result


class GrowthSimulation:
    """Monte Carlo runs of the duplication model (made by :func:`simulate_growth`).

    Attributes
    ----------
    params, months, runs, seed
        What was simulated.
    paths : pandas.DataFrame
        One row per run and month: ``run``, ``month`` and the columns of
        :func:`project_growth` (counts, not expectations).
    expected : pandas.DataFrame
        :func:`project_growth` for the same parameters, for comparison.
    """

    def __init__(self, params, months, runs, seed, paths, expected, progress=None):
        self.params, self.months, self.runs, self.seed = params, months, runs, seed
        self.paths, self.expected = paths, expected
        self._progress = progress
        self._participants: dict = {}

    def quantiles(self, q=(0.1, 0.5, 0.9)) -> pd.DataFrame:
        """Quantiles across runs, month by month.

        Returns
        -------
        pandas.DataFrame
            One row per month and quantile: ``month``, ``quantile`` and each path column at
            that quantile across runs (``remaining_market`` NaN when unlimited).
        """
        q = np.atleast_1d(np.asarray(q, dtype=float))
        if ((q < 0) | (q > 1)).any():
            raise ValueError(f"q must lie in [0, 1], got {q.tolist()}")
        grouped = self.paths.groupby("month")[list(PATH_COLUMNS)]
        out = grouped.quantile(q).rename_axis(["month", "quantile"]).reset_index()
        return out

    def participants(
        self, *, runs: int | None = None, max_participants: int = 2_000_000
    ) -> pd.DataFrame:
        """Per-participant outcomes from runs simulated one participant at a time.

        These runs use the same parameters and seed family as ``paths`` but are drawn separately
        (a run of millions is cheap as counts and dear as people). ``runs`` defaults to as many
        as fit in ``max_participants`` at the expected size, at most ``self.runs``.

        Returns
        -------
        pandas.DataFrame
            One row per participant who ever joined: ``run``, ``participant`` (id), ``sponsor``
            (-1 for a starting rep), ``line`` (the starting rep at the top), ``level``
            (generations below the starting rep), ``leader``, ``joined_month``, ``left_month``
            (NaN while active), ``months_active``, ``personal_recruits``, ``downline_size``
            (everyone below them who ever joined), ``depth`` (levels their downline reaches),
            ``active`` (still a rep at the horizon).
        """
        frame, _ = self._people(runs, max_participants)
        return frame

    def _people(self, runs, max_participants):
        per_run = float(self.expected["cumulative_joined"].iloc[-1])
        if runs is None:
            runs = int(np.clip(max_participants // max(per_run * 3, 1), 1, self.runs))
        if (runs, max_participants) not in self._participants:
            rng = np.random.default_rng([self.seed, 1])
            people, active, _ = _simulate_people(
                self.params,
                self.months,
                runs,
                rng,
                max_participants,
                self._progress,
                per_run * runs,
            )
            self._participants[runs, max_participants] = _participant_frame(
                people, active, self.months
            )
        return self._participants[runs, max_participants]

    def typical(self, **kwargs) -> dict[str, float]:
        """What the typical participant gets, next to the totals (arguments as :meth:`participants`).

        Returns
        -------
        dict
            ``share_recruited_nobody`` (participants with no personal recruit at the horizon;
            recent joiners are included, they are in progress), ``median_downline``,
            ``top1pct_share_of_recruits`` (share of all recruits made by the top 1% of
            recruiters), ``gini_downline``, ``share_lines_died_out`` (starting reps whose whole
            line has quit by the horizon), ``participants`` and ``runs`` behind the figures.
        """
        frame, alive = self._people(kwargs.get("runs"), kwargs.get("max_participants", 2_000_000))
        recruits = np.sort(frame["personal_recruits"].to_numpy())[::-1]
        top = max(1, math.ceil(0.01 * len(recruits)))
        total = recruits.sum()
        return {
            "share_recruited_nobody": float((recruits == 0).mean()),
            "median_downline": float(frame["downline_size"].median()),
            "top1pct_share_of_recruits": float(recruits[:top].sum() / total)
            if total
            else float("nan"),
            "gini_downline": gini(frame["downline_size"]),
            "share_lines_died_out": float((~alive).mean()),
            "participants": int(len(frame)),
            "runs": int(frame["run"].nunique()),
        }

    def genealogy(
        self,
        *,
        run: int = 0,
        start="2024-01-01",
        runs: int | None = None,
        max_participants: int = 2_000_000,
    ) -> pd.DataFrame:
        """One simulated run as a ``members`` table of the data contract (reps only), so that
        :func:`toolkit.downline` and :func:`fit_recruitment` can be tried on it. Months are
        turned into dates from ``start`` (a month is 30.4375 days)."""
        frame, _ = self._people(runs, max_participants)
        one = frame[frame["run"] == run]
        origin = pd.Timestamp(start)

        def to_date(months):
            return origin + pd.to_timedelta(np.asarray(months, float) * DAYS_PER_MONTH, unit="D")

        ids = "P" + one["participant"].astype(str)
        sponsor = ("P" + one["sponsor"].astype(str)).where(one["sponsor"] >= 0, None)
        return pd.DataFrame(
            {
                "member_id": ids.to_numpy(),
                "sponsor_id": sponsor.to_numpy(),
                "joined_at": to_date(one["joined_month"]).astype("datetime64[us]"),
                "role": np.where(one["leader"], "leader", "business_builder"),
                "left_at": pd.Series(to_date(one["left_month"]))
                .astype("datetime64[us]")
                .to_numpy(),
                "lead_id": None,
            }
        )

    @property
    def as_of(self) -> pd.Timestamp:
        """The horizon as a date when :meth:`genealogy` starts at 2024-01-01 (its default)."""
        return pd.Timestamp("2024-01-01") + pd.Timedelta(days=self.months * DAYS_PER_MONTH)

    @property
    def summary(self) -> pd.DataFrame:
        """At the horizon, per path column: expected, mean, 10th percentile, median, 90th."""
        last = self.paths[self.paths["month"] == self.months]
        cols = ["active_reps", "leaders", "customers", "cumulative_joined", "remaining_market"]
        rows = {
            col: {
                "expected": self.expected[col].iloc[-1],
                "mean": last[col].mean(),
                "p10": last[col].quantile(0.1),
                "median": last[col].median(),
                "p90": last[col].quantile(0.9),
            }
            for col in cols
        }
        return pd.DataFrame(rows).T.rename_axis(f"at month {self.months}")

    def __repr__(self) -> str:
        return f"GrowthSimulation(runs={self.runs}, months={self.months}, seed={self.seed})"

    def _repr_html_(self) -> str:
        return (
            f"<p><b>GrowthSimulation</b>: {self.runs:,} runs x {self.months} months</p>"
            + self.summary.to_html(float_format=lambda v: f"{v:,.1f}", na_rep=NOT_SHOWN)
        )


def simulate_growth(
    params: GrowthParams | None = None,
    months: int = 24,
    runs: int = 1000,
    seed: int = 0,
    *,
    progress: bool | None = None,
) -> GrowthSimulation:
    """Monte Carlo of the duplication model with heavy-tailed recruiting.

    All runs are drawn at once as numpy arrays of runs x join month x leader flag (counts of
    reps and their summed effort), so cost does not grow with the size of an organisation.
    Per-participant outcomes come from ``result.participants()``. ``progress`` shows a text
    progress bar (None: only when the work is long).

    Returns
    -------
    GrowthSimulation
        ``.paths`` (run, month, counts), ``.quantiles()``, ``.participants()``, ``.typical()``,
        ``.expected`` and a ``summary`` at the horizon.
    """
    p = params if params is not None else GrowthParams()
    months = _check_months(months)
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 1:
        raise ValueError(f"runs must be a whole number >= 1, got {runs!r}")
    rng = np.random.default_rng(seed)
    out = _simulate_paths(p, months, int(runs), rng, progress)
    paths = pd.DataFrame(
        {
            "run": np.repeat(np.arange(runs), months + 1),
            "month": np.tile(np.arange(months + 1), runs),
            **{col: values.ravel() for col, values in out.items()},
        }
    )
    return GrowthSimulation(p, months, int(runs), seed, paths, project_growth(p, months), progress)


# --------------------------------------------------------------------------------------------
# claim check, comparisons, sensitivity, goal seeking


def _check_metric(metric: str) -> None:
    if metric not in PATH_COLUMNS:
        raise ValueError(f"metric must be one of {', '.join(PATH_COLUMNS)}; got {metric!r}")


def claim_check(
    result: GrowthSimulation, *, metric: str, at_month: int, value: float
) -> dict[str, float]:
    """How likely a pitched outcome is: the share of runs reaching at least ``value`` of
    ``metric`` at ``at_month`` (for example ``metric="cumulative_joined", at_month=12,
    value=5000`` for the organisation of 5,000 in a year pitched in 001).

    Returns
    -------
    dict
        ``probability`` (share of runs with metric >= value), ``probability_low`` and
        ``probability_high`` (95% Wilson interval of that share from the number of runs),
        ``percentile`` (where ``value`` sits among the runs, 0-100: the share of runs below it),
        ``median`` and ``mean`` of the metric across runs, ``expected`` (from
        :func:`project_growth`), ``runs``.
    """
    from statsmodels.stats.proportion import proportion_confint

    _check_metric(metric)
    if not np.isfinite(value):  # nan would compare False everywhere and give probability 0
        raise ValueError(f"value must be a finite number, got {value!r}")
    if not 0 <= at_month <= result.months:
        raise ValueError(f"at_month must lie in 0..{result.months}, got {at_month}")
    values = result.paths.loc[result.paths["month"] == at_month, metric].to_numpy()
    hits = int((values >= value).sum())
    low, high = proportion_confint(hits, len(values), alpha=0.05, method="wilson")
    return {
        "probability": hits / len(values),
        "probability_low": float(low),
        "probability_high": float(high),
        "percentile": float(100 * (values < value).mean()),
        "median": float(np.median(values)),
        "mean": float(values.mean()),
        "expected": float(
            result.expected.loc[result.expected["month"] == at_month, metric].iloc[0]
        ),
        "runs": len(values),
    }


def sales_vs_network(
    params: GrowthParams | None = None,
    *,
    months: int = 24,
    sale_rate: float = 0.01,
) -> pd.DataFrame:
    """001's comparison: personal selling against duplication for the same personal effort.

    You approach ``params.contacts_per_rep_per_month`` people a month either way. As a
    salesperson you close ``sale_rate`` of them (001: 10 customers per 1,000 leads is good). As
    a networker you recruit, your recruits do the same, and the whole organisation's customers
    count (:func:`project_growth`). ``total_contacts`` shows whose effort that is: per contact
    made by anyone the network wins customers at ``contact_to_customer``, no better; the
    multiplication is other people's work. ``customers_per_your_contact`` is 001's "customers
    per original lead".

    Returns
    -------
    pandas.DataFrame
        One row per month and approach (``"personal selling"``, ``"network"``): ``month``,
        ``approach``, ``customers`` (cumulative customers won, expected), ``customers_low`` /
        ``customers_high`` (10th and 90th percentiles; for selling a binomial, for the network
        NaN: its spread needs :func:`simulate_growth`), ``your_contacts`` (people you approached
        yourself, cumulative), ``total_contacts`` (by everyone), ``customers_per_your_contact``,
        ``customers_per_contact``.
    """
    from scipy.special import bdtrik  # binomial quantile without importing scipy.stats

    p = params if params is not None else GrowthParams()
    months = _check_months(months)
    if not 0 <= sale_rate <= 1:
        raise ValueError(f"sale_rate must lie in [0, 1], got {sale_rate}")
    month = np.arange(months + 1)
    yours = p.starting_reps * p.contacts_per_rep_per_month * month
    worked = np.floor(yours)

    def binom_quantile(q):
        with np.errstate(invalid="ignore"):
            k = np.ceil(bdtrik(q, worked, sale_rate))
        return np.where(worked > 0, np.clip(np.nan_to_num(k), 0, worked), 0.0)

    sales = pd.DataFrame(
        {
            "month": month,
            "approach": "personal selling",
            "customers": yours * sale_rate,
            "customers_low": binom_quantile(0.1),
            "customers_high": binom_quantile(0.9),
            "your_contacts": yours,
            "total_contacts": yours,
        }
    )
    path = project_growth(p, months)
    network = pd.DataFrame(
        {
            "month": month,
            "approach": "network",
            "customers": path["new_customers"].cumsum().to_numpy(),
            "customers_low": np.nan,
            "customers_high": np.nan,
            "your_contacts": yours,
            "total_contacts": path["contacts"].cumsum().to_numpy(),
        }
    )
    out = pd.concat([sales, network], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["customers_per_your_contact"] = out["customers"] / out["your_contacts"]
        out["customers_per_contact"] = out["customers"] / out["total_contacts"]
    return out


_FLOAT_PARAMS = (
    "starting_reps",
    "contacts_per_rep_per_month",
    "contact_to_rep",
    "contact_to_customer",
    "leader_share",
    "leader_multiplier",
    "monthly_attrition",
    "customer_attrition",
    "warm_market_size",
    "market_size",
    "recruit_dispersion",
)
_PROBABILITIES = {
    "contact_to_rep",
    "contact_to_customer",
    "leader_share",
    "monthly_attrition",
    "customer_attrition",
}


def _metric_at(p: GrowthParams, metric: str, at_month: int, starting_reps=None) -> float:
    return float(_project(p, at_month, starting_reps)[metric][at_month])


def _vary(p: GrowthParams, name: str, value: float):
    """``p`` with one parameter changed, and the starting reps to project with (fractional
    starting reps are fine for an expected value but not a valid GrowthParams)."""
    if name == "starting_reps":
        return p, value
    if name == "market_size":
        value = max(round(value), p.starting_reps)
    return p.replace(**{name: value}), None


def sensitivity(
    params: GrowthParams | None = None,
    *,
    metric: str = "cumulative_joined",
    at_month: int = 12,
    step: float = 0.1,
) -> pd.DataFrame:
    """How much the expected ``metric`` at ``at_month`` moves with each parameter: the data of a
    tornado chart. Each parameter is moved ``step`` (10%) down and up from its value (clipped to
    its valid range); the elasticity is the relative change of the metric over the relative
    change of the parameter (central difference). Unlimited limits (None) are skipped, and
    ``recruit_dispersion`` changes the spread, not the expected value, except through the warm
    market (keen reps run out of people they know sooner).

    Returns
    -------
    pandas.DataFrame
        One row per parameter, largest effect first: ``parameter``, ``value``, ``low`` and
        ``high`` (the parameter moved down and up), ``metric_low``, ``metric_high``,
        ``metric_base``, ``elasticity`` (NaN when the parameter is 0 or the metric is 0),
        ``metric`` and ``at_month`` (what was measured).
    """
    p = params if params is not None else GrowthParams()
    _check_metric(metric)
    at_month = _check_months(at_month)
    if not 0 < step < 1:
        raise ValueError(f"step must lie in (0, 1), got {step}")
    base = _metric_at(p, metric, at_month)
    rows = []
    for name in _FLOAT_PARAMS:
        value = getattr(p, name)
        if value is None or math.isinf(value):
            continue
        low, high = value * (1 - step), value * (1 + step)
        if name in _PROBABILITIES:
            high = min(high, 1.0)
        if name == "contact_to_rep":
            high = min(high, 1 - p.contact_to_customer)
        if name == "contact_to_customer":
            high = min(high, 1 - p.contact_to_rep)
        m_low = _metric_at(*_vary(p, name, low)[:1], metric, at_month, _vary(p, name, low)[1])
        m_high = _metric_at(*_vary(p, name, high)[:1], metric, at_month, _vary(p, name, high)[1])
        spread = (high - low) / value if value else np.nan
        elasticity = ((m_high - m_low) / base) / spread if base and value else np.nan
        rows.append((name, value, low, high, m_low, m_high, base, elasticity))
    out = pd.DataFrame(
        rows,
        columns=[
            "parameter",
            "value",
            "low",
            "high",
            "metric_low",
            "metric_high",
            "metric_base",
            "elasticity",
        ],
    )
    out["metric"], out["at_month"] = metric, at_month
    order = (out["metric_high"] - out["metric_low"]).abs().sort_values(ascending=False).index
    return out.loc[order].reset_index(drop=True)


def goal_seek(
    params: GrowthParams | None = None,
    *,
    param: str,
    metric: str,
    at_month: int,
    target: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    """The value of ``param`` at which the expected ``metric`` at ``at_month`` equals ``target``
    (the other parameters held), found by Brent's method on :func:`project_growth`.

    ``bounds`` defaults to the parameter's valid range (probabilities 0..1; other parameters
    0..100 times their value). Raises ``ValueError`` when the target lies outside what the range
    reaches, saying what it does reach.
    """
    from scipy.optimize import brentq

    p = params if params is not None else GrowthParams()
    _check_metric(metric)
    at_month = _check_months(at_month)
    if param not in _FLOAT_PARAMS or param == "recruit_dispersion":
        raise ValueError(
            f"param must be one of {', '.join(n for n in _FLOAT_PARAMS if n != 'recruit_dispersion')}"
        )
    if bounds is None:
        if param in _PROBABILITIES:
            hi = 1.0
            if param == "contact_to_rep":
                hi = 1 - p.contact_to_customer
            if param == "contact_to_customer":
                hi = 1 - p.contact_to_rep
            bounds = (0.0, hi)
        else:
            current = getattr(p, param) or 1.0
            bounds = (
                1e-9 if param in ("starting_reps", "warm_market_size", "market_size") else 0.0,
                100 * current,
            )
        if param == "market_size":
            bounds = (p.starting_reps, bounds[1])

    def gap(value):
        q, start = _vary(p, param, value)
        return _metric_at(q, metric, at_month, start) - target

    lo, hi = bounds
    g_lo, g_hi = gap(lo), gap(hi)
    if g_lo == 0:
        return float(lo)
    if np.sign(g_lo) == np.sign(g_hi):
        raise ValueError(
            f"no {param} in [{lo:g}, {hi:g}] gives {metric} = {target:g} at month {at_month}: "
            f"the expected {metric} runs from {g_lo + target:,.4g} to {g_hi + target:,.4g} over that range"
        )
    return float(brentq(gap, lo, hi, xtol=1e-10, rtol=1e-10))


# --------------------------------------------------------------------------------------------
# calibration from a genealogy


class RecruitmentFit:
    """What :func:`fit_recruitment` estimated (reachable as ``params.fit``).

    Attributes
    ----------
    poisson_results_, negbin_results_ : statsmodels results
        The count models of recruits per rep with log exposure (months active) as offset.
    dispersion_test_ : statsmodels DispersionResults
        Tests of Poisson dispersion on the Poisson fit (Dean, Cameron-Trivedi).
    lr_stat_, lr_pvalue_ : float
        Likelihood-ratio test of negative binomial against Poisson (boundary-corrected: half
        the chi-square(1) tail).
    model_ : str
        ``"negative binomial"`` when the LR p-value is below 0.05, else ``"Poisson"``.
    summary : pandas.DataFrame
        Each calibrated quantity with its 95% interval and how it was found.
    """

    def __init__(self, **values):
        self.__dict__.update(values)

    def _repr_html_(self) -> str:
        return f"<p><b>RecruitmentFit</b> ({self.model_})</p>" + self.summary.to_html(
            na_rep=NOT_SHOWN
        )

    def __repr__(self) -> str:
        return f"RecruitmentFit(model={self.model_!r}, reps={self.reps_})"


def _rate_interval(events: float, exposure: float) -> tuple[float, float]:
    """Exact (Garwood) 95% interval of a Poisson rate."""
    from scipy.stats import chi2

    low = chi2.ppf(0.025, 2 * events) / 2 / exposure if events > 0 else 0.0
    high = chi2.ppf(0.975, 2 * events + 2) / 2 / exposure
    return float(low), float(high)


def fit_recruitment(members, *, as_of=None, base: GrowthParams | None = None) -> GrowthParams:
    """Calibrate :class:`GrowthParams` to a genealogy (the ``members`` table, or a CRMData).

    Each rep's personal recruits (members they sponsored with a rep role) are counted against
    the months they have been active (joined to left, or to ``as_of`` for those still active:
    recent joiners had less time, not less success). A Poisson and a negative-binomial (NB2)
    count model with log-exposure offset and a leader indicator are fitted with statsmodels;
    the negative binomial's alpha is 1 / ``recruit_dispersion``, its leader coefficient gives
    ``leader_multiplier``. Attrition is quits per active rep-month (customers alike).

    The data give recruits per rep-month, not contacts and conversion apart:
    ``contact_to_rep`` is kept from ``base`` (default :class:`GrowthParams`) and
    ``contacts_per_rep_per_month`` set so their product matches. ``starting_reps`` becomes the
    reps active at ``as_of``, so a what-if starts from the organisation as it is.

    Returns
    -------
    GrowthParams
        Calibrated; ``.fit`` holds the :class:`RecruitmentFit` (models, dispersion tests and a
        ``summary`` table with intervals).
    """
    import statsmodels.api as sm
    from scipy.stats import chi2

    from toolkit.genealogy import _genealogy

    if isinstance(members, CRMData):
        as_of = members.as_of if as_of is None else as_of
        members = members.members
    base = base if base is not None else GrowthParams()
    if isinstance(members, pd.DataFrame) and "role" not in members.columns:
        raise DataError(
            f"members: missing required column(s) ['role'] (who is a rep, who a customer); "
            f"columns present: {list(members.columns)}"
        )
    tree = _genealogy(members, as_of)
    frame, parent, as_of = tree["frame"], tree["parent"], tree["as_of"]
    is_rep = frame["role"].isin(REP_ROLES).to_numpy()
    is_customer = frame["role"].isin(CUSTOMER_ROLES).to_numpy()
    n = len(frame)
    has_parent = parent >= 0
    recruits = np.bincount(parent[has_parent & is_rep], minlength=n)
    won = np.bincount(parent[has_parent & is_customer], minlength=n)
    end = frame["left_at"].where(frame["left_at"].notna() & (frame["left_at"] <= as_of), as_of)
    exposure = ((end - frame["joined_at"]).dt.total_seconds() / 86400 / DAYS_PER_MONTH).to_numpy()
    quit = (frame["left_at"].notna() & (frame["left_at"] <= as_of)).to_numpy()
    rows = is_rep & (exposure > 0)
    if rows.sum() < 10:
        raise DataError(
            f"members: only {int(rows.sum())} reps with time in the organisation; need at least 10 to fit recruiting"
        )
    y, t = recruits[rows], exposure[rows]
    leader = (frame["role"] == "leader").to_numpy()[rows].astype(float)
    use_leader = 0 < leader.sum() < len(leader)
    X = np.column_stack([np.ones(len(y)), leader]) if use_leader else np.ones((len(y), 1))
    poisson = sm.Poisson(y, X, exposure=t).fit(disp=0)
    negbin = sm.NegativeBinomial(y, X, exposure=t, loglike_method="nb2").fit(disp=0, maxiter=200)
    lr = max(0.0, 2 * (negbin.llf - poisson.llf))
    lr_p = 0.5 * chi2.sf(lr, 1)
    chosen = negbin if lr_p < 0.05 else poisson
    model = "negative binomial" if lr_p < 0.05 else "Poisson"
    ci = np.asarray(chosen.conf_int())
    rate, rate_ci = float(np.exp(chosen.params[0])), np.exp(ci[0])
    if use_leader:
        multiplier, mult_ci = float(np.exp(chosen.params[1])), np.exp(ci[1])
    else:
        multiplier, mult_ci = base.leader_multiplier, (np.nan, np.nan)
    if model == "negative binomial":
        alpha = float(negbin.params[-1])
        dispersion = 1 / alpha if alpha > 0 else math.inf
        a_lo, a_hi = np.asarray(negbin.conf_int())[-1]
        disp_ci = (1 / a_hi if a_hi > 0 else math.inf, 1 / a_lo if a_lo > 0 else math.inf)
    else:
        dispersion, disp_ci = math.inf, (np.nan, np.nan)
    rep_months = float(exposure[rows].sum())
    quits = float(quit[rows].sum())
    attrition = min(quits / rep_months, 1.0)
    att_ci = _rate_interval(quits, rep_months)
    cust_rows = is_customer & (exposure > 0)
    if cust_rows.sum() > 0:
        c_quits, c_months = float(quit[cust_rows].sum()), float(exposure[cust_rows].sum())
        customer_attrition, cust_ci = (
            min(c_quits / c_months, 1.0),
            _rate_interval(c_quits, c_months),
        )
    else:
        customer_attrition, cust_ci = base.customer_attrition, (np.nan, np.nan)
    leader_share = float(leader.mean()) if use_leader else (1.0 if leader.sum() else 0.0)
    won_rate = float(won[rows].sum() / rep_months)
    contacts = rate / base.contact_to_rep if base.contact_to_rep > 0 else 0.0
    mean_weight = 1 - leader_share + leader_share * multiplier
    contact_to_customer = (
        min(won_rate / (contacts * mean_weight), 1 - base.contact_to_rep)
        if contacts
        else base.contact_to_customer
    )
    active_reps = int((is_rep & ~quit).sum())
    summary = pd.DataFrame(
        [
            ("recruits per rep-month (ordinary rep)", rate, *rate_ci, model),
            ("leader_multiplier", multiplier, *mult_ci, model),
            (
                "recruit_dispersion",
                dispersion,
                *disp_ci,
                "1 / NB2 alpha" if model != "Poisson" else "Poisson chosen",
            ),
            ("monthly_attrition", attrition, *att_ci, "quits per rep-month"),
            ("customer_attrition", customer_attrition, *cust_ci, "quits per customer-month"),
            ("leader_share", leader_share, np.nan, np.nan, "leaders among reps"),
        ],
        columns=["quantity", "estimate", "low", "high", "method"],
    ).set_index("quantity")
    fit = RecruitmentFit(
        poisson_results_=poisson,
        negbin_results_=negbin,
        results_=chosen,
        dispersion_test_=poisson.get_diagnostic().test_dispersion(),
        lr_stat_=float(lr),
        lr_pvalue_=float(lr_p),
        model_=model,
        reps_=int(rows.sum()),
        rep_months_=rep_months,
        as_of_=as_of,
        summary=summary,
    )
    return base.replace(
        starting_reps=max(active_reps, 1),
        contacts_per_rep_per_month=contacts,
        contact_to_customer=contact_to_customer,
        leader_share=leader_share,
        leader_multiplier=multiplier,
        monthly_attrition=attrition,
        customer_attrition=customer_attrition,
        recruit_dispersion=dispersion,
        fit=fit,
    )
