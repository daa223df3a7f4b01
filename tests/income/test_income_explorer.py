"""The income explorer (issue 17): its static grid is its headless twin, and it stays small."""

from __future__ import annotations

import numpy as np

from toolkit.explorers.core import model_state
from toolkit.explorers.static import StaticGrid

MAX_EXPLORER_BYTES = 2_000_000


def _same(a, b):
    for name, props in b.items():
        for prop, value in props.items():
            if prop == "data":
                for col, arr in value.items():
                    got, want = np.asarray(a[name][prop][col]), np.asarray(arr)
                    if want.dtype.kind == "f":  # the page packs floats as float32
                        np.testing.assert_allclose(got, want, rtol=1e-6)
                    else:
                        np.testing.assert_array_equal(got, want)
            else:
                assert a[name][prop] == value, name


def test_income_explorer_static_grid_equals_its_twin_and_stays_small():
    import itertools

    from bokeh.embed import components

    from toolkit.explorers import income_explorer

    explorer = income_explorer(months=6, runs=8)
    grid = explorer.static_grid()
    static = [c for c in explorer.controls if c.static]
    assert [c.name for c in static] == [
        "unilevel_scale",
        "contacts_per_rep_per_month",
        "monthly_attrition",
    ]
    for indices in itertools.product(*[range(len(s)) for s in grid.steps]):
        values = {c.name: s[i] for c, s, i in zip(static, grid.steps, indices, strict=True)}
        twin = explorer.state(explorer.results(**values))
        stored = grid.states[StaticGrid.key(list(indices))]
        for name, props in stored.items():  # what the page stores is what the twin computes
            _same(twin, {name: props})
    # the fast state path shows what the figure draws
    outlook = explorer.results()
    built = model_state(explorer.build(outlook))
    _same(explorer.state(outlook), built)
    script, div = components(explorer.static_layout())
    assert len(script) + len(div) < MAX_EXPLORER_BYTES


def test_income_explorer_headline_counts_everyone():
    from toolkit.explorers import income_explorer

    outlook = income_explorer(months=6, runs=8).results(unilevel_scale=0.0, retail_margin=0.0)
    income = outlook.result.income
    assert outlook.typical.participants == len(income)
    # with no unilevel and no retail margin, only the fast start pays
    paid = outlook.sources.set_index("component")["amount"]
    assert paid.drop("fast_start").abs().sum() == 0


def test_growth_explorer_with_a_plan_shows_what_the_typical_participant_earns():
    import toolkit as tk
    from toolkit.explorers import growth_explorer

    explorer = growth_explorer(months=6, runs=10, plan=tk.CompensationPlan.unilevel_example())
    assert [p.label for p in explorer.presets][:2] == [
        "A typical participant",
        "The 5,000-in-a-year story",
    ]
    for preset in explorer.presets[:2]:
        outlook = explorer.results(**preset.values)
        assert outlook.income is not None and outlook.income_claim.value == 10_000
        fast, built = explorer.state(outlook), model_state(explorer.build(outlook))
        for name in ("growth_explorer_income", "growth_explorer_income_claim"):
            assert fast[name] == built[name]
        assert "median participant earns" in fast["growth_explorer_income"]["text"]
    # without a plan nothing about money is shown (and nothing computed)
    assert growth_explorer(months=6, runs=10).results().income is None


def test_income_explorer_starts_from_the_users_own_export():
    import toolkit as tk
    from toolkit.explorers import income_explorer

    data = tk.load_sample()
    fitted = tk.fit_recruitment(data)
    plan = tk.CompensationPlan.breakaway_example()
    explorer = income_explorer(plan, data, months=3, runs=3)
    assert explorer.values["monthly_attrition"] == min(fitted.monthly_attrition, 0.3)
    assert explorer.values["monthly_fee"] == plan.monthly_fee
    outlook = explorer.results()
    assert outlook.params.starting_reps == fitted.starting_reps
    assert outlook.plan.ranks == plan.ranks  # its own plan, stairstep and all
    assert explorer.widget() is not None  # the live form builds from the same definition


def test_income_explorer_takes_its_options_and_their_defaults_from_its_twin():
    import inspect

    import pytest

    from toolkit.explorers import income_explorer
    from toolkit.growth.income_outlook import income_outlook

    default = inspect.signature(income_outlook).parameters["autoship"].default
    explorer = income_explorer(months=3, runs=3)
    assert {c.name: c.default for c in explorer.controls}["autoship"] == default
    assert {c.name: c.default for c in income_explorer(runs=3, autoship=150.0).controls}[
        "autoship"
    ] == 150.0
    with pytest.raises(TypeError, match="mnths"):
        income_explorer(mnths=3)


def test_income_explorer_on_an_export_too_large_to_pay_says_so_in_page_and_grid():
    import toolkit
    from toolkit.explorers import income_explorer

    # the sample's fitted recruiting, at more contacts and no quitting, grows past a million
    # people a year: nobody can be paid
    explorer = income_explorer(data=toolkit.load_sample(), months=12, runs=3)
    outlook = explorer.results(contacts_per_rep_per_month=15.0, monthly_attrition=0.0)
    assert outlook.typical is None and "too many to pay" in outlook.note
    state = explorer.state(outlook)
    assert "too many to pay" in state["income_explorer_headline"]["text"]
    assert state["income_explorer_claim"]["text"] == ""
    assert np.isnan(state["income_explorer_distribution"]["data"]["gross"]).all()
    grid = explorer.static_grid()  # every state is computed, paid or not (it used to stop)
    story = grid.presets["The 5,000-in-a-year story"]["income_explorer_headline"]["text"]
    assert "too many to pay" in story
    assert all(
        "participants</b>" in s["income_explorer_headline"]["text"] for s in grid.states.values()
    )
