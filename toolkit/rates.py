"""Rates: the one place intervals of proportions and comparisons of two proportions are
computed, and the range of outcomes one person can expect.

Every rate the toolkit reports carries an interval. The interval arithmetic is statsmodels' and
scipy's; this module only handles the edges (no trials, arrays, a fraction given as a count).

One vocabulary for intervals, across funnels, cohorts and lead quality:

- the confidence level is chosen with ``alpha`` (0.05 gives a 95% interval) wherever it can be;
- the interval of a row's headline rate is ``ci_lower`` / ``ci_upper``; the interval of any other
  estimate on the row is ``<estimate>_ci_lower`` / ``<estimate>_ci_upper`` (funnels'
  ``start_ci_lower``, Kaplan-Meier's ``median_ci_lower``, lead quality's ``ratio_ci_lower``,
  ``cost_ci_lower``, ``break_even_ci_lower``; cohort tables' ``ci_lower`` around ``rate``,
  transitions' ``share_ci_lower``, the member mix's ``customer_volume_share_ci_lower``);
  income tables' ``median_ci_lower`` and ``share_net_loss_ci_lower``, the claim checks'
  ``probability_ci_lower``);
- a range that is not a confidence interval but where one outcome is likely to fall (a budget's
  simulated count, :func:`expected_range`, the funnel outlook's counts) is ``likely_lower`` /
  ``likely_upper``;
- bounds are NaN where the estimate is NaN (no trials), never a made-up [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from toolkit.results import FieldReads


def z_value(alpha: float = 0.05) -> float:
    """The two-sided standard normal quantile for level ``1 - alpha`` (1.96 at 0.05)."""
    from scipy.stats import norm

    check_alpha(alpha)
    return float(norm.ppf(1 - alpha / 2))


def wilson_interval(successes, trials, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``successes / trials`` at level ``1 - alpha``.

    A thin wrapper around ``statsmodels.stats.proportion.proportion_confint(method="wilson")``
    that accepts arrays. The edge rule, the same for every caller: NaN (not a warning or an
    error) where ``trials`` is 0 or either count is missing (NaN); the lower bound exactly 0 at
    no successes and the upper exactly 1 at all successes; successes below 0 or above trials
    are an error, never clipped.

    Parameters
    ----------
    successes, trials : array-like of int
        Counts of the same shape; ``0 <= successes <= trials``.
    alpha : float
        One minus the confidence level (0.05 gives a 95% interval).

    Returns
    -------
    (lower, upper) : tuple of float arrays
        The interval bounds, NaN where ``trials`` is 0 or a count is NaN.

    Raises
    ------
    ValueError
        ``successes`` outside ``[0, trials]``, or ``alpha`` outside (0, 1).
    """
    from statsmodels.stats.proportion import proportion_confint

    check_alpha(alpha)
    k = np.asarray(successes, dtype="float64")
    n = np.asarray(trials, dtype="float64")
    k, n = np.broadcast_arrays(k, n)
    known = np.isfinite(k) & np.isfinite(n)
    if np.any(known & ((k < 0) | (k > n))):
        raise ValueError("successes must lie between 0 and trials")
    lower = np.full(k.shape, np.nan)
    upper = np.full(k.shape, np.nan)
    ok = known & (n > 0)
    if ok.any():
        lo, hi = proportion_confint(k[ok], n[ok], alpha=alpha, method="wilson")
        lower[ok] = np.clip(lo, 0.0, 1.0)
        upper[ok] = np.clip(hi, 0.0, 1.0)
        # the Wilson bounds are exactly 0 at no successes and 1 at all, rounding aside
        lower[ok & (k == 0)] = 0.0
        upper[ok & (k == n)] = 1.0
    return lower, upper


def poisson_rate_interval(events, exposure, *, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson rate ``events / exposure`` at level ``1 - alpha``.

    Parameters
    ----------
    events : float
        Events counted (quits, recruits), ``>= 0``.
    exposure : float
        The time at risk they were counted over (rep-months), ``> 0``.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    (lower, upper) : tuple of float
        The lower bound is exactly 0 with no events; NaN both when ``exposure`` is not positive.
    """
    from scipy.stats import chi2

    check_alpha(alpha)
    if not exposure > 0:
        return float("nan"), float("nan")
    if events < 0:
        raise ValueError(f"events must be >= 0, got {events!r}")
    low = chi2.ppf(alpha / 2, 2 * events) / 2 / exposure if events > 0 else 0.0
    high = chi2.ppf(1 - alpha / 2, 2 * events + 2) / 2 / exposure
    return float(low), float(high)


def check_alpha(alpha: float) -> None:
    """A ValueError unless ``0 < alpha < 1``."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")


@dataclass(frozen=True)
class TwoProportions:
    """Two rates compared: ``x1 / n1`` (a) against ``x2 / n2`` (b).

    Attributes
    ----------
    difference : ``rate_a - rate_b`` (NaN when a side has no trials).
    ci_lower, ci_upper : Newcombe's hybrid score interval of the difference (built from Wilson
        intervals), at level ``1 - alpha``.
    ratio : ``rate_a / rate_b`` (NaN when ``rate_b`` is 0 or a side has no trials).
    ratio_ci_lower, ratio_ci_upper : log interval of the ratio (NaN unless both sides have
        successes).
    p_value : two-sided score test of equal rates (1.0 when everyone or no one succeeded on
        both sides: no evidence of a difference; NaN when a side has no trials).
    """

    difference: float
    ci_lower: float
    ci_upper: float
    ratio: float
    ratio_ci_lower: float
    ratio_ci_upper: float
    p_value: float


def compare_proportions(x1: int, n1: int, x2: int, n2: int, *, alpha: float = 0.05):
    """The toolkit's one comparison of two proportions (funnel segments, lead sources).

    Wraps statsmodels: ``confint_proportions_2indep`` (Newcombe's interval for the difference,
    the log interval for the ratio) and ``test_proportions_2indep(method="score")``.

    Parameters
    ----------
    x1, n1 : int
        Successes and trials of a.
    x2, n2 : int
        Successes and trials of b.
    alpha : float
        Intervals at level ``1 - alpha``.

    Returns
    -------
    TwoProportions
    """
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    check_alpha(alpha)
    x1, n1, x2, n2 = (int(v) for v in (x1, n1, x2, n2))
    for x, n in ((x1, n1), (x2, n2)):
        if not 0 <= x <= n:
            raise ValueError("successes must lie between 0 and trials")
    nan = float("nan")
    if not (n1 and n2):
        return TwoProportions(nan, nan, nan, nan, nan, nan, nan)
    args = (x1, n1, x2, n2)
    # statsmodels also works out ratios it is not asked for: 0/0 there is no concern here
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = confint_proportions_2indep(*args, method="newcomb", compare="diff", alpha=alpha)
        if 0 < x1 + x2 < n1 + n2:
            p = float(test_proportions_2indep(*args, method="score", compare="diff").pvalue)
        else:
            p = 1.0  # everyone or no one succeeded on both sides: no evidence of a difference
        rlo = rhi = nan
        if x1 > 0 and x2 > 0:
            rlo, rhi = confint_proportions_2indep(*args, method="log", compare="ratio", alpha=alpha)
    rate_a, rate_b = x1 / n1, x2 / n2
    return TwoProportions(
        difference=rate_a - rate_b,
        ci_lower=float(lo),
        ci_upper=float(hi),
        ratio=rate_a / rate_b if x2 else nan,
        ratio_ci_lower=float(rlo),
        ratio_ci_upper=float(rhi),
        p_value=p,
    )


@dataclass(frozen=True)
class ExpectedRange(FieldReads):
    """What ``n`` trials at ``rate`` should give: the expected count and a central interval.

    Attributes
    ----------
    n, rate, level : the question asked.
    rate_trials : the number of leads the rate was estimated from (None: the rate is taken as
        known and the count is binomial).
    expected : ``n * rate``.
    likely_lower, likely_upper : the central range that holds the count with probability at
        least ``level`` (``lower`` and ``upper`` are their deprecated names).
    distribution : ``"binomial"`` or ``"beta-binomial"``.
    probabilities : DataFrame with ``count``, ``probability`` (of exactly that count) and
        ``at_most`` (of that count or fewer), for every count from 0 to ``n``.
    """

    _renamed_fields: ClassVar[dict[str, str]] = {"lower": "likely_lower", "upper": "likely_upper"}

    n: int
    rate: float
    level: float
    rate_trials: int | None
    expected: float
    likely_lower: int
    likely_upper: int
    distribution: str
    probabilities: pd.DataFrame = field(repr=False)

    def probability_of_at_most(self, count: int) -> float:
        """Chance of ``count`` or fewer (for instance 2: "a fair chance of 0 to 2")."""
        if count < 0:
            return 0.0
        return float(self.probabilities["at_most"].iloc[min(int(count), self.n)])

    @property
    def summary(self) -> pd.DataFrame:
        """One row: the question, the expected count, the interval and the chance of none."""
        return pd.DataFrame(
            {
                "n": [self.n],
                "rate": [self.rate],
                "rate_trials": [self.rate_trials],
                "distribution": [self.distribution],
                "expected": [self.expected],
                "level": [self.level],
                "likely_lower": [self.likely_lower],
                "likely_upper": [self.likely_upper],
                "probability_of_none": [self.probability_of_at_most(0)],
            }
        )

    def __str__(self) -> str:
        return (
            f"{self.n:,} at {self.rate:.1%}: expect {self.expected:.1f}, "
            f"{self.level:.0%} range {self.likely_lower} to {self.likely_upper} "
            f"(chance of none {self.probability_of_at_most(0):.0%}; {self.distribution})"
        )

    def _repr_html_(self) -> str:
        return f"<p>{self}</p>" + self.summary.to_html(index=False)


def expected_range(n: int, rate: float, *, level: float = 0.9, rate_trials: int | None = None):
    """Expected count and a range for one person's small numbers (150 leads at 3%).

    With ``rate_trials=None`` the rate is taken as known and the count is binomial(n, rate).
    When the rate was itself estimated from ``rate_trials`` leads, its own uncertainty widens
    the range: the count is beta-binomial, the rate following the Jeffreys posterior
    Beta(x + 1/2, m - x + 1/2) with ``m = rate_trials`` and ``x = rate * m`` observed successes.

    Parameters
    ----------
    n : int
        How many leads (trials) the person has, >= 0.
    rate : float
        Conversion rate in [0, 1].
    level : float
        Probability that the interval holds the count (0.9: a 90% range).
    rate_trials : int, optional
        Number of leads the rate was estimated from.

    Returns
    -------
    ExpectedRange
        ``expected`` = n x rate, ``likely_lower`` and ``likely_upper`` (the equal-tailed range of
        the cdf at (1 - level) / 2 and (1 + level) / 2), and the full ``probabilities`` table.

    Examples
    --------
    >>> r = expected_range(150, 0.03)
    >>> round(r.expected, 1), (r.likely_lower, r.likely_upper)
    (4.5, (1, 8))
    """
    from scipy import stats

    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"n must be a whole number of leads >= 0, got {n!r}")
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must lie in [0, 1], got {rate!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    n = int(n)
    if rate_trials is None:
        dist = stats.binom(n, rate)
        name = "binomial"
    else:
        if int(rate_trials) != rate_trials or rate_trials < 1:
            raise ValueError(f"rate_trials must be a whole number >= 1, got {rate_trials!r}")
        successes = rate * rate_trials
        dist = stats.betabinom(n, successes + 0.5, rate_trials - successes + 0.5)
        name = "beta-binomial"
    counts = np.arange(n + 1)
    at_most = dist.cdf(counts)
    # everything is read off the cdf: scipy's binomial pmf and ppf overflow at rates like 1e-308
    lower, upper = np.minimum(np.searchsorted(at_most, [(1 - level) / 2, (1 + level) / 2]), n)
    probabilities = pd.DataFrame(
        {"count": counts, "probability": np.diff(at_most, prepend=0.0), "at_most": at_most}
    )
    return ExpectedRange(
        n=n,
        rate=float(rate),
        level=float(level),
        rate_trials=None if rate_trials is None else int(rate_trials),
        expected=n * float(rate),
        likely_lower=int(lower),
        likely_upper=int(upper),
        distribution=name,
        probabilities=probabilities,
    )
