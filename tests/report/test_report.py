"""Reports: notebooks executed on a data folder, exported as offline, escaped, aggregate-only HTML."""

from __future__ import annotations

import os
import re

import nbformat
import pandas as pd
import pytest

import toolkit
from tests.foreign_export import ROLE_MAP, mapping_toml, write_foreign_export
from toolkit.mapping import MAPPING_FILE
from toolkit.report import PrivacyCheck, ReportError, build_report, check_page, main

EVIL = "<img src=x onerror=alert(1)>"


def write_notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A page about sources"),
        nbformat.v4.new_code_cell(
            "data_dir = None  # folder of a CRM export; None = the bundled sample\nas_of = None",
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell(
            "import toolkit\n"
            "data = toolkit.read_crm(data_dir, as_of=as_of) if data_dir else toolkit.load_sample()"
        ),
        *[nbformat.v4.new_code_cell(c) for c in cells],
    ]
    nbformat.write(nb, path)


def leaky_export(tiny, folder):
    """The tiny CRM with personal columns and a hostile source name, as a CSV export."""
    leads = tiny.leads.assign(
        name=["Ada Lovelace", "Bob Brown", "Cy Young", "Di Prince"],
        email=["ada@example.org", "bob@example.org", "cy@example.org", "di@example.org"],
        phone=["+1 555 0100", "+1 555 0101", "+1 555 0102", "+1 555 0103"],
        # a note equal to a source: the page shows "warm_market" as a source, not as a note
        notes=["warm_market", "Met at the gym, keen", "Call after Easter", None],
    )
    leads.loc[1, "source"] = EVIL
    toolkit.write_crm(
        toolkit.CRMData(leads, tiny.events, tiny.members, tiny.orders, as_of=tiny.as_of), folder
    )
    return folder


def test_check_page_finds_network_references_and_personal_values():
    check_page('<script>var a = "https://example.org";</script><a href="https://x.org">ok</a>')
    for bad in (
        '<script src="https://cdn.example.org/require.js"></script>',
        "<link rel=stylesheet href='//fonts.example.org/a.css'>",
        "<style>body{background:url(https://x.org/a.png)}</style>",
    ):
        with pytest.raises(ReportError, match="external resource"):
            check_page(bad, where="p.html")
    with pytest.raises(ReportError, match=r"1 value\(s\) of personal-data columns") as err:
        check_page("<td>ada@example.org</td>", {"ada@example.org"}, where="p.html")
    assert "ada@" not in str(err.value)  # the error never repeats the personal value


def test_bad_data_stops_with_the_data_error_before_any_notebook(tmp_path, capsys, tiny):
    folder = tmp_path / "export"
    toolkit.write_crm(tiny, folder)
    # stages are the export's own (issue 15); a role outside the contract's is still refused
    members = pd.read_csv(folder / "members.csv")
    members.loc[0, "role"] = "buyer"
    members.to_csv(folder / "members.csv", index=False)
    write_notebook(tmp_path / "01_a.ipynb", ["1 / 0"])  # would fail if it ever ran
    code = main(
        ["--data", str(folder), "--out", str(tmp_path / "out"), "--notebooks", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "members.role" in err and "buyer" in err
    assert "Traceback" not in err and "ZeroDivisionError" not in err


def test_failing_notebook_is_reported_by_name(tmp_path):
    write_notebook(tmp_path / "01_broken.ipynb", ["raise ValueError('no luck')"])
    with pytest.raises(ReportError, match=r"01_broken.ipynb failed .*ValueError: no luck"):
        build_report(None, tmp_path / "out", notebooks=tmp_path, progress=False)


@pytest.mark.slow
def test_report_is_offline_escaped_and_aggregate_only(tmp_path, tiny):
    data = leaky_export(tiny, tmp_path / "export")
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(
        nbs / "01_sources.ipynb",
        [
            "data.leads.groupby('source').size().rename('leads').to_frame()",
            "list(data.leads.columns)",
            "import os; os.environ.get('TOOLKIT_RENDERER')",
            "'polars threads: ' + os.environ.get('POLARS_MAX_THREADS', 'all')",
        ],
    )
    pages = build_report(data, tmp_path / "out", notebooks=nbs, include_code=False, progress=False)
    assert [p.name for p in pages] == ["01_sources.html", "index.html"]
    page = pages[0].read_text()
    check_page(page)  # no CDN script, stylesheet or font
    assert "require.js" not in page and "mathjax" not in page.lower()
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page  # escaped, shown
    for personal in ("Ada Lovelace", "ada@example.org", "+1 555 0100", "'email'", "the gym"):
        assert personal not in page  # the notebook never even saw those columns
    assert "warm_market" in page  # a note sharing a source's name was no false alarm
    assert "'static'" in page  # the kernel was told to render explorers statically
    # one kernel here: its Polars pool may take every core (unless the caller said otherwise)
    threads = os.environ.get("POLARS_MAX_THREADS", str(os.cpu_count()))
    assert f"'polars threads: {threads}'" in page
    assert "data_dir = None" not in page  # --no-code hides the code
    assert "01_sources.html" in pages[1].read_text()


def test_script_safe_keeps_javascript_but_no_data_can_close_the_script():
    from toolkit.report import script_safe

    hostile = 'const docs_json = {"s": "</script><script>alert(1)</script><!--"};'
    safe = script_safe(hostile)
    assert "</script" not in safe.lower() and "<script" not in safe.lower() and "<!--" not in safe
    assert safe.count("\\x3C") == 4 and "if (a < b)" == script_safe("if (a < b)")


def test_privacy_check_finds_values_however_a_page_writes_them():
    check = PrivacyCheck(["Ada Lovelace", "ada@example.org", "+1 555 0100", "Al", "n/a"])
    assert check.count == 3  # "Al" and "n/a" are too short to mean anything
    for page in (
        "<td>Ada Lovelace</td>",
        "<td>ADA   LOVELACE</td>",
        '{"name": "Ada&#32;Lovelace"}',
        '{"e": "\\u0061da@example.org"}',  # a JSON escape, as Bokeh's docs_json may write
        "call +1 555 0100 now",
    ):
        assert check.leaks(page) == 1, page
    assert check.leaks("<td>Ada</td> <td>Lovelace Street</td> Al n/a 555 0100") == 0
    assert check.leaks("Ada Lovelace, ada@example.org") == 2


def test_privacy_check_ignores_values_a_contract_column_also_holds():
    check = PrivacyCheck(
        ["warm_market", "Lead broker", "Ada Lovelace"], allowed=["warm_market", "Lead broker x"]
    )
    assert check.count == 1  # shared with the contract: shown as a source, not as personal data
    assert check.leaks("<td>warm_market</td><td>Lead broker x</td>") == 0
    assert check.leaks("<td>Ada Lovelace</td>") == 1


def test_privacy_check_is_linear_in_the_page():
    import time

    values = [f"Person{i} Surname{i}" for i in range(20_000)] + [
        f"person{i}@example.org" for i in range(20_000)
    ]
    check = PrivacyCheck(values)
    page = ("<td>an ordinary row of 123.4 and text</td>" * 100_000)[:4_000_000]
    t0 = time.perf_counter()
    assert check.leaks(page) == 0
    assert check.leaks(page + "Person7 Surname7") == 1
    assert time.perf_counter() - t0 < 5  # two 4 MB pages (seconds, not the minutes of a scan
    # per value)


def test_existing_output_is_refused_before_any_notebook_runs(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    write_notebook(tmp_path / "01_a.ipynb", ["1 / 0"])  # would fail if it ever ran
    code = main(["--out", str(out), "--notebooks", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "already exists" in err and "--force" in err and "Traceback" not in err
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_force_replaces_the_whole_folder_quietly(tmp_path, capfd):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old_page.html").write_text("stale")
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "01_a.ipynb", ["data.leads.groupby('source').size()"])
    assert main(["--out", str(out), "--notebooks", str(nbs), "--force"]) == 0
    captured = capfd.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["01_a.html", "index.html"]
    assert "replacing the existing folder" in captured.err
    # kernels talk over IPC sockets: no transport warning on the console
    assert "without encryption" not in captured.err + captured.out
    assert "WARNING" not in captured.err
    assert list(tmp_path.glob(".out-*")) == []  # no staging folder left behind


@pytest.mark.slow
def test_a_failing_page_leaves_no_output_folder(tmp_path, tiny):
    data = leaky_export(tiny, tmp_path / "export")
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    # a cell that shows a personal value it could only have learnt elsewhere (spelt backwards
    # here, so the notebook's own text does not hold it)
    write_notebook(nbs / "01_a.ipynb", ["print('ecalevoL adA'[::-1])"])
    out = tmp_path / "out"
    with pytest.raises(ReportError, match=r"01_a.html: shows 1 value\(s\) of personal-data"):
        build_report(data, out, notebooks=nbs, progress=False)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "nbs"]  # nor a staging one


@pytest.mark.slow
def test_handout_hides_code_and_shows_one_parameters_cell(tmp_path, tiny):
    folder = tmp_path / "export"
    toolkit.write_crm(tiny, folder)
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "01_a.ipynb", ["print('rows', len(data.leads))"])
    without = build_report(
        folder, tmp_path / "plain", as_of="2025-06-30", notebooks=nbs, progress=False
    )[0]
    text = without.read_text()
    assert "rows 4" in text and "read_crm" not in text and "data_dir" not in text
    index = (tmp_path / "plain" / "index.html").read_text()
    assert "Export taken on <strong>30 June 2025</strong>" in index  # in words
    with_code = build_report(
        folder, tmp_path / "code", notebooks=nbs, include_code=True, progress=False
    )[0]
    text = with_code.read_text()
    assert "read_crm" in text
    # one parameters cell, showing the folder the reader passed (not the report's private copy)
    assert text.count("celltag_parameters") == 1 and "injected-parameters" not in text
    assert text.count(str(folder)) == 1 and "toolkit-report-data-" not in text


@pytest.mark.slow
def test_notebooks_sharing_a_kernel_each_start_from_a_fresh_namespace(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(
        nbs / "01_a.ipynb",
        [
            "left_behind = 'from 01'\npd_ = __import__('pandas')\n"
            "pd_.set_option('display.precision', 1)"
        ],
    )
    write_notebook(
        nbs / "02_b.ipynb",
        [
            "import pandas\n"
            "print('left:', 'left_behind' in dir(), 'precision:', pandas.get_option('display.precision'))"
        ],
    )
    pages = build_report(None, tmp_path / "out", notebooks=nbs, jobs=1, progress=False)
    assert "left: False precision: 6" in pages[1].read_text()


def test_a_notebook_marked_slow_starts_first_and_pages_keep_their_order(tmp_path):
    from toolkit.report import Timings

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    for name in ("01_a", "02_b", "03_slow"):
        write_notebook(nbs / f"{name}.ipynb", [f"print('{name}')"])
    slow = nbformat.read(nbs / "03_slow.ipynb", as_version=4)
    slow.metadata["toolkit"] = {"slow": True}
    nbformat.write(slow, nbs / "03_slow.ipynb")
    timings = Timings()
    pages = build_report(
        None, tmp_path / "out", notebooks=nbs, jobs=1, progress=False, timings=timings
    )
    assert list(timings.by_notebook) == ["03_slow.ipynb", "01_a.ipynb", "02_b.ipynb"]
    assert [p.name for p in pages] == ["01_a.html", "02_b.html", "03_slow.html", "index.html"]


def test_the_tour_marks_its_slowest_notebook():
    # notebook 04 precomputes the growth explorer's 125 states, each paid by the plan
    marked = [
        p.name
        for p in toolkit.report.find_notebooks()
        if nbformat.read(p, as_version=4).metadata.get("toolkit", {}).get("slow")
    ]
    assert marked == ["04_network_growth.ipynb"]


_NAN = re.compile(r"\bnan\b", re.IGNORECASE)
_SCRIPTS = re.compile(r"<script.*?</script>", re.DOTALL | re.IGNORECASE)


@pytest.mark.slow
def test_the_report_runs_on_a_foreign_export(tmp_path):
    # issue 15 "done means": a back office's export (its headers, semicolons, an xlsx, day-first
    # dates, capitalised values, no role_history) read through its folder's crm_mapping.toml
    folder = write_foreign_export(toolkit.generate_sample(2_000), tmp_path / "backoffice")
    (folder / MAPPING_FILE).write_text(mapping_toml(ROLE_MAP))
    pages = build_report(folder, tmp_path / "out", progress=False)
    expected = [nb.with_suffix(".html").name for nb in toolkit.report.find_notebooks()]
    assert [p.name for p in pages] == [*expected, "index.html"]
    for page in pages:
        text = _SCRIPTS.sub("", page.read_text())
        assert text.strip(), f"{page.name} is empty"
        found = _NAN.search(text)
        assert not found, f"{page.name}: {text[max(0, found.start() - 300) : found.end() + 100]}"
