"""Engine plumbing the income computations share: the genealogy as Narwhals frames, periods,
and walking volume up the sponsor chains one level at a time.

Everything here runs on the engine of the input (pandas, Polars, DuckDB, PySpark): no Python
loop over members or orders, only one vectorised join per level of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import narwhals as nw
import pandas as pd

from toolkit.censoring import CALENDAR_PERIODS
from toolkit.censoring import check_period as _check_calendar_period
from toolkit.frames import (
    collect,
    from_native,
    hand_off,
    is_lazy,
    lazy_polars,
    materialize,
    to_pandas,
)
from toolkit.schema import CUSTOMER_ROLES, EXAMPLES_SHOWN, DataError

# the calendar periods the money tables are cut into (a plan pays by month, quarter or year)
MONEY_PERIODS = ("M", "Q", "Y")
# pandas tables of any size go to Polars (see handoff); the tests raise it to run the pandas path
WALK_HANDOFF_ROWS = 0
MEMBER_COLUMNS = ("member_id", "sponsor_id", "joined_at", "role", "left_at")
ORDER_COLUMNS = ("member_id", "ordered_at", "amount", "volume")
# the columns each table hands over to Polars (toolkit.frames.hand_off converts only these)
READ_COLUMNS = {
    "members": MEMBER_COLUMNS,
    "orders": ORDER_COLUMNS,
    "leads": ("cost", "owner_id", "created_at"),
    "role_history": ("member_id", "role", "from_at"),
    "ranks": ("member_id", "period", "rank"),
}


def check_period(period: str) -> str:
    """``period`` checked against the money periods (a ValueError listing them)."""
    return _check_calendar_period(period, MONEY_PERIODS).code


def period_of(col: str, period: str) -> nw.Expr:
    """The first instant of the calendar period a timestamp falls in."""
    return nw.col(col).dt.truncate(CALENDAR_PERIODS[period].every)


def settle(frame) -> tuple:
    """:func:`materialize` and the number of rows, in one run of the query where possible."""
    if is_lazy(frame) and frame.implementation.is_polars():
        df = frame.to_native().collect()
        return nw.from_native(df.lazy()), df.height
    frame = materialize(frame) if is_lazy(frame) else frame
    return frame, count(frame)


def count(frame) -> int:
    return int(collect(frame.select(nw.len())).item())


def pick(index: nw.Expr, values, default=None) -> nw.Expr:
    """``values[index]`` as an expression (nested when/then: every engine has it)."""
    out = nw.lit(default)
    for i in range(len(values) - 1, -1, -1):
        out = nw.when(index == i).then(nw.lit(values[i])).otherwise(out)
    return out


def first_ids(frame, cols) -> str:
    rows = collect(frame.select(*cols).head(EXAMPLES_SHOWN)).rows()
    if len(cols) == 1:
        return ", ".join(str(r[0]) for r in rows)
    return "; ".join(", ".join(f"{c}={v}" for c, v in zip(cols, r, strict=True)) for r in rows)


@dataclass
class Genealogy:
    """The members as the walks need them, checked.

    ``members``: member_id, ``_up`` (sponsor, null at a root), role, ``_participant`` (not a
    retail customer), ``_customer`` (retail or preferred customer), ``_retail``, joined_at,
    ``_level`` (0 at a root). ``depth``: the deepest level. ``orders``: the orders table wrapped.
    ``eager``: whether the input was eager (results are then returned eager too);
    ``id_dtype``: the dtype of ``member_id``.
    """

    members: object
    orders: object
    depth: int
    eager: bool
    id_dtype: object


def genealogy(data, *, need_orders: bool = True) -> Genealogy:
    """Wrap ``data.members`` and ``data.orders`` and check the sponsor chains.

    Raises
    ------
    DataError
        A missing column, sponsors not in the members table, members in a sponsor cycle, orders
        for unknown members, tables of different kinds.
    """
    members = from_native(data.members, "members", MEMBER_COLUMNS)
    orders = from_native(data.orders, "orders", ORDER_COLUMNS) if need_orders else None
    if orders is not None and orders.implementation != members.implementation:
        raise DataError(
            f"members and orders are different kinds of frame ({members.implementation} and "
            f"{orders.implementation}); pass both from the same library"
        )
    eager = not is_lazy(members)
    members, orders = lazy_polars(members), lazy_polars(orders)
    schema = members.collect_schema()
    sponsor = nw.col("sponsor_id")
    if schema["sponsor_id"] == nw.String:
        sponsor = nw.when(sponsor.str.strip_chars() == "").then(nw.lit(None)).otherwise(sponsor)
    m = members.select(
        nw.col("member_id"),
        (
            sponsor
            if schema["sponsor_id"] == schema["member_id"]
            else sponsor.cast(schema["member_id"])
        ).alias("_up"),
        nw.col("role"),
        (nw.col("role") != "retail_customer").alias("_participant"),
        nw.col("role").is_in(list(CUSTOMER_ROLES)).alias("_customer"),
        (nw.col("role") == "retail_customer").alias("_retail"),
        nw.col("joined_at"),
        nw.col("left_at"),
    )
    ids = m.select(nw.col("member_id").alias("_up"))
    unknown = m.filter(~nw.col("_up").is_null()).join(ids, on="_up", how="anti")
    if count(unknown):
        raise DataError(
            f"members.sponsor_id: {count(unknown):,} rows referring to sponsors not in the members "
            f"table (first member_id: {first_ids(unknown, ['member_id'])}); add the sponsors or "
            "leave sponsor_id empty for a root"
        )
    # levels, root first: one join per level; whoever is never reached sits on a sponsor cycle
    frontier = m.filter(nw.col("_up").is_null()).select("member_id", nw.lit(0).alias("_level"))
    frontier = materialize(frontier)
    levels, depth = [frontier], 0
    while True:
        nxt = m.join(
            frontier.select(nw.col("member_id").alias("_up"), nw.col("_level")), on="_up"
        ).select("member_id", (nw.col("_level") + 1).alias("_level"))
        nxt = materialize(nxt)
        if not count(nxt):
            break
        levels.append(nxt)
        frontier, depth = nxt, depth + 1
    level = materialize(nw.concat(levels, how="vertical"))
    total = count(m)
    if count(level) < total:
        stuck = m.join(level, on="member_id", how="anti")
        raise DataError(
            f"members.sponsor_id: {total - count(level):,} rows in a sponsor cycle (the chain of "
            f"sponsors loops back) (first member_id: {first_ids(stuck, ['member_id'])})"
        )
    m = materialize(m.join(level, on="member_id", how="left"))
    if orders is not None:
        lost = orders.join(m.select("member_id"), on="member_id", how="anti")
        if count(lost):
            id_col = "order_id" if "order_id" in orders.columns else "member_id"
            raise DataError(
                f"orders.member_id: {count(lost):,} rows referring to members not in the members "
                f"table (first {id_col}: {first_ids(lost, [id_col])})"
            )
    return Genealogy(m, orders, depth, eager, schema["member_id"])


def to_result(frame, gen: Genealogy, back: str | None = None):
    """A Narwhals result as the caller's kind: eager in, eager out; lazy in, lazy out; pandas
    tables handed to Polars by :func:`handoff` (``back="pandas"``) come back as pandas."""
    if back == "pandas":
        # sorted rows keep their old labels otherwise
        return to_pandas(frame).reset_index(drop=True)
    native = (collect(frame) if gen.eager else frame).to_native()
    if isinstance(native, pd.DataFrame):
        native = native.reset_index(drop=True)
    return native


def handoff(data, tables=("members", "orders"), **extra):
    """``data`` with its pandas tables on Polars (:func:`toolkit.frames.hand_off`, only the
    columns the money computations read), what to hand the results back as (``"pandas"``, or
    None: as they are), and the ``extra`` frames (such as ``ranks``) handed along with them, so
    that every frame of one computation is of one kind.

    Pandas tables of any size are handed off: the walk up the sponsor chains is many small
    joins, which pandas runs about ten times slower than Polars even on the sample (5.9 s
    against 0.6 s for the breakaway plan).
    """
    frames = {n: getattr(data, n) for n in tables}
    frames |= extra
    columns = {}
    for name, frame in frames.items():
        wanted = list(READ_COLUMNS[name])
        # the first order_id names a bad order in an error message; hand it over when present
        if name == "orders" and isinstance(frame, pd.DataFrame) and "order_id" in frame.columns:
            wanted.append("order_id")
        columns[name] = wanted
    handed = hand_off(frames, columns, min_rows=WALK_HANDOFF_ROWS)
    if all(handed[n] is frames[n] for n in frames):
        return data, None, extra
    moved = {n: handed[n] for n in tables if getattr(data, n) is not None}
    return replace(data, **moved), "pandas", {n: handed[n] for n in extra}


def naive(stamp) -> pd.Timestamp:
    stamp = pd.Timestamp(stamp)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp
