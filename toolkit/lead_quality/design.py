"""The design matrix of the lead quality model, the binomial GLM fitted on aggregated counts
(statsmodels) with the pooled rates per level and their intervals, and the checks of a fit."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from toolkit.rates import z_value
from toolkit.schema import LEAD_TYPES

MIN_EVENTS_PER_TERM = 10  # Peduzzi et al. (1996): fewer events per parameter gives unstable fits


def _level_order(feature: str, levels) -> list[str]:
    levels = [str(v) for v in levels]
    if feature == "lead_type":
        known = [t for t in LEAD_TYPES if t in levels]
        return known + sorted(set(levels) - set(known))
    return sorted(set(levels))


class _Design:
    """Treatment-coded features, the free-lead indicator and log2 price, minus aliased terms."""

    def __init__(self, features, levels, price_col, dropped=()):
        self.features = tuple(features)
        self.levels = levels  # feature -> levels, reference first
        self.price_col = price_col
        self.dropped = list(dropped)

    def full_matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        cols = {"intercept": np.ones(len(frame))}
        for feature in self.features:
            values = frame[feature].to_numpy()
            for level in self.levels[feature][1:]:
                cols[f"{feature}={level}"] = (values == level).astype("float64")
        if self.price_col is not None:
            price = frame[self.price_col].to_numpy(dtype="float64")
            free = price == 0
            cols["free_lead"] = free.astype("float64")
            cols["log2_price"] = np.log2(np.where(free, 1.0, price))
        return pd.DataFrame(cols, index=frame.index)

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.full_matrix(frame).drop(columns=self.dropped)


def _aliased_terms(X: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """Columns that are linear combinations of earlier ones, each with the terms it repeats."""
    kept: list[str] = []
    out = []
    if np.linalg.matrix_rank(X.to_numpy()) == X.shape[1]:
        return out  # the usual case, settled by one decomposition
    for col in X.columns:
        trial = X[[*kept, col]].to_numpy()
        if np.linalg.matrix_rank(trial) > len(kept):
            kept.append(col)
            continue
        coef, *_ = np.linalg.lstsq(X[kept].to_numpy(), X[col].to_numpy(), rcond=None)
        partners = [
            k for k, c in zip(kept, coef, strict=True) if abs(c) > 1e-8 and k != "intercept"
        ]
        out.append((col, partners))
    return out


def _glm_fit(X: pd.DataFrame, successes: np.ndarray, trials: np.ndarray):
    """Binomial GLM on counts; returns (results, notes) with statsmodels' warnings turned into
    notes: a saturated model (as many patterns as terms) makes statsmodels divide by zero
    residual degrees of freedom while it computes a scale the binomial family does not use."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    endog = np.column_stack([successes, trials - successes]).astype("float64")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = sm.GLM(endog, X, family=sm.families.Binomial()).fit()
    notes = set()
    for w in caught:
        if issubclass(w.category, PerfectSeparationWarning):
            # statsmodels tests whether fitted means equal the observed proportions, which a
            # saturated grouped model always does: not evidence of separation here (the checks
            # look at each level's counts and at runaway coefficients instead)
            continue
        if issubclass(w.category, ConvergenceWarning):
            notes.add("convergence")
        elif issubclass(w.category, RuntimeWarning) and "statsmodels" in str(w.filename):
            continue  # arithmetic noise of saturated or separated fits, judged by the checks
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not results.converged:
        notes.add("convergence")
    if (np.abs(np.asarray(results.params)) > 15).any() or (np.asarray(results.bse) > 100).any():
        notes.add("separation")  # a logit of +-15 is a rate of 3e-7: the estimate ran away
    return results, notes


def _expit(x):
    from scipy.special import expit  # no overflow warnings for the huge logits of separated fits

    return expit(x)


def _predicted(results, X, alpha: float) -> pd.DataFrame:
    """``results.get_prediction(X).summary_frame(alpha=alpha)``: rates with intervals.

    A separated fit's interval reaches 0 or 1 on the rate scale: statsmodels' logit inverse
    then overflows in ``exp`` on its way to the right answer (1 / (1 + inf) = 0).
    """
    with np.errstate(over="ignore"):
        return results.get_prediction(X).summary_frame(alpha=alpha)


def _pooled_rates(results, X: np.ndarray, weights: np.ndarray, groups: np.ndarray, alpha: float):
    """Weighted mean predicted rate per group, with a delta-method interval on the logit scale.

    For a group made of one covariate pattern this is exactly ``get_prediction().summary_frame``
    (the same linear predictor and standard error); for several patterns it is the mean over
    the group's leads, with the covariance of the fitted coefficients carried through.
    """
    beta = np.asarray(results.params)
    cov = np.asarray(results.cov_params())
    p = _expit(X @ beta)
    z = z_value(alpha)
    rows = []
    for g in pd.unique(groups):
        mask = groups == g
        w = weights[mask]
        total = w.sum()
        if total <= 0:
            rows.append((g, np.nan, np.nan, np.nan))
            continue
        rate = float((w * p[mask]).sum() / total)
        grad = (w * p[mask] * (1 - p[mask])) @ X[mask] / total  # d rate / d beta
        se_rate = math.sqrt(max(float(grad @ cov @ grad), 0.0))
        if 0 < rate < 1:
            logit = math.log(rate / (1 - rate))
            se = se_rate / (rate * (1 - rate))
            rows.append((g, rate, _expit(logit - z * se), _expit(logit + z * se)))
        else:
            rows.append((g, rate, np.nan, np.nan))
    return pd.DataFrame(rows, columns=["group", "rate", "lower", "upper"]).set_index("group")


def _fit_checks(outcome, fitted, X, notes, *, features, window) -> list[tuple[str, str, str, str]]:
    """What the fit for ``outcome`` cannot be trusted with: levels that convert never or always
    (perfect separation), no convergence, too few conversions for the number of terms. One
    ``(kind, check, where, message)`` row per finding."""
    found = []
    what = f"became {outcome} within {window.days:g} days" if window.days else f"became {outcome}"
    separated = False
    for feature in features:
        by_level = fitted.groupby(feature)[["trials", f"s_{outcome}"]].sum()
        for level, (n, s) in by_level.iterrows():
            if s == 0 or s == n:
                separated = True
                direction = "worse" if s == 0 else "better"
                found.append(
                    (
                        "problem",
                        "perfect separation",
                        f"{feature}={level}",
                        f"{feature}={level}: {s:,} of {n:,} leads {what}. With "
                        f"{'no' if s == 0 else 'only'} conversions the model cannot say how much "
                        f"{direction} this level is (its odds ratio runs off towards "
                        f"{'zero' if s == 0 else 'infinity'} and its interval means nothing). "
                        "Gather more leads of this kind or merge it with a similar level.",
                    )
                )
    if "separation" in notes and not separated:
        found.append(
            (
                "problem",
                "perfect separation",
                "model",
                "Some combination of the terms predicts conversion perfectly (perfect "
                "separation): at least one coefficient runs off towards zero or infinity "
                "odds and its interval means nothing. Use fewer features or merge sparse "
                "levels.",
            )
        )
    if "convergence" in notes:
        found.append(
            (
                "problem",
                "no convergence",
                "model",
                "The fit did not converge; treat the coefficients as unreliable.",
            )
        )
    s = int(fitted[f"s_{outcome}"].sum())
    n = int(fitted["trials"].sum())
    events = min(s, n - s)
    terms = X.shape[1]
    if events < MIN_EVENTS_PER_TERM * terms:
        found.append(
            (
                "problem",
                "too few conversions",
                "model",
                f"Too few conversions for a stable fit: {s:,} of {n:,} leads {what}, for "
                f"{terms} term(s); a common rule of thumb asks for at least "
                f"{MIN_EVENTS_PER_TERM} per term ({MIN_EVENTS_PER_TERM * terms:,} here). The "
                "estimates and their intervals may be unreliable: use fewer features or more leads.",
            )
        )
    return found
