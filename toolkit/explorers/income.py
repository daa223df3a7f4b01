"""Income explorer: plan and organisation sliders to what the typical participant earns,
spends and keeps, the income distribution and where the money comes from."""

from __future__ import annotations

import inspect

from toolkit.explorers.core import Control, Explorer, Preset
from toolkit.growth.income_outlook import (
    IncomeOutlook,
    TooLargeToPay,
    income_outlook,
    scaled_plan,
    unpaid_outlook,
)

__all__ = ["income_explorer", "income_outlook"]


def _state(outlook: IncomeOutlook) -> dict:
    from toolkit.plots.income_explorer_plots import income_outlook_data

    return income_outlook_data(outlook)


def _figure(outlook: IncomeOutlook):
    from toolkit.plots.income_explorer_plots import income_outlook_figure

    return income_outlook_figure(outlook)


def income_explorer(plan=None, data=None, *, params=None, **options) -> Explorer:
    """What-if sliders for money: what does the typical participant earn, and keep?

    Parameters
    ----------
    plan : CompensationPlan, optional
        Where the plan sliders start (default: ``CompensationPlan.unilevel_example()``).
    data : CRMData, optional
        The user's own export: the organisation sliders start from
        ``fit_recruitment(data)`` (recruits per rep-month, attrition, effort).
    params : GrowthParams, optional
        The organisation without data (default: a typical participant).
    **options
        ``months``, ``runs``, ``seed``, ``purchases`` (what a customer buys a month),
        ``claim_value`` (the pitched monthly gross checked in the last month) and ``autoship``
        (where its slider starts), with the defaults of :func:`income_outlook`, which they are
        passed to.

    Returns
    -------
    Explorer
        Sliders for the plan (unilevel rates scaled, retail margin, autoship, monthly and
        starter fee) and the organisation (contacts per month, sign-up rate, quit rate). Its
        headless twin is :func:`income_outlook`. In exported HTML the unilevel scale, contacts
        and quit rate step through results computed in advance.
    """
    from toolkit.growth import GrowthParams
    from toolkit.income.plan import CompensationPlan

    plan = CompensationPlan.unilevel_example() if plan is None else plan
    if data is not None:
        from toolkit.growth.calibration import fit_recruitment

        base = fit_recruitment(data)
    else:
        base = params if params is not None else GrowthParams()
    p = base.as_dict()
    # the slider-free options take income_outlook's defaults: one home for them
    chosen = inspect.signature(income_outlook).bind(None, None, **options)
    chosen.apply_defaults()
    fixed = {k: v for k, v in chosen.arguments.items() if k not in ("params", "plan", "autoship")}
    controls = [
        Control(
            "unilevel_scale", "Unilevel rates (x the plan's)", 1.0, 0.0, 3.0, 0.25,
            static_values=(0.0, 1.0, 2.0), fmt="0[.]00",
        ),
        Control("retail_margin", "Retail margin", plan.retail_margin, 0.0, 0.5, 0.05,
                static=False, fmt="0%"),
        Control("autoship", "Own autoship a month ($)", chosen.arguments["autoship"], 0.0,
                300.0, 10.0, static=False),
        Control("monthly_fee", "Monthly fee ($)", plan.monthly_fee, 0.0, 100.0, 0.05,
                static=False),
        Control("starter_fee", "Starter fee ($)", plan.starter_fee, 0.0, 500.0, 1.0,
                static=False),
        Control(
            "contacts_per_rep_per_month", "Contacts per rep per month",
            min(p["contacts_per_rep_per_month"], 15.0), 0.0, 15.0, 0.25,
            static_values=(2.0, 4.0, 8.0),
        ),
        Control("contact_to_rep", "Contacts who sign up", min(p["contact_to_rep"], 0.3), 0.0,
                0.3, 0.005, static=False, fmt="0.0%"),
        Control(
            "monthly_attrition", "Reps quitting per month", min(p["monthly_attrition"], 0.3),
            0.0, 0.3, 0.01, static_values=(0.04, 0.08, 0.15), fmt="0%",
        ),
    ]  # fmt: skip
    story = GrowthParams.five_thousand_story()
    presets = [
        Preset(
            "A typical participant",
            {"contacts_per_rep_per_month": 4.0, "contact_to_rep": 0.02, "monthly_attrition": 0.08},
        ),
        Preset(
            "The 5,000-in-a-year story",
            {
                # the story's recruits per rep-month, with this organisation's leaders (who
                # approach leader_multiplier times more people)
                "contacts_per_rep_per_month": round(
                    story.contacts_per_rep_per_month
                    / (1 - base.leader_share + base.leader_share * base.leader_multiplier),
                    2,
                ),
                "contact_to_rep": story.contact_to_rep,
                "monthly_attrition": 0.0,
            },
        ),
    ]
    organisation = ("contacts_per_rep_per_month", "contact_to_rep", "monthly_attrition")

    def compute(**values):
        org = {k: values.pop(k) for k in organisation}
        autoship = values.pop("autoship")
        params, scaled = base.replace(**org), scaled_plan(plan, **values)
        try:
            return income_outlook(params, scaled, autoship=autoship, **fixed)
        except TooLargeToPay as err:  # the page says so instead of paying
            return unpaid_outlook(params, scaled, str(err))

    return Explorer(
        "income_explorer",
        "Income: what the typical participant earns, spends and keeps",
        controls,
        compute,
        _figure,
        presets=presets,
        state=_state,
        note=f"{fixed['runs']:,} simulated organisations over {fixed['months']} months, paid by "
        f"{plan.name}; "
        "every participant counts, those who earned nothing and those who quit included.",
    )
