"""The income disclosure table and the earnings claim check, from :func:`participant_income`.

Every share carries a Wilson interval (:func:`toolkit.rates.wilson_interval`) and the median a
distribution-free interval from order statistics (the binomial interval for a quantile), so a
small group's figures show how little they pin down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from toolkit.frames import collect, from_native, to_kind
from toolkit.rates import wilson_interval
from toolkit.results import RowFields

MEASURES = ("gross", "net", "net_after_purchases")
PARTICIPANTS = ("all", "builders")
PERS = ("period", "month")
SPENT = ("fees", "lead_spend", "other_costs", "purchases")
ALL = "all participants"
NO_RANK = "no rank"


def _income_frame(income, columns) -> tuple[pd.DataFrame, object]:
    frame = from_native(income, "income", columns)
    return collect(frame).to_pandas(), frame


def median_interval(values, alpha: float = 0.05) -> tuple[float, float]:
    """Distribution-free interval for the median: the order statistics ``x(l)`` and
    ``x(n - l + 1)`` with ``l`` the ``alpha / 2`` quantile of Binomial(n, 1/2).

    With too few values for the level (fewer than 6 at 95%) the bounds are the minimum and
    maximum, whose coverage is then below ``1 - alpha``.
    """
    from scipy.stats import binom

    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return np.nan, np.nan
    low = int(binom.ppf(alpha / 2, n, 0.5))
    low = max(low, 1)
    return float(x[low - 1]), float(x[n - low])


def _shares(hits: np.ndarray, n: int, alpha: float) -> tuple[float, float, float]:
    k = int(hits.sum())
    lo, hi = wilson_interval(k, n, alpha=alpha)
    return (k / n if n else np.nan), float(lo), float(hi)


def _describe(values: np.ndarray, gross: np.ndarray, alpha: float) -> dict:
    n = len(values)
    out = {"participants": n}
    shares = {
        "share_earning_nothing": gross <= 0,
        "share_1000_or_less": values <= 1000,
        "share_net_loss": values < 0,
        "share_profit": values > 0,
    }
    for name, hits in shares.items():
        out[name], out[f"{name}_ci_lower"], out[f"{name}_ci_upper"] = _shares(hits, n, alpha)
    profit = values[values > 0]
    name = "share_of_profitable_under_5000"
    out[name], out[f"{name}_ci_lower"], out[f"{name}_ci_upper"] = _shares(
        profit < 5000, len(profit), alpha
    )
    out["mean"] = float(values.mean()) if n else np.nan
    out["median"] = float(np.median(values)) if n else np.nan
    out["median_ci_lower"], out["median_ci_upper"] = median_interval(values, alpha)
    for q in (10, 25, 75, 90, 99):
        out[f"p{q}"] = float(np.percentile(values, q)) if n else np.nan
    return out


def _select(table: pd.DataFrame, participants: str, per: str) -> pd.DataFrame:
    if participants not in PARTICIPANTS:
        raise ValueError(f"participants must be one of {PARTICIPANTS}, got {participants!r}")
    if per not in PERS:
        raise ValueError(f"per must be 'period' (as the income table) or 'month', got {per!r}")
    if participants == "builders":  # preferred customers signed up for the discount
        table = table[table["role"] != "preferred_customer"]
    if per == "month":
        # a part-year member is divided by the months they were active, never annualised; rows
        # without an active month (lead spend after leaving) have no monthly figure
        table = table[table["months_active"] > 0].copy()
        for col in (*MEASURES, *SPENT):
            if col in table:
                table[col] = table[col] / table["months_active"]
    return table


def income_disclosure(income, *, by="rank", participants="all", alpha=0.05, per="period"):
    """The income disclosure table: what participants earned, by group and overall.

    Parameters
    ----------
    income : frame
        The result of :func:`toolkit.participant_income` (any engine's kind).
    by : str or None
        Column to group by (``"rank"``, ``"role"``); None gives the overall rows only. Members
        without a rank are grouped as ``"no rank"``.
    participants : {"all", "builders"}
        ``"builders"`` leaves preferred customers out (the FTC staff's point: which participants
        a statement counts moves its median).
    alpha : float
        One minus the confidence level of every interval.
    per : {"period", "month"}
        ``"period"``: as the income table (a year by default). ``"month"``: each participant's
        figures divided by their ``months_active`` (nothing is annualised).

    Returns
    -------
    frame of the kind of ``income``
        One row per period, group and measure (``gross``, ``net``, ``net_after_purchases``):
        ``period``, ``group`` (a value of ``by``, or ``"all participants"``), ``measure``,
        ``participants``; ``share_earning_nothing`` (gross of 0, whatever the measure),
        ``share_1000_or_less``, ``share_net_loss`` (below 0), ``share_profit`` (above 0) and
        ``share_of_profitable_under_5000`` (among those above 0), each with ``_ci_lower`` and
        ``_ci_upper`` (Wilson; NaN where nobody is in the denominator); ``mean``, ``median`` with
        ``median_ci_lower`` / ``median_ci_upper``, and the percentiles ``p10``, ``p25``, ``p75``,
        ``p90``, ``p99``.
    """
    cols = ["period", "months_active", "role", *MEASURES] + ([by] if by else [])
    table, like = _income_frame(income, cols)
    table = _select(table, participants, per)
    if by:
        table[by] = table[by].astype("object").where(table[by].notna(), NO_RANK)
    rows = []
    for period, here in table.groupby("period", sort=True):
        groups = [(ALL, here)]
        if by:
            groups += [(str(k), g) for k, g in here.groupby(by, sort=False)]
        for name, g in groups:
            gross = g["gross"].to_numpy(float)
            for measure in MEASURES:
                row = {"period": period, "group": name, "measure": measure}
                rows.append(row | _describe(g[measure].to_numpy(float), gross, alpha))
    out = pd.DataFrame(rows)
    if out.empty:
        out = pd.DataFrame(columns=["period", "group", "measure", "participants"])
    return to_kind(out, like)


@dataclass(frozen=True)
class EarningsClaim(RowFields):
    """What :func:`earnings_claim_check` found; ``str()`` gives the plain sentence.

    Attributes
    ----------
    value, per, column, period : the claim checked ("$100,000 a year, gross, in 2025").
    participants : participants in the period. reaching : how many reached ``value``.
    share, share_ci_lower, share_ci_upper : share reaching it, with its Wilson interval.
    median, median_ci_lower, median_ci_upper : the median participant's ``column``, with its interval.
    median_spent : the median of what participants spent (fees, lead spend, other costs and
        purchases).
    percentile : the share of participants below the claim, as a percentile (99.6: the claim
        sits above 99.6% of participants).
    sentence : one plain sentence.

    ``check["share"]`` reads a field like a dict key; ``lower``, ``upper`` and
    ``median_lower``, ``median_upper`` are the deprecated names of the intervals.
    """

    _renamed_fields: ClassVar[dict[str, str]] = {
        "lower": "share_ci_lower",
        "upper": "share_ci_upper",
        "median_lower": "median_ci_lower",
        "median_upper": "median_ci_upper",
    }

    value: float
    per: str
    column: str
    period: pd.Timestamp
    participants: int
    reaching: int
    share: float
    share_ci_lower: float
    share_ci_upper: float
    median: float
    median_ci_lower: float
    median_ci_upper: float
    median_spent: float
    percentile: float
    sentence: str

    @property
    def summary(self) -> pd.DataFrame:
        fields = [f for f in self.__dataclass_fields__ if f != "sentence"]
        return pd.DataFrame({f: [getattr(self, f)] for f in fields})

    def __str__(self) -> str:
        return self.sentence

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(self.sentence)}</p>" + self.summary.to_html(index=False)


def dollars(x: float) -> str:
    """Whole dollars as the income sentences and figures write them: ``$1,140``, ``-$109``."""
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def _when(period: pd.Timestamp) -> str:
    return f"in {period.year}" if period.month == 1 else f"in the period from {period:%Y-%m-%d}"


def earnings_claim_check(income, value, *, per="year", column="gross", period=None, alpha=0.05):
    """How many participants reach a claimed income, and what the median participant earned.

    Parameters
    ----------
    income : frame
        The result of :func:`toolkit.participant_income` (yearly for ``per="year"``).
    value : float
        The claimed amount (100_000 for "over $100,000 a year").
    per : {"year", "month"}
        ``"year"``: each participant's figure for the period as it is; ``"month"``: divided by
        their ``months_active``.
    column : str
        ``"gross"`` (what a pitch usually quotes), ``"net"`` or ``"net_after_purchases"``.
    period : timestamp-like, optional
        The period to check; the latest period in the table when None.
    alpha : float
        One minus the confidence level of the intervals.

    Returns
    -------
    EarningsClaim
        With the share reaching the claim and its Wilson interval, the median participant with
        its interval, the percentile of the claim and one plain sentence.
    """
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"value must be a finite amount, got {value!r}")
    if per not in ("year", "month"):
        raise ValueError(f"per must be 'year' or 'month', got {per!r}")
    if column not in MEASURES:
        raise ValueError(f"column must be one of {MEASURES}, got {column!r}")
    table, _ = _income_frame(income, ["period", "months_active", "role", *MEASURES, *SPENT])
    if table.empty:
        raise ValueError("income has no participants: there is nothing to check the claim against")
    periods = pd.to_datetime(table["period"])
    chosen = periods.max() if period is None else pd.Timestamp(period)
    table = table[periods == chosen]
    if table.empty:
        raise ValueError(
            f"income has no rows for period {chosen}; periods: {sorted(periods.unique())}"
        )
    table = _select(table, "all", "month" if per == "month" else "period")
    x = table[column].to_numpy(float)
    spent = table[list(SPENT)].sum(axis=1).to_numpy(float)
    n, k = len(x), int((x >= value).sum())
    share, lo, hi = _shares(x >= value, n, alpha)
    med_lo, med_hi = median_interval(x, alpha)
    median = float(np.median(x))
    what = {
        "gross": "earned",
        "net": "kept, after fees and costs,",
        "net_after_purchases": "kept, after costs and their own purchases,",
    }[column]
    unit = " a month" if per == "month" else ""
    when = _when(pd.Timestamp(chosen))
    if k == 0:
        first = (
            f"None of the {n:,} participants {what} {dollars(value)} or more{unit} {when} "
            f"(at most about 1 in {int(1 / hi):,} at {1 - alpha:.0%} confidence)"
            if hi > 0
            else f"None of the {n:,} participants {what} {dollars(value)} or more{unit} {when}"
        )
    else:
        first = f"1 in {round(n / k):,} participants {what} {dollars(value)} or more{unit} {when}"
    sentence = (
        f"{first}; the median participant {what} {dollars(median)}{unit} "
        f"and spent {dollars(float(np.median(spent)))}{unit}."
    )
    return EarningsClaim(
        value=value,
        per=per,
        column=column,
        period=pd.Timestamp(chosen),
        participants=n,
        reaching=k,
        share=share,
        share_ci_lower=lo,
        share_ci_upper=hi,
        median=median,
        median_ci_lower=med_lo,
        median_ci_upper=med_hi,
        median_spent=float(np.median(spent)),
        percentile=float((x < value).mean() * 100),
        sentence=sentence,
    )
