"""Funnel explorer: stage rates and a number of contacts to expected counts per stage, with the
range one person should expect (:func:`toolkit.rates.expected_range`)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.explorers.core import Control, Explorer, PageFormula
from toolkit.explorers.formulas import COMMON_JS, FUNNEL_JS
from toolkit.frames import to_pandas as _to_pandas
from toolkit.funnel.outlook import DEFAULT_STEPS, FunnelOutlook, funnel_outlook

# 100 names give about 50 info requests (003); contact to customer then about 3 in 100 (000).
DEFAULT_RATES = (0.5, 0.3, 0.2)
SMALL_DATA = 1000


def _state(outlook: FunnelOutlook) -> dict:
    from toolkit.plots.funnel_plots import funnel_outlook_data, funnel_outlook_readout

    state = {name: {"data": data} for name, data in funnel_outlook_data(outlook).items()}
    state["funnel_explorer_readout"] = {"text": funnel_outlook_readout(outlook)}
    return state


def _figure(outlook: FunnelOutlook):
    from toolkit.plots.funnel_plots import funnel_outlook_figure

    return funnel_outlook_figure(outlook)


def funnel_explorer(
    table: pd.DataFrame | None = None,
    *,
    contacts: int = 150,
    rates: Sequence[float] | Mapping[str, float] | None = None,
    steps: Sequence[str] | None = None,
    level: float = 0.9,
) -> Explorer:
    """What-if sliders for a funnel: how many of my contacts should reach each step?

    Parameters
    ----------
    table : DataFrame, optional
        A fitted :func:`toolkit.funnel_table` (one segment). Its steps and
        ``conversion_from_previous`` set the starting rates, and its ``eligible`` entrants
        become the "rates measured on" choice (their uncertainty widens the ranges).
    contacts : int
        People entering the funnel (default 150: about everyone one person knows).
    rates, steps
        Without a table: conversion from the previous step, one per step after the first.
        Defaults: contact, lead, prospect, customer at 50%, 30%, 20% (3 customers per 100).
    level : float
        Probability that each range holds the count.

    Returns
    -------
    Explorer
        Displays itself (live in JupyterLab and Voila, static in exported HTML). The headless
        twin is :func:`funnel_outlook`.
    """
    trials_options: list = [("known exactly", 0)]
    default_trials = 0
    if table is not None:
        frame = table if isinstance(table, pd.DataFrame) else _to_pandas(table)
        if frame["step"].duplicated().any():
            raise ValueError("funnel_explorer needs a funnel_table of one segment (no `by`)")
        frame = frame.sort_values("step_index")
        steps = [str(s) for s in frame["step"]]
        fitted = frame["conversion_from_previous"].to_numpy()[1:]
        if np.isnan(fitted).any():
            raise ValueError("the funnel table has steps without a rate (no lead counted yet)")
        rates = [float(r) for r in fitted]
        entrants = int(frame["eligible"].iloc[0])
        if entrants > 0:
            trials_options.append((f"the data's {entrants:,} leads", entrants))
        # Measured on few leads, a rate is itself uncertain and the ranges must say so; on
        # thousands the widening is negligible (and the beta-binomial is slow to tabulate).
        default_trials = entrants if 0 < entrants < SMALL_DATA else 0
    steps = list(steps or DEFAULT_STEPS)
    if rates is None:
        rates = DEFAULT_RATES
    if isinstance(rates, Mapping):
        rates = [rates[s] for s in steps[1:]]
    rates = [round(float(r), 4) for r in rates]
    if len(rates) != len(steps) - 1:
        raise ValueError(f"need {len(steps) - 1} rates, got {len(rates)}")
    controls = [
        Control(
            "contacts",
            "Contacts",
            int(contacts),
            10,
            max(1000, int(contacts)),
            10,
            integer=True,
            fmt="0,0",
        )
    ]
    for i, (step, rate) in enumerate(zip(steps[1:], rates, strict=True)):
        controls.append(
            Control(
                f"rate_{i}",
                f"{steps[i]} → {step}",
                rate,
                0.0,
                1.0,
                0.01,
                fmt="0.[0]%",
            )
        )
    controls.append(
        Control(
            "rate_trials",
            "Rates measured on",
            default_trials,
            options=tuple((v, label) for label, v in trials_options),
        )
    )

    def compute(contacts, rate_trials, **rate_values):
        ordered = [rate_values[f"rate_{i}"] for i in range(len(steps) - 1)]
        return funnel_outlook(
            ordered, contacts, steps=steps, level=level, rate_trials=rate_trials or None
        )

    # The exported page computes the product of rates and its range itself, for every slider.
    page = PageFormula(
        controls=tuple(c.name for c in controls),
        code=COMMON_JS + FUNNEL_JS,
        args=lambda values: {
            "steps": list(steps),
            "level": float(level),
            "first": html.escape(steps[0]),
            "goal": html.escape(steps[-1]),
        },
    )
    return Explorer(
        "funnel_explorer",
        "Funnel: what should my contacts give?",
        controls,
        compute,
        _figure,
        state=_state,
        note="Bars: expected people; whiskers: the range that holds the count "
        f"{level:.0%} of the time. One person's numbers are small numbers.",
        page=page,
    )
