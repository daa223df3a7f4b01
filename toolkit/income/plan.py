"""Compensation plans: what a company pays on each order, to whom, and what a participant pays in.

A :class:`CompensationPlan` is a frozen, validated description; :func:`toolkit.commissions` applies
it to a genealogy and its orders. The two presets are illustrative plans for the notebooks and
tests, not any company's plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def _number(owner: str, name: str, value, *, low: float = 0.0, high: float | None = None) -> float:
    """``value`` as a finite float in ``[low, high]``; a ValueError naming the field otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{owner}.{name} must be a finite number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ValueError(f"{owner}.{name} must be {bound}, got {value!r}")
    return float(value)


def _rates(owner: str, name: str, values) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{owner}.{name} must be a sequence of rates, got {values!r}")
    return tuple(_number(owner, f"{name}[{i}]", v, high=1.0) for i, v in enumerate(tuple(values)))


@dataclass(frozen=True)
class Rank:
    """A rank of a stairstep plan: its bonus rate and the monthly volumes that reach it.

    Parameters
    ----------
    name : str
        The rank's name as the company prints it ("Director").
    rate : float
        The stairstep rate of the rank, a share of volume between 0 and 1.
    personal_volume, group_volume : float
        The personal and group volume a member needs in a period to hold the rank.
    """

    name: str
    rate: float
    personal_volume: float = 0.0
    group_volume: float = 0.0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"Rank.name must be a non-empty string, got {self.name!r}")
        owner = f"Rank({self.name!r})"
        object.__setattr__(self, "rate", _number(owner, "rate", self.rate, high=1.0))
        for name in ("personal_volume", "group_volume"):
            object.__setattr__(self, name, _number(owner, name, getattr(self, name)))


@dataclass(frozen=True)
class CompensationPlan:
    """A compensation plan: retail margin, unilevel, stairstep, breakaway, fast start and fees.

    Parameters
    ----------
    retail_margin : float
        Share of a retail customer's order ``amount`` kept by the member who sponsored that
        customer (the difference between retail and distributor price).
    unilevel : tuple of float
        Rates on ``volume`` by level above the buyer: ``unilevel[0]`` to the buyer's sponsor,
        ``unilevel[1]`` to the sponsor's sponsor, and so on.
    min_personal_volume : float
        A member is *qualified* in a period when their personal volume (their own orders and
        those of the retail and preferred customers they sponsored, in that period) reaches it
        and they have not left by the end of the period. Retail customers never qualify.
    compression : bool
        True: unqualified members are skipped when levels (and breakaway generations) are
        counted, so the next qualified upline moves up. False: an unqualified member's level is
        not paid and its amount is reported as unpaid.
    ranks : tuple of Rank
        Stairstep ranks, lowest first (rates and thresholds never decrease). On every order each
        qualified upline earns its rank's rate minus the highest rate already paid below it on
        that order, never below 0. A member's rank in a period is the highest whose personal and
        group volume thresholds it reaches.
    breakaway_rank : str or None
        Name of the rank at which a member breaks away: its group volume leaves its uplines'
        stairstep (and their group volume), and breakaway uplines earn generation overrides on
        it instead.
    generation_rates : tuple of float
        ``generation_rates[k]`` is paid on an order to the (k+1)-th breakaway member above the
        breakaway group the order belongs to.
    fast_start : float
        Rate paid to the sponsor on a new member's volume during its first ``fast_start_days``.
    fast_start_days : int
        Length of the fast-start window, in days from ``joined_at``.
    starter_fee, monthly_fee : float
        What a participant pays the company: once when joining, and every month while active.

    Raises
    ------
    ValueError
        Naming the field, for a rate outside [0, 1], a negative volume or fee, ranks out of
        order or with duplicate names, a breakaway rank that is not a rank, or generation rates
        without a breakaway rank.
    """

    retail_margin: float = 0.0
    unilevel: tuple[float, ...] = ()
    min_personal_volume: float = 0.0
    compression: bool = True
    ranks: tuple[Rank, ...] = ()
    breakaway_rank: str | None = None
    generation_rates: tuple[float, ...] = ()
    fast_start: float = 0.0
    fast_start_days: int = 30
    starter_fee: float = 0.0
    monthly_fee: float = 0.0
    name: str = field(default="custom plan", compare=False)

    def __post_init__(self):
        owner = "CompensationPlan"
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("retail_margin", _number(owner, "retail_margin", self.retail_margin, high=1.0))
        set_("unilevel", _rates(owner, "unilevel", self.unilevel))
        set_("generation_rates", _rates(owner, "generation_rates", self.generation_rates))
        set_("fast_start", _number(owner, "fast_start", self.fast_start, high=1.0))
        for name in ("min_personal_volume", "starter_fee", "monthly_fee"):
            set_(name, _number(owner, name, getattr(self, name)))
        if not isinstance(self.compression, bool):
            raise ValueError(f"{owner}.compression must be True or False, got {self.compression!r}")
        days = self.fast_start_days
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"{owner}.fast_start_days must be a whole number >= 1, got {days!r}")
        ranks = tuple(self.ranks)
        for i, rank in enumerate(ranks):
            if not isinstance(rank, Rank):
                raise ValueError(f"{owner}.ranks[{i}] must be a toolkit.Rank, got {rank!r}")
        names = [r.name for r in ranks]
        if len(set(names)) != len(names):
            raise ValueError(f"{owner}.ranks has duplicate names: {names}")
        for lower, upper in zip(ranks[:-1], ranks[1:], strict=True):
            for attr in ("rate", "personal_volume", "group_volume"):
                if getattr(upper, attr) < getattr(lower, attr):
                    raise ValueError(
                        f"{owner}.ranks must be lowest first: {upper.name!r} has a lower {attr} "
                        f"({getattr(upper, attr):g}) than {lower.name!r} ({getattr(lower, attr):g})"
                    )
        set_("ranks", ranks)
        if self.breakaway_rank is not None and self.breakaway_rank not in names:
            raise ValueError(
                f"{owner}.breakaway_rank {self.breakaway_rank!r} is not one of the ranks {names}"
            )
        if self.generation_rates and self.breakaway_rank is None:
            raise ValueError(f"{owner}.generation_rates need a breakaway_rank to count generations")

    @property
    def top_rate(self) -> float:
        """The highest stairstep rate: what the stairstep pays in all on an order (0 without ranks)."""
        return max((r.rate for r in self.ranks), default=0.0)

    @property
    def breakaway_index(self) -> int | None:
        """Position of the breakaway rank in ``ranks`` (None without one)."""
        if self.breakaway_rank is None:
            return None
        return [r.name for r in self.ranks].index(self.breakaway_rank)

    @classmethod
    def unilevel_example(cls) -> CompensationPlan:
        """An illustrative unilevel plan (not any company's): what a typical one looks like.

        Members keep 25% of what their retail customers pay. On every order, the buyer's
        sponsor and the six uplines above earn 5%, 5%, 4%, 3%, 2%, 2% and 1% of its volume,
        counting only uplines who bought or sold 100 of volume that month (compression). The
        sponsor of a new member also gets 20% of that member's volume in its first 30 days. A
        participant pays a $49 starter kit and a $19.95 monthly website fee.
        """
        return cls(
            retail_margin=0.25,
            unilevel=(0.05, 0.05, 0.04, 0.03, 0.02, 0.02, 0.01),
            min_personal_volume=100.0,
            compression=True,
            fast_start=0.20,
            fast_start_days=30,
            starter_fee=49.0,
            monthly_fee=19.95,
            name="unilevel example (illustrative)",
        )

    @classmethod
    def breakaway_example(cls) -> CompensationPlan:
        """An illustrative breakaway plan (not any company's), of the kind 004 describes.

        Members keep 30% of what their retail customers pay. A stairstep pays 5% at the start,
        10% from 500 of group volume a month, 15% from 1,500 and 20% (the "Director" rank)
        from 4,000, each upline earning its rate minus what was already paid below it. A
        Director breaks away: its group leaves its uplines' stairstep, and the Directors above
        it earn 4%, 3% and 2% on the first, second and third generations of Directors below
        them instead. One must buy 100 of volume a month to be paid. $99 to start, $24.95 a
        month.
        """
        return cls(
            retail_margin=0.30,
            min_personal_volume=100.0,
            compression=True,
            ranks=(
                Rank("Member", 0.05),
                Rank("Supervisor", 0.10, personal_volume=100.0, group_volume=500.0),
                Rank("Manager", 0.15, personal_volume=100.0, group_volume=1_500.0),
                Rank("Director", 0.20, personal_volume=100.0, group_volume=4_000.0),
            ),
            breakaway_rank="Director",
            generation_rates=(0.04, 0.03, 0.02),
            starter_fee=99.0,
            monthly_fee=24.95,
            name="breakaway example (illustrative)",
        )
