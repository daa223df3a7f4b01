"""The one recruiting mechanism shared by the sample-world generator and the growth simulator.

Each rep gets a lasting prospecting effort drawn once when they join: gamma with shape
``dispersion`` and mean 1. Leaders multiply it. A rep's contacts in a month are Poisson with a
rate proportional to that effort, so recruits over a lifetime are negative binomial (a gamma
mixture of Poissons): with a small ``dispersion`` most reps recruit nobody and a few recruit
many, as in a real genealogy.
"""

from __future__ import annotations

import numpy as np


def prospecting_effort(rng: np.random.Generator, n: int, *, dispersion: float) -> np.ndarray:
    """Lasting effort multipliers of ``n`` new reps: gamma(shape=dispersion, mean 1).

    ``dispersion`` is the negative-binomial shape k: the variance of recruits grows as
    mean + mean**2 / k, so k = 0.5 is a heavy tail and k -> infinity is Poisson.
    ``np.inf`` gives everyone effort 1.
    """
    if not dispersion > 0:
        raise ValueError(f"dispersion must be > 0, got {dispersion}")
    if np.isinf(dispersion):
        return np.ones(n)
    return rng.gamma(shape=dispersion, scale=1.0 / dispersion, size=n)


def effort_weights(
    effort: np.ndarray, is_leader: np.ndarray, leader_multiplier: float
) -> np.ndarray:
    """Relative contact rates this month: a leader approaches ``leader_multiplier`` times more."""
    return effort * np.where(is_leader, leader_multiplier, 1.0)


def monthly_contacts(
    rng: np.random.Generator, weights: np.ndarray, contacts_per_rep: float
) -> np.ndarray:
    """Contacts each rep makes in one month: Poisson(contacts_per_rep x weight)."""
    return rng.poisson(contacts_per_rep * weights)


def assign_contacts(rng: np.random.Generator, weights: np.ndarray, n_contacts: int) -> np.ndarray:
    """Which rep (index into ``weights``) makes each of ``n_contacts`` contacts when the month's
    total is fixed: the same Poisson process conditioned on its total (a multinomial draw)."""
    p = weights / weights.sum()
    return rng.choice(len(weights), size=n_contacts, p=p)


# Group forms of the same mechanism, for simulators that track counts of reps instead of each rep.
# A sum of n independent gamma(k, 1/k) efforts is gamma(n k, 1/k); when some of the n leave at
# random, the share of that sum the stayers hold is Beta(k s, k (n - s)) (the Dirichlet split).
# Summing ``monthly_contacts`` over a group is Poisson with the group's summed weight, so a
# simulator of groups draws exactly the totals a simulator of individuals would.


def group_effort(rng: np.random.Generator, counts: np.ndarray, *, dispersion: float) -> np.ndarray:
    """Summed lasting effort of each group of ``counts`` new reps (same law as summing
    :func:`prospecting_effort` over each group): gamma(shape=dispersion x count, mean count)."""
    counts = np.asarray(counts)
    if not dispersion > 0:
        raise ValueError(f"dispersion must be > 0, got {dispersion}")
    if np.isinf(dispersion):
        return counts.astype(float)
    out = np.zeros(counts.shape)
    some = counts > 0
    out[some] = rng.gamma(shape=dispersion * counts[some], scale=1.0 / dispersion)
    return out


def surviving_effort(
    rng: np.random.Generator,
    total: np.ndarray,
    counts: np.ndarray,
    stayers: np.ndarray,
    *,
    dispersion: float,
) -> np.ndarray:
    """Summed effort of the ``stayers`` out of groups of ``counts`` reps whose summed effort is
    ``total``, when who leaves does not depend on effort."""
    total, counts, stayers = np.asarray(total, float), np.asarray(counts), np.asarray(stayers)
    if np.isinf(dispersion):
        return stayers.astype(float)
    out = np.where(stayers >= counts, total, 0.0)
    split = (stayers > 0) & (stayers < counts)
    if split.any():
        s, n = stayers[split], counts[split]
        out[split] = total[split] * rng.beta(dispersion * s, dispersion * (n - s))
    return out
