"""MLM Funnel Toolkit: funnels, cohorts, lead quality and duplication what-ifs for CRM exports.

The data layer is imported eagerly (pandas and numpy only). Everything else is loaded on first
use, so ``import toolkit`` stays fast and never pulls in Bokeh, ipywidgets, statsmodels or Jupyter.
"""

from importlib import import_module

from toolkit.datasets import generate_sample, load_sample, read_crm, write_crm
from toolkit.schema import LEAD_TYPES, ROLES, STAGES, CRMData, DataError, validate

__version__ = "0.1.0"

# Public name -> module that defines it, imported on first attribute access.
_LAZY = {
    # funnels (issue: funnel analytics)
    "funnel_table": "toolkit.funnel.table",
    "time_to_convert": "toolkit.funnel.survival",
    "conversion_trend": "toolkit.funnel.trend",
    "compare_segments": "toolkit.funnel.compare",
    "expected_range": "toolkit.rates",
    # cohorts and retention
    "cohort_table": "toolkit.cohorts.table",
    "cohort_matrix": "toolkit.cohorts.table",
    "pool_cohorts": "toolkit.cohorts.table",
    "member_mix": "toolkit.cohorts.mix",
    "role_transitions": "toolkit.cohorts.transitions",
    "project_cohorts": "toolkit.cohorts.projection",
    "ShiftedBetaGeometric": "toolkit.cohorts.retention",
    # lead quality
    "LeadQualityModel": "toolkit.lead_quality.model",
    "lead_budget": "toolkit.lead_quality.budget",
    "best_mix": "toolkit.lead_quality.budget",
    "leads_needed": "toolkit.lead_quality.compare",
    "compare_sources": "toolkit.lead_quality.compare",
    # growth and downline
    "GrowthParams": "toolkit.growth.params",
    "project_growth": "toolkit.growth.projection",
    "simulate_growth": "toolkit.growth.simulation",
    "claim_check": "toolkit.growth.claims",
    "sales_vs_network": "toolkit.growth.claims",
    "sensitivity": "toolkit.growth.claims",
    "goal_seek": "toolkit.growth.claims",
    "fit_recruitment": "toolkit.growth.calibration",
    "simulate_income": "toolkit.growth.income",
    "downline": "toolkit.genealogy",  # not toolkit.downline: a submodule import would shadow the function
    "volume_by_level": "toolkit.genealogy",
    # money (issue 14); the defining modules, since toolkit.income.commissions is also a module
    "CompensationPlan": "toolkit.income.plan",
    "Rank": "toolkit.income.plan",
    "commissions": "toolkit.income.commissions",
    "participant_income": "toolkit.income.earnings",
    "income_disclosure": "toolkit.income.disclosure",
    "earnings_claim_check": "toolkit.income.disclosure",
    "plan_health": "toolkit.income.health",
}
_SUBPACKAGES = {"plots", "explorers"}

__all__ = [
    "CRMData",
    "DataError",
    "LEAD_TYPES",
    "ROLES",
    "STAGES",
    "generate_sample",
    "load_sample",
    "read_crm",
    "validate",
    "write_crm",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
    elif name in _SUBPACKAGES:
        value = import_module(f"toolkit.{name}")
    else:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_LAZY, *_SUBPACKAGES})
