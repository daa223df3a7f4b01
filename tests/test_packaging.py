"""The promises of the package itself: a light import, one list of dependencies, a working README."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import toolkit

ROOT = Path(__file__).resolve().parent.parent
# Loaded where they are used, never by ``import toolkit``.
HEAVY = {
    "bokeh",
    "ipywidgets",
    "statsmodels",
    "scipy",
    "jupyter_client",
    "ipykernel",
    "jupyterlab",
    "nbclient",
    "papermill",
    "polars",
    "duckdb",
    "pyspark",
}


def test_import_toolkit_is_light():
    code = "import sys, toolkit; print(' '.join(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = {module.split(".")[0] for module in run.stdout.split()}
    assert not loaded & HEAVY


def _names(requirements):
    return {
        re.split(r"[<>=!~\[ ]", req, maxsplit=1)[0].strip().lower().replace("-", "_")
        for req in requirements
    }


def test_environment_yml_matches_pyproject():
    tomllib = pytest.importorskip("tomllib")  # standard library from Python 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"]) | _names(project["optional-dependencies"]["test"])
    yaml = pytest.importorskip("yaml")  # PyYAML comes with Jupyter
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = [dep for dep in env["dependencies"] if isinstance(dep, str)]
    assert _names(listed) - {"python", "pip"} == wanted


def test_every_public_name_resolves():
    for name in toolkit.__all__:
        assert getattr(toolkit, name) is not None, name
    for name in toolkit.plots.__all__:
        assert callable(getattr(toolkit.plots, name)), name


def test_readme_gives_the_two_commands_and_ci_runs_the_same_one():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")
