"""Growth what-ifs: the expected path, the Monte Carlo, claim checks, sensitivity and calibration."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit
from tests.support import REFERENCE
from toolkit.growth import PATH_COLUMNS, GrowthParams, GrowthSimulation, gini
from toolkit.lead_quality import ModelCheckWarning

UNLIMITED = dict(warm_market_size=None, market_size=None)


# --------------------------------------------------------------------------------------------
# parameters


@pytest.mark.parametrize(
    "change, field",
    [
        ({"contact_to_rep": 1.5}, "contact_to_rep"),
        ({"monthly_attrition": -0.1}, "monthly_attrition"),
        ({"starting_reps": 0}, "starting_reps"),
        ({"starting_reps": 2.5}, "starting_reps"),
        ({"recruit_dispersion": 0}, "recruit_dispersion"),
        ({"warm_market_size": -3}, "warm_market_size"),
        ({"market_size": 0}, "market_size"),
        ({"leader_multiplier": math.inf}, "leader_multiplier"),
        ({"contacts_per_rep_per_month": float("nan")}, "contacts_per_rep_per_month"),
    ],
)
def test_out_of_range_parameters_name_the_field(change, field):
    with pytest.raises(ValueError, match=field):
        GrowthParams(**change)


def test_a_contact_cannot_be_both_rep_and_customer():
    with pytest.raises(ValueError, match="contact_to_rep \\+ contact_to_customer"):
        GrowthParams(contact_to_rep=0.6, contact_to_customer=0.5)


def test_presets():
    assert GrowthParams.preset("typical") == GrowthParams()
    story = GrowthParams.preset("five_thousand_story")
    # 001: about 150 leads over two years, 25 recruited, 5 of them leaders
    assert story.contacts_per_rep_per_month * 24 == pytest.approx(150)
    assert story.contact_to_rep * 150 == pytest.approx(25)
    assert story.leader_share * 25 == pytest.approx(5)
    assert GrowthParams.saturated_town().market_size == 20_000
    with pytest.raises(ValueError, match="unknown preset"):
        GrowthParams.preset("moon")


# --------------------------------------------------------------------------------------------
# expected path


def test_expected_path_month_one_by_hand():
    # typical defaults: 1 rep, 4 contacts, leaders (20%) approach 3x: 4 x (0.8 + 0.6) = 5.6
    # contacts; 2% sign up = 0.112 reps; 3% become customers = 0.168; 8% of the rep quits.
    # (No warm market here: with one, the rare rep of enormous effort meets the 150 cap at once.)
    path = toolkit.project_growth(GrowthParams(warm_market_size=None), months=3)
    one = path.iloc[1]
    assert one["contacts"] == pytest.approx(5.6)
    assert one["new_reps"] == pytest.approx(0.112)
    assert one["customers"] == pytest.approx(0.168)
    assert one["active_reps"] == pytest.approx(0.92 + 0.112)
    assert one["cumulative_joined"] == pytest.approx(1.112)
    assert path["month"].tolist() == [0, 1, 2, 3]
    assert path["remaining_market"].isna().all()  # unlimited market: not applicable, not zero
    assert list(path.columns) == ["month", *PATH_COLUMNS]


@settings(max_examples=40, deadline=None)
@given(
    contacts=st.floats(0, 20),
    to_rep=st.floats(0, 0.5),
    share=st.floats(0, 1),
    mult=st.floats(0, 10),
    attrition=st.floats(0, 1),
    start=st.integers(1, 50),
)
def test_unlimited_growth_factor_is_exact(contacts, to_rep, share, mult, attrition, start):
    # The formula: with no warm-market or market limit active reps grow by exactly
    # 1 - attrition + contacts x to_rep x (1 - share + share x mult) every month.
    p = GrowthParams(
        starting_reps=start,
        contacts_per_rep_per_month=contacts,
        contact_to_rep=to_rep,
        leader_share=share,
        leader_multiplier=mult,
        monthly_attrition=attrition,
        **UNLIMITED,
    )
    factor = 1 - attrition + contacts * to_rep * (1 - share + share * mult)
    reps = toolkit.project_growth(p, months=10)["active_reps"].to_numpy()
    np.testing.assert_allclose(reps, start * factor ** np.arange(11), rtol=1e-9, atol=1e-12)
    assert p.monthly_growth_factor == pytest.approx(factor)


def test_five_thousand_story_reproduces_the_pitched_5000_in_a_year():
    # Everyone doing what the author did: 6.25 contacts, 1 in 6 signs up, nobody quits:
    # (1 + 6.25 / 6) ** 12 = 5,245.9 reps after a year, the "about 5,000" of 001.
    path = toolkit.project_growth(GrowthParams.five_thousand_story(), months=12)
    assert path["cumulative_joined"].iloc[-1] == pytest.approx((1 + 6.25 / 6) ** 12)


def test_limits_bend_the_curve():
    free = toolkit.project_growth(GrowthParams.five_thousand_story(), months=24)
    town = toolkit.project_growth(GrowthParams.saturated_town(), months=24)
    warm = toolkit.project_growth(GrowthParams.five_thousand_story(warm_market_size=60), months=24)
    assert (town["cumulative_joined"] <= 20_000).all()
    assert (town["remaining_market"].diff().dropna() <= 1e-9).all()  # the town only empties
    assert town["cumulative_joined"].iloc[-1] < free["cumulative_joined"].iloc[-1] / 1000
    # at most a sixth of the town (those who say yes) can ever join
    assert town["cumulative_joined"].iloc[-1] <= 1 + (20_000 - 1) / 6 + 1e-6
    assert (warm["active_reps"] <= free["active_reps"] + 1e-9).all()
    assert warm["active_reps"].iloc[-1] < free["active_reps"].iloc[-1]


# --------------------------------------------------------------------------------------------
# Monte Carlo


def test_monte_carlo_mean_tracks_expected_path():
    # Unlimited market: the simulation's mean is within sampling error of project_growth
    # (guards against a mechanism drifting away from the formula, e.g. newcomers quitting in
    # their first month or leaders not approaching more).
    p = GrowthParams(contact_to_rep=0.05, **UNLIMITED)
    runs = 4000
    result = toolkit.simulate_growth(p, months=12, runs=runs, seed=1)
    stats = result.paths.groupby("month")[["active_reps", "cumulative_joined", "customers"]].agg(
        ["mean", "std"]
    )
    expected = result.expected.set_index("month")
    for col in ("active_reps", "cumulative_joined", "customers"):
        se = stats[(col, "std")] / math.sqrt(runs)
        z = (stats[(col, "mean")] - expected[col]).abs() / se.where(se > 0, 1)
        assert (z < 4.5).all(), (col, z.max())


def test_paths_are_counts_with_the_documented_shape():
    result = toolkit.simulate_growth(GrowthParams(), months=6, runs=50, seed=3)
    paths = result.paths
    assert list(paths.columns) == ["run", "month", *PATH_COLUMNS]
    assert len(paths) == 50 * 7
    counts = paths[["active_reps", "leaders", "customers", "new_reps", "cumulative_joined"]]
    assert (counts >= 0).all().all() and (counts == counts.round()).all().all()
    assert (paths["leaders"] <= paths["active_reps"]).all()
    by_run = paths.sort_values(["run", "month"]).groupby("run")["cumulative_joined"]
    assert (by_run.diff().dropna() >= 0).all()
    q = result.quantiles()
    assert set(q["quantile"]) == {0.1, 0.5, 0.9} and len(q) == 3 * 7
    assert isinstance(result.summary, pd.DataFrame) and "GrowthSimulation" in result._repr_html_()


def test_same_seed_same_paths():
    a = toolkit.simulate_growth(GrowthParams(), months=5, runs=20, seed=9).paths
    b = toolkit.simulate_growth(GrowthParams(), months=5, runs=20, seed=9).paths
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("market", [50, 500, 5_000])
def test_total_joined_never_exceeds_the_market(market):
    p = GrowthParams.five_thousand_story(market_size=market)
    result = toolkit.simulate_growth(p, months=18, runs=300, seed=2)
    assert (result.paths["cumulative_joined"] <= market).all()
    assert (result.paths["remaining_market"] >= 0).all()
    people = result.participants(runs=20)
    assert people.groupby("run").size().max() <= market


def _extinction_reference():
    return pd.read_csv(REFERENCE / "growth_extinction.csv")


def _poisson_case(lam, attrition):
    # every rep alike (no leaders, no heavy tail): recruits per month are Poisson(lam)
    return GrowthParams(
        contacts_per_rep_per_month=lam / 0.125,
        contact_to_rep=0.125,
        contact_to_customer=0.0,
        leader_share=0.0,
        monthly_attrition=attrition,
        recruit_dispersion=math.inf,
        **UNLIMITED,
    )


@pytest.mark.parametrize("case", [0, 1])
def test_extinction_share_agrees_with_branching_fixed_point(case):
    # Reference q from tests/reference/growth_extinction.py (the offspring law built by brute
    # force, then q <- G(q) iterated). Lines still alive after 48 months at growth >= 1.1 a
    # month are practically safe, so the share dead by then estimates q.
    ref = _extinction_reference().iloc[case]
    p = _poisson_case(ref["lam"], ref["attrition"])
    runs = 4000
    result = toolkit.simulate_growth(p, months=48, runs=runs, seed=case)
    last = result.paths[result.paths["month"] == 48]
    died = (last["active_reps"] == 0).mean()
    se = math.sqrt(ref["extinction"] * (1 - ref["extinction"]) / runs)
    assert abs(died - ref["extinction"]) < 4 * se
    # the participant-level simulator agrees too (its own lines, fewer runs)
    typical = result.typical(runs=600)
    assert abs(typical["share_lines_died_out"] - ref["extinction"]) < 4 * math.sqrt(0.25 / 600)


def test_subcritical_lines_all_die():
    ref = _extinction_reference()
    assert ref.loc[ref["mean_offspring"] < 1, "extinction"].round(6).eq(1).all()


def test_participants_add_up():
    result = toolkit.simulate_growth(
        GrowthParams.five_thousand_story(monthly_attrition=0.1, recruit_dispersion=0.5), 10, 40, 5
    )
    people = result.participants(runs=40)
    assert people["run"].nunique() <= 40
    # everyone below a participant is counted once per ancestor, so the downline sizes add up
    # to the sum of levels; every non-starting participant is someone's personal recruit
    assert people["downline_size"].sum() == people["level"].sum()
    assert people["personal_recruits"].sum() == (people["sponsor"] >= 0).sum()
    assert (people["depth"] <= people["downline_size"]).all()
    assert (people["months_active"].between(0, 10)).all()
    assert people.loc[people["active"], "left_month"].isna().all()
    # the participant simulator's mean size tracks the expected path as well
    per_run = people.groupby("run").size()
    expected = result.expected["cumulative_joined"].iloc[-1]
    assert abs(per_run.mean() - expected) < 5 * per_run.std() / math.sqrt(len(per_run))


def test_typical_participant_is_not_the_average():
    result = toolkit.simulate_growth(GrowthParams(), months=24, runs=2000, seed=4)
    t = result.typical()
    assert set(t) >= {
        "share_recruited_nobody",
        "median_downline",
        "top1pct_share_of_recruits",
        "gini_downline",
        "share_lines_died_out",
    }
    # heavy tail: most participants recruit nobody, the median downline is empty, a few carry it
    assert t["share_recruited_nobody"] > 0.5
    assert t["median_downline"] == 0
    assert t["top1pct_share_of_recruits"] > 0.05
    assert 0.5 < t["gini_downline"] <= 1


def test_gini_by_hand():
    assert gini([1, 1, 1]) == 0
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)  # one of four holds everything: 1 - 1/4
    assert gini([1, 2, 3]) == pytest.approx(2 / 9)


def test_warm_market_caps_each_participant():
    # a warm market of 5 people: nobody can recruit more than 5 in a lifetime
    p = GrowthParams.five_thousand_story(warm_market_size=5, contact_to_rep=0.5)
    people = toolkit.simulate_growth(p, months=8, runs=20, seed=0).participants(runs=20)
    assert people["personal_recruits"].max() <= 5


def test_warm_market_simulators_agree_with_expected_path():
    # counts simulator uses an averaged exhaustion factor, the participant one exact caps:
    # both stay near the expected path (a loose check of the approximation)
    p = GrowthParams(starting_reps=20, contact_to_rep=0.05, warm_market_size=40)
    result = toolkit.simulate_growth(p, months=24, runs=400, seed=6)
    expected = result.expected["cumulative_joined"].iloc[-1]
    counts_mean = result.paths.loc[result.paths["month"] == 24, "cumulative_joined"].mean()
    people_mean = result.participants(runs=200).groupby("run").size().mean()
    assert counts_mean == pytest.approx(expected, rel=0.08)
    assert people_mean == pytest.approx(expected, rel=0.12)


# --------------------------------------------------------------------------------------------
# claim check, comparison, sensitivity, goal seek


def _hand_result(values):
    # four runs whose organisation at month 1 has 0, 10, 20, 30 reps
    paths = pd.DataFrame(
        {
            "run": np.repeat(np.arange(len(values)), 2),
            "month": np.tile([0, 1], len(values)),
            **{col: 0.0 for col in PATH_COLUMNS},
        }
    )
    paths.loc[paths["month"] == 1, "cumulative_joined"] = values
    expected = toolkit.project_growth(GrowthParams(), 1)
    return GrowthSimulation(GrowthParams(), 1, len(values), 0, paths, expected)


def test_claim_check_by_hand():
    out = toolkit.claim_check(
        _hand_result([0, 10, 20, 30]), metric="cumulative_joined", at_month=1, value=20
    )
    assert out["probability"] == 0.5  # 20 and 30 reach at least 20
    assert out["percentile"] == 50.0  # half the runs fall below 20
    assert out["median"] == 15.0
    assert (
        out["probability_ci_lower"] < 0.5 < out["probability_ci_upper"]
    )  # 4 runs: a wide interval
    with pytest.raises(ValueError, match="metric"):
        toolkit.claim_check(_hand_result([1]), metric="income", at_month=1, value=1)


def test_claim_check_of_the_pitch_under_typical_numbers():
    # "5,000 in a year" under typical numbers: not one run in 2,000 gets there
    result = toolkit.simulate_growth(GrowthParams(), months=12, runs=2000, seed=0)
    out = toolkit.claim_check(result, metric="cumulative_joined", at_month=12, value=5000)
    assert out["probability"] == 0 and out["probability_ci_upper"] < 0.005


def test_sales_vs_network():
    out = toolkit.sales_vs_network(GrowthParams(), months=24, sale_rate=0.01)
    sales = out[out["approach"] == "personal selling"].set_index("month")
    network = out[out["approach"] == "network"].set_index("month")
    # 4 contacts a month for 24 months = 96 people approached; 1% close: 0.96 customers
    assert sales.loc[24, "your_contacts"] == 96
    assert sales.loc[24, "customers"] == pytest.approx(0.96)
    assert sales.loc[24, "customers_low"] == 0  # 96 leads at 1%: a fair chance of none
    assert (network["your_contacts"] == sales["your_contacts"]).all()
    # per contact made by anyone, the network wins customers at contact_to_customer, no better
    np.testing.assert_allclose(network.loc[1:, "customers_per_contact"], 0.03)


def test_sensitivity_matches_analytic_elasticities():
    # unlimited: reps(T) = start x f^T, so elasticity to start is 1 and to contacts is
    # T x (f - 1 + attrition) / f (central differences of a smooth function)
    p = GrowthParams(**UNLIMITED)
    out = toolkit.sensitivity(p, metric="active_reps", at_month=12).set_index("parameter")
    f = p.monthly_growth_factor
    assert out.loc["starting_reps", "elasticity"] == pytest.approx(1.0)
    assert out.loc["contacts_per_rep_per_month", "elasticity"] == pytest.approx(
        12 * (f - 1 + 0.08) / f, rel=0.01
    )
    assert out.loc["monthly_attrition", "elasticity"] < 0
    assert out.loc["customer_attrition", "elasticity"] == 0  # does not touch reps
    assert "market_size" not in out.index  # unlimited: nothing to vary
    assert (out["metric_base"] == out["metric_base"].iloc[0]).all()


def test_goal_seek_hits_the_target():
    p = GrowthParams()
    needed = toolkit.goal_seek(
        p, param="contacts_per_rep_per_month", metric="cumulative_joined", at_month=12, target=5000
    )
    check = toolkit.project_growth(p.replace(contacts_per_rep_per_month=needed), 12)
    assert check["cumulative_joined"].iloc[-1] == pytest.approx(5000, rel=1e-6)
    assert needed > 40 * p.contacts_per_rep_per_month  # the pitch needs absurd effort
    # the story's conversion from the story's effort: 1 in 6 gives about 5,000 (see above)
    rate = toolkit.goal_seek(
        GrowthParams.five_thousand_story(),
        param="contact_to_rep",
        metric="cumulative_joined",
        at_month=12,
        target=(1 + 6.25 / 6) ** 12,
    )
    assert rate == pytest.approx(1 / 6, rel=1e-6)
    with pytest.raises(ValueError, match="no monthly_attrition"):
        toolkit.goal_seek(
            p, param="monthly_attrition", metric="cumulative_joined", at_month=12, target=1e9
        )


# --------------------------------------------------------------------------------------------
# calibration


def test_fit_recruitment_recovers_a_simulated_genealogy():
    true = GrowthParams(
        starting_reps=300,
        contacts_per_rep_per_month=4,
        contact_to_rep=0.05,
        leader_share=0.2,
        leader_multiplier=3,
        monthly_attrition=0.05,
        recruit_dispersion=0.5,
        **UNLIMITED,
    )
    sim = toolkit.simulate_growth(true, months=18, runs=1, seed=3)
    members = sim.genealogy()
    before = members.copy()
    fitted = toolkit.fit_recruitment(
        members, as_of=sim.as_of, base=GrowthParams(contact_to_rep=0.05)
    )
    pd.testing.assert_frame_equal(members, before)  # input not mutated
    assert fitted.fit.model_ == "negative binomial"
    assert fitted.fit.lr_pvalue_ < 1e-6
    assert fitted.contacts_per_rep_per_month == pytest.approx(4, rel=0.08)
    assert fitted.leader_multiplier == pytest.approx(3, rel=0.12)
    assert fitted.recruit_dispersion == pytest.approx(0.5, rel=0.15)
    assert fitted.monthly_attrition == pytest.approx(0.05, rel=0.1)
    assert fitted.leader_share == pytest.approx(0.2, abs=0.02)
    assert fitted.starting_reps == members["left_at"].isna().sum()  # the organisation as it is now
    s = fitted.fit.summary
    assert (s["ci_lower"] <= s["estimate"]).all() or s["ci_lower"].isna().any()


def test_fit_recruitment_picks_poisson_when_there_is_no_extra_spread():
    true = _poisson_case(0.3, 0.1).replace(starting_reps=400)
    sim = toolkit.simulate_growth(true, months=12, runs=1, seed=8)
    fitted = toolkit.fit_recruitment(
        sim.genealogy(), as_of=sim.as_of, base=GrowthParams(contact_to_rep=0.125)
    )
    assert fitted.fit.model_ == "Poisson"
    assert math.isinf(fitted.recruit_dispersion)
    assert fitted.contacts_per_rep_per_month * 0.125 == pytest.approx(0.3, rel=0.1)


def test_fit_recruitment_counts_recent_joiners_as_exposure_not_failure():
    # Two reps recruit at the same rate (one per month); R2 joined a month before as_of and
    # has had one month. Counting R2 as a full-period failure would halve the rate.
    t = pd.Timestamp
    rows = [("R1", None, t("2024-01-01")), ("R2", None, t("2024-12-01"))]
    for i in range(11):
        rows.append((f"A{i}", "R1", t("2024-01-01") + pd.Timedelta(days=30.4375 * (i + 1))))
    rows.append(("B0", "R2", t("2024-12-20")))
    for i in range(10):  # ten passive reps to make a fit possible
        rows.append((f"P{i}", None, t("2024-11-01")))
    members = pd.DataFrame(rows, columns=["member_id", "sponsor_id", "joined_at"])
    members["role"] = "business_builder"
    members["left_at"] = pd.NaT
    fitted = toolkit.fit_recruitment(
        members,
        as_of=t("2024-12-31"),
        base=GrowthParams(contact_to_rep=1.0, contact_to_customer=0.0),
    )
    # exposure in days: R1 365, R2 30, A_i 365 - 30.4375 (i + 1), B0 11, the P reps 60 each (Nov 1 to Dec 31)
    days = 365 + 30 + sum(365 - 30.4375 * (i + 1) for i in range(11)) + 11 + 10 * 60
    assert fitted.fit.rep_months_ == pytest.approx(days / 30.4375)
    # the Poisson rate is recruits over exposure: 12 / 99.3 rep-months, not 12 / (23 reps x 12)
    poisson_rate = np.exp(fitted.fit.poisson_results_.params[0])
    assert poisson_rate == pytest.approx(12 / (days / 30.4375))


def _leaders_recruit_only(leader_recruits: int) -> pd.DataFrame:
    """Five leaders who each recruit ``leader_recruits`` reps; ordinary reps recruit nobody."""
    t = pd.Timestamp
    rows = [(f"L{i}", None, t("2024-01-01"), "leader") for i in range(5)]
    rows += [(f"P{i}", None, t("2024-01-01"), "business_builder") for i in range(6)]
    for i in range(5):
        for k in range(leader_recruits):
            rows.append((f"R{i}_{k}", f"L{i}", t("2024-03-01"), "business_builder"))
    members = pd.DataFrame(rows, columns=["member_id", "sponsor_id", "joined_at", "role"])
    members["left_at"] = pd.NaT
    return members


def test_fit_recruitment_when_only_leaders_recruit_says_the_multiplier_is_assumed():
    # trap (issue 13): the leader coefficient ran off to infinity (a multiplier of 1e10,
    # overflow in exp for its interval, and a rate of 1e-11 for ordinary reps)
    base = GrowthParams(leader_multiplier=3.0)
    with pytest.warns(
        ModelCheckWarning,
        match=r"the 16 ordinary reps recruited no rep in \d+ rep-months.*kept at 3",
    ):
        fitted = toolkit.fit_recruitment(_leaders_recruit_only(2), as_of="2024-12-31", base=base)
    assert fitted.leader_multiplier == 3.0
    assert fitted.fit.summary.loc["leader_multiplier", ["ci_lower", "ci_upper"]].isna().all()
    # 10 recruits over the exposure with leaders counted 3 times: 5 x 12 months x 3 + 16 ordinary
    months = (pd.Timestamp("2024-12-31") - pd.Timestamp("2024-01-01")).days / 30.4375
    later = (pd.Timestamp("2024-12-31") - pd.Timestamp("2024-03-01")).days / 30.4375
    expected = 10 / (5 * months * 3 + 6 * months + 10 * later)
    rate = fitted.fit.summary.loc["recruits per rep-month (ordinary rep)", "estimate"]
    assert rate == pytest.approx(expected, rel=1e-4)


def test_fit_recruitment_with_no_recruits_refuses_in_plain_words():
    with pytest.raises(toolkit.DataError, match="recruited no rep.*nothing|no recruiting"):
        toolkit.fit_recruitment(_leaders_recruit_only(0), as_of="2024-12-31")


def test_fit_recruitment_bad_genealogy():
    members = pd.DataFrame(
        {
            "member_id": ["A", "B"],
            "sponsor_id": [None, "Z"],
            "joined_at": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "role": ["leader", "business_builder"],
            "left_at": pd.NaT,
        }
    )
    with pytest.raises(toolkit.DataError, match="sponsor_id.*B"):
        toolkit.fit_recruitment(members)
    with pytest.raises(toolkit.DataError, match="role"):
        toolkit.fit_recruitment(members.drop(columns="role"))


def test_fit_recruitment_on_the_sample(sample):
    # the sample world plants heavy-tailed recruiting (gamma effort, shape 0.8) and leaders who
    # approach 4 times more people; the fit should see a heavy tail and a leader effect
    fitted = toolkit.fit_recruitment(sample)
    assert fitted.fit.model_ == "negative binomial"
    assert fitted.recruit_dispersion < 2
    assert fitted.leader_multiplier > 1.5
    assert 0 < fitted.monthly_attrition < 0.2


# --------------------------------------------------------------------------------------------
# figures (they draw what the computation gives; nothing is recomputed in the plot)


def test_figures_carry_named_sources_with_the_computed_numbers():
    from toolkit import plots
    from toolkit.growth import outcome_distribution

    result = toolkit.simulate_growth(GrowthParams.saturated_town(), months=12, runs=100, seed=0)
    fan = plots.growth_fan(result, metric="cumulative_joined")
    band = fan.select_one({"name": "growth_fan_band"}).data
    median = result.quantiles((0.1, 0.5, 0.9)).query("quantile == 0.5")["cumulative_joined"]
    np.testing.assert_allclose(band["median"], median)
    assert fan.select_one({"name": "growth_fan_market"}).data["market"][0] == 20_000
    assert fan.name == "growth_fan"

    people = result.participants(runs=5)
    dist = outcome_distribution(people)
    assert dist["participants"].sum() == len(people)
    assert dist.loc[dist["is_median"], "value"].iloc[0] == people["downline_size"].median() // 1
    outcomes = plots.participant_outcomes(dist)
    assert (
        outcomes.select_one({"name": "participant_outcomes_source"}).data["x"][0]
        == dist["value"].iloc[0] + 1
    )

    table = toolkit.sensitivity(GrowthParams(), metric="active_reps", at_month=12)
    bars = plots.tornado(table).select_one({"name": "tornado_source"}).data
    assert bars["parameter"][-1] == table["parameter"].iloc[0]  # largest effect on top


# --------------------------------------------------------------------------------------------
# renamed preset, result objects, bad input (issues 12 and 13)


def test_story_001_is_a_deprecated_alias_of_five_thousand_story():
    with pytest.warns(DeprecationWarning, match="five_thousand_story"):
        old = GrowthParams.story_001(market_size=9_000)
    assert old == GrowthParams.five_thousand_story(market_size=9_000)
    with pytest.warns(DeprecationWarning, match="five_thousand_story"):
        assert GrowthParams.preset("story_001") == GrowthParams.five_thousand_story()


def test_claim_check_is_a_documented_result_object():
    out = toolkit.claim_check(
        _hand_result([0, 10, 20, 30]), metric="cumulative_joined", at_month=1, value=20
    )
    assert isinstance(out, toolkit.growth.ClaimCheck)
    assert (out.probability, out.percentile, out.runs) == (0.5, 50.0, 4)
    assert (out.metric, out.at_month, out.value) == ("cumulative_joined", 1, 20.0)
    assert out.to_frame().loc[0, "median"] == 15.0
    assert "50.0% of 4 runs" in str(out)
    with pytest.raises(AttributeError):
        out.probability = 1.0  # frozen
    with pytest.raises(KeyError):
        out["nope"]
    # alpha chooses the level: a 99% interval is wider than the 95% one
    wide = toolkit.claim_check(
        _hand_result([0, 10, 20, 30]), metric="cumulative_joined", at_month=1, value=20, alpha=0.01
    )
    assert (
        wide.probability_ci_lower
        < out.probability_ci_lower
        < out.probability_ci_upper
        < wide.probability_ci_upper
    )


@pytest.mark.parametrize("months", [60, 400])
def test_a_story_too_large_to_count_is_refused_by_name(months):
    # trap: 60 months of the story is 4e18 reps; numpy said "lam value too large" or "n < 0"
    with pytest.raises(ValueError, match="months"):
        toolkit.simulate_growth(GrowthParams.five_thousand_story(), months=months, runs=5)


def test_a_very_heavy_tail_is_refused_by_name():
    # trap: recruit_dispersion=1e-300 drew efforts near 1e300 and Poisson failed inside numpy
    with pytest.raises(ValueError, match="recruit_dispersion"):
        GrowthParams(recruit_dispersion=1e-300)


def test_infinite_market_means_unlimited():
    # trap: market_size=inf raised OverflowError from int(inf)
    assert GrowthParams(market_size=math.inf).market_size is None
    assert GrowthParams(warm_market_size=math.inf) == GrowthParams(warm_market_size=None)
    with pytest.raises(ValueError, match="market_size.*1e\\+15"):
        GrowthParams(market_size=1e30)  # was an OverflowError in simulate_growth
    with pytest.raises(ValueError, match="starting_reps"):
        GrowthParams(starting_reps=10**19)


@pytest.mark.parametrize("seed", [-1, 1.5, "a", True])
def test_bad_seeds_are_refused_by_name(seed):
    # trap: numpy's TypeError / ValueError from deep inside SeedSequence
    with pytest.raises(ValueError, match="seed must be a whole number >= 0"):
        toolkit.simulate_growth(GrowthParams(), months=2, runs=2, seed=seed)


def test_no_seed_draws_one_and_keeps_it():
    sim = toolkit.simulate_growth(GrowthParams(), months=2, runs=3, seed=None)
    again = toolkit.simulate_growth(GrowthParams(), months=2, runs=3, seed=sim.seed)
    pd.testing.assert_frame_equal(sim.paths, again.paths)
    assert len(sim.participants(runs=1)) >= 1  # was a TypeError: default_rng([None, 1])


def test_a_dict_of_params_is_read_as_growth_params():
    # trap: AttributeError 'dict' object has no attribute 'recruit_dispersion'
    by_dict = toolkit.simulate_growth({"contact_to_rep": 0.05}, months=3, runs=4, seed=1)
    by_params = toolkit.simulate_growth(GrowthParams(contact_to_rep=0.05), months=3, runs=4, seed=1)
    pd.testing.assert_frame_equal(by_dict.paths, by_params.paths)
    with pytest.raises(ValueError, match="unknown GrowthParams field.*'contact_rate'"):
        toolkit.project_growth({"contact_rate": 0.05}, months=3)
    with pytest.raises(ValueError, match="contact_to_rep"):
        toolkit.project_growth({"contact_to_rep": 2.0}, months=3)
    with pytest.raises(ValueError, match="params must be a GrowthParams"):
        toolkit.simulate_growth("five_thousand_story", months=3, runs=4)


def test_huge_horizons_and_run_counts_are_refused_by_name():
    # trap: MemoryError allocating terabytes of paths
    with pytest.raises(ValueError, match="runs x \\(months \\+ 1\\)"):
        toolkit.simulate_growth(GrowthParams(), months=3, runs=10**12)
    with pytest.raises(ValueError, match="months must be a whole number from 1 to 1200"):
        toolkit.project_growth(GrowthParams(), months=10**7)
    with pytest.raises(ValueError, match="overflows a float"):
        toolkit.project_growth(GrowthParams.five_thousand_story(), months=1200)


def test_poisson_rate_interval_by_hand():
    from scipy.stats import chi2

    from toolkit.rates import poisson_rate_interval

    # 4 quits in 100 rep-months: Garwood's exact bounds, chi2 quantiles over twice the exposure
    low, high = poisson_rate_interval(4, 100)
    assert low == pytest.approx(chi2.ppf(0.025, 8) / 200)
    assert high == pytest.approx(chi2.ppf(0.975, 10) / 200)
    assert poisson_rate_interval(0, 50)[0] == 0.0  # no events: the lower bound is exactly 0
    wide = poisson_rate_interval(4, 100, alpha=0.01)
    assert wide[0] < low < high < wide[1]
    assert all(math.isnan(b) for b in poisson_rate_interval(3, 0))


def test_quantiles_are_computed_once_and_handed_out_as_copies():
    # the outlook and the fan chart both ask for the fan's quantiles (kept after the first
    # call): the trap is handing out the kept frame, which a caller could change for the next
    result = toolkit.simulate_growth(GrowthParams(), months=6, runs=30, seed=2)
    first = result.quantiles((0.1, 0.5, 0.9))
    fresh = result.paths.groupby("month")[list(PATH_COLUMNS)].quantile([0.1, 0.5, 0.9])
    fresh = fresh.rename_axis(["month", "quantile"]).reset_index()
    pd.testing.assert_frame_equal(first, fresh, check_exact=True)
    first.loc[:, "active_reps"] = -1.0
    pd.testing.assert_frame_equal(result.quantiles([0.1, 0.5, 0.9]), fresh, check_exact=True)
    assert len(result.quantiles(0.5)) == 7  # another q is another table
