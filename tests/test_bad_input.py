"""Bad parameters and awkward data the computations must refuse in plain words (issue 13):
each test names the trap it guards (a crash from inside pandas/numpy, or a silent wrong answer)."""

from __future__ import annotations

import pandas as pd
import pytest

import toolkit
from toolkit.genealogy import downline, volume_by_level


def _no_members() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "member_id": pd.Series([], dtype="str"),
            "sponsor_id": pd.Series([], dtype="str"),
            "joined_at": pd.Series([], dtype="datetime64[us]"),
        }
    )


def test_downline_on_no_members_is_an_empty_table():
    # trap: max() of an empty sequence while finding the default as_of
    out = downline(_no_members())
    assert len(out) == 0
    assert list(out.columns[:4]) == ["member_id", "sponsor_id", "root_id", "level"]
    assert len(volume_by_level(_no_members())) == 0


@pytest.mark.parametrize("window", ["-30D", "0D"])
def test_downline_window_must_be_positive(sample, window):
    # trap: a negative window kept no order at all and gave every member zero volume
    with pytest.raises(ValueError, match="window must be positive"):
        downline(sample, window=window)


@pytest.mark.parametrize("window", [90, "90", 90.0])
def test_a_window_needs_a_unit(sample, window):
    # trap: pd.Timedelta(90) is 90 nanoseconds, so every order and every lead fell outside it
    with pytest.raises(ValueError, match="has no unit"):
        downline(sample, window=window)
    with pytest.raises(ValueError, match="has no unit"):
        toolkit.LeadQualityModel(window=window).fit(sample)


def test_lead_quality_on_no_leads(sample):
    # trap: the "nothing old enough" message formatted an as_of of NaT and crashed in strftime
    with pytest.raises(toolkit.DataError, match="no leads"):
        toolkit.LeadQualityModel().fit(sample.leads.iloc[:0], sample.events.iloc[:0])


@pytest.fixture(scope="module")
def simulation():
    return toolkit.simulate_growth(months=3, runs=20, seed=1)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_claim_check_value_must_be_finite(simulation, value):
    # trap: nan >= x is False for every run, so claim_check said "probability 0" without a word
    with pytest.raises(ValueError, match="value must be a finite number"):
        toolkit.claim_check(simulation, metric="cumulative_joined", at_month=3, value=value)


@pytest.mark.parametrize("window", [90, "90", 90.0])
def test_a_funnel_window_needs_a_unit(sample, window):
    # trap (issue 12): the one duration parser refuses a bare number for funnels too, per-step
    # windows included
    with pytest.raises(ValueError, match="has no unit"):
        toolkit.funnel_table(sample.events, window=window)
    with pytest.raises(ValueError, match="has no unit"):
        toolkit.funnel_table(
            sample.events, steps=("contact", "lead", "prospect"), window=["30D", window]
        )
