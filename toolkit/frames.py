"""The engine room: every dataframe-engine concern of the computations has its home here.

The computations are written once against Narwhals. pandas, Polars (eager or lazy), PyArrow,
DuckDB relations and PySpark DataFrames come in (:func:`from_native`); a large pandas input is
handed to Polars for the heavy work (:func:`hand_off`, one threshold, :data:`HANDOFF_ROWS`, and
one method, through Arrow); a small computed result goes back as the caller's own kind of frame
(:func:`to_kind`: a lazy input gives a lazy result); any frame comes to pandas through
:func:`to_pandas`.

Durations, ``as_of`` and calendar periods live in :mod:`toolkit.censoring`; intervals and
comparisons of rates in :mod:`toolkit.rates`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import narwhals as nw
import pandas as pd

from toolkit.schema import CHECK_HINT, OPTIONAL_COLUMNS, TABLES, DataError, missing_piece

# A pandas input whose largest table has at least this many rows is handed to Polars (when it is
# installed) for the per-row work: pandas in, pandas out, the same numbers. Below it the
# conversion costs more than Polars saves. One threshold for funnels, cohorts and lead quality
# (they had 200k, 2M and 500k): 200k, where each of them was already as fast or faster on Polars
# including the conversion (benchmarks/funnel.py, cohorts.py, lead_quality.py at 200k-300k rows).
HANDOFF_ROWS = 200_000
# Columns handed over as dictionary codes: a handful of distinct names over millions of rows
# (codes take a quarter of the memory of Polars' strings, and compare as fast).
CODED_COLUMNS = ("stage",)


def from_native(obj: Any, table: str, required: Iterable[str]) -> nw.DataFrame | nw.LazyFrame:
    """Wrap ``obj`` in Narwhals and check that ``table`` has the ``required`` columns.

    Raises
    ------
    DataError
        ``obj`` is not a dataframe, or lacks some of ``required`` (the message names the table,
        the missing columns and the columns present).
    """
    if obj is None and table in ("leads", "events", "orders", "role_history"):
        raise DataError(missing_piece(table))
    try:
        frame = nw.from_native(obj)
    except TypeError as exc:
        raise DataError(
            f"{table}: expected a dataframe (pandas, Polars, PyArrow, DuckDB or PySpark), "
            f"got {type(obj).__name__}"
        ) from exc
    missing = [col for col in required if col not in frame.columns]
    optional = [col for col in missing if (table, col) in OPTIONAL_COLUMNS]
    if optional and len(optional) == len(missing):
        raise DataError(f"{missing_piece(table, optional)}; columns present: {list(frame.columns)}")
    if missing:
        raise DataError(
            f"{table}: missing required column(s) {missing}; columns present: {list(frame.columns)}; "
            f"{CHECK_HINT}"
        )
    return frame


def require_rows(obj: Any, table: str) -> None:
    """A :class:`DataError` saying what is missing and what it would show when ``table`` is
    None or an eager frame without rows (a lazy one is not counted: that would run a query)."""
    if obj is None:
        raise DataError(missing_piece(table))
    try:
        frame = nw.from_native(obj)
    except TypeError:
        return  # from_native names the type
    if not isinstance(frame, nw.LazyFrame) and len(frame) == 0:
        raise DataError(missing_piece(table))


def is_lazy(frame: nw.DataFrame | nw.LazyFrame) -> bool:
    """True for a Narwhals LazyFrame (Polars lazy, DuckDB, PySpark)."""
    return isinstance(frame, nw.LazyFrame)


def collect(frame: nw.DataFrame | nw.LazyFrame) -> nw.DataFrame:
    """The frame computed (a no-op for an eager frame)."""
    return frame.collect() if is_lazy(frame) else frame


def lazy(frame):
    """The frame as a Narwhals LazyFrame (eager Polars goes lazy: its optimiser then fuses the
    steps instead of materialising every intermediate column). None stays None."""
    if frame is None or is_lazy(frame):
        return frame
    return frame.lazy()


def lazy_polars(frame):
    """An eager Polars frame as a lazy one (the optimiser then fuses the steps instead of
    materialising every intermediate column of millions of rows, about twice as fast); every
    other frame, and None, as it is (their eager plans are what those computations expect)."""
    if frame is not None and not is_lazy(frame) and frame.implementation.is_polars():
        return frame.lazy()
    return frame


def to_pandas(frame) -> pd.DataFrame:
    """Any frame (native or Narwhals, eager or lazy) as a pandas DataFrame; pandas as it is."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if not isinstance(frame, (nw.DataFrame, nw.LazyFrame)):
        frame = nw.from_native(frame)
    return collect(frame).to_pandas()


def latest_timestamp(frame: nw.DataFrame | nw.LazyFrame, columns: Iterable[str]) -> pd.Timestamp:
    """The latest value over ``columns``: the default ``as_of`` when the caller gives none."""
    maxima = [nw.col(c).max() for c in columns]
    # a lone column skips max_horizontal: on Spark it becomes greatest(), which wants two or more
    latest = maxima[0] if len(maxima) == 1 else nw.max_horizontal(*maxima)
    return pd.Timestamp(collect(frame.select(latest)).row(0)[0])


def hand_off(
    tables: Mapping[str, Any],
    columns: Mapping[str, Sequence[str]],
    *,
    min_rows: int | None = None,
) -> dict[str, Any]:
    """Large pandas inputs as Polars LazyFrames, for the heavy work (same numbers, faster).

    The tables are handed over together or not at all: when every one given is a pandas frame,
    holds its ``columns`` and the largest has at least :data:`HANDOFF_ROWS` rows, and Polars is
    installed. Only the ``columns`` a computation reads are converted (a leads table may carry
    names, e-mails and notes nobody asked for), through Arrow so that numbers and timestamps are
    shared rather than copied; :data:`CODED_COLUMNS` go as dictionary codes. Otherwise the
    tables come back as they are (a missing column is then reported from the caller's own
    frame, with all its columns named).

    Parameters
    ----------
    tables : mapping of name to frame or None
        The caller's inputs (None: a table not used this time).
    columns : mapping of name to column names
        The columns each table must hand over.
    min_rows : int, optional
        The size from which to hand off (default :data:`HANDOFF_ROWS`). Only a computation whose
        plan is slow on pandas at any size (many small joins, as the commission walk up the
        sponsor chains) passes 0.

    Returns
    -------
    dict
        The same keys, with Polars LazyFrames in place of the pandas frames when handed off.
    """
    given = {name: frame for name, frame in tables.items() if frame is not None}
    if not given or not all(isinstance(frame, pd.DataFrame) for frame in given.values()):
        return dict(tables)
    if max(len(frame) for frame in given.values()) < (
        HANDOFF_ROWS if min_rows is None else min_rows
    ):
        return dict(tables)
    wanted = {name: list(dict.fromkeys(columns[name])) for name in given}
    if any(c not in given[name].columns for name, cols in wanted.items() for c in cols):
        return dict(tables)
    try:
        import polars as pl
    except ImportError:
        return dict(tables)
    import pyarrow as pa
    import pyarrow.compute as pc

    out = dict(tables)
    for name, frame in given.items():
        table = pa.Table.from_pandas(frame[wanted[name]], preserve_index=False)
        for i, field in enumerate(table.schema):
            if pa.types.is_null(field.type):  # an empty or all-missing object column
                kind = _contract_arrow_type(name, field.name)
                table = table.set_column(i, field.name, table.column(i).cast(kind))
        for col in CODED_COLUMNS:
            if col in table.column_names:
                kind = table.schema.field(col).type
                if pa.types.is_string(kind) or pa.types.is_large_string(kind):
                    i = table.schema.get_field_index(col)
                    table = table.set_column(i, col, pc.dictionary_encode(table.column(col)))
        out[name] = pl.from_arrow(table).lazy()
    return out


def _contract_arrow_type(table: str, column: str):
    """The Arrow type the contract gives ``table.column`` (text for names it does not know)."""
    import pyarrow as pa

    spec = TABLES.get(table)
    kinds = {c.name: c.kind for c in spec.columns} if spec is not None else {}
    by_kind = {"number": pa.float64(), "datetime": pa.timestamp("us"), "bool": pa.bool_()}
    return by_kind.get(kinds.get(column), pa.string())


def typed_if_empty(frame: nw.DataFrame | nw.LazyFrame, table: str):
    """An eager frame without rows with its columns of the contract's types: a header-only
    export reads as untyped (text, object or null) columns, which hold nothing to judge, so
    they take the type they would hold (timestamps, numbers, flags; text for ids). Any other
    frame as it is (a lazy one is not counted: that would run a query)."""
    if is_lazy(frame) or len(frame) or table not in TABLES:
        return frame
    by_kind = {"number": nw.Float64, "datetime": nw.Datetime("us"), "bool": nw.Boolean}
    schema = frame.collect_schema()
    casts = []
    for col in TABLES[table].columns:
        dtype = schema.get(col.name)
        if dtype is None:
            continue
        want = by_kind.get(col.kind, nw.String)
        if col.kind == "datetime":
            fits = isinstance(dtype, nw.Datetime) or dtype == nw.Date
        elif col.kind == "number":
            fits = dtype.is_numeric()
        else:
            fits = dtype == want or (want == nw.String and dtype != nw.Unknown)
        if not fits:
            casts.append(nw.col(col.name).cast(want))
    return frame.with_columns(*casts) if casts else frame


def materialize(frame: nw.LazyFrame) -> nw.LazyFrame:
    """Run a lazy query once and keep its (small) result, for a plan that reads it twice.

    Polars' common sub-plan elimination does not always see a shared sub-plan and DuckDB has
    none for relations: without this, each reader recomputes the shared part.
    pandas and PyArrow compute eagerly anyway.
    """
    impl, native = frame.implementation, frame.to_native()
    if impl.is_polars():
        return nw.from_native(native.collect().lazy())
    if impl.is_duckdb():
        return nw.from_native(native.materialize())
    if impl.is_pyspark() and hasattr(native, "localCheckpoint"):
        return nw.from_native(native.localCheckpoint())
    return frame


def in_memory(native) -> bool:
    """True for a Polars LazyFrame that only reads a DataFrame in memory (``df.lazy()``)."""
    plan = native.explain(optimized=False).strip()
    return plan.startswith("DF [") and "\n" not in plan


def to_kind(table: pd.DataFrame, like: nw.DataFrame | nw.LazyFrame) -> Any:
    """A small pandas ``table`` (a computed result) as a native frame of the same kind as ``like``.

    pandas, Polars, PyArrow stay eager; a lazy ``like`` (Polars LazyFrame, DuckDB relation,
    PySpark DataFrame) gives a lazy result of the same library (a Spark result lives in the
    input's own session).
    """
    impl = like.implementation
    if impl.is_pandas():
        return table
    import pyarrow as pa

    arrow = nw.from_native(pa.Table.from_pandas(table, preserve_index=False), eager_only=True)
    if not is_lazy(like):
        if impl.is_pyarrow():
            return arrow.to_native()
        return nw.from_arrow(arrow.to_native(), backend=impl).to_native()
    session = like.to_native().sparkSession if impl.is_spark_like() else None
    return arrow.lazy(backend=impl, session=session).to_native()
