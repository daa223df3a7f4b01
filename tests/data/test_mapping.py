"""Your own CRM export read right (issue 15): a mapping of columns, values and dates, the formats
other CRMs write (semicolons, tabs, xlsx, cp1252) and the check command's proposal."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import Workbook

import toolkit
from tests.foreign_export import (
    DAY_FIRST,
    HEADERS,
    foreign_table,
    mapping_toml,
    write_foreign_export,
    write_xlsx,
)
from tests.support import ROOT
from toolkit.mapping import (
    MAPPING_FILE,
    check_export,
    load_mapping,
    parse_dates_as_told,
    propose_columns,
)


@pytest.fixture(scope="module")
def foreign(sample, tmp_path_factory):
    """The sample as another CRM exports it (see tests/foreign_export.py)."""
    return write_foreign_export(sample, tmp_path_factory.mktemp("backoffice"))


def test_check_proposes_a_mapping_that_reads_the_sample_back(sample, foreign, tmp_path):
    result = check_export(foreign)
    assert not result.clean
    assert result.proposal.columns == HEADERS  # every header guessed from its name
    assert any("'VIP'" in p and "outside the vocabulary" in p for p in result.problems)
    assert result.unknown_values == {"role": ["Distributor", "VIP"]}
    # the proposal is written for the user to edit; the value maps no synonym can guess by hand
    path = tmp_path / "mapping.toml"
    text = result.proposal_toml()
    assert '# "Distributor" = ""' in text and '# "VIP" = ""' in text
    text = text.replace('# "Distributor" = ""', '"Distributor" = "business_builder"')
    path.write_text(text.replace('# "VIP" = ""', '"VIP" = "preferred_customer"'))
    checked = check_export(foreign, path)
    assert checked.clean, checked.problems
    data = checked.data  # what read_crm(foreign, mapping=path) returns
    for name in ("leads", "events", "members", "orders"):
        pd.testing.assert_frame_equal(data.tables()[name], sample.tables()[name])
    assert data.role_history is None and data.as_of == sample.as_of
    pd.testing.assert_frame_equal(
        toolkit.funnel_table(data.events, leads=data.leads, by="source"),
        toolkit.funnel_table(sample.events, leads=sample.leads, by="source"),
    )
    pd.testing.assert_frame_equal(
        toolkit.cohort_table(data.members, data.orders, metric="revenue"),
        toolkit.cohort_table(sample.members, sample.orders, metric="revenue"),
    )
    # the summary says what was mapped and normalised, and how each file was read
    read = data.summary["read"]
    assert "'Lead ID' as lead_id" in read["leads"]
    assert "'Generic' as generic" in read["leads"] and "ignoring case" in read["leads"]
    assert "'VIP' as preferred_customer" in read["members"]
    assert "semicolon-separated" in read["events"] and "tab-separated" in read["orders"]


def test_a_mapping_file_in_the_export_folder_is_used(tiny, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    for name, frame in tiny.tables().items():
        foreign_table(frame, name).to_csv(folder / f"{name}.csv", sep=";", index=False)
    expected = toolkit.validate(tiny)
    mapping = {"columns": HEADERS, "values": {"role": {" vip ": "preferred_customer"}}}
    with pytest.raises(toolkit.DataError, match="'Distributor'"):
        toolkit.read_crm(folder, mapping=mapping)  # value keys too ignore case and spaces
    mapping["values"]["role"]["distributor"] = "business_builder"
    roles = {" vip ": "preferred_customer", "distributor": "business_builder"}
    (folder / MAPPING_FILE).write_text(mapping_toml(roles))
    data = toolkit.read_crm(folder, as_of=tiny.as_of)
    for name, frame in expected.tables().items():
        pd.testing.assert_frame_equal(data.tables()[name], frame, check_dtype=False)


def test_one_workbook_with_a_sheet_per_table(tiny, tmp_path):
    book = Workbook()
    book.remove(book.active)
    expected = toolkit.validate(tiny)
    for name, frame in tiny.tables().items():
        ws = book.create_sheet(name.capitalize())
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False):  # dates as Excel dates, numbers as numbers
            ws.append(
                [
                    None
                    if pd.isna(v)
                    else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v)
                    for v in row
                ]
            )
    book.save(tmp_path / "Export.xlsx")
    data = toolkit.read_crm(tmp_path, as_of=tiny.as_of)
    for name, frame in expected.tables().items():
        pd.testing.assert_frame_equal(data.tables()[name], frame, check_dtype=False)
    tiny.leads.to_csv(tmp_path / "leads.csv", index=False)
    with pytest.raises(
        toolkit.DataError,
        match=r"two files for the leads table, leads.csv and Export.xlsx \(sheet 'Leads'\)",
    ):
        toolkit.read_crm(tmp_path)


def test_ambiguous_dates_name_the_column_and_the_option(tiny, tmp_path):
    # trap: 01/10/2024 read as 10 January without a word (issue 15)
    toolkit.write_crm(tiny, tmp_path)
    path = tmp_path / "members.csv"
    members = pd.read_csv(path, dtype=str)
    members["joined_at"] = ["01/02/2024", "05/01/2025"]
    members.to_csv(path, index=False)
    with pytest.raises(toolkit.DataError) as info:
        toolkit.read_crm(tmp_path)
    msg = str(info.value)
    assert "members.joined_at" in msg and "'01/02/2024', '05/01/2025'" in msg
    assert "dayfirst = true" in msg
    expected = [pd.Timestamp("2024-02-01"), pd.Timestamp("2025-01-05")]
    data = toolkit.read_crm(tmp_path, mapping={"dates": {"members": {"dayfirst": True}}})
    assert list(data.members["joined_at"]) == expected
    assert "dates read with dayfirst = true: joined_at" in data.summary.loc["members", "read"]
    data = toolkit.read_crm(tmp_path, mapping={"dates": {"members": {"date_format": "%d/%m/%Y"}}})
    assert list(data.members["joined_at"]) == expected


def test_a_date_that_does_not_parse_as_told_is_shown_with_its_row_id(tiny, tmp_path):
    toolkit.write_crm(tiny, tmp_path)
    path = tmp_path / "members.csv"
    members = pd.read_csv(path, dtype=str)
    members["joined_at"] = ["31/12/2024", "12/31/2024"]
    members.to_csv(path, index=False)
    with pytest.raises(toolkit.DataError) as info:
        toolkit.read_crm(tmp_path, mapping={"dates": {"dayfirst": True}})
    second = members["member_id"].iloc[1]
    assert f"member_id {second}: '12/31/2024'" in str(info.value)


def test_parse_dates_as_told():
    raw = pd.Series(["01/10/2024", "2024-10-02", "", None, "13/13/2024", "01.10.2024 14:05"])
    parsed, bad = parse_dates_as_told(raw, {"dayfirst": True})
    assert list(parsed[:2]) == [pd.Timestamp("2024-10-01"), pd.Timestamp("2024-10-02")]
    assert parsed[5] == pd.Timestamp("2024-10-01 14:05")
    assert list(bad) == [False, False, False, False, True, False]


@pytest.mark.parametrize(
    ("table", "headers", "expected"),
    [
        (
            "leads",
            ["LEAD_ID", "Created Date", "source", "Type", "CPL", "Assigned To"],
            {
                "lead_id": "LEAD_ID",
                "created_at": "Created Date",
                "lead_type": "Type",
                "cost": "CPL",
                "owner_id": "Assigned To",
            },
        ),
        (
            "members",
            ["ID", "Upline", "Enrollment Date", "Rank", "Lead"],
            {
                "member_id": "ID",
                "sponsor_id": "Upline",
                "joined_at": "Enrollment Date",
                "role": "Rank",
                "lead_id": "Lead",
            },
        ),
        (
            "members",
            ["Member ID", "Sponsor ID"],
            {"member_id": "Member ID", "sponsor_id": "Sponsor ID"},
        ),
        (
            "orders",
            ["Order #", "Member", "Date", "Order Total", "PV", "Auto-Ship"],
            {
                "member_id": "Member",
                "ordered_at": "Date",
                "amount": "Order Total",
                "volume": "PV",
                "autoship": "Auto-Ship",
            },
        ),
    ],
)
def test_propose_columns_from_synonyms(table, headers, expected):
    guesses, unmatched = propose_columns(table, headers, load_mapping({}))
    assert guesses == expected
    optional = {c for t, c in toolkit.schema.OPTIONAL_COLUMNS if t == table}  # may be absent
    assert (
        set(unmatched)
        == set(toolkit.schema.TABLES[table].column_names) - set(expected) - set(headers) - optional
    )


def test_missing_column_errors_name_the_check_command(tiny, tmp_path):
    toolkit.write_crm(tiny, tmp_path)
    (tmp_path / "leads.csv").write_text(
        (tmp_path / "leads.csv").read_text().replace("lead_id", "Lead ID", 1)
    )
    with pytest.raises(
        toolkit.DataError,
        match=r"missing required column\(s\) \['lead_id'\].*python -m toolkit check",
    ):
        toolkit.read_crm(tmp_path)
    with pytest.raises(toolkit.DataError, match="python -m toolkit check"):
        toolkit.validate(
            toolkit.CRMData(tiny.leads.drop(columns="source"), tiny.events, tiny.members)
        )
    with pytest.raises(
        toolkit.DataError,
        match=r"names header\(s\) the file does not have \(lead_id = 'Lead Number'\)",
    ):
        toolkit.read_crm(tmp_path, mapping={"columns": {"leads": {"lead_id": "Lead Number"}}})


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"column": {}}, r"unknown section \[column\]"),
        ({"columns": {"lead": {}}}, r"\[columns.lead\]: not a table"),
        ({"columns": {"leads": {"id": "Lead ID"}}}, "'id' is not a column"),
        ({"values": {"role": {"VIP": "vip"}}}, "'VIP' maps to 'vip', which is not one of"),
        ({"dates": {"dayfirst": "yes"}}, "dayfirst must be true or false"),
        ({"dates": {"orders": {"date_format": "dd/mm/yyyy"}}}, "is not a date format"),
    ],
)
def test_a_wrong_mapping_is_refused_in_plain_words(mapping, message):
    with pytest.raises(toolkit.DataError, match=message):
        load_mapping(mapping)


def test_a_mapping_file_that_is_not_toml(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("[columns.leads]\nlead_id = Lead ID\n")
    with pytest.raises(toolkit.DataError, match="m.toml: the mapping is not valid TOML"):
        toolkit.read_crm(tmp_path, mapping=path)


def test_empty_and_header_only_files(tiny, tmp_path):
    # trap: a zero-byte orders.csv gave a raw pandas traceback naming no file (issue 15)
    toolkit.write_crm(tiny, tmp_path)
    (tmp_path / "orders.csv").write_bytes(b"")
    (tmp_path / "role_history.csv").write_text("member_id,role,from_at\n")
    data = toolkit.read_crm(tmp_path)
    assert len(data.orders) == 0 and len(data.role_history) == 0
    assert "orders.csv is empty" in data.summary.loc["orders", "read"]
    (tmp_path / "events.csv").write_text("lead_id,stage,at\n")
    with pytest.raises(
        toolkit.DataError, match="events.csv: the events table has a header but no rows"
    ):
        toolkit.read_crm(tmp_path)
    (tmp_path / "events.csv").write_bytes(b"")
    with pytest.raises(toolkit.DataError, match="events.csv: the file is empty"):
        toolkit.read_crm(tmp_path)


def test_utf8_with_bom_and_the_input_is_not_modified(tiny, tmp_path):
    toolkit.write_crm(tiny, tmp_path)
    path = tmp_path / "leads.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    mapping = {"values": {"lead_type": {"Warm": "qualified"}}}
    before = {k: dict(v) for k, v in mapping.items()}
    data = toolkit.read_crm(tmp_path, mapping=mapping)
    assert list(data.leads.columns)[0] == "lead_id"
    assert mapping == before


def _readme_mapping() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Your export's own names") :]
    return section[
        section.index("```toml\n") + 8 : section.index("```\n", section.index("```toml"))
    ]


def test_the_readme_worked_example(tiny, tmp_path):
    # the README's back-office export: Leads.csv with semicolons, Pipeline.csv, Distributors.xlsx,
    # day-first dates, and the mapping the README shows for it
    expected = toolkit.validate(tiny)
    foreign_table(tiny.leads, "leads").to_csv(tmp_path / "Leads.csv", sep=";", index=False)
    events = tiny.events.assign(at=tiny.events["at"].dt.strftime(DAY_FIRST))
    events.to_csv(tmp_path / "Pipeline.csv", index=False)
    write_xlsx(foreign_table(tiny.members, "members"), tmp_path / "Distributors.xlsx", "Members")
    tiny.orders.to_csv(tmp_path / "orders.csv", index=False)  # ISO dates read with dayfirst too
    (tmp_path / "my_mapping.toml").write_text(_readme_mapping())
    data = toolkit.read_crm(tmp_path, mapping=tmp_path / "my_mapping.toml", as_of=tiny.as_of)
    for name, frame in expected.tables().items():
        pd.testing.assert_frame_equal(data.tables()[name], frame, check_dtype=False)
    with pytest.raises(toolkit.DataError, match="names 'Pipeline.csv' for the events table"):
        (tmp_path / "Pipeline.csv").rename(tmp_path / "pipeline-old.csv")
        toolkit.read_crm(tmp_path, mapping=tmp_path / "my_mapping.toml")


def test_a_broken_workbook_is_named(tiny, tmp_path):
    # trap: BadZipFile from inside openpyxl
    toolkit.write_crm(tiny, tmp_path)
    (tmp_path / "members.csv").unlink()
    (tmp_path / "members.xlsx").write_bytes(b"PK not really a workbook")
    with pytest.raises(toolkit.DataError, match=r"members.xlsx: not a readable .xlsx workbook"):
        toolkit.read_crm(tmp_path)
    (tmp_path / "members.xlsx").rename(tmp_path / "Export.xlsx")
    with pytest.raises(
        toolkit.DataError,
        match=r"missing table\(s\) \['members'\].*Export.xlsx is not a readable workbook",
    ):
        toolkit.read_crm(tmp_path)
    book = Workbook()
    book.save(tmp_path / "members.xlsx")  # one empty sheet
    with pytest.raises(toolkit.DataError, match=r"members.xlsx: the sheet is empty"):
        toolkit.read_crm(tmp_path)
