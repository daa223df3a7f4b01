"""The income effects planted in the bundled sample (sample_data/README.md, "Money"): under both
example plans, in 2025 (the one full calendar year), the figures the research reports hold."""

import numpy as np
import pandas as pd
import pytest

import toolkit
from toolkit import CompensationPlan

YEAR = pd.Timestamp("2025-01-01")
PLANS = {
    "unilevel": CompensationPlan.unilevel_example,
    "breakaway": CompensationPlan.breakaway_example,
}


@pytest.fixture(scope="module", params=list(PLANS))
def income(request, sample):
    """Each participant's income in 2025 under one example plan."""
    table = toolkit.participant_income(sample, PLANS[request.param]())
    return table[table["period"] == YEAR]


def overall(income, participants="all"):
    table = toolkit.income_disclosure(income, by=None, participants=participants)
    return table.set_index("measure")


def test_most_participants_earn_1000_or_less(income):
    # FTC staff, 2024: the vast majority received $1,000 or less a year before expenses
    gross = overall(income).loc["gross"]
    assert 0.90 < gross["share_1000_or_less"] < 0.99
    assert gross["median"] == 0  # most participants (preferred customers included) earn nothing
    full_year = income[income["months_active"] == 12]
    assert len(full_year) > 300
    assert 0.70 < (full_year["gross"] <= 1000).mean() < 0.95
    # leaving preferred customers out moves the median off $0 (the FTC staff's segmenting point)
    builders = overall(income, "builders").loc["gross"]
    assert 0.80 < builders["share_1000_or_less"] < 0.95
    assert 0 < builders["median"] < 200
    assert builders["share_earning_nothing"] < 0.5 < gross["share_earning_nothing"]


def test_more_lose_money_than_profit_after_costs_and_purchases(income):
    after = overall(income).loc["net_after_purchases"]
    assert after["share_net_loss"] > after["share_profit"]
    assert 0.93 < after["share_net_loss"] < 0.99  # Taylor: about 99% after required purchases
    net = overall(income).loc["net"]  # before their own purchases, still most lose money
    assert 0.80 < net["share_net_loss"] < 0.97


def test_top_one_percent_takes_most_of_the_commissions(income):
    gross = np.sort(income["gross"].to_numpy())[::-1]
    top = gross[: int(np.ceil(len(gross) / 100))].sum() / gross.sum()
    assert 0.55 < top < 0.85


def test_a_few_leaders_earn_what_the_pitch_says(income, sample):
    # "over $100,000 a year" (003): a couple of participants, far from the 1% who become leaders
    rich = income[income["gross"] >= 100_000]
    assert 1 <= len(rich) <= 4
    assert (rich["role"] == "leader").all()
    joined = sample.members.set_index("member_id").loc[rich["member_id"], "joined_at"]
    assert (joined < YEAR).all()  # early leaders at the top of the deep lines
    claim = toolkit.earnings_claim_check(income, 100_000, period=YEAR)
    assert claim.reaching == len(rich) and claim.share < 0.002
    # "five figures per month" (001): a rare one, on average over their active months
    month = toolkit.earnings_claim_check(income, 10_000, per="month", period=YEAR)
    assert 1 <= month.reaching <= 3
