"""What a simulated participant earns, in figures with honest intervals: the typical
participant (:class:`TypicalIncome`) and a pitched income checked (:class:`IncomeClaim`), made by
:class:`toolkit.growth.income.SimulatedIncome`.

Participants of one run share a sponsor chain and a market, so their incomes are not
independent: every interval here treats runs as clusters (the share's variance is estimated
from run-to-run spread, Kish's design effect widens the Wilson interval; the median's interval
is Woodruff's, widened the same way), and is never narrower than the interval for independent
participants.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from toolkit.income.disclosure import dollars
from toolkit.rates import wilson_interval
from toolkit.results import RowFields

# --------------------------------------------------------------------------------------------
# intervals with runs as clusters


def design_effect(hits: np.ndarray, run: np.ndarray) -> float:
    """Kish's design effect of a share when participants come in runs (clusters): the ratio
    estimator's between-run variance over the variance of independent draws (at least 1)."""
    n = len(hits)
    if n == 0:
        return 1.0
    p = hits.mean()
    _, inverse = np.unique(run, return_inverse=True)
    y = np.bincount(inverse, weights=hits.astype(float))
    m = np.bincount(inverse).astype(float)
    r = len(m)
    if r < 2 or p in (0.0, 1.0):
        return 1.0
    between = r / (r - 1) * ((y - p * m) ** 2).sum() / n**2
    return float(max(1.0, between / (p * (1 - p) / n)))


def clustered_share(hits: np.ndarray, run: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """A share with a Wilson interval on the effective number of participants (n / design
    effect), so run-to-run spread widens it."""
    n = len(hits)
    if n == 0:
        return np.nan, np.nan, np.nan
    p = float(hits.mean())
    n_eff = n / design_effect(hits, run)
    lo, hi = wilson_interval(p * n_eff, n_eff, alpha=alpha)
    return p, float(lo), float(hi)


def clustered_median(values: np.ndarray, run: np.ndarray, alpha: float) -> tuple[float, float]:
    """Woodruff's interval of the median with runs as clusters: the Wilson interval of
    F(median) = share at or below the median (design effect included), mapped back through the
    quantiles."""
    if len(values) == 0:
        return np.nan, np.nan
    median = np.median(values)
    _, lo, hi = clustered_share(values <= median, run, alpha)
    low = np.quantile(values, max(0.0, min(lo, 0.5)), method="lower")
    high = np.quantile(values, min(1.0, max(hi, 0.5)), method="higher")
    return float(low), float(high)


# --------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class TypicalIncome(RowFields):
    """What the typical simulated participant earns and keeps (from :meth:`SimulatedIncome.typical`).

    Attributes
    ----------
    per : str
        ``"period"`` (the whole horizon) or ``"month"`` (each participant's figures divided by
        their active months).
    months, participants, runs : int
        The horizon, and the participants and runs behind the figures.
    median_gross, median_gross_ci_lower, median_gross_ci_upper : float
        The median participant's gross earnings, with its interval (runs as clusters).
    median_net, median_net_ci_lower, median_net_ci_upper : float
        The median participant's net (gross minus fees, lead spend and other costs).
    median_net_after_purchases : float
        The median of net minus their own purchases (autoship).
    mean_gross : float
        The mean gross, beside the median (a few leaders pull it up).
    share_net_loss, share_net_loss_ci_lower, share_net_loss_ci_upper : float
        Share with a net below 0, with its interval.
    share_earning_nothing, share_earning_nothing_ci_lower, share_earning_nothing_ci_upper : float
        Share paid nothing at all, with its interval.
    """

    _renamed_fields: ClassVar[dict[str, str]] = {
        "median_gross_lower": "median_gross_ci_lower",
        "median_gross_upper": "median_gross_ci_upper",
        "median_net_lower": "median_net_ci_lower",
        "median_net_upper": "median_net_ci_upper",
        "share_net_loss_lower": "share_net_loss_ci_lower",
        "share_net_loss_upper": "share_net_loss_ci_upper",
        "share_earning_nothing_lower": "share_earning_nothing_ci_lower",
        "share_earning_nothing_upper": "share_earning_nothing_ci_upper",
    }

    per: str
    months: int
    participants: int
    runs: int
    median_gross: float
    median_gross_ci_lower: float
    median_gross_ci_upper: float
    median_net: float
    median_net_ci_lower: float
    median_net_ci_upper: float
    median_net_after_purchases: float
    mean_gross: float
    share_net_loss: float
    share_net_loss_ci_lower: float
    share_net_loss_ci_upper: float
    share_earning_nothing: float
    share_earning_nothing_ci_lower: float
    share_earning_nothing_ci_upper: float

    def __str__(self) -> str:
        unit = " a month" if self.per == "month" else f" over {self.months} months"
        return (
            f"Of {self.participants:,} simulated participants ({self.runs:,} runs), "
            f"{self.share_earning_nothing:.0%} earned nothing and {self.share_net_loss:.0%} lost "
            f"money; the median participant earned {dollars(self.median_gross)}{unit} and kept "
            f"{dollars(self.median_net)} after fees and costs."
        )

    def _repr_html_(self) -> str:
        return f"<p><b>Typical participant</b>: {html.escape(str(self))}</p>"


@dataclass(frozen=True)
class IncomeClaim(RowFields):
    """How likely a pitched income is among simulated participants (from :meth:`SimulatedIncome.claim`).

    Attributes
    ----------
    value, per, at_month, column
        The claim: at least ``value`` of ``column`` (``gross``, ``net``,
        ``net_after_purchases``) in month ``at_month`` (``per="month"``) or in the 12 months
        ending with it (``per="year"``).
    probability, probability_ci_lower, probability_ci_upper : float
        Share of the participants active then who reach it, with its interval (runs as
        clusters; 95% unless ``alpha`` said otherwise).
    share_of_runs : float
        Share of runs in which anyone at all reaches it.
    percentile : float
        Where ``value`` sits among the participants, 0-100: the share below it.
    median, mean : float
        The median and mean participant's ``column`` then.
    participants, runs : int
        Behind the figures.
    """

    _renamed_fields: ClassVar[dict[str, str]] = {
        "probability_low": "probability_ci_lower",
        "probability_high": "probability_ci_upper",
    }

    value: float
    per: str
    at_month: int
    column: str
    probability: float
    probability_ci_lower: float
    probability_ci_upper: float
    share_of_runs: float
    percentile: float
    median: float
    mean: float
    participants: int
    runs: int

    def __str__(self) -> str:
        when = (
            f"in month {self.at_month}"
            if self.per == "month"
            else f"in the year to month {self.at_month}"
        )
        what = {"gross": "earned", "net": "kept", "net_after_purchases": "kept after purchases"}
        return (
            f"{dollars(self.value)} or more {what[self.column]} {when}: reached by "
            f"{self.probability:.2%} of {self.participants:,} participants (interval "
            f"{self.probability_ci_lower:.2%} to {self.probability_ci_upper:.2%}), by anyone in "
            f"{self.share_of_runs:.0%} of {self.runs:,} runs; median participant "
            f"{dollars(self.median)}, mean {dollars(self.mean)}"
        )

    def _repr_html_(self) -> str:
        return f"<p><b>Income claim check</b>: {html.escape(str(self))}</p>"
