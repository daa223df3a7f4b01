"""Two lead sources compared (:func:`compare_sources`, the toolkit's one two-proportion test)
and the leads needed to tell two rates apart (:func:`leads_needed`, power)."""

from __future__ import annotations

import math
import warnings

import pandas as pd

from toolkit.lead_quality.budget import _check_fitted
from toolkit.lead_quality.model import LeadQualityModel, ModelCheckWarning
from toolkit.rates import compare_proportions
from toolkit.schema import CRMData


def leads_needed(p1: float, p2: float, *, power: float = 0.8, alpha: float = 0.05) -> int:
    """Leads needed from EACH of two sources to tell conversion rates ``p1`` and ``p2`` apart.

    A two-sided test of two proportions at level ``alpha`` with the given ``power``, on
    Cohen's arcsine effect size (statsmodels ``NormalIndPower`` and ``proportion_effectsize``).
    Rounded up to whole leads; only leads whose window has passed count.
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    for name, v in (("p1", p1), ("p2", p2)):
        if not 0 < v < 1:
            raise ValueError(f"{name} must be a rate strictly between 0 and 1, got {v!r}")
    if p1 == p2:
        raise ValueError("p1 and p2 are equal: no number of leads tells them apart")
    if not 0 < power < 1 or not 0 < alpha < 1:
        raise ValueError("power and alpha must be between 0 and 1")
    effect = abs(proportion_effectsize(p2, p1))
    n = NormalIndPower().solve_power(
        effect_size=effect, alpha=alpha, power=power, ratio=1.0, alternative="two-sided"
    )
    return int(math.ceil(float(n) - 1e-9))


def compare_sources(
    source,
    a: str,
    b: str,
    *,
    by: str = "source",
    outcome: str = "customer",
    window="90D",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Do leads of level ``a`` convert differently from leads of level ``b``?

    Parameters
    ----------
    source : a fitted LeadQualityModel (``a`` and ``b`` are its levels; its outcome and window
        apply) or a CRMData (``a`` and ``b`` are values of column ``by``).
    by, outcome, window : with CRMData: the column to compare on, the outcome, the window.

    Returns
    -------
    pandas.DataFrame
        One row: ``a``, ``b``, ``outcome``, ``leads_a``, ``conversions_a``, ``rate_a``, the same
        for ``b``, ``difference`` (rate_a - rate_b) with ``ci_lower``/``ci_upper`` (Newcombe's
        score interval), ``ratio`` (rate_a / rate_b) with ``ratio_ci_lower``/``ratio_ci_upper``
        (log interval), and ``p_value`` (two-sided score test of equal rates: the test
        :func:`toolkit.compare_segments` uses, both through
        :func:`toolkit.rates.compare_proportions`). Only leads whose
        window has passed count; in-progress leads are not failures.
    """
    if isinstance(source, LeadQualityModel):
        _check_fitted(source)
        model = source
    elif isinstance(source, CRMData):
        model = LeadQualityModel(outcome=outcome, features=(by,), window=window, alpha=alpha)
        with warnings.catch_warnings():
            # a level with no conversions is fine for a two-proportion test
            warnings.simplefilter("ignore", ModelCheckWarning)
            model.fit(source)
    else:
        raise ValueError("compare_sources takes a fitted LeadQualityModel or a CRMData")
    s_col = f"s_{model.outcome}"
    per = model.patterns_.groupby("level")[["trials", s_col]].sum()
    for level in (a, b):
        if level not in per.index:
            raise ValueError(f"{level!r} is not a level; levels: {sorted(per.index)}")
        if per.loc[level, "trials"] == 0:
            raise ValueError(
                f"{level!r} has no leads whose window has passed: nothing to compare yet"
            )
    n1, s1 = (int(v) for v in per.loc[a, ["trials", s_col]])
    n2, s2 = (int(v) for v in per.loc[b, ["trials", s_col]])
    test = compare_proportions(s1, n1, s2, n2, alpha=alpha)
    return pd.DataFrame(
        [
            {
                "a": a,
                "b": b,
                "outcome": model.outcome,
                "leads_a": n1,
                "conversions_a": s1,
                "rate_a": s1 / n1,
                "leads_b": n2,
                "conversions_b": s2,
                "rate_b": s2 / n2,
                "difference": test.difference,
                "ci_lower": test.ci_lower,
                "ci_upper": test.ci_upper,
                "ratio": test.ratio,
                "ratio_ci_lower": test.ratio_ci_lower,
                "ratio_ci_upper": test.ratio_ci_upper,
                "p_value": test.p_value,
            }
        ]
    )
