"""Time and censoring, shared by every computation: ``as_of``, durations, windows and calendar
periods.

- ``as_of`` (the export date) is part of the data: :func:`resolve_as_of` settles it (default: the
  latest timestamp) as a time-zone-naive UTC instant, as the data contract keeps timestamps.
- A duration always carries its unit (``"90D"``, ``"12W"``, ``pd.Timedelta``):
  :func:`parse_duration` refuses a bare number or numeric string everywhere, since
  ``pd.Timedelta(90)`` is 90 *nanoseconds*.
- :func:`offset` spells a window for Narwhals' ``dt.offset_by``, which every engine can do
  (Spark included), where not every engine can measure a duration.
- :data:`CALENDAR_PERIODS` is the one table of calendar periods (day, week from Monday, month,
  quarter, year): their letters, words, engine truncation strings and lengths.
  :func:`truncate` is the one way to take a timestamp to the start of its period (weeks
  included, which Narwhals' ``dt.truncate`` does not know). Cohorts number periods as integers
  (:func:`period_ordinal` and its inverse :func:`period_start`), which every engine can compute
  from the year and month.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.frames import latest_timestamp

# --------------------------------------------------------------------------------------------
# durations and windows


def parse_duration(value: Any, name: str = "window") -> pd.Timedelta:
    """A positive duration with a unit ("90D", "12h", ``pd.Timedelta``); a bare number is refused.

    Raises
    ------
    ValueError
        A number or numeric string without a unit (``90``, ``"90"``: pandas would read 90 ns), a
        string that is no duration, or a duration that is not positive.
    """
    if isinstance(value, (pd.Timedelta, dt.timedelta, np.timedelta64)):
        out = pd.Timedelta(value)
    elif isinstance(value, str) and not re.fullmatch(r"\s*[-+]?[\d.]+\s*", value):
        try:
            out = pd.Timedelta(value)
        except ValueError as exc:
            raise ValueError(f"{name}={value!r} is not a duration such as '90D' or '12h'") from exc
    else:
        raise ValueError(
            f"{name}={value!r} has no unit; write a duration with its unit, such as '90D' (days) "
            "or '12W' (weeks), or pass a pandas Timedelta"
        )
    if out <= pd.Timedelta(0):
        raise ValueError(f"{name} must be positive, got {value!r}")
    return out


def offset(window: pd.Timedelta) -> str:
    """A Narwhals ``dt.offset_by`` string for ``window`` (whole days when it is whole days)."""
    if window % pd.Timedelta(days=1) == pd.Timedelta(0):
        return f"{window.days}d"
    return f"{int(window / pd.Timedelta(microseconds=1))}us"


def within(col: str, anchor: str, window: pd.Timedelta) -> nw.Expr:
    """``col`` at most ``window`` after ``anchor``."""
    return nw.col(col) <= nw.col(anchor).dt.offset_by(offset(window))


# --------------------------------------------------------------------------------------------
# as_of


def naive_utc(stamp: pd.Timestamp) -> pd.Timestamp:
    """UTC without a time zone, as the contract keeps timestamps (Spark hands back aware ones)."""
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def resolve_as_of(value, frame: nw.DataFrame | nw.LazyFrame, columns) -> dt.datetime:
    """``value`` (or, when None, the latest of ``columns`` in ``frame``) as a naive UTC datetime.

    An empty frame has no latest timestamp: any date then does (the result is empty anyway).
    """
    stamp = latest_timestamp(frame, columns) if value is None else pd.Timestamp(value)
    if stamp is pd.NaT or pd.isna(stamp):
        stamp = pd.Timestamp("2000-01-01")
    return naive_utc(stamp).to_pydatetime()


# --------------------------------------------------------------------------------------------
# calendar periods


@dataclass(frozen=True)
class CalendarPeriod:
    """One kind of calendar period.

    Attributes
    ----------
    code : the letter callers pass (``period="M"``).
    word : "month": names such as ``entry_month``.
    description : for error messages ("calendar month").
    every : the Narwhals ``dt.truncate`` string ("1mo"); None for weeks, which Narwhals cannot
        truncate (use :func:`truncate` for every period).
    length : a ``pd.DateOffset`` of one period (a period's end is its start plus this).
    """

    code: str
    word: str
    description: str
    every: str | None
    length: pd.DateOffset


CALENDAR_PERIODS = {
    p.code: p
    for p in (
        CalendarPeriod("D", "day", "calendar day", "1d", pd.DateOffset(days=1)),
        CalendarPeriod("W", "week", "week (Monday to Sunday)", None, pd.DateOffset(weeks=1)),
        CalendarPeriod("M", "month", "calendar month", "1mo", pd.DateOffset(months=1)),
        CalendarPeriod("Q", "quarter", "calendar quarter", "1q", pd.DateOffset(months=3)),
        CalendarPeriod("Y", "year", "calendar year", "1y", pd.DateOffset(years=1)),
    )
}
PERIOD_WORDS = {p.word: p.code for p in CALENDAR_PERIODS.values()}
# the periods cohorts are numbered in (a day is too short a step for a cohort)
ORDINAL_PERIODS = ("W", "M", "Q", "Y")


def check_period(period: str, allowed=tuple(CALENDAR_PERIODS)) -> CalendarPeriod:
    """The :class:`CalendarPeriod` for ``period``; a ValueError listing the ``allowed`` ones."""
    if not isinstance(period, str) or period not in allowed:
        valid = ", ".join(f"{k!r} ({CALENDAR_PERIODS[k].description})" for k in allowed)
        raise ValueError(f"period must be one of {valid}; got {period!r}")
    return CALENDAR_PERIODS[period]


def period_ordinal(col: str, period: str) -> nw.Expr:
    """The period a timestamp column falls in, as an integer that increases by 1 per period."""
    year, month = nw.col(col).dt.year(), nw.col(col).dt.month()
    if period == "M":
        return year * 12 + month - 1
    if period == "Q":
        return year * 4 + (month - 1) // 3
    if period == "Y":
        return year
    # weeks start on a Monday; 1970-01-01 was a Thursday
    return (_epoch_days(col) + 3) // 7


def _epoch_days(col: str) -> nw.Expr:
    """Days since 1970-01-01 from the year and day of year (leap days counted by hand, since not
    every engine can subtract timestamps)."""
    year = nw.col(col).dt.year()
    before = year - 1
    leap = before // 4 - before // 100 + before // 400 - 477  # 477 leap days before 1970
    return (year - 1970) * 365 + leap + nw.col(col).dt.ordinal_day() - 1


def truncate(col: str, period: str) -> nw.Expr:
    """The first instant of the calendar ``period`` each timestamp of ``col`` falls in.

    Weeks run from Monday: the day, moved back by its days since Monday. Narwhals has no week
    truncation, and its ``dt.weekday`` counts Sunday as 0 on PySpark, so the weekday comes from
    :func:`_epoch_days` and the step back from ``dt.offset_by``, which every engine can do.
    """
    if period != "W":
        return nw.col(col).dt.truncate(CALENDAR_PERIODS[period].every)
    day = nw.col(col).dt.truncate("1d")
    since_monday = (_epoch_days(col) + 3) % 7
    out = day
    for back in range(1, 7):
        out = nw.when(since_monday == back).then(day.dt.offset_by(f"-{back}d")).otherwise(out)
    return out


def period_ordinal_of(stamp: pd.Timestamp, period: str) -> int:
    """:func:`period_ordinal` of one timestamp."""
    if period == "M":
        return stamp.year * 12 + stamp.month - 1
    if period == "Q":
        return stamp.year * 4 + (stamp.month - 1) // 3
    if period == "Y":
        return stamp.year
    return (int((stamp.normalize() - pd.Timestamp("1970-01-01")).days) + 3) // 7


def period_ordinals(stamps: pd.Series, period: str) -> np.ndarray:
    """:func:`period_ordinal` of a pandas series of timestamps."""
    values = stamps.to_numpy() if isinstance(stamps.dtype, np.dtype) else None
    if values is not None and values.dtype.kind == "M" and not np.isnat(values).any():
        # naive numpy times: one cast to months (or days), a third of the calendar fields' cost
        if period == "W":
            return (values.astype("datetime64[D]").astype(np.int64) + 3) // 7
        months = values.astype("datetime64[M]").astype(np.int64) + 1970 * 12
        return {"M": months, "Q": months // 3, "Y": months // 12}[period]
    stamps = pd.to_datetime(stamps)
    year, month = stamps.dt.year.to_numpy(dtype="int64"), stamps.dt.month.to_numpy(dtype="int64")
    if period == "M":
        return year * 12 + month - 1
    if period == "Q":
        return year * 4 + (month - 1) // 3
    if period == "Y":
        return year
    days = (stamps.dt.normalize() - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype="int64")
    return (days + 3) // 7


def period_start(ordinals, period: str) -> pd.DatetimeIndex:
    """The first instant of each period ordinal (the inverse of :func:`period_ordinal`)."""
    o = np.asarray(ordinals, dtype="int64")
    if period == "W":
        start = np.datetime64("1969-12-29") + (o * 7).astype("timedelta64[D]")
        return pd.DatetimeIndex(start.astype("datetime64[us]"))
    months = {"M": o, "Q": o * 3, "Y": o * 12}[period]
    start = (months - 1970 * 12).astype("datetime64[M]")
    return pd.DatetimeIndex(start.astype("datetime64[us]"))
