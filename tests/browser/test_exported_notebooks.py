"""The report's pages of the tour notebooks on the sample: offline, no script error, no table cut
at the right (a wide table scrolls), and a screenshot of each for a person to look at."""

from __future__ import annotations

import pytest

from toolkit.report import build_report

WIDE = """
() => {
  // an output wider than the page must scroll inside itself, not push past the page's edge
  const page = document.documentElement.clientWidth;
  const cut = [];
  for (const out of document.querySelectorAll(".jp-OutputArea-output")) {
    const box = out.getBoundingClientRect();
    const style = getComputedStyle(out);
    if (box.right > page + 1 || (out.scrollWidth > out.clientWidth + 1 && style.overflowX === "visible"))
      cut.push(out.innerText.slice(0, 60));
  }
  return cut;
}"""


@pytest.fixture(scope="module")
def report_pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour") / "out"
    return [p for p in build_report(None, out, progress=False) if p.name != "index.html"]


def test_every_exported_notebook_page_is_whole_and_offline(report_pages, page):
    assert report_pages
    for path in report_pages:
        page.page.goto(path.as_uri())
        page.page.wait_for_load_state("load")
        page.page.wait_for_timeout(1500)  # BokehJS renders after load
        assert page.page.evaluate(WIDE) == [], f"{path.name}: an output is cut at the right"
        page.page.screenshot(
            path=str(page.screenshot(f"page_{path.stem}.png").with_suffix(".png")),
            full_page=True,
        )
    assert page.external == []
    assert page.errors == []
