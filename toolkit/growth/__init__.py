"""Duplication what-ifs: the expected curve, Monte Carlo outcomes, claim checks, calibration.

The model, month by month (month 0 is the start):

1. Every active rep approaches contacts: Poisson with mean ``contacts_per_rep_per_month`` times
   the rep's lasting effort (gamma, mean 1, shape ``recruit_dispersion``) times
   ``leader_multiplier`` for leaders. This is :mod:`toolkit.recruiting`, the same mechanism the
   sample-world generator uses. A rep stops once they have approached ``warm_market_size``
   people (everyone they know).
2. With a finite ``market_size`` a contact reaches someone nobody has approached yet with
   probability remaining / market_size; only such fresh people can say yes, and once approached
   they leave the market whatever they answer (a town canvassed end to end).
3. A fresh contact becomes a rep with probability ``contact_to_rep`` (a leader with probability
   ``leader_share`` of that), or else a customer with probability ``contact_to_customer``.
4. At the end of the month each rep who was active quits with probability ``monthly_attrition``
   and each customer stops buying with probability ``customer_attrition``; the month's newcomers
   start next month.

:func:`project_growth` follows the expected values of that process; :func:`simulate_growth`
draws it many times (counts of reps per run, join month and leader flag, so a run of millions
costs what a run of ten does) and, on request, one participant at a time for per-participant
outcomes (who recruited whom, downline sizes).

Where each piece lives:

- :mod:`toolkit.growth.params`: :class:`GrowthParams` and its presets.
- :mod:`toolkit.growth.projection`: :func:`project_growth` (the expected path).
- :mod:`toolkit.growth.simulation`: :func:`simulate_growth`, :class:`GrowthSimulation`.
- :mod:`toolkit.growth.participants`: one participant at a time (who recruited whom),
  :func:`outcome_distribution`, :func:`gini`.
- :mod:`toolkit.growth.claims`: :func:`claim_check` (:class:`ClaimCheck`),
  :func:`sales_vs_network`, :func:`sensitivity`, :func:`goal_seek`.
- :mod:`toolkit.growth.outlook`: :func:`growth_outlook` (:class:`GrowthOutlook`), the headless
  twin of the growth explorer.
- :mod:`toolkit.growth.calibration`: :func:`fit_recruitment` (:class:`RecruitmentFit`).
- :mod:`toolkit.growth.organisation`: simulated runs as data in the contract
  (``GrowthSimulation.as_data``), for the one commission engine.
- :mod:`toolkit.growth.income`: :func:`simulate_income` (:class:`SimulatedIncome`), simulated
  organisations paid by a compensation plan; :mod:`toolkit.growth.income_figures` its
  figures (:class:`TypicalIncome`, :class:`IncomeClaim`) with runs as clusters.
"""

from toolkit.growth.calibration import RecruitmentFit, fit_recruitment
from toolkit.growth.claims import ClaimCheck, claim_check, goal_seek, sales_vs_network, sensitivity
from toolkit.growth.income import SimulatedIncome, simulate_income
from toolkit.growth.income_figures import IncomeClaim, TypicalIncome
from toolkit.growth.outlook import GrowthOutlook, growth_outlook
from toolkit.growth.params import DAYS_PER_MONTH, MAX_PEOPLE, PARAM_NAMES, GrowthParams
from toolkit.growth.participants import gini, outcome_distribution
from toolkit.growth.projection import PATH_COLUMNS, project_growth
from toolkit.growth.simulation import GrowthSimulation, simulate_growth

__all__ = [
    "ClaimCheck",
    "DAYS_PER_MONTH",
    "GrowthOutlook",
    "GrowthParams",
    "GrowthSimulation",
    "IncomeClaim",
    "MAX_PEOPLE",
    "PARAM_NAMES",
    "PATH_COLUMNS",
    "RecruitmentFit",
    "claim_check",
    "fit_recruitment",
    "gini",
    "goal_seek",
    "growth_outlook",
    "outcome_distribution",
    "project_growth",
    "sales_vs_network",
    "SimulatedIncome",
    "TypicalIncome",
    "sensitivity",
    "simulate_growth",
    "simulate_income",
]
