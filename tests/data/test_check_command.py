"""``python -m toolkit check DIR``: reads and validates an export without running any notebook,
prints each problem with its fix, proposes a mapping, exits 0 only for a clean export."""

from __future__ import annotations

import subprocess
import sys

import pytest
import tomllib

import toolkit
from toolkit.__main__ import main


@pytest.fixture
def renamed(tiny, tmp_path):
    """The tiny export with a back office's headers for leads and a semicolon events file."""
    folder = tmp_path / "export"
    toolkit.write_crm(tiny, folder)
    leads = folder / "leads.csv"
    header, body = leads.read_text().split("\n", 1)
    leads.write_text("Lead ID,Created Date,Source,Lead Type,Lead Cost,Owner\n" + body)
    events = folder / "events.csv"
    events.write_text(events.read_text().replace(",", ";"))
    return folder


def test_a_clean_export_exits_0(tiny, tmp_path, capsys):
    toolkit.write_crm(tiny, tmp_path)
    assert main(["check", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "The export reads clean: leads 4 rows, events 10 rows, members 2 rows" in out


def test_missing_columns_get_a_proposal_written_where_asked(renamed, tmp_path, tiny, capsys):
    target = tmp_path / "proposal.toml"
    assert main(["check", str(renamed), "--write-mapping", str(target)]) == 1
    out = capsys.readouterr().out
    assert "leads.csv: no column(s) lead_id, created_at, source, lead_type, cost, owner_id" in out
    assert "lead_id as 'Lead ID', created_at as 'Created Date'" in out
    assert "events.csv is semicolon-separated" not in out  # a note, not a problem
    proposal = tomllib.loads(target.read_text())
    assert proposal["columns"] == {
        "leads": {
            "lead_id": "Lead ID",
            "created_at": "Created Date",
            "source": "Source",  # case counts in a header: the proposal says so
            "lead_type": "Lead Type",
            "cost": "Lead Cost",
            "owner_id": "Owner",
        }
    }
    assert not (renamed / "crm_mapping.toml").exists()  # nothing written into the export
    # the proposal, used, reads clean; an existing file is never replaced
    assert main(["check", str(renamed), "--mapping", str(target)]) == 0
    capsys.readouterr()
    assert main(["check", str(renamed), "--write-mapping", str(target)]) == 2
    assert "exists: not replaced" in capsys.readouterr().out
    data = toolkit.read_crm(renamed, mapping=target, as_of=tiny.as_of)
    assert list(data.leads["lead_id"]) == ["L1", "L2", "L3", "L4"]


def test_each_problem_is_printed_with_its_fix(renamed, tmp_path, capsys):
    (renamed / "members.csv").write_text(
        (renamed / "members.csv").read_text().replace("preferred_customer", "VIP")
    )
    (renamed / "orders.csv").unlink()
    assert main(["check", str(renamed)]) == 1
    out = capsys.readouterr().out
    assert "outside the vocabulary ('VIP')" in out
    assert '# "VIP" = ""' in out  # a value-map line to complete in the proposal
    assert main(["check", str(tmp_path / "nowhere")]) == 1
    assert "not a folder" in capsys.readouterr().out


def test_the_command_line_entry_point(renamed):
    run = subprocess.run(
        [sys.executable, "-m", "toolkit", "check", str(renamed)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    assert "Proposed mapping" in run.stdout and 'lead_id = "Lead ID"' in run.stdout
    usage = subprocess.run(
        [sys.executable, "-m", "toolkit", "--help"], capture_output=True, text=True, check=True
    )
    assert "check" in usage.stdout
