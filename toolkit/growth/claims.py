"""Claims and comparisons on the duplication model: how likely a pitched outcome is
(:func:`claim_check`), selling against recruiting (:func:`sales_vs_network`), what moves the
curve (:func:`sensitivity`) and what it would take (:func:`goal_seek`)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from toolkit.growth.params import GrowthParams, as_params
from toolkit.growth.projection import PATH_COLUMNS, _check_months, _project, project_growth
from toolkit.growth.simulation import GrowthSimulation
from toolkit.results import RowFields


def _check_metric(metric: str) -> None:
    if metric not in PATH_COLUMNS:
        raise ValueError(f"metric must be one of {', '.join(PATH_COLUMNS)}; got {metric!r}")


@dataclass(frozen=True)
class ClaimCheck(RowFields):
    """How likely a pitched outcome is across simulated runs (made by :func:`claim_check`).

    Attributes
    ----------
    metric : str
        The path column checked (for example ``"cumulative_joined"``).
    at_month : int
        The month the claim is about.
    value : float
        The pitched outcome: the claim is "at least ``value`` by ``at_month``".
    probability : float
        Share of runs with ``metric >= value`` at ``at_month``.
    probability_ci_lower, probability_ci_upper : float
        Wilson interval of that share from the number of runs (95% unless ``alpha`` said
        otherwise).
    percentile : float
        Where ``value`` sits among the runs, 0-100: the share of runs below it.
    median, mean : float
        Median and mean of the metric across runs (a few huge runs pull the mean up).
    expected : float
        The expected value from :func:`project_growth`.
    runs : int
        Runs behind the figures.

    ``check["probability"]`` reads a field like a dict key (a convenience kept from when
    :func:`claim_check` returned a dict); :meth:`as_dict` gives all fields, :meth:`to_frame`
    a one-row DataFrame.
    """

    _renamed_fields: ClassVar[dict[str, str]] = {
        "probability_low": "probability_ci_lower",
        "probability_high": "probability_ci_upper",
    }

    metric: str
    at_month: int
    value: float
    probability: float
    probability_ci_lower: float
    probability_ci_upper: float
    percentile: float
    median: float
    mean: float
    expected: float
    runs: int

    def __str__(self) -> str:
        return (
            f"{self.value:,.0f} {self.metric.replace('_', ' ')} by month {self.at_month}: reached "
            f"in {self.probability:.1%} of {self.runs:,} runs (interval "
            f"{self.probability_ci_lower:.1%} to {self.probability_ci_upper:.1%}); median run "
            f"{self.median:,.0f}, mean {self.mean:,.0f}, expected value {self.expected:,.0f}"
        )

    def _repr_html_(self) -> str:
        return f"<p><b>Claim check</b>: {html.escape(str(self))}</p>"


def claim_check(
    result: GrowthSimulation, *, metric: str, at_month: int, value: float, alpha: float = 0.05
) -> ClaimCheck:
    """How likely a pitched outcome is: the share of runs reaching at least ``value`` of
    ``metric`` at ``at_month`` (for example ``metric="cumulative_joined", at_month=12,
    value=5000`` for the organisation of 5,000 in a year pitched in 001).

    Parameters
    ----------
    result : GrowthSimulation
        From :func:`simulate_growth`.
    metric : str
        A path column (``PATH_COLUMNS``).
    at_month : int
        0 to ``result.months``.
    value : float
        The pitched outcome (finite).
    alpha : float
        One minus the confidence level of the probability's interval.

    Returns
    -------
    ClaimCheck
        ``probability`` (share of runs with metric >= value), ``probability_ci_lower`` and
        ``probability_ci_upper`` (Wilson interval of that share from the number of runs, at level
        ``1 - alpha``: 95% by default),
        ``percentile`` (where ``value`` sits among the runs, 0-100: the share of runs below it),
        ``median`` and ``mean`` of the metric across runs, ``expected`` (from
        :func:`project_growth`), ``runs``, and the claim itself (``metric``, ``at_month``,
        ``value``).
    """
    from toolkit.rates import wilson_interval

    _check_metric(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"value must be a finite number, got {value!r}")
    if not np.isfinite(value):  # nan would compare False everywhere and give probability 0
        raise ValueError(f"value must be a finite number, got {value!r}")
    whole = isinstance(at_month, (int, float, np.integer, np.floating)) and not isinstance(
        at_month, bool
    )
    if not whole or not float(at_month).is_integer() or not 0 <= at_month <= result.months:
        raise ValueError(f"at_month must be a whole number in 0..{result.months}, got {at_month!r}")
    values = result.paths.loc[result.paths["month"] == at_month, metric].to_numpy()
    hits = int((values >= value).sum())
    low, high = wilson_interval(hits, len(values), alpha=alpha)
    return ClaimCheck(
        metric=metric,
        at_month=int(at_month),
        value=float(value),
        probability=hits / len(values),
        probability_ci_lower=float(low),
        probability_ci_upper=float(high),
        percentile=float(100 * (values < value).mean()),
        median=float(np.median(values)),
        mean=float(values.mean()),
        expected=float(result.expected.loc[result.expected["month"] == at_month, metric].iloc[0]),
        runs=len(values),
    )


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

    p = as_params(params)
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
    p = as_params(params)
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

    p = as_params(params)
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
