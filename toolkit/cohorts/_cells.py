"""The engine plan behind every cohort computation: inputs wrapped and checked against the
contract (``as_of`` settled), members numbered into period cohorts, and orders aggregated to
(cohort, period) cells by the input's own engine.

The heavy work (joining orders to members and aggregating) is written once against Narwhals, so
pandas, Polars, PyArrow, DuckDB and PySpark inputs give the same numbers; only the small
aggregate comes back to pandas.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.censoring import (
    ORDINAL_PERIODS,
    check_period,
    naive_utc,
    period_ordinal,
    period_ordinals,
)
from toolkit.checks import check_frame
from toolkit.frames import collect, from_native, lazy_polars, typed_if_empty
from toolkit.schema import EXAMPLES_SHOWN, Problems


def _check_period(period: str) -> str:
    return check_period(period, ORDINAL_PERIODS).code


def _as_list(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _flag(condition: nw.Expr) -> nw.Expr:
    """1 where ``condition`` holds, 0 elsewhere (also where it is null), for summing."""
    return nw.when(condition).then(nw.lit(1)).otherwise(nw.lit(0))


def _problem_line(
    frame, mask: nw.Expr, table: str, column: str, what: str, id_col: str
) -> str | None:
    """One line in the style of :func:`toolkit.validate`: count of rows and the first ids."""
    bad = frame.filter(mask)
    count = collect(bad.select(nw.len())).item()
    if not count:
        return None
    ids = collect(bad.select(id_col).head(EXAMPLES_SHOWN)).get_column(id_col).to_list()
    noun = "row" if count == 1 else "rows"
    return f"{table}.{column}: {count:,} {noun} {what} (first {id_col}: {', '.join(map(str, ids))})"


def _plain_pandas(frame) -> pd.DataFrame | None:
    """The pandas frame under a Narwhals one when the numpy route serves it (issue 18: the
    cohort calls on plain pandas skip the engine's plan building), None otherwise."""
    from toolkit import fastpath

    if (
        fastpath.ENABLED
        and isinstance(frame, nw.DataFrame)
        and frame.implementation.is_pandas()
        and len(frame) <= fastpath.MAX_ROWS
    ):
        return frame.to_native()
    return None


def _ordinals(stamps: pd.Series, period: str) -> np.ndarray:
    """:func:`toolkit.censoring.period_ordinals` as floats, NaN for a missing timestamp (as
    :func:`period_ordinal` gives null)."""
    out = np.full(len(stamps), np.nan)
    known = stamps.notna().to_numpy()
    if known.any():
        out[known] = period_ordinals(stamps[known], period)
    return out


def _latest(frames: list[tuple[nw.DataFrame | nw.LazyFrame, list[str]]]) -> pd.Timestamp | None:
    latest = []
    for frame, cols in frames:
        native = _plain_pandas(frame)
        if native is not None:
            row = [native[c].max() for c in cols]
        else:
            row = collect(frame.select(*[nw.col(c).max() for c in cols])).row(0)
        latest += [naive_utc(pd.Timestamp(v)) for v in row if v is not None and pd.notna(v)]
    return max(latest) if latest else None


def _prepare(members, orders, by, period, as_of, order_cols):
    """Wrap the inputs, settle ``as_of``, and check members (and orders) against the contract."""
    member_cols = ["member_id", "joined_at", "left_at", *by]
    # a header-only table (untyped columns) reads as the empty table it is
    members_nw = typed_if_empty(from_native(members, "members", member_cols), "members")
    # frames passed without validate: no member twice, no NaT joining date (a cohort in year
    # -1), no negative or infinite money; timezone-aware times as naive UTC
    members_nw = check_frame(members_nw, "members", member_cols)
    orders_nw = None
    if orders is not None:
        order_cols = ["member_id", "ordered_at", *order_cols]
        orders_nw = typed_if_empty(from_native(orders, "orders", order_cols), "orders")
        orders_nw = check_frame(orders_nw, "orders", order_cols)
    # one pass over members gives the latest timestamps and whether any left before joining
    native = _plain_pandas(members_nw)
    if native is not None:
        joined, left = native["joined_at"], native["left_at"]
        row = (joined.max(), left.max(), int((left < joined).sum()))
    else:
        row = collect(
            members_nw.select(
                nw.col("joined_at").max(),
                nw.col("left_at").max(),
                _flag(nw.col("left_at") < nw.col("joined_at")).sum().alias("_bad"),
            )
        ).row(0)
    latest = _latest([(orders_nw, ["ordered_at"])] if orders_nw is not None else [])
    stamps = [naive_utc(pd.Timestamp(v)) for v in row[:2] if v is not None and pd.notna(v)]
    if latest is not None:
        stamps.append(latest)
    latest = max(stamps) if stamps else None
    problems = Problems()
    if as_of is None:
        as_of = latest
    else:
        as_of = naive_utc(pd.Timestamp(as_of))
        if latest is not None and latest > as_of:
            lit = nw.lit(as_of.to_pydatetime())
            for frame, cols, table, id_col in (
                (members_nw, ["joined_at", "left_at"], "members", "member_id"),
                (
                    orders_nw,
                    ["ordered_at"],
                    "orders",
                    "order_id"
                    if orders_nw is not None and "order_id" in orders_nw.columns
                    else "member_id",
                ),
            ):
                if frame is None:
                    continue
                for col in cols:
                    problems.lines.append(
                        _problem_line(
                            frame, nw.col(col) > lit, table, col, f"after as_of ({as_of})", id_col
                        )
                    )
    problems.lines = [line for line in problems.lines if line]
    if row[2]:
        problems.note(
            _problem_line(
                members_nw,
                nw.col("left_at") < nw.col("joined_at"),
                "members",
                "left_at",
                "before joined_at",
                "member_id",
            )
        )
    problems.raise_if_any()
    return lazy_polars(members_nw), lazy_polars(orders_nw), as_of


def _order_problems(members_nw, orders_nw) -> None:
    """The slow path, run only when the aggregate showed a problem: name the offending orders."""
    id_col = "order_id" if "order_id" in orders_nw.columns else "member_id"
    joined = orders_nw.join(
        members_nw.select(
            nw.col("member_id"),
            nw.col("joined_at").alias("_joined_at"),
            _flag(nw.lit(True)).alias("_known"),
        ),
        on="member_id",
        how="left",
    )
    problems = Problems()
    for mask, column, what in (
        (nw.col("_known").is_null(), "member_id", "referring to members not in the members table"),
        (nw.col("ordered_at") < nw.col("_joined_at"), "ordered_at", "before the member joined"),
    ):
        line = _problem_line(joined, mask, "orders", column, what, id_col)
        if line:
            problems.note(line)
    problems.raise_if_any()


def _member_periods(members_nw, by, period):
    """One row per member: cohort ordinal, the period they left in (relative), the by columns."""
    cohort = period_ordinal("joined_at", period)
    return members_nw.select(
        nw.col("member_id"),
        *[nw.col(c) for c in by],
        cohort.alias("_cohort"),
        (period_ordinal("left_at", period) - cohort).alias("_left_period"),
        nw.col("joined_at").alias("_joined_at"),
    )


def _order_cells(
    members_nw, orders_nw, by, period, value_col, cumulative, intervals=True, grid=None
):
    """Orders aggregated to (by, cohort, period): members ordering, value and its sum of squares.

    Orders are first summed per member and period (so counting members is counting rows), then
    joined to the members: unknown members show up as a null cohort and orders before joining as
    a count, both checked by the caller without a second pass over the orders. ``grid`` (first
    cohort, number of periods, number of members) selects the faster keyed plan of
    :func:`_keyed_cells` for the non-cumulative metrics.
    """
    value = nw.col(value_col).cast(nw.Float64) if value_col else nw.lit(1.0)
    if not cumulative and grid is not None:
        # money without intervals needs no member totals; counting members always does
        per_member = intervals or not value_col
        return _keyed_cells(members_nw, orders_nw, by, period, value, *grid, per_member)
    people = _member_periods(members_nw, by, period).select(
        "member_id", *by, "_cohort", "_joined_at"
    )
    cells = _member_totals(orders_nw, people, period, "_op", {"_x": value})
    if cumulative and cells.implementation.is_pyarrow():
        # PyArrow has no running sums per group; the joined per-member table goes through pandas
        cells = nw.from_native(cells.to_pandas())
    if cumulative:
        # running total per member; the change in its square, summed per cell and then cumulated
        # over periods, gives the sum of squared cumulative totals (for the interval) exactly
        cells = cells.with_columns(
            nw.col("_x").cum_sum().over("member_id", order_by="_op").alias("_cum"),
            _flag(nw.col("_op") == nw.col("_op").min().over("member_id")).alias("_n"),
        ).with_columns((nw.col("_cum") ** 2 - (nw.col("_cum") - nw.col("_x")) ** 2).alias("_xsq"))
    else:
        cells = cells.with_columns((nw.col("_x") ** 2).alias("_xsq"), nw.lit(1).alias("_n"))
    cells = cells.with_columns((nw.col("_op") - nw.col("_cohort")).alias("period"))
    return _sum_cells(cells, [*by, "_cohort", "period"], ["_n", "_x", "_xsq"])


def _member_totals(orders_nw, people, period, key: str, values: dict):
    """Orders summed per member and calendar period (``key``; ``values``: name to expression)
    and joined to ``people`` (``member_id``, ``_joined_at`` and what the cells are grouped by),
    so that counting members is counting rows. ``_early`` flags a total with an order before
    joining, ``_unknown`` one of a member not in ``people``: the caller checks them in the
    aggregate, without a second pass over the orders."""
    per_member = (
        orders_nw.select(
            nw.col("member_id"),
            period_ordinal("ordered_at", period).alias(key),
            *[expr.alias(name) for name, expr in values.items()],
            nw.col("ordered_at"),
        )
        .group_by("member_id", key)
        .agg(*[nw.col(name).sum() for name in values], nw.col("ordered_at").min().alias("_first"))
    )
    people = people.with_columns(_flag(nw.lit(True)).alias("_known"))
    return per_member.join(people, on="member_id", how="left").with_columns(
        _flag(nw.col("_first") < nw.col("_joined_at")).alias("_early"),
        _flag(nw.col("_known").is_null()).alias("_unknown"),
    )


def _sum_cells(cells, keys: list[str], sums: list[str]) -> pd.DataFrame:
    """``sums`` (the first a count) and the ``_early`` and ``_unknown`` flags summed per
    ``keys``, as pandas."""
    counts = [sums[0], "_early", "_unknown"]
    # sums of integer flags come back as decimals from DuckDB: cast them to plain numbers
    out = (
        cells.group_by(*keys)
        .agg(*[nw.col(c).sum() for c in [*sums, "_early", "_unknown"]])
        .with_columns(nw.col(*counts).cast(nw.Float64))
    )
    return collect(out).to_pandas()


def _member_index(members_nw):
    """Members with ``_idx``, a distinct integer per member in 0 .. rows - 1 (in any order)."""
    if members_nw.implementation.is_polars():
        # Polars numbers rows without sorting; the engine-neutral spelling sorts the ids first
        return nw.from_native(nw.to_native(members_nw).with_row_index("_idx"))
    return members_nw.with_row_index("_idx", order_by=["member_id"])


def _keyed_cells(members_nw, orders_nw, by, period, value, first, span, n_members, per_member=True):
    """Orders aggregated to (by, cohort, period) through one integer key per member and period.

    Grouping 20M orders by (member id, period) is the costly step of money intervals; grouping
    by one integer is about half the work. After the join to the members each order gets
    ``key = cell * n_members + member index``, where ``cell`` numbers (cohort, calendar period)
    within the table's rectangle: the first aggregation (by ``key``) gives every member's total
    per period, the second (by ``key // n_members``, i.e. the cell) counts those members and sums
    their totals and squared totals, all in one lazy plan with one collect. Orders before
    joining get the key ``-n_members`` (cell -1) and orders of unknown members ``-2 n_members``
    (cell -2), so the checks need no extra column. ``per_member=False`` (money without its
    interval) skips the first aggregation: the cells then sum the orders themselves.
    """
    m = max(int(n_members), 1) if per_member else 1
    width = int(span) + 1  # calendar offsets 0 .. span - 1, shifted by one (0 is never used)
    if per_member:
        people = _member_index(members_nw).with_columns(nw.col("_idx").cast(nw.Int64))
    else:
        people = members_nw.with_columns(nw.lit(0).cast(nw.Int8).alias("_idx"))
    people = people.select(
        "member_id",
        "_idx",
        *by,
        (period_ordinal("joined_at", period) - first).alias("_c"),
        nw.col("joined_at").alias("_joined_at"),
    )
    cell = nw.col("_c") * width + period_ordinal("ordered_at", period) - first + 1
    key = (
        nw.when(nw.col("_idx").is_null())
        .then(nw.lit(-2 * m))
        .otherwise(
            nw.when(nw.col("ordered_at") < nw.col("_joined_at"))
            .then(nw.lit(-m))
            .otherwise(cell * m + nw.col("_idx") if per_member else cell)
        )
    )
    totals = (
        orders_nw.select("member_id", "ordered_at", value.alias("_x"))
        .join(people, on="member_id", how="left")
        .select(*by, key.alias("_k"), "_x")
    )
    sums = [nw.len().alias("_n"), nw.col("_x").sum()]
    if per_member:
        totals = totals.group_by("_k", *by).agg(nw.col("_x").sum())
        totals = totals.with_columns((nw.col("_x") ** 2).alias("_xsq"))
        sums.append(nw.col("_xsq").sum())
    out = (
        totals.with_columns((nw.col("_k") // m).alias("_cell"))
        .group_by(*by, "_cell")
        .agg(*sums)
        .with_columns(nw.col("_n").cast(nw.Float64))
    )
    frame = collect(out).to_pandas()
    cells = frame["_cell"].to_numpy(dtype="float64")
    frame["_early"] = np.where(cells == -1, frame["_n"], 0.0)
    frame["_unknown"] = np.where(cells == -2, frame["_n"], 0.0)
    ok = cells >= 0  # a member without joined_at has no cohort, hence no cell (as before)
    c = np.where(ok, cells, 0).astype("int64") // width
    offset = np.where(ok, cells, 0).astype("int64") % width - 1
    frame["_cohort"] = np.where(ok, c + first, np.nan)
    frame["period"] = np.where(ok, offset - c, np.nan)
    if not per_member:
        frame["_n"] = frame["_xsq"] = np.nan  # counts of orders, not of members: not used
    return frame.drop(columns="_cell")
