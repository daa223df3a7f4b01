"""The customer and rep mix per period: members by role, customers per rep and who buys the
volume (:func:`member_mix`)."""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.censoring import (
    period_ordinal,
    period_ordinal_of,
    period_ordinals,
    period_start,
)
from toolkit.cohorts._cells import (
    _check_period,
    _member_totals,
    _order_problems,
    _ordinals,
    _plain_pandas,
    _prepare,
    _sum_cells,
)
from toolkit.cohorts.transitions import _role_spells
from toolkit.fastpath import is_numpy_time, positions
from toolkit.frames import collect, from_native, hand_off, to_kind
from toolkit.rates import check_alpha, z_value
from toolkit.schema import CUSTOMER_ROLES, REP_ROLES, ROLES, DataError, missing_piece

# the open ends of a member's first and last role spell, as period ordinals
_ALL_TIME = (-(2**40), 2**40)
_COLUMNS = (
    "period",
    "role",
    "group",
    "members",
    "ordering",
    "amount",
    "volume",
    "customers",
    "reps",
    "customers_per_rep",
    "paying_customers_per_rep",
    "customer_volume_share",
    "customer_volume_share_ci_lower",
    "customer_volume_share_ci_upper",
    "complete",
)
# the columns of a period, repeated on each of its rows
_PER_PERIOD = _COLUMNS[7:14]
# what an order cell holds, per role and period
_CELL_SUMS = ("ordering", "amount", "volume", "_vsq")


def member_mix(
    members, orders, *, period: str = "M", as_of=None, role_history=None, alpha: float = 0.05
):
    """Per period: members by role, the customers-to-reps ratio, and who buys the volume.

    A healthy business has more paying customers than reps, and most of its volume bought by
    customers rather than by reps for their own use.

    Parameters
    ----------
    members : dataframe (any engine)
        ``member_id``, ``joined_at``, ``left_at``, ``role`` (the member's current role).
    orders : dataframe (any engine)
        ``member_id``, ``ordered_at``, ``amount``, ``volume``. A table without rows (a
        header-only export, even one of untyped columns) counts the members, buying nothing.
    period : {"W", "M", "Q", "Y"}
    as_of : timestamp-like, optional
        Defaults to the latest timestamp in the inputs.
    role_history : dataframe (any engine), optional
        The contract's role_history table (``member_id``, ``role``, ``from_at``). With it each
        member counts, and their orders count, in the role held at the end of each period: a
        preferred customer who became a builder in June is a customer until May. Without it
        every member counts in their current role throughout, which shows past periods with
        too many reps when customers grow into builders.
    alpha : float
        Intervals at level ``1 - alpha``.

    Returns
    -------
    Same kind of frame as ``members``; one row per period and role, with columns:

    - ``period``: start of the calendar period; ``role``; ``group``: "customer" or "rep"
    - ``members``: members of that role who had joined and not left by the end of the period
      (for the period in progress: by ``as_of``)
    - ``ordering``: members of that role who ordered in the period
    - ``amount``, ``volume``: what they bought in the period
    - ``customers``, ``reps``: members per group (repeated on each row of the period)
    - ``customers_per_rep``: customers / reps (NaN without reps)
    - ``paying_customers_per_rep``: customers who ordered in the period / reps
    - ``customer_volume_share``: share of the period's volume bought by customers (the rest is
      reps' own consumption); ``customer_volume_share_ci_lower`` / ``_ci_upper``: interval from a
      normal approximation over the buying members (NaN when nobody bought)
    - ``complete``: False for the period in progress at ``as_of``
    """
    _check_period(period)
    check_alpha(alpha)
    if orders is None:
        raise DataError(missing_piece("orders"))
    like = from_native(members, "members", ["member_id"])
    frames = hand_off(
        {"members": members, "orders": orders},
        {
            "members": ["member_id", "joined_at", "left_at", "role"],
            "orders": ["member_id", "ordered_at", "amount", "volume"],
        },
    )
    members_nw, orders_nw, as_of = _prepare(
        frames["members"], frames["orders"], ["role"], period, as_of, ["amount", "volume"]
    )
    if as_of is None:
        return to_kind(_empty_mix(), like)

    now = period_ordinal_of(as_of, period)
    native, orders_native = _plain_pandas(members_nw), _plain_pandas(orders_nw)
    if native is not None and (
        orders_native is None
        or not all(is_numpy_time(native[c]) for c in ("joined_at", "left_at"))
        or not is_numpy_time(orders_native["ordered_at"])
    ):
        native = None  # the numpy route takes both tables, with numpy times, or neither
    # who counts in which role from which period (_join) until before which (_left; NaN: still)
    roles_held = None
    if role_history is not None:
        roles_held = _roles_by_period(members_nw, role_history, period)
        spans = roles_held
    elif native is not None:
        spans = pd.DataFrame(
            {
                "role": native["role"].array,
                "_join": _ordinals(native["joined_at"], period),
                "_left": _ordinals(native["left_at"], period),
            }
        )
    else:
        people = members_nw.select(
            nw.col("role"),
            period_ordinal("joined_at", period).alias("_join"),
            period_ordinal("left_at", period).alias("_left"),
        )
        spans = collect(people.group_by("role", "_join", "_left").agg(nw.len().alias("_n")))
        spans = spans.to_pandas()
    if spans.empty:
        return to_kind(_empty_mix(), like)
    present = set(spans["role"].unique())  # once: a set per role scanned the rows each time
    roles = pd.Index([r for r in ROLES if r in present] + sorted(present - set(ROLES)))
    first = int(spans["_join"].min())
    members_in = _members_by_period(spans, roles, first, now)

    # orders per member and period, then per role: members ordering, amount, volume, and the
    # per-member sums of squares the share's interval needs
    cells = None
    if native is not None:
        cells = _pandas_cells(native, orders_native, period, roles_held)
    if cells is None:  # and orders the numpy route leaves out: the engine plan counts them
        cells = _engine_cells(members_nw, orders_nw, period, role_history, roles_held)
    if cells["_unknown"].sum() or cells["_early"].sum():
        _order_problems(from_native(members, "members", []), from_native(orders, "orders", []))
    sums = _on_grid(cells, roles, first, members_in.shape)
    return to_kind(_mix_table(members_in, sums, roles, first, now, period, alpha), like)


def _members_by_period(spans: pd.DataFrame, roles: pd.Index, first: int, now: int) -> np.ndarray:
    """Members at the end of each period ``first`` .. ``now`` (rows) in each of ``roles``
    (columns): a span (``role``, ``_join``, ``_left``, ``_n`` members, 1 without) counts from its
    ``_join`` period until before its ``_left`` one (NaN: still there, or not within ``now``),
    as a running sum of where spans start and stop."""
    periods, width = now - first + 1, len(roles)
    role = _role_index(roles, spans["role"])
    start = spans["_join"].to_numpy("float64") - first
    stop = np.fmin(spans["_left"].to_numpy("float64"), now + 1) - first
    n = spans["_n"].to_numpy("float64") if "_n" in spans else np.ones(len(spans))
    ok = (stop > start) & (role >= 0)
    role, n = role[ok], n[ok]
    steps = np.bincount(
        np.concatenate([start[ok] * width + role, stop[ok] * width + role]).astype(np.int64),
        weights=np.concatenate([n, -n]),
        minlength=(periods + 1) * width,
    )
    return np.cumsum(steps.reshape(periods + 1, width)[:periods], axis=0).astype(np.int64)


def _role_index(roles: pd.Index, values: pd.Series) -> np.ndarray:
    """Each value's position in ``roles`` (-1: none), a missing one at a missing role's: a
    lookup of the few distinct roles (``get_indexer`` on every row makes Python strings)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return roles.get_indexer(uniques)[codes]


def _on_grid(cells: pd.DataFrame, roles: pd.Index, first: int, shape) -> dict:
    """The order cells' sums as arrays of ``shape`` (periods from ``first``, ``roles``), 0
    where nobody of that role ordered (cells of a missing role, or outside the periods, are
    not shown, as a left join of the grid with them leaves them out)."""
    role = _role_index(roles, cells["role"])
    p = cells["_p"].to_numpy("float64") - first
    ok = (role >= 0) & cells["role"].notna().to_numpy() & (p >= 0) & (p < shape[0])
    at = (p[ok] * shape[1] + role[ok]).astype(np.int64)
    out = {}
    for col in _CELL_SUMS:
        values = np.zeros(shape[0] * shape[1])
        values[at] = np.nan_to_num(cells[col].to_numpy("float64")[ok], nan=0.0)
        out[col] = values
    return out


def _mix_table(members_in, sums: dict, roles: pd.Index, first, now, period, alpha) -> pd.DataFrame:
    """The result: one row per period and role (periods first), the per-period columns repeated
    on each row of the period."""
    periods, width = members_in.shape
    group = np.where(
        roles.isin(CUSTOMER_ROLES), "customer", np.where(roles.isin(REP_ROLES), "rep", "other")
    )
    is_customer, is_rep = np.tile(group == "customer", periods), np.tile(group == "rep", periods)
    members_in = members_in.reshape(-1)
    ordering, volume, vsq = sums["ordering"], sums["volume"], sums["_vsq"]
    # pandas' sums over each period's rows (its compensated sums: the numbers as before)
    per_period = (
        pd.DataFrame(
            {
                "_p": np.repeat(np.arange(periods), width),
                "customers": np.where(is_customer, members_in, 0.0),
                "reps": np.where(is_rep, members_in, 0.0),
                "paying": np.where(is_customer, ordering, 0.0),
                "cust_volume": np.where(is_customer, volume, 0.0),
                "cust_vsq": np.where(is_customer, vsq, 0.0),
                "volume": volume,
                "vsq": vsq,
            }
        )
        .groupby("_p")
        .sum()
    )
    reps = per_period["reps"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        per_rep = np.where(reps > 0, reps, np.nan)
        customers_per_rep = per_period["customers"].to_numpy() / per_rep
        paying_per_rep = per_period["paying"].to_numpy() / per_rep
        share, lower, upper = _share_interval(per_period, alpha)
    ordinals = np.repeat(np.arange(first, now + 1), width)
    out = {
        "period": period_start(ordinals, period),
        "role": roles.take(np.tile(np.arange(width), periods)),
        "group": np.tile(group, periods),
        "members": members_in,
        "ordering": ordering.astype(np.int64),
        "amount": sums["amount"],
        "volume": volume,
        "customers": per_period["customers"].to_numpy().astype(np.int64),
        "reps": reps.astype(np.int64),
        "customers_per_rep": customers_per_rep,
        "paying_customers_per_rep": paying_per_rep,
        "customer_volume_share": share,
        "customer_volume_share_ci_lower": lower,
        "customer_volume_share_ci_upper": upper,
    }
    out = {name: np.repeat(v, width) if name in _PER_PERIOD else v for name, v in out.items()}
    out["complete"] = ordinals < now
    return pd.DataFrame(out)


def _engine_cells(members_nw, orders_nw, period, role_history, roles_held) -> pd.DataFrame:
    """Per role and period ``_p``: members ordering, amount, volume, the per-member sums of
    squared volume (``_vsq``), orders before joining (``_early``) and orders of unknown
    members (``_unknown``), by the input's engine."""
    people = members_nw.select(
        "member_id",
        *(["role"] if role_history is None else []),
        nw.col("joined_at").alias("_joined_at"),
    )
    money = {c: nw.col(c).cast(nw.Float64) for c in ("amount", "volume")}
    cells = _member_totals(orders_nw, people, period, "_p", money)
    if role_history is not None:
        # the role held at the end of the order's period: the spells cover all time, so each
        # known member's row meets exactly one (an unknown member's meets none and is kept)
        spells = roles_held[["member_id", "role", "_from", "_to"]]
        spells = nw.from_native(to_kind(spells, orders_nw))
        in_spell = (nw.col("_from") <= nw.col("_p")) & (nw.col("_p") < nw.col("_to"))
        cells = cells.join(spells, on="member_id", how="left").filter(
            nw.col("_from").is_null() | in_spell
        )
    cells = cells.with_columns((nw.col("volume") ** 2).alias("_vsq"), nw.lit(1).alias("ordering"))
    return _sum_cells(cells, ["role", "_p"], list(_CELL_SUMS))


def _pandas_cells(members, orders, period, roles_held) -> pd.DataFrame | None:
    """:func:`_engine_cells` on plain pandas tables (the numpy route, issue 18), through
    integer keys: each order's member as a position in ``members`` (unique ids, checked
    before), each member's total per period keyed by position and period, its role from the
    member's spell at that period. The groups and their order are the engine plan's on pandas
    (first appearance, pandas' sums), so the numbers are the same to the last bit. None when
    an order is of an unknown member or before its member joined: the engine plan counts
    those for the caller's :func:`_order_problems`."""
    pos = positions(members["member_id"], orders["member_id"])
    if (pos < 0).any():
        return None
    if (orders["ordered_at"].to_numpy() < members["joined_at"].to_numpy()[pos]).any():
        return None
    if not len(pos):
        return pd.DataFrame({c: [] for c in ("role", "_p", *_CELL_SUMS, "_early", "_unknown")})
    p = period_ordinals(orders["ordered_at"], period)
    lo, span = int(p.min()), int(p.max() - p.min()) + 1
    # per member and period, in order of first appearance (the engine's group-by); keys as a
    # column: an array key costs pandas a failed column lookup that prints it
    totals = pd.DataFrame(
        {
            "_k": pos * span + (p - lo),
            "amount": orders["amount"].to_numpy("float64", na_value=np.nan),
            "volume": orders["volume"].to_numpy("float64", na_value=np.nan),
        }
    )
    totals = totals.groupby("_k", sort=False).sum()
    who, p = np.divmod(totals.index.to_numpy(), span)
    if roles_held is None:
        role, names = pd.factorize(members["role"])
        role = role[who]
    else:
        role, names = _spell_roles(roles_held, who, p + lo)
    known = np.flatnonzero(role >= 0)
    volume = totals["volume"].to_numpy()[known]
    cells = pd.DataFrame(
        {
            "_k": role[known] * span + p[known],
            "ordering": 1.0,
            "amount": totals["amount"].to_numpy()[known],
            "volume": volume,
            "_vsq": volume**2,
        }
    )
    cells = cells.groupby("_k", sort=False).sum()
    role, p = np.divmod(cells.index.to_numpy(), span)
    return pd.DataFrame(
        {
            "role": names.take(role).array,
            "_p": p + lo,
            **{c: cells[c].to_numpy() for c in _CELL_SUMS},
            "_early": 0.0,
            "_unknown": 0.0,
        }
    )


def _spell_roles(spells: pd.DataFrame, who: np.ndarray, p: np.ndarray):
    """The role of the member at position ``who`` at period ``p``: that of their spell
    (:func:`_roles_by_period`) from the latest ``_from`` at or before ``p``. Returns role codes
    and the names they code."""
    codes, names = pd.factorize(spells["role"])
    at, start = spells["_pos"].to_numpy(), spells["_from"].to_numpy()
    count = np.bincount(at, minlength=int(who.max(initial=0)) + 1)
    role = codes[(np.cumsum(count) - count)[who]]  # the first spell: the only one of most
    several = np.flatnonzero(count[who] > 1)
    if len(several):
        # the last spell started by p: a search on one integer key, member then start (the
        # open start of the first spell just before every period in play)
        floor = min(int(p.min()), int(start[start > _ALL_TIME[0]].min(initial=p.min()))) - 1
        start = np.where(start == _ALL_TIME[0], floor, start) - floor
        width = int(max(start.max(), p.max() - floor)) + 1
        key = at * width + start
        found = np.searchsorted(key, who[several] * width + (p[several] - floor), side="right")
        role[several] = codes[found - 1]
    return role, names


def _share_interval(per_period: pd.DataFrame, alpha: float):
    """Customers' share of volume as a ratio estimator over buying members (delta method).

    With y_i a buyer's volume and c_i 1 for customers, share = sum(c y) / sum(y); its variance
    over buyers treated as a sample is sum((c_i - share)^2 y_i^2) / sum(y)^2, which needs only
    the per-group sums of squares.
    """
    total = per_period["volume"].to_numpy()
    share = per_period["cust_volume"].to_numpy() / total
    cust_sq = per_period["cust_vsq"].to_numpy()
    rep_sq = per_period["vsq"].to_numpy() - cust_sq
    var = ((1 - share) ** 2 * cust_sq + share**2 * rep_sq) / total**2
    half = z_value(alpha) * np.sqrt(var)
    ok = np.isfinite(share) & (total > 0)
    share = np.where(ok, share, np.nan)
    lower = np.where(ok, np.clip(share - half, 0, 1), np.nan)
    upper = np.where(ok, np.clip(share + half, 0, 1), np.nan)
    return share, lower, upper


def _roles_by_period(members_nw, role_history, period: str) -> pd.DataFrame:
    """Each member's role spells in periods, for counting members in the role held at the end
    of each period.

    One row per member and role held at the end of some period, by member (``_pos``) and
    start: ``_from`` .. ``_to`` - 1 are the periods it covers (the first spell reaches back,
    the last forward, without limit, so every order finds its spell), ``_join`` .. ``_left``
    - 1 the periods the member counts in that role (``_left`` NaN while it lasts). Several
    changes within one period: the last wins.
    """
    wanted = ["member_id", "role", "joined_at", "left_at"]
    native = _plain_pandas(members_nw)
    if native is not None:
        people = native[wanted]
    else:
        people = collect(members_nw.select(*wanted)).to_pandas()
    spells = _role_spells(people, role_history)
    at, start = spells["_pos"].to_numpy(), period_ordinals(spells["from_at"], period)
    n = len(at)
    # the last of a member's spells starting in one period; then, of those left, where a
    # member's spells start (the spells run by member, then from_at)
    ends = np.ones(n + 1, bool)
    ends[1:n] = (at[1:] != at[:-1]) | (start[1:] != start[:-1])
    rows = np.flatnonzero(ends[1:])
    at, start, n = at[rows], start[rows], len(rows)
    new = np.ones(n + 1, bool)
    new[1:n] = at[1:] != at[:-1]
    following = np.full(n, np.nan)
    following[:-1] = np.where(new[1:n], np.nan, start[1:])
    # the first role recorded holds from joining (and before: an early order is reported, not lost)
    start = np.where(new[:n], _ALL_TIME[0], start)
    joined = period_ordinals(spells["joined_at"], period)[rows]
    return pd.DataFrame(
        {
            "member_id": spells["member_id"].array.take(rows),
            "role": spells["role"].array.take(rows),
            "_pos": at,
            "_from": start,
            "_to": np.where(np.isnan(following), _ALL_TIME[1], following).astype("int64"),
            "_join": np.maximum(joined, start),
            "_left": np.fmin(_ordinals(spells["left_at"], period)[rows], following),
        }
    )


def _empty_mix() -> pd.DataFrame:
    dtypes = {
        "period": "datetime64[us]",
        "role": "str",
        "group": "str",
        "complete": "bool",
        "members": "int64",
        "ordering": "int64",
        "customers": "int64",
        "reps": "int64",
    }
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in _COLUMNS})
