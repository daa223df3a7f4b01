"""Lead quality versus conversion: which kinds of lead become customers, reps and leaders, what a
customer costs when leads are bought, and what a budget buys.

Modules: ``aggregate`` (leads reduced to counts per covariate pattern by their own engine),
``design`` (the design matrix and the GLM fit on those counts), ``model``
(:class:`LeadQualityModel`), ``budget`` (:func:`lead_budget`, :func:`best_mix`, :func:`linear_terms`), ``outlook``
(:func:`budget_outlook`, the lead budget explorer's headless twin), ``compare``
(:func:`compare_sources`, :func:`leads_needed`).
"""

from toolkit.lead_quality.aggregate import aggregate_leads
from toolkit.lead_quality.budget import (
    LinearTerms,
    best_mix,
    check_fitted,
    lead_budget,
    linear_terms,
)
from toolkit.lead_quality.compare import compare_sources, leads_needed
from toolkit.lead_quality.design import MIN_EVENTS_PER_TERM
from toolkit.lead_quality.model import (
    BUDGET_OUTCOMES,
    MISSING_LEVEL,
    OUTCOMES,
    LeadQualityModel,
    ModelCheckWarning,
)
from toolkit.lead_quality.outlook import BudgetOutlook, budget_outlook

__all__ = [
    "BUDGET_OUTCOMES",
    "BudgetOutlook",
    "MIN_EVENTS_PER_TERM",
    "MISSING_LEVEL",
    "OUTCOMES",
    "LeadQualityModel",
    "LinearTerms",
    "ModelCheckWarning",
    "aggregate_leads",
    "best_mix",
    "budget_outlook",
    "check_fitted",
    "compare_sources",
    "lead_budget",
    "leads_needed",
    "linear_terms",
]
