"""Money: compensation plans, commissions, what participants earn and spend, the disclosure.

- :mod:`~toolkit.income.plan`: :class:`CompensationPlan`, :class:`Rank` and two illustrative presets.
- :mod:`~toolkit.income.commissions`: :func:`commissions`, the plan applied to a genealogy and orders.
- :mod:`~toolkit.income.earnings`: :func:`participant_income`, earnings net of what participants spend.
- :mod:`~toolkit.income.disclosure`: :func:`income_disclosure` and :func:`earnings_claim_check`.
- :mod:`~toolkit.income.health`: :func:`plan_health`, where a plan's money comes from.
"""

# the function names bind after their modules are imported, so toolkit.income.commissions is
# the function (the module stays reachable through sys.modules)
from toolkit.income.commissions import commissions
from toolkit.income.disclosure import earnings_claim_check, income_disclosure
from toolkit.income.earnings import participant_income
from toolkit.income.health import plan_health
from toolkit.income.plan import CompensationPlan, Rank

__all__ = [
    "CompensationPlan",
    "Rank",
    "commissions",
    "earnings_claim_check",
    "income_disclosure",
    "participant_income",
    "plan_health",
]
