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
    _flag,
    _order_problems,
    _ordinals,
    _plain_pandas,
    _prepare,
)
from toolkit.cohorts.transitions import _role_spells
from toolkit.fastpath import is_numpy_time
from toolkit.frames import collect, from_native, hand_off, to_kind
from toolkit.rates import check_alpha, z_value
from toolkit.schema import CUSTOMER_ROLES, REP_ROLES, ROLES, DataError, missing_piece

# pandas' group-by as the engine's plan on pandas runs it (missing keys form groups)
_GROUPS = {"sort": False, "dropna": False, "observed": True}
# the open ends of a member's first and last role spell, as period ordinals
_ALL_TIME = (-(2**40), 2**40)


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
        ``member_id``, ``ordered_at``, ``amount``, ``volume``.
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
    columns = [
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
    ]
    if as_of is None:
        return to_kind(_empty_mix(columns), like)

    now = period_ordinal_of(as_of, period)
    roles_held = None
    native = _plain_pandas(members_nw)
    orders_native = _plain_pandas(orders_nw)
    if native is not None and (
        orders_native is None
        or not all(is_numpy_time(native[c]) for c in ("joined_at", "left_at"))
        or not is_numpy_time(orders_native["ordered_at"])
    ):
        native = None  # the numpy route takes both tables, with numpy times, or neither
    if native is not None and role_history is None:
        spans = pd.DataFrame(
            {
                "role": native["role"].array,
                "_join": _ordinals(native["joined_at"], period),
                "_left": _ordinals(native["left_at"], period),
            }
        )
        spans = spans.groupby(["role", "_join", "_left"], **_GROUPS).size()
        spans = spans.rename("_n").reset_index()
    elif role_history is None:
        people = members_nw.select(
            nw.col("role"),
            period_ordinal("joined_at", period).alias("_join"),
            period_ordinal("left_at", period).alias("_left"),
        )
        spans = collect(people.group_by("role", "_join", "_left").agg(nw.len().alias("_n")))
        spans = spans.to_pandas()
    else:
        roles_held = _roles_by_period(members_nw, role_history, period)
        spans = roles_held.groupby(["role", "_join", "_left"], dropna=False).size()
        spans = spans.rename("_n").reset_index()
    if spans.empty:
        return to_kind(_empty_mix(columns), like)
    ordinals = np.arange(int(spans["_join"].min()), now + 1)
    present = set(spans["role"].unique())  # once: a set per role scanned the rows each time
    roles = [r for r in ROLES if r in present] + sorted(present - set(ROLES))
    grid = pd.MultiIndex.from_product([ordinals, roles], names=["_p", "role"]).to_frame(index=False)
    # members at the end of period p: joined by p and not left by its end (left in a later period)
    counts = np.zeros(len(grid))
    role_pos = {r: i for i, r in enumerate(roles)}
    for role, join, left, n in spans[["role", "_join", "_left", "_n"]].itertuples(index=False):
        stop = now + 1 if pd.isna(left) else int(left)
        if stop > int(join):
            counts[(np.arange(int(join), stop) - ordinals[0]) * len(roles) + role_pos[role]] += n
    grid["members"] = counts

    # orders per member and period, then per role: members ordering, amount, volume, and the
    # per-member sums of squares the share's interval needs
    if native is not None:
        cells = _pandas_cells(
            native, orders_native, period, None if role_history is None else roles_held
        )
    else:
        cells = _engine_cells(members_nw, orders_nw, period, role_history, roles_held)
    if cells is None or cells["_unknown"].sum() or cells["_early"].sum():
        _order_problems(from_native(members, "members", []), from_native(orders, "orders", []))
    cells = cells[cells["role"].notna()]
    cells["_p"] = cells["_p"].astype("int64")
    grid = grid.merge(cells, on=["_p", "role"], how="left")
    for col in ("ordering", "amount", "volume", "_vsq"):
        grid[col] = grid[col].fillna(0.0)
    grid["group"] = np.where(
        grid["role"].isin(CUSTOMER_ROLES),
        "customer",
        np.where(grid["role"].isin(REP_ROLES), "rep", "other"),
    )

    is_customer = grid["group"] == "customer"
    is_rep = grid["group"] == "rep"
    per_period = (
        pd.DataFrame(
            {
                "_p": grid["_p"],
                "customers": np.where(is_customer, grid["members"], 0.0),
                "reps": np.where(is_rep, grid["members"], 0.0),
                "paying": np.where(is_customer, grid["ordering"], 0.0),
                "cust_volume": np.where(is_customer, grid["volume"], 0.0),
                "cust_vsq": np.where(is_customer, grid["_vsq"], 0.0),
                "cust_buyers": np.where(is_customer, grid["ordering"], 0.0),
                "volume": grid["volume"],
                "vsq": grid["_vsq"],
                "buyers": grid["ordering"],
            }
        )
        .groupby("_p")
        .sum()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        per_period["customers_per_rep"] = per_period["customers"] / per_period["reps"].where(
            per_period["reps"] > 0
        )
        per_period["paying_customers_per_rep"] = per_period["paying"] / per_period["reps"].where(
            per_period["reps"] > 0
        )
        share, lower, upper = _share_interval(per_period, alpha)
    per_period["customer_volume_share"] = share
    per_period["customer_volume_share_ci_lower"] = lower
    per_period["customer_volume_share_ci_upper"] = upper
    keep = [
        "customers",
        "reps",
        "customers_per_rep",
        "paying_customers_per_rep",
        "customer_volume_share",
        "customer_volume_share_ci_lower",
        "customer_volume_share_ci_upper",
    ]
    grid = grid.merge(per_period[keep], left_on="_p", right_index=True, how="left")
    grid["complete"] = grid["_p"].to_numpy() < now
    grid["period"] = period_start(grid["_p"], period)
    grid["ordering"] = grid["ordering"].astype("int64")
    for col in ("members", "customers", "reps"):
        grid[col] = grid[col].astype("int64")
    out = grid[columns].reset_index(drop=True)
    return to_kind(out, like)


def _engine_cells(members_nw, orders_nw, period, role_history, roles_held) -> pd.DataFrame:
    """Per role and period ``_p``: members ordering, amount, volume, the per-member sums of
    squared volume (``_vsq``), orders before joining (``_early``) and orders of unknown
    members (``_unknown``), by the input's engine."""
    per_member = (
        orders_nw.select(
            nw.col("member_id"),
            period_ordinal("ordered_at", period).alias("_p"),
            nw.col("amount").cast(nw.Float64),
            nw.col("volume").cast(nw.Float64),
            nw.col("ordered_at"),
        )
        .group_by("member_id", "_p")
        .agg(
            nw.col("amount").sum(),
            nw.col("volume").sum(),
            nw.col("ordered_at").min().alias("_first"),
        )
    )
    known = members_nw.select(
        "member_id",
        *(["role"] if role_history is None else []),
        nw.col("joined_at").alias("_joined_at"),
        _flag(nw.lit(True)).alias("_known"),
    )
    cells = per_member.join(known, on="member_id", how="left")
    if role_history is not None:
        # the role held at the end of the order's period: the spells cover all time, so each
        # known member's row meets exactly one (an unknown member's meets none and is kept)
        spells = roles_held[["member_id", "role", "_from", "_to"]]
        spells = nw.from_native(to_kind(spells, orders_nw))
        in_spell = (nw.col("_from") <= nw.col("_p")) & (nw.col("_p") < nw.col("_to"))
        cells = cells.join(spells, on="member_id", how="left").filter(
            nw.col("_from").is_null() | in_spell
        )
    cells = (
        cells.with_columns(
            (nw.col("volume") ** 2).alias("_vsq"),
            _flag(nw.col("_first") < nw.col("_joined_at")).alias("_early"),
            _flag(nw.col("_known").is_null()).alias("_unknown"),
            nw.lit(1).alias("ordering"),
        )
        .group_by("role", "_p")
        .agg(
            nw.col("ordering").sum(),
            nw.col("amount").sum(),
            nw.col("volume").sum(),
            nw.col("_vsq").sum(),
            nw.col("_early").sum(),
            nw.col("_unknown").sum(),
        )
        .with_columns(nw.col("ordering", "_early", "_unknown").cast(nw.Float64))
    )
    return collect(cells).to_pandas()


def _pandas_cells(members, orders, period, roles_held) -> pd.DataFrame | None:
    """:func:`_engine_cells` on plain pandas tables (the numpy route, issue 18), through
    integer keys: each order's member as a position in ``members`` (unique ids, checked
    before), its role from the member's spell at the order's period. The groups and their
    order are the engine plan's on pandas (first appearance, pandas' sums), so the numbers
    are the same to the last bit. None when an order is of an unknown member or before its
    member joined: the caller's :func:`_order_problems` names those."""
    pos = pd.Index(members["member_id"]).get_indexer(orders["member_id"])
    ordered = orders["ordered_at"].to_numpy()
    known = pos >= 0
    if not known.all() or (ordered < members["joined_at"].to_numpy()[pos]).any():
        return None
    p = period_ordinals(orders["ordered_at"], period)
    lo = int(p.min()) - 1 if len(p) else 0
    if roles_held is None:
        role_code, role_names = pd.factorize(members["role"])
        role = role_code[pos]
    else:
        # the spell holding at p: the member's last spell from at or before p (they cover
        # all time without overlapping); spells are keyed by member position, then start
        role_code, role_names = pd.factorize(roles_held["role"])
        start = roles_held["_from"].to_numpy()
        lo = min(lo, int(start[start > _ALL_TIME[0]].min(initial=lo)) - 1)
        start = np.where(start == _ALL_TIME[0], lo, start) - lo
        width = int(max(start.max(initial=0), (p - lo).max(initial=0))) + 1
        key = pd.Index(members["member_id"]).get_indexer(roles_held["member_id"]) * width + start
        order = np.argsort(key, kind="stable")
        found = np.searchsorted(key[order], pos * width + (p - lo), side="right") - 1
        role = role_code[order[found]]
    span = int(p.max()) - lo + 1 if len(p) else 1
    # per member and period, in order of first appearance (the engine's group-by)
    group, _ = pd.factorize(pos * span + (p - lo))
    values = pd.DataFrame(
        {
            "amount": orders["amount"].to_numpy("float64", na_value=np.nan),
            "volume": orders["volume"].to_numpy("float64", na_value=np.nan),
        }
    )
    per_member = values.groupby(group, sort=False).sum()
    first = np.full(len(per_member), len(p))
    np.minimum.at(first, group, np.arange(len(p)))
    role, p = role[first], p[first]
    volume = per_member["volume"].to_numpy()
    per_member = pd.DataFrame(
        {
            "ordering": 1.0,
            "amount": per_member["amount"].to_numpy(),
            "volume": volume,
            "_vsq": volume**2,
        }
    )[role >= 0]
    role, p = role[role >= 0], p[role >= 0]
    cell, _ = pd.factorize(role * span + (p - lo))
    cells = per_member.groupby(cell, sort=False).sum()
    first = np.full(len(cells), len(p))
    np.minimum.at(first, cell, np.arange(len(p)))
    cells.insert(0, "_p", p[first])
    cells.insert(0, "role", role_names.take(role[first]).array)
    cells["_early"] = cells["_unknown"] = 0.0
    return cells.reset_index(drop=True)


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

    One row per member and role held at the end of some period: ``_from`` .. ``_to`` - 1 are
    the periods it covers (the first spell reaches back, the last forward, without limit, so
    every order finds its spell), ``_join`` .. ``_left`` - 1 the periods the member counts in
    that role (``_left`` NaN while it lasts). Several changes within one period: the last wins.
    """
    wanted = ["member_id", "role", "joined_at", "left_at"]
    native = _plain_pandas(members_nw)
    if native is not None:
        people = native[wanted]
    else:
        people = collect(members_nw.select(*wanted)).to_pandas()
    spells = _role_spells(people, role_history)
    spells["_from"] = period_ordinals(spells["from_at"], period)
    spells = spells.drop_duplicates(["member_id", "_from"], keep="last")
    following = spells.groupby("member_id", sort=False)["_from"].shift(-1).to_numpy("float64")
    # the first role recorded holds from joining (and before: an early order is reported, not lost)
    first = ~spells["member_id"].duplicated().to_numpy()
    spells["_from"] = np.where(first, _ALL_TIME[0], spells["_from"])
    spells["_to"] = np.where(np.isnan(following), _ALL_TIME[1], following).astype("int64")
    spells["_join"] = np.maximum(period_ordinals(spells["joined_at"], period), spells["_from"])
    stays = spells["left_at"].isna()
    left = period_ordinals(spells["left_at"].fillna(spells["joined_at"]), period)
    spells["_left"] = np.fmin(np.where(stays, np.nan, left), following)
    return spells


def _empty_mix(columns) -> pd.DataFrame:
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
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in columns})
