"""Participant income, the disclosure table, the claim check and plan health: hand-built
numbers, the lead-spend identity, and the zero-earner properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit
import toolkit.frames
import toolkit.income._engine
from tests.support import to_engine, to_pandas
from toolkit.income.disclosure import median_interval
from toolkit.rates import wilson_interval

T = pd.Timestamp


def shop():
    """S (root, joined 2024-06) sponsors A, P (preferred customer) and Z; A sponsors retail
    customer C. A joined 2025-03-10 and left 2025-08-20. Orders in 2025: A 50 (volume 40), C 100
    (80), P 60 (48). Leads: A pays 10 in March and 5 in September (after leaving), S pays 2."""
    members = pd.DataFrame(
        {
            "member_id": ["S", "A", "P", "C", "Z"],
            "sponsor_id": [None, "S", "S", "A", "S"],
            "joined_at": [
                T("2024-06-01"),
                T("2025-03-10"),
                T("2025-01-05"),
                T("2025-04-01"),
                T("2025-02-01"),
            ],
            "role": [
                "business_builder",
                "business_builder",
                "preferred_customer",
                "retail_customer",
                "retailer",
            ],
            "left_at": [pd.NaT, T("2025-08-20"), pd.NaT, pd.NaT, pd.NaT],
            "lead_id": None,
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "member_id": ["A", "C", "P"],
            "ordered_at": [T("2025-03-15"), T("2025-04-10"), T("2025-05-01")],
            "amount": [50.0, 100.0, 60.0],
            "volume": [40.0, 80.0, 48.0],
            "autoship": [True, False, True],
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3"],
            "created_at": [T("2025-03-20"), T("2025-09-15"), T("2025-01-01")],
            "source": "broker",
            "lead_type": "generic",
            "cost": [10.0, 5.0, 2.0],
            "owner_id": ["A", "A", "S"],
        }
    )
    events = pd.DataFrame(columns=["lead_id", "stage", "at"])
    return toolkit.CRMData(leads, events, members, orders, as_of=T("2025-12-31"))


PLAN = toolkit.CompensationPlan(
    retail_margin=0.25, unilevel=(0.10,), starter_fee=50, monthly_fee=10
)


def test_participant_income_by_hand():
    inc = to_pandas(toolkit.participant_income(shop(), PLAN)).set_index(["period", "member_id"])
    y24, y25 = T("2024-01-01"), T("2025-01-01")
    # only participants: the retail customer C has no row; S's 2024 is June to December
    assert sorted(inc.index) == [(y24, "S"), (y25, "A"), (y25, "P"), (y25, "S"), (y25, "Z")]
    s24 = inc.loc[(y24, "S")]
    assert (s24.months_active, s24.gross, s24.fees, s24.net) == (7, 0.0, 50 + 70, -120.0)
    s = inc.loc[(y25, "S")]  # 10% of A's 40 and of P's 48
    assert s.months_active == 12 and s.gross == pytest.approx(8.8) and s.fees == 120
    assert s.lead_spend == 2 and s.net == pytest.approx(8.8 - 120 - 2)
    a = inc.loc[(y25, "A")]  # 10% of C's 80, and 25% of C's 100 as retail margin
    assert a.months_active == 6 and a.gross == pytest.approx(33.0) and a.fees == 50 + 60
    assert a.lead_spend == 15 and a.purchases == 50  # the lead bought after leaving counts
    assert a.net == pytest.approx(33 - 110 - 15) and a.net_after_purchases == pytest.approx(-142)
    p = inc.loc[(y25, "P")]
    assert (p.gross, p.purchases, p.net_after_purchases) == (0.0, 60.0, -50 - 120 - 60.0)
    z = inc.loc[(y25, "Z")]  # a zero earner is counted
    assert (z.months_active, z.gross, z.net) == (11, 0.0, -160.0)
    assert inc["rank"].isna().all()  # the plan has no ranks


def test_other_costs_are_per_active_month():
    inc = to_pandas(toolkit.participant_income(shop(), PLAN, other_costs_per_month=5.0))
    assert (inc["other_costs"] == 5.0 * inc["months_active"]).all()
    with pytest.raises(ValueError, match="other_costs_per_month"):
        toolkit.participant_income(shop(), PLAN, other_costs_per_month=-1)


def test_role_history_makes_a_participant_for_the_periods_held():
    data = shop()
    history = pd.DataFrame(
        {
            "member_id": ["C", "C", "S", "A", "P", "Z"],
            "role": [
                "retail_customer",
                "business_builder",
                "business_builder",
                "business_builder",
                "preferred_customer",
                "retailer",
            ],
            "from_at": [
                T("2025-04-01"),
                T("2025-07-01"),
                T("2024-06-01"),
                T("2025-03-10"),
                T("2025-01-05"),
                T("2025-02-01"),
            ],
        }
    )
    data = toolkit.CRMData(data.leads, data.events, data.members, data.orders, data.as_of, history)
    inc = to_pandas(toolkit.participant_income(data, PLAN, period="Q"))
    c = inc[inc["member_id"] == "C"]
    assert c["period"].tolist() == [T("2025-07-01"), T("2025-10-01")]  # a builder from July


def test_lead_spend_is_the_leads_cost_by_owner(small_world):
    inc = to_pandas(
        toolkit.participant_income(small_world, toolkit.CompensationPlan.unilevel_example())
    )
    expected = small_world.leads.groupby("owner_id").cost.sum()
    got = inc.groupby("member_id")["lead_spend"].sum().reindex(expected.index, fill_value=0.0)
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_polars_gives_the_same_income_and_inputs_are_untouched(small_world):
    plan = toolkit.CompensationPlan.breakaway_example()
    before = {k: v.copy() for k, v in small_world.tables().items()}
    expected = to_pandas(toolkit.participant_income(small_world, plan))
    for name, frame in small_world.tables().items():
        pd.testing.assert_frame_equal(frame, before[name])
    data = toolkit.CRMData(
        *(
            to_engine(getattr(small_world, t), "polars")
            for t in ("leads", "events", "members", "orders")
        ),
        as_of=small_world.as_of,
    )
    got = to_pandas(toolkit.participant_income(data, plan))
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert (expected["rank"].notna()).all()


def test_pandas_handed_to_polars_gives_the_same_income(small_world, monkeypatch):
    # only the columns income reads are handed over (leads keep their personal columns at home)
    plan = toolkit.CompensationPlan.unilevel_example()
    with pytest.MonkeyPatch.context() as mp:  # Narwhals' own pandas path
        mp.setattr(toolkit.income._engine, "WALK_HANDOFF_ROWS", 10**12)
        expected = toolkit.participant_income(small_world, plan)
    handed = []

    def spy(tables, columns, **options):
        out = toolkit.frames.hand_off(tables, columns, **options)
        handed.extend(
            (n, tuple(f.collect_schema().names()))
            for n, f in out.items()
            if f is not None and f is not tables[n]
        )
        return out

    monkeypatch.setattr(toolkit.income._engine, "hand_off", spy)
    got = toolkit.participant_income(small_world, plan)
    assert dict(handed)["leads"] == ("cost", "owner_id", "created_at")
    assert sorted(dict(handed)) == ["leads", "members", "orders", "role_history"]
    assert isinstance(got, pd.DataFrame) and list(got.index) == list(range(len(got)))
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


# --------------------------------------------------------------------------------------------
# disclosure


def income_table(gross, months=12, role="business_builder"):
    n = len(gross)
    return pd.DataFrame(
        {
            "member_id": [f"M{i}" for i in range(n)],
            "period": T("2025-01-01"),
            "role": role,
            "rank": None,
            "months_active": months,
            "gross": np.asarray(gross, float),
            "fees": 1140.0,
            "lead_spend": 0.0,
            "other_costs": 0.0,
            "purchases": 0.0,
            "net": np.asarray(gross, float) - 1140.0,
            "net_after_purchases": np.asarray(gross, float) - 1140.0,
        }
    )


def overall(table, measure="gross", **kw):
    out = to_pandas(toolkit.income_disclosure(table, by=None, **kw))
    return out[out["measure"] == measure].iloc[0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=30))
def test_a_zero_earner_never_raises_the_median(gross):
    before = overall(income_table(gross))
    after = overall(income_table([*gross, 0.0]))
    assert after["median"] <= before["median"]
    assert (
        after["share_earning_nothing"] > before["share_earning_nothing"]
        or before["share_earning_nothing"] == 1.0
    )
    assert after["participants"] == before["participants"] + 1


def test_disclosure_figures_and_intervals():
    gross = [0.0] * 6 + [500.0, 1500.0, 6000.0, 20000.0]
    row = overall(income_table(gross))
    assert row["participants"] == 10 and row["share_earning_nothing"] == 0.6
    lo, hi = wilson_interval(6, 10)
    assert (
        row["share_earning_nothing_ci_lower"],
        row["share_earning_nothing_ci_upper"],
    ) == pytest.approx((lo[()], hi[()]))
    assert row["share_1000_or_less"] == 0.7 and row["median"] == 0.0
    assert row["mean"] == pytest.approx(2800.0)
    net = overall(income_table(gross), "net")
    # net = gross - 1,140: 360, 4,860 and 18,860 are profits; two of them under 5,000
    assert net["share_profit"] == 0.3 and net["share_net_loss"] == 0.7
    assert net["share_of_profitable_under_5000"] == pytest.approx(2 / 3)


def test_median_interval_uses_order_statistics():
    x = np.arange(1, 101)  # x(40) and x(61) for n = 100 at 95%
    assert median_interval(x) == (40.0, 61.0)
    assert median_interval(np.arange(1, 4)) == (1.0, 3.0)  # too few for 95%: the range


def test_per_month_divides_by_months_active_and_builders_leave_out_preferred():
    table = pd.concat(
        [income_table([600.0, 1200.0], months=6), income_table([0.0], role="preferred_customer")],
        ignore_index=True,
    )
    assert overall(table, per="month")["median"] == 100.0  # 0, 100, 200 a month
    assert overall(table)["median"] == 600.0
    builders = overall(table, participants="builders")
    assert builders["participants"] == 2 and builders["median"] == 900.0
    grouped = to_pandas(toolkit.income_disclosure(table, by="role"))
    assert set(grouped["group"]) == {"all participants", "business_builder", "preferred_customer"}
    with pytest.raises(ValueError, match="participants must be"):
        toolkit.income_disclosure(table, participants="leaders")


def test_claim_check_sentence():
    table = income_table([312.0] * 239 + [100_000.0])
    check = toolkit.earnings_claim_check(table, 100_000)
    assert str(check) == (
        "1 in 240 participants earned $100,000 or more in 2025; "
        "the median participant earned $312 and spent $1,140."
    )
    assert check.reaching == 1 and check.share == pytest.approx(1 / 240)
    assert (
        check.share_ci_lower < 1 / 240 < check.share_ci_upper
        and check.percentile == pytest.approx(239 / 240 * 100)
    )
    none = toolkit.earnings_claim_check(table, 200_000)
    assert str(none).startswith("None of the 240 participants earned $200,000 or more in 2025")
    monthly = toolkit.earnings_claim_check(table, 26, per="month")
    assert monthly.reaching == 240  # 312 / 12 = 26 a month
    with pytest.raises(ValueError, match="finite"):
        toolkit.earnings_claim_check(table, float("nan"))


# --------------------------------------------------------------------------------------------
# plan health


def test_plan_health_by_hand():
    health = to_pandas(toolkit.plan_health(shop(), PLAN))
    total = health[health["period"].isna()].iloc[0]
    assert total["sales"] == 210.0 and total["customer_sales"] == 160.0
    # S: 4 (A's order) + 4.8 (P's); A: 8 and a 25 retail margin (C's order)
    assert total["commissions"] == pytest.approx(41.8)
    assert total["payout_ratio"] == pytest.approx(41.8 / 210)
    assert total["share_from_customers"] == pytest.approx((8 + 25 + 4.8) / 41.8)
    assert total["share_fast_start"] == 0.0
    assert total["payees"] == 2 and total["payees_mostly_customers"] == 1  # A; S: 4.8 of 8.8
    lo, hi = wilson_interval(1, 2)
    assert total["share_payees_mostly_customers_ci_lower"] == pytest.approx(lo[()])


def test_disclosure_and_health_come_back_as_the_kind_that_came_in():
    import polars as pl

    table = income_table([0.0, 10.0, 2000.0])
    out = toolkit.income_disclosure(pl.from_pandas(table))
    assert isinstance(out, pl.DataFrame)
    pd.testing.assert_frame_equal(
        to_pandas(out), toolkit.income_disclosure(table), check_dtype=False
    )
    check = toolkit.earnings_claim_check(pl.from_pandas(table), 1000)
    assert check.reaching == 1 and check.participants == 3
    data = shop()
    polars_data = toolkit.CRMData(
        *(to_engine(getattr(data, t), "polars") for t in ("leads", "events", "members", "orders")),
        as_of=data.as_of,
    )
    health = toolkit.plan_health(polars_data, PLAN)
    assert isinstance(health, pl.DataFrame)
    assert to_pandas(health)["commissions"].tolist() == pytest.approx(
        toolkit.plan_health(data, PLAN)["commissions"].tolist()
    )
