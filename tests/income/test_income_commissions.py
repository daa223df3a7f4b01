"""Commissions on hand-built chains (the issue's numbers), conservation on random genealogies,
bad plans and bad rank frames, every engine."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit
import toolkit.frames
import toolkit.income._tree_arrays
from tests.support import to_engine, to_pandas
from toolkit import CompensationPlan, Rank

T = pd.Timestamp
LEADS = pd.DataFrame(columns=["lead_id", "created_at", "source", "lead_type", "cost", "owner_id"])
EVENTS = pd.DataFrame(columns=["lead_id", "stage", "at"])


@pytest.fixture(autouse=True, scope="module", params=["numpy route", "narwhals route"])
def route(request):
    """Every test here on both routes of the engine (toolkit/income/_tree_arrays.py)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(toolkit.income._tree_arrays, "ENABLED", request.param == "numpy route")
        yield request.param


def crm(members, orders, **kw):
    members = pd.DataFrame(members, columns=["member_id", "sponsor_id", "role", "left_at"])
    members["joined_at"] = kw.pop("joined_at", T("2024-01-01"))
    members["left_at"] = pd.to_datetime(members["left_at"]).astype("datetime64[us]")
    members["lead_id"] = None
    orders = pd.DataFrame(orders, columns=["member_id", "ordered_at", "amount", "volume"])
    orders.insert(0, "order_id", [f"O{i}" for i in range(len(orders))])
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"]).astype("datetime64[us]")
    orders["autoship"] = False
    return toolkit.CRMData(LEADS, EVENTS, members, orders, **kw)


def paid(table, component=None) -> dict:
    """{member (or 'unpaid'): amount} over the table's rows, rounded to the cent."""
    t = to_pandas(table)
    if component is not None:
        t = t[(t["component"] == component) | (t["part"] == component)]
    key = t["member_id"].fillna("unpaid").astype(str)
    return {k: round(v, 2) for k, v in t.groupby(key)["amount"].sum().items()}


def three_uplines(second_left=True):
    """U3 (top) > U2 > U1 > B; B buys 100 of volume in March; U2 left in February."""
    left = T("2025-02-10") if second_left else None
    return crm(
        [
            ("U3", None, "business_builder", None),
            ("U2", "U3", "business_builder", left),
            ("U1", "U2", "business_builder", None),
            ("B", "U1", "business_builder", None),
        ],
        [("B", "2025-03-10", 100.0, 100.0)],
    )


def test_unilevel_pays_the_first_three_uplines_and_nothing_beyond():
    data = crm(
        [("U4", None, "leader", None)]
        + [(f"U{i}", f"U{i + 1}", "business_builder", None) for i in (3, 2, 1)]
        + [("B", "U1", "business_builder", None)],
        [("B", "2025-03-10", 100.0, 100.0)],
    )
    plan = CompensationPlan(unilevel=(0.05, 0.03, 0.02))
    assert paid(toolkit.commissions(data, plan)) == {"U1": 5.0, "U2": 3.0, "U3": 2.0}


def test_compression_skips_the_unqualified_second_upline():
    plan = CompensationPlan(unilevel=(0.05, 0.03, 0.02), compression=True)
    # the third upline moves up to level 2; level 3 has nobody above: unpaid
    assert paid(toolkit.commissions(three_uplines(), plan)) == {"U1": 5.0, "U3": 3.0, "unpaid": 2.0}


def test_without_compression_the_unqualified_level_is_unpaid():
    plan = CompensationPlan(unilevel=(0.05, 0.03, 0.02), compression=False)
    assert paid(toolkit.commissions(three_uplines(), plan)) == {"U1": 5.0, "unpaid": 3.0, "U3": 2.0}


def test_min_personal_volume_decides_who_is_qualified():
    # U1 buys 60 of volume, U2 buys 40: with a minimum of 50, only U1 qualifies
    data = crm(
        [("U2", None, "business_builder", None), ("U1", "U2", "business_builder", None)]
        + [("B", "U1", "business_builder", None)],
        [
            ("B", "2025-03-10", 100.0, 100.0),
            ("U1", "2025-03-02", 0, 60.0),
            ("U2", "2025-03-02", 0, 40.0),
        ],
    )
    plan = CompensationPlan(unilevel=(0.10, 0.10), min_personal_volume=50, compression=False)
    # B's order: U1 10, U2 unpaid 10; U1's order: U2 unpaid 6 and level 2 above the top 6;
    # U2's order: both levels above the top (8)
    assert paid(toolkit.commissions(data, plan)) == {"U1": 10.0, "unpaid": 30.0}


STAIRS = (Rank("R10", 0.10), Rank("R15", 0.15), Rank("R19", 0.19), Rank("R21", 0.21))


def stair_chain(ranks_upward):
    """A $1,000 order with four uplines whose ranks are fixed by a ranks frame."""
    data = crm(
        [("U4", None, "leader", None)]
        + [(f"U{i}", f"U{i + 1}", "business_builder", None) for i in (3, 2, 1)]
        + [("B", "U1", "business_builder", None)],
        [("B", "2025-03-10", 1000.0, 1000.0)],
    )
    ranks = pd.DataFrame(
        {
            "member_id": ["U1", "U2", "U3", "U4"],
            "period": T("2025-03-01"),
            "rank": ranks_upward,
        }
    )
    return data, ranks


def test_stairstep_differential_both_ways():
    plan = CompensationPlan(ranks=STAIRS)
    data, ranks = stair_chain(["R10", "R15", "R19", "R21"])
    out = toolkit.commissions(data, plan, ranks=ranks)
    assert paid(out) == {"U1": 100.0, "U2": 50.0, "U3": 40.0, "U4": 20.0}
    data, ranks = stair_chain(["R21", "R19", "R15", "R10"])
    assert paid(toolkit.commissions(data, plan, ranks=ranks)) == {"U1": 210.0}


def test_stairstep_left_unpaid_when_nobody_of_the_top_rank_is_above():
    plan = CompensationPlan(ranks=STAIRS)
    data, ranks = stair_chain(["R10", "R10", "R15", "R15"])
    assert paid(toolkit.commissions(data, plan, ranks=ranks)) == {
        "U1": 100.0,
        "U3": 50.0,
        "unpaid": 60.0,
    }


BREAKAWAY = dict(
    ranks=(Rank("S", 0.10), Rank("M", 0.15), Rank("D", 0.20)),
    breakaway_rank="D",
    generation_rates=(0.04, 0.03, 0.02),
)


def test_breakaway_by_hand():
    """D3 > D2 > S2 > D1 > S1 > B, ranks fixed; B buys 1,000 of volume.

    Stairstep: S1 earns 10% (100), D1 20% - 10% (100); D1 breaks away, so S2, D2, D3 earn no
    stairstep on it. Generations: the order is in D1's group; S2 is not a breakaway member; D2 is
    the first breakaway generation above (4%: 40), D3 the second (3%: 30); nobody is third (2%:
    20 unpaid). In all 1,000 x (20% + 9%) = 290.
    """
    data = crm(
        [
            ("D3", None, "leader", None),
            ("D2", "D3", "leader", None),
            ("S2", "D2", "business_builder", None),
            ("D1", "S2", "leader", None),
            ("S1", "D1", "business_builder", None),
            ("B", "S1", "business_builder", None),
        ],
        [("B", "2025-03-10", 1000.0, 1000.0)],
    )
    ranks = pd.DataFrame(
        {
            "member_id": ["S1", "D1", "S2", "D2", "D3"],
            "period": T("2025-03-15"),  # any moment in the period
            "rank": ["S", "D", "M", "D", "D"],
        }
    )
    out = to_pandas(toolkit.commissions(data, CompensationPlan(**BREAKAWAY), ranks=ranks))
    assert paid(out, "stairstep") == {"S1": 100.0, "D1": 100.0}
    assert paid(out, "generation") == {"D2": 40.0, "D3": 30.0, "unpaid": 20.0}
    assert out["amount"].sum() == pytest.approx(290.0)


def test_breakaway_with_computed_ranks_keeps_the_group_out_of_the_upline_volume():
    """R > X > {Y, Z}; Y's retail customer C buys 1,000, Z buys 100.

    Y's personal volume (its customer's order) reaches the breakaway rank (group 1,000), so Y's
    group leaves X's: X's group volume is 100 (Z), rank A (5%), not Top (20%). C's order: Y earns
    the full 20% (200, all from a customer) and the chain stops at Y; its one generation has no
    breakaway member above: 5% (50) unpaid. Z's order: X 5%; R (rank A too) gains nothing, so
    15 is unpaid, and the generation (5) too.
    """
    data = crm(
        [
            ("R", None, "leader", None),
            ("X", "R", "business_builder", None),
            ("Y", "X", "business_builder", None),
            ("Z", "X", "business_builder", None),
            ("C", "Y", "retail_customer", None),
        ],
        [("C", "2025-03-10", 1250.0, 1000.0), ("Z", "2025-03-11", 100.0, 100.0)],
    )
    plan = CompensationPlan(
        ranks=(Rank("A", 0.05), Rank("Top", 0.20, group_volume=1000)),
        breakaway_rank="Top",
        generation_rates=(0.05,),
        retail_margin=0.2,
    )
    out = to_pandas(toolkit.commissions(data, plan))
    assert paid(out, "stairstep") == {"Y": 200.0, "X": 5.0, "unpaid": 15.0}
    assert paid(out, "generation") == {"unpaid": 55.0}
    assert paid(out, "retail") == {"Y": 250.0}
    y = out[out["member_id"] == "Y"].set_index("component")
    assert y.loc["stairstep", "from_customer_volume"] == pytest.approx(200.0)
    assert y.loc["retail", "from_customer_volume"] == pytest.approx(250.0)


def test_fast_start_pays_the_sponsor_in_the_first_days_only():
    data = crm(
        [("S", None, "business_builder", None), ("N", "S", "business_builder", None)],
        [("N", "2025-03-05", 100.0, 100.0), ("N", "2025-04-20", 100.0, 100.0)],
        joined_at=T("2025-03-01"),
    )
    out = toolkit.commissions(data, CompensationPlan(fast_start=0.2, fast_start_days=30))
    assert paid(out) == {"S": 20.0}


# --------------------------------------------------------------------------------------------
# conservation on random genealogies


@st.composite
def worlds(draw):
    n = draw(st.integers(1, 10))
    roles = toolkit.ROLES
    members, orders = [], []
    for i in range(n):
        sponsor = (
            None if i == 0 or draw(st.integers(0, 5)) == 0 else f"M{draw(st.integers(0, i - 1))}"
        )
        left = draw(st.sampled_from([None, "2025-02-15", "2025-03-20"]))
        members.append((f"M{i}", sponsor, draw(st.sampled_from(roles)), left))
    for _ in range(draw(st.integers(0, 12))):
        who = f"M{draw(st.integers(0, n - 1))}"
        day = draw(st.sampled_from(["2025-01-05", "2025-02-03", "2025-02-25", "2025-03-10"]))
        volume = draw(st.integers(0, 400)) * 1.0
        orders.append((who, day, volume * 1.25, volume))
    n_ranks = draw(st.integers(0, 3))
    rates = sorted(draw(st.lists(st.integers(1, 25), min_size=n_ranks, max_size=n_ranks)))
    gvs = sorted(draw(st.lists(st.integers(0, 800), min_size=n_ranks, max_size=n_ranks)))
    ranks = tuple(Rank(f"R{k}", rates[k] / 100, group_volume=gvs[k]) for k in range(n_ranks))
    breakaway = draw(st.sampled_from([None, *[r.name for r in ranks]]))
    plan = CompensationPlan(
        retail_margin=draw(st.sampled_from([0.0, 0.25])),
        unilevel=tuple(draw(st.lists(st.sampled_from([0.01, 0.03, 0.05]), max_size=4))),
        min_personal_volume=draw(st.sampled_from([0.0, 50.0, 200.0])),
        compression=draw(st.booleans()),
        ranks=ranks,
        breakaway_rank=breakaway,
        generation_rates=(0.04, 0.02) if breakaway and draw(st.booleans()) else (),
        fast_start=draw(st.sampled_from([0.0, 0.1])),
        fast_start_days=30,
    )
    return crm(members, orders, joined_at=T("2025-01-01")), plan


@settings(max_examples=15, deadline=None)
@given(worlds())
def test_every_order_is_paid_or_reported_unpaid(world):
    data, plan = world
    before = {k: v.copy() for k, v in data.tables().items()}
    out = to_pandas(toolkit.commissions(data, plan))
    o = data.orders.merge(data.members[["member_id", "role", "joined_at"]], on="member_id")
    fast = o["ordered_at"] < o["joined_at"] + pd.Timedelta(days=plan.fast_start_days)
    expected = (
        o["volume"].sum() * (sum(plan.unilevel) + plan.top_rate + sum(plan.generation_rates))
        + plan.fast_start * o.loc[fast, "volume"].sum()
        + plan.retail_margin * o.loc[o["role"] == "retail_customer", "amount"].sum()
    )
    assert out["amount"].sum() == pytest.approx(expected, abs=0.005)
    assert (out["amount"] > 0).all()
    assert out.loc[out["component"] == "unpaid", "member_id"].isna().all()
    assert out.loc[out["component"] != "unpaid", "member_id"].notna().all()
    assert (out["from_customer_volume"] <= out["amount"] + 1e-9).all()
    for name, frame in data.tables().items():  # inputs never mutated
        pd.testing.assert_frame_equal(frame, before[name])


# --------------------------------------------------------------------------------------------
# bad input


def test_bad_plans_name_the_field():
    with pytest.raises(ValueError, match=r"unilevel\[1\]"):
        CompensationPlan(unilevel=(0.05, 1.5))
    with pytest.raises(ValueError, match="min_personal_volume"):
        CompensationPlan(min_personal_volume=-1)
    with pytest.raises(ValueError, match="breakaway_rank"):
        CompensationPlan(ranks=STAIRS, breakaway_rank="Diamond")
    with pytest.raises(ValueError, match="lowest first"):
        CompensationPlan(ranks=(Rank("A", 0.2), Rank("B", 0.1)))
    with pytest.raises(ValueError, match="generation_rates"):
        CompensationPlan(generation_rates=(0.05,))
    with pytest.raises(ValueError, match="fast_start_days"):
        CompensationPlan(fast_start_days=0)
    with pytest.raises(ValueError, match=r"Rank\('X'\)\.rate"):
        Rank("X", float("nan"))
    with pytest.raises(AttributeError):
        CompensationPlan().unilevel = (0.1,)  # frozen


def test_bad_ranks_frames_name_the_column_member_and_period():
    data, _ = stair_chain(["R10"] * 4)
    plan = CompensationPlan(ranks=STAIRS)
    bad = pd.DataFrame(
        {
            "member_id": ["U1", "U1", "U2", "GHOST"],
            "period": [T("2025-03-01"), T("2025-03-20"), T("2025-03-01"), T("2025-03-01")],
            "rank": ["R10", "R15", "Diamond", "R10"],
        }
    )
    with pytest.raises(toolkit.DataError) as err:
        toolkit.commissions(data, plan, ranks=bad)
    text = str(err.value)
    assert "ranks.rank" in text and "member_id=U2" in text and "2025-03-01" in text
    assert "Diamond" in text and "valid: R10, R15, R19, R21" in text
    assert "ranks.member_id" in text and "GHOST" in text
    assert "more than one rank" in text and "member_id=U1" in text
    with pytest.raises(toolkit.DataError, match="ranks.period must hold timestamps"):
        toolkit.commissions(data, plan, ranks=bad.assign(period="2025-03"))
    with pytest.raises(toolkit.DataError, match="ranks: missing required column"):
        toolkit.commissions(data, plan, ranks=bad.drop(columns="rank"))


def test_bad_genealogies_are_named():
    data = crm([("A", "B", "business_builder", None), ("B", "A", "business_builder", None)], [])
    with pytest.raises(toolkit.DataError, match="sponsor cycle.*first member_id: A"):
        toolkit.commissions(data, CompensationPlan(unilevel=(0.1,)))
    data = crm([("A", "NOBODY", "business_builder", None)], [])
    with pytest.raises(toolkit.DataError, match="sponsors not in the members"):
        toolkit.commissions(data, CompensationPlan(unilevel=(0.1,)))
    with pytest.raises(ValueError, match="period must be one of"):
        toolkit.commissions(data, CompensationPlan(), period="W")


# --------------------------------------------------------------------------------------------
# engines


def engine_data(data, engine):
    return toolkit.CRMData(
        data.leads, data.events, to_engine(data.members, engine), to_engine(data.orders, engine)
    )


@pytest.fixture(scope="module")
def pandas_payouts(small_world):
    """The breakaway example on the small world through Narwhals' pandas path (no hand-off)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(toolkit.income._engine, "WALK_HANDOFF_ROWS", 10**12)
        return to_pandas(toolkit.commissions(small_world, CompensationPlan.breakaway_example()))


@pytest.mark.parametrize(
    "engine", ["pandas", "pandas_handed", "polars", "polars_lazy", "pyarrow", "duckdb"]
)
def test_engines_agree(small_world, pandas_payouts, engine, monkeypatch):
    plan = CompensationPlan.breakaway_example()
    expected = pandas_payouts
    if engine == "pandas_handed":  # pandas handed to Polars by toolkit.frames.hand_off (default)
        engine = "pandas"
    elif engine == "pandas":  # Narwhals' own pandas path
        monkeypatch.setattr(toolkit.income._engine, "WALK_HANDOFF_ROWS", 10**12)
    out = toolkit.commissions(engine_data(small_world, engine), plan)
    kinds = {"pandas": "DataFrame", "polars": "DataFrame", "polars_lazy": "LazyFrame"}
    kinds |= {"pyarrow": "Table", "duckdb": "DuckDBPyRelation"}
    assert type(out).__name__ == kinds[engine]  # the kind that came in (pandas via Polars)
    got = to_pandas(out)
    keys = ["member_id", "period", "component", "part"]
    pd.testing.assert_frame_equal(
        got.sort_values(keys).reset_index(drop=True)[expected.columns],
        expected.sort_values(keys).reset_index(drop=True),
        check_dtype=False,
    )


@pytest.mark.spark
@pytest.mark.slow
def test_pyspark_gives_the_same_payouts(spark):
    # the smallest plan that walks a chain: every level costs Spark jobs (about a minute here)
    data = three_uplines()
    sp = lambda f: spark.createDataFrame(pa.Table.from_pandas(f, preserve_index=False))  # noqa: E731
    sdata = toolkit.CRMData(data.leads, data.events, sp(data.members), sp(data.orders))
    plan = CompensationPlan(unilevel=(0.05, 0.03, 0.02), compression=False)
    out = toolkit.commissions(sdata, plan)
    assert type(out).__module__.startswith("pyspark")
    assert paid(out) == {"U1": 5.0, "unpaid": 3.0, "U3": 2.0}
