"""The parameters of a duplication what-if (:class:`GrowthParams`) and its named presets."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from toolkit.schema import NOT_SHOWN

DAYS_PER_MONTH = 30.4375  # 365.25 / 12: the month used to turn dates into months and back
#: The most people any count of the model may reach (starting reps, a market, a month's
#: contacts): 100,000 times the world's population, far below where int64 counts and numpy's
#: Poisson sampler (means up to about 9e18) break. A what-if beyond it is not a forecast.
MAX_PEOPLE = 10**15
#: The heaviest tail of recruiting effort (smallest gamma shape) the model accepts.
MIN_DISPERSION = 0.01


@dataclass(frozen=True)
class GrowthParams:
    """Parameters of a duplication what-if. The defaults describe a typical participant.

    Parameters
    ----------
    starting_reps : int
        Reps at month 0 (you alone: 1).
    contacts_per_rep_per_month : float
        People an ordinary (non-leader) rep approaches in a month. Default 4, about one a week.
    contact_to_rep : float
        Share of fresh contacts who sign up as reps. Default 0.02.
    contact_to_customer : float
        Share of fresh contacts who become customers (and not reps). Default 0.03, the national
        average for bought leads (000).
    leader_share : float
        Share of new reps who become leaders (reps who duplicate). Default 0.2 (5 of 25 in 001).
    leader_multiplier : float
        A leader approaches this many times more contacts than an ordinary rep. Default 3.
    monthly_attrition : float
        Chance an active rep quits in a given month. Default 0.08 (about 63% gone within a year).
    customer_attrition : float
        Chance a customer stops buying in a given month. Default 0.05.
    warm_market_size : float or None
        People one rep can approach in a lifetime (about 150 people one knows). None (or
        ``inf``): no limit.
    market_size : int or None
        People reachable in all (a town), at most ``MAX_PEOPLE`` (10**15). None (or ``inf``):
        unlimited.
    recruit_dispersion : float
        Negative-binomial shape of recruiting effort: small means a heavy tail (most recruit
        nobody, a few recruit many), at least 0.01; ``inf`` means everyone makes the same
        effort. Default 0.5.

    Named presets: :meth:`typical`, :meth:`five_thousand_story` (the "5,000 in a year" pitch of
    seed article 001) and :meth:`saturated_town`; ``GrowthParams.preset(name)`` looks them up by
    name (:attr:`PRESETS`). ``story_001`` is a deprecated alias of ``five_thousand_story``.
    Out-of-range values raise ``ValueError`` naming the field and its allowed range.
    """

    starting_reps: int = 1
    contacts_per_rep_per_month: float = 4.0
    contact_to_rep: float = 0.02
    contact_to_customer: float = 0.03
    leader_share: float = 0.2
    leader_multiplier: float = 3.0
    monthly_attrition: float = 0.08
    customer_attrition: float = 0.05
    warm_market_size: float | None = 150.0
    market_size: int | None = None
    recruit_dispersion: float = 0.5
    #: The calibration behind parameters made by :func:`fit_recruitment` (None otherwise).
    fit: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        def bad(name, rule):
            raise ValueError(f"GrowthParams.{name} must be {rule}, got {getattr(self, name)!r}")

        def number(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                bad(name, "a number")
            if math.isnan(value):
                bad(name, "a number")
            return float(value)

        s = number("starting_reps")
        if not 1 <= s <= MAX_PEOPLE or s != int(s):
            bad("starting_reps", f"a whole number from 1 to {MAX_PEOPLE:.0e}")
        object.__setattr__(self, "starting_reps", int(s))
        for name in (
            "contact_to_rep",
            "contact_to_customer",
            "leader_share",
            "monthly_attrition",
            "customer_attrition",
        ):
            if not 0 <= number(name) <= 1:
                bad(name, "a probability between 0 and 1")
        if self.contact_to_rep + self.contact_to_customer > 1:
            raise ValueError(
                "GrowthParams.contact_to_rep + contact_to_customer must be at most 1 (a contact "
                f"becomes a rep or a customer, not both), got {self.contact_to_rep} + "
                f"{self.contact_to_customer}"
            )
        for name in ("contacts_per_rep_per_month", "leader_multiplier"):
            if not 0 <= number(name) < math.inf:
                bad(name, "a finite number >= 0")
        if not number("recruit_dispersion") >= MIN_DISPERSION:
            bad(
                "recruit_dispersion",
                f">= {MIN_DISPERSION} (use inf for no heterogeneity; below it the effort "
                "distribution is all but a point mass at zero and cannot be averaged)",
            )
        # inf is how a number says "no limit": the same as None, not a count to allocate
        if self.warm_market_size is not None:
            if not 0 < number("warm_market_size"):
                bad("warm_market_size", "> 0, or None / inf (no limit)")
            if math.isinf(self.warm_market_size):
                object.__setattr__(self, "warm_market_size", None)
        if self.market_size is not None:
            m = number("market_size")
            if math.isinf(m) and m > 0:
                object.__setattr__(self, "market_size", None)
            elif not self.starting_reps <= m <= MAX_PEOPLE or m != int(m):
                bad(
                    "market_size",
                    f"a whole number from starting_reps ({self.starting_reps}) to "
                    f"{MAX_PEOPLE:.0e}, or None / inf (unlimited)",
                )
            else:
                object.__setattr__(self, "market_size", int(m))

    # presets ------------------------------------------------------------------------------
    @classmethod
    def typical(cls, **changes) -> GrowthParams:
        """A typical participant (the defaults): about one contact a week, 2 in 100 contacts
        sign up, most quit within a year, a heavy-tailed effort, 150 people known."""
        return cls(**changes)

    @classmethod
    def five_thousand_story(cls, **changes) -> GrowthParams:
        """The "5,000 in a year" pitch of seed article 001 applied to every recruit: about 150
        cold leads approached over 2 years (6.25 a month), 25 recruited (1 in 6), 5 of them
        leaders, and 001's good sales result of 10 customers per 1,000 leads for the rest; each
        recruit does the same, nobody quits, no limit on whom they can reach, everyone equally
        keen. The expected organisation after 12 months is about 5,000 reps, the number the
        story pitches; the article itself says this is not typical."""
        base = dict(
            starting_reps=1,
            contacts_per_rep_per_month=150 / 24,
            contact_to_rep=25 / 150,
            contact_to_customer=0.01,
            leader_share=5 / 25,
            leader_multiplier=1.0,
            monthly_attrition=0.0,
            customer_attrition=0.0,
            warm_market_size=None,
            market_size=None,
            recruit_dispersion=math.inf,
        )
        return cls(**{**base, **changes})

    @classmethod
    def story_001(cls, **changes) -> GrowthParams:
        """Deprecated alias of :meth:`five_thousand_story` (kept for one release)."""
        _deprecated_story()
        return cls.five_thousand_story(**changes)

    @classmethod
    def saturated_town(cls, **changes) -> GrowthParams:
        """The 5,000 story's recruiting in a town of 20,000 people: everyone gets approached
        within about a year and growth stops well short of 5,000."""
        return cls.five_thousand_story(**{"market_size": 20_000, **changes})

    #: Names accepted by :meth:`preset` (``"story_001"`` too, deprecated).
    PRESETS = ("typical", "five_thousand_story", "saturated_town")

    @classmethod
    def preset(cls, name: str, **changes) -> GrowthParams:
        """A named preset: ``"typical"``, ``"five_thousand_story"`` or ``"saturated_town"``
        (``"story_001"`` is a deprecated alias of ``"five_thousand_story"``)."""
        if name == "story_001":
            _deprecated_story()
            name = "five_thousand_story"
        if name not in cls.PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(cls.PRESETS)}")
        return getattr(cls, name)(**changes)

    def replace(self, **changes) -> GrowthParams:
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (without ``fit``)."""
        out = asdict(self)
        out.pop("fit")
        return out

    @property
    def monthly_growth_factor(self) -> float:
        """Active reps next month over this month while nothing limits growth."""
        return (
            1
            - self.monthly_attrition
            + self.contacts_per_rep_per_month
            * self.contact_to_rep
            * (1 - self.leader_share + self.leader_share * self.leader_multiplier)
        )

    @property
    def summary(self) -> pd.DataFrame:
        """The parameters as a one-column table (``value``, indexed by ``parameter``)."""
        return pd.DataFrame({"value": pd.Series(self.as_dict(), dtype=object)}).rename_axis(
            "parameter"
        )

    def _repr_html_(self) -> str:
        return "<p><b>GrowthParams</b></p>" + self.summary.to_html(na_rep=NOT_SHOWN)


PARAM_NAMES = tuple(f.name for f in fields(GrowthParams) if f.name != "fit")


def _deprecated_story() -> None:
    warnings.warn(
        "GrowthParams.story_001 is renamed five_thousand_story (the preset name too); "
        "story_001 will be removed in the next release",
        DeprecationWarning,
        stacklevel=3,
    )


def as_params(params) -> GrowthParams:
    """``params`` as :class:`GrowthParams`: None gives the defaults, a dict of its fields is
    validated like the constructor; anything else raises ``ValueError`` saying what is accepted.
    """
    if params is None:
        return GrowthParams()
    if isinstance(params, GrowthParams):
        return params
    if isinstance(params, Mapping):
        unknown = sorted(set(map(str, params)) - set(PARAM_NAMES))
        if unknown:
            raise ValueError(
                f"params: unknown GrowthParams field(s) {unknown}; the fields are "
                f"{', '.join(PARAM_NAMES)}"
            )
        return GrowthParams(**params)
    raise ValueError(
        "params must be a GrowthParams (for example GrowthParams.preset(name) with name one of "
        f"{', '.join(GrowthParams.PRESETS)}), a dict of its fields or None, "
        f"got {type(params).__name__}"
    )
