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


def _pins():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower().replace("-", "_")] = version.strip()
    return pins


def test_constraints_pin_every_dependency_within_its_range():
    # make lab / make test install constraints.txt; pyproject's ranges must admit exactly those pins,
    # or a pip user gets versions the suite never ran on (the pandas 2.2 floor did that).
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    for req in map(Requirement, project["dependencies"] + project["optional-dependencies"]["test"]):
        name = req.name.lower().replace("-", "_")
        assert name in pins, f"{req.name} is not pinned in constraints.txt"
        assert req.specifier.contains(pins[name]), f"{req.name}=={pins[name]} is outside {req}"


def test_pandas_floor_is_the_tested_major():
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pandas,) = [r for r in map(Requirement, project["dependencies"]) if r.name == "pandas"]
    assert not pandas.specifier.contains("2.3.3")
    assert pandas.specifier.contains(_pins()["pandas"])
