"""Your own stages and lead types, and optional data truly optional (issue 15)."""

from dataclasses import replace

import pandas as pd
import pytest

import toolkit


@pytest.fixture
def clicks():
    """A clickstream: the export's own stage names, in no list of the toolkit's."""
    t = pd.Timestamp
    return pd.DataFrame(
        {
            "lead_id": ["a", "a", "a", "b", "b", "c"],
            "stage": ["catalog", "cart", "purchase", "catalog", "cart", "catalog"],
            "at": [t("2024-01-01"), t("2024-01-02"), t("2024-01-05")]
            + [t("2024-01-01"), t("2024-01-03"), t("2024-01-02")],
        }
    )


def test_a_funnel_on_your_own_stages(clicks):
    table = toolkit.funnel_table(clicks, ("catalog", "cart"), as_of="2024-06-30")
    assert table["reached"].tolist() == [3, 2]
    three = toolkit.funnel_table(clicks, ("catalog", "cart", "purchase"), as_of="2024-06-30")
    assert three["reached"].tolist() == [3, 2, 1]


def test_a_typo_step_lists_the_stages_present(clicks):
    with pytest.raises(
        toolkit.DataError, match=r"\['crat'\]; stages present: cart, catalog, purchase"
    ):
        toolkit.funnel_table(clicks, ("catalog", "crat"))
    with pytest.raises(toolkit.DataError, match="stages present: cart, catalog, purchase"):
        toolkit.time_to_convert(clicks, "catalog", "chekout")


def test_own_stages_and_lead_types_validate_and_a_declared_pipeline_is_kept(tiny):
    events = tiny.events.assign(stage=tiny.events["stage"].replace({"prospect": "demo"}))
    leads = tiny.leads.assign(lead_type=["hot", "cold", "cold", "warm"])
    data = toolkit.validate(replace(tiny, events=events, leads=leads))
    assert set(data.events["stage"]) == {"contact", "lead", "demo", "customer"}
    declared = ("contact", "lead", "demo", "customer")
    data = toolkit.validate(replace(tiny, events=events, stages=declared))
    assert data.stages == declared
    with pytest.raises(toolkit.DataError, match=r"outside the pipeline declared \('demo'\)"):
        toolkit.validate(replace(tiny, events=events, stages=toolkit.STAGES))


def test_the_mapping_declares_the_pipeline(tiny, tmp_path):
    events = tiny.events.assign(stage=tiny.events["stage"].str.upper())
    toolkit.write_crm(replace(tiny, events=events), tmp_path)
    stages = ["contact", "lead", "prospect", "customer"]
    data = toolkit.read_crm(tmp_path, mapping={"pipeline": {"stages": stages}})
    assert data.stages == tuple(stages)
    assert set(data.events["stage"]) == set(stages)  # matched ignoring case, spelled as declared
    with pytest.raises(toolkit.DataError, match="outside the pipeline declared"):
        toolkit.read_crm(tmp_path, mapping={"pipeline": {"stages": stages[:3]}})
    with pytest.raises(toolkit.DataError, match=r"\[pipeline\]: 'steps' is neither"):
        toolkit.read_crm(tmp_path, mapping={"pipeline": {"steps": stages}})


@pytest.mark.parametrize(
    ("table", "column"),
    [("leads", "cost"), ("leads", "owner_id"), ("members", "sponsor_id"), ("members", "left_at")],
)
def test_optional_columns_may_be_absent(tiny, table, column):
    frame = getattr(tiny, table).drop(columns=column)
    data = toolkit.validate(replace(tiny, **{table: frame}))
    assert column not in getattr(data, table).columns
    assert not data.has(table, column)
    with pytest.raises(toolkit.DataError, match=f"{table} has no column {column}; .*would show"):
        data.require(table, column)


def test_optional_tables_may_be_absent(tiny):
    assert toolkit.validate(toolkit.CRMData(tiny.leads, tiny.events, tiny.members, orders=None))
    only_orders = toolkit.validate(
        replace(tiny, leads=None, events=None, members=tiny.members.assign(lead_id=None))
    )
    assert set(only_orders.tables()) == {"members", "orders"}
    with pytest.raises(toolkit.DataError, match="events are missing and there are no orders"):
        toolkit.validate(replace(tiny, leads=None, events=None, orders=None))
    with pytest.raises(toolkit.DataError, match="no events table .*would show the funnel"):
        toolkit.funnel_table(only_orders.events)


def test_computations_needing_a_missing_piece_say_what_it_would_show(tiny):
    members = tiny.members
    cases = [
        (lambda: toolkit.cohort_table(members.drop(columns="left_at")), "who left"),
        (lambda: toolkit.cohort_table(members, None, metric="revenue"), "would show revenue"),
        (lambda: toolkit.member_mix(members, None), "would show revenue"),
        (lambda: toolkit.role_transitions(members), "no role_history table"),
        (lambda: toolkit.downline(members.drop(columns="sponsor_id")), "would show the genealogy"),
        (
            lambda: toolkit.funnel_table(
                tiny.events, by="owner_id", leads=tiny.leads.drop(columns="owner_id")
            ),
            "by lead owner",
        ),
    ]
    for run, message in cases:
        with pytest.raises(toolkit.DataError, match=message):
            run()


def test_the_tour_picks_steps_and_comparisons_from_the_export(tiny, clicks, capsys):
    from toolkit import tour

    assert tour.funnel_steps(tiny) == ("contact", "lead", "prospect", "customer")
    own = replace(tiny, events=clicks, leads=tiny.leads.head(0))
    assert tour.funnel_steps(own) == ("catalog", "cart", "purchase")  # most reached first
    assert tour.funnel_steps(replace(own, stages=("cart", "catalog"))) == ("cart", "catalog")
    assert tour.pick(tiny, "source", ("seminar", "broker")) == ["seminar", "broker"]
    assert tour.pick(tiny, "source", ("online_ad", "broker")) == ["broker", "seminar"]
    assert "no source 'online_ad'" in capsys.readouterr().out
