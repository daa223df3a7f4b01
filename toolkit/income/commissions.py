"""Commissions: a compensation plan applied to a real genealogy and its orders.

Orders are first summed per buyer and period (a plan pays on a period's volume, so the order
grain adds nothing). Each component then walks that volume up the sponsor chains one level at a
time: a state row says "this much volume, bought in this period, is now at this upline, with
this much of the plan already used", and rows that reach the same upline in the same state are
merged, so the work per level is bounded by members x periods, not by orders. Every amount a plan
would pay on an order is either paid to a member or reported as unpaid (``member_id`` empty).

That is the Narwhals route, which every engine runs (DuckDB, PySpark, PyArrow). Polars inputs,
eager or lazy, and pandas inputs (handed to Polars) take the numpy route instead
(:mod:`toolkit.income._tree_arrays`, :mod:`toolkit.income._array_payouts`): ids encoded once to
integer codes, members x periods matrices, and one array step per tree level or plan level, with
the same rows (tests/income/test_income_routes.py compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw

from toolkit.frames import collect, from_native, is_lazy
from toolkit.income._array_payouts import compute as array_payouts
from toolkit.income._array_payouts import purchases_frame, ranked_cells, status_frame
from toolkit.income._engine import (
    Genealogy,
    check_period,
    count,
    first_ids,
    genealogy,
    handoff,
    materialize,
    period_of,
    pick,
    settle,
    to_result,
)
from toolkit.income._tree_arrays import covers, encode
from toolkit.income.plan import CompensationPlan
from toolkit.schema import CUSTOMER_ROLES, DataError

COMPONENTS = ("retail", "unilevel", "stairstep", "generation", "fast_start", "unpaid")
NO_RANK = -1  # below the lowest rank (an integer sentinel: pandas ints cannot hold nulls)
RESULT_COLUMNS = ("member_id", "period", "component", "part", "amount", "from_customer_volume")


def commissions(data, plan: CompensationPlan, *, period: str = "M", ranks=None):
    """What ``plan`` pays on the orders in ``data``: one row per payee, period and component.

    Parameters
    ----------
    data : CRMData
        ``members`` (member_id, sponsor_id, joined_at, role, left_at) and ``orders``
        (member_id, ordered_at, amount, volume), as pandas, Polars, PyArrow, DuckDB or PySpark
        frames (both of the same kind).
    plan : CompensationPlan
        The plan. Its rules, as applied here:

        - a buyer's *uplines* are its sponsor (level 1), the sponsor's sponsor (level 2), ...;
          no component pays a member on their own orders;
        - *personal volume* of a member in a period: their own orders plus those of the retail
          and preferred customers they sponsored; *group volume*: their personal volume plus
          that of everyone below them, except the groups of members who broke away;
        - *qualified* in a period: not a retail customer, joined, not left by the end of the
          period, personal volume at least ``plan.min_personal_volume``; only qualified members
          are paid, except the retail margin, which goes to the sponsor of a retail customer;
        - unilevel ``rates[k]`` go to the (k+1)-th upline (with ``compression`` the unqualified
          are skipped; without, their level is unpaid; levels above a root are unpaid);
        - stairstep: each qualified upline earns its rank's rate minus the highest rate already
          paid below it on that order (never below 0). The chain stops at the first member at or
          above the breakaway rank (the buyer included): above it the stairstep is unpaid. What
          the top rate leaves unpaid (nobody of the top rank above) is unpaid;
        - generation: the order belongs to the group of the first breakaway member at or above
          its buyer; the k-th breakaway member above that one earns ``generation_rates[k-1]``
          (compression as for unilevel); an order in no breakaway group pays no generation;
        - fast start: the sponsor of a member earns ``fast_start`` on that member's orders in
          its first ``fast_start_days`` days.
    period : {"M", "Q", "Y"}
        Calendar month, quarter or year: the period qualification, ranks and volumes use.
    ranks : frame, optional
        ``member_id``, ``period`` (any moment in the period) and ``rank`` (a name from
        ``plan.ranks``): fixes each member's rank, to reproduce a company's own statement.
        Members and periods absent from it hold no rank.

    Returns
    -------
    frame of the same kind as ``data.orders``
        One row per payee, period and component, sorted by period, member and component:

        - ``member_id``: the payee; empty for unpaid amounts;
        - ``period``: the first instant of the period;
        - ``component``: ``retail``, ``unilevel``, ``stairstep``, ``generation``,
          ``fast_start``, or ``unpaid``;
        - ``part``: the part of the plan the amount belongs to (the component itself, or for an
          unpaid row the component that did not pay it);
        - ``amount``: in the currency of ``orders.amount`` (volume times rate);
        - ``from_customer_volume``: the part of ``amount`` earned on orders of retail and
          preferred customers, as opposed to participants' own purchases.

        Summed over all rows, ``amount`` is exactly what the plan's rates give on every order:
        ``volume x (sum(unilevel) + top stairstep rate + sum(generation_rates))``, plus
        ``fast_start`` on fast-start volume and ``retail_margin`` on retail customers' amounts.

    Raises
    ------
    DataError
        Bad members or orders (unknown sponsors, sponsor cycles, orders for unknown members),
        or a bad ``ranks`` frame (naming the column, the member and the period).
    """
    data, back, extra = handoff(data, ranks=ranks)
    result = payouts(data, plan, period=period, ranks=extra["ranks"])
    return to_result(result.table, result.genealogy, back)


@dataclass
class Payouts:
    """What :func:`payouts` computes, as Narwhals frames: the commission ``table``, each member's
    ``status`` per period (``_pv``, ``_rank``), the checked ``genealogy`` and the buyer ``cells``.

    On the numpy route ``cells`` is None and ``status`` holds ``_rank`` only where it is above
    what a member-period without a row holds (what :func:`toolkit.participant_income` reads)."""

    table: object
    status: object
    genealogy: Genealogy
    cells: object
    default_rank: bool
    # the numpy route: purchases(period) gives member_id, period, purchases (whole months)
    purchases: object = None


def payouts(data, plan: CompensationPlan, *, period: str = "M", ranks=None) -> Payouts:
    """The engine side of :func:`commissions` (also used by participant income and plan health)."""
    if not isinstance(plan, CompensationPlan):
        raise TypeError(f"plan must be a toolkit.CompensationPlan, got {type(plan).__name__}")
    check_period(period)
    if covers(data, ranks if plan.ranks else None):
        tree = encode(data, plan, period)
        if tree is not None:
            return _array_route(tree, data, plan, period, ranks)
    gen = genealogy(data)
    cells = buyer_cells(gen, plan, period)
    status = member_status(gen, plan, cells, period, ranks)
    walks = _Walks(gen, plan, period, status, default_rank=ranks is None)
    rows = [*_retail(cells, walks), *_fast_start(cells, walks)]
    rows += [walks.rows(cells.head(0), None, "unpaid", nw.lit(0.0), "unilevel")]  # never empty
    if plan.unilevel:
        rows += _unilevel(cells, walks)
    if plan.ranks:
        rows += _stairstep(cells, walks)
    if plan.generation_rates:
        rows += _generation(cells, walks)
    table = materialize(combine(rows, gen))
    return Payouts(table, status, gen, cells, ranks is None)


def _array_route(tree, data, plan: CompensationPlan, period: str, ranks) -> Payouts:
    """:func:`payouts` on the numpy route (:mod:`toolkit.income._tree_arrays`)."""
    import polars as pl

    role = pl.col("role")
    members = tree.members.select(
        "member_id",
        "_up",
        "role",
        (role != "retail_customer").alias("_participant"),
        role.is_in(list(CUSTOMER_ROLES)).alias("_customer"),
        (role == "retail_customer").alias("_retail"),
        "joined_at",
        "left_at",
        pl.Series("_level", tree.level, dtype=pl.Int32),
    )
    members = nw.from_native(members.lazy())
    gen = Genealogy(
        members,
        nw.from_native(tree.orders.lazy()),
        tree.depth,
        not is_lazy(nw.from_native(data.members)),
        members.collect_schema()["member_id"],
    )
    fixed, status = None, None
    if ranks is not None and plan.ranks:
        keyed = collect(rank_override(ranks, plan, gen, period)).to_native()
        status = keyed
        fixed = ranked_cells(tree, keyed, period)
    table, (_, _, rank) = array_payouts(tree, plan, fixed)
    if status is None:  # computed ranks: a cell left out holds the rank that needs no volume
        zero = [i for i, r in enumerate(plan.ranks) if not r.personal_volume and not r.group_volume]
        status = status_frame(tree, rank, max(zero, default=-1))
    table, status = (nw.from_native(f.lazy()) for f in (table, status))

    def purchases(by: str):
        if period != "M":
            return None
        return nw.from_native(purchases_frame(tree, by).lazy())

    return Payouts(table, status, gen, None, ranks is None, purchases)


# --------------------------------------------------------------------------------------------
# volume per buyer and period, and each member's standing in each period


def buyer_cells(gen: Genealogy, plan: CompensationPlan, period: str):
    """Orders summed per buyer and period: ``_vol``, ``_cvol`` (the customers' part), ``_amt``
    (retail customers' amounts), ``_fsvol`` (fast-start volume), with the buyer's sponsor."""
    m = gen.members.select("member_id", "_up", "_customer", "_retail", "joined_at")
    o = gen.orders.select("member_id", "ordered_at", "amount", "volume").join(m, on="member_id")
    fast = nw.col("ordered_at") < nw.col("joined_at").dt.offset_by(f"{plan.fast_start_days}d")
    o = o.with_columns(
        period_of("ordered_at", period).alias("period"),
        nw.when(fast).then(nw.col("volume")).otherwise(nw.lit(0.0)).alias("_fs"),
        nw.when(nw.col("_retail")).then(nw.col("amount")).otherwise(nw.lit(0.0)).alias("_ra"),
    )
    # grouped by buyer and period only: a null sponsor in a group key becomes NaN in pandas
    cells = o.group_by("member_id", "period").agg(
        nw.col("volume").sum().alias("_vol"),
        nw.col("_ra").sum().alias("_amt"),
        nw.col("_fs").sum().alias("_fsvol"),
    )
    cells = cells.join(m.select("member_id", "_up", "_customer"), on="member_id")
    cells = cells.with_columns(
        nw.when(nw.col("_customer")).then(nw.col("_vol")).otherwise(nw.lit(0.0)).alias("_cvol")
    )
    return materialize(cells)


def personal_volume(gen: Genealogy, cells):
    """Per member and period: own orders plus the orders of the customers they sponsored."""
    owner = nw.when(nw.col("_customer")).then(nw.col("_up")).otherwise(nw.col("member_id"))
    pv = cells.with_columns(owner.alias("_owner")).filter(~nw.col("_owner").is_null())
    return (
        pv.group_by("_owner", "period")
        .agg(nw.col("_vol").sum().alias("_pv"))
        .rename({"_owner": "member_id"})
    )


def rank_index(pv: nw.Expr, gv: nw.Expr, plan: CompensationPlan) -> nw.Expr:
    """The highest rank whose thresholds ``pv`` and ``gv`` reach (null below the lowest)."""
    out = nw.lit(NO_RANK)
    for i, rank in enumerate(plan.ranks):  # lowest first: a later reached rank overrides
        reached = (pv >= rank.personal_volume) & (gv >= rank.group_volume)
        out = nw.when(reached).then(nw.lit(i)).otherwise(out)
    return out


def member_status(gen: Genealogy, plan: CompensationPlan, cells, period: str, ranks=None):
    """Per member and period with volume: ``_pv``, ``_gv`` and ``_rank`` (index into plan.ranks).

    Members and periods without a row have no volume; :func:`lookup` fills them in. Group volume
    is folded up from the deepest level, because whether a member breaks away (and so keeps its
    group from its upline) depends on its own group volume.
    """
    pv = materialize(personal_volume(gen, cells))
    if not plan.ranks:
        return pv.with_columns(nw.lit(NO_RANK).alias("_rank"))
    if ranks is not None:
        fixed = rank_override(ranks, plan, gen, period)
        return materialize(
            pv.join(fixed, on=["member_id", "period"], how="full", suffix="_r").select(
                nw.coalesce(nw.col("member_id"), nw.col("member_id_r")).alias("member_id"),
                nw.coalesce(nw.col("period"), nw.col("period_r")).alias("period"),
                nw.col("_pv").fill_null(0.0),
                nw.col("_rank").fill_null(NO_RANK),
            )
        )
    b = plan.breakaway_index
    info = gen.members.select("member_id", "_up", "_participant", "_level")
    pv = materialize(pv.join(info, on="member_id"))
    done, incoming = [], None
    for level in range(gen.depth, -1, -1):
        here = pv.filter(nw.col("_level") == level).select(
            "member_id", "period", "_pv", nw.lit(0.0).alias("_in")
        )
        if incoming is not None:
            here = nw.concat([here, incoming], how="vertical")
        here = (
            here.group_by("member_id", "period")
            .agg(nw.col("_pv").sum(), nw.col("_in").sum())
            .join(info.select("member_id", "_up", "_participant"), on="member_id")
        )
        here = here.with_columns((nw.col("_pv") + nw.col("_in")).alias("_gv"))
        rank = rank_index(nw.col("_pv"), nw.col("_gv"), plan)
        here = materialize(
            here.with_columns(
                nw.when(nw.col("_participant")).then(rank).otherwise(nw.lit(NO_RANK)).alias("_rank")
            )
        )
        done.append(here.select("member_id", "period", "_pv", "_gv", "_rank"))
        kept = nw.col("_gv")
        if b is not None:  # a breakaway member's group leaves its upline's group volume
            kept = nw.when(nw.col("_rank") >= b).then(nw.lit(0.0)).otherwise(kept)
        incoming = materialize(
            here.filter(~nw.col("_up").is_null())
            .with_columns(kept.alias("_kept"))
            .group_by("_up", "period")
            .agg(nw.col("_kept").sum().alias("_in"))
            .select(nw.col("_up").alias("member_id"), "period", nw.lit(0.0).alias("_pv"), "_in")
        )
    return materialize(nw.concat(done, how="vertical"))


def rank_override(ranks, plan: CompensationPlan, gen: Genealogy, period: str):
    """The ``ranks`` frame checked and mapped to rank indices: member_id, period, _rank."""
    frame = from_native(ranks, "ranks", ["member_id", "period", "rank"])
    if frame.implementation != gen.members.implementation:
        raise DataError(
            f"ranks is a {frame.implementation} frame but members is {gen.members.implementation}: "
            "pass both from the same library"
        )
    if not is_lazy(frame) and frame.implementation.is_polars():
        frame = frame.lazy()
    dtype = frame.collect_schema()["period"]
    if not isinstance(dtype, (nw.Datetime, nw.Date)):
        raise DataError(
            f"ranks.period must hold timestamps (any moment in each period), got {dtype}; "
            "convert it first, e.g. with pandas.to_datetime"
        )
    names = [r.name for r in plan.ranks]
    problems = []
    bad = frame.filter(nw.col("rank").is_null() | ~nw.col("rank").is_in(names))
    if count(bad):
        problems.append(
            f"ranks.rank: {count(bad):,} rows with a rank that is not in the plan (valid: "
            f"{', '.join(names)}) (first: {first_ids(bad, ['member_id', 'period', 'rank'])})"
        )
    stray = frame.join(gen.members.select("member_id"), on="member_id", how="anti")
    if count(stray):
        problems.append(
            f"ranks.member_id: {count(stray):,} rows for members not in the members table "
            f"(first: {first_ids(stray, ['member_id', 'period'])})"
        )
    empty = frame.filter(nw.col("period").is_null())
    if count(empty):
        problems.append(
            f"ranks.period: {count(empty):,} rows without a period "
            f"(first: {first_ids(empty, ['member_id', 'rank'])})"
        )
    keyed = frame.filter(~nw.col("period").is_null()).with_columns(
        period_of("period", period).alias("period")
    )
    twice = keyed.group_by("member_id", "period").agg(nw.len().alias("_n")).filter(nw.col("_n") > 1)
    if count(twice):
        problems.append(
            f"ranks: {count(twice):,} members with more than one rank in a period "
            f"(first: {first_ids(twice, ['member_id', 'period'])})"
        )
    if problems:
        raise DataError(
            "The ranks frame cannot fix the ranks:\n" + "\n".join(f"- {p}" for p in problems),
            problems,
        )
    index = nw.lit(NO_RANK)
    for i, name in enumerate(names):
        index = nw.when(nw.col("rank") == name).then(nw.lit(i)).otherwise(index)
    return keyed.select("member_id", "period", index.alias("_rank"))


# --------------------------------------------------------------------------------------------
# walking volume up the chains


@dataclass
class _Walks:
    gen: Genealogy
    plan: CompensationPlan
    period: str
    status: object
    default_rank: bool  # computed ranks: a member without volume holds the rank needing none

    def __post_init__(self):
        # what every level's lookup joins, prepared once
        self._members = materialize(
            self.gen.members.select(
                nw.col("member_id").alias("_cur"),
                nw.col("_up").alias("_next"),
                "_participant",
                period_of("joined_at", self.period).alias("_jp"),
                period_of("left_at", self.period).alias("_lp"),
            )
        )
        self._status = self.status.select(
            nw.col("member_id").alias("_cur"), "period", "_pv", "_rank"
        )

    def lookup(self, state):
        """``state`` (``_cur``, ``period``, ...) with what the walks need about ``_cur`` in that
        period: ``_next`` (its sponsor), ``_q`` (qualified), ``_rank``, ``_b`` (broke away)."""
        plan = self.plan
        out = state.join(self._members, on="_cur", how="left").join(
            self._status, on=["_cur", "period"], how="left"
        )
        # left by the end of the period: left in an earlier period or in this one
        stayed = nw.col("_lp").is_null() | (nw.col("_lp") > nw.col("period"))
        qualified = (
            nw.col("_participant")
            & (nw.col("_jp") <= nw.col("period"))
            & stayed
            & (nw.col("_pv").fill_null(0.0) >= plan.min_personal_volume)
        )
        rank = nw.col("_rank").fill_null(NO_RANK)
        if self.default_rank and plan.ranks:  # no volume at all: the rank that needs none
            base = rank_index(nw.lit(0.0), nw.lit(0.0), plan)
            missing = nw.col("_rank").is_null() & nw.col("_participant").fill_null(False)
            rank = nw.when(missing).then(base).otherwise(rank)
        out = out.with_columns(qualified.fill_null(False).alias("_q"), rank.alias("_rank"))
        b = plan.breakaway_index
        broke = nw.lit(False) if b is None else nw.col("_rank") >= b
        return out.with_columns(broke.alias("_b")).drop("_participant", "_jp", "_lp", "_pv")

    def rows(self, frame, payee, component: str, rate, part: str | None = None):
        """Payout rows: ``rate`` times the volume in ``frame``, to ``payee`` (None: unpaid)."""
        who = nw.lit(None).cast(self.gen.id_dtype) if payee is None else nw.col(payee)
        return frame.select(
            who.cast(self.gen.id_dtype).alias("member_id"),
            nw.col("period"),
            nw.lit("unpaid" if payee is None else component).alias("component"),
            nw.lit(part or component).alias("part"),
            (rate * nw.col("_vol")).cast(nw.Float64).alias("amount"),
            (rate * nw.col("_cvol")).cast(nw.Float64).alias("from_customer_volume"),
        )

    def walk(self, state, keys, step):
        """Run ``step`` level by level until no volume is left on the way up.

        ``step(frame)`` gets the state with :meth:`lookup`'s columns and returns (payout rows,
        the state one level up). Rows reaching the same upline in the same state are merged.
        """
        rows = []
        state, left = settle(state)
        for _ in range(self.gen.depth + 2):  # a chain is at most depth + 1 members long
            if not left:
                break
            emitted, state = step(materialize(self.lookup(state)))
            rows += emitted
            state, left = settle(
                state.group_by("_cur", "period", *keys).agg(
                    nw.col("_vol").sum(), nw.col("_cvol").sum()
                )
            )
        return rows

    def top(self, state, part: str, rest):
        """Rows whose next upline does not exist: ``rest`` of the rates is unpaid."""
        ended = state.filter(nw.col("_cur").is_null())
        return [self.rows(ended, None, "unpaid", rest, part)], state.filter(
            ~nw.col("_cur").is_null()
        )


def _tails(rates) -> list[float]:
    return [sum(rates[k:]) for k in range(len(rates) + 1)]


def _start(cells, cur: str, **keys):
    return cells.select(
        nw.col(cur).alias("_cur"), "period", *(v.alias(k) for k, v in keys.items()), "_vol", "_cvol"
    )


def _unilevel(cells, w: _Walks):
    rates, n = w.plan.unilevel, len(w.plan.unilevel)
    tails = _tails(rates)
    rows, state = w.top(_start(cells, "_up", _k=nw.lit(0)), "unilevel", nw.lit(tails[0]))

    def step(here):
        rate = pick(nw.col("_k"), rates, 0.0)
        out = [w.rows(here.filter(nw.col("_q")), "_cur", "unilevel", rate)]
        counted = nw.col("_q")
        if not w.plan.compression:
            out.append(w.rows(here.filter(~nw.col("_q")), None, "unpaid", rate, "unilevel"))
            counted = nw.lit(True)
        up = here.select(
            nw.col("_next").alias("_cur"),
            "period",
            nw.when(counted).then(nw.col("_k") + 1).otherwise(nw.col("_k")).alias("_k"),
            "_vol",
            "_cvol",
        ).filter(nw.col("_k") < n)
        ended, up = w.top(up, "unilevel", pick(nw.col("_k"), tails, 0.0))
        return out + ended, up

    return rows + w.walk(state, ["_k"], step)


def _stairstep(cells, w: _Walks):
    plan = w.plan
    rates, top = [r.rate for r in plan.ranks], plan.top_rate
    # an order of a member who broke away leaves every upline's stairstep
    buyers = materialize(w.lookup(_start(cells, "member_id")))
    rows = [w.rows(buyers.filter(nw.col("_b")), None, "unpaid", nw.lit(top), "stairstep")]
    start = buyers.filter(~nw.col("_b")).select(
        nw.col("_next").alias("_cur"), "period", nw.lit(0.0).alias("_mark"), "_vol", "_cvol"
    )
    ended, state = w.top(start, "stairstep", nw.lit(top))
    rows += ended

    def step(here):
        own = (
            nw.when(nw.col("_q") & (nw.col("_rank") >= 0))
            .then(pick(nw.col("_rank"), rates, 0.0))
            .otherwise(nw.lit(0.0))
        )
        here = here.with_columns(own.alias("_own"))
        gain = nw.col("_own") - nw.col("_mark")
        out = [w.rows(here.filter(gain > 0), "_cur", "stairstep", gain)]
        here = here.with_columns(
            nw.when(gain > 0).then(nw.col("_own")).otherwise(nw.col("_mark")).alias("_mark")
        )
        left = nw.lit(top) - nw.col("_mark")
        # the chain stops at a breakaway member: above it, what the top rate leaves is unpaid
        out.append(
            w.rows(here.filter(nw.col("_b") & (left > 0)), None, "unpaid", left, "stairstep")
        )
        up = here.filter(~nw.col("_b") & (left > 0)).select(
            nw.col("_next").alias("_cur"), "period", "_mark", "_vol", "_cvol"
        )
        ended, up = w.top(up, "stairstep", left)
        return out + ended, up

    return rows + w.walk(state, ["_mark"], step)


def _generation(cells, w: _Walks):
    rates, n = w.plan.generation_rates, len(w.plan.generation_rates)
    tails = _tails(rates)
    compress = w.plan.compression
    # _g = -1 while looking for the order's breakaway group; then generations counted above it
    state = _start(cells, "member_id", _g=nw.lit(-1))

    def step(here):
        looking, earning = nw.col("_g") < 0, (nw.col("_g") >= 0) & nw.col("_b")
        rate = pick(nw.col("_g"), rates, 0.0)
        out = [w.rows(here.filter(earning & nw.col("_q")), "_cur", "generation", rate)]
        if not compress:
            out.append(
                w.rows(here.filter(earning & ~nw.col("_q")), None, "unpaid", rate, "generation")
            )
        counted = earning & (nw.col("_q") | nw.lit(not compress))
        g = (
            nw.when(looking & nw.col("_b"))
            .then(nw.lit(0))
            .otherwise(nw.when(counted).then(nw.col("_g") + 1).otherwise(nw.col("_g")))
        )
        up = here.select(
            nw.col("_next").alias("_cur"), "period", g.alias("_g"), "_vol", "_cvol"
        ).filter(nw.col("_g") < n)
        rest = pick(nw.when(nw.col("_g") < 0).then(nw.lit(0)).otherwise(nw.col("_g")), tails, 0.0)
        ended, up = w.top(up, "generation", rest)
        return out + ended, up

    return w.walk(state, ["_g"], step)


def _fast_start(cells, w: _Walks):
    rate = w.plan.fast_start
    if rate == 0:
        return []
    fs = cells.filter(nw.col("_fsvol") > 0).select(
        nw.col("_up").alias("_cur"),
        "period",
        nw.col("_fsvol").alias("_vol"),
        nw.when(nw.col("_customer")).then(nw.col("_fsvol")).otherwise(nw.lit(0.0)).alias("_cvol"),
    )
    here = materialize(w.lookup(fs.filter(~nw.col("_cur").is_null())))
    return [
        w.rows(here.filter(nw.col("_q")), "_cur", "fast_start", nw.lit(rate)),
        w.rows(here.filter(~nw.col("_q")), None, "unpaid", nw.lit(rate), "fast_start"),
        w.rows(fs.filter(nw.col("_cur").is_null()), None, "unpaid", nw.lit(rate), "fast_start"),
    ]


def _retail(cells, w: _Walks):
    rate = w.plan.retail_margin
    if rate == 0:
        return []
    sold = cells.filter(nw.col("_amt") > 0).select(
        nw.col("_up").alias("_cur"),
        "period",
        nw.col("_amt").alias("_vol"),
        nw.col("_amt").alias("_cvol"),
    )
    return [
        w.rows(sold.filter(~nw.col("_cur").is_null()), "_cur", "retail", nw.lit(rate)),
        w.rows(sold.filter(nw.col("_cur").is_null()), None, "unpaid", nw.lit(rate), "retail"),
    ]


def combine(rows, gen: Genealogy):
    """Payout rows summed per payee, period, component and part, sorted."""
    out = (
        nw.concat(rows, how="vertical")
        .group_by("member_id", "period", "component", "part")
        .agg(nw.col("amount").sum(), nw.col("from_customer_volume").sum())
    )
    out = out.filter(nw.col("amount") != 0).select(*RESULT_COLUMNS)
    return out.sort("period", "member_id", "component", "part", nulls_last=True)
