"""Exported HTML: renders offline, static sliders respond, data text is escaped, no personal data."""

from __future__ import annotations

import time

import pytest

import toolkit
from toolkit.report import build_report

from .conftest import EVIL, FIND_MODEL, READ_COLUMN, SET_VALUE, explorer_notebook

PERSONAL = ("Ada Lovelace", "ada@example.org", "+1 555 0100")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report on a generated export whose leads carry name/email/phone and a hostile source."""
    root = tmp_path_factory.mktemp("report")
    world = toolkit.generate_sample(1_500, months=8, seed=3)
    leads = world.leads.copy()
    leads["name"] = "Someone"
    leads["email"] = [f"person{i}@example.org" for i in range(len(leads))]
    leads["phone"] = "+1 555 0199"
    leads.loc[leads.index[0], ["name", "email", "phone"]] = list(PERSONAL)
    leads.loc[leads["source"] == leads["source"].iloc[0], "source"] = EVIL
    toolkit.write_crm(
        toolkit.CRMData(
            leads,
            world.events,
            world.members,
            world.orders,
            as_of=world.as_of,
            role_history=world.role_history,
        ),
        root / "export",
    )
    nbs = root / "notebooks"
    nbs.mkdir()
    explorer_notebook(
        nbs / "01_explorers.ipynb",
        data_cells=[
            "data.leads.groupby('source').size().rename('leads').to_frame()",
            "from toolkit.plots.style import new_figure\n"
            "counts = data.leads.groupby('source').size()\n"
            "fig = new_figure('sources', x_range=list(counts.index), tools='hover', tooltips=[('source', '@x')])\n"
            "fig.vbar(x=list(counts.index), top=counts.to_numpy(), width=0.8)\n"
            "show(fig)",
        ],
    )
    pages = build_report(
        root / "export", root / "out", notebooks=nbs, include_code=False, progress=False
    )
    return pages[0]


def wait_for_change(pg, arg, before, timeout=5.0):
    """Poll a column until it differs from ``before`` (CustomJS callbacks run asynchronously)."""
    deadline = time.monotonic() + timeout
    value = pg.evaluate(READ_COLUMN, arg)
    while value == before and time.monotonic() < deadline:
        pg.wait_for_timeout(50)
        value = pg.evaluate(READ_COLUMN, arg)
    return value


def test_exported_page_is_offline_and_its_static_sliders_respond(report, page):
    page.page.goto(report.as_uri())
    page.page.wait_for_selector("canvas", timeout=20_000)
    page.page.wait_for_function(FIND_MODEL, arg="growth_fan_band", timeout=20_000)
    assert page.page.locator("canvas").count() >= 3
    for name, source, col, value in (
        ("funnel_explorer_contacts", "funnel_explorer_source", "expected", 500),
        # an uneven grid is stepped by position: the last of 1, 2, 4, 6.25, 10 contacts
        ("growth_explorer_contacts_per_rep_per_month", "growth_fan_expected", "expected", 4),
    ):
        before = page.page.evaluate(READ_COLUMN, [source, col])
        assert page.page.evaluate(SET_VALUE, [name, value])
        after = wait_for_change(page.page, [source, col], before)
        assert after != before, f"{name} moved but {source}.{col} did not change"
    page.page.locator(".bk-btn", has_text="5,000").click()
    page.page.wait_for_timeout(300)
    box = page.page.get_by_text("Growth: what duplication gives").first.bounding_box()
    page.page.evaluate("(y) => window.scrollBy(0, y)", box["y"] - 10)
    page.screenshot("growth_explorer.png")
    assert page.external == []
    assert page.errors == []


def test_exported_page_escapes_data_text_and_shows_no_personal_data(report, page):
    html = report.read_text()
    for value in PERSONAL:
        assert value not in html
    page.page.goto(report.as_uri())
    page.page.wait_for_selector("canvas", timeout=20_000)
    page.page.wait_for_timeout(500)
    assert page.dialogs == []  # the onerror handler never ran
    assert page.page.locator("img[src='x']").count() == 0
    assert page.page.get_by_text(EVIL).count() >= 1  # shown as text in the table
    assert page.external == []
    page.screenshot("escaped_source.png")
