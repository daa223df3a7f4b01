"""The numpy route: per-lead work on plain pandas tables without an engine (issue 18).

The computations are written once against Narwhals (see :mod:`toolkit.frames`), and on a
pandas table of a few thousand to a few million rows that route pays a fixed 50-150 ms of plan
building, expression translation and conversions before any counting starts: the cost a
person pays on every cell they re-run and every slider move. For a plain pandas table
(:func:`covers`) the funnel, time to convert and lead-quality counts instead take this route:
a handful of array passes over the rows, whose cost follows the data.

What this module holds is shared by those three: which rows belong to which stage
(:func:`stage_bits`), dense codes for lead ids (:func:`lead_codes`), ids as positions in a
table of unique ids (:func:`positions`: members in the cohort calls), grouping by the values
of some columns as ``groupby(dropna=False)`` groups them (:func:`group`), and each lead's
time of each funnel step (:func:`step_times`). Times are compared as integers in the unit of
the ``at`` column, with every limit floored into that unit, so every comparison is exact.

The results are the engine route's, number for number: ``tests/funnel/test_fast_path.py`` runs both
routes on random data (repeated stages, ties, missing and doubled leads, every time unit).
Anything else (Polars, DuckDB, Spark, PyArrow, time-zone-aware or Arrow timestamps, a
missing ``lead_id``, the "strict" and "any" funnel orders) takes the engine route, and so
does everything when :data:`ENABLED` is False (the tests switch it off to compare).

:data:`ENABLED` also switches the pandas routes of :func:`toolkit.cohort_table` ("active"),
:func:`toolkit.member_mix` (``toolkit/cohorts``) and of :func:`toolkit.checks.check_frame`'s
rules (compared with the engine route in the same tests).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

# False sends every call the engine route (the tests compare the two routes this way)
ENABLED = True
# Tables up to this many rows take the numpy route. Measured to 3.3M events (funnel 0.74x
# retentioneering's CPU time at 3.2M, benchmarks/funnel_small.py; 1.16x hand-written Polars at
# 2M leads, peak memory as the engine route's, benchmarks/funnel.py); larger ones keep the
# engine route and its hand-off to Polars in slices of leads, measured at 10M leads.
MAX_ROWS = 5_000_000
# the step time of a step not reached: later than any time
NOT_REACHED = np.iinfo(np.int64).max
_NAT = np.iinfo(np.int64).min
_US_PER = {"s": 10**6, "ms": 10**3, "us": 1}


def covers(events, leads=None) -> bool:
    """True when the numpy route serves these inputs: pandas frames of at most
    :data:`MAX_ROWS` rows, ``at`` as naive numpy datetimes, no missing ``lead_id``, the same
    type of ``lead_id`` in both tables (the required columns are checked before)."""
    if not ENABLED or not isinstance(events, pd.DataFrame):
        return False
    if leads is not None and not isinstance(leads, pd.DataFrame):
        return False
    if max(len(events), 0 if leads is None else len(leads)) > MAX_ROWS:
        return False
    if leads is not None and leads["lead_id"].dtype != events["lead_id"].dtype:
        return False  # the engine's join decides what ids of two kinds do (pandas refuses)
    return is_numpy_time(events["at"]) and not events["lead_id"].hasnans


def check_inputs(events: pd.DataFrame, leads, lead_columns) -> None:
    """The cheap contract checks the engine route runs (:func:`toolkit.checks.check_frame`: a
    lead listed twice, a stage outside the vocabulary, a NaT time, negative or infinite cost),
    on the tables :func:`covers` accepted, so frames passed without ``validate`` are refused
    on both routes alike."""
    import narwhals as nw

    from toolkit.checks import check_frame

    check_frame(nw.from_native(events, eager_only=True), "events", ("lead_id", "stage", "at"))
    if leads is not None:
        columns = ("lead_id", *lead_columns)
        check_frame(nw.from_native(leads, eager_only=True), "leads", columns)


def is_numpy_time(values: pd.Series) -> bool:
    kind = values.dtype
    return (
        isinstance(kind, np.dtype)
        and kind.kind == "M"
        and np.datetime_data(kind)[0] in ("s", "ms", "us", "ns")
    )


# --------------------------------------------------------------------------------------------
# times as integers


def time_unit(values: pd.Series) -> str:
    return np.datetime_data(values.dtype)[0]


def from_us(us: int | np.ndarray, unit: str):
    """Microseconds in ``unit``, floored: every use is an ``at <= limit`` test on integers."""
    return us * 1000 if unit == "ns" else us // _US_PER[unit]


_EPOCH = dt.datetime(1970, 1, 1)


def us_of(stamp: dt.datetime) -> int:
    """A naive datetime in microseconds since the epoch (exact integer arithmetic)."""
    return (stamp - _EPOCH) // dt.timedelta(microseconds=1)


def us_span(delta: pd.Timedelta) -> int:
    return int(delta / pd.Timedelta(microseconds=1))


def scaled(values: np.ndarray, unit: str, fine: bool) -> np.ndarray:
    """Integer times in ``unit`` as nanoseconds (``fine``) or microseconds."""
    if fine:
        return values * {"s": 10**9, "ms": 10**6, "us": 1000, "ns": 1}[unit]
    return values * _US_PER[unit]


# --------------------------------------------------------------------------------------------
# stages, ids, groups


def stage_bits(stage: pd.Series, groups: list[tuple[str, ...]]) -> np.ndarray:
    """Per row, bit k set when its stage is one of ``groups[k]`` (0: none of them)."""
    names = list(dict.fromkeys(s for group in groups for s in group))
    # the last entry: any other stage (-1); one byte per row for the usual few steps
    table = np.zeros(len(names) + 1, np.uint8 if len(groups) <= 8 else np.int64)
    for k, group in enumerate(groups):
        for name in group:
            table[names.index(name)] |= 1 << k
    return table[_positions(stage, names)]


def _positions(values: pd.Series, names: list[str]) -> np.ndarray:
    """Per value, its position in ``names`` (a handful of strings), -1 when it is none of them
    or missing: Arrow's ``index_in`` kernel on Arrow strings (pandas' own ``isin`` hashes
    Python objects), a lookup on category codes, one hash of the values otherwise."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = values.cat.categories
        lookup = np.array([names.index(c) if c in names else -1 for c in cats] + [-1])
        return lookup[values.cat.codes.to_numpy()]
    if _arrow_strings(values):
        return positions(pd.Series(names, dtype=values.dtype), values)
    codes, uniques = pd.factorize(values)
    lookup = np.array([names.index(u) if u in names else -1 for u in uniques] + [-1])
    return lookup[codes]


def _arrow_strings(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


def positions(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """Per value, the position of the equal one of ``keys`` (unique values), -1 when none: as
    ``pd.Index(keys).get_indexer(values)``, which on Arrow strings first makes a Python object
    of every value (10 ms for the sample's 100k orders); Arrow's ``index_in`` hashes them as
    they are."""
    if _arrow_strings(keys) and _arrow_strings(values):
        import pyarrow as pa
        import pyarrow.compute as pc

        arrow = pa.array(values.array)
        found = pc.index_in(arrow, value_set=pa.array(keys.array).cast(arrow.type))
        return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return pd.Index(keys).get_indexer(values).astype(np.int64)


def lead_codes(ids, also: pd.Series | None = None):
    """Dense codes ``0 .. m-1`` for the lead ids ``ids`` (an array): direct offsets for compact
    integer ids, one hash otherwise. Returns the codes, the id of each code, and the codes of
    ``also`` (the leads table's ids, hashed with them into one code space; -1 for an id that
    is not among ``ids``), or None without ``also``."""
    kind = getattr(ids.dtype, "numpy_dtype", ids.dtype)
    if also is None and isinstance(kind, np.dtype) and kind.kind in "iu" and len(ids):
        raw = np.asarray(ids)
        lo, hi = int(raw.min()), int(raw.max())
        if hi - lo <= 4 * raw.size + 1024:
            return (raw - lo).astype(np.int64), np.arange(lo, hi + 1, dtype=raw.dtype), None
    if also is None:
        codes, uniques = pd.factorize(ids)
        return codes.astype(np.int64), np.asarray(uniques), None
    joined = pd.concat(
        [pd.Series(ids, copy=False), pd.Series(also.array, copy=False)], ignore_index=True
    )
    codes, uniques = pd.factorize(joined)
    # ids seen only in ``also`` get codes too, after the others: -1 for them
    mine = codes[: len(ids)].astype(np.int64)
    n = int(mine.max()) + 1 if len(mine) else 0
    theirs = codes[len(ids) :].astype(np.int64)
    return mine, np.asarray(uniques)[:n], np.where(theirs < n, theirs, -1)


def group(columns: list[pd.Series], rows: np.ndarray | None = None):
    """Rows grouped by the values of ``columns`` (Series of one length), missing values forming
    a group of their own, as ``groupby(dropna=False)`` does.

    ``rows`` (optional) picks positions in the columns, -1 for a row whose values are all
    missing (a lead missing from the leads table). Returns each row's group (an index into
    the table) and the table of groups: one row per group present, the columns' values.
    """
    parts = []
    n = len(rows) if rows is not None else len(columns[0])
    for col in columns:
        codes, uniques = pd.factorize(col)
        codes = np.asarray(codes, np.int64)
        if rows is not None:
            codes = codes[np.maximum(rows, 0)] if len(codes) else np.zeros(n, np.int64)
            codes = np.where(rows >= 0, codes, -1)
        parts.append((codes, uniques))
    key = np.zeros(n, np.int64)
    for codes, uniques in parts:
        key = key * (len(uniques) + 1) + (codes + 1)
    used, which = np.unique(key, return_inverse=True)
    values, rest = {}, used
    for col, (_, uniques) in reversed(list(zip(columns, parts, strict=True))):
        rest, code = np.divmod(rest, len(uniques) + 1)
        array = uniques.array if isinstance(uniques, pd.Index) else uniques
        values[col.name] = pd.api.extensions.take(array, code - 1, allow_fill=True)
    table = pd.DataFrame({col.name: values[col.name] for col in columns})
    return which.astype(np.int64).reshape(-1), table


# --------------------------------------------------------------------------------------------
# funnel step times


@dataclass(frozen=True)
class StepTimes:
    """Per entrant (a lead that reached the first step by ``as_of``): its ``lead_id``, its
    ``code`` (see :func:`lead_codes`) and, per step, its time of that step (integers in
    ``unit``; :data:`NOT_REACHED` when not reached). ``leads_codes``: the code of each row of
    the leads table (-1 for a lead without events), None when no leads were given."""

    lead_id: np.ndarray
    code: np.ndarray
    times: list
    unit: str
    as_of: dt.datetime
    n_codes: int
    leads_codes: np.ndarray | None

    def reached(self, k: int) -> np.ndarray:
        return self.times[k] != NOT_REACHED


def step_times(
    events: pd.DataFrame, groups: list[tuple[str, ...]], windows, as_of: dt.datetime, leads_ids=None
) -> StepTimes:
    """Each lead's time of each step: its first event of step 0; for step k, its earliest event
    of step k at or after step k-1 and, with ``windows``, at most the window after the anchor
    (step 0 for one duration, step k-1 for a tuple of per-step ones; None: no window). Events
    after ``as_of`` are ignored. These are the funnel engine's ``_joined_times`` (without
    ``strict``), which its one-pass route also gives."""
    t = events["at"].to_numpy().view("int64")
    unit = time_unit(events["at"])
    bits = stage_bits(events["stage"], groups)
    keep = (bits != 0) & (t <= from_us(us_of(as_of), unit)) & (t != _NAT)
    ids = events["lead_id"].array  # Arrow strings stay Arrow strings (no Python objects)
    if not keep.all():
        t, bits, ids = t[keep], bits[keep], ids[keep]
    codes, id_of, leads_codes = lead_codes(ids, leads_ids)
    n = len(id_of)
    per_step = isinstance(windows, tuple)
    times = []
    for k in range(len(groups)):
        m = (bits >> k) & 1 != 0
        c, tk = codes[m], t[m]
        if k:
            prev = times[-1][c]
            ok = (prev != NOT_REACHED) & (tk >= prev)
            if windows is not None:
                anchor = prev if per_step else times[0][c]
                ok &= tk - anchor <= from_us(us_span(windows[k - 1] if per_step else windows), unit)
            c, tk = c[ok], tk[ok]
        first = np.full(n, NOT_REACHED)
        np.minimum.at(first, c, tk)
        times.append(first)
    entered = np.flatnonzero(times[0] != NOT_REACHED)
    return StepTimes(
        lead_id=id_of[entered],
        code=entered,
        times=[x[entered] for x in times],
        unit=unit,
        as_of=as_of,
        n_codes=n,
        leads_codes=leads_codes,
    )
