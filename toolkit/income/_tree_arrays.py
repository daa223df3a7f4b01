"""The numpy route of the income computations, part one: the genealogy and the orders as arrays.

For Polars inputs (eager or lazy; pandas tables are handed to Polars first, see
:func:`toolkit.income._engine.handoff`) the commission engine does not walk volume up the
sponsor chains one join per level. Member ids are encoded once to integer codes (in the order
Polars sorts them, so that the result comes out sorted without a sort), the sponsors become a
``parent`` array, and the orders become dense ``members x periods`` matrices of volume and
amount (``np.bincount`` on ``code * n_periods + period``). :mod:`toolkit.income._array_payouts`
then computes every component on those matrices, one vectorised step per tree level or plan
level, and hands the rows back as a Polars frame; :func:`toolkit.income._engine.to_result`
turns it into the caller's kind. DuckDB, PySpark, PyArrow and time-zone-aware timestamps keep
the Narwhals route (:mod:`toolkit.income.commissions`); both give the same rows
(tests/income/test_income_routes.py).

This module holds the encoding: :func:`covers` (which inputs take the route), :func:`encode`
(the checked :class:`Tree`, raising the same :class:`DataError` messages as the Narwhals
route) and the period codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.schema import CUSTOMER_ROLES, EXAMPLES_SHOWN, DataError

# False sends every computation the Narwhals route (the tests compare the two routes this way)
ENABLED = True
# a period code that compares after every real one (a missing joined_at never qualifies, a
# missing left_at never leaves)
NEVER = np.iinfo(np.int64).max


def _is_polars(frame) -> bool:
    return type(frame).__module__.split(".")[0] == "polars" and type(frame).__name__ in (
        "DataFrame",
        "LazyFrame",
    )


def covers(data, ranks=None) -> bool:
    """True when the numpy route serves these inputs: members, orders (and ``ranks``) as Polars
    frames with the required columns, naive ``Datetime`` timestamps and numeric amounts."""
    frames = [data.members, data.orders] + ([] if ranks is None else [ranks])
    if not ENABLED or not all(_is_polars(f) for f in frames):
        return False
    import polars as pl

    def naive(dtype, null_ok=False):
        if null_ok and dtype == pl.Null:
            return True
        return isinstance(dtype, pl.Datetime) and dtype.time_zone is None

    members = data.members.collect_schema()
    orders = data.orders.collect_schema()
    need_m = ("member_id", "sponsor_id", "joined_at", "role", "left_at")
    need_o = ("member_id", "ordered_at", "amount", "volume")
    if any(c not in members for c in need_m) or any(c not in orders for c in need_o):
        return False  # the Narwhals route names what is missing
    if not (naive(members["joined_at"]) and naive(members["left_at"], null_ok=True)):
        return False
    if not naive(orders["ordered_at"]):
        return False
    if not all(orders[c].is_numeric() for c in ("amount", "volume")):
        return False
    if members["role"] not in (pl.String, pl.Categorical, pl.Enum, pl.Null):
        return False
    return orders["member_id"] == members["member_id"]


def period_code(expr, period: str):
    """A Polars expression: the calendar period of a timestamp as an integer (months, quarters
    or years since year 0), so that periods compare and index as integers."""
    import polars as pl

    year = expr.dt.year().cast(pl.Int64)
    if period == "Y":
        return year
    month = expr.dt.month().cast(pl.Int64) - 1
    return year * 4 + month // 3 if period == "Q" else year * 12 + month


def period_starts(codes: np.ndarray, period: str, dtype):
    """The first instant of each period code, as a Polars Series of ``dtype``."""
    import polars as pl

    codes = np.asarray(codes, dtype=np.int64)
    per_year = {"Y": 1, "Q": 4, "M": 12}[period]
    months_per = 12 // per_year
    year, rest = codes // per_year, codes % per_year
    frame = pl.DataFrame({"y": year, "m": rest * months_per + 1})
    stamps = frame.select(pl.datetime(pl.col("y"), pl.col("m"), 1).cast(dtype)).to_series()
    return stamps.alias("period")


@dataclass
class Tree:
    """The checked genealogy and orders as arrays, members in code order (ids sorted).

    ``ids``: the member ids (Polars Series, sorted; code ``i`` is ``ids[i]``); ``parent``: the
    sponsor's code (-1 at a root); ``levels``: the codes on each level, root first, children of
    one sponsor next to each other; ``participant``, ``customer``, ``retail``: by role;
    ``joined``, ``left``: period codes (:data:`NEVER` when missing); ``periods``: the period
    codes that have orders (the columns of every matrix), ``starts`` their first instants;
    ``volume``, ``amount``, ``fast``: per member and period, the buyer's volume, retail
    customers' amount and fast-start volume (``n x n_periods``; the last two only when the
    plan pays on them); ``members``, ``orders``: the collected Polars frames (original row
    order), ``key`` each order's cell (``code * n_periods + period``), ``depth`` the deepest
    level and ``level`` each member's level in the members table's row order.
    """

    ids: object
    parent: np.ndarray
    levels: list
    participant: np.ndarray
    customer: np.ndarray
    retail: np.ndarray
    joined: np.ndarray
    left: np.ndarray
    periods: np.ndarray
    starts: object
    volume: np.ndarray
    amount: np.ndarray
    fast: np.ndarray | None
    members: object
    orders: object
    key: np.ndarray
    depth: int
    level: np.ndarray

    @property
    def n(self) -> int:
        return len(self.parent)


def _first(frame, cols) -> str:
    rows = frame.select(cols).head(EXAMPLES_SHOWN).rows()
    if len(cols) == 1:
        return ", ".join(str(r[0]) for r in rows)
    return "; ".join(", ".join(f"{c}={v}" for c, v in zip(cols, r, strict=True)) for r in rows)


def _collect(frame, cols):
    import polars as pl

    frame = frame.select(cols)
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _levels(parent: np.ndarray) -> tuple[list, np.ndarray]:
    """Codes by level from the roots down (children of one sponsor together), and each code's
    level (-1: never reached from a root, i.e. on a sponsor cycle)."""
    n = len(parent)
    kids = np.argsort(parent, kind="stable")
    n_roots = int((parent < 0).sum())
    roots, kids = kids[:n_roots], kids[n_roots:]
    counts = np.bincount(parent[kids], minlength=n) if len(kids) else np.zeros(n, np.int64)
    first = np.cumsum(counts) - counts  # where each member's children start in ``kids``
    level = np.full(n, -1, dtype=np.int64)
    levels, frontier, d = [], roots, 0
    while frontier.size:
        level[frontier] = d
        levels.append(frontier)
        cnt = counts[frontier]
        total = int(cnt.sum())
        if not total:
            break
        # the children of every frontier member, as one gather of their ranges in ``kids``
        offsets = np.cumsum(cnt) - cnt
        idx = np.repeat(first[frontier] - offsets, cnt) + np.arange(total)
        frontier, d = kids[idx], d + 1
    return levels, level


def encode(data, plan, period: str) -> Tree | None:
    """The genealogy and orders of ``data`` (Polars, :func:`covers`) as a :class:`Tree`.

    None when the members table has missing or repeated ids (the Narwhals route then decides
    what they mean). Raises the Narwhals route's :class:`DataError` for unknown sponsors,
    sponsor cycles and orders of unknown members.
    """
    import polars as pl

    cols = ["member_id", "sponsor_id", "joined_at", "role", "left_at"]
    m = _collect(data.members, cols)
    id_dtype = m.schema["member_id"]
    if m["member_id"].null_count() or m["member_id"].n_unique() != m.height:
        return None
    sponsor = pl.col("sponsor_id")
    if m.schema["sponsor_id"] == pl.String:
        sponsor = pl.when(sponsor.str.strip_chars() == "").then(None).otherwise(sponsor)
    if m.schema["sponsor_id"] != id_dtype:
        sponsor = sponsor.cast(id_dtype)
    m = m.with_columns(sponsor.alias("_up"))
    n = m.height
    order = m["member_id"].arg_sort().to_numpy()
    code_of_row = np.empty(n, dtype=np.int64)
    code_of_row[order] = np.arange(n)
    codes = pl.DataFrame({"_up": m["member_id"], "_code": code_of_row})
    up = m.select("_up").join(codes, on="_up", how="left", maintain_order="left")
    up_code = up["_code"].fill_null(-1).to_numpy()
    unknown = m.filter(pl.col("_up").is_not_null() & pl.Series(up_code < 0))
    if unknown.height:
        raise DataError(
            f"members.sponsor_id: {unknown.height:,} rows referring to sponsors not in the "
            f"members table (first member_id: {_first(unknown, ['member_id'])}); add the "
            "sponsors or leave sponsor_id empty for a root"
        )
    parent = np.full(n, -1, dtype=np.int64)
    parent[code_of_row] = up_code
    levels, level = _levels(parent)
    stuck = level[code_of_row] < 0
    if stuck.any():
        raise DataError(
            f"members.sponsor_id: {int(stuck.sum()):,} rows in a sponsor cycle (the chain of "
            f"sponsors loops back) (first member_id: {_first(m.filter(pl.Series(stuck)), ['member_id'])})"
        )

    def by_code(values: np.ndarray) -> np.ndarray:
        out = np.empty_like(values)
        out[code_of_row] = values
        return out

    role = m["role"].cast(pl.String)
    flags = m.select(
        (role != "retail_customer").fill_null(False).alias("p"),
        role.is_in(list(CUSTOMER_ROLES)).fill_null(False).alias("c"),
        (role == "retail_customer").fill_null(False).alias("r"),
        period_code(pl.col("joined_at"), period).fill_null(NEVER).alias("jp"),
        period_code(pl.col("left_at").cast(m.schema["joined_at"]), period)
        .fill_null(NEVER)
        .alias("lp"),
    )
    participant, customer, retail, joined, left = (
        by_code(flags[c].to_numpy()) for c in ("p", "c", "r", "jp", "lp")
    )

    o_cols = ["member_id", "ordered_at", "amount", "volume"]
    o_schema = data.orders.collect_schema()
    if "order_id" in o_schema:
        o_cols.append("order_id")
    o = _collect(data.orders, o_cols)
    if o["ordered_at"].null_count():
        return None  # an order without a time has no period: the Narwhals route decides
    # the codes by one join on the ids; the other columns without it (a join carrying them all
    # costs three times as much on 20M orders)
    who = o.select("member_id").join(
        codes.rename({"_up": "member_id"}), on="member_id", how="left", maintain_order="left"
    )["_code"]
    if who.null_count():
        lost = o.filter(who.is_null())
        id_col = "order_id" if "order_id" in o.columns else "member_id"
        raise DataError(
            f"orders.member_id: {lost.height:,} rows referring to members not in the members "
            f"table (first {id_col}: {_first(lost, [id_col])})"
        )
    who = who.to_numpy()
    t = o.select(period_code(pl.col("ordered_at"), period)).to_series().to_numpy()
    if len(t):
        low = int(t.min())
        seen = np.bincount(t - low) > 0
        periods = np.flatnonzero(seen) + low
        col = (np.cumsum(seen) - 1)[t - low]
    else:
        periods, col = np.zeros(0, np.int64), t
    n_per = len(periods)
    key = who * n_per + col

    def cells(weights, rows=None) -> np.ndarray:
        keys = key if rows is None else key[rows]
        out = np.bincount(keys, weights=weights, minlength=n * n_per)
        return out.astype(np.float64, copy=False).reshape(n, n_per)

    volume_o = o["volume"].cast(pl.Float64).fill_null(0.0).to_numpy()
    fast = None
    if plan.fast_start:
        # within fast_start_days of joining (calendar days: naive timestamps have no DST)
        t_unit = o.schema["ordered_at"].time_unit
        unit = min((t_unit, m.schema["joined_at"].time_unit), key=["ns", "us", "ms"].index)
        at = o["ordered_at"].cast(pl.Datetime(unit)).cast(pl.Int64).to_numpy()
        start = m.select(pl.col("joined_at").cast(pl.Datetime(unit)).cast(pl.Int64))
        start = by_code(start.to_series().fill_null(np.iinfo(np.int64).min).to_numpy())
        day = {"ns": 86_400 * 10**9, "us": 86_400 * 10**6, "ms": 86_400 * 10**3}[unit]
        limit = start[who]
        ok = limit > np.iinfo(np.int64).min
        limit = np.where(ok, limit + plan.fast_start_days * day, limit)
        rows = np.flatnonzero(ok & (at < limit))  # the finer unit of the two: exact
        fast = cells(volume_o[rows], rows)
    amount = None
    if plan.retail_margin:  # retail customers' orders only
        rows = np.flatnonzero(retail[who])
        amount = cells(o["amount"].cast(pl.Float64).fill_null(0.0).to_numpy()[rows], rows)
    return Tree(
        ids=m["member_id"].gather(order),
        parent=parent,
        levels=levels,
        participant=participant,
        customer=customer,
        retail=retail,
        joined=joined,
        left=left,
        periods=periods,
        starts=period_starts(periods, period, o.schema["ordered_at"]),
        volume=cells(volume_o),
        amount=amount,
        fast=fast,
        members=m,
        orders=o,
        key=key,
        depth=len(levels) - 1,
        level=level[code_of_row],
    )
