"""The numpy route for pandas inputs (toolkit.fastpath, issue 18) against the engine route, on
random data: the same funnel tables, time-to-convert curves and lead-quality patterns.

The engine route is what every other kind of frame takes (Narwhals over pandas here), so an
agreement on random events, with repeated stages, ties, missing leads, missing attributes,
a lead listed twice and every time unit, is what lets pandas users get the fast answer."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import toolkit
from toolkit import fastpath
from toolkit.lead_quality import aggregate_leads

STAGES = ("contact", "lead", "prospect", "customer", "rep")
LEAD_TYPE_NAMES = ("unqualified", "generic", "qualified")
START = pd.Timestamp("2025-01-01")


@st.composite
def crm(draw):
    """Small random leads and events; ``at`` in a random unit, ids as numbers or strings."""
    n = draw(st.integers(1, 12))
    as_text = draw(st.booleans())
    ids = [f"L{i:02d}" if as_text else 100 + i for i in range(n)]
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.sampled_from(STAGES), st.integers(0, 400)),
            min_size=0,
            max_size=40,
        )
    )
    unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
    hours = draw(st.sampled_from([1, 24]))  # whole days give ties, hours fewer of them
    events = pd.DataFrame(
        {
            "lead_id": pd.Series([ids[i] for i, _, _ in rows], dtype="str" if as_text else "int64"),
            "stage": pd.Series([s for _, s, _ in rows], dtype="str"),
            "at": (START + pd.to_timedelta([h * hours for _, _, h in rows], unit="h")).as_unit(
                unit
            ),
        }
    )
    listed = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
    if listed and draw(st.booleans()):
        listed.append(listed[0])  # a lead listed twice: the engine's join counts it twice
    types = [draw(st.sampled_from(["generic", "qualified", None])) for _ in listed]
    leads = pd.DataFrame(
        {
            "lead_id": pd.Series([ids[i] for i in listed], dtype="str" if as_text else "int64"),
            "created_at": (START + pd.to_timedelta([7 * i for i in listed], unit="D")).as_unit(
                unit
            ),
            "lead_type": pd.Series(types, dtype="str"),
            "cost": [float(i % 3) for i in listed],
        }
    )
    return events, leads


def outcome(call):
    """The result, or the message of the DataError both routes must raise alike."""
    try:
        return call()
    except toolkit.DataError as error:
        return str(error)


def both_routes(monkeypatch, call):
    fast = outcome(call)
    with monkeypatch.context() as m:
        m.setattr(fastpath, "ENABLED", False)
        engine = outcome(call)
    if isinstance(fast, str) or isinstance(engine, str):
        assert fast == engine  # refused alike (a lead listed twice), with the same message
        return None
    return fast, engine


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(
    data=crm(),
    window=st.sampled_from(["30D", "90D", ("20D", "40D", "60D")]),
    by=st.sampled_from([None, "lead_type", "entry_month", ["created_month", "lead_type"]]),
    naive=st.booleans(),
    as_of=st.sampled_from([None, "2025-08-01"]),
)
def test_funnel_table_fast_path_is_the_engine(monkeypatch, data, window, by, naive, as_of):
    events, leads = data
    steps = ("contact", "lead", "prospect", {"won": ("customer", "rep")})

    def call():
        return toolkit.funnel_table(
            events,
            steps,
            window=window,
            by=by,
            leads=leads,
            as_of=as_of,
            include_in_progress=naive,
        )

    routes = both_routes(monkeypatch, call)
    if routes is None:
        return
    fast, engine = routes
    pd.testing.assert_frame_equal(fast, engine)


@SETTINGS
@given(data=crm(), by=st.sampled_from([None, "lead_type", "entry_day"]))
def test_time_to_convert_fast_path_is_the_engine(monkeypatch, data, by):
    events, leads = data
    if not (events["stage"] == "lead").any():
        return

    def call():
        return toolkit.time_to_convert(events, "lead", "customer", by=by, leads=leads)

    routes = both_routes(monkeypatch, call)
    if routes is None:
        return
    fast, engine = routes
    # the engine measures durations through float seconds (a microsecond off at times)
    pd.testing.assert_frame_equal(fast.table, engine.table, rtol=1e-9)
    pd.testing.assert_frame_equal(fast.summary, engine.summary, rtol=1e-9)


@SETTINGS
@given(data=crm(), by=st.sampled_from([[], ["lead_type"], ["lead_type", "cost"]]))
def test_aggregate_leads_fast_path_is_the_engine(monkeypatch, data, by):
    events, leads = data

    def call():
        return aggregate_leads(
            leads,
            events,
            by=by,
            outcomes=["customer", "rep"],
            window="60D",
            as_of="2025-09-01",
            cost_col="cost",
        )

    routes = both_routes(monkeypatch, call)
    if routes is None:
        return
    fast, engine = routes
    pd.testing.assert_frame_equal(fast, engine, rtol=1e-12)


def test_fast_path_covers_plain_pandas_only():
    events = pd.DataFrame({"lead_id": [1], "stage": ["contact"], "at": [START]})
    assert fastpath.covers(events)
    assert not fastpath.covers(events.assign(at=events["at"].dt.tz_localize("UTC")))
    assert not fastpath.covers(events.assign(lead_id=[None]))
    assert not fastpath.covers(events, pd.DataFrame({"lead_id": ["1"]}))  # ids of two kinds
    pytest.importorskip("polars")
    import polars as pl

    assert not fastpath.covers(pl.from_pandas(events))


def test_large_tables_keep_the_engine_route(monkeypatch):
    # the numpy route is measured up to MAX_ROWS; beyond it the sliced Polars hand-off runs
    events = pd.DataFrame({"lead_id": [1, 2], "stage": ["contact"] * 2, "at": [START] * 2})
    monkeypatch.setattr(fastpath, "MAX_ROWS", 1)
    assert not fastpath.covers(events)


# ------------------------------------------------------------------ cohorts and member mix

ROLE_NAMES = ("retail_customer", "preferred_customer", "business_builder", "leader")


@st.composite
def members_world(draw):
    """Small random members, orders and role history: members who left or not (one now and
    then left before joining, listed twice or in a role outside the vocabulary), orders of
    unknown members or before joining, missing money, role changes within one period."""
    n = draw(st.integers(1, 10))
    as_text = draw(st.booleans())
    ids = [f"M{i}" if as_text else 10 + i for i in range(n)]
    joined = [START + pd.Timedelta(days=draw(st.integers(0, 200))) for _ in range(n)]
    stays = [draw(st.one_of(st.none(), st.integers(-3, 150))) for _ in range(n)]
    roles = [draw(st.sampled_from(ROLE_NAMES)) for _ in range(n)]
    if draw(st.integers(0, 9)) == 0:
        roles[0] = "Leader "  # outside the vocabulary: refused on both routes alike
    members = pd.DataFrame(
        {
            "member_id": pd.Series(ids, dtype="str" if as_text else "int64"),
            "joined_at": joined,
            "left_at": [
                pd.NaT if s is None else j + pd.Timedelta(days=s)
                for j, s in zip(joined, stays, strict=True)
            ],
            "role": pd.Series(roles, dtype="str"),
        }
    )
    if draw(st.integers(0, 9)) == 0:
        members = pd.concat([members, members.iloc[:1]], ignore_index=True)  # listed twice
    rows = []
    for i in range(draw(st.integers(0, 30))):
        m = draw(st.integers(0, n if draw(st.integers(0, 19)) == 0 else n - 1))  # n: unknown
        base = joined[m] if m < n else START
        rows.append(
            (
                f"O{i}",
                ids[m] if m < n else ("M99" if as_text else 99),
                base + pd.Timedelta(hours=draw(st.integers(-2, 2400))),
                draw(st.one_of(st.floats(0, 300), st.just(float("nan")))),
            )
        )
    orders = pd.DataFrame(rows, columns=["order_id", "member_id", "ordered_at", "amount"])
    orders["member_id"] = orders["member_id"].astype(members["member_id"].dtype)
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"]).astype("datetime64[ns]")
    orders["volume"] = orders["amount"] * draw(st.sampled_from([0.5, 1.0]))
    changes = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 300)), max_size=8))
    history = pd.DataFrame(
        {
            "member_id": pd.Series([ids[m] for m, _ in changes], dtype=members["member_id"].dtype),
            "role": pd.Series(
                [ROLE_NAMES[(m + d) % len(ROLE_NAMES)] for m, d in changes], dtype="str"
            ),
            "from_at": [joined[m] + pd.Timedelta(days=d) for m, d in changes],
        }
    )
    return members, orders, history


@SETTINGS
@given(
    world=members_world(),
    period=st.sampled_from(["W", "M", "Q"]),
    by=st.sampled_from([None, "role"]),
    as_of=st.sampled_from([None, "2026-06-01"]),
)
def test_cohort_table_fast_path_is_the_engine(monkeypatch, world, period, by, as_of):
    members, orders, _ = world

    def call():
        return toolkit.cohort_table(members, orders, period=period, by=by, as_of=as_of)

    routes = both_routes(monkeypatch, call)
    if routes is not None:
        pd.testing.assert_frame_equal(*routes, check_exact=True)


@SETTINGS
@given(
    world=members_world(),
    period=st.sampled_from(["W", "M", "Q"]),
    history=st.booleans(),
    as_of=st.sampled_from([None, "2026-06-01"]),
)
def test_member_mix_fast_path_is_the_engine(monkeypatch, world, period, history, as_of):
    members, orders, role_history = world

    def call():
        return toolkit.member_mix(
            members,
            orders,
            period=period,
            as_of=as_of,
            role_history=role_history if history else None,
        )

    routes = both_routes(monkeypatch, call)
    if routes is not None:
        pd.testing.assert_frame_equal(*routes, check_exact=True)


@SETTINGS
@given(
    ids=st.lists(st.one_of(st.integers(0, 6), st.none()), min_size=0, max_size=10),
    data=st.data(),
)
def test_check_frame_pandas_is_the_engine(monkeypatch, ids, data):
    # the cheap contract checks on plain pandas: refused (or not) as the engine path refuses
    import narwhals as nw

    from toolkit.checks import check_frame

    n = len(ids)
    extra = st.sampled_from([float("nan"), -1.0, float("inf"), -float("inf")])
    leads = pd.DataFrame(
        {
            "lead_id": pd.Series(ids, dtype="float64" if data.draw(st.booleans()) else "object"),
            "lead_type": data.draw(
                st.lists(
                    st.sampled_from([*LEAD_TYPE_NAMES, None, "Generic"]), min_size=n, max_size=n
                )
            ),
            "created_at": pd.to_datetime(
                data.draw(st.lists(st.sampled_from([START, None]), min_size=n, max_size=n))
            ),
            "cost": data.draw(st.lists(st.one_of(st.floats(0, 9), extra), min_size=n, max_size=n)),
        },
        index=range(100, 100 + n),
    )
    leads["cost"] = leads["cost"].astype("float64")

    def call():
        columns = ("lead_id", "lead_type", "created_at", "cost")
        check_frame(nw.from_native(leads, eager_only=True), "leads", columns)
        return "accepted"

    routes = both_routes(monkeypatch, call)  # refused alike, with the same message
    if routes is not None:
        assert routes == ("accepted", "accepted")
