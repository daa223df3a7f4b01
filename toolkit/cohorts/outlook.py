"""The cohort table and its latest cohorts as curves (:func:`cohort_outlook`), the headless twin
of the cohort explorer."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from toolkit.cohorts.table import cohort_table
from toolkit.frames import to_pandas
from toolkit.results import FieldReads

#: Cohorts of each segment drawn as curves by default: the latest with a finished first period
#: (four keep the curves readable and the exported page under 2 MB on the bundled sample).
RECENT = 4


@dataclass(frozen=True)
class CohortOutlook(FieldReads):
    """What the cohort explorer shows (made by :func:`cohort_outlook`).

    Attributes
    ----------
    table : pandas.DataFrame
        :func:`toolkit.cohort_table` as pandas, unchanged: the segment column (if any),
        ``cohort``, ``period``, ``size``, ``value``, ``rate``, ``ci_lower``, ``ci_upper``,
        ``complete`` and the columns saying what it holds (``metric``, ``reference``, ...).
        Unfinished cells are NaN, never 0.
    curves : pandas.DataFrame
        The rows of ``table`` for the ``recent`` latest cohorts of each segment that have at
        least one finished period.
    period, metric, cumulative, segment
        What was asked (``segment`` None: everyone together).

    ``outlook["table"]`` reads a field like a dict key.
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    period: str
    metric: str
    cumulative: bool
    segment: str | None


def cohort_outlook(
    members,
    orders=None,
    *,
    period: str = "M",
    metric: str = "active",
    cumulative: bool = False,
    segment: str | None = None,
    as_of=None,
    recent: int = RECENT,
) -> CohortOutlook:
    """The cohort table and the cohorts drawn as curves (the headless twin of
    :func:`toolkit.explorers.cohort_explorer`).

    Parameters
    ----------
    members, orders
        The contract's members and orders tables (any engine); orders are needed for every
        metric but "active".
    period, metric, cumulative, as_of
        Passed to :func:`toolkit.cohort_table`.
    segment : str, optional
        A members column to split cohorts by (``"role"``); None keeps everyone together.
    recent : int
        How many cohorts of each segment the curves show: the latest whose first period has
        finished (a cohort still in its first period has nothing to draw yet).

    Returns
    -------
    CohortOutlook
        ``table`` and ``curves``, with what was asked (see its fields).
    """

    if isinstance(recent, bool) or int(recent) != recent or recent < 1:
        raise ValueError(f"recent must be a whole number >= 1, got {recent!r}")
    table = to_pandas(
        cohort_table(
            members,
            orders,
            period=period,
            metric=metric,
            by=segment,
            cumulative=cumulative,
            as_of=as_of,
        )
    )
    by = [segment] if segment else []
    finished = table[table["complete"].astype(bool)][[*by, "cohort"]].drop_duplicates()
    if by:
        latest = finished.sort_values("cohort").groupby(by, sort=False, observed=True).tail(recent)
    else:
        latest = finished.sort_values("cohort").tail(recent)
    curves = table.merge(latest, on=[*by, "cohort"], how="inner")
    return CohortOutlook(
        table=table,
        curves=curves.reset_index(drop=True),
        period=period,
        metric=metric,
        cumulative=bool(cumulative),
        segment=segment,
    )
