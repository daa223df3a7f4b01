"""Placeholder (work in progress)."""


def income_disclosure(*args, **kwargs):
    raise NotImplementedError


def earnings_claim_check(*args, **kwargs):
    raise NotImplementedError
