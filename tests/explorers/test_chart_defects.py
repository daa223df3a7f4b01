"""Issue 16's chart defects, held fixed: keys outside the cells, unfinished periods unknown
(never a plunge to 0), a key for every retention curve, no fractional reps on a log axis."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from bokeh.models import ColumnDataSource, Legend

import toolkit
from toolkit.plots.cohort_plots import cohort_heatmap, member_mix, retention_curves


@pytest.fixture(scope="module")
def sample():
    return toolkit.load_sample()


def test_heatmap_key_is_below_the_cells_and_lists_projected(sample):
    table = toolkit.cohort_table(sample.members, sample.orders, as_of=sample.as_of)
    fig = cohort_heatmap(toolkit.project_cohorts(table))
    assert fig.center == [r for r in fig.center if not isinstance(r, Legend)]  # none inside
    (legend,) = [r for r in fig.below if isinstance(r, Legend)]
    labels = [item.label.value for item in legend.items]
    assert labels[:2] == ["observed", "not finished (unknown)"]
    assert "projected (model estimate)" in labels


def test_retention_curves_have_a_key_per_cohort(sample):
    table = toolkit.cohort_table(sample.members, sample.orders, as_of=sample.as_of)
    fig = retention_curves(table)
    (legend,) = [r for r in fig.right if isinstance(r, Legend)]
    cohorts = {
        str(s.data["label"][0]) for s in fig.select(ColumnDataSource) if len(s.data["label"])
    }
    assert {item.label.value for item in legend.items} == cohorts
    assert len(legend.items) > 1


def test_paying_customers_per_rep_is_unknown_in_the_unfinished_period(sample):
    mix = toolkit.member_mix(sample.members, sample.orders, as_of=sample.as_of)
    fig = member_mix(mix)
    src = fig.select_one({"name": "member_mix_source"})
    paying = np.asarray(src.data["paying_customers_per_rep"], dtype=float)
    unfinished = np.asarray(src.data["alpha"]) < 0.5
    assert unfinished.any(), "the sample's last period is still running"
    assert np.isnan(paying[unfinished]).all()
    assert np.isfinite(paying[~unfinished]).all()
    texts = np.asarray(src.data["paying_text"])
    assert all("not known yet" in t for t in texts[unfinished])
    (legend,) = [r for r in fig.right if isinstance(r, Legend)]
    assert "not finished (unknown)" in [item.label.value for item in legend.items]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_log_growth_axis_labels_zero_and_whole_people_only():
    from toolkit.growth import GrowthParams
    from toolkit.plots.growth_plots import growth_fan

    sim = toolkit.simulate_growth(GrowthParams.typical(), months=6, runs=20, seed=0)
    code = growth_fan(sim, metric="active_reps", log=True).yaxis[0].formatter.code
    js = f"const f = (tick) => {{ {code} }}; console.log(JSON.stringify([0.5, 1, 1.5, 2, 1000].map(f)));"
    out = subprocess.run(["node", "-e", js], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["0", "1", "", "2", "1,000"]
