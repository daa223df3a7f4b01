"""Reading, writing and the sample world: its process is coherent and its planted figures hold."""

import pandas as pd
import pytest

import toolkit
from toolkit import datasets
from toolkit.datasets import SAMPLE_DIR


def reached(data, stage):
    return data.leads["lead_id"].isin(data.events.loc[data.events["stage"] == stage, "lead_id"])


def mature_leads(data, age="180D"):
    """Leads old enough that their conversions (mostly within 90 days) have happened."""
    return data.leads["created_at"] <= data.as_of - pd.Timedelta(age)


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_write_then_read_round_trips(tiny, tmp_path, format):
    toolkit.write_crm(tiny, tmp_path, format=format)
    back = toolkit.read_crm(tmp_path, as_of=tiny.as_of)
    expected = toolkit.validate(tiny)
    for name, frame in expected.tables().items():
        pd.testing.assert_frame_equal(back.tables()[name], frame, check_dtype=False)


def test_read_keeps_ids_as_text(tmp_path, tiny):
    leads = tiny.leads.assign(lead_id=["007", "L2", "L3", "L4"])
    events = tiny.events.assign(lead_id=tiny.events["lead_id"].replace("L1", "007"))
    members = tiny.members.assign(lead_id=[None, "007"])
    toolkit.write_crm(toolkit.CRMData(leads, events, members, tiny.orders, tiny.as_of), tmp_path)
    assert toolkit.read_crm(tmp_path).leads["lead_id"].iloc[0] == "007"


def test_orders_are_optional(tmp_path, tiny):
    toolkit.write_crm(tiny, tmp_path)
    (tmp_path / "orders.csv").unlink()
    data = toolkit.read_crm(tmp_path)
    assert len(data.orders) == 0
    assert list(data.orders.columns) == [
        "order_id",
        "member_id",
        "ordered_at",
        "amount",
        "volume",
        "autoship",
    ]


def test_missing_table_and_missing_folder(tmp_path, tiny):
    toolkit.write_crm(tiny, tmp_path)
    (tmp_path / "events.csv").unlink()
    with pytest.raises(toolkit.DataError, match=r"missing table\(s\) \['events'\]"):
        toolkit.read_crm(tmp_path)
    with pytest.raises(toolkit.DataError, match="not a folder"):
        toolkit.read_crm(tmp_path / "nowhere")


def test_bad_csv_reports_the_file_table(tmp_path, tiny):
    toolkit.write_crm(tiny, tmp_path)
    members = tmp_path / "members.csv"
    good = members.read_text()
    members.write_text(good.replace(",preferred_customer,", ",prefered_customer,", 1))
    with pytest.raises(
        toolkit.DataError,
        match=r"members\.role: 1 row outside the vocabulary \('prefered_customer'\)",
    ):
        toolkit.read_crm(tmp_path)
    # stages are the export's own (issue 15): a stage typo is caught against a declared pipeline
    members.write_text(good)
    text = (tmp_path / "events.csv").read_text().replace(",prospect,", ",prospekt,", 1)
    (tmp_path / "events.csv").write_text(text)
    assert "prospekt" in set(toolkit.read_crm(tmp_path).events["stage"])
    with pytest.raises(
        toolkit.DataError,
        match=r"events\.stage: 1 row outside the pipeline declared \('prospekt'\)",
    ):
        toolkit.read_crm(tmp_path, mapping={"pipeline": {"stages": list(toolkit.STAGES)}})


def test_committed_sample_equals_a_fresh_generation(sample):
    fresh = toolkit.validate(toolkit.generate_sample())
    assert sample.as_of == fresh.as_of
    for name, frame in fresh.tables().items():
        pd.testing.assert_frame_equal(sample.tables()[name], frame, obj=name)


def test_load_sample_regenerates_without_the_folder(monkeypatch, tmp_path, sample):
    # an installed wheel has no sample_data/ folder beside the package
    monkeypatch.setattr(datasets, "SAMPLE_DIR", tmp_path / "absent")
    regenerated = toolkit.validate(toolkit.load_sample())
    pd.testing.assert_frame_equal(regenerated.members, sample.members)


def test_sample_files_are_small():
    assert sum(f.stat().st_size for f in SAMPLE_DIR.glob("*.csv")) < 10 * 2**20


def test_generation_is_seeded():
    a, b = (
        toolkit.generate_sample(500, months=6, seed=3),
        toolkit.generate_sample(500, months=6, seed=3),
    )
    pd.testing.assert_frame_equal(a.orders, b.orders)
    c = toolkit.generate_sample(500, months=6, seed=4)
    assert not a.leads["source"].equals(c.leads["source"])


def test_generated_world_is_valid_and_coherent(small_world):
    data = toolkit.validate(small_world)  # raises on any broken reference, cycle or date
    members = data.members.set_index("member_id")
    leads = data.leads.set_index("lead_id")
    joined = members.dropna(subset=["lead_id"])
    # the genealogy grows out of the funnel: a member's sponsor is the rep who worked their lead
    assert (joined["sponsor_id"] == leads.loc[joined["lead_id"], "owner_id"].to_numpy()).all()
    # owners are reps of the organisation
    assert leads["owner_id"].isin(members.index).all()
    # stages come in funnel order for each lead
    first = data.events.pivot_table(index="lead_id", columns="stage", values="at", aggfunc="min")
    for earlier, later in [
        ("contact", "lead"),
        ("lead", "prospect"),
        ("prospect", "customer"),
        ("prospect", "rep"),
    ]:
        both = first[[earlier, later]].dropna()
        assert (both[earlier] <= both[later]).all()
    assert len(data.events) == len(data.events.drop_duplicates(["lead_id", "stage"]))
    # every role history starts at joining, and the current role is the latest one
    history = data.role_history.sort_values("from_at")
    assert (
        history.groupby("member_id")["from_at"].min()
        == members.loc[history["member_id"].unique(), "joined_at"]
    ).all()
    assert (
        history.groupby("member_id")["role"].last()
        == members.loc[history["member_id"].unique(), "role"]
    ).all()


def test_planted_funnel_figures(sample):
    """DOMAIN.md's figures: generic leads ~3% to customer, qualified several times better,
    unqualified in between, contact to leader ~1%, qualified leads far dearer."""
    leads = sample.leads[mature_leads(sample)]
    customer = reached(sample, "customer")[leads.index]
    rate = customer.groupby(leads["lead_type"]).mean()
    assert 0.022 < rate["generic"] < 0.040
    assert rate["generic"] < rate["unqualified"] < rate["qualified"]
    assert rate["qualified"] > 3.5 * rate["generic"]
    leader = reached(sample, "leader")[mature_leads(sample, "365D")]
    assert 0.007 < leader.mean() < 0.014
    cost = sample.leads.groupby("lead_type")["cost"].mean()
    assert cost["qualified"] > 10 * cost["generic"]
    assert (sample.leads.loc[sample.leads["source"] == "warm_market", "cost"] == 0).all()


def test_planted_organisation_figures(sample):
    members, orders = sample.members, sample.orders
    is_rep = members["role"].isin(["retailer", "business_builder", "leader"])
    paying = members["member_id"].isin(orders["member_id"]) & ~is_rep
    assert paying.sum() > is_rep.sum()  # a healthy business: more paying customers than reps
    # heavy-tailed recruiting: most reps sponsor no other rep, a few sponsor many
    rep_recruits = members.loc[is_rep, "sponsor_id"].value_counts()
    per_rep = members.loc[is_rep, "member_id"].map(rep_recruits).fillna(0)
    assert (per_rep == 0).mean() > 0.6
    assert per_rep.max() >= 15
    # preferred customers are on autoship and stay longer than retail customers
    by_role = (
        orders.merge(members[["member_id", "role"]], on="member_id")
        .groupby("role")["autoship"]
        .mean()
    )
    assert by_role["preferred_customer"] > 0.8 and by_role["retail_customer"] == 0
    left = members["left_at"].notna().groupby(members["role"]).mean()
    assert left["preferred_customer"] < left["retail_customer"]
    # some preferred customers grew into business builders
    history = sample.role_history
    grew = history[history["role"] == "preferred_customer"]["member_id"]
    assert (members.set_index("member_id").loc[grew, "role"] == "business_builder").sum() > 10


def test_recent_leads_are_censored(sample):
    # the newest month's leads have had no time to convert: naive rates would call them lost
    recent = sample.leads["created_at"] > sample.as_of - pd.Timedelta("30D")
    old = mature_leads(sample)
    customer = reached(sample, "customer")
    assert customer[recent].mean() < 0.5 * customer[old].mean()
