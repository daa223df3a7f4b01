"""The closed forms the exported pages compute (toolkit.explorers.formulas), run in Node against
the Python they port, at random settings: numbers within 1e-9, integers and text exactly."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

import toolkit
from toolkit.explorers import funnel_explorer, growth_explorer, lead_budget_explorer
from toolkit.explorers.formulas import COMMON_JS
from toolkit.funnel import funnel_outlook
from toolkit.plots.funnel_plots import funnel_outlook_data, funnel_outlook_readout
from toolkit.plots.lead_quality_plots import budget_outlook_data, budget_outlook_readout

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

HARNESS = """
const get = (m, k) => (m instanceof Map ? m.get(k) : m[k]);
const plain = (v) => v;
function page_formula(values, P, models) {
%s
}
// a JS literal rather than JSON: the cases may hold NaN and Infinity (as the page does)
const cases = eval("(" + require("fs").readFileSync(0, "utf8") + ")");
const out = cases.map(([values, P, models]) => { page_formula(values, P, models); return models; });
process.stdout.write(JSON.stringify(out));
"""


def run_node(code: str, cases: list) -> list:
    done = subprocess.run(
        [NODE, "-e", HARNESS % code],
        input=json.dumps(cases, allow_nan=True),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def close(page, python, rel=1e-9):
    page = np.asarray(page, dtype="float64")
    python = np.asarray(python, dtype="float64")
    assert page.shape == python.shape
    assert np.allclose(page, python, rtol=rel, atol=0, equal_nan=True), (page, python)


def test_page_formatter_matches_python_including_ties():
    values = [0.25, 0.35, 2.5, 3.5, -2.5, 1234567.125, 0.05, 1e-7, 10.45, 1e6 + 0.5, 0.0]
    values += list(np.random.default_rng(1).uniform(0, 5000, 200))
    (models,) = run_node(
        COMMON_JS
        + "\nmodels.out = values.x.map((x) => [pyfixed(x, 1), pyfixed(x, 0), pyfixed(x, 2)]);",
        [[{"x": values}, {}, {}]],
    )
    for x, got in zip(values, models["out"], strict=True):
        assert got == [format(x, ",.1f"), format(x, ",.0f"), format(x, ",.2f")], x


@pytest.mark.parametrize("trials", [0, 60])
def test_funnel_formula_equals_funnel_outlook(trials):
    explorer = funnel_explorer(contacts=150)
    page = explorer.page
    rng = np.random.default_rng(trials)
    cases, expected = [], []
    for _ in range(20):
        values = {"contacts": int(rng.integers(1, 101)) * 10, "rate_trials": trials}
        for i in range(3):
            values[f"rate_{i}"] = round(float(rng.uniform(0, 1)), 2)
        values["rate_1"] = [0.0, 1.0, values["rate_1"]][int(rng.integers(0, 3))]
        rates = [values[f"rate_{i}"] for i in range(3)]
        outlook = funnel_outlook(rates, values["contacts"], rate_trials=trials or None)
        models = {"funnel_explorer_source": {"data": {}}, "funnel_explorer_readout": {"text": ""}}
        cases.append([values, page.args(explorer.values), models])
        expected.append(outlook)
    for got, outlook in zip(run_node(page.code, cases), expected, strict=True):
        data = got["funnel_explorer_source"]["data"]
        want = funnel_outlook_data(outlook)["funnel_explorer_source"]
        for col in ("expected", "probability_of_none", "top"):
            close(data[col], want[col])
        assert data["likely_lower"] == want["likely_lower"].tolist()
        assert data["likely_upper"] == want["likely_upper"].tolist()
        assert data["label"] == want["label"].tolist()
        assert got["funnel_explorer_readout"]["text"] == funnel_outlook_readout(outlook)


@pytest.fixture(scope="module")
def budget_explorer():
    data = toolkit.load_sample()
    model = toolkit.LeadQualityModel(features=("lead_type",)).fit(data)
    return lead_budget_explorer(
        model, prices={"generic": 1.5, "qualified": 10.0}, mix={"generic": 0.5, "qualified": 0.5}
    )


def test_budget_formula_equals_budget_outlook(budget_explorer):
    explorer = budget_explorer
    rng = np.random.default_rng(7)
    cases, expected = [], []
    for i in range(20):
        values = {"budget": float(rng.integers(1, 500)) * 10, "share_0": [0.0, 1.0][i % 2]}
        if i > 3:
            values["share_0"] = round(float(rng.uniform(0, 1)), 2)
        outlook = explorer.results(**values)
        counts = budget_outlook_data(outlook)["lead_budget_explorer_counts"]
        cost = budget_outlook_data(outlook)["lead_quality_cost_per_source"]
        models = {
            # the grid brings the likely range (Monte Carlo); the formula computes the rest
            "lead_budget_explorer_counts": {
                "data": {k: counts[k].tolist() for k in ("likely_lower", "likely_upper")}
            },
            "lead_quality_cost_per_source": {"data": {"level": cost["level"].tolist()}},
            "lead_budget_explorer_readout": {"text": ""},
        }
        cases.append([values, explorer.page.args(explorer.values), models])
        expected.append(outlook)
    for got, outlook in zip(run_node(explorer.page.code, cases), expected, strict=True):
        want = budget_outlook_data(outlook)
        counts = got["lead_budget_explorer_counts"]["data"]
        for col in ("expected", "ci_lower", "ci_upper"):
            close(counts[col], want["lead_budget_explorer_counts"][col])
        assert counts["label"] == want["lead_budget_explorer_counts"]["label"].tolist()
        cost = got["lead_quality_cost_per_source"]["data"]
        for col in ("spend", "expected", "cost_per", "ci_lower", "ci_upper"):
            page_col = [np.nan if v is None else v for v in cost[col]]
            close(page_col, want["lead_quality_cost_per_source"][col])
        assert got["lead_budget_explorer_readout"]["text"] == budget_outlook_readout(outlook)


@pytest.mark.parametrize("metric", ["cumulative_joined", "active_reps", "customers"])
def test_growth_formula_equals_project_growth(metric):
    """The expected path at 20 random settings of all eight controls (the three grid sliders at
    their grid values, the others anywhere on their live steps), every limit and effort."""
    from toolkit.growth import GrowthParams
    from toolkit.growth.projection import project_growth

    explorer = growth_explorer(months=18, metric=metric)
    args = explorer.page.args(explorer.values)
    args["efforts"] = [e.tolist() for e in args["efforts"]]
    grid = {c.name: c.grid_values(explorer.values[c.name]) for c in explorer.grid_controls}
    rng = np.random.default_rng(len(metric))
    cases, expected = [], []
    for i in range(20):
        values = {name: steps[int(rng.integers(0, len(steps)))] for name, steps in grid.items()}
        for c in explorer.page_controls:
            if c.is_choice:
                values[c.name] = c.values[int(rng.integers(0, len(c.values)))]
            else:
                n = int(round((c.end - c.start) / c.step))
                values[c.name] = round(c.start + int(rng.integers(0, n + 1)) * c.step, 10)
        if i < 4:  # each limit alone and both together, at the wildest effort
            values["warm_market_size"], values["market_size"] = [
                (0, 0),
                (50.0, 0),
                (0, 5_000),
                (50.0, 5_000),
            ][i]
            values["recruit_dispersion"] = 0.5
        params = GrowthParams().replace(
            **{
                k: (None if k in ("warm_market_size", "market_size") and v == 0 else v)
                for k, v in values.items()
            }
        )
        models = {
            "growth_fan_expected": {"data": {}},
            "growth_fan_market": {"data": {}},
            "growth_explorer_wall": {"data": {"remaining_median": [1.0]}},
        }
        cases.append([values, args, models])
        expected.append((params, project_growth(params, 18)))
    for got, (params, path) in zip(run_node(explorer.page.code, cases), expected, strict=True):
        fan = got["growth_fan_expected"]["data"]
        assert fan["month"] == list(range(19))
        close(fan["expected"], np.maximum(path[metric], 0))
        wall = got["growth_explorer_wall"]["data"]
        close(wall["remaining_expected"], path["remaining_market"])
        market = np.nan if params.market_size is None else params.market_size
        close(wall["market"], np.full(19, market))
        assert wall["remaining_median"] == [1.0]  # the grid's columns are left as they were
        line = got["growth_fan_market"]["data"]
        assert len(line["market"]) == (0 if params.market_size is None else 19)
