"""Cohort tables, the member mix, role transitions and projections: hand-checked numbers,
engines agreeing, censoring honesty, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit
from tests.support import to_engine, to_pandas
from toolkit.cohorts import (
    cohort_matrix,
    cohort_table,
    member_mix,
    pool_cohorts,
    project_cohorts,
    role_transitions,
)

t = pd.Timestamp
AS_OF = t("2025-03-15")


@pytest.fixture
def crm():
    """Five members, six orders, as of 15 March 2025 (March is in progress).

    January cohort: A (stays), B (leaves 15 Feb), C (joins 31 Jan, leaves 1 Mar at midnight).
    February cohort: D. March cohort: E.
    Orders: A 5 Jan 10$, A 25 Jan 20$, B 21 Jan 30$, A 2 Feb 50$, D 10 Mar 40$, E 4 Mar 60$.
    """
    members = pd.DataFrame(
        {
            "member_id": ["A", "B", "C", "D", "E"],
            "sponsor_id": [None, "A", "A", "B", "A"],
            "joined_at": [
                t("2025-01-05"),
                t("2025-01-20"),
                t("2025-01-31"),
                t("2025-02-10"),
                t("2025-03-03"),
            ],
            "left_at": [pd.NaT, t("2025-02-15"), t("2025-03-01"), pd.NaT, pd.NaT],
            "role": [
                "preferred_customer",
                "business_builder",
                "retail_customer",
                "preferred_customer",
                "business_builder",
            ],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
            "member_id": ["A", "A", "B", "D", "A", "E"],
            "ordered_at": [
                t("2025-01-05"),
                t("2025-01-25"),
                t("2025-01-21"),
                t("2025-03-10"),
                t("2025-02-02"),
                t("2025-03-04"),
            ],
            "amount": [10.0, 20, 30, 40, 50, 60],
            "volume": [8.0, 16, 24, 32, 40, 48],
        }
    )
    return members, orders


def cell(table, cohort, period, col="rate"):
    row = table[(table["cohort"] == t(cohort)) & (table["period"] == period)]
    assert len(row) == 1
    return row[col].iloc[0]


# ------------------------------------------------------------------ hand-checked numbers


def test_active_by_hand(crm):
    members, orders = crm
    table = cohort_table(members, orders, as_of=AS_OF)
    assert list(table.columns) == [
        "cohort",
        "period",
        "size",
        "value",
        "rate",
        "ci_lower",
        "ci_upper",
        "complete",
        "metric",
        "reference",
        "alpha",
    ]
    # January: 3 active at the end of January, 2 at the end of February (B left; C left on
    # 1 March at midnight, so was still there at the end of February)
    assert cell(table, "2025-01-01", 0) == 1.0
    assert cell(table, "2025-01-01", 1) == pytest.approx(2 / 3)
    assert cell(table, "2025-01-01", 1, "size") == 3
    # the interval is Wilson's: 2 of 3 gives (0.2077, 0.9385)
    assert cell(table, "2025-01-01", 1, "ci_lower") == pytest.approx(0.20766, abs=1e-4)
    assert cell(table, "2025-01-01", 1, "ci_upper") == pytest.approx(0.93851, abs=1e-4)


def test_unfinished_cells_are_unknown_not_zero(crm):
    # trap: March has not ended on 15 March; showing its cells as 0% (or as the part-month
    # count over the cohort) is the classic cohort-chart error
    members, orders = crm
    table = cohort_table(members, orders, as_of=AS_OF, metric="ordering")
    march = table[table["cohort"] + pd.to_timedelta(0, "D") >= t("2025-01-01")]
    unfinished = march[~march["complete"]]
    assert unfinished["rate"].isna().all()
    assert cell(table, "2025-01-01", 2, "complete") == False  # noqa: E712
    # the month in progress keeps what it has seen so far as value; months not begun have none
    assert cell(table, "2025-02-01", 1, "value") == 1.0  # D's order on 10 March
    assert np.isnan(cell(table, "2025-03-01", 1, "value"))
    # every cohort runs to the same last period: a full rectangle for the matrix
    assert table.groupby("cohort")["period"].max().eq(2).all()


def test_ordering_revenue_and_cumulative_by_hand(crm):
    members, orders = crm
    ordering = cohort_table(members, orders, as_of=AS_OF, metric="ordering")
    # January: A and B ordered in January (A twice: counted once), only A in February
    assert cell(ordering, "2025-01-01", 0) == pytest.approx(2 / 3)
    assert cell(ordering, "2025-01-01", 1) == pytest.approx(1 / 3)
    # February: D ordered only in March, so 0 of 1 in February: a real 0, the month is over
    assert cell(ordering, "2025-02-01", 0) == 0.0

    revenue = cohort_table(members, orders, as_of=AS_OF, metric="revenue")
    # January cohort, January: 10 + 20 + 30 = 60 over 3 starting members = 20 per member;
    # per-member totals 30, 30, 0: sd 17.32, so 20 +- 1.96 * 10 = (0.40, 39.60)
    assert cell(revenue, "2025-01-01", 0, "value") == 60.0
    assert cell(revenue, "2025-01-01", 0) == pytest.approx(20.0)
    assert cell(revenue, "2025-01-01", 0, "ci_lower") == pytest.approx(0.40036, abs=1e-4)
    assert cell(revenue, "2025-01-01", 0, "ci_upper") == pytest.approx(39.5996, abs=1e-3)

    cumulative = cohort_table(members, orders, as_of=AS_OF, metric="revenue", cumulative=True)
    # residual income per recruit: 60 + 50 = 110 over 3 by the end of February; the interval
    # comes from per-member running totals 80, 30, 0 (trap: not from per-period sums)
    assert cell(cumulative, "2025-01-01", 1) == pytest.approx(110 / 3)
    sd = np.std([80, 30, 0], ddof=1)
    assert cell(cumulative, "2025-01-01", 1, "ci_upper") == pytest.approx(
        110 / 3 + 1.959964 * sd / np.sqrt(3)
    )

    ever = cohort_table(members, orders, as_of=AS_OF, metric="ordering", cumulative=True)
    # ever ordered counts members, not member-months: still 2 of 3 by February
    assert cell(ever, "2025-01-01", 1) == pytest.approx(2 / 3)

    volume = cohort_table(members, orders, as_of=AS_OF, metric="volume")
    assert cell(volume, "2025-01-01", 1, "value") == 40.0


def test_reference_previous(crm):
    members, orders = crm
    active = cohort_table(members, orders, as_of=AS_OF, reference="previous")
    assert cell(active, "2025-01-01", 0) == 1.0  # period 0 compares with the starting size
    assert cell(active, "2025-01-01", 1) == pytest.approx(2 / 3)
    revenue = cohort_table(members, orders, as_of=AS_OF, metric="revenue", reference="previous")
    assert np.isnan(cell(revenue, "2025-01-01", 0))  # money has no period before period 0
    assert cell(revenue, "2025-01-01", 1) == pytest.approx(50 / 60)


def test_by_role_splits_cohorts(crm):
    members, orders = crm
    table = cohort_table(members, orders, as_of=AS_OF, by="role")
    assert list(table.columns[:2]) == ["role", "cohort"]
    builders = table[(table["role"] == "business_builder") & (table["cohort"] == t("2025-01-01"))]
    assert builders["rate"].tolist()[:2] == [1.0, 0.0]  # B left in February
    assert table.groupby(["role", "cohort"])["size"].first().sum() == 5


@pytest.mark.parametrize(
    "period, cohort, periods",
    [
        # 5 Jan 2025 is a Sunday: its week started on Monday 30 December 2024
        ("W", "2024-12-30", 11),
        ("Q", "2025-01-01", 1),
        ("Y", "2025-01-01", 1),
    ],
)
def test_other_periods(crm, period, cohort, periods):
    members, orders = crm
    table = cohort_table(members, orders, as_of=AS_OF, period=period, metric="ordering")
    first = table[table["cohort"] == table["cohort"].min()]
    assert first["cohort"].iloc[0] == t(cohort)
    assert len(first) == periods


def test_matrix_is_the_wide_view(crm):
    members, orders = crm
    table = cohort_table(members, orders, as_of=AS_OF)
    wide = cohort_matrix(table)
    assert wide.shape == (3, 3)
    assert wide.loc[t("2025-01-01"), 1] == pytest.approx(2 / 3)
    assert np.isnan(wide.loc[t("2025-03-01"), 0])
    with pytest.raises(ValueError, match="rate"):
        cohort_matrix(table, value="nonsense")


# ------------------------------------------------------------------ independent computation


def _brute_force_ordering(members, orders, as_of):
    """Per member and month, by loops: the slow obvious way, to check the engine code against."""
    month = lambda ts: ts.year * 12 + ts.month - 1  # noqa: E731
    now = month(as_of)
    cohorts = {}
    for m in members.itertuples():
        cohorts.setdefault(month(m.joined_at), []).append(m.member_id)
    out = {}
    for c, ids in cohorts.items():
        for k in range(now - c):  # complete periods only
            buyers = {
                o.member_id
                for o in orders.itertuples()
                if o.member_id in ids and month(o.ordered_at) == c + k
            }
            out[(c, k)] = len(buyers) / len(ids)
    return out


def test_ordering_matches_brute_force(small_world):
    members, orders, as_of = small_world.members, small_world.orders, small_world.as_of
    table = cohort_table(members, orders, as_of=as_of, metric="ordering")
    expected = _brute_force_ordering(members, orders, as_of)
    done = table[table["complete"]]
    got = {
        (c.year * 12 + c.month - 1, k): r
        for c, k, r in zip(done["cohort"], done["period"], done["rate"], strict=True)
    }
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value)


# ------------------------------------------------------------------ any engine


@pytest.mark.parametrize(
    "kwargs",
    [
        {"metric": "active", "by": "role"},
        {"metric": "ordering"},
        {"metric": "revenue", "cumulative": True},
        {"metric": "volume", "reference": "previous"},
        {"metric": "ordering", "period": "W", "cumulative": True},
    ],
)
def test_engines_agree(small_world, engine, kwargs):
    members, orders, as_of = small_world.members, small_world.orders, small_world.as_of
    expected = cohort_table(members, orders, as_of=as_of, **kwargs)
    result = cohort_table(
        to_engine(members, engine), to_engine(orders, engine), as_of=as_of, **kwargs
    )
    pd.testing.assert_frame_equal(to_pandas(result), expected, check_dtype=False)


@pytest.mark.parametrize("with_history", [False, True], ids=["current_role", "role_history"])
def test_member_mix_engines_agree(small_world, engine, with_history):
    members, orders, as_of = small_world.members, small_world.orders, small_world.as_of
    history = small_world.role_history if with_history else None
    expected = member_mix(members, orders, as_of=as_of, role_history=history)
    # every order counts once, in exactly one role
    assert expected["amount"].sum() == pytest.approx(orders["amount"].sum())
    result = member_mix(
        to_engine(members, engine),
        to_engine(orders, engine),
        as_of=as_of,
        role_history=None if history is None else to_engine(history, engine),
    )
    pd.testing.assert_frame_equal(to_pandas(result), expected, check_dtype=False)


def test_lazy_in_lazy_out(crm):
    pl = pytest.importorskip("polars")
    members, orders = crm
    result = cohort_table(
        to_engine(members, "polars_lazy"),
        to_engine(orders, "polars_lazy"),
        as_of=AS_OF,
        metric="ordering",
    )
    assert isinstance(result, pl.LazyFrame)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_agrees(spark, crm):
    import pyarrow as pa

    members, orders = crm
    sp = lambda frame: spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))  # noqa: E731
    # one call per function: each Spark query costs seconds (cumulative revenue covers the join,
    # the running sums per member and the aggregation)
    for kwargs in ({"metric": "revenue", "cumulative": True},):
        result = to_pandas(cohort_table(sp(members), sp(orders), as_of=AS_OF, **kwargs))
        result = result.sort_values(["cohort", "period"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(
            result, cohort_table(members, orders, as_of=AS_OF, **kwargs), check_dtype=False
        )
    # the member mix with a role history (its spells go to Spark and are joined there)
    history = members[["member_id", "role", "joined_at"]].rename(columns={"joined_at": "from_at"})
    history.loc[0, "role"] = "retail_customer"
    history = pd.concat([history, history.iloc[[0]].assign(role="leader", from_at=t("2025-02-20"))])
    mix = (
        to_pandas(member_mix(sp(members), sp(orders), as_of=AS_OF, role_history=sp(history)))
        .sort_values(["period", "role"])
        .reset_index(drop=True)
    )
    expected = (
        member_mix(members, orders, as_of=AS_OF, role_history=history)
        .sort_values(["period", "role"])
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(mix, expected, check_dtype=False)


# ------------------------------------------------------------------ bad input


def test_order_before_joining_names_the_order(crm):
    members, orders = crm
    orders = orders.copy()
    orders.loc[orders["order_id"] == "o4", "ordered_at"] = t("2025-02-01")  # D joined 10 Feb
    with pytest.raises(
        toolkit.DataError,
        match=r"orders\.ordered_at: 1 row before the member joined \(first order_id: o4\)",
    ):
        cohort_table(members, orders, as_of=AS_OF, metric="ordering")


def test_unknown_member_names_the_order(crm):
    members, orders = crm
    orders = pd.concat(
        [orders, orders.iloc[[0]].assign(order_id="o9", member_id="ZZ")], ignore_index=True
    )
    with pytest.raises(
        toolkit.DataError,
        match=r"orders\.member_id: 1 row referring to members not in the members table \(first order_id: o9\)",
    ):
        member_mix(members, orders, as_of=AS_OF)


def test_left_before_joined(crm, engine):
    members, orders = crm
    members = members.copy()
    members.loc[members["member_id"] == "D", "left_at"] = t("2025-02-01")
    with pytest.raises(
        toolkit.DataError, match=r"members\.left_at: 1 row before joined_at \(first member_id: D\)"
    ):
        cohort_table(to_engine(members, engine), as_of=AS_OF)


def test_data_after_as_of(crm):
    members, orders = crm
    # o4 (10 March) is after an as_of of 5 March; o6 (4 March) is not
    with pytest.raises(
        toolkit.DataError, match=r"orders\.ordered_at: 1 row after as_of .*first order_id: o4"
    ):
        cohort_table(members, orders, as_of=t("2025-03-05"), metric="ordering")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"metric": "churn"}, "active, ordering, revenue, volume"),
        ({"period": "D"}, "'W'.*'M'.*'Q'.*'Y'"),
        ({"reference": "first"}, "initial, previous"),
        ({"cumulative": True}, "cumulative applies"),
    ],
)
def test_bad_arguments_list_the_valid_ones(crm, kwargs, match):
    members, orders = crm
    with pytest.raises(ValueError, match=match):
        cohort_table(members, orders, as_of=AS_OF, **kwargs)


def test_missing_orders_and_columns(crm):
    members, orders = crm
    with pytest.raises(toolkit.DataError, match="no orders table .*would show revenue"):
        cohort_table(members, metric="revenue")
    with pytest.raises(toolkit.DataError, match="no orders table"):  # no rows: 0 is not known
        cohort_table(members, orders.iloc[:0], metric="revenue")
    with pytest.raises(
        toolkit.DataError, match=r"members: missing required column\(s\) \['joined_at'\]"
    ):
        cohort_table(members.drop(columns="joined_at"))


def test_empty_input_gives_empty_table(crm):
    members, orders = crm
    # issue 15: an orders table without rows is an absent one, even for an empty world: a
    # metric that needs orders says what is missing rather than return a table from nothing
    with pytest.raises(toolkit.DataError, match="no orders table .*would show revenue"):
        cohort_table(members.iloc[:0], orders.iloc[:0], metric="ordering", by="role")
    # a metric that needs no orders gives an empty table with every column on an empty world
    table = cohort_table(members.iloc[:0], metric="active", by="role")
    assert table.empty
    assert list(table.columns) == [
        "role",
        "cohort",
        "period",
        "size",
        "value",
        "rate",
        "ci_lower",
        "ci_upper",
        "complete",
        "metric",
        "reference",
        "alpha",
    ]
    mix = member_mix(members.iloc[:0], orders.iloc[:0])
    assert mix.empty and "customers_per_rep" in mix.columns


# ------------------------------------------------------------------ properties


@st.composite
def worlds(draw):
    n = draw(st.integers(1, 12))
    start = t("2025-01-01")
    joined = [start + pd.Timedelta(days=draw(st.integers(0, 150))) for _ in range(n)]
    stays = [draw(st.one_of(st.none(), st.integers(0, 120))) for _ in range(n)]
    left = [
        j + pd.Timedelta(days=s) if s is not None else pd.NaT
        for j, s in zip(joined, stays, strict=True)
    ]
    members = pd.DataFrame(
        {"member_id": [f"M{i}" for i in range(n)], "joined_at": joined, "left_at": left}
    )
    rows = []
    for i in range(draw(st.integers(0, 25))):
        m = draw(st.integers(0, n - 1))
        rows.append(
            (
                f"O{i}",
                f"M{m}",
                joined[m] + pd.Timedelta(days=draw(st.integers(0, 100))),
                draw(st.floats(0, 200)),
            )
        )
    orders = pd.DataFrame(rows, columns=["order_id", "member_id", "ordered_at", "amount"])
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    orders["volume"] = orders["amount"] * 0.8
    return members, orders


@settings(max_examples=30, deadline=None)
@given(worlds(), st.sampled_from(["active", "ordering"]))
def test_invariants(world, metric):
    members, orders = world
    as_of = t("2025-09-30")
    before = (members.copy(), orders.copy())
    if metric != "active" and orders.empty:
        # issue 15: no orders is no orders table; a cell of 0 would be a verdict from nothing
        with pytest.raises(toolkit.DataError, match="no orders table"):
            cohort_table(members, orders, as_of=as_of, metric=metric)
        return
    table = cohort_table(members, orders, as_of=as_of, metric=metric)
    # inputs never mutated
    pd.testing.assert_frame_equal(members, before[0])
    pd.testing.assert_frame_equal(orders, before[1])
    done = table[table["complete"]]
    # shares stay in [0, 1], inside their interval; unfinished cells are unknown
    assert done["rate"].between(0, 1).all()
    assert (done["ci_lower"] <= done["rate"] + 1e-12).all() and (
        done["rate"] <= done["ci_upper"] + 1e-12
    ).all()
    assert table.loc[~table["complete"], "rate"].isna().all()
    assert table.groupby("cohort")["size"].first().sum() == len(members)
    if metric == "active":
        # nobody comes back: active counts never rise along a cohort
        assert (done.groupby("cohort")["value"].diff().dropna() <= 0).all()


# ------------------------------------------------------------------ projections


def test_projection_fills_only_unfinished_cells(sample):
    table = cohort_table(sample.members, as_of=sample.as_of)
    projected = project_cohorts(table)
    observed = projected[~projected["projected"]]
    pd.testing.assert_frame_equal(
        observed[table.columns], table[~projected["projected"]], check_dtype=False
    )
    assert projected["projected"].equals(~table["complete"])
    filled = projected[projected["projected"]]
    assert filled["rate"].notna().all()
    assert (filled["ci_lower"] <= filled["rate"] + 1e-9).all() and (
        filled["rate"] <= filled["ci_upper"] + 1e-9
    ).all()
    # a projection continues its cohort downwards from the last observed cell
    for _, part in projected.groupby("cohort"):
        assert (np.diff(part["rate"].to_numpy()) <= 1e-12).all()


def test_projection_needs_a_retention_table(crm):
    members, orders = crm
    with pytest.raises(ValueError, match="metric='active'"):
        project_cohorts(cohort_table(members, orders, as_of=AS_OF, metric="revenue"))


# ------------------------------------------------------------------ pooling cohorts


@pytest.mark.parametrize("cumulative", [False, True])
def test_pooled_money_matches_every_member_counted_by_hand(small_world, cumulative):
    members, orders, as_of = small_world.members, small_world.orders, small_world.as_of
    table = cohort_table(members, orders, metric="revenue", cumulative=cumulative, as_of=as_of)
    pooled = pool_cohorts(table).set_index("period")
    # by hand: every member of a cohort that has finished period k, with their spend in it
    month = lambda s: s.dt.year * 12 + s.dt.month  # noqa: E731
    now = as_of.year * 12 + as_of.month
    joined = month(members.set_index("member_id")["joined_at"])
    spend = orders.assign(
        k=month(orders["ordered_at"]).to_numpy() - joined[orders["member_id"]].to_numpy()
    )
    spend = spend.groupby(["member_id", "k"])["amount"].sum().unstack(fill_value=0.0)
    spend = spend.reindex(index=joined.index, fill_value=0.0)
    spend = spend.reindex(columns=range(now - joined.min()), fill_value=0.0)
    if cumulative:
        spend = spend.cumsum(axis=1)
    z = 1.959963984540054
    for k in (0, 3, 8):
        x = spend.loc[joined.index[joined + k < now], k]
        half = z * x.std(ddof=1) / np.sqrt(len(x))
        row = pooled.loc[k]
        assert row["size"] == len(x)
        assert row["rate"] == pytest.approx(x.mean(), rel=1e-12)
        assert row["ci_upper"] == pytest.approx(x.mean() + half, rel=1e-9)


def test_pooled_shares_and_what_cannot_be_pooled(crm):
    members, orders = crm
    table = cohort_table(members, orders, as_of=AS_OF, by="role")
    pooled = pool_cohorts(table)
    # only finished cells: January's builders (B) at period 0 and 1; nobody else has a period 1
    builders = pooled[pooled["role"] == "business_builder"].set_index("period")
    assert list(builders.index) == [0, 1] and builders.loc[1, "rate"] == 0.0
    assert builders.loc[0, "ci_lower"] < 1 and builders.loc[1, "ci_upper"] > 0  # Wilson
    everyone = pool_cohorts(cohort_table(members, orders, as_of=AS_OF)).set_index("period")
    # period 0: January (3 members, all there at the end of January) and February (D)
    assert (everyone.loc[0, "cohorts"], everyone.loc[0, "size"], everyone.loc[0, "value"]) == (
        2,
        4,
        4,
    )
    with pytest.raises(ValueError, match="reference='initial'"):
        pool_cohorts(cohort_table(members, orders, as_of=AS_OF, reference="previous"))
    # the table says its metric in its own column, so a Polars table pools as the pandas one;
    # a table that does not say it needs metric=
    assert pool_cohorts(to_engine(table, "polars")).equals(pooled)
    with pytest.raises(ValueError, match="metric="):
        pool_cohorts(to_engine(table.drop(columns="metric"), "polars"))
    assert pool_cohorts(to_engine(table.drop(columns="metric"), "polars"), metric="active").equals(
        pooled
    )
    with pytest.raises(ValueError, match="intervals=True"):
        pool_cohorts(cohort_table(members, orders, as_of=AS_OF, metric="revenue", intervals=False))


# ------------------------------------------------------------------ mix and transitions


def test_member_mix_by_hand(crm):
    members, orders = crm
    before = members.copy(), orders.copy()
    mix = member_mix(members, orders, as_of=AS_OF)
    pd.testing.assert_frame_equal(members, before[0])  # inputs never mutated
    pd.testing.assert_frame_equal(orders, before[1])
    jan = mix[mix["period"] == t("2025-01-01")].set_index("role")
    # end of January: A (preferred) and C (retail) are customers, B is a rep
    assert jan["customers"].iloc[0] == 2 and jan["reps"].iloc[0] == 1
    assert jan["customers_per_rep"].iloc[0] == 2.0
    # January volume: customer A bought 8 + 16, rep B 24: customers' share 24 / 48
    assert jan["customer_volume_share"].iloc[0] == pytest.approx(0.5)
    feb = mix[mix["period"] == t("2025-02-01")]
    # no reps at the end of February (B left): the ratio is undefined, not infinite
    assert feb["reps"].iloc[0] == 0 and np.isnan(feb["customers_per_rep"].iloc[0])
    assert not mix.loc[mix["period"] == t("2025-03-01"), "complete"].any()


def test_member_mix_counts_the_role_held_at_the_time(crm):
    members, orders = crm
    # A joined as a preferred customer and became a builder on 20 February (then, within
    # March, a leader and a builder again: the role at the end of the period counts)
    history = pd.DataFrame(
        {
            "member_id": ["A", "A", "A", "A"],
            "role": ["preferred_customer", "business_builder", "leader", "business_builder"],
            "from_at": [t("2025-01-05"), t("2025-02-20"), t("2025-03-02"), t("2025-03-09")],
        }
    )
    before = history.copy()
    mix = member_mix(members, orders, as_of=AS_OF, role_history=history)
    pd.testing.assert_frame_equal(history, before)
    by_period = mix.groupby("period").first()
    jan, feb, mar = (by_period.loc[t(f"2025-0{m}-01")] for m in (1, 2, 3))
    # end of January as before: customers A and C, rep B; A's orders are customer volume
    assert (jan["customers"], jan["reps"]) == (2, 1)
    assert jan["customer_volume_share"] == pytest.approx(0.5)
    # end of February: A is a rep (B has left), C and D are customers; A's 2 Feb order is a
    # rep's own consumption, so customers bought none of February's volume
    assert (feb["customers"], feb["reps"], feb["customers_per_rep"]) == (2, 1, 2.0)
    assert feb["customer_volume_share"] == 0
    roles = mix[mix["period"] == t("2025-03-01")].set_index("role")["members"]
    assert roles["business_builder"] == 2 and roles.get("leader", 0) == 0  # A and E
    assert mar["reps"] == 2
    # without the history A is a preferred customer throughout: February has no rep at all
    plain = member_mix(members, orders, as_of=AS_OF)
    assert plain.groupby("period").first().loc[t("2025-02-01"), "reps"] == 0
    # a history repeating the current roles changes nothing
    same = members[["member_id", "role", "joined_at"]].rename(columns={"joined_at": "from_at"})
    pd.testing.assert_frame_equal(
        member_mix(members, orders, as_of=AS_OF, role_history=same),
        member_mix(members, orders, as_of=AS_OF),
    )
    # a history that starts after joining: the first role recorded holds from joining
    late = pd.DataFrame({"member_id": ["D"], "role": ["leader"], "from_at": [t("2025-03-05")]})
    mix = member_mix(members, orders, as_of=AS_OF, role_history=late)
    feb = mix[mix["period"] == t("2025-02-01")].set_index("role")
    # end of February: D (joined 10 Feb) is the one rep; A and C are customers
    assert feb.loc["leader", "members"] == 1
    assert (feb["customers"].iloc[0], feb["reps"].iloc[0]) == (2, 1)
    pd.testing.assert_series_equal(
        mix.groupby("period")["members"].sum(), plain.groupby("period")["members"].sum()
    )
    stranger = history.assign(member_id="ZZ")
    with pytest.raises(
        toolkit.DataError,
        match=r"role_history\.member_id: 4 rows referring to members not in the members table",
    ):
        member_mix(members, orders, as_of=AS_OF, role_history=stranger)


@pytest.mark.parametrize("fast", [True, False])
def test_member_mix_header_only_orders(monkeypatch, crm, fast):
    # an orders export with its header and no rows reads as untyped (object) columns: it is
    # the mix with nothing bought, as from a typed empty table, not a complaint about types
    from toolkit import fastpath

    monkeypatch.setattr(fastpath, "ENABLED", fast)
    members, orders = crm
    history = pd.DataFrame(
        {"member_id": ["A"], "role": ["business_builder"], "from_at": [t("2025-02-20")]}
    )
    header = pd.DataFrame(columns=list(orders.columns))
    assert (header.dtypes == "object").all()
    for role_history in (None, history):
        expected = member_mix(members, orders.iloc[:0], as_of=AS_OF, role_history=role_history)
        got = member_mix(members, header, as_of=AS_OF, role_history=role_history)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert expected["members"].sum() > 0 and expected["ordering"].sum() == 0
        assert expected["customer_volume_share"].isna().all()
    # the members' own answer without an as_of too, and on Polars (columns of type null)
    pd.testing.assert_frame_equal(
        member_mix(members, header), member_mix(members, orders.iloc[:0]), check_exact=True
    )
    pl = pytest.importorskip("polars")
    empty = pl.DataFrame({c: [] for c in orders.columns})
    pd.testing.assert_frame_equal(
        to_pandas(member_mix(pl.from_pandas(members), empty, as_of=AS_OF)),
        member_mix(members, orders.iloc[:0], as_of=AS_OF),
        check_exact=True,
    )


@pytest.mark.parametrize("fast", [True, False])
def test_member_mix_role_change_after_as_of(monkeypatch, crm, fast):
    # D turns leader in May, after as_of: a preferred customer in every period shown (the
    # leader spell starts beyond the grid; it used to index past it)
    from toolkit import fastpath

    monkeypatch.setattr(fastpath, "ENABLED", fast)
    members, orders = crm
    history = pd.DataFrame(
        {
            "member_id": ["D", "D"],
            "role": ["preferred_customer", "leader"],
            "from_at": [t("2025-02-10"), t("2025-05-10")],
        }
    )
    mix = member_mix(members, orders, as_of=AS_OF, role_history=history)
    leader = mix["role"] == "leader"
    assert leader.any() and (mix.loc[leader, ["members", "ordering"]] == 0).all().all()
    pd.testing.assert_frame_equal(
        mix[~leader].reset_index(drop=True), member_mix(members, orders, as_of=AS_OF)
    )


def test_role_transitions_by_hand():
    members = pd.DataFrame(
        {
            "member_id": ["P1", "P2", "P3"],
            "joined_at": [t("2025-01-10"), t("2025-01-20"), t("2025-05-05")],
            "role": ["business_builder", "preferred_customer", "preferred_customer"],
        }
    )
    history = pd.DataFrame(
        {
            "member_id": ["P1", "P1"],
            "role": ["preferred_customer", "business_builder"],
            "from_at": [t("2025-01-10"), t("2025-03-05")],
        }
    )
    out = role_transitions(members, history, as_of=t("2025-06-30"))
    builders = out[out["to_role"] == "business_builder"].set_index("period")
    # P1 became a builder two months after joining; P2 never did; P3 (no history rows) joined
    # in May and has seen one full month only
    assert builders.loc[1, "count"] == 0 and builders.loc[2, "count"] == 1
    assert builders.loc[0, "base"] == 3 and builders.loc[1, "base"] == 2
    assert builders.loc[2, "share"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="role_history"):
        role_transitions(members)
    # a member listed twice is refused, as by the other cohort calls (spells go by member)
    with pytest.raises(toolkit.DataError, match="duplicate id"):
        role_transitions(pd.concat([members, members.iloc[:1]]), history)


def test_sample_shows_the_planted_effects(sample):
    # preferred customers stay longer than retail customers (autoship), and grow into builders
    table = cohort_table(sample.members, as_of=sample.as_of, by="role")
    done = table[table["complete"] & (table["period"] == 6)]
    pooled = done.groupby("role")[["value", "size"]].sum()
    share = pooled["value"] / pooled["size"]
    assert share["preferred_customer"] > share["retail_customer"]
    moves = role_transitions(sample.members, sample.role_history, as_of=sample.as_of)
    year = moves[(moves["to_role"] == "business_builder") & (moves["period"] == 11)]
    assert 0.05 < year["share"].iloc[0] < 0.5
    mix = member_mix(
        sample.members, sample.orders, as_of=sample.as_of, role_history=sample.role_history
    )
    last = mix[mix["complete"]].iloc[-1]
    assert last["customers_per_rep"] > 1


# ------------------------------------------------------------------ plots


def test_plots_keep_observed_unfinished_and_projected_apart(crm, sample):
    from toolkit import plots

    members, orders = crm
    table = cohort_table(members, orders, as_of=AS_OF)
    fig = plots.cohort_heatmap(table)
    observed = fig.select_one({"name": "cohort_heatmap_observed"})
    unfinished = fig.select_one({"name": "cohort_heatmap_incomplete"})
    # 3 finished cells (Jan 0, Jan 1, Feb 0), the other 6 drawn as unknown, none as a 0
    assert len(observed.data["rate"]) == 3 and len(unfinished.data["rate"]) == 6
    projected = project_cohorts(cohort_table(sample.members, as_of=sample.as_of))
    fig = plots.cohort_heatmap(projected)
    assert len(fig.select_one({"name": "cohort_heatmap_projected"}).data["rate"]) == int(
        projected["projected"].sum()
    )
    curves = plots.retention_curves(projected)
    dashed = [r for r in curves.renderers if getattr(r.glyph, "line_dash", None) == [6]]
    assert curves.name == "retention_curves" and dashed
    mix = plots.member_mix(member_mix(members, orders, as_of=AS_OF))
    assert mix.name == "member_mix" and mix.select_one({"name": "member_mix_source"}) is not None


def test_money_without_intervals_gives_the_same_values(small_world, engine):
    # the fast path (no per-member totals) must not change a single value, only drop the interval
    members, orders, as_of = small_world.members, small_world.orders, small_world.as_of
    full = cohort_table(members, orders, as_of=as_of, metric="revenue")
    fast = to_pandas(
        cohort_table(
            to_engine(members, engine),
            to_engine(orders, engine),
            as_of=as_of,
            metric="revenue",
            intervals=False,
        )
    )
    pd.testing.assert_frame_equal(
        fast.drop(columns=["ci_lower", "ci_upper"]),
        full.drop(columns=["ci_lower", "ci_upper"]),
        check_dtype=False,
    )
    assert fast["ci_lower"].isna().all()


def test_large_pandas_handoff_to_polars(crm, monkeypatch):
    # big pandas inputs run on Polars internally: same table, and error messages still name the
    # order ids (a column the hand-off does not carry)
    pytest.importorskip("polars")
    import toolkit.frames

    members, orders = crm
    expected = cohort_table(members, orders, as_of=AS_OF, metric="revenue", by="role")
    monkeypatch.setattr(toolkit.frames, "HANDOFF_ROWS", 0)
    result = cohort_table(members, orders, as_of=AS_OF, metric="revenue", by="role")
    assert isinstance(result, pd.DataFrame)
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)
    late = orders.assign(
        ordered_at=orders["ordered_at"].where(orders["order_id"] != "o6", t("2025-03-01"))
    )
    with pytest.raises(toolkit.DataError, match="first order_id: o6"):
        cohort_table(members, late, as_of=AS_OF, metric="ordering")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"metric": "revenue"},
        {"metric": "volume", "by": "role"},
        {"metric": "revenue", "reference": "previous", "period": "W"},
    ],
)
@pytest.mark.parametrize("engine_name", ["pandas", "polars"])
def test_intervals_on_and_off_give_identical_values(small_world, engine_name, kwargs):
    # the interval path (one integer key per member and period, summed twice) and the fast path
    # (orders summed straight into cells) must agree on every value and rate to rounding; a key
    # that mixed up cells or members would move whole amounts between cells
    members, orders, as_of = small_world.members, small_world.orders, small_world.as_of
    m, o = to_engine(members, engine_name), to_engine(orders, engine_name)
    on = to_pandas(cohort_table(m, o, as_of=as_of, intervals=True, **kwargs))
    off = to_pandas(cohort_table(m, o, as_of=as_of, intervals=False, **kwargs))
    pd.testing.assert_frame_equal(
        on.drop(columns=["ci_lower", "ci_upper"]),
        off.drop(columns=["ci_lower", "ci_upper"]),
        check_exact=False,
        rtol=1e-12,
    )
    # every complete cell with a rate has its interval (a one-member cohort has no spread)
    assert on.loc[on["complete"] & (on["rate"] > 0) & (on["size"] > 1), "ci_lower"].notna().all()
    assert off["ci_lower"].isna().all()


# ------------------------------------------------------------------ what a table says it holds


def test_the_metric_is_a_column_a_polars_result_keeps(crm):
    # trap (issue 12): the metric lived in pandas .attrs, which a Polars or Spark result does not
    # have, so pool_cohorts had to be told and the heatmap guessed money from values above 1
    pl = pytest.importorskip("polars")
    members, orders = crm
    kw = dict(as_of=AS_OF, metric="revenue", alpha=0.1)
    result = cohort_table(pl.from_pandas(members), pl.from_pandas(orders), **kw)
    assert isinstance(result, pl.DataFrame)
    described = result.select("metric", "reference", "alpha").unique().rows()
    assert described == [("revenue", "initial", 0.1)]
    pd.testing.assert_frame_equal(
        pool_cohorts(result), pool_cohorts(cohort_table(members, orders, **kw))
    )
    with pytest.raises(ValueError, match="metric='active'"):
        project_cohorts(result)


@pytest.mark.spark
@pytest.mark.slow
def test_the_metric_is_a_column_a_spark_result_keeps(spark, crm):
    import pyarrow as pa

    members, orders = crm
    sp = lambda frame: spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))  # noqa: E731
    result = cohort_table(
        sp(members), sp(orders), as_of=AS_OF, metric="ordering", reference="previous"
    )
    rows = result.select("metric", "reference", "alpha").distinct().collect()
    assert [tuple(r) for r in rows] == [("ordering", "previous", 0.05)]
    with pytest.raises(ValueError, match="reference='initial'"):
        pool_cohorts(result)


def test_alpha_sets_the_level_of_cohort_intervals(crm):
    from statsmodels.stats.proportion import proportion_confint

    members, orders = crm
    wide, narrow = (cohort_table(members, orders, as_of=AS_OF, alpha=a) for a in (0.05, 0.2))
    # January at the end of February: 2 of 3 still active
    lo, hi = proportion_confint(2, 3, alpha=0.2, method="wilson")
    assert cell(narrow, "2025-01-01", 1, "ci_lower") == pytest.approx(lo)
    assert cell(narrow, "2025-01-01", 1, "ci_upper") == pytest.approx(hi)
    assert cell(wide, "2025-01-01", 1, "ci_lower") < lo
    with pytest.raises(ValueError, match="alpha"):
        cohort_table(members, orders, as_of=AS_OF, alpha=5)


def test_revenue_per_member_under_one_dollar_is_drawn_as_money(crm):
    # trap (issue 12): the heatmap took a table whose rates never exceed 1 for shares, so
    # 30 cents per member was written "30%" and its tooltip read as a percentage
    from toolkit import plots

    members, orders = crm
    cents = orders.assign(amount=orders["amount"] / 100)  # 0.10 ... 0.60 per order
    table = cohort_table(members, cents, as_of=AS_OF, metric="revenue")
    assert table.loc[table["complete"], "rate"].max() < 1
    fig = plots.cohort_heatmap(table)
    observed = fig.select_one({"name": "cohort_heatmap_observed"}).data
    # January's 3 members bought 0.60 in January: 0.20 per starting member
    keys = zip(observed["label"], observed["x"], strict=True)
    cells = dict(zip(keys, observed["text"], strict=True))
    assert cells[("2025-01-01", "0")] == "0.20"
    assert not any(text.endswith("%") for text in observed["text"])
    from bokeh.models import HoverTool

    tips = dict(fig.select_one(HoverTool).tooltips)
    assert "{0,0.00}" in tips["rate"] and "%" not in tips["rate"]
    assert "per starting member" in fig.title.text
    # the same table's share of members ordering stays a percentage
    shares = plots.cohort_heatmap(cohort_table(members, cents, as_of=AS_OF, metric="ordering"))
    assert all(
        t.endswith("%") for t in shares.select_one({"name": "cohort_heatmap_observed"}).data["text"]
    )


def _members(joined_left) -> pd.DataFrame:
    """Members from (joined_at, left_at or None) pairs, all roots."""
    joined, left = zip(*joined_left, strict=True)
    return pd.DataFrame(
        {
            "member_id": [f"M{i}" for i in range(len(joined))],
            "sponsor_id": [None] * len(joined),
            "joined_at": pd.to_datetime(list(joined)),
            "role": ["business_builder"] * len(joined),
            "left_at": pd.to_datetime(list(left)),
            "lead_id": [None] * len(joined),
        }
    )


WEEKLY_FEW_LEAVERS = (  # 40 members over 28 weeks, three leavers (issue 13's random world)
    [("2024-08-12", None)] * 2
    + [("2024-09-02", None)] * 3
    + [("2024-10-28", "2024-12-24"), ("2024-10-28", None)]
    + [("2024-11-04", "2024-12-24")]
    + [("2024-11-04", None)] * 4
    + [("2024-11-25", "2025-02-18")]
    + [("2024-12-30", None)] * 2
    + [("2025-01-06", None)] * 5
    + [("2025-01-20", None)] * 3
    + [("2025-02-03", None)] * 20
)
QUARTERLY_ONE_LEAVER = (  # 16 members, one leaver: a fit with no covariance at all
    [("2024-07-05", "2024-11-10")]
    + [("2024-07-05", None)] * 2
    + [("2024-10-05", None)] * 4
    + [("2025-01-05", None)] * 9
)


@pytest.mark.parametrize(
    "joined_left, period, as_of",
    [(WEEKLY_FEW_LEAVERS, "W", "2025-03-05"), (QUARTERLY_ONE_LEAVER, "Q", "2025-04-20")],
)
def test_projection_from_a_few_leavers_is_finite_and_wide(joined_left, period, as_of):
    # trap (issue 13): numpy's "p < 0, p > 1 or p contains NaNs" (both survivals of an extreme
    # draw underflowed to 0) and statsmodels' "need covariance of parameters" came through
    import warnings

    from toolkit.cohorts.retention import BoundaryWarning

    table = cohort_table(_members(joined_left), period=period, as_of=t(as_of))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)  # said in words; checked elsewhere
        projected = project_cohorts(table, draws=300)
    filled = projected[projected["projected"]]
    assert len(filled) and filled[["rate", "ci_lower", "ci_upper"]].notna().all().all()
    assert filled["ci_lower"].ge(0).all() and filled["ci_upper"].le(1).all()
    # (a cohort of one or two survivors has a count interval that need not hold the mean)
    assert (filled["ci_lower"] <= filled["ci_upper"]).all()
    wide = filled["ci_upper"] - filled["ci_lower"]
    assert wide.max() > 0.3  # three leavers in 40 pin nothing down: the intervals say so
