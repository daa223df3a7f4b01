"""What the tests share besides fixtures: the repository's paths, and one frame on every engine.

Test modules import these as ``from tests.support import ...`` (fixtures stay in conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import narwhals as nw
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"  # outside tools' numbers, each with where it came from
NOTEBOOKS = ROOT / "notebooks"

ENGINES = ("pandas", "polars", "polars_lazy", "pyarrow", "duckdb")


def to_engine(frame: pd.DataFrame, engine: str):
    """``frame`` as a native frame of ``engine`` (the kinds the Narwhals computations accept)."""
    if engine == "pandas":
        return frame.copy()
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if engine == "pyarrow":
        return table
    if engine in ("polars", "polars_lazy"):
        import polars as pl

        out = pl.from_arrow(table)
        return out.lazy() if engine == "polars_lazy" else out
    if engine == "duckdb":
        import duckdb

        return duckdb.from_arrow(table)
    raise ValueError(engine)


def to_pandas(native) -> pd.DataFrame:
    """Any native result (eager or lazy) as a pandas frame, for comparing numbers across engines."""
    frame = nw.from_native(native)
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect()
    return frame.to_pandas()
