"""Moved to :mod:`toolkit.cohorts.retention`; this name stays so that existing imports work."""

from toolkit.cohorts.retention import BoundaryWarning, ShiftedBetaGeometric

__all__ = ["BoundaryWarning", "ShiftedBetaGeometric"]
