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

from toolkit.income._tree_arrays import Tree, period_code, period_starts

NO_RANK = -1
# the result's order: components, then (for unpaid rows) the part they belong to, by name
COMPONENT_ORDER = ("fast_start", "generation", "retail", "stairstep", "unilevel", "unpaid")


def nearest(tree: Tree, marks: np.ndarray) -> np.ndarray:
    """For ``marks`` (``k x n x P`` bools), the nearest strict upline with the mark in each
    period, as its flat cell ``member * P + period`` (``n * P + period`` where there is none:
    above the top). One step per tree level."""
    n, n_per = tree.volume.shape
    col = np.arange(n_per)
    out = np.empty(marks.shape, dtype=np.int64)
    out[...] = n * n_per + col
    for rows in tree.levels[1:]:
        up = tree.parent[rows]
        out[:, rows] = np.where(marks[:, up], (up[:, None] * n_per + col)[None], out[:, up])
    return out


def sponsors(tree: Tree) -> np.ndarray:
    """Each cell's sponsor cell (``n x P`` flat cells, above the top for a root)."""
    n, n_per = tree.volume.shape
    up = np.where(tree.parent < 0, n, tree.parent)
    return up[:, None] * n_per + np.arange(n_per)


class _Book:
    """What is paid: per component, the (flat cell, amount, customers' part) pieces, summed at
    the end; unpaid per part and period."""

    def __init__(self, n: int, n_per: int):
        self.shape = (n, n_per)
        self.paid: dict[str, list] = {}
        self.unpaid: dict[str, list[np.ndarray]] = {}

    def pay(self, component: str, cells, amount, customers) -> None:
        self.paid.setdefault(component, []).append((cells, amount, customers))

    def unpay(self, part: str, amount, customers, cells=None) -> None:
        """Unpaid per period, or (``cells`` given) per flat cell, summed into its period."""
        n_per = self.shape[1]
        if cells is not None:
            amount = np.bincount(cells % n_per, weights=amount, minlength=n_per)
            customers = np.bincount(cells % n_per, weights=customers, minlength=n_per)
        if part not in self.unpaid:
            self.unpaid[part] = [np.zeros(n_per), np.zeros(n_per)]
        self.unpaid[part][0] += amount
        self.unpaid[part][1] += customers

    def totals(self, component: str):
        """The component's amount and customers' part per cell, period-major (``t * n + m``)."""
        n, n_per = self.shape
        pieces = self.paid[component]
        cells = np.concatenate([p[0] for p in pieces])
        key = (cells % n_per) * n + cells // n_per
        out = []
        for i in (1, 2):
            weights = np.concatenate([p[i] for p in pieces])
            out.append(np.bincount(key, weights=weights, minlength=n * n_per))
        return out


def _held(volume: np.ndarray, customers: np.ndarray):
    """The cells holding volume, as a state: (flat cells, volume, customers' part)."""
    cells = np.flatnonzero(volume)
    return cells, volume.ravel()[cells], customers.ravel()[cells]


def _move(tree: Tree, targets: np.ndarray, cells, volume, customers):
    """The state's volume summed onto its targets (``n x P`` flat cells, see :func:`nearest`).
    Returns the state that arrived and, per period, what went above the top; None for an
    empty state."""
    n, n_per = tree.volume.shape
    if not cells.size:
        return None
    key = targets.ravel()[cells]
    size = (n + 1) * n_per
    vol = np.bincount(key, weights=volume, minlength=size)
    cus = np.bincount(key, weights=customers, minlength=size)
    at = np.flatnonzero(vol[: n * n_per])
    return (at, vol[at], cus[at]), vol[n * n_per :], cus[n * n_per :]


def _chain(tree, book, part, state, nxt, rates, paid=None):
    """Levels of ``rates`` paid up a chain: level ``k`` goes to the member ``nxt`` gives for
    where level ``k - 1`` was (the ``state`` starts below level 0). ``paid``: who of them is
    paid (None: all; the others' level is unpaid). Above the top, the rest of the rates is unpaid."""
    tails = [sum(rates[k:]) for k in range(len(rates) + 1)]
    for k, rate in enumerate(rates):
        moved = _move(tree, nxt, *state)
        if moved is None:
            return
        state, top, ctop = moved
        book.unpay(part, tails[k] * top, tails[k] * ctop)
        cells, vol, cus = state
        if paid is None:
            book.pay(part, cells, rate * vol, rate * cus)
            continue
        ok = paid.ravel()[cells]
        book.pay(part, cells[ok], rate * vol[ok], rate * cus[ok])
        off = ~ok
        book.unpay(part, rate * vol[off], rate * cus[off], cells[off])


def status(tree: Tree, plan, fixed=None):
    """Per member and period: personal volume, qualified, rank index (:data:`NO_RANK` below the
    lowest). ``fixed``: a rank matrix from a ``ranks`` frame, used as it is."""
    n, n_per = tree.volume.shape
    me = np.arange(n)
    owner = np.where(tree.customer, tree.parent, me)  # customers' orders count for their sponsor
    ok = owner >= 0
    key = (owner[ok][:, None] * n_per + np.arange(n_per)).ravel()
    pv = np.bincount(key, weights=tree.volume[ok].ravel(), minlength=n * n_per)
    pv = pv.astype(np.float64, copy=False).reshape(n, n_per)  # float even without orders
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


def _unilevel(tree, book, plan, q, state):
    if plan.compression:  # the unqualified are skipped: the next qualified upline moves up
        nxt = nearest(tree, q[None])[0]
        _chain(tree, book, "unilevel", state, nxt, plan.unilevel)
        return
    _chain(tree, book, "unilevel", state, sponsors(tree), plan.unilevel, paid=q)


def _stairstep(tree, book, plan, q, rank, broke, state):
    """Each upline earns its rate above the mark (the highest rate paid below it on the order);
    the chain stops at a breakaway member, and what the top rate leaves is unpaid."""
    rates = np.array([r.rate for r in plan.ranks])
    top = float(rates.max())
    own = np.where(q & (rank >= 0), rates[np.maximum(rank, 0)], 0.0).ravel()
    marks = np.array(sorted({0.0, *rates.tolist()}))
    level = np.searchsorted(marks, own)  # own rate as an index into marks
    # for a mark, the next member that changes anything: a higher rate, or a breakaway member
    ahead = nearest(
        tree, np.stack([(level > j).reshape(q.shape) | broke for j in range(len(marks))])
    )
    broke = broke.ravel()
    cells, vol, cus = state
    # a breakaway buyer's order leaves every upline's stairstep
    out = broke[cells]
    book.unpay("stairstep", top * vol[out], top * cus[out], cells[out])
    cells, vol, cus = cells[~out], vol[~out], cus[~out]
    mark = np.zeros(cells.shape, dtype=np.int64)
    for _ in range(len(marks) + 1):
        if not cells.size:
            return
        nxt = []
        for m in np.unique(mark):
            mine = mark == m
            moved = _move(tree, ahead[m], cells[mine], vol[mine], cus[mine])
            (at, v, c), above, cabove = moved
            book.unpay("stairstep", (top - marks[m]) * above, (top - marks[m]) * cabove)
            gain = np.maximum(own[at] - marks[m], 0.0)
            up = gain > 0
            book.pay("stairstep", at[up], gain[up] * v[up], gain[up] * c[up])
            stop = broke[at]  # above a breakaway member, the rest of the top rate is unpaid
            rest = top - np.maximum(own[at[stop]], marks[m])
            book.unpay("stairstep", rest * v[stop], rest * c[stop], at[stop])
            go = ~stop & (level[at] < len(marks) - 1)  # a top-rate member leaves nothing
            nxt.append((at[go], v[go], c[go], level[at[go]]))
        cells, vol, cus, mark = (np.concatenate(x) for x in zip(*nxt, strict=True))


def _generation(tree, book, plan, q, broke, state):
    """An order belongs to the group of the first breakaway member at or above its buyer; the
    k-th breakaway member above that one earns ``generation_rates[k-1]``."""
    n, n_per = q.shape
    me = np.arange(n)[:, None] * n_per + np.arange(n_per)
    if plan.compression:
        found = nearest(tree, np.stack([broke, broke & q]))
        group_up, nxt, paid = found[0], found[1], None
    else:
        group_up = nxt = nearest(tree, broke[None])[0]
        paid = q
    moved = _move(tree, np.where(broke, me, group_up), *state)
    if moved is None:
        return
    state, none, cnone = moved
    total = sum(plan.generation_rates)
    book.unpay("generation", total * none, total * cnone)  # in no breakaway group
    _chain(tree, book, "generation", state, nxt, plan.generation_rates, paid)


def _direct(tree, book, part, rate, state, paid=None):
    """``rate`` on each buyer's volume to its sponsor (``paid``: who of them is paid)."""
    _chain(tree, book, part, state, sponsors(tree), (rate,), paid)


def compute(tree: Tree, plan, fixed=None):
    """The commission rows (a Polars frame as :func:`toolkit.income.commissions.combine`
    gives them) and the status matrices ``(pv, q, rank)``."""
    volume = tree.volume
    customers = volume * tree.customer[:, None]
    pv, q, rank = status(tree, plan, fixed)
    book = _Book(*volume.shape)
    if plan.retail_margin:
        retail = tree.amount * tree.retail[:, None]
        _direct(tree, book, "retail", plan.retail_margin, _held(retail, retail))
    if plan.fast_start:
        fast = _held(tree.fast, tree.fast * tree.customer[:, None])
        _direct(tree, book, "fast_start", plan.fast_start, fast, q)
    b = plan.breakaway_index
    broke = np.zeros(q.shape, bool) if b is None else rank >= b
    bought = _held(volume, customers)
    if plan.unilevel:
        _unilevel(tree, book, plan, q, bought)
    if plan.ranks:
        _stairstep(tree, book, plan, q, rank, broke, bought)
    if plan.generation_rates:
        _generation(tree, book, plan, q, broke, bought)
    return rows(tree, book), (pv, q, rank)


def rows(tree: Tree, book: _Book):
    """The book as result rows, sorted by period, member (unpaid last), component and part."""
    import polars as pl

    n, n_per = tree.volume.shape
    keys, amounts, customers = [], [], []
    for component in book.paid:
        c = COMPONENT_ORDER.index(component)
        amount, cus = book.totals(component)  # period-major: the cells come out sorted
        cells = np.flatnonzero(amount != 0)
        t, who = np.divmod(cells, n)
        keys.append(((t * (n + 1) + who) * 8 + c) * 8 + c)
        amounts.append(amount[cells])
        customers.append(cus[cells])
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


def purchases_frame(tree: Tree, period: str):
    """member_id, period, ``purchases`` (``orders.amount`` summed) per member and ``period``,
    a calendar period made of whole periods of the tree's (months into quarters or years);
    cells without an amount are left out (the income table reads them as 0)."""
    import polars as pl

    n, n_per = tree.volume.shape
    amount = tree.orders["amount"].cast(pl.Float64).fill_null(0.0).to_numpy()
    per_cell = np.bincount(tree.key, weights=amount, minlength=n * n_per).reshape(n, n_per)
    month = tree.periods  # month codes: year * 12 + month - 1
    coarse = {"M": month, "Q": (month // 12) * 4 + (month % 12) // 3, "Y": month // 12}[period]
    first = np.flatnonzero(np.r_[True, coarse[1:] != coarse[:-1]])[: len(coarse)]
    codes = coarse[first]
    summed = np.add.reduceat(per_cell, first, axis=1) if len(codes) else np.zeros((n, 0))
    cells = np.flatnonzero(summed.ravel())
    who, t = np.divmod(cells, max(len(codes), 1))
    starts = period_starts(codes, period, tree.starts.dtype)
    return pl.DataFrame(
        {
            "member_id": tree.ids.gather(who),
            "period": starts.gather(t),
            "purchases": summed.ravel()[cells],
        }
    )
