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
