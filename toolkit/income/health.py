"""Placeholder (work in progress)."""


def plan_health(*args, **kwargs):
    raise NotImplementedError
