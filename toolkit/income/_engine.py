"""Engine plumbing the income computations share: the genealogy as Narwhals frames, periods,
and walking volume up the sponsor chains one level at a time.

Everything here runs on the engine of the input (pandas, Polars, DuckDB, PySpark): no Python
loop over members or orders, only one vectorised join per level of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import narwhals as nw
import pandas as pd
import pyarrow as pa

from toolkit.frames import collect, from_native, is_lazy
from toolkit.schema import CUSTOMER_ROLES, EXAMPLES_SHOWN, DataError

# calendar periods the money tables are cut into, and Narwhals' truncation unit for each
PERIODS = {"M": "1mo", "Q": "1q", "Y": "1y"}
MEMBER_COLUMNS = ("member_id", "sponsor_id", "joined_at", "role", "left_at")
ORDER_COLUMNS = ("member_id", "ordered_at", "amount", "volume")
# pandas inputs with at least this many rows (members, orders, leads) run on Polars internally
HANDOFF_ROWS = 1_000


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise ValueError(
            f"period must be one of 'M' (month), 'Q' (quarter), 'Y' (year); got {period!r}"
        )
    return period


def period_of(col: str, period: str) -> nw.Expr:
    """The first instant of the calendar period a timestamp falls in."""
    return nw.col(col).dt.truncate(PERIODS[period])


def materialize(frame):
    """Run a lazy query once and keep its result, so a loop of joins does not re-run its whole
    history at every step (Polars collects, DuckDB materialises, Spark checkpoints locally).

    (The funnel has the same private helper; both belong in toolkit.frames.)
    """
    if not is_lazy(frame):
        return frame
    impl, native = frame.implementation, frame.to_native()
    if impl.is_polars():
        return nw.from_native(native.collect().lazy())
    if impl.is_duckdb():
        return nw.from_native(native.materialize())
    if impl.is_pyspark() and hasattr(native, "localCheckpoint"):
        return nw.from_native(native.localCheckpoint())
    return frame


def settle(frame) -> tuple:
    """:func:`materialize` and the number of rows, in one run of the query where possible."""
    if is_lazy(frame) and frame.implementation.is_polars():
        df = frame.to_native().collect()
        return nw.from_native(df.lazy()), df.height
    frame = materialize(frame)
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


def _lazy(frame):
    # eager Polars goes lazy: the optimiser fuses steps rather than materialising each column
    if not is_lazy(frame) and frame.implementation.is_polars():
        return frame.lazy()
    return frame


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
    members, orders = _lazy(members), None if orders is None else _lazy(orders)
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
    or PyArrow handed to Polars by :func:`handoff` come back as pandas or PyArrow."""
    native = (collect(frame) if gen.eager else frame).to_native()
    if back == "pandas":
        native = native.to_pandas()
    elif back == "pyarrow":
        native = (
            native.to_arrow()
            if hasattr(native, "to_arrow")
            else pa.Table.from_pandas(native, preserve_index=False)
        )
    if isinstance(native, pd.DataFrame):  # sorted rows keep their old labels otherwise
        native = native.reset_index(drop=True)
    return native


def handoff(data, tables=("members", "orders")):
    """``data`` with the tables the money computations read on a faster engine, what to hand
    the result back as (None: as it is), and the conversion (for other frames, such as ranks).

    pandas inputs of at least ``HANDOFF_ROWS`` rows go to Polars when it is installed (the level
    by level walk is many small joins, which pandas runs slowly); PyArrow tables go to Polars,
    or to pandas without it (Arrow's joins refuse string against large_string keys).
    """
    names = [
        n for n in ("members", "orders", "leads", "role_history") if getattr(data, n) is not None
    ]
    frames = {n: getattr(data, n) for n in names}
    try:
        import polars as pl
    except ImportError:
        pl = None
    if all(isinstance(f, pd.DataFrame) for f in frames.values()):
        if pl is None or sum(len(f) for f in frames.values()) < HANDOFF_ROWS:
            return data, None, None
        convert, back = pl.from_pandas, "pandas"
    elif all(isinstance(f, pa.Table) for f in frames.values()):
        convert = pl.from_arrow if pl is not None else (lambda t: t.to_pandas())
        back = "pyarrow"
    else:
        return data, None, None

    def same(frame):
        if isinstance(frame, pd.DataFrame) and pl is not None:
            return pl.from_pandas(frame)
        return convert(frame) if isinstance(frame, pa.Table) else frame

    return replace(data, **{n: convert(f) for n, f in frames.items()}), back, same


def naive(stamp) -> pd.Timestamp:
    stamp = pd.Timestamp(stamp)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp
