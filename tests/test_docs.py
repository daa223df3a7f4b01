"""``make docs``: the API reference builds from the numpydoc docstrings without one warning."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    # a subprocess: autodoc imports every module, and -W must see every warning as Sphinx does
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-j", "1", "-q", "-E", "-b", "html"]
        + [str(ROOT / "docs"), str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr[-4000:]
    return out


@pytest.mark.slow
def test_the_api_reference_builds_without_warnings(built):
    growth = (built / "api" / "growth.html").read_text(encoding="utf-8")
    # numpydoc turned the sections into fields: the result object's attributes are listed
    assert "ClaimCheck" in growth and "probability_ci_lower" in growth
    assert "five_thousand_story" in growth
    for page in ("data", "computation", "plots", "explorers", "report"):
        assert (built / "api" / f"{page}.html").exists()


@pytest.mark.slow
def test_the_api_reference_loads_nothing_from_off_the_machine(built):
    loads = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(https?:)?//", re.I)
    offenders = [p.name for p in built.rglob("*.html") if loads.search(p.read_text("utf-8"))]
    assert not offenders, offenders


def test_make_docs_is_documented():
    assert "docs:" in (ROOT / "Makefile").read_text()
    assert "make docs" in (ROOT / "README.md").read_text()
    assert "docs/_build/" in (ROOT / ".gitignore").read_text()
