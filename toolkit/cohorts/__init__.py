"""Cohorts: who is still active, still ordering and still spending, by the period they joined.

Every censoring decision is taken against ``as_of``: a cohort cell whose period has not fully
elapsed is *unknown* (``complete=False``, rate NaN), never 0%. Results come back as the kind of
frame that came in; large pandas inputs are handed to Polars internally
(:func:`toolkit.frames.hand_off`).

Modules: ``_cells`` (the engine plan), ``table`` (:func:`cohort_table`, :func:`cohort_matrix`,
:func:`pool_cohorts`), ``projection`` (:func:`project_cohorts`), ``retention`` (the
shifted-beta-geometric model, :class:`~toolkit.cohorts.retention.ShiftedBetaGeometric`; loaded
on use, it needs SciPy), ``mix`` (:func:`member_mix`), ``transitions`` (:func:`role_transitions`).
"""

from toolkit.cohorts.mix import member_mix
from toolkit.cohorts.projection import project_cohorts
from toolkit.cohorts.table import (
    CELL_COLUMNS,
    DESCRIPTION_COLUMNS,
    METRICS,
    REFERENCES,
    cohort_matrix,
    cohort_table,
    pool_cohorts,
)
from toolkit.cohorts.transitions import role_transitions

__all__ = [
    "CELL_COLUMNS",
    "DESCRIPTION_COLUMNS",
    "METRICS",
    "REFERENCES",
    "cohort_matrix",
    "cohort_table",
    "member_mix",
    "pool_cohorts",
    "project_cohorts",
    "role_transitions",
]
