"""The shifted-beta-geometric retention model against Fader and Hardie (2007) and by simulation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit
from tests.support import REFERENCE
from toolkit.cohorts.retention import BoundaryWarning, ShiftedBetaGeometric


@pytest.fixture(scope="module")
def fader_hardie():
    survivors = pd.read_csv(REFERENCE / "retention_fader_hardie_2007.csv")
    estimates = pd.read_csv(REFERENCE / "retention_fader_hardie_2007_estimates.csv").set_index(
        "dataset"
    )
    return survivors, estimates


@pytest.mark.parametrize("dataset", ["regular", "high_end"])
def test_matches_published_estimates(fader_hardie, dataset):
    # the paper's own numbers, to its 3 decimals (tests/reference/retention_README.md)
    survivors, estimates = fader_hardie
    model = ShiftedBetaGeometric().fit(survivors[dataset])
    assert model.alpha_ == pytest.approx(estimates.loc[dataset, "alpha"], abs=5e-4)
    assert model.beta_ == pytest.approx(estimates.loc[dataset, "beta"], abs=5e-4)
    # intervals surround the estimate and standard errors are positive
    assert model.alpha_interval_[0] < model.alpha_ < model.alpha_interval_[1]
    assert model.beta_interval_[0] < model.beta_ < model.beta_interval_[1]
    assert model.alpha_se_ > 0 and model.beta_se_ > 0
    assert model is model.fit(survivors[dataset])  # fit returns self


def test_survival_and_retention_formulas(fader_hardie):
    survivors, _ = fader_hardie
    model = ShiftedBetaGeometric().fit(survivors["regular"])
    a, b = model.alpha_, model.beta_
    # S(0) = 1; S(1) = b / (a + b): the first-period churn probability is a / (a + b)
    assert model.survival([0])[0] == pytest.approx(1.0)
    assert model.survival([1])[0] == pytest.approx(b / (a + b))
    t = np.arange(1, 13)
    s = model.survival(np.arange(13))
    np.testing.assert_allclose(model.retention(t), s[1:] / s[:-1])
    # the sBG's signature: retention rises as the quick leavers go
    assert np.all(np.diff(model.retention(t)) > 0)
    # the fit follows the calibration data closely (within 2% of the cohort at every year)
    fitted = model.survival(np.arange(8)) * 1000
    assert np.max(np.abs(fitted - survivors["regular"])) < 20


def test_summary_and_repr(fader_hardie):
    survivors, _ = fader_hardie
    model = ShiftedBetaGeometric(alpha=0.1).fit(survivors["high_end"])
    summary = model.summary
    assert list(summary.index) == ["alpha", "beta"]
    assert list(summary.columns) == ["estimate", "std_err", "ci_lower", "ci_upper"]
    assert "90%" in model._repr_html_()
    # a narrower level gives a narrower interval
    wide = ShiftedBetaGeometric(alpha=0.01).fit(survivors["high_end"])
    assert wide.alpha_interval_[0] < model.alpha_interval_[0]
    assert model.results_.params.shape == (2,)


def test_recovers_simulated_parameters():
    # 20,000 members with Beta(1.5, 4) churn probabilities, followed 10 periods
    rng = np.random.default_rng(3)
    theta = rng.beta(1.5, 4.0, size=20_000)
    lifetime = rng.geometric(theta)
    survivors = [(lifetime > t).sum() for t in range(11)]
    model = ShiftedBetaGeometric().fit(survivors)
    assert model.alpha_interval_[0] < 1.5 < model.alpha_interval_[1]
    assert model.beta_interval_[0] < 4.0 < model.beta_interval_[1]


def test_fit_on_cohort_table_uses_complete_cells_only(sample):
    table = toolkit.cohort_table(sample.members, as_of=sample.as_of)
    model = ShiftedBetaGeometric().fit(table)
    # trap: treating unfinished cells as losses would drag the fit; changing their values must
    # not move it at all
    tampered = table.copy()
    tampered.loc[~tampered["complete"], "value"] = 0.0
    again = ShiftedBetaGeometric().fit(tampered)
    assert again.alpha_ == pytest.approx(model.alpha_)
    assert again.beta_ == pytest.approx(model.beta_)
    per_cohort = ShiftedBetaGeometric().fit(table, pooled=False)
    assert per_cohort.cohort_params_ is not None and len(per_cohort.cohort_params_) > 0
    assert {"cohort", "alpha_estimate", "beta_estimate"} <= set(per_cohort.cohort_params_.columns)


def test_constant_churn_warns_at_the_edge():
    # trap: everyone with the same 10% churn has no Beta mix to estimate; the MLE runs off to
    # alpha, beta -> infinity and must say so rather than report confident intervals
    survivors = [10_000 * 0.9**t for t in range(8)]
    with pytest.warns(BoundaryWarning, match="no spread in churn"):
        model = ShiftedBetaGeometric().fit(np.round(survivors))
    assert model.alpha_ / (model.alpha_ + model.beta_) == pytest.approx(0.1, abs=0.005)
    np.testing.assert_allclose(model.survival([5]), 0.9**5, rtol=0.01)


def test_pooled_equals_summed_likelihood():
    # pooling two cohorts of equal length is the same likelihood as adding their counts
    a, b = [500, 300, 220, 180], [400, 250, 190, 150]
    table = pd.DataFrame(
        {
            "cohort": pd.to_datetime(["2025-01-01"] * 3 + ["2025-02-01"] * 3),
            "period": [0, 1, 2] * 2,
            "size": [500] * 3 + [400] * 3,
            "value": [*a[1:], *b[1:]],
            "complete": True,
        }
    )
    pooled = ShiftedBetaGeometric().fit(table)
    summed = ShiftedBetaGeometric().fit(np.add(a, b))
    assert pooled.alpha_ == pytest.approx(summed.alpha_, rel=1e-5)
    assert pooled.beta_ == pytest.approx(summed.beta_, rel=1e-5)


@pytest.mark.parametrize(
    "bad, match",
    [
        ([100, 120, 90], "can only fall"),
        ([100], "at least two"),
        ([0, 0, 0], "positive"),
        ([100, -1], ">= 0"),
        ([100, 100, 100], "nobody left"),
    ],
)
def test_bad_survivors(bad, match):
    with pytest.raises(ValueError, match=match):
        ShiftedBetaGeometric().fit(bad)


def test_not_fitted_and_bad_level():
    with pytest.raises(ValueError, match="not fitted"):
        ShiftedBetaGeometric().survival([1])
    with pytest.raises(ValueError, match="significance level"):
        ShiftedBetaGeometric(alpha=1.5).fit([10, 5])
    with pytest.raises(ValueError, match="period 1"):
        ShiftedBetaGeometric().fit([10, 5, 3]).retention([0])


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=2, max_size=8), st.integers(60, 400))
def test_survival_is_a_probability(losses, start):
    survivors = np.maximum(start - np.concatenate([[0], np.cumsum(losses)]), 0)
    if survivors[-1] == survivors[0] or survivors[1] == 0:
        return  # nobody left, or everybody at once: not identified
    kept = survivors.copy()
    with warnings.catch_warnings():
        # small random cohorts often show no spread in churn; the edge warning is expected there
        warnings.simplefilter("ignore", BoundaryWarning)
        model = ShiftedBetaGeometric().fit(survivors)
    s = model.survival(np.arange(20))
    assert np.all((s > 0) & (s <= 1)) and np.all(np.diff(s) <= 0)
    np.testing.assert_array_equal(survivors, kept)  # input not mutated
