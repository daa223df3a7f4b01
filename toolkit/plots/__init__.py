"""Bokeh figure builders. Each takes a computed tidy frame or result object and never computes.

Every builder returns a ``bokeh.plotting.figure`` (or a Bokeh layout) whose figures and data
sources carry a ``name=`` so that browser tests can find them.
"""

from importlib import import_module

# Public name -> module that defines it, imported on first use.
_LAZY = {
    "funnel": "toolkit.plots.funnel_plots",
    "time_to_convert": "toolkit.plots.funnel_plots",
    "conversion_trend": "toolkit.plots.funnel_plots",
    "funnel_outlook_figure": "toolkit.plots.funnel_plots",
    "cohort_heatmap": "toolkit.plots.cohort_plots",
    "retention_curves": "toolkit.plots.cohort_plots",
    "member_mix": "toolkit.plots.cohort_plots",
    "odds_ratios": "toolkit.plots.lead_quality_plots",
    "conversion_by_type": "toolkit.plots.lead_quality_plots",
    "price_quality": "toolkit.plots.lead_quality_plots",
    "cost_per_customer": "toolkit.plots.lead_quality_plots",
    "budget_outlook_figure": "toolkit.plots.lead_quality_plots",
    "growth_fan": "toolkit.plots.growth_plots",
    "participant_outcomes": "toolkit.plots.growth_plots",
    "tornado": "toolkit.plots.growth_plots",
    "growth_outlook_figure": "toolkit.plots.growth_plots",
    "income_outlook_figure": "toolkit.plots.income_explorer_plots",
    "volume_by_level": "toolkit.plots.downline_plots",
    "income_distribution": "toolkit.plots.income_plots",
    "income_by_rank": "toolkit.plots.income_plots",
    "commission_lorenz": "toolkit.plots.income_plots",
    "disclosure_table": "toolkit.plots.income_plots",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'toolkit.plots' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_LAZY})
