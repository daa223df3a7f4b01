"""The numpy route of the income computations, part two: every component on the arrays.

Each matrix is ``members x periods`` (rows in code order, see :mod:`toolkit.income._tree_arrays`).
The walks up the sponsor chains become "nearest ancestor" maps: for a predicate (qualified; a
breakaway member; a stairstep rate above a mark), the nearest strict upline holding it in each
period, computed top-down one tree level at a time (each level one gather of its sponsors'
rows). Volume then moves from payee to payee with ``np.bincount`` on ``payee * n_periods +
period`` (one step per plan level, not per tree level), which merges what reaches the same
upline as the Narwhals route's group-by does. The rows come back as a Polars frame sorted as the
Narwhals route sorts them. No Python loop runs over members or orders.
"""

from __future__ import annotations

import numpy as np

from toolkit.income._tree_arrays import Tree, period_code

NO_RANK = -1
# the result's order: components, then (for unpaid rows) the part they belong to, by name
COMPONENT_ORDER = ("fast_start", "generation", "retail", "stairstep", "unilevel", "unpaid")


def nearest(tree: Tree, marks: np.ndarray) -> np.ndarray:
    """For ``marks`` (``k x n x P`` bools), the nearest strict upline with the mark in each period:
    member codes, ``n`` where there is none (above the top). One step per tree level."""
    n = tree.n
    out = np.full(marks.shape, n, dtype=np.int32)
    for rows in tree.levels[1:]:
        up = tree.parent[rows]
        out[:, rows] = np.where(marks[:, up], up[None, :, None], out[:, up])
    return out


class _Book:
    """What is paid: per component, amount and customers' part per member and period; unpaid
    per part and period."""

    def __init__(self, n: int, n_per: int):
        self.shape = (n, n_per)
        self.paid: dict[str, list[np.ndarray]] = {}
        self.unpaid: dict[str, list[np.ndarray]] = {}

    def pay(self, component: str, amount: np.ndarray, customers: np.ndarray) -> None:
        if component not in self.paid:
            self.paid[component] = [np.zeros(self.shape), np.zeros(self.shape)]
        self.paid[component][0] += amount
        self.paid[component][1] += customers

    def unpay(self, part: str, amount: np.ndarray, customers: np.ndarray) -> None:
        if part not in self.unpaid:
            self.unpaid[part] = [np.zeros(self.shape[1]), np.zeros(self.shape[1])]
        self.unpaid[part][0] += amount
        self.unpaid[part][1] += customers


def _move(tree: Tree, targets: np.ndarray, volumes):
    """Sum ``volumes`` (``n x P`` arrays) onto the members in ``targets`` (``n x P`` codes,
    ``n``: above the top), period by period: the moved volumes and what went above the top."""
    n, n_per = tree.volume.shape
    w = volumes[0].ravel()
    sel = np.flatnonzero(w)
    if not sel.size:
        return None
    key = targets.ravel()[sel].astype(np.int64) * n_per + sel % n_per
    size = (n + 1) * n_per
    out = []
    for v in volumes:
        moved = np.bincount(key, weights=v.ravel()[sel], minlength=size).reshape(n + 1, n_per)
        out.append((moved[:n], moved[n]))
    return out


def _chain(tree, book, part, volume, customers, nxt, rates, paid=None):
    """Levels of ``rates`` paid up a chain: level ``k`` goes to the member ``nxt`` gives for
    where level ``k - 1`` was (``volume`` sits at the start). ``paid``: who of them is paid
    (None: all; the others' level is unpaid). Above the top, the rest of the rates is unpaid."""
    tails = [sum(rates[k:]) for k in range(len(rates) + 1)]
    for k, rate in enumerate(rates):
        moved = _move(tree, nxt, (volume, customers))
        if moved is None:
            return
        (volume, top), (customers, ctop) = moved
        book.unpay(part, tails[k] * top, tails[k] * ctop)
        if paid is None:
            book.pay(part, rate * volume, rate * customers)
        else:
            book.pay(part, rate * np.where(paid, volume, 0.0), rate * np.where(paid, customers, 0.0))
            off = ~paid
            book.unpay(part, rate * (volume * off).sum(0), rate * (customers * off).sum(0))


def status(tree: Tree, plan, fixed=None):
    """Per member and period: personal volume, qualified, rank index (:data:`NO_RANK` below the
    lowest). ``fixed``: a rank matrix from a ``ranks`` frame, used as it is."""
    n, n_per = tree.volume.shape
    me = np.arange(n)
    owner = np.where(tree.customer, tree.parent, me)  # customers' orders count for their sponsor
    ok = owner >= 0
    key = (owner[ok][:, None] * n_per + np.arange(n_per)).ravel()
    pv = np.bincount(key, weights=tree.volume[ok].ravel(), minlength=n * n_per).reshape(n, n_per)
    t = tree.periods[None, :]
    stayed = tree.left[:, None] > t  # left by the end of the period: in it or before
    q = tree.participant[:, None] & (tree.joined[:, None] <= t) & stayed
    q &= pv >= plan.min_personal_volume
    if not plan.ranks:
        return pv, q, np.full((n, n_per), NO_RANK, dtype=np.int16)
    if fixed is not None:
        return pv, q, fixed
    # group volume folded up from the deepest level: a breakaway member keeps its group
    b = plan.breakaway_index
    gv = pv.copy()
    rank = np.full((n, n_per), NO_RANK, dtype=np.int16)
    for rows in reversed(tree.levels):
        g, p = gv[rows], pv[rows]
        r = np.full(g.shape, NO_RANK, dtype=np.int16)
        for i, rk in enumerate(plan.ranks):  # lowest first: a later reached rank overrides
            r[(p >= rk.personal_volume) & (g >= rk.group_volume)] = i
        r[~tree.participant[rows]] = NO_RANK
        rank[rows] = r
        up = tree.parent[rows]
        has = up >= 0
        if not has.any():
            continue
        kept = g if b is None else np.where(r >= b, 0.0, g)
        kept, up = kept[has], up[has]
        # children of one sponsor are next to each other on a level (Tree.levels)
        first = np.flatnonzero(np.r_[True, up[1:] != up[:-1]])
        gv[up[first]] += np.add.reduceat(kept, first, axis=0)
    return pv, q, rank


def _unilevel(tree, book, plan, q, volume, customers):
    if plan.compression:  # the unqualified are skipped: the next qualified upline moves up
        nxt = nearest(tree, q[None])[0]
        _chain(tree, book, "unilevel", volume, customers, nxt, plan.unilevel)
        return
    up = np.where(tree.parent < 0, tree.n, tree.parent)
    nxt = np.broadcast_to(up[:, None], q.shape)
    _chain(tree, book, "unilevel", volume, customers, nxt, plan.unilevel, paid=q)


def _stairstep(tree, book, plan, q, rank, broke, volume, customers):
    """Each upline earns its rate above the mark (the highest rate paid below it on the order);
    the chain stops at a breakaway member, and what the top rate leaves is unpaid."""
    rates = np.array([r.rate for r in plan.ranks])
    top = float(rates.max())
    own = np.where(q & (rank >= 0), rates[np.maximum(rank, 0)], 0.0)
    marks = np.array(sorted({0.0, *rates.tolist()}))
    level = np.searchsorted(marks, own)  # own rate as an index into marks
    # the next member that changes anything above a mark: a higher rate, or a breakaway member
    ahead = nearest(tree, np.stack([(level > j) | broke for j in range(len(marks))]))
    after = np.take_along_axis(ahead, level[None], 0)[0].astype(np.int32)
    # a breakaway buyer's order leaves every upline's stairstep
    book.unpay("stairstep", top * (volume * broke).sum(0), top * (customers * broke).sum(0))
    volume, customers = np.where(broke, 0.0, volume), np.where(broke, 0.0, customers)
    mark = np.zeros(q.shape, dtype=np.int64)
    targets = ahead[0]
    for _ in range(len(marks) + 1):
        here = [np.zeros(q.shape), np.zeros(q.shape)]
        held = np.flatnonzero(volume)
        if not held.size:
            return
        for m in np.unique(mark.ravel()[held]):
            at = mark == m
            moved = _move(tree, targets, (np.where(at, volume, 0.0), np.where(at, customers, 0.0)))
            (vol, above), (cus, cabove) = moved
            book.unpay("stairstep", (top - marks[m]) * above, (top - marks[m]) * cabove)
            gain = np.maximum(own - marks[m], 0.0)
            book.pay("stairstep", gain * vol, gain * cus)
            rest = np.where(broke, top - np.maximum(own, marks[m]), 0.0)
            book.unpay("stairstep", (rest * vol).sum(0), (rest * cus).sum(0))
            here[0] += vol
            here[1] += cus
        go_on = ~broke & (level < len(marks) - 1)  # a top-rate member leaves nothing above
        volume, customers = np.where(go_on, here[0], 0.0), np.where(go_on, here[1], 0.0)
        mark, targets = level, after


def _generation(tree, book, plan, q, broke, volume, customers):
    """An order belongs to the group of the first breakaway member at or above its buyer; the
    k-th breakaway member above that one earns ``generation_rates[k-1]``."""
    me = np.arange(tree.n, dtype=np.int32)[:, None]
    if plan.compression:
        found = nearest(tree, np.stack([broke, broke & q]))
        group_up, nxt, paid = found[0], found[1], None
    else:
        group_up = nxt = nearest(tree, broke[None])[0]
        paid = q
    head = np.where(broke, me, group_up)
    moved = _move(tree, head, (volume, customers))
    if moved is None:
        return
    (vol, none), (cus, cnone) = moved
    total = sum(plan.generation_rates)
    book.unpay("generation", total * none, total * cnone)  # in no breakaway group
    _chain(tree, book, "generation", vol, cus, nxt, plan.generation_rates, paid)


def _direct(tree, book, part, rate, volume, customers, paid=None):
    """``rate`` on each buyer's ``volume`` to its sponsor (``paid``: who of them is paid)."""
    up = np.where(tree.parent < 0, tree.n, tree.parent)
    moved = _move(tree, np.broadcast_to(up[:, None], volume.shape), (volume, customers))
    if moved is None:
        return
    (vol, top), (cus, ctop) = moved
    book.unpay(part, rate * top, rate * ctop)
    if paid is None:
        book.pay(part, rate * vol, rate * cus)
        return
    book.pay(part, rate * np.where(paid, vol, 0.0), rate * np.where(paid, cus, 0.0))
    book.unpay(part, rate * (vol * ~paid).sum(0), rate * (cus * ~paid).sum(0))


def compute(tree: Tree, plan, fixed=None):
    """The commission rows (a Polars frame as :func:`toolkit.income.commissions.combine`
    gives them) and the status matrices ``(pv, q, rank)``."""
    volume = tree.volume
    customers = volume * tree.customer[:, None]
    pv, q, rank = status(tree, plan, fixed)
    book = _Book(*volume.shape)
    if plan.retail_margin:
        retail = tree.amount * tree.retail[:, None]
        _direct(tree, book, "retail", plan.retail_margin, retail, retail)
    if plan.fast_start:
        fast = tree.fast
        _direct(tree, book, "fast_start", plan.fast_start, fast, fast * tree.customer[:, None], q)
    b = plan.breakaway_index
    broke = np.zeros(q.shape, bool) if b is None else rank >= b
    if plan.unilevel:
        _unilevel(tree, book, plan, q, volume, customers)
    if plan.ranks:
        _stairstep(tree, book, plan, q, rank, broke, volume, customers)
    if plan.generation_rates:
        _generation(tree, book, plan, q, broke, volume, customers)
    return rows(tree, book), (pv, q, rank)


def rows(tree: Tree, book: _Book):
    """The book as result rows, sorted by period, member (unpaid last), component and part."""
    import polars as pl

    n, n_per = tree.volume.shape
    keys, amounts, customers = [], [], []
    for component, (amount, cus) in book.paid.items():
        c = COMPONENT_ORDER.index(component)
        flat = amount.T.ravel()  # period-major: the cells come out in the result's order
        cells = np.flatnonzero(flat != 0)
        t, who = np.divmod(cells, n)
        keys.append(((t * (n + 1) + who) * 8 + c) * 8 + c)
        amounts.append(flat[cells])
        customers.append(cus.T.ravel()[cells])
    unpaid = COMPONENT_ORDER.index("unpaid")
    for part, (amount, cus) in book.unpaid.items():
        t = np.flatnonzero(amount != 0)
        keys.append(((t * (n + 1) + n) * 8 + unpaid) * 8 + COMPONENT_ORDER.index(part))
        amounts.append(amount[t])
        customers.append(cus[t])
    key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    order = np.argsort(key, kind="stable")  # sorted runs: a merge
    key = key[order]
    part, key = key % 8, key // 8
    component, key = key % 8, key // 8
    t, who = np.divmod(key, n + 1)
    ids = tree.ids
    ids = ids.append(pl.Series([None], dtype=ids.dtype))
    names = pl.Series(COMPONENT_ORDER, dtype=pl.String)
    return pl.DataFrame(
        {
            "member_id": ids.gather(who),
            "period": tree.starts.gather(t),
            "component": names.gather(component),
            "part": names.gather(part),
            "amount": np.concatenate(amounts)[order] if keys else np.zeros(0),
            "from_customer_volume": np.concatenate(customers)[order] if keys else np.zeros(0),
        }
    )


def status_frame(tree: Tree, rank: np.ndarray, above: int):
    """member_id, period, ``_rank`` for the cells whose rank is above ``above`` (a cell left out
    holds ``above``: the rank a month without volume holds, or none)."""
    import polars as pl

    n = tree.n
    cells = np.flatnonzero(rank.T.ravel() > above)
    t, who = np.divmod(cells, n)
    return pl.DataFrame(
        {
            "member_id": tree.ids.gather(who),
            "period": tree.starts.gather(t),
            "_rank": rank.T.ravel()[cells].astype(np.int64),
        }
    )


def ranked_cells(tree: Tree, keyed, period: str) -> np.ndarray:
    """The rank matrix of a checked ``ranks`` frame (member_id, period, ``_rank``; Polars):
    :data:`NO_RANK` where it says nothing. Periods without orders pay nothing and are left out."""
    import polars as pl

    n, n_per = tree.volume.shape
    codes = pl.DataFrame({"member_id": tree.ids, "_code": np.arange(n)})
    cells = keyed.select(
        "member_id", period_code(pl.col("period"), period).alias("_t"), "_rank"
    ).join(codes, on="member_id")
    t = cells["_t"].to_numpy()
    col = np.searchsorted(tree.periods, t)
    col = np.minimum(col, max(n_per - 1, 0))
    ok = (tree.periods[col] == t) if n_per else np.zeros(len(t), bool)
    out = np.full((n, n_per), NO_RANK, dtype=np.int16)
    out[cells["_code"].to_numpy()[ok], col[ok]] = cells["_rank"].to_numpy()[ok]
    return out
