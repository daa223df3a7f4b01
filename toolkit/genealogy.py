"""Genealogy analytics: levels, downlines, legs and volume per level below a member.

Everything is computed without a Python loop per member: the level of every member comes from
pointer jumping up the sponsor chains (``log2(n)`` vectorised passes), and downline totals are
folded up one level at a time (one vectorised step per level of the tree, deepest first).
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.censoring import parse_duration
from toolkit.checks import check_frame
from toolkit.frames import require_rows
from toolkit.schema import (
    CHECK_HINT,
    EXAMPLES_SHOWN,
    CRMData,
    DataError,
    missing_piece,
    parse_as_of,
    sponsor_loops,
)

MEMBER_COLUMNS = ("member_id", "sponsor_id", "joined_at")


def _timestamps(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.to_datetime(values).astype("datetime64[us]")


def _examples(values) -> str:
    return ", ".join(map(str, list(values)[:EXAMPLES_SHOWN]))


def _genealogy(members: pd.DataFrame, as_of=None, orders=None) -> dict:
    """Checked genealogy: the members who had joined by ``as_of`` (a copy), the index of each
    one's sponsor (-1 for a root), their level, the index of their root, and ``as_of``."""
    if not isinstance(members, pd.DataFrame):
        raise DataError(f"members: expected a pandas DataFrame, got {type(members).__name__}")
    missing = [c for c in MEMBER_COLUMNS if c not in members.columns]
    if missing == ["sponsor_id"]:
        raise DataError(missing_piece("members", missing))
    if missing:
        raise DataError(
            f"members: missing required column(s) {missing}; columns present: {list(members.columns)}; "
            f"{CHECK_HINT}"
        )
    frame = members.copy()
    frame["joined_at"] = _timestamps(frame["joined_at"])
    frame["left_at"] = _timestamps(frame["left_at"]) if "left_at" in frame else pd.NaT
    frame["left_at"] = frame["left_at"].astype("datetime64[us]")
    # a NaT joined_at would drop the member (and their downline's link) without a word
    check_frame(nw.from_native(frame, eager_only=True), "members", MEMBER_COLUMNS)
    if as_of is not None:
        as_of = parse_as_of(as_of)
    if as_of is None:  # the latest moment in the data, as read_crm does
        stamps = [frame["joined_at"].max(), frame["left_at"].max()]
        if orders is not None and "ordered_at" in orders.columns and len(orders):
            stamps.append(_timestamps(orders["ordered_at"]).max())
        as_of = max((t for t in stamps if pd.notna(t)), default=pd.NaT)  # NaT: no members
    frame = frame[frame["joined_at"] <= as_of].reset_index(drop=True)
    ids, sponsors = frame["member_id"], frame["sponsor_id"]
    empty = sponsors.isna().to_numpy().copy()
    if pd.api.types.is_string_dtype(sponsors.dtype) or sponsors.dtype == object:
        empty |= (sponsors.astype("str").str.strip() == "").to_numpy()
    dup, parent = _match(ids, sponsors.where(~empty, None))
    if dup.any():
        raise DataError(
            f"members.member_id: {int(dup.sum()):,} rows with a duplicate id (first member_id: {_examples(ids[dup])})"
        )
    parent = np.where(empty, -1, parent)
    unknown = (~empty) & (parent < 0)
    if unknown.any():
        raise DataError(
            f"members.sponsor_id: {int(unknown.sum()):,} rows referring to sponsors not in the members "
            f"table (joined by {as_of}) (first member_id: {_examples(ids[unknown])}; "
            f"their sponsor_id: {_examples(sponsors[unknown])})"
        )
    # the shared cycle check, on row numbers (hashing integers is far cheaper than ids)
    loops = sponsor_loops(pd.Series(np.arange(len(parent))), pd.Series(parent))
    if loops.any():
        raise DataError(
            f"members.sponsor_id: {int(loops.sum()):,} rows in a sponsor cycle (the chain of sponsors "
            f"loops back) (first member_id: {_examples(ids[loops])})"
        )
    level, root = _levels(parent)
    return {"frame": frame, "parent": parent, "level": level, "root": root, "as_of": as_of}


def _match(ids: pd.Series, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """One hashing pass over ``ids`` and ``values`` together: a mask of ``ids`` that occur more
    than once, and the row of ``ids`` holding each of ``values`` (-1 when absent or empty).
    Hashing a million string ids costs about a second; doing it once rather than per lookup is
    what keeps a million-member genealogy within seconds."""
    n = len(ids)
    both = pd.concat([ids.reset_index(drop=True), values.reset_index(drop=True)], ignore_index=True)
    codes, uniques = pd.factorize(both)  # empty values get -1
    id_codes, value_codes = codes[:n], codes[n:]
    valid = id_codes >= 0
    counts = np.bincount(id_codes[valid], minlength=len(uniques))
    duplicated = np.zeros(n, bool)
    duplicated[valid] = counts[id_codes[valid]] > 1
    row = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the extra slot is where -1 codes land
    row[id_codes[valid]] = np.flatnonzero(valid)
    return duplicated, row[value_codes]


def _levels(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the root and the root of every member, by pointer jumping (list ranking)."""
    n = len(parent)
    up = np.where(parent < 0, np.arange(n), parent)
    dist = (parent >= 0).astype(np.int64)
    for _ in range(max(1, int(np.ceil(np.log2(n + 1))) + 1)):
        dist = dist + dist[up]
        up = up[up]
    return dist, up


def _by_level(level: np.ndarray):
    """Member indices grouped by level, deepest first: (level, indices) pairs."""
    order = np.argsort(level, kind="stable")
    bounds = np.searchsorted(level[order], np.arange(level.max() + 2) if len(level) else [0])
    return [(lv, order[bounds[lv] : bounds[lv + 1]]) for lv in range(len(bounds) - 2, -1, -1)]


def _personal_volume(frame, orders, as_of, window) -> np.ndarray:
    window = None if window is None else parse_duration(window)
    if orders is None:
        return np.zeros(len(frame))
    missing = [c for c in ("member_id", "ordered_at", "volume") if c not in orders.columns]
    if missing:
        raise DataError(
            f"orders: missing required column(s) {missing}; columns present: {list(orders.columns)}; "
            f"{CHECK_HINT}"
        )
    at = _timestamps(orders["ordered_at"])
    # negative or infinite volume, or a NaT order date, would change every group volume above
    checked = orders[["member_id", "volume"]].assign(ordered_at=at)
    check_frame(nw.from_native(checked, eager_only=True), "orders", checked.columns)
    keep = (at <= as_of).to_numpy()
    if window is not None:
        keep = keep & (at > as_of - window).to_numpy()
    _, who = _match(frame["member_id"], orders["member_id"])
    unknown = (who < 0) & keep
    if unknown.any():
        bad = orders.loc[unknown, "member_id"]
        raise DataError(
            f"orders.member_id: {int(unknown.sum()):,} rows referring to members not in the members table "
            f"(first member_id: {_examples(bad.unique())})"
        )
    volume = pd.to_numeric(orders["volume"]).to_numpy(dtype=float)
    return np.bincount(who[keep], weights=volume[keep], minlength=len(frame))


def _unpack(members, orders, as_of):
    if isinstance(members, CRMData):
        orders = members.orders if orders is None else orders
        as_of = members.as_of if as_of is None else as_of
        members = members.members
    return members, orders, as_of


def downline(members, orders=None, *, as_of=None, window=None) -> pd.DataFrame:
    """Per member: level, personal recruits, downline size and depth, volumes and legs.

    Parameters
    ----------
    members : pandas.DataFrame or CRMData
        The ``members`` table (member_id, sponsor_id, joined_at; left_at optional), or a whole
        CRMData (its orders and as_of are then used unless given).
    orders : pandas.DataFrame, optional
        The ``orders`` table (member_id, ordered_at, volume) for personal and group volume.
    as_of : timestamp-like, optional
        The moment of the genealogy: members who joined later and orders placed later are left
        out. Defaults to the latest joined_at / left_at.
    window : str or Timedelta, optional
        Count only orders in this period before ``as_of`` (``"30D"`` for a monthly volume);
        None counts every order up to ``as_of``.

    Returns
    -------
    pandas.DataFrame
        One row per member who had joined by ``as_of``, in input order:

        - ``member_id``, ``sponsor_id``, ``root_id`` (the top of their line).
        - ``level``: generations below the root (a root is level 0).
        - ``personal_recruits``: members they sponsored directly (frontline).
        - ``downline_size``: everyone below them, at any depth (themselves excluded).
        - ``downline_depth``: levels their downline reaches (0 with no downline).
        - ``legs``: frontline members who have a downline of their own (lines that duplicated).
        - ``personal_volume``, ``group_volume`` (their own plus everyone below them),
          ``largest_leg_volume`` (group volume of their biggest frontline line); 0 without orders.
        - ``active``: not left by ``as_of``.

    Raises
    ------
    DataError
        Naming the members whose sponsor is not in the table, who sit in a sponsor cycle, or
        orders for unknown members.
    """
    members, orders, as_of = _unpack(members, orders, as_of)
    tree = _genealogy(members, as_of, orders)
    frame, parent, level = tree["frame"], tree["parent"], tree["level"]
    n = len(frame)
    pv = _personal_volume(frame, orders, tree["as_of"], window)
    size = np.zeros(n, np.int64)
    deepest = level.copy()  # deepest level in each member's downline, themselves included
    group = pv.copy()
    largest = np.zeros(n)
    has_own = np.zeros(n, np.int64)
    for lv, idx in _by_level(level):
        if lv == 0:
            break
        up = parent[idx]
        np.add.at(size, up, size[idx] + 1)
        np.maximum.at(deepest, up, deepest[idx])
        np.add.at(group, up, group[idx])
        np.maximum.at(largest, up, group[idx])
        np.add.at(has_own, up, (size[idx] > 0).astype(np.int64))
    has_parent = parent >= 0
    ids = frame["member_id"]
    left = frame["left_at"]
    return pd.DataFrame(
        {
            "member_id": ids,
            "sponsor_id": frame["sponsor_id"],
            "root_id": ids.take(tree["root"]).reset_index(drop=True),
            "level": level,
            "personal_recruits": np.bincount(parent[has_parent], minlength=n),
            "downline_size": size,
            "downline_depth": deepest - level,
            "legs": has_own,
            "personal_volume": pv,
            "group_volume": group,
            "largest_leg_volume": largest,
            "active": (left.isna() | (left > tree["as_of"])).to_numpy(),
        }
    )


def volume_by_level(
    members, orders=None, *, root=None, max_level=None, as_of=None, window=None
) -> pd.DataFrame:
    """Volume per level below ``root`` (or below every root when None), including the levels a
    printout of ``max_level`` levels does not show (004: in a breakaway plan, people too deep to
    appear on your printout still carry the lines that do).

    Returns
    -------
    pandas.DataFrame
        One row per level (0 is ``root`` itself): ``level``, ``members``, ``active_members``,
        ``volume``, ``share_of_volume`` (of all volume at and below ``root``),
        ``cumulative_share``, ``on_printout`` (level <= ``max_level``; all True when None).

    Raises
    ------
    toolkit.DataError
        ``orders`` is None or has no rows: every level would show zero volume, a figure drawn
        from nothing (the message says the orders are missing and what they would show).
    """
    members, orders, as_of = _unpack(members, orders, as_of)
    require_rows(orders, "orders")
    tree = _genealogy(members, as_of, orders)
    frame, parent, level = tree["frame"], tree["parent"], tree["level"]
    pv = _personal_volume(frame, orders, tree["as_of"], window)
    if max_level is not None and (not isinstance(max_level, (int, np.integer)) or max_level < 0):
        raise ValueError(f"max_level must be a whole number >= 0 or None, got {max_level!r}")
    if root is None:
        inside, relative = np.ones(len(frame), bool), level
    else:
        where = np.flatnonzero((frame["member_id"] == root).to_numpy())
        if len(where) == 0:
            raise ValueError(f"root {root!r} is not a member (who joined by {tree['as_of']})")
        r = where[0]
        inside = np.zeros(len(frame), bool)
        inside[r] = True
        for lv, idx in _by_level(level)[::-1]:  # shallowest first: marks flow down the tree
            if lv > level[r]:
                inside[idx] = inside[parent[idx]]
        relative = level - level[r]
    left = frame["left_at"]
    active = (left.isna() | (left > tree["as_of"])).to_numpy()
    table = pd.DataFrame(
        {"level": relative[inside], "active": active[inside], "volume": pv[inside]}
    )
    out = (
        table.groupby("level")
        .agg(members=("active", "size"), active_members=("active", "sum"), volume=("volume", "sum"))
        .reset_index()
    )
    total = out["volume"].sum()
    out["share_of_volume"] = out["volume"] / total if total else np.nan
    out["cumulative_share"] = out["share_of_volume"].cumsum()
    out["on_printout"] = True if max_level is None else out["level"] <= max_level
    out["active_members"] = out["active_members"].astype(np.int64)
    return out


def genealogy_tree(members: pd.DataFrame, as_of=None, orders=None) -> dict:
    """The checked sponsor tree of ``members`` that :func:`downline` works on.

    Parameters
    ----------
    members : pandas.DataFrame
        The ``members`` table (``member_id``, ``sponsor_id``, ``joined_at``, optional
        ``left_at``).
    as_of : timestamp, optional
        Members who joined after it are left out (default: the latest moment in the data).
    orders : pandas.DataFrame, optional
        Only read for the default ``as_of``.

    Returns
    -------
    dict
        ``frame`` (the members who had joined by ``as_of``, a copy, timestamps naive UTC),
        ``parent`` (row of each member's sponsor, -1 for a root), ``level``, ``root`` (row of
        each member's top sponsor) and ``as_of``. Raises :class:`toolkit.DataError` on missing
        columns, duplicate ids, unknown sponsors and sponsor cycles.
    """
    return _genealogy(members, as_of, orders)
