"""What a number of contacts should give at each step of a funnel (:func:`funnel_outlook`), the
headless twin of the funnel explorer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.results import FieldReads

#: The steps of the default funnel (one person's contacts to customers).
DEFAULT_STEPS = ("contact", "lead", "prospect", "customer")


@dataclass(frozen=True)
class FunnelOutlook(FieldReads):
    """What ``contacts`` people entering a funnel should give (made by :func:`funnel_outlook`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per step: ``step``, ``step_index``, ``conversion_from_previous``,
        ``conversion_from_start``, ``expected``, ``likely_lower``, ``likely_upper``, ``probability_of_none``,
        ``level``, ``contacts`` (see :func:`funnel_outlook`).
    contacts : int
        People entering the first step.
    level : float
        Probability that each range holds the count.
    rate_trials : int or None
        Leads the rates were measured on (None: taken as known).

    ``outlook["table"]`` reads a field like a dict key.
    """

    table: pd.DataFrame
    contacts: int
    level: float
    rate_trials: int | None

    @property
    def last(self) -> pd.Series:
        """The goal step's row of ``table``."""
        return self.table.iloc[-1]

    def _repr_html_(self) -> str:
        return "<p><b>FunnelOutlook</b></p>" + self.table.to_html(index=False)


def funnel_outlook(
    rates: Sequence[float],
    contacts: int,
    *,
    steps: Sequence[str] = DEFAULT_STEPS,
    level: float = 0.9,
    rate_trials: int | None = None,
) -> FunnelOutlook:
    """What ``contacts`` people entering a funnel should give at each step, with a range.

    The headless twin of :func:`toolkit.explorers.funnel_explorer`.

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
    FunnelOutlook
        ``table`` holds one row per step:

        - ``step``, ``step_index``: label and position (0 = entry).
        - ``conversion_from_previous``: the rate given (NaN at the first step).
        - ``conversion_from_start``: product of the rates so far (1 at the first step).
        - ``expected``: ``contacts x conversion_from_start``.
        - ``likely_lower``, ``likely_upper``: the central range holding the count with
          probability ``level``.
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
                "likely_lower": r.likely_lower,
                "likely_upper": r.likely_upper,
                "probability_of_none": r.probability_of_at_most(0),
                "level": level,
                "contacts": contacts,
            }
        )
    return FunnelOutlook(
        table=pd.DataFrame(rows), contacts=contacts, level=level, rate_trials=rate_trials
    )
