"""Lead quality versus conversion: which kinds of lead become customers, reps and leaders, what a
customer costs when leads are bought, and what a budget buys.

Modules: ``aggregate`` (leads reduced to counts per covariate pattern by their own engine),
``design`` (the design matrix and the GLM fit on those counts), ``model``
(:class:`LeadQualityModel`), ``budget`` (:func:`lead_budget`, :func:`best_mix`), ``compare``
(:func:`compare_sources`, :func:`leads_needed`).
"""

from toolkit.lead_quality.aggregate import aggregate_leads
from toolkit.lead_quality.budget import _check_fitted as _check_fitted  # the budget explorer's
from toolkit.lead_quality.budget import best_mix, lead_budget
from toolkit.lead_quality.compare import compare_sources, leads_needed
from toolkit.lead_quality.design import MIN_EVENTS_PER_TERM
from toolkit.lead_quality.model import (
    BUDGET_OUTCOMES,
    MISSING_LEVEL,
    OUTCOMES,
    LeadQualityModel,
    ModelCheckWarning,
)

__all__ = [
    "BUDGET_OUTCOMES",
    "MIN_EVENTS_PER_TERM",
    "MISSING_LEVEL",
    "OUTCOMES",
    "LeadQualityModel",
    "ModelCheckWarning",
    "aggregate_leads",
    "best_mix",
    "compare_sources",
    "lead_budget",
    "leads_needed",
]
