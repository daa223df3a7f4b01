"""Placeholder (work in progress)."""


def participant_income(*args, **kwargs):
    raise NotImplementedError
