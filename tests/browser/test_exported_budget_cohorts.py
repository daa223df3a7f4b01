"""Exported HTML of the lead budget and cohort explorers: offline, and their static widgets
change the plotted data (a lookup into the grid computed in advance, no kernel)."""

from __future__ import annotations

import nbformat
import pytest

from toolkit.report import build_report

from .conftest import FIND_MODEL, READ_COLUMN, SET_VALUE
from .test_exported_html import wait_for_change


@pytest.fixture(scope="module")
def explorers_page(tmp_path_factory):
    """One page on the bundled sample with both explorers, exported as the report does."""
    root = tmp_path_factory.mktemp("budget_cohorts")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(
            "data_dir = None  # folder of a CRM export; None = the bundled sample\nas_of = None",
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell(
            "import toolkit\n"
            "from bokeh.io import output_notebook\n"
            "from bokeh.resources import INLINE\n"
            "output_notebook(resources=INLINE, hide_banner=True)\n"
            "data = toolkit.read_crm(data_dir, as_of=as_of) if data_dir else toolkit.load_sample()"
        ),
        nbformat.v4.new_code_cell(
            "from toolkit.explorers import lead_budget_explorer\n"
            "model = toolkit.LeadQualityModel(features=('lead_type',)).fit(data)\n"
            "lead_budget_explorer(model, prices={'generic': 1.5, 'qualified': 10.0},\n"
            "                     mix={'generic': 0.5, 'qualified': 0.5})"
        ),
        nbformat.v4.new_code_cell(
            "from toolkit.explorers import cohort_explorer\n"
            "cohort_explorer(data.members, data.orders, as_of=data.as_of)"
        ),
    ]
    nbs = root / "notebooks"
    nbs.mkdir()
    nbformat.write(nb, nbs / "01_budget_cohorts.ipynb")
    pages = build_report(None, root / "out", notebooks=nbs, include_code=False, progress=False)
    return pages[0]


def test_budget_and_cohort_explorers_respond_offline(explorers_page, page):
    pg = page.page
    pg.goto(explorers_page.as_uri())
    pg.wait_for_selector("canvas", timeout=20_000)
    pg.wait_for_function(FIND_MODEL, arg="cohort_heatmap_observed", timeout=20_000)
    assert pg.locator("canvas").count() >= 4
    seen = {}
    for widget, value, source, col in (
        ("lead_budget_explorer_budget", 2000, "lead_budget_explorer_counts", "expected"),
        ("lead_budget_explorer_share_0", 0.0, "lead_quality_cost_per_source", "cost_per"),
        ("cohort_explorer_segment", "role", "cohort_heatmap_observed", "rate"),
        ("cohort_explorer_metric", "revenue", "cohort_heatmap_observed", "rate"),
    ):
        before = pg.evaluate(READ_COLUMN, [source, col])
        assert pg.evaluate(SET_VALUE, [widget, value])
        after = wait_for_change(pg, [source, col], before)
        assert after != before, f"{widget} moved but {source}.{col} did not change"
        seen[widget] = after
    # the page shows what the headless twin gives for $2,000 at the notebook's prices and split
    assert seen["lead_budget_explorer_budget"] == pytest.approx(budget_customers(2000.0), rel=1e-6)
    box = pg.get_by_text("Cohorts: who stays").first.bounding_box()
    pg.evaluate("(y) => window.scrollBy(0, y)", box["y"] - 10)
    pg.wait_for_timeout(300)
    page.screenshot("cohort_explorer.png")
    assert page.external == []
    assert page.errors == []


def budget_customers(budget: float) -> list[float]:
    """Customers, reps and leaders expected by the headless twin at the page's prices and split."""
    import toolkit
    from toolkit.lead_quality import budget_outlook

    data = toolkit.load_sample()
    model = toolkit.LeadQualityModel(features=("lead_type",)).fit(data)
    out = budget_outlook(
        model, budget, {"generic": 1.5, "qualified": 10.0}, {"generic": 0.5, "qualified": 0.5}
    )
    return out.budget.query("level == 'total'")["expected"].tolist()
