"""Money in the what-ifs (issue 17): simulated runs as data, paid by the one commission engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from toolkit.growth.income_figures import clustered_share, design_effect

PLAN = tk.CompensationPlan.unilevel_example()
GROWING = tk.GrowthParams.typical(contacts_per_rep_per_month=8.0, contact_to_rep=0.06)


@pytest.fixture(scope="module")
def simulated():
    return tk.simulate_income(GROWING, PLAN, months=8, runs=30, seed=3)


def test_as_data_is_in_the_contract_and_does_not_change_the_participants():
    sim = tk.simulate_growth(GROWING, months=6, runs=5, seed=1)
    before = sim.participants(runs=5).copy()
    data = sim.as_data(2, runs=5)
    tk.validate(data)  # raises on anything outside the contract
    assert data.as_of == pd.Timestamp("2024-06-30")
    assert sim.participants(runs=5).equals(before)
    members = data.members
    one = before[before["run"] == 2]
    reps = members[members["role"] != "retail_customer"]
    assert sorted(reps["member_id"]) == sorted("P" + one["participant"].astype(str))
    customers = members[members["role"] == "retail_customer"]
    assert customers["sponsor_id"].isin(reps["member_id"]).all()
    # one autoship a month while active: as many as the simulator's active months
    own = data.orders[data.orders["autoship"]]
    assert len(own) == one["months_active"].sum()
    assert (data.orders["amount"] == np.where(data.orders["autoship"], 100.0, 50.0)).all()


def test_as_data_refuses_a_run_that_is_not_there():
    sim = tk.simulate_growth(months=3, runs=2, seed=0)
    with pytest.raises(ValueError, match="run must be"):
        sim.as_data(7, runs=2)
    with pytest.raises(ValueError, match="autoship"):
        sim.as_data(0, runs=2, autoship=-1)
    with pytest.raises(ValueError, match="start"):
        sim.as_data(0, runs=2, start="2024-01-15")


def test_participant_income_on_one_run_equals_the_simulators_figures_to_the_cent(simulated):
    sizes = simulated.income.groupby("run").size().sort_values()
    for run in sizes.index[[0, len(sizes) // 2, -1]]:  # a small, a middling and the largest run
        data = simulated.simulation.as_data(int(run), runs=simulated.runs)
        own = tk.participant_income(data, PLAN, period="M")
        mine = simulated.monthly[simulated.monthly["run"] == run]
        assert len(own) == len(mine) > 0
        own = own.sort_values(["member_id", "period"]).reset_index(drop=True)
        mine = mine.sort_values(["member_id", "month"]).reset_index(drop=True)
        assert (own["member_id"] == mine["member_id"]).all()
        for col in ("months_active", "gross", "fees", "purchases", "net", "net_after_purchases"):
            assert np.abs(own[col].to_numpy() - mine[col].to_numpy()).max() < 0.005, col
        # and what the commissions engine pays that run, by component
        paid = tk.commissions(data, PLAN)
        paid = paid[paid["member_id"].notna()].groupby("component")["amount"].sum()
        batch = simulated.sources[simulated.sources["run"] == run]
        batch = batch.groupby("component")["amount"].sum()
        pd.testing.assert_series_equal(paid.sort_index(), batch.sort_index(), check_names=False)


def test_expected_unilevel_commission_is_volume_times_the_rates_reached_at_each_depth():
    rates = (0.05, 0.04, 0.03)
    plan = tk.CompensationPlan(unilevel=rates)
    params = tk.GrowthParams(
        contacts_per_rep_per_month=4.0,
        contact_to_rep=0.1,
        contact_to_customer=0.0,
        monthly_attrition=0.0,
        warm_market_size=None,
        market_size=None,
        recruit_dispersion=2.0,
    )
    months, runs, autoship = 6, 400, 100.0
    result = tk.simulate_income(params, plan, months=months, runs=runs, autoship=autoship, seed=5)
    # expected reps at each level, month by month: a level-d rep active in a month recruits
    # lam level-(d+1) reps on average, who order from the next month on
    lam = params.contacts_per_rep_per_month * params.contact_to_rep
    lam *= 1 - params.leader_share + params.leader_share * params.leader_multiplier
    levels = np.zeros(months + 1)
    levels[0] = 1.0
    reached = np.array([sum(rates[:d]) for d in range(months + 1)])
    expected = []
    for _ in range(months):  # month m: the reps who joined before it order
        expected.append(autoship * (levels * reached).sum())
        levels = levels + lam * np.r_[0.0, levels[:-1]]
    paid = result.sources[result.sources["component"] == "unilevel"]
    per_run = (
        paid.groupby(["run", "month"])["amount"]
        .sum()
        .unstack(fill_value=0.0)
        .reindex(index=range(runs), columns=range(1, months + 1), fill_value=0.0)
    )
    mean, se = per_run.mean().to_numpy(), per_run.std().to_numpy() / np.sqrt(runs)
    assert expected[0] == 0.0 and mean[0] == 0.0  # nobody below the starting rep yet
    assert np.all(np.abs(mean[1:] - expected[1:]) < 4 * se[1:] + 1e-9), (mean, expected)


def test_claim_probabilities_fall_as_the_claimed_income_rises(simulated):
    values = [0.01, 10, 50, 100, 250, 1000, 10_000]
    probs = [simulated.claim(v, at_month=8).probability for v in values]
    assert all(a >= b for a, b in zip(probs, probs[1:], strict=False))
    assert probs[0] > probs[-1]
    check = simulated.claim(10_000, per="month", at_month=8)
    assert check.probability_ci_lower <= check.probability <= check.probability_ci_upper
    assert "10,000" in str(check) and check["runs"] == simulated.runs
    with pytest.raises(ValueError, match="at_month"):
        simulated.claim(100, per="year", at_month=8)


def test_typical_and_disclosure_count_everyone_and_widen_for_runs(simulated):
    income = simulated.income
    typical = simulated.typical()
    assert typical.participants == len(income)
    assert typical.median_gross == pytest.approx(income["gross"].median())
    assert typical.share_earning_nothing == pytest.approx((income["gross"] <= 0).mean())
    assert typical.share_net_loss == pytest.approx((income["net"] < 0).mean())
    table = simulated.disclosure()
    pooled = tk.income_disclosure(income.assign(period=simulated.simulation_start), by=None)
    assert list(pooled.columns) == [c for c in table.columns if c != "runs"]
    for col in ("share_net_loss", "share_earning_nothing", "median"):
        assert (table[f"{col}_ci_lower"] <= pooled[f"{col}_ci_lower"] + 1e-12).all()
        assert (table[f"{col}_ci_upper"] >= pooled[f"{col}_ci_upper"] - 1e-12).all()
    assert set(simulated.disclosure(by="role")["group"]) >= {"all participants"}


def test_runs_as_clusters_widen_a_share_only_when_runs_differ():
    run = np.repeat(np.arange(20), 10)
    alike = np.tile(np.r_[np.ones(3), np.zeros(7)].astype(bool), 20)  # every run at 30%
    apart = np.repeat(np.arange(20) < 6, 10)  # 6 runs all in, 14 all out
    assert design_effect(alike, run) == 1.0
    assert design_effect(apart, run) > 5
    _, lo1, hi1 = clustered_share(alike, run, 0.05)
    _, lo2, hi2 = clustered_share(apart, run, 0.05)
    assert hi2 - lo2 > hi1 - lo1


def test_simulate_income_refuses_a_plan_that_is_not_one():
    with pytest.raises(TypeError, match="CompensationPlan"):
        tk.simulate_income(None, {"unilevel": (0.05,)}, months=2, runs=2)


def test_an_organisation_too_large_to_pay_says_so_instead_of_paying():
    from toolkit.growth.income_outlook import MAX_PAID, TooLargeToPay, income_outlook
    from toolkit.growth.outlook import growth_outlook
    from toolkit.plots.income_explorer_plots import growth_income_readouts

    plan = tk.CompensationPlan.unilevel_example()
    explosive = tk.GrowthParams().replace(
        contacts_per_rep_per_month=10.0, contact_to_rep=25 / 150, monthly_attrition=0.0
    )
    with pytest.raises(TooLargeToPay, match=f"limit is {MAX_PAID:,}"):
        income_outlook(explosive, plan, months=12, runs=3)
    outlook = growth_outlook(explosive, months=12, runs=3, plan=plan)
    assert outlook.income is None and outlook.income_claim is None
    texts = growth_income_readouts(outlook)
    assert "too many to pay" in texts["growth_explorer_income"]
    assert texts["growth_explorer_income_claim"] == ""  # no claim checked on nothing
    # a small organisation is paid, and without a plan there is no money half at all
    small = growth_outlook(tk.GrowthParams.typical(), months=6, runs=5, plan=plan)
    assert small.income is not None and small.income_note == ""
    assert "What they earn" in growth_income_readouts(small)["growth_explorer_income"]
    assert growth_income_readouts(growth_outlook(months=6, runs=5)) == {}


def test_the_outlook_pays_at_most_max_paid_people_and_refuses_just_beyond():
    from toolkit.growth.income_outlook import MAX_PAID, MIN_RUNS, TooLargeToPay, income_outlook
    from toolkit.growth.projection import project_growth

    plan = tk.CompensationPlan.unilevel_example()
    story = tk.GrowthParams.five_thousand_story()  # about 5,000 a run: paid in fewer runs
    per_run = float(project_growth(story, 12)["cumulative_joined"].iloc[-1])
    assert per_run * MIN_RUNS <= MAX_PAID
    assert income_outlook(story, plan, months=12, runs=200).result.runs == max(
        MIN_RUNS, int(MAX_PAID // per_run)
    )
    bigger = story.replace(contacts_per_rep_per_month=story.contacts_per_rep_per_month * 1.2)
    assert float(project_growth(bigger, 12)["cumulative_joined"].iloc[-1]) * MIN_RUNS > MAX_PAID
    with pytest.raises(TooLargeToPay, match="over 3 organisations"):
        income_outlook(bigger, plan, months=12, runs=200)


def test_paying_a_larger_simulation_gives_what_simulate_income_gives():
    # growth_outlook pays the people of its own 200-run simulation (pay_simulation) instead of
    # simulating the paths again in fewer runs: the trap would be people drawn from the paths'
    # stream, so that the income shown changed with the number of runs of the fan
    from toolkit.growth.income import pay_simulation

    alone = tk.simulate_income(GROWING, PLAN, months=8, runs=7, seed=3)
    sim = tk.simulate_growth(GROWING, months=8, runs=40, seed=3)
    paid = pay_simulation(sim, PLAN, runs=7)
    assert paid.simulation is sim and paid.runs == 7
    for name in ("monthly", "income", "sales", "sources"):
        pd.testing.assert_frame_equal(getattr(paid, name), getattr(alone, name), check_exact=True)
    assert paid.typical() == alone.typical()
    assert paid.claim(500, per="month", at_month=8) == alone.claim(500, per="month", at_month=8)


def test_the_integer_member_key_groups_as_run_member_and_role_do(simulated):
    # SimulatedIncome groups the monthly rows by one integer key per member (no hashing of the
    # ids): the trap is a key whose order is not (run, member_id) as text ("P10" before "P2"),
    # or sums taken in another order; both would move a figure
    m = simulated.monthly
    cols = ["months_active", "gross", "fees", "lead_spend", "other_costs", "purchases", "net",
            "net_after_purchases"]  # fmt: skip
    by_text = m.groupby(["run", "member_id", "role"], sort=True)[cols].sum().reset_index()
    pd.testing.assert_frame_equal(simulated.income, by_text, check_exact=True)
    for at in (5, 8):
        window = m[m["month"] == at].groupby(["run", "member_id"])[["months_active", "gross"]]
        window = window.sum()
        window = window[window["months_active"] > 0]
        claim = simulated.claim(100, per="month", at_month=at)
        assert claim.participants == len(window)
        assert claim.mean == window["gross"].mean() and claim.median == window["gross"].median()


def test_engine_data_is_what_the_engine_makes_of_as_data(simulated):
    # simulate_income pays Organisation.engine_data() (Polars built from the arrays) instead
    # of as_data() handed to Polars by the engine: the trap is a type or a null that differs
    # (a NaT read as a date, an empty sponsor as ""), which would change who is paid what
    from toolkit.income._engine import handoff

    org = simulated.simulation.organisation(runs=simulated.runs)
    direct = org.engine_data()
    handed, back, _ = handoff(org.as_data(), ("members", "orders", "leads", "role_history"))
    assert back == "pandas" and direct.role_history is None and direct.as_of == handed.as_of
    for name in ("members", "orders", "leads"):
        mine, theirs = getattr(direct, name).collect(), getattr(handed, name).collect()
        theirs = theirs.drop("order_id") if name == "orders" else theirs
        assert mine.schema == theirs.schema and mine.equals(theirs), name
    via_pandas = tk.participant_income(org.as_data(), PLAN, period="M")
    pd.testing.assert_frame_equal(
        tk.participant_income(direct, PLAN, period="M").collect().to_pandas(),
        via_pandas,
        check_exact=True,
    )
    assert (simulated.monthly["member_id"].to_numpy() == via_pandas["member_id"].to_numpy()).all()
    for col in ("months_active", "gross", "fees", "purchases", "net", "net_after_purchases"):
        assert simulated.monthly[col].equals(via_pandas[col]), col
