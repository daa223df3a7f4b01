"""Rates: Wilson intervals and the range one person's small numbers can take."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats

from toolkit.rates import expected_range, wilson_interval


def test_wilson_matches_statsmodels_and_handles_no_trials():
    from statsmodels.stats.proportion import proportion_confint

    lower, upper = wilson_interval([0, 3, 5], [0, 10, 5], alpha=0.05)
    # trap: 0 trials must give NaN, not a division warning or a made-up [0, 1]
    assert np.isnan(lower[0]) and np.isnan(upper[0])
    lo, hi = proportion_confint(3, 10, alpha=0.05, method="wilson")
    assert lower[1] == pytest.approx(lo) and upper[1] == pytest.approx(hi)
    # 3 of 10 by hand (Wilson 1927): centre (3 + 1.96^2/2) / (10 + 1.96^2) = 0.3489
    assert (lower[1] + upper[1]) / 2 == pytest.approx(
        (3 + 1.959964**2 / 2) / (10 + 1.959964**2), abs=1e-6
    )
    assert upper[2] == 1.0


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError, match="between 0 and trials"):
        wilson_interval([4], [3])
    with pytest.raises(ValueError, match="alpha"):
        wilson_interval([1], [3], alpha=1.5)


@given(st.integers(0, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_holds_the_rate(kn):
    k, n = kn
    lower, upper = wilson_interval([k], [n])
    if n == 0:
        assert np.isnan(lower[0])
    else:
        assert 0 <= lower[0] <= k / n <= upper[0] <= 1


def test_expected_range_150_leads_at_3_percent():
    # DOMAIN.md: 3% of 150 leads is 4.5 customers expected, with a fair chance of 0 to 2
    r = expected_range(150, 0.03)
    assert r.expected == pytest.approx(4.5)
    assert (r.likely_lower, r.likely_upper) == tuple(
        int(x) for x in stats.binom(150, 0.03).interval(0.9)
    )
    assert (r.likely_lower, r.likely_upper) == (1, 8)
    p_0_to_2 = stats.binom(150, 0.03).cdf(2)
    assert r.probability_of_at_most(2) == pytest.approx(p_0_to_2)
    assert 0.15 < p_0_to_2 < 0.2  # about one chance in six: "a fair chance"
    assert r.probabilities["probability"].sum() == pytest.approx(1.0)
    assert r.distribution == "binomial"
    assert "4.5" in r._repr_html_() and list(r.summary.columns)[:3] == ["n", "rate", "rate_trials"]


def test_an_estimated_rate_widens_the_range():
    # trap: a rate measured on 200 leads is itself uncertain; its range must be wider than the
    # binomial one and follow the beta-binomial with the Jeffreys posterior
    known = expected_range(150, 0.03)
    estimated = expected_range(150, 0.03, rate_trials=200)
    assert estimated.distribution == "beta-binomial"
    assert estimated.likely_upper - estimated.likely_lower > known.likely_upper - known.likely_lower
    ref = stats.betabinom(150, 6 + 0.5, 194 + 0.5)
    assert (estimated.likely_lower, estimated.likely_upper) == tuple(
        int(x) for x in ref.interval(0.9)
    )
    # with a huge sample the estimated rate behaves like a known one
    huge = expected_range(150, 0.03, rate_trials=10_000_000)
    assert (huge.likely_lower, huge.likely_upper) == (known.likely_lower, known.likely_upper)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": -1, "rate": 0.1}, "n must"),
        ({"n": 1.5, "rate": 0.1}, "n must"),
        ({"n": 10, "rate": 1.1}, "rate must"),
        ({"n": 10, "rate": 0.1, "level": 1.0}, "level must"),
        ({"n": 10, "rate": 0.1, "rate_trials": 0}, "rate_trials"),
    ],
)
def test_expected_range_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        expected_range(**kwargs)


@given(st.integers(0, 300), st.floats(0, 1), st.floats(0.5, 0.99))
@example(2, 1.1125369292536007e-308, 0.5)  # scipy's binomial pmf and ppf overflow here
def test_expected_range_holds_the_expectation(n, rate, level):
    r = expected_range(n, rate, level=level)
    assert 0 <= r.likely_lower <= r.likely_upper <= n
    assert r.likely_lower - 1 <= r.expected <= r.likely_upper + 1


def test_wilson_edge_rule_is_one_for_every_caller():
    # trap (issue 12): cohorts had their own Wilson that clipped successes to trials and gave
    # bounds a rounding error away from 0 and 1; there is one rule now
    lower, upper = wilson_interval([0, 5, np.nan, 2], [5, 5, 4, np.nan])
    assert lower[0] == 0.0 and upper[0] < 1  # no successes: exactly 0 below
    assert upper[1] == 1.0 and lower[1] > 0  # all successes: exactly 1 above
    assert np.isnan(lower[2:]).all() and np.isnan(upper[2:]).all()  # a missing count: unknown
    with pytest.raises(ValueError, match="between 0 and trials"):
        wilson_interval([6], [5])  # more successes than trials is an error, never clipped


def test_one_two_proportion_test_for_segments_and_sources():
    # trap (issue 12): compare_segments used the score test and compare_sources a z test, so
    # the same counts got two p-values; both now call rates.compare_proportions
    import pandas as pd

    import toolkit
    from toolkit.rates import compare_proportions

    rng = np.random.default_rng(3)
    n = 600
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    source = np.where(np.arange(n) % 2 == 0, "seminar", "lead_broker")
    leads = pd.DataFrame(
        {"lead_id": np.arange(n), "created_at": created.astype("datetime64[us]"), "source": source}
    )
    buys = rng.random(n) < np.where(source == "seminar", 0.35, 0.2)
    delay = pd.to_timedelta(rng.integers(1, 120, n), unit="D")
    events = pd.concat(
        [
            pd.DataFrame({"lead_id": leads["lead_id"], "stage": "contact", "at": created}),
            pd.DataFrame(
                {
                    "lead_id": leads["lead_id"][buys],
                    "stage": "customer",
                    "at": (created + delay)[buys],
                }
            ),
        ],
        ignore_index=True,
    )
    events["at"] = events["at"].astype("datetime64[us]")
    as_of = pd.Timestamp("2025-12-31")
    model = toolkit.LeadQualityModel(features=("source",)).fit(leads, events, as_of=as_of)
    sources = toolkit.compare_sources(model, "seminar", "lead_broker").iloc[0]
    segments = toolkit.compare_segments(
        events,
        "source",
        "seminar",
        "lead_broker",
        steps=("contact", "customer"),
        leads=leads,
        as_of=as_of,
    ).iloc[0]
    # the same leads counted the same way (contact at creation, a 90-day window) ...
    assert (sources["conversions_a"], sources["leads_a"]) == (
        segments["converted_a"],
        segments["eligible_a"],
    )
    assert (sources["conversions_b"], sources["leads_b"]) == (
        segments["converted_b"],
        segments["eligible_b"],
    )
    # ... give the same difference, interval and p-value
    for col in ("difference", "ci_lower", "ci_upper", "p_value"):
        assert sources[col] == pytest.approx(segments[col], rel=1e-12), col
    test = compare_proportions(
        sources["conversions_a"], sources["leads_a"], sources["conversions_b"], sources["leads_b"]
    )
    assert test.p_value == pytest.approx(sources["p_value"], rel=1e-12)
    assert 0 < test.p_value < 0.05 and test.ci_lower > 0
