"""Fuzzing read_crm (issue 13): a broken export folder gives a CRMData or a DataError, nothing else.

Each example starts from a small valid export written by ``write_crm`` (CSV or Parquet) and
breaks it: files truncated, deleted, emptied or filled with garbage bytes, delimiters changed,
cells replaced by mixed types, bad dates, huge numbers and NA literals, rows duplicated,
columns dropped, headers renamed, a stale copy in the other format, a bad ``as_of``. Any other
exception (pandas, numpy, pyarrow, a warning turned error) fails the test. The outcome counts
are printed at the end of the module (run with ``-s`` to see them); set
``TOOLKIT_FUZZ_EXAMPLES`` for a longer run.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import toolkit

TABLE_NAMES = ("leads", "events", "members", "orders", "role_history")

CELLS = [
    "",
    " ",
    "NA",
    "null",
    "None",
    "N/A",
    "nan",
    "NaT",
    "inf",
    "-inf",
    "-1",
    "1e999",
    "99999999999999999999999999",
    "0",
    "abc",
    "True",
    "yes",
    "2025-13-45",
    "2025-02-30 10:00:00",
    "01/02/2025",
    "31/12/2024",
    "1735689600",
    "2025-01-01T00:00:00+05:00",
    "2024-12-31 23:00:00Z",
    "0001-01-01",
    "9999-12-31 23:59:59",
    "Customer ",
    "customer",
    '"',
    '"quoted, with comma"',
    "line\nbreak",
    "\x00",
    "émoji 🎉",
    "x" * 5000,
    "</script><script>alert(1)</script>",
]

# Each DataError is counted under the first of these its message contains (a coarse class).
CLASSES = [
    ("two files", "stale copy in the other format"),
    ("not a folder", "not a folder"),
    ("missing table", "missing table"),
    ("the file is empty", "empty file"),
    ("different number of fields", "ragged rows"),
    ("not UTF-8", "not UTF-8"),
    ("not a readable Parquet", "corrupt Parquet"),
    ("not a readable CSV", "unreadable CSV"),
    ("appear more than once", "duplicate column names"),
    ("not comma-separated", "wrong delimiter"),
    ("as_of=", "bad as_of"),
    ("missing required column", "missing column"),
    ("numbers, not dates", "numbers in a date column"),
    ("month/day and as day/month", "ambiguous dates"),
    ("without a UTC offset", "offsets on some rows only"),
    ("date that does not parse", "unparsable date"),
    ("infinite", "infinite number"),
    ("not numbers", "not a number"),
    ("not true/false", "not a bool"),
    ("outside the vocabulary", "outside the vocabulary"),
    ("the column is required", "required value empty"),
    ("duplicate id", "duplicate id"),
    ("below 0", "negative number"),
    ("referring to", "unknown reference"),
    ("sponsor cycle", "sponsor cycle"),
    ("before", "date order"),
    ("after as_of", "after as_of"),
]

OUTCOMES: Counter = Counter()


def classify(message: str) -> str:
    # the first problem line decides, so a message listing several problems counts once
    lines = [line for line in message.splitlines() if line.startswith("- ")] or [message]
    return next((name for key, name in CLASSES if key in lines[0]), "other DataError")


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    total = sum(OUTCOMES.values())
    print(f"\nread_crm fuzz: {total} folders generated")
    for outcome, count in OUTCOMES.most_common():
        print(f"  {count:5d}  {outcome}")


@pytest.fixture(scope="module")
def base_exports(tmp_path_factory):
    """The same small generated world written once as CSV and once as Parquet."""
    world = toolkit.generate_sample(150, months=4, seed=3)
    root = tmp_path_factory.mktemp("fuzz-base")
    return {fmt: toolkit.write_crm(world, root / fmt, format=fmt) for fmt in ("csv", "parquet")}


# ---- the ways a file is broken: (kind, table, *arguments drawn by Hypothesis)

table = st.sampled_from(TABLE_NAMES)
fraction = st.floats(0, 1)
cell = st.tuples(st.just("cell"), table, fraction, fraction, st.sampled_from(CELLS))
# cell-level changes listed three times: most folders should reach validation, not fail on read
mutation = st.one_of(
    cell,
    cell,
    cell,
    st.tuples(st.just("truncate"), table, fraction),
    st.tuples(st.just("delete"), table),
    st.tuples(st.just("empty"), table, st.sampled_from([b"", b"\n", b"  \n\t\n", b","])),
    st.tuples(st.just("garbage"), table, fraction, st.binary(min_size=1, max_size=40)),
    st.tuples(st.just("delimiter"), table, st.sampled_from([";", "\t", "|", ", "])),
    st.tuples(st.just("column"), table, fraction, st.sampled_from(CELLS)),
    st.tuples(st.just("duplicate_row"), table, fraction),
    st.tuples(st.just("drop_column"), table, fraction),
    st.tuples(st.just("rename_header"), table, fraction, st.sampled_from(["", "x", "Lead_ID "])),
    st.tuples(st.just("other_format"), table, st.booleans()),
    st.tuples(st.just("extra_field"), table, fraction),
)
as_of = st.one_of(
    st.none(), st.just("2030-01-01"), st.sampled_from(["2025-01-01", "garbage", "", pd.NaT, 0])
)


def _file(folder: Path, name: str) -> Path | None:
    return next(
        (p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()), None
    )


def _frame(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        try:
            frame.to_parquet(path, index=False)
        except ValueError:  # pandas cannot write this change (two columns renamed alike)
            pass
    else:
        frame.to_csv(path, index=False)


def apply(folder: Path, change: tuple) -> None:
    """Break ``folder`` by one ``change`` (a no-op when its file is already gone or unreadable)."""
    kind, name, *args = change
    path = _file(folder, name)
    if path is None:
        return
    raw = path.read_bytes()
    if kind == "truncate":
        path.write_bytes(raw[: int(len(raw) * args[0])])
    elif kind == "delete":
        path.unlink()
    elif kind == "empty":
        path.write_bytes(args[0])
    elif kind == "garbage":
        at = int(len(raw) * args[0])
        path.write_bytes(raw[:at] + args[1] + raw[at:])
    elif kind == "delimiter" and path.suffix == ".csv":
        path.write_bytes(raw.replace(b",", args[0].encode()))
    elif kind == "extra_field" and path.suffix == ".csv":
        lines = raw.split(b"\n")
        i = int((len(lines) - 1) * args[0])
        lines[i] += b",surplus"
        path.write_bytes(b"\n".join(lines))
    else:
        try:
            frame = _frame(path)
        except Exception:  # already broken by an earlier change: leave it broken
            return
        if kind in ("cell", "column", "duplicate_row", "drop_column", "rename_header"):
            if frame.empty or not len(frame.columns):
                return
            col = frame.columns[min(int(len(frame.columns) * args[0]), len(frame.columns) - 1)]
            if kind == "cell":
                row = min(int(len(frame) * args[1]), len(frame) - 1)
                frame[col] = frame[col].astype(object)
                frame.loc[frame.index[row], col] = args[2]
            elif kind == "column":
                frame[col] = args[1]
            elif kind == "duplicate_row":
                row = min(int(len(frame) * args[0]), len(frame) - 1)
                frame = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
            elif kind == "drop_column":
                frame = frame.drop(columns=col)
            else:
                frame = frame.rename(columns={col: args[1]})
            _write(
                frame.astype(str)
                if path.suffix == ".parquet" and kind != "duplicate_row"
                else frame,
                path,
            )
        elif kind == "other_format":
            other = path.with_suffix(".csv" if path.suffix == ".parquet" else ".parquet")
            _write(frame, other)
            if not args[0]:  # converted; otherwise the old file stays beside it (stale)
                path.unlink()


@settings(
    max_examples=int(os.environ.get("TOOLKIT_FUZZ_EXAMPLES", "300")),  # about 40 s
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fmt=st.sampled_from(["csv", "parquet"]),
    changes=st.lists(mutation, min_size=1, max_size=3),
    as_of=as_of,
)
def test_read_crm_returns_or_raises_data_error(base_exports, fmt, changes, as_of):
    with tempfile.TemporaryDirectory(prefix="fuzz-export-") as tmp:
        folder = Path(tmp) / "export"
        shutil.copytree(base_exports[fmt], folder)
        for change in changes:
            apply(folder, change)
        try:
            data = toolkit.read_crm(folder, as_of=as_of)
        except toolkit.DataError as exc:
            OUTCOMES[f"DataError: {classify(str(exc))}"] += 1
            assert str(exc).strip()
            assert not re.search(r"Traceback|pandas\.|pyarrow\.lib", str(exc))
        else:
            OUTCOMES["returned CRMData"] += 1
            assert isinstance(data, toolkit.CRMData)
            assert data.as_of is not None and pd.notna(data.as_of)
