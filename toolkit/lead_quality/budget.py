"""What a budget buys: expected customers, reps and leaders from a lead mix with their
intervals (:func:`lead_budget`), and the mix that buys the most (:func:`best_mix`)."""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.lead_quality.design import _expit, _predicted
from toolkit.lead_quality.model import BUDGET_OUTCOMES, LeadQualityModel
from toolkit.rates import z_value


def check_fitted(model) -> None:
    """Raise ``ValueError`` unless ``model`` is a fitted :class:`LeadQualityModel` (what every
    budget computation and the lead budget explorer need)."""
    if not isinstance(model, LeadQualityModel) or not hasattr(model, "results_"):
        raise ValueError("pass a fitted LeadQualityModel (call .fit(data) first)")


_check_fitted = check_fitted  # the name it had before it was public


@dataclass(frozen=True)
class LinearTerms:
    """What an expected count from bought leads is made of, for one outcome (made by
    :func:`linear_terms`): the expected count is ``sum(leads * conversion)``, linear in the
    leads bought, and its delta-method range needs only the design rows and the covariance.

    Attributes
    ----------
    levels : tuple of str
        The levels, in the order of the rows below.
    design : numpy.ndarray
        One design row per level (levels x coefficients).
    coefficients : numpy.ndarray
        The fit's coefficients.
    covariance : numpy.ndarray
        Their covariance (coefficients x coefficients).
    conversion : numpy.ndarray
        The model's rate per level (the inverse logit of ``design @ coefficients``).
    z : float
        The normal quantile of the model's ``alpha``.
    note : str
        The model checks' problems for this outcome's fit, empty when there are none.
    """

    levels: tuple[str, ...]
    design: np.ndarray
    coefficients: np.ndarray
    covariance: np.ndarray
    conversion: np.ndarray
    z: float
    note: str


def linear_terms(model, outcome: str, levels: Sequence[str], prices) -> LinearTerms:
    """The terms of :func:`lead_budget`'s expected count for ``outcome`` at ``prices``.

    Parameters
    ----------
    model : fitted LeadQualityModel
    outcome : str
        "customer", "rep" or "leader".
    levels : sequence of str
        Levels to buy (e.g. lead types).
    prices : mapping
        Level -> price per lead (used when the model has a price term).

    Returns
    -------
    LinearTerms
    """
    check_fitted(model)
    results = model._results_for(outcome)
    levels = tuple(str(level) for level in levels)
    # A slider sweep asks for the same terms hundreds of times: keep them per fit (a refit
    # makes new results, so a stale entry is never returned).
    key = (outcome, levels, tuple(float(prices[lev]) if lev in prices else None for lev in levels))
    cache = _TERMS.setdefault(model, {})
    hit = cache.get(key)
    if hit is not None and hit[0] is results:
        return hit[1]
    problems = [c[1] for c in model._fits[outcome][1] if c[0] == "problem"]
    X = model._design.matrix(model._level_rows(levels, prices)).to_numpy(dtype="float64")
    beta = np.asarray(results.params, dtype="float64")
    cov = np.asarray(results.cov_params(), dtype="float64")
    p = _expit(X @ beta)
    for arr in (X, beta, cov, p):
        arr.setflags(write=False)
    terms = LinearTerms(
        levels=levels,
        design=X,
        coefficients=beta,
        covariance=cov,
        conversion=p,
        z=float(z_value(model.alpha)),
        note="; ".join(dict.fromkeys(problems)),
    )
    if len(cache) > 256:
        cache.clear()
    cache[key] = (results, terms)
    return terms


_TERMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _outcome_counts(model, outcome, levels, prices, leads, *, draws, seed) -> pd.DataFrame:
    """Expected outcomes from buying ``leads`` of each level, with two intervals.

    ``ci_*``: the expected count, delta method on the log scale (what the fit knows).
    ``likely_*``: the count you may actually see: coefficients drawn from their sampling
    distribution (parametric bootstrap), then each level's count drawn binomially.
    """
    terms = linear_terms(model, outcome, levels, prices)
    X, beta, cov, p, z, note = (
        terms.design,
        terms.coefficients,
        terms.covariance,
        terms.conversion,
        terms.z,
        terms.note,
    )
    n = np.asarray(leads, dtype="float64")
    rng = np.random.default_rng(seed)
    betas = rng.multivariate_normal(beta, cov, size=draws, method="eigh")
    p_draw = _expit(betas @ X.T)  # draws x levels
    counts = rng.binomial(np.floor(n).astype("int64"), np.clip(p_draw, 0, 1))
    lo_q, hi_q = model.alpha / 2, 1 - model.alpha / 2
    rows = []
    for i, level in enumerate([*levels, "total"]):
        sel = np.arange(len(levels)) if level == "total" else np.array([i])
        expected = float((n[sel] * p[sel]).sum())
        grad = (n[sel] * p[sel] * (1 - p[sel])) @ X[sel]
        se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
        if expected > 0:
            with np.errstate(over="ignore"):  # a separated fit's interval is unbounded
                lower, upper = (float(expected * np.exp(k * z * se / expected)) for k in (-1, 1))
        else:
            lower = upper = 0.0
        total = counts[:, sel].sum(axis=1)
        rows.append(
            {
                "outcome": outcome,
                "level": level,
                "conversion": float(p[i])
                if level != "total"
                else expected / n.sum()
                if n.sum()
                else np.nan,
                "expected": expected,
                "ci_lower": lower,
                "ci_upper": upper,
                "likely_lower": float(np.quantile(total, lo_q)),
                "likely_upper": float(np.quantile(total, hi_q)),
                "note": note,
            }
        )
    return pd.DataFrame(rows)


def lead_budget(
    model,
    budget: float,
    prices: Mapping[str, float],
    mix: Mapping[str, float],
    *,
    draws: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """Expected customers, reps and leaders from spending ``budget`` on leads.

    Parameters
    ----------
    model : fitted LeadQualityModel (its levels are what can be bought, e.g. lead types).
    budget : money to spend.
    prices : level -> price per lead (> 0). With a price term in the model, the price also
        moves the conversion rate.
    mix : level -> share of the budget (shares must add up to 1).
    draws, seed : parametric bootstrap draws for the likely range, and their seed.

    Returns
    -------
    pandas.DataFrame
        One row per outcome (customer, rep, leader) and level, plus a ``total`` row per outcome:
        ``outcome``, ``level``, ``price``, ``share``, ``spend``, ``leads`` (bought: spend /
        price), ``conversion`` (the model's rate), ``expected`` with ``ci_lower``/``ci_upper``
        (the expected count, model uncertainty), and ``likely_lower``/``likely_upper`` (the
        count you might actually see, adding the luck of the draw to the model's uncertainty),
        and ``note``: the model checks' problems for that outcome's fit (e.g. "too few
        conversions"), empty when there are none.
    """
    _check_fitted(model)
    if budget < 0 or not np.isfinite(budget):
        raise ValueError(f"budget must be a finite amount >= 0, got {budget!r}")
    levels = [lev for lev in mix if mix[lev] > 0]
    shares = np.array([float(mix[lev]) for lev in mix])
    if (shares < 0).any() or not np.isclose(shares.sum(), 1.0):
        raise ValueError(f"mix shares must be >= 0 and add up to 1, got {dict(mix)}")
    missing = [lev for lev in levels if lev not in prices]
    if missing:
        raise ValueError(f"no price given for {missing}")
    free = [lev for lev in levels if not float(prices[lev]) > 0]
    if free:
        raise ValueError(f"prices must be > 0 for levels bought with the budget; got {free}")
    spend = np.array([budget * mix[lev] for lev in levels])
    price = np.array([float(prices[lev]) for lev in levels])
    leads = spend / price
    frames = [
        _outcome_counts(model, o, levels, prices, leads, draws=draws, seed=seed)
        for o in BUDGET_OUTCOMES
    ]
    out = pd.concat(frames, ignore_index=True)
    info = pd.DataFrame(
        {
            "level": [*levels, "total"],
            "price": [*price, np.nan],
            "share": [*(spend / budget if budget else spend), 1.0],
            "spend": [*spend, spend.sum()],
            "leads": [*leads, leads.sum()],
        }
    )
    out = out.merge(info, on="level", how="left")
    return out[
        [
            "outcome",
            "level",
            "price",
            "share",
            "spend",
            "leads",
            "conversion",
            "expected",
            "ci_lower",
            "ci_upper",
            "likely_lower",
            "likely_upper",
            "note",
        ]
    ]


def best_mix(
    model,
    budget: float,
    prices: Mapping[str, float],
    *,
    target: str = "customer",
    value: float | None = None,
    available: Mapping[str, float] | None = None,
    draws: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """The split of ``budget`` that maximises the expected ``target``, and break-even prices.

    Expected outcomes are linear in the leads bought, so the best split buys the level with the
    lowest cost per ``target`` first, up to what can be bought (``available`` leads, if given),
    then the next cheapest, and so on. Free levels (price 0) cost nothing: their ``available``
    leads are all worked; without ``available`` they are left out of the split.

    Parameters
    ----------
    model : fitted LeadQualityModel.
    budget : money to spend. prices : level -> price per lead.
    target : "customer", "rep" or "leader".
    value : what one ``target`` is worth (e.g. a customer's margin over their lifetime); gives
        the break-even price per lead, value x conversion: pay more than that and a lead
        loses money on average.
    available : level -> most leads that can be had (a broker's stock, a warm market of 150).

    Returns
    -------
    pandas.DataFrame
        One row per level plus ``total``: ``level``, ``price``, ``conversion``, ``cost_per``
        (cost per ``target``) with ``cost_ci_lower``/``cost_ci_upper``, ``rank`` (1 = best
        buy), ``share`` (of the budget), ``spend``, ``leads``, ``expected`` with ``ci_lower``/
        ``ci_upper`` and ``likely_lower``/``likely_upper``, and ``break_even_price`` with
        ``break_even_ci_lower``/``break_even_ci_upper`` (NaN without ``value``).
    """
    _check_fitted(model)
    if target not in BUDGET_OUTCOMES:
        raise ValueError(f"target must be one of {BUDGET_OUTCOMES}, got {target!r}")
    if budget < 0 or not np.isfinite(budget):
        raise ValueError(f"budget must be a finite amount >= 0, got {budget!r}")
    levels = list(prices)
    price = np.array([float(prices[lev]) for lev in levels])
    if (price < 0).any():
        raise ValueError(f"prices must be >= 0, got {dict(prices)}")
    results = model._results_for(target)
    X = model._design.matrix(model._level_rows(levels, prices))
    sf = _predicted(results, X, model.alpha)
    p, p_lo, p_hi = (sf[c].to_numpy() for c in ("mean", "mean_ci_lower", "mean_ci_upper"))
    # a rate (or its lower bound) of 0 leaves the cost per outcome unbounded: inf, said as such
    with np.errstate(divide="ignore", invalid="ignore"):
        cost_per, cost_lo, cost_hi = price / p, price / p_hi, price / p_lo
    cap = np.array(
        [float(available[lev]) if available and lev in available else np.inf for lev in levels]
    )
    leads = np.zeros(len(levels))
    left = float(budget)
    order = np.argsort(cost_per, kind="stable")
    for i in order:
        if price[i] == 0:
            leads[i] = cap[i] if np.isfinite(cap[i]) else 0.0
            continue
        buy = min(left / price[i], cap[i])
        leads[i] = buy
        left -= buy * price[i]
    spend = leads * price
    bought = [lev for lev, n in zip(levels, leads, strict=True) if n > 0]
    counts = _outcome_counts(
        model,
        target,
        bought or levels[:1],
        prices,
        [leads[levels.index(lev)] for lev in bought] or [0.0],
        draws=draws,
        seed=seed,
    ).set_index("level")
    rank = np.empty(len(levels), dtype="int64")
    rank[order] = np.arange(1, len(levels) + 1)
    out = pd.DataFrame(
        {
            "level": levels,
            "price": price,
            "conversion": p,
            "cost_per": cost_per,
            "cost_ci_lower": cost_lo,
            "cost_ci_upper": cost_hi,
            "rank": rank,
            "share": spend / budget if budget else 0.0,
            "spend": spend,
            "leads": leads,
        }
    )
    total = {
        "level": "total",
        "spend": spend.sum(),
        "leads": leads.sum(),
        "share": spend.sum() / budget if budget else 0.0,
    }
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    for col in ("expected", "ci_lower", "ci_upper", "likely_lower", "likely_upper"):
        out[col] = out["level"].map(counts[col]).fillna(0.0).astype("float64")
    val = np.nan if value is None else float(value)
    out["break_even_price"] = np.append(val * p, np.nan)
    out["break_even_ci_lower"] = np.append(val * p_lo, np.nan)
    out["break_even_ci_upper"] = np.append(val * p_hi, np.nan)
    out["rank"] = out["rank"].astype("Int64")  # the total row has no rank
    out.insert(0, "target", target)
    return out
