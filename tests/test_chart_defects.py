"""Issue 16's chart defects, held fixed: keys outside the cells, unfinished periods unknown
(never a plunge to 0), a key for every retention curve, no fractional reps on a log axis."""

from __future__ import annotations

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
