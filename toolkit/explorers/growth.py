"""Growth explorer: GrowthParams sliders to the fan chart, the typical participant, the market
wall and the claim check (how likely "5,000 in a year" is)."""

from __future__ import annotations

import math

from toolkit.explorers.core import Control, Explorer, PageFormula, Preset
from toolkit.explorers.formulas import GROWTH_JS
from toolkit.growth.outlook import FAN_QUANTILES, GrowthOutlook, growth_outlook

__all__ = ["growth_explorer", "growth_outlook"]

NO_LIMIT = 0  # how a select control says "no limit" (None is not a widget value)
PRESETS = {
    "typical": "A typical participant",
    "five_thousand_story": "The 5,000-in-a-year story",
    "saturated_town": "The same story in a town of 20,000",
}


def _state(outlook: GrowthOutlook, *, metric: str) -> dict:
    """What changes on screen, without building figures (building the fan takes ~100 ms)."""
    from toolkit.plots.growth_plots import claim_readout, fan_data, typical_readout
    from toolkit.plots.style import source_data

    fan = fan_data(outlook.simulation, metric=metric, q=FAN_QUANTILES)
    return {
        **{name: {"data": data} for name, data in fan.items()},
        "growth_explorer_wall": {"data": source_data(outlook.wall)},
        "growth_explorer_claim": {"text": claim_readout(outlook.claim)},
        "growth_explorer_typical": {"text": typical_readout(outlook.typical)},
        **_income_state(outlook),
    }


def _income_state(outlook: GrowthOutlook) -> dict:
    from toolkit.plots.income_explorer_plots import growth_income_readouts

    return {name: {"text": text} for name, text in growth_income_readouts(outlook).items()}


def _figure(outlook: GrowthOutlook, *, metric: str):
    from toolkit.plots.growth_plots import growth_outlook_figure

    return growth_outlook_figure(outlook, metric=metric)


def _choice(value):
    return NO_LIMIT if value is None else value


def growth_explorer(
    params=None,
    *,
    months: int = 12,
    runs: int = 200,
    seed: int = 0,
    metric: str = "cumulative_joined",
    claim_value: float = 5_000,
    plan=None,
    income_claim_value: float = 10_000,
) -> Explorer:
    """What-if sliders for duplication: what happens to an organisation, and to the people in it?

    Parameters
    ----------
    params : GrowthParams, optional
        Where the sliders start (default: a typical participant); parameters without a slider
        (starting reps, customer attrition) stay as given.
    months, runs, seed
        Horizon, Monte Carlo runs and seed.
    metric, claim_value
        The fan's metric and the pitched outcome the claim check tests at the horizon.
    plan : CompensationPlan, optional
        Pays the simulated organisations: the typical-participant panel gains what they earn
        and spend, and the claim check the income claim (``income_claim_value`` a month at the
        horizon, "five figures a month" in 001).

    Returns
    -------
    Explorer
        With presets for the typical participant, the 001 story and a saturated town. Its
        headless twin is :func:`growth_outlook`. In exported HTML the sliders for contacts,
        sign-up rate and attrition step through Monte Carlo results computed in advance; the
        page computes the expected path itself for every control, and away from the
        notebook's (or a preset's) values of the other controls it shows that path alone and
        says why.
    """
    from toolkit.growth import GrowthParams

    base = params if params is not None else GrowthParams()
    p = base.as_dict()
    controls = [
        Control(
            "contacts_per_rep_per_month",
            "Contacts per rep per month",
            p["contacts_per_rep_per_month"],
            0.0,
            15.0,
            0.25,
            static_values=(1.0, 2.0, 4.0, 6.25, 10.0),
            fmt="0[.]00",
        ),
        Control(
            "contact_to_rep",
            "Contacts who sign up",
            p["contact_to_rep"],
            0.0,
            0.3,
            0.005,
            static_values=(0.01, 0.02, 0.05, 0.1, 25 / 150),
            fmt="0.0%",
        ),
        Control(
            "monthly_attrition",
            "Reps quitting per month",
            p["monthly_attrition"],
            0.0,
            0.3,
            0.01,
            static_values=(0.0, 0.04, 0.08, 0.15, 0.25),
            fmt="0%",
        ),
        Control(
            "leader_share",
            "New reps who become leaders",
            p["leader_share"],
            0.0,
            1.0,
            0.05,
            static=False,
            fmt="0%",
        ),
        Control(
            "leader_multiplier",
            "Leader effort (x ordinary)",
            p["leader_multiplier"],
            0.0,
            10.0,
            0.5,
            static=False,
        ),
        Control(
            "warm_market_size",
            "People each rep knows",
            _choice(p["warm_market_size"]),
            options=_options(
                (NO_LIMIT, "no limit"), 50.0, 150.0, 500.0, extra=p["warm_market_size"]
            ),
            static=False,
        ),
        Control(
            "market_size",
            "Market (town) size",
            _choice(p["market_size"]),
            options=_options(
                (NO_LIMIT, "no limit"), 5_000, 20_000, 100_000, 1_000_000, extra=p["market_size"]
            ),
            static=False,
        ),
        Control(
            "recruit_dispersion",
            "Recruiting effort",
            p["recruit_dispersion"],
            options=_options(
                (0.5, "heavy-tailed (most recruit nobody)"),
                (2.0, "uneven"),
                (math.inf, "everyone equal"),
                extra=p["recruit_dispersion"],
            ),
            static=False,
        ),
    ]
    names = [c.name for c in controls]
    presets = []
    for key, label in PRESETS.items():
        values = GrowthParams.preset(key).as_dict()
        presets.append(Preset(label, {n: _choice(values[n]) for n in names}))

    def compute(**values):
        for name in ("warm_market_size", "market_size"):
            values[name] = None if values[name] == NO_LIMIT else values[name]
        return growth_outlook(
            base.replace(**values),
            months=months,
            runs=runs,
            seed=seed,
            metric=metric,
            claim_value=claim_value,
            plan=plan,
            income_claim_value=income_claim_value,
        )

    def page_args(values) -> dict:
        # what has no control, and the effort grid of each recruiting option (JS has no
        # inverse incomplete gamma)
        from toolkit.growth.projection import effort_grid

        effort = next(c for c in controls if c.name == "recruit_dispersion")
        dispersions = [float(v) for v in effort.values]
        return {
            "months": months,
            "metric": metric,
            "no_limit": NO_LIMIT,
            "fixed": {
                n: p[n] for n in ("starting_reps", "contact_to_customer", "customer_attrition")
            },
            "dispersions": dispersions,
            "efforts": [effort_grid(d) for d in dispersions],
        }

    # The exported page computes the expected path (a closed form) for every control; the
    # Monte Carlo runs are in the grid for the grid's sliders, at the other controls' values.
    simulated = ["growth_explorer_claim", "growth_explorer_typical"]
    if plan is not None:
        simulated += ["growth_explorer_income", "growth_explorer_income_claim"]
    page = PageFormula(
        controls=tuple(c.name for c in controls if not c.static),
        code=GROWTH_JS,
        args=page_args,
        replaces=(
            "growth_fan_expected",
            "growth_fan_market",
            "growth_explorer_wall.market",
            "growth_explorer_wall.remaining_expected",
        ),
        grid_only=(
            "growth_fan_band",
            "growth_explorer_wall.remaining_median",
            "growth_explorer_wall.joined_median",
            *simulated,
        ),
        off_grid="With these values the page draws the expected path (dashed) alone: the "
        "simulated organisations (the band, the median run, the claim check and the typical "
        "participant) were run in advance only at other values.",
    )
    return Explorer(
        "growth_explorer",
        "Growth: what duplication gives, and what it gives the typical person",
        controls,
        compute,
        lambda outlook: _figure(outlook, metric=metric),
        presets=presets,
        state=lambda outlook: _state(outlook, metric=metric),
        note=f"{runs:,} simulated organisations over {months} months. The band holds 80% of them; "
        "the dashed line is the average, which a few huge organisations pull up.",
        page=page,
    )


def _options(*items, extra=None) -> tuple:
    out = [item if isinstance(item, tuple) else (item, f"{item:,.0f}") for item in items]
    value = _choice(extra)
    if value not in [v for v, _ in out]:
        out.append((value, f"{value:,.0f}" if math.isfinite(value) else str(value)))
    return tuple(out)
