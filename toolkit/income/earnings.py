"""What each participant earned and what it cost them, per period: the rows of a disclosure.

Every participant active at any time in a period counts, leavers and zero earners included;
part-year members keep their ``months_active`` (nothing is annualised).
"""

from __future__ import annotations

import narwhals as nw
import pandas as pd

from toolkit.frames import collect, from_native, latest_timestamp, to_kind
from toolkit.income._engine import (
    check_period,
    count,
    handoff,
    materialize,
    naive,
    period_of,
    pick,
    to_result,
)
from toolkit.income.commissions import NO_RANK, payouts, rank_index
from toolkit.income.plan import CompensationPlan
from toolkit.schema import DataError

MONTHS = {"M": 1, "Q": 3, "Y": 12}
FREQ = {"M": "MS", "Q": "QS", "Y": "YS"}
INCOME_COLUMNS = (
    "member_id",
    "period",
    "role",
    "rank",
    "months_active",
    "gross",
    "fees",
    "lead_spend",
    "other_costs",
    "purchases",
    "net",
    "net_after_purchases",
)


def _month(expr: nw.Expr) -> nw.Expr:
    return expr.dt.year() * 12 + expr.dt.month() - 1


def participant_income(
    data, plan: CompensationPlan, *, period: str = "Y", other_costs_per_month=0.0
):
    """Per participant and period: gross earnings, what they paid, and what they kept.

    Parameters
    ----------
    data : CRMData
        members, orders and leads (``cost`` and ``owner_id``: bought leads), as frames of one
        kind (pandas, Polars, DuckDB, PySpark); ``role_history`` is used when present.
    plan : CompensationPlan
        The plan (commissions are computed month by month, as plans pay, then summed).
    period : {"Y", "Q", "M"}
        Calendar year (the default of income disclosures), quarter or month.
    other_costs_per_month : float
        Other costs of running the business (events, website, travel) per active month.

    Returns
    -------
    frame of the kind of ``data.members``
        One row per participant and period, sorted by period and member:

        - ``member_id``, ``period`` (first instant of the period), ``role`` (from ``members``);
        - ``rank``: the highest rank held in any month of the period (None without ranks);
        - ``months_active``: calendar months of the period in which they were active at some
          time, up to ``as_of`` (0 for a period in which they only paid for leads, or were paid a
          retail margin, after leaving);
        - ``gross``: every commission component paid to them (retail margin included);
        - ``fees``: the starter fee in the period they joined plus the monthly fee for each
          active month;
        - ``lead_spend``: ``leads.cost`` of the leads they own (``owner_id``) created in the period;
        - ``other_costs``: ``other_costs_per_month`` x ``months_active``;
        - ``purchases``: ``amount`` of their own orders, autoship included;
        - ``net = gross - fees - lead_spend - other_costs``;
        - ``net_after_purchases = net - purchases``.

        A participant is a member whose role is not ``retail_customer`` (with a role history:
        who held another role at any time in the period). Everyone active at any time in the
        period counts, including leavers and those who earned nothing; a member who paid for
        leads in a period after leaving also has a row, so lead spend is never lost.
    """
    check_period(period)
    other = float(other_costs_per_month)
    if not other >= 0 or other == float("inf"):
        raise ValueError(
            f"other_costs_per_month must be a finite number >= 0, got {other_costs_per_month!r}"
        )
    data, back, _ = handoff(data, ("members", "orders", "leads", "role_history"))
    result = payouts(data, plan, period="M")
    gen = result.genealogy
    members = gen.members
    leads = from_native(data.leads, "leads", ["cost", "owner_id", "created_at"])
    if leads.implementation != members.implementation:
        raise DataError(
            f"leads and members are different kinds of frame ({leads.implementation} and "
            f"{members.implementation}); pass both from the same library"
        )
    if isinstance(members, nw.LazyFrame) and not isinstance(leads, nw.LazyFrame):
        leads = leads.lazy()  # one computation, one kind: lazy like the genealogy
    as_of = data.as_of
    if as_of is None:
        stamps = [latest_timestamp(members, ["joined_at"])]
        stamps.append(latest_timestamp(gen.orders, ["ordered_at"]))
        as_of = max(naive(s) for s in stamps if pd.notna(s))
    as_of = naive(as_of)

    # the periods, as a frame of the engine's kind
    first = naive(collect(members.select(nw.col("joined_at").min())).item())
    starts = pd.date_range(
        pd.Timestamp(first).to_period(period).start_time, as_of, freq=FREQ[period]
    )
    grid = pd.DataFrame({"period": starts.astype("datetime64[us]")})
    grid["_m0"] = grid["period"].dt.year * 12 + grid["period"].dt.month - 1
    dtype = members.collect_schema()["joined_at"]
    grid = nw.from_native(to_kind(grid, members)).with_columns(nw.col("period").cast(dtype))

    participants = _participants(data, members, grid, period)
    # money per member and period
    pay = result.table.filter(~nw.col("member_id").is_null()).with_columns(
        period_of("period", period).alias("period")
    )
    gross = pay.group_by("member_id", "period").agg(nw.col("amount").sum().alias("gross"))
    purchases = result.purchases(period) if result.purchases else None
    if purchases is None:  # the numpy route has them from its matrices, without a group-by
        own = gen.orders.with_columns(period_of("ordered_at", period).alias("period"))
        purchases = own.group_by("member_id", "period").agg(
            nw.col("amount").sum().alias("purchases")
        )
    spent = leads.filter(~nw.col("owner_id").is_null()).select(
        nw.col("owner_id").cast(gen.id_dtype).alias("member_id"),
        period_of("created_at", period).alias("period"),
        nw.col("cost"),
    )
    spend = spent.group_by("member_id", "period").agg(nw.col("cost").sum().alias("lead_spend"))
    ranks = _ranks(result, plan, period)

    keys = nw.concat(
        [participants.select("member_id", "period")]
        # money outside an active spell (a lead bought after leaving, a retail margin paid to
        # a sponsor who left) keeps its row; purchases made as a retail customer do not
        + [f.select("member_id", "period") for f in (gross, spend)],
        how="vertical",
    ).unique()
    # only participants: a retail customer's purchases are not a participant's cost
    roles = participants.select("member_id", "period").with_columns(nw.lit(True).alias("_in"))
    ever = _ever_participant(data, members)
    keys = keys.join(ever, on="member_id")
    m = members.select("member_id", "role", "joined_at", "left_at")
    out = keys.join(m, on="member_id", how="left").join(
        roles, on=["member_id", "period"], how="left"
    )
    for frame in (gross, purchases, spend, ranks):
        out = out.join(frame, on=["member_id", "period"], how="left")
    out = out.join(grid, on="period", how="left")
    span = MONTHS[period]
    start = nw.max_horizontal(_month(nw.col("joined_at")), nw.col("_m0"))
    end_cap = min_expr(nw.col("_m0") + span - 1, nw.lit(as_of.year * 12 + as_of.month - 1))
    end = (
        nw.when(nw.col("left_at").is_null())
        .then(end_cap)
        .otherwise(min_expr(end_cap, _month(nw.col("left_at"))))
    )
    active = nw.when(nw.col("_in").fill_null(False) & (end >= start)).then(end - start + 1)
    out = out.with_columns(active.otherwise(nw.lit(0)).alias("months_active"))
    joined_here = period_of("joined_at", period) == nw.col("period")
    fees = (
        nw.when(joined_here).then(nw.lit(plan.starter_fee)).otherwise(nw.lit(0.0))
        + nw.col("months_active") * plan.monthly_fee
    )
    rank = nw.col("rank")
    zero = [r.name for r in plan.ranks if r.personal_volume == 0 and r.group_volume == 0]
    if zero and result.default_rank:  # a month without volume holds the rank that needs none
        rank = rank.fill_null(nw.lit(zero[-1]))
    out = out.with_columns(
        rank.alias("rank"),
        nw.col("gross").fill_null(0.0),
        nw.col("purchases").fill_null(0.0),
        nw.col("lead_spend").fill_null(0.0),
        fees.alias("fees"),
        (nw.col("months_active") * other).alias("other_costs"),
    )
    net = nw.col("gross") - nw.col("fees") - nw.col("lead_spend") - nw.col("other_costs")
    out = out.with_columns(net.alias("net")).with_columns(
        (nw.col("net") - nw.col("purchases")).alias("net_after_purchases")
    )
    out = materialize(out.select(*INCOME_COLUMNS).sort("period", "member_id"))
    return to_result(out, gen, back)


def min_expr(a: nw.Expr, b: nw.Expr) -> nw.Expr:
    return nw.when(a <= b).then(a).otherwise(b)


def _spells(data, members):
    """Role spells: member_id, role, from_at and ``_until`` (the next spell's start, or null)."""
    if data.role_history is None:
        return None
    history = from_native(data.role_history, "role_history", ["member_id", "role", "from_at"])
    if not count(history.select("member_id")):  # an empty history says nothing: as no table
        return None
    if history.implementation != members.implementation:
        raise DataError(
            "role_history and members are different kinds of frame; pass both from one library"
        )
    if not history.implementation.is_pandas() and not isinstance(history, nw.LazyFrame):
        history = history.lazy()
    return history.with_columns(
        nw.col("from_at").shift(-1).over("member_id", order_by="from_at").alias("_until")
    )


def _ever_participant(data, members):
    """Members who were participants at some time (their money rows are kept)."""
    spells = _spells(data, members)
    if spells is None:
        return members.filter(nw.col("_participant")).select("member_id")
    return spells.filter(nw.col("role") != "retail_customer").select("member_id").unique()


def _participants(data, members, grid, period):
    """(member_id, period) for every participant active at any time in the period."""
    grid_keys = grid.select("period")
    active = members.join(grid_keys, how="cross").filter(
        (period_of("joined_at", period) <= nw.col("period"))
        & (nw.col("left_at").is_null() | (nw.col("left_at") > nw.col("period")))
    )
    spells = _spells(data, members)
    if spells is None:
        return active.filter(nw.col("_participant")).select("member_id", "period")
    # a spell [from_at, _until) overlaps the period: it starts before the period ends and ends
    # after the period starts
    held = (
        spells.filter(nw.col("role") != "retail_customer")
        .join(grid_keys, how="cross")
        .filter(
            (period_of("from_at", period) <= nw.col("period"))
            & (nw.col("_until").is_null() | (nw.col("_until") > nw.col("period")))
        )
        .select("member_id", "period")
        .unique()
    )
    return active.select("member_id", "period").join(held, on=["member_id", "period"])


def _ranks(result, plan, period):
    """The highest rank a member held in any month of the period, by name."""
    if not plan.ranks:
        return (
            result.status.select("member_id", "period")
            .head(0)
            .with_columns(nw.lit(None).cast(nw.String).alias("rank"))
        )
    status = result.status.with_columns(period_of("period", period).alias("period"))
    best = status.group_by("member_id", "period").agg(nw.col("_rank").max())
    base = rank_index(nw.lit(0.0), nw.lit(0.0), plan) if result.default_rank else nw.lit(NO_RANK)
    names = [r.name for r in plan.ranks]
    # months without volume hold the rank that needs none (computed ranks only)
    idx = nw.max_horizontal(nw.col("_rank"), base)
    return best.select("member_id", "period", pick(idx, names, None).cast(nw.String).alias("rank"))
