"""Funnels: ordered steps with conversion windows, censoring at ``as_of``, intervals, breakdowns,
time to convert and trends by entry period.

Censoring is the point of this package: a lead whose conversion window has not elapsed by
``as_of`` and that has not reached a step yet is *in progress* at that step, not lost, and by
default it is left out of the rates. Results come back as the same kind of frame as ``events``
(a lazy input gives a lazy result); large pandas inputs are handed to Polars internally
(:func:`toolkit.frames.hand_off`): pandas in, pandas out, a few times faster.

Modules: ``steps`` (what the caller writes), ``_plan`` (the per-lead engine query),
``table`` (:func:`funnel_table`), ``trend`` (:func:`conversion_trend`), ``compare``
(:func:`compare_segments`), ``survival`` (:func:`time_to_convert`, Kaplan-Meier).
"""

from toolkit.funnel.compare import compare_segments
from toolkit.funnel.steps import ORDERS, Step, parse_steps
from toolkit.funnel.survival import TimeToConvert, time_to_convert
from toolkit.funnel.table import TABLE_COLUMNS, funnel_table
from toolkit.funnel.trend import TREND_COLUMNS, conversion_trend

__all__ = [
    "ORDERS",
    "TABLE_COLUMNS",
    "TREND_COLUMNS",
    "Step",
    "TimeToConvert",
    "compare_segments",
    "conversion_trend",
    "funnel_table",
    "parse_steps",
    "time_to_convert",
]
