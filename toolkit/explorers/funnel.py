"""Funnel explorer: stage rates and a number of contacts to expected counts per stage, with the
range one person should expect (:func:`toolkit.rates.expected_range`)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.explorers.core import Control, Explorer
from toolkit.frames import to_pandas as _to_pandas

DEFAULT_STEPS = ("contact", "lead", "prospect", "customer")
# 100 names give about 50 info requests (003); contact to customer then about 3 in 100 (000).
DEFAULT_RATES = (0.5, 0.3, 0.2)
CONTACT_STEPS = (25, 50, 100, 150, 250, 500, 1000)
SMALL_DATA = 1000
RATE_STEPS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def funnel_outlook(
    rates: Sequence[float],
    contacts: int,
    *,
    steps: Sequence[str] = DEFAULT_STEPS,
    level: float = 0.9,
    rate_trials: int | None = None,
) -> pd.DataFrame:
    """What ``contacts`` people entering a funnel should give at each step, with a range.

    The headless twin of :func:`funnel_explorer`.

    Parameters
    ----------
    rates : sequence of float
        Conversion from the previous step, one per step after the first (``len(steps) - 1``).
    contacts : int
        People entering the first step.
    steps : sequence of str
        Step labels, in funnel order.
    level : float
        Probability that each range holds the count (0.9: a 90% range).
    rate_trials : int, optional
        Leads the rates were measured on. None takes the rates as known (binomial ranges);
        a number widens the ranges by the rates' own uncertainty (beta-binomial).

    Returns
    -------
    pandas.DataFrame
        One row per step:

        - ``step``, ``step_index``: label and position (0 = entry).
        - ``conversion_from_previous``: the rate given (NaN at the first step).
        - ``conversion_from_start``: product of the rates so far (1 at the first step).
        - ``expected``: ``contacts x conversion_from_start``.
        - ``lower``, ``upper``: the central range holding the count with probability ``level``.
        - ``probability_of_none``: chance that nobody reaches the step.
        - ``level``, ``contacts``: the question asked.
    """
    from toolkit.rates import expected_range

    steps = [str(s) for s in steps]
    rates = [float(r) for r in rates]
    if len(rates) != len(steps) - 1:
        raise ValueError(
            f"need {len(steps) - 1} rates (one per step after {steps[0]!r}), got {len(rates)}"
        )
    for step, rate in zip(steps[1:], rates, strict=True):
        if not 0 <= rate <= 1:
            raise ValueError(f"rate into {step!r} must lie in [0, 1], got {rate}")
    if isinstance(contacts, bool) or int(contacts) != contacts or contacts < 0:
        raise ValueError(f"contacts must be a whole number >= 0, got {contacts!r}")
    contacts = int(contacts)
    from_start = np.cumprod([1.0, *rates])
    rows = []
    for i, (step, p) in enumerate(zip(steps, from_start, strict=True)):
        r = expected_range(contacts, float(p), level=level, rate_trials=rate_trials if i else None)
        rows.append(
            {
                "step": step,
                "step_index": i,
                "conversion_from_previous": rates[i - 1] if i else np.nan,
                "conversion_from_start": float(p),
                "expected": r.expected,
                "lower": r.lower,
                "upper": r.upper,
                "probability_of_none": r.probability_of_at_most(0),
                "level": level,
                "contacts": contacts,
            }
        )
    return pd.DataFrame(rows)


def _sources(outlook: pd.DataFrame) -> dict[str, dict]:
    """Plot columns of the outlook (labels are formatting, not computation)."""
    from toolkit.plots.style import source_data

    frame = outlook[["step", "expected", "lower", "upper", "probability_of_none"]].copy()
    frame["label"] = [
        f"{e:,.1f} ({lo:,}–{hi:,})"
        for e, lo, hi in zip(frame["expected"], frame["lower"], frame["upper"], strict=True)
    ]
    frame["top"] = frame["upper"].astype(float)
    return {"funnel_explorer_source": source_data(frame)}


def _readout(outlook: pd.DataFrame) -> str:
    last = outlook.iloc[-1]
    return (
        f"Out of <b>{int(last['contacts']):,}</b> {html.escape(str(outlook['step'].iloc[0]))}s, "
        f"expect about <b>{last['expected']:,.1f}</b> to reach {html.escape(str(last['step']))}; "
        f"{last['level']:.0%} of the time between <b>{int(last['lower']):,}</b> and "
        f"<b>{int(last['upper']):,}</b>. Chance of none: <b>{last['probability_of_none']:.0%}</b>."
    )


def _state(outlook: pd.DataFrame) -> dict:
    state = {name: {"data": data} for name, data in _sources(outlook).items()}
    state["funnel_explorer_readout"] = {"text": _readout(outlook)}
    return state


def plot_outlook(outlook: pd.DataFrame):
    """Bars of expected counts per step with their range (whiskers); draws, never computes."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, Div, FactorRange, LabelSet, Whisker

    from toolkit.plots.style import OBSERVED, new_figure

    source = ColumnDataSource(
        _sources(outlook)["funnel_explorer_source"], name="funnel_explorer_source"
    )
    steps = [str(s) for s in outlook["step"]]
    fig = new_figure(
        "funnel_explorer_figure",
        x_range=FactorRange(*steps, name="funnel_explorer_steps"),
        title="Expected people at each step, with the range to expect",
        y_axis_label="people",
        tools="save",
    )
    fig.vbar(x="step", top="expected", width=0.6, source=source, color=OBSERVED, alpha=0.8)
    fig.add_layout(
        Whisker(base="step", lower="lower", upper="upper", source=source, line_width=1.5)
    )
    fig.add_layout(
        LabelSet(
            x="step",
            y="top",
            text="label",
            source=source,
            y_offset=4,
            text_align="center",
            text_font_size="10pt",
        )
    )
    fig.y_range.start = 0
    fig.y_range.range_padding = 0.12  # room for the labels above the tallest bar
    fig.xgrid.grid_line_color = None
    readout = Div(text=_readout(outlook), name="funnel_explorer_readout")
    return column(readout, fig, sizing_mode="stretch_width")


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
    # The static grid: contacts and the last rate (into the goal step): the two a trainer moves.
    # (With rates measured on few leads each state costs a beta-binomial interval, ~0.1 s.)
    static_rates = {len(rates) - 1}
    controls = [
        Control(
            "contacts",
            "Contacts",
            int(contacts),
            10,
            max(1000, int(contacts)),
            10,
            integer=True,
            static_values=CONTACT_STEPS,
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
                static=i in static_rates,
                static_values=RATE_STEPS,
                fmt="0%",
            )
        )
    controls.append(
        Control(
            "rate_trials",
            "Rates measured on",
            default_trials,
            options=tuple((v, label) for label, v in trials_options),
            static=False,
        )
    )

    def compute(contacts, rate_trials, **rate_values):
        ordered = [rate_values[f"rate_{i}"] for i in range(len(steps) - 1)]
        return funnel_outlook(
            ordered, contacts, steps=steps, level=level, rate_trials=rate_trials or None
        )

    return Explorer(
        "funnel_explorer",
        "Funnel: what should my contacts give?",
        controls,
        compute,
        plot_outlook,
        state=_state,
        note="Bars: expected people; whiskers: the range that holds the count "
        f"{level:.0%} of the time. One person's numbers are small numbers.",
    )
