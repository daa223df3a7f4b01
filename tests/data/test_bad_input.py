"""Bad parameters and awkward data the computations must refuse in plain words (issue 13):
each test names the trap it guards (a crash from inside pandas/numpy, or a silent wrong answer)."""

from __future__ import annotations

import pandas as pd
import pytest

import toolkit
from toolkit.genealogy import downline, volume_by_level


def _no_members() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "member_id": pd.Series([], dtype="str"),
            "sponsor_id": pd.Series([], dtype="str"),
            "joined_at": pd.Series([], dtype="datetime64[us]"),
        }
    )


def test_downline_on_no_members_is_an_empty_table():
    # trap: max() of an empty sequence while finding the default as_of
    out = downline(_no_members())
    assert len(out) == 0
    assert list(out.columns[:4]) == ["member_id", "sponsor_id", "root_id", "level"]
    no_orders = toolkit.schema.TABLES["orders"].empty()
    with pytest.raises(toolkit.DataError, match="no orders table"):
        volume_by_level(_no_members(), no_orders)  # no volume to put on any level


@pytest.mark.parametrize("window", ["-30D", "0D"])
def test_downline_window_must_be_positive(sample, window):
    # trap: a negative window kept no order at all and gave every member zero volume
    with pytest.raises(ValueError, match="window must be positive"):
        downline(sample, window=window)


@pytest.mark.parametrize("window", [90, "90", 90.0])
def test_a_window_needs_a_unit(sample, window):
    # trap: pd.Timedelta(90) is 90 nanoseconds, so every order and every lead fell outside it
    with pytest.raises(ValueError, match="has no unit"):
        downline(sample, window=window)
    with pytest.raises(ValueError, match="has no unit"):
        toolkit.LeadQualityModel(window=window).fit(sample)


def test_lead_quality_on_no_leads(sample):
    # trap: the "nothing old enough" message formatted an as_of of NaT and crashed in strftime
    with pytest.raises(toolkit.DataError, match="no leads"):
        toolkit.LeadQualityModel().fit(sample.leads.iloc[:0], sample.events.iloc[:0])


@pytest.fixture(scope="module")
def simulation():
    return toolkit.simulate_growth(months=3, runs=20, seed=1)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_claim_check_value_must_be_finite(simulation, value):
    # trap: nan >= x is False for every run, so claim_check said "probability 0" without a word
    with pytest.raises(ValueError, match="value must be a finite number"):
        toolkit.claim_check(simulation, metric="cumulative_joined", at_month=3, value=value)


@pytest.mark.parametrize("window", [90, "90", 90.0])
def test_a_funnel_window_needs_a_unit(sample, window):
    # trap (issue 12): the one duration parser refuses a bare number for funnels too, per-step
    # windows included
    with pytest.raises(ValueError, match="has no unit"):
        toolkit.funnel_table(sample.events, window=window)
    with pytest.raises(ValueError, match="has no unit"):
        toolkit.funnel_table(
            sample.events, steps=("contact", "lead", "prospect"), window=["30D", window]
        )


# --------------------------------------------------------------------------------------------
# read_crm: broken files and values give a DataError naming the file or column, never a crash
# from inside pandas or pyarrow, and never a silent misreading


@pytest.fixture
def export(tmp_path, tiny):
    """A valid CSV export of the tiny world, to break one file at a time."""
    return toolkit.write_crm(tiny, tmp_path / "export")


def _edit(path, old, new, count=-1):
    path.write_text(path.read_text().replace(old, new, count))


def read_error(folder, **kwargs) -> str:
    with pytest.raises(toolkit.DataError) as info:
        toolkit.read_crm(folder, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("content", ["", "  \n \n"])
def test_empty_csv(export, content):
    # trap: EmptyDataError from pandas (and a blank line read as a header of one column)
    (export / "events.csv").write_text(content)
    msg = read_error(export)
    assert "events.csv: the file is empty" in msg
    assert "header row with lead_id, stage, at" in msg


@pytest.mark.parametrize("row", ["L1,lead,2025-01-03 00:00:00,extra", "L1,lead"])
def test_ragged_csv(export, row):
    # traps: ParserError on a long row; a short row silently padded with missing values
    with (export / "events.csv").open("a") as f:
        f.write(row + "\n")
    msg = read_error(export)
    assert "events.csv: a row has a different number of fields from the header" in msg
    assert row in msg


def test_csv_that_is_not_utf8(export):
    # trap: UnicodeDecodeError from inside the reader; a Windows-1252 export (Excel's "CSV")
    # is read as that and said so in the summary (issue 15), any other bytes are refused
    path = export / "leads.csv"
    original = path.read_bytes()
    path.write_bytes(original.replace(b"seminar", "séminar".encode("cp1252")))
    data = toolkit.read_crm(export)
    assert "séminar" in set(data.leads["source"])
    assert "read as Windows-1252 (cp1252)" in data.summary.loc["leads", "read"]
    path.write_bytes(original.replace(b"seminar", b"s\x81minar"))  # 0x81: not cp1252 either
    msg = read_error(export)
    assert "leads.csv: the file is not UTF-8 text (first bad byte at line 2" in msg


def test_corrupt_parquet(export):
    # trap: ArrowInvalid "Parquet magic bytes not found"
    (export / "members.csv").unlink()
    (export / "members.parquet").write_bytes(b"PAR1 not really parquet")
    assert "members.parquet: not a readable Parquet file" in read_error(export)


def test_stale_parquet_beside_the_csv(export, tiny):
    # trap: an old leads.parquet was read instead of the current leads.csv without a word
    tiny.leads.iloc[:2].to_parquet(export / "leads.parquet")
    msg = read_error(export)
    assert "two files for the leads table, leads.csv and leads.parquet" in msg
    with pytest.raises(toolkit.DataError, match="two files for one table"):
        toolkit.write_crm(tiny, export, format="parquet")


def test_duplicate_header_and_wrong_delimiter(export):
    _edit(export / "events.csv", "lead_id,stage,at", "lead_id,stage,stage", 1)
    assert "column(s) ['stage'] appear more than once" in read_error(export)
    _edit(export / "events.csv", "lead_id,stage,stage", "lead_id,stage,at", 1)
    _edit(export / "events.csv", ",", ";")  # a semicolon file is read as one (issue 15)
    assert "semicolon-separated" in toolkit.read_crm(export).summary.loc["events", "read"]


def test_mixed_utc_offsets_are_read_as_utc(export):
    # trap: "Mixed timezones detected" from pandas
    path = export / "leads.csv"
    _edit(path, "2025-01-01 00:00:00", "2025-01-01T00:00:00+02:00")
    _edit(path, "2025-01-05 00:00:00", "2025-01-05 00:00:00-05:00")
    _edit(path, "2025-02-01 00:00:00", "2025-02-01 00:00:00Z")
    _edit(path, "2025-06-20 00:00:00", "2025-06-20 12:00:00+00:00")
    leads = toolkit.read_crm(export).leads
    assert leads["created_at"].tolist() == [
        pd.Timestamp("2024-12-31 22:00"),
        pd.Timestamp("2025-01-05 05:00"),
        pd.Timestamp("2025-02-01"),
        pd.Timestamp("2025-06-20 12:00"),
    ]


def test_offsets_on_some_rows_only_are_refused(export):
    # a naive time beside offset times has no zone: taking it as UTC would be a guess
    _edit(export / "leads.csv", "2025-01-01 00:00:00", "2025-01-01 00:00:00+02:00")
    msg = read_error(export)
    assert "leads.created_at: 3 rows without a UTC offset while 1 rows have one" in msg


@pytest.mark.parametrize("as_of", ["soon", "", pd.NaT, 1_750_000_000])
def test_as_of_that_is_not_a_date(export, tiny, as_of):
    # traps: DateParseError from pandas; "" and NaT accepted, so no "after as_of" check ran;
    # a number read as nanoseconds after 1970
    assert f"as_of={as_of!r}" in read_error(export, as_of=as_of)
    with pytest.raises(toolkit.DataError, match="as_of="):
        toolkit.validate(toolkit.CRMData(tiny.leads, tiny.events, tiny.members, as_of=as_of))


def test_epoch_seconds_in_a_date_column(export, tiny):
    # trap: integers were read as nanoseconds after 1970-01-01, every lead created in 1970
    epoch = tiny.leads["created_at"].astype("int64") // 10**6  # microseconds -> seconds
    tiny.leads.assign(created_at=epoch).to_csv(export / "leads.csv", index=False)
    msg = read_error(export)
    assert "leads.created_at: 4 rows that are numbers, not dates (epoch seconds?)" in msg
    assert "values: '1735689600'" in msg
    frame = toolkit.CRMData(tiny.leads.assign(created_at=epoch), tiny.events, tiny.members)
    with pytest.raises(toolkit.DataError, match="numbers, not dates"):
        toolkit.validate(frame)


@pytest.mark.parametrize(
    ("file", "old", "new", "column"),
    [
        ("leads.csv", ",12.0,", ",inf,", "leads.cost"),
        ("orders.csv", ",70.0,", ",1e999,", "orders.amount"),
        ("orders.csv", ",96.0,", ",-inf,", "orders.volume"),
    ],
)
def test_infinite_money_and_volume(export, file, old, new, column):
    # trap: inf passed the ">= 0" check and turned every total and mean into inf
    _edit(export / file, old, new, 1)
    assert f"{column}: 1 row that are infinite or too large for a float" in read_error(export)


def test_na_literals_are_ids_not_missing(export):
    # trap: pandas' default NA strings made an id "NA" or a source "null" empty
    _edit(export / "leads.csv", "L4,", "NA,")
    _edit(export / "events.csv", "L4,", "NA,")
    _edit(export / "leads.csv", "seminar", "null")
    _edit(export / "leads.csv", "warm_market", "N/A")
    _edit(export / "leads.csv", "broker", "None")
    leads = toolkit.read_crm(export).leads
    assert leads["lead_id"].tolist() == ["L1", "L2", "L3", "NA"]
    assert leads["source"].tolist() == ["null", "None", "N/A", "None"]


def test_a_us_date_on_top_does_not_break_the_iso_rows(export):
    # trap: pandas guessed the column's format from its first row, so the three ISO rows
    # "did not parse" and the US one did
    _edit(export / "leads.csv", "2025-01-01 00:00:00", "01/02/2025")
    msg = read_error(export)
    assert "leads.created_at: 1 row with a date that does not parse (first lead_id: L1)" in msg
    assert "values: '01/02/2025'; the other rows are ISO 8601" in msg


def test_one_day_first_or_month_first_column(export):
    path = export / "leads.csv"
    for iso, us in [
        ("2025-01-01 00:00:00", "01/01/2025"),
        ("2025-01-05 00:00:00", "01/05/2025"),
        ("2025-02-01 00:00:00", "02/01/2025"),
        ("2025-06-20 00:00:00", "06/20/2025"),  # day 20: only month/day reads it
    ]:
        _edit(path, iso, us)
    assert toolkit.read_crm(export).leads["created_at"].iloc[1] == pd.Timestamp("2025-01-05")
    _edit(path, "06/20/2025", "06/10/2025")  # now every value reads both ways
    assert "reads as month/day and as day/month" in read_error(export)


# --------------------------------------------------------------------------------------------
# frames passed to a computation without validate (the README invites it, Spark included):
# the cheap checks of checks.check_frame keep the answer right or refuse with a DataError

ENGINES_CHECKED = ("pandas", "polars", "polars_lazy", "duckdb")


@pytest.mark.parametrize("engine", ENGINES_CHECKED)
def test_funnel_refuses_a_lead_listed_twice(tiny, engine):
    # trap: a duplicated lead row joined to its events counted the lead twice as an entrant
    from tests.conftest import to_engine

    leads = pd.concat([tiny.leads, tiny.leads.iloc[[0]]], ignore_index=True)
    with pytest.raises(
        toolkit.DataError, match=r"leads\.lead_id: 2 rows with a duplicate id .*first lead_id: L1"
    ):
        toolkit.funnel_table(
            to_engine(tiny.events, engine), leads=to_engine(leads, engine), by="source"
        )


@pytest.mark.parametrize("engine", ENGINES_CHECKED)
def test_funnel_refuses_a_stage_with_a_stray_space(tiny, engine):
    # trap: "Customer " matched no step and L1's conversion vanished without a word
    from tests.conftest import to_engine

    events = tiny.events.assign(stage=tiny.events["stage"].replace("customer", "Customer "))
    with pytest.raises(toolkit.DataError) as info:
        toolkit.funnel_table(to_engine(events, engine), as_of=tiny.as_of)
    # stages are open (issue 15): the stray space, not the name, is what is refused
    assert "events.stage: 1 row with spaces around the value ('Customer ')" in str(info.value)


def test_funnel_and_time_to_convert_refuse_a_nat_time(tiny):
    events = tiny.events.assign(at=tiny.events["at"].where(tiny.events.index != 3))
    with pytest.raises(toolkit.DataError, match=r"events\.at: 1 row empty \(the column is requi"):
        toolkit.funnel_table(events, as_of=tiny.as_of)
    with pytest.raises(toolkit.DataError, match=r"events\.at: 1 row empty"):
        toolkit.time_to_convert(events, "contact", "customer", as_of=tiny.as_of)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_timezone_aware_event_times_are_read_as_utc(tiny, zone, engine):
    # trap: "Invalid comparison between datetime64[us, UTC] and Timestamp" (pandas) and a
    # SchemaError (Polars), even for UTC
    from tests.conftest import to_engine, to_pandas

    aware = tiny.events.assign(at=tiny.events["at"].dt.tz_localize("UTC").dt.tz_convert(zone))
    expected = toolkit.funnel_table(tiny.events, as_of=tiny.as_of)
    got = to_pandas(toolkit.funnel_table(to_engine(aware, engine), as_of=tiny.as_of))
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    naive = toolkit.time_to_convert(tiny.events, "contact", "customer", as_of=tiny.as_of)
    tz = toolkit.time_to_convert(to_engine(aware, engine), "contact", "customer")
    pd.testing.assert_frame_equal(to_pandas(tz.table), naive.table, check_dtype=False)


def test_cohorts_refuse_a_nat_joining_date_and_a_member_twice(tiny):
    # traps: a NaT joined_at made a cohort dated year -1; a member listed twice counted twice
    members = tiny.members.assign(joined_at=[pd.NaT, tiny.members["joined_at"][1]])
    with pytest.raises(toolkit.DataError, match=r"members\.joined_at: 1 row empty"):
        toolkit.cohort_table(members, as_of=tiny.as_of)
    twice = pd.concat([tiny.members, tiny.members.iloc[[1]]], ignore_index=True)
    with pytest.raises(toolkit.DataError, match=r"members\.member_id: 2 rows with a duplicate"):
        toolkit.member_mix(twice, tiny.orders, as_of=tiny.as_of)


@pytest.mark.parametrize(("column", "value"), [("amount", -70.0), ("amount", float("inf"))])
def test_cohorts_and_mix_refuse_negative_or_infinite_money(tiny, column, value):
    orders = tiny.orders.assign(**{column: [value, 70.0, 120.0]})
    what = "below 0" if value < 0 else "that are infinite"
    with pytest.raises(toolkit.DataError, match=rf"orders\.{column}: 1 row {what}"):
        toolkit.cohort_table(tiny.members, orders, metric="revenue", as_of=tiny.as_of)
    with pytest.raises(toolkit.DataError, match=rf"orders\.{column}: 1 row"):
        toolkit.member_mix(tiny.members, orders, as_of=tiny.as_of)


def test_downline_refuses_nat_joining_and_negative_volume(tiny):
    # trap: a NaT joined_at dropped the member from the genealogy without a word
    members = tiny.members.assign(joined_at=[tiny.members["joined_at"][0], pd.NaT])
    with pytest.raises(toolkit.DataError, match=r"members\.joined_at: 1 row empty"):
        downline(members)
    orders = tiny.orders.assign(volume=[56.0, -56.0, 96.0])
    with pytest.raises(toolkit.DataError, match=r"orders\.volume: 1 row below 0"):
        downline(tiny.members, orders)


def test_lead_quality_refuses_a_lead_twice(tiny):
    leads = pd.concat([tiny.leads, tiny.leads.iloc[[1]]], ignore_index=True)
    with pytest.raises(toolkit.DataError, match=r"leads\.lead_id: 2 rows with a duplicate id"):
        toolkit.LeadQualityModel().fit(leads, tiny.events, as_of=tiny.as_of)
