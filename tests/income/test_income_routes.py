"""The numpy route of the commissions (toolkit/income/_tree_arrays.py, _array_payouts.py) gives
the Narwhals route's rows, on random genealogies, every component and every period."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import toolkit
import toolkit.income._tree_arrays as arrays
from tests.support import to_pandas
from toolkit import CompensationPlan, Rank

T = pd.Timestamp
LEADS = pd.DataFrame(
    {
        "lead_id": ["L0"],
        "created_at": [T("2025-01-01")],
        "source": ["x"],
        "lead_type": ["generic"],
        "cost": [3.0],
        "owner_id": ["M0"],
    }
)
EVENTS = pd.DataFrame(columns=["lead_id", "stage", "at"])
DAYS = ["2024-12-30", "2025-01-05", "2025-02-03", "2025-02-25", "2025-03-10", "2025-04-02"]
DAYS += ["2025-07-14 08:30", "2025-11-30 23:59:59"]


@st.composite
def worlds(draw):
    """Members (chains and bushes, customers, leavers, late joiners) and a plan using all of it."""
    n = draw(st.integers(1, 14))
    members, orders = [], []
    for i in range(n):
        if i == 0 or draw(st.integers(0, 6)) == 0:
            sponsor = None
        else:  # mostly a recent member: deeper chains
            sponsor = f"M{draw(st.integers(max(0, i - 3), i - 1))}"
        left = draw(st.sampled_from([None, None, "2025-02-15", "2025-03-20", "2025-08-01"]))
        joined = draw(st.sampled_from(["2024-06-01", "2025-01-01", "2025-02-20", "2025-03-05"]))
        members.append((f"M{i}", sponsor, draw(st.sampled_from(toolkit.ROLES)), joined, left))
    for _ in range(draw(st.integers(0, 25))):
        who = f"M{draw(st.integers(0, n - 1))}"
        volume = draw(st.integers(0, 600)) * 1.0
        orders.append((who, draw(st.sampled_from(DAYS)), volume * 1.25, volume))
    n_ranks = draw(st.integers(0, 4))
    rates = sorted(draw(st.lists(st.integers(0, 25), min_size=n_ranks, max_size=n_ranks)))
    pvs = sorted(draw(st.lists(st.sampled_from([0, 50, 100]), min_size=n_ranks, max_size=n_ranks)))
    gvs = sorted(draw(st.lists(st.integers(0, 900), min_size=n_ranks, max_size=n_ranks)))
    ranks = tuple(
        Rank(f"R{k}", rates[k] / 100, personal_volume=pvs[k], group_volume=gvs[k])
        for k in range(n_ranks)
    )
    breakaway = draw(st.sampled_from([None, *[r.name for r in ranks]]))
    plan = CompensationPlan(
        retail_margin=draw(st.sampled_from([0.0, 0.25])),
        unilevel=tuple(draw(st.lists(st.sampled_from([0.01, 0.03, 0.05]), max_size=5))),
        min_personal_volume=draw(st.sampled_from([0.0, 50.0, 200.0])),
        compression=draw(st.booleans()),
        ranks=ranks,
        breakaway_rank=breakaway,
        generation_rates=tuple(
            draw(st.lists(st.sampled_from([0.04, 0.02]), min_size=1, max_size=3))
        )
        if breakaway and draw(st.booleans())
        else (),
        fast_start=draw(st.sampled_from([0.0, 0.1])),
        fast_start_days=draw(st.sampled_from([10, 30, 60])),
        starter_fee=10.0,
        monthly_fee=5.0,
    )
    fixed = None
    if ranks and draw(st.booleans()):  # a ranks frame for some members and months
        rows = draw(
            st.lists(
                st.tuples(st.integers(0, n - 1), st.sampled_from(DAYS), st.sampled_from(ranks)),
                min_size=1,
                max_size=8,
                unique_by=lambda r: (r[0], T(r[1]).year),  # one a period, any period
            )
        )
        fixed = pd.DataFrame(
            {
                "member_id": [f"M{i}" for i, _, _ in rows],
                "period": pd.to_datetime([d for _, d, _ in rows], format="ISO8601").astype(
                    "datetime64[us]"
                ),
                "rank": [r.name for _, _, r in rows],
            }
        )
    return members, orders, plan, fixed


def crm(members, orders):
    m = pd.DataFrame(members, columns=["member_id", "sponsor_id", "role", "joined_at", "left_at"])
    m["joined_at"] = pd.to_datetime(m["joined_at"], format="ISO8601").astype("datetime64[us]")
    m["left_at"] = pd.to_datetime(m["left_at"], format="ISO8601").astype("datetime64[us]")
    m["lead_id"] = None
    o = pd.DataFrame(orders, columns=["member_id", "ordered_at", "amount", "volume"])
    o.insert(0, "order_id", [f"O{i}" for i in range(len(o))])
    o["ordered_at"] = pd.to_datetime(o["ordered_at"], format="ISO8601").astype("datetime64[us]")
    o = o.astype({"member_id": object, "amount": float, "volume": float})
    o["autoship"] = False
    return toolkit.CRMData(LEADS, EVENTS, m, o, as_of=T("2025-12-31"))


def both_routes(fn):
    """``fn()`` on the numpy route and on the Narwhals route, as pandas frames."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arrays, "ENABLED", True)
        fast = to_pandas(fn())
        mp.setattr(arrays, "ENABLED", False)
        slow = to_pandas(fn())
    return fast, slow


def same(fast: pd.DataFrame, slow: pd.DataFrame):
    # the rows in the same order; amounts up to the order floating-point sums are taken in
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False, rtol=1e-9, atol=1e-9)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.sampled_from(["M", "Q", "Y"]), st.sampled_from(["pandas", "polars", "lazy"]))
def test_both_routes_give_the_same_rows(world, period, kind):
    members, orders, plan, fixed = world
    data = crm(members, orders)
    before = {k: v.copy() for k, v in data.tables().items()}
    if kind != "pandas":
        tables = [
            pl.from_pandas(getattr(data, t)) for t in ("leads", "events", "members", "orders")
        ]
        if kind == "lazy":
            tables = [t.lazy() for t in tables]
        data = toolkit.CRMData(*tables, as_of=data.as_of)
        if fixed is not None:
            fixed = pl.from_pandas(fixed)
            fixed = fixed.lazy() if kind == "lazy" else fixed
    fast, slow = both_routes(lambda: toolkit.commissions(data, plan, period=period, ranks=fixed))
    same(fast, slow)
    if fixed is None:
        fast, slow = both_routes(lambda: toolkit.participant_income(data, plan, period=period))
        same(fast, slow)
    if kind == "pandas":
        for name, frame in data.tables().items():  # inputs never mutated
            pd.testing.assert_frame_equal(frame, before[name])


def test_the_numpy_route_serves_polars_and_handed_pandas():
    members = [("A", None, "leader", "2025-01-01", None), ("B", "A", "leader", "2025-01-01", None)]
    data = crm(members, [("B", "2025-03-10", 100.0, 100.0)])
    assert not arrays.covers(data)  # pandas as it is: toolkit.income._engine.handoff first
    polars_data = toolkit.CRMData(
        data.leads, data.events, pl.from_pandas(data.members), pl.from_pandas(data.orders)
    )
    assert arrays.covers(polars_data)
    lazy = toolkit.CRMData(
        data.leads, data.events, polars_data.members.lazy(), polars_data.orders.lazy()
    )
    assert arrays.covers(lazy)
    plan = CompensationPlan(unilevel=(0.1,))
    out = toolkit.commissions(polars_data, plan)
    assert isinstance(out, pl.DataFrame) and out["amount"].to_list() == [10.0]
    assert isinstance(toolkit.commissions(lazy, plan), pl.LazyFrame)
    assert isinstance(toolkit.commissions(data, plan), pd.DataFrame)
    zoned = polars_data.orders.with_columns(pl.col("ordered_at").dt.replace_time_zone("UTC"))
    assert not arrays.covers(toolkit.CRMData(data.leads, data.events, polars_data.members, zoned))


def test_errors_are_the_same_on_both_routes():
    cases = [
        [("A", "B", "leader", "2025-01-01", None), ("B", "A", "leader", "2025-01-01", None)],
        [("A", "NOBODY", "leader", "2025-01-01", None)],
    ]
    for members in cases:
        data = crm(members, [])
        data = toolkit.CRMData(
            data.leads, data.events, pl.from_pandas(data.members), pl.from_pandas(data.orders)
        )
        messages = []
        for enabled in (True, False):
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(arrays, "ENABLED", enabled)
                with pytest.raises(toolkit.DataError) as err:
                    toolkit.commissions(data, CompensationPlan(unilevel=(0.1,)))
                messages.append(str(err.value))
        assert messages[0] == messages[1]
    data = crm([("A", None, "leader", "2025-01-01", None)], [("GHOST", "2025-03-01", 1.0, 1.0)])
    data = toolkit.CRMData(
        data.leads, data.events, pl.from_pandas(data.members), pl.from_pandas(data.orders)
    )
    with pytest.raises(toolkit.DataError, match="first order_id: O0"):
        toolkit.commissions(data, CompensationPlan(unilevel=(0.1,)))


def test_a_deep_chain():
    """A chain of 3,000 members: one step per tree level, and the same rows as the Narwhals
    route would give (checked on its first 40 levels, which is all the plan reaches)."""
    n = 3000
    members = [
        (f"M{i}", None if i == 0 else f"M{i - 1}", "leader", "2025-01-01", None) for i in range(n)
    ]
    orders = [(f"M{i}", "2025-03-10", 150.0, 120.0) for i in range(0, n, 7)]
    data = crm(members, orders)
    plan = CompensationPlan(unilevel=(0.05,) * 5, min_personal_volume=100.0)
    out = to_pandas(toolkit.commissions(data, plan))
    paid = out[out["component"] == "unilevel"].set_index("member_id")["amount"]
    # with compression each order climbs to the next five buyers above it
    assert out["amount"].sum() == pytest.approx(len(orders) * 120.0 * 0.25)
    assert paid.loc["M0"] == pytest.approx(0.05 * 120.0 * 5)
    assert np.isclose(paid.drop("M0").max(), 0.05 * 120.0 * 5)


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_an_empty_role_history_is_as_none(kind):
    members = [
        ("A", None, "leader", "2025-01-01", None),
        ("B", "A", "business_builder", "2025-02-01", None),
        ("C", "B", "retail_customer", "2025-02-01", None),
    ]
    data = crm(members, [("C", "2025-03-10", 100.0, 80.0), ("B", "2025-03-11", 50.0, 40.0)])
    plan = CompensationPlan(unilevel=(0.1, 0.05), retail_margin=0.2, monthly_fee=5.0)
    untyped = pd.DataFrame(columns=["member_id", "role", "from_at"])  # object columns, no rows
    typed = pd.DataFrame(
        {"member_id": pd.Series([], dtype=object), "role": pd.Series([], dtype=object)}
    ).assign(from_at=pd.Series([], dtype="datetime64[us]"))
    tables = [data.leads, data.events, data.members, data.orders]
    if kind == "polars":
        tables = [pl.from_pandas(t) for t in tables]
    expected = to_pandas(
        toolkit.participant_income(toolkit.CRMData(*tables, as_of=data.as_of), plan)
    )
    assert len(expected) == 2  # A and B
    for history in (untyped, typed):
        if kind == "polars":
            history = pl.from_pandas(typed)
        with_history = toolkit.CRMData(*tables, as_of=data.as_of, role_history=history)
        got = to_pandas(toolkit.participant_income(with_history, plan))
        pd.testing.assert_frame_equal(got, expected)
