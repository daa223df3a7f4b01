"""The data contract: every class of bad input gets a message that names table, column, count, ids."""

import re

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import toolkit
from toolkit.schema import TABLES, sponsor_loops


def with_table(data, **tables):
    return toolkit.CRMData(**{**data.tables(), **tables, "as_of": tables.pop("as_of", data.as_of)})


def error_of(data) -> str:
    with pytest.raises(toolkit.DataError) as info:
        toolkit.validate(data)
    return str(info.value)


def test_valid_data_passes_and_is_normalised(tiny):
    out = toolkit.validate(tiny)
    assert out.as_of == pd.Timestamp("2025-06-30")
    assert out.leads["created_at"].dtype == "datetime64[us]"
    assert out.orders["autoship"].dtype == bool
    assert [len(f) for f in out.tables().values()] == [4, 10, 2, 3]


def test_as_of_defaults_to_latest_timestamp(tiny):
    out = toolkit.validate(with_table(tiny, as_of=None))
    assert out.as_of == pd.Timestamp("2025-06-20")  # L4's contact, the last thing recorded


def test_strings_are_parsed_and_inputs_never_mutated(tiny):
    leads = tiny.leads.assign(
        created_at=tiny.leads["created_at"].dt.strftime("%Y-%m-%d"),
        cost=["12", "0.05", "0", "0.05"],
    )
    orders = tiny.orders.assign(autoship=["yes", "no", "TRUE"])
    before = (leads.copy(), orders.copy())
    out = toolkit.validate(with_table(tiny, leads=leads, orders=orders))
    pd.testing.assert_frame_equal(leads, before[0])
    pd.testing.assert_frame_equal(orders, before[1])
    assert out.leads["cost"].tolist() == [12.0, 0.05, 0.0, 0.05]
    assert out.orders["autoship"].tolist() == [True, False, True]


def test_extra_columns_pass_through(tiny):
    leads = tiny.leads.assign(campaign=["a", "b", None, "d"], score=[1, 2, 3, 4])
    out = toolkit.validate(with_table(tiny, leads=leads))
    assert out.leads["campaign"].tolist()[:2] == ["a", "b"]
    assert out.leads["score"].tolist() == [1, 2, 3, 4]


def test_missing_column(tiny):
    msg = error_of(with_table(tiny, events=tiny.events.drop(columns="stage")))
    assert "events: missing required column(s) ['stage']" in msg


def test_dates_that_do_not_parse(tiny):
    leads = tiny.leads.astype({"created_at": "str"})
    leads.loc[[1, 3], "created_at"] = ["yesterday", "31/31/2025"]
    msg = error_of(with_table(tiny, leads=leads))
    assert "leads.created_at: 2 rows with a date that does not parse (first lead_id: L2, L4)" in msg


@pytest.mark.parametrize(
    ("table", "column", "bad", "valid", "where"),
    [
        ("events", "stage", "signup", "contact, lead, prospect, customer, rep, leader", "pipeline"),
        ("leads", "lead_type", "cold", "unqualified, generic, qualified", "pipeline"),
        (
            "members",
            "role",
            "boss",
            "retail_customer, preferred_customer, retailer, business_builder, leader",
            "vocabulary",
        ),
    ],
)
def test_values_outside_the_vocabulary(tiny, table, column, bad, valid, where):
    frame = getattr(tiny, table).copy()
    frame.loc[1, column] = bad
    # stages and lead types are refused only outside a declared pipeline; roles always
    declared = {"stages": toolkit.STAGES, "lead_types": toolkit.LEAD_TYPES}
    msg = error_of(with_table(tiny, **{table: frame}, **declared))
    what = "the pipeline declared" if where == "pipeline" else "the vocabulary"
    assert f"{table}.{column}: 1 row outside {what} ('{bad}'); valid values: {valid}" in msg
    if where == "pipeline":  # undeclared, the export's own names are taken as they are
        assert (
            toolkit.validate(with_table(tiny, **{table: frame})).tables()[table][column] == bad
        ).any()


def test_negative_cost_and_amount(tiny):
    leads = tiny.leads.assign(cost=[1.0, -2.0, 3.0, -0.5])
    orders = tiny.orders.assign(amount=[70.0, -1.0, 5.0])
    msg = error_of(with_table(tiny, leads=leads, orders=orders))
    assert "leads.cost: 2 rows below 0 (first lead_id: L2, L4)" in msg
    assert "orders.amount: 1 row below 0 (first order_id: O2)" in msg


def test_required_value_missing(tiny):
    leads = tiny.leads.assign(cost=[1.0, None, 3.0, 4.0])
    assert "leads.cost: 1 row empty (the column is required) (first lead_id: L2)" in error_of(
        with_table(tiny, leads=leads)
    )


def test_duplicate_ids(tiny):
    leads = tiny.leads.assign(lead_id=["L1", "L2", "L2", "L4"])
    assert "leads.lead_id: 2 rows with a duplicate id (first lead_id: L2, L2)" in error_of(
        with_table(tiny, leads=leads)
    )


def test_events_for_unknown_leads(tiny):
    events = pd.concat(
        [
            tiny.events,
            pd.DataFrame(
                {"lead_id": ["L9", "L8"], "stage": "lead", "at": pd.Timestamp("2025-03-01")}
            ),
        ]
    )
    msg = error_of(with_table(tiny, events=events))
    assert (
        "events.lead_id: 2 rows referring to leads not in the leads table (first lead_id: L9, L8)"
        in msg
    )


def test_orders_for_unknown_members(tiny):
    orders = tiny.orders.assign(member_id=["M2", "M7", "M1"])
    msg = error_of(with_table(tiny, orders=orders))
    assert (
        "orders.member_id: 1 row referring to members not in the members table (first order_id: O2)"
        in msg
    )


def test_unknown_sponsor(tiny):
    members = tiny.members.assign(sponsor_id=[None, "M5"])
    msg = error_of(with_table(tiny, members=members))
    assert (
        "members.sponsor_id: 1 row referring to sponsors not in the members table (first member_id: M2)"
        in msg
    )


def test_sponsor_cycle(tiny):
    # M1 -> M3 -> M2 -> M1 loops; M4 hangs below the loop and has no root either.
    members = pd.concat(
        [
            tiny.members,
            tiny.members.assign(member_id=["M3", "M4"], sponsor_id=["M2", "M3"], lead_id=None),
        ]
    )
    members["sponsor_id"] = ["M3", "M1", "M2", "M3"]
    msg = error_of(with_table(tiny, members=members, orders=tiny.orders.iloc[:0]))
    assert "members.sponsor_id: 4 rows in a sponsor cycle" in msg
    assert "(first member_id: M1, M2, M3, M4)" in msg


def test_left_before_joined_and_orders_before_joining(tiny):
    members = tiny.members.assign(left_at=[pd.Timestamp("2024-01-01"), pd.NaT])
    orders = tiny.orders.assign(
        ordered_at=[pd.Timestamp("2025-01-01"), *tiny.orders["ordered_at"][1:]]
    )
    msg = error_of(with_table(tiny, members=members, orders=orders))
    assert "members.left_at: 1 row before joined_at (first member_id: M1)" in msg
    assert "orders.ordered_at: 1 row before the member joined (first order_id: O1)" in msg


def test_timestamps_after_as_of(tiny):
    msg = error_of(with_table(tiny, as_of=pd.Timestamp("2025-02-15")))
    assert "leads.created_at: 1 row after as_of (2025-02-15 00:00:00) (first lead_id: L4)" in msg
    assert "orders.ordered_at: 2 rows after as_of" in msg


def test_all_problems_are_reported_at_once(tiny):
    leads = tiny.leads.assign(cost=-1.0, lead_type="hot")
    with pytest.raises(toolkit.DataError) as info:
        toolkit.validate(with_table(tiny, leads=leads, lead_types=toolkit.LEAD_TYPES))
    assert len(info.value.problems) == 2
    assert str(info.value).startswith("The CRM data breaks the contract in 2 way(s):")


def test_examples_are_capped(tiny):
    # a million bad rows must not make a million-line message
    leads = pd.concat([tiny.leads] * 5, ignore_index=True).assign(
        lead_id=[f"L{i}" for i in range(20)], cost=-1.0
    )
    msg = error_of(
        with_table(
            tiny,
            leads=leads,
            events=tiny.events.iloc[:0],
            members=tiny.members.assign(lead_id=None),
        )
    )
    line = next(li for li in msg.splitlines() if "leads.cost" in li)
    assert "20 rows below 0 (first lead_id: L0, L1, L2, L3, L4)" in line


def test_timezone_aware_timestamps_become_utc(tiny):
    leads = tiny.leads.assign(
        created_at=tiny.leads["created_at"].dt.tz_localize("America/New_York")
    )
    out = toolkit.validate(with_table(tiny, leads=leads, as_of=None))
    assert out.leads["created_at"].iloc[0] == pd.Timestamp("2025-01-01 05:00")


def test_empty_tables_with_the_contract_columns_are_valid():
    empty = {name: TABLES[name].empty() for name in ("leads", "events", "members", "orders")}
    out = toolkit.validate(toolkit.CRMData(**empty))
    assert out.as_of is None
    assert all(len(frame) == 0 for frame in out.tables().values())


def test_sponsor_loops_on_a_long_chain():
    # a 100,000-deep chain is not a loop; closing it makes every member part of one
    n = 100_000
    ids = pd.Series([f"M{i}" for i in range(n)])
    sponsors = pd.Series([None, *ids[:-1]])
    assert not sponsor_loops(ids, sponsors).any()
    sponsors[0] = ids.iloc[-1]
    assert sponsor_loops(ids, sponsors).all()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    costs=st.lists(
        st.one_of(st.floats(-5, 50, allow_nan=False), st.just("n/a")), min_size=4, max_size=4
    )
)
def test_validation_never_drops_rows_or_mutates(tiny, costs):
    leads = tiny.leads.assign(cost=pd.Series(costs, dtype=object))
    before = leads.copy()
    expected_bad = sum(c == "n/a" for c in costs) + sum(
        isinstance(c, float) and c < 0 for c in costs
    )
    try:
        out = toolkit.validate(with_table(tiny, leads=leads))
    except toolkit.DataError as exc:
        counted = sum(int(n) for n in re.findall(r"leads\.cost: (\d+) rows?", str(exc)))
        assert counted == expected_bad > 0
    else:
        assert expected_bad == 0
        assert len(out.leads) == 4
        assert np.allclose(out.leads["cost"], [float(c) for c in costs])
    pd.testing.assert_frame_equal(leads, before)
