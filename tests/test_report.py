"""Reports: notebooks executed on a data folder, exported as offline, escaped, aggregate-only HTML."""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

import toolkit
from toolkit.report import ReportError, build_report, check_page, main

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
    events = pd.read_csv(folder / "events.csv")
    events.loc[0, "stage"] = "buyer"  # not a funnel stage
    events.to_csv(folder / "events.csv", index=False)
    write_notebook(tmp_path / "01_a.ipynb", ["1 / 0"])  # would fail if it ever ran
    code = main(
        ["--data", str(folder), "--out", str(tmp_path / "out"), "--notebooks", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "events" in err and "stage" in err and "buyer" in err
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
        ],
    )
    pages = build_report(data, tmp_path / "out", notebooks=nbs, include_code=False, progress=False)
    assert [p.name for p in pages] == ["01_sources.html", "index.html"]
    page = pages[0].read_text()
    check_page(page)  # no CDN script, stylesheet or font
    assert "require.js" not in page and "mathjax" not in page.lower()
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page  # escaped, shown
    for personal in ("Ada Lovelace", "ada@example.org", "+1 555 0100", "'email'"):
        assert personal not in page  # the notebook never even saw those columns
    assert "'static'" in page  # the kernel was told to render explorers statically
    assert "data_dir = None" not in page  # --no-code hides the code
    assert "01_sources.html" in pages[1].read_text()


def test_script_safe_keeps_javascript_but_no_data_can_close_the_script():
    from toolkit.report import script_safe

    hostile = 'const docs_json = {"s": "</script><script>alert(1)</script><!--"};'
    safe = script_safe(hostile)
    assert "</script" not in safe.lower() and "<script" not in safe.lower() and "<!--" not in safe
    assert safe.count("\\x3C") == 4 and "if (a < b)" == script_safe("if (a < b)")
