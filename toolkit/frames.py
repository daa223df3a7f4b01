"""Engine-agnostic frame handling shared by the computations written once against Narwhals.

pandas, Polars (eager or lazy), PyArrow, DuckDB relations and PySpark DataFrames come in; the
result goes back as the same kind (a lazy input gives a lazy result).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.schema import CHECK_HINT, DataError


def from_native(obj: Any, table: str, required: Iterable[str]) -> nw.DataFrame | nw.LazyFrame:
    """Wrap ``obj`` in Narwhals and check that ``table`` has the ``required`` columns."""
    try:
        frame = nw.from_native(obj)
    except TypeError as exc:
        raise DataError(
            f"{table}: expected a dataframe (pandas, Polars, PyArrow, DuckDB or PySpark), "
            f"got {type(obj).__name__}"
        ) from exc
    missing = [col for col in required if col not in frame.columns]
    if missing:
        raise DataError(
            f"{table}: missing required column(s) {missing}; columns present: {list(frame.columns)}; "
            f"{CHECK_HINT}"
        )
    return frame


def is_lazy(frame: nw.DataFrame | nw.LazyFrame) -> bool:
    return isinstance(frame, nw.LazyFrame)


def collect(frame: nw.DataFrame | nw.LazyFrame) -> nw.DataFrame:
    return frame.collect() if is_lazy(frame) else frame


def latest_timestamp(frame: nw.DataFrame | nw.LazyFrame, columns: Iterable[str]) -> pd.Timestamp:
    """The latest value over ``columns``: the default ``as_of`` when the caller gives none."""
    maxima = [nw.col(c).max() for c in columns]
    # a lone column skips max_horizontal: on Spark it becomes greatest(), which wants two or more
    latest = maxima[0] if len(maxima) == 1 else nw.max_horizontal(*maxima)
    return pd.Timestamp(collect(frame.select(latest)).row(0)[0])


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
    if isinstance(like, nw.DataFrame):
        if impl.is_pyarrow():
            return arrow.to_native()
        return nw.from_dict(arrow.to_dict(as_series=False), backend=impl).to_native()
    session = like.to_native().sparkSession if impl.is_spark_like() else None
    return arrow.lazy(backend=impl, session=session).to_native()


def parse_duration(value: Any, name: str = "window") -> pd.Timedelta:
    """A positive duration with a unit ("90D", "12h", ``pd.Timedelta``); a bare number is refused."""
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
