"""Cheap contract checks for frames passed to a computation without :func:`toolkit.validate`.

The rules of the contract (:mod:`toolkit.schema`) that can be judged cheaply on any engine, as
Narwhals expressions of the offending rows (:func:`contract_checks`), and the check a computation
runs on its input frames (:func:`check_frame`): one aggregate query, a further one only when
something is wrong, and a pandas route that skips the engine's plan building.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from toolkit.schema import EXAMPLES_SHOWN, TABLES, DataError, problem_line

UNVALIDATED_FIX = (
    "the computations run these cheap checks on frames passed without toolkit.validate; "
    "validate(CRMData(...)) checks everything and names every problem"
)


class Check(NamedTuple):
    """One contract rule as a Narwhals expression of the offending rows (any engine)."""

    column: str
    kind: str  # "required", "vocabulary", "spaces", "minimum" or "finite"
    what: str  # how a problem line words it; "{seen}" stands for the offending values
    bad: Any  # narwhals.Expr


def contract_checks(table: str, columns, dtypes: dict) -> list[Check]:
    """The contract rules that can be checked cheaply on ``columns`` of ``table``.

    Required values present (a NaT date, an empty id), category values in the vocabulary (a
    stage ``"Customer "`` with a stray space is outside it), money and volumes finite and not
    negative. :func:`check_frame` runs them on frames passed to a computation without
    :func:`toolkit.validate`; :func:`toolkit.validate` runs the vocabulary, minimum and finite ones on the
    frames it has parsed (it judges emptiness on the raw text).
    """
    import narwhals as nw

    out = []
    for col in TABLES[table].columns:
        if col.name not in columns:
            continue
        c = nw.col(col.name)
        if not col.nullable:
            out.append(Check(col.name, "required", "empty (the column is required)", c.is_null()))
        if col.kind == "category" and col.open and dtypes[col.name] == nw.String:
            # the export's own names are welcome; "Customer " with a stray space is a typo
            what = (
                "with spaces around the value ({seen}); strip them or map them in crm_mapping.toml"
            )
            out.append(Check(col.name, "spaces", what, c != c.str.strip_chars()))
        elif col.kind == "category" and dtypes[col.name] in (nw.String, nw.Categorical):
            what = (
                f"outside the vocabulary ({{seen}}); valid values: {', '.join(col.values)}; "
                f"or map yours under [values.{col.name}] in crm_mapping.toml, such as "
                f'"Yours" = "{col.values[0]}"'
            )
            out.append(
                Check(col.name, "vocabulary", what, ~(c.is_in(list(col.values)) | c.is_null()))
            )
        if col.kind == "number" and dtypes[col.name].is_numeric():
            if col.minimum is not None:
                out.append(Check(col.name, "minimum", f"below {col.minimum:g}", c < col.minimum))
            what = "that are infinite or too large for a float"
            out.append(Check(col.name, "finite", what, c.abs() == float("inf")))
    return out


def check_frame(frame, table: str, columns):
    """Run the cheap contract checks on ``columns`` of a ``table`` frame passed without
    :func:`toolkit.validate`, and return it with timezone-aware timestamps as naive UTC.

    ``frame`` is a Narwhals frame (eager or lazy, any engine). One aggregate query counts the
    offending rows of every rule of :func:`contract_checks`, one group-by the duplicated ids of
    a table with unique ids (leads, members); only when something is wrong does a further query
    fetch the first examples.

    Raises
    ------
    DataError
        Naming the table, the column, how many rows, the first ids and offending values:
        duplicate ids (a lead counted twice as an entrant), empty required values (a NaT date),
        values outside the vocabulary, negative or infinite money; or a column of the wrong
        type (dates as text: parse them, or pass the data through :func:`toolkit.validate`).
    """
    import narwhals as nw

    spec = TABLES[table]
    schema = frame.collect_schema()
    columns = [c for c in dict.fromkeys(columns) if c in schema]
    dtypes = {name: schema[name] for name in columns}
    lines = []
    aware = []
    for col in spec.columns:
        if col.name not in dtypes:
            continue
        dtype = dtypes[col.name]
        if col.kind == "datetime":
            if not isinstance(dtype, nw.Datetime) and dtype != nw.Datetime and dtype != nw.Date:
                lines.append(
                    f"{table}.{col.name}: is {dtype}, not timestamps; parse it (pd.to_datetime) "
                    "or pass the data through toolkit.validate"
                )
            elif isinstance(dtype, nw.Datetime) and dtype.time_zone is not None:
                aware.append(col.name)
        elif col.kind == "number" and not dtype.is_numeric():
            lines.append(
                f"{table}.{col.name}: is {dtype}, not numbers; convert it (pd.to_numeric) or pass "
                "the data through toolkit.validate"
            )
    if lines:
        raise DataError("\n".join([f"The {table} frame cannot be used as it is:", *lines]), lines)
    # the contract keeps naive UTC, like as_of: convert, whatever the zone. Spark's timestamps
    # are instants shown in the session's zone, which the computations already handle as such
    if aware and not frame.implementation.is_spark_like():
        frame = frame.with_columns(
            *[nw.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None) for c in aware]
        )
    rules = contract_checks(table, columns, dtypes)
    id_col = spec.id_col if spec.id_col in schema else None
    from toolkit import fastpath

    if fastpath.ENABLED and frame.implementation.is_pandas() and isinstance(frame, nw.DataFrame):
        # plain pandas (issue 18): the same rules as array passes, without the engine's plan
        # building (8-15 ms a call on the sample); only a problem found takes the engine path
        # below, which words it, so both paths give one message
        if not _pandas_problems(frame.to_native(), spec, rules, id_col in columns and id_col):
            return frame
    counts = [check.bad.cast(nw.Int64).sum().alias(f"_rule{i}") for i, check in enumerate(rules)]
    row = _collect(frame.select(*counts)).row(0) if counts else ()
    dup_count = 0
    if spec.unique_id and id_col in columns:
        dup = (
            frame.group_by(id_col)
            .agg(nw.len().alias("_n"))
            .filter((nw.col("_n") > 1) & ~nw.col(id_col).is_null())
        )
        dup_row = _collect(dup.select(nw.col("_n").sum(), nw.len().alias("_ids"))).row(0)
        dup_count = int(dup_row[0] or 0)
        if dup_count:
            ids = _collect(dup.sort(id_col).select(id_col).head(EXAMPLES_SHOWN))[id_col].to_list()
            lines.append(
                problem_line(
                    table,
                    id_col,
                    "with a duplicate id (each would be counted again)",
                    dup_count,
                    id_col,
                    ids,
                )
            )
    shown_id = id_col or columns[0]
    for check, count in zip(rules, row, strict=True):
        if not count:
            continue
        name = check.column
        # an empty id is shown by its own column: select it once (a doubled column is a crash)
        shown = list(dict.fromkeys((shown_id, name)))
        first = _collect(frame.filter(check.bad).select(*shown).head(EXAMPLES_SHOWN))
        values = first[name].to_list()
        seen = ", ".join(map(repr, dict.fromkeys(values)))
        lines.append(
            problem_line(
                table,
                name,
                check.what.format(seen=seen),
                int(count),
                shown_id,
                first[shown_id].to_list(),
                None if check.kind in ("required", "vocabulary") else values,
            )
        )
    if lines:
        header = f"The {table} frame breaks the contract in {len(lines)} way(s):"
        raise DataError(
            "\n".join([header, *(f"- {line}" for line in lines), f"({UNVALIDATED_FIX})"]), lines
        )
    return frame


def _pandas_problems(native: pd.DataFrame, spec, rules: list[Check], id_col) -> bool:
    """Whether a pandas frame breaks a rule of :func:`contract_checks` (``rules``, evaluated
    as pandas operations: the same rows as the Narwhals expressions) or, with ``id_col`` for
    a table of unique ids, lists an id twice."""
    kinds = {col.name: col for col in spec.columns}
    for check in rules:
        values, col = native[check.column], kinds[check.column]
        if check.kind == "required":
            bad = values.isna()
        elif check.kind == "vocabulary":
            bad = ~(values.isin(list(col.values)) | values.isna())
        elif check.kind == "spaces":
            bad = values.str.strip() != values
        elif check.kind == "minimum":
            bad = values < col.minimum
        elif check.kind == "finite":
            bad = values.abs() == float("inf")
        else:  # a rule this function does not know: the engine path judges it
            return True
        if np.asarray(bad.to_numpy(dtype=bool, na_value=False)).any():
            return True
    if spec.unique_id and id_col:
        ids = native[id_col]
        return bool(ids[ids.notna()].duplicated().any())
    return False


def _collect(frame):
    import narwhals as nw

    return frame.collect() if isinstance(frame, nw.LazyFrame) else frame
