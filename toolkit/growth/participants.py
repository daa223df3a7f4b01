"""Monte Carlo of the duplication model one participant at a time: who recruited whom, each
person's outcome, and the distribution of an outcome over everyone (:func:`outcome_distribution`,
:func:`gini`). :class:`~toolkit.growth.GrowthSimulation` draws these people on request.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit import recruiting
from toolkit.growth.params import MAX_PEOPLE, GrowthParams

# the draw of each month, shared with the counts of simulate_growth


def _progress(total: int, enabled: bool | None, work: float, desc: str):
    from tqdm import tqdm

    show = work > 2e7 if enabled is None else enabled
    return tqdm(total=total, desc=desc, disable=not show, leave=False)


def _monthly_contacts(rng, weights: np.ndarray, p: GrowthParams, month: int) -> np.ndarray:
    """:func:`toolkit.recruiting.monthly_contacts`, refused beyond ``MAX_PEOPLE`` a month (numpy's
    Poisson sampler fails near 9e18 and int64 totals overflow soon after)."""
    if len(weights) and p.contacts_per_rep_per_month * weights.max() > MAX_PEOPLE:
        raise ValueError(
            f"the simulated organisation passed {MAX_PEOPLE:.0e} contacts in one month (month "
            f"{month}), more people than could ever be approached: choose fewer months, set a "
            "market_size or a warm_market_size, or lower contacts_per_rep_per_month, "
            "leader_multiplier or contact_to_rep (or raise recruit_dispersion: a very heavy "
            "tail makes a few reps enormous)"
        )
    return recruiting.monthly_contacts(rng, weights, p.contacts_per_rep_per_month)


# --------------------------------------------------------------------------------------------
# one participant at a time


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
    # who won which customers, and when (for GrowthSimulation.as_data; no extra random draws)
    won_by, won_at = [], []
    # about 20 array operations per participant: a bar from about a million participants
    bar = _progress(months, progress, 20 * expected, "growing participants")
    for t in range(1, months + 1):
        weights = recruiting.effort_weights(
            people["effort"][active], people["leader"][active], p.leader_multiplier
        )
        contacts = _monthly_contacts(rng, weights, p, t)
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
        won_by.append(np.repeat(active, won))
        won_at.append(np.full(int(won.sum()), t, np.int32))
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
    people.won_by = np.concatenate(won_by) if won_by else np.zeros(0, np.int64)
    people.won_at = np.concatenate(won_at) if won_at else np.zeros(0, np.int32)
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
