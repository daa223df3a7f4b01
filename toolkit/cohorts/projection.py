"""Unfinished cohorts projected by the shifted-beta-geometric retention model
(:func:`project_cohorts`, the model itself in :mod:`toolkit.cohorts.retention`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.cohorts.table import CELL_COLUMNS, _described
from toolkit.frames import to_pandas


def project_cohorts(table, model=None, *, seed: int = 0, draws: int = 2000) -> pd.DataFrame:
    """Fill the incomplete cells of a retention table with shifted-beta-geometric projections.

    Parameters
    ----------
    table : dataframe
        A :func:`cohort_table` with ``metric="active"`` and ``reference="initial"`` (survivors
        that can only fall). Each ``by`` group gets its own model, pooled over its cohorts.
    model : ShiftedBetaGeometric, optional
        An unfitted template (its ``alpha`` sets the interval level); a fitted one is used as it
        is for every group.
    seed, draws : int
        The projection interval simulates ``draws`` parameter sets from the fit's asymptotic
        normal distribution, and the survivors binomially given them.

    Returns
    -------
    pandas.DataFrame
        The table's columns, with ``rate``, ``value`` (expected members), ``ci_lower`` and
        ``ci_upper`` filled in for incomplete cells, and ``projected`` (True for those). A
        projected cell continues its cohort from its last complete period:
        rate = last observed rate x S(k + 1) / S(k_last + 1), with S the model's survival.
    """
    from toolkit.cohorts.retention import ShiftedBetaGeometric

    frame = to_pandas(table).copy()
    by = [c for c in frame.columns if c not in CELL_COLUMNS]
    if (
        _described(frame, "metric", "active") != "active"
        or _described(frame, "reference", "initial") != "initial"
    ):
        raise ValueError(
            "project_cohorts needs a retention table: cohort_table(..., metric='active', reference='initial')"
        )
    template = model if model is not None else ShiftedBetaGeometric()
    frame["projected"] = False
    if frame.empty:
        return frame
    rng = np.random.default_rng(seed)
    groups = frame.groupby(by, dropna=False, sort=False).groups if by else {None: frame.index}
    for _, index in groups.items():
        part = frame.loc[index]
        fitted = (
            template
            if getattr(template, "alpha_", None) is not None
            else template.__class__(alpha=template.alpha).fit(part)
        )
        params = fitted.sample_params(draws, rng)
        for _, cohort in part.groupby("cohort", sort=False):
            _project_cohort(frame, cohort, fitted, params, rng)
    return frame


def _project_cohort(frame, cohort, fitted, params, rng) -> None:
    cohort = cohort.sort_values("period")
    observed = cohort[cohort["complete"]]
    todo = cohort[~cohort["complete"]]
    if todo.empty:
        return
    size = int(cohort["size"].iloc[0])
    if observed.empty:
        k0, survivors = -1, size
    else:
        k0, survivors = int(observed["period"].iloc[-1]), int(round(observed["value"].iloc[-1]))
    periods = todo["period"].to_numpy()
    # survival to the end of period k is S(k + 1); conditional on surviving to the end of k0
    # (as a difference of logs: both survivals can underflow to 0 for extreme draws)
    point = np.exp(fitted._log_survival(periods + 1) - fitted._log_survival(np.array([k0 + 1])))
    sims = np.exp(
        fitted._log_survival_at(params, periods + 1)
        - fitted._log_survival_at(params, np.array([k0 + 1]))
    )
    counts = rng.binomial(survivors, np.clip(sims, 0, 1)) / max(size, 1)
    alpha = fitted.alpha
    lower = np.quantile(counts, alpha / 2, axis=0)
    upper = np.quantile(counts, 1 - alpha / 2, axis=0)
    rate = survivors / max(size, 1) * point
    frame.loc[todo.index, "rate"] = rate
    frame.loc[todo.index, "value"] = rate * size
    frame.loc[todo.index, "ci_lower"] = lower
    frame.loc[todo.index, "ci_upper"] = upper
    frame.loc[todo.index, "projected"] = True
