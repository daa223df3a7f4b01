"""Simulated organisations as data in the contract (:func:`organisation`, ``GrowthSimulation.as_data``).

A run simulated one participant at a time (:meth:`GrowthSimulation.participants`) becomes a
``members`` table (who sponsored whom, when they joined and left, their role) and an ``orders``
table (each participant's monthly autoship, each customer's monthly purchase), so that the one
commission engine (:func:`toolkit.commissions`, :func:`toolkit.participant_income`) pays it
exactly as it pays a CRM export. Many runs become one table of disjoint trees: no order reaches
another run's members, so the engine pays every run at once what it pays each run alone.

Calendar: month ``m`` of the simulation (1 to ``months``) is the ``m``-th calendar month from
``start``. A rep recruited in month ``m`` joins on its last day and orders from the next month
on; a rep who quits in month ``m`` leaves on its last day, after that month's order. Orders are
placed on the 15th. A customer won in month ``m`` buys every month from the next one until they
stop (each month with chance ``customer_attrition``, drawn from the run's own seed). The
customers each rep wins come from that rep's contacts, so they follow the heavy-tailed
prospecting effort the simulator draws: most reps win none, a few win many.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.schema import TABLES, CRMData

ORDER_DAY = 14  # days after the first of the month: orders are placed on the 15th


def _check_amount(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be an amount >= 0, got {value!r}")
    if not 0 <= float(value) < np.inf:
        raise ValueError(f"{name} must be a finite amount >= 0, got {value!r}")
    return float(value)


def _month_start(start) -> np.datetime64:
    stamp = pd.Timestamp(start)
    if stamp.tzinfo is not None or stamp != stamp.to_period("M").start_time:
        raise ValueError(
            f"start must be the first day of a month at midnight, without a time zone, got {start!r}"
        )
    return np.datetime64(stamp.strftime("%Y-%m"), "M")


@dataclass(frozen=True)
class Organisation:
    """Simulated runs as column arrays of the contract's tables (all runs together).

    Attributes
    ----------
    months : int
        Horizon in months.
    start : numpy.datetime64
        The first calendar month (month precision).
    members : dict of numpy arrays
        ``run``, ``member_id``, ``sponsor_id`` (None at a starting rep), ``joined_at``,
        ``role``, ``left_at`` (NaT while active).
    orders : dict of numpy arrays
        ``run``, ``order_id``, ``member_id``, ``ordered_at``, ``amount``, ``volume``,
        ``autoship`` (True for a participant's own autoship, False for a customer's purchase).
    """

    months: int
    start: np.datetime64
    members: dict
    orders: dict

    @property
    def as_of(self) -> pd.Timestamp:
        """The last day of the horizon (the export's ``as_of``)."""
        return pd.Timestamp((self.start + self.months).astype("datetime64[D]") - 1)

    def runs(self, which=None) -> tuple[dict, dict]:
        """The member and order columns of the runs in ``which`` (all when None)."""
        if which is None:
            return self.members, self.orders
        keep_m = np.isin(self.members["run"], which)
        keep_o = np.isin(self.orders["run"], which)
        return (
            {k: v[keep_m] for k, v in self.members.items()},
            {k: v[keep_o] for k, v in self.orders.items()},
        )

    def as_data(self, run=None) -> CRMData:
        """The runs (one run number, a list, or all when None) as a pandas :class:`CRMData`."""
        members, orders = self.runs(None if run is None else np.atleast_1d(run))
        m = pd.DataFrame({k: v for k, v in members.items() if k != "run"})
        m["lead_id"] = None
        o = pd.DataFrame({k: v for k, v in orders.items() if k != "run"})
        return CRMData(
            leads=TABLES["leads"].empty(),
            events=TABLES["events"].empty(),
            members=m[TABLES["members"].column_names],
            orders=o[TABLES["orders"].column_names],
            as_of=self.as_of,
        )

    def engine_data(self) -> CRMData:
        """All runs as the commission engine reads them: ``members`` (member_id, sponsor_id,
        joined_at, role, left_at), ``orders`` (member_id, ordered_at, amount, volume) and an
        empty ``leads`` as Polars LazyFrames, of the types :func:`toolkit.frames.hand_off`
        gives :meth:`as_data`'s pandas tables; ``events`` None.

        The engine pays these exactly as it pays :meth:`as_data` (the same Polars frames, so
        the same numbers, tests/growth/test_growth_income.py), without building pandas tables of
        every id and order first and converting them through Arrow (a tenth of the growth
        explorer's static grid). No ``order_id``: the engine reads it only to name a bad order.
        """
        import polars as pl
        import pyarrow as pa

        def text(values) -> pl.Series:  # object arrays of str and None, through Arrow as hand_off
            return pl.from_arrow(pa.array(values, type=pa.string(), from_pandas=True))

        m, o = self.members, self.orders
        when = pl.Datetime("us")
        members = pl.DataFrame(
            {
                "member_id": text(m["member_id"]),
                "sponsor_id": text(m["sponsor_id"]),
                "joined_at": pl.Series(m["joined_at"], dtype=when),
                "role": text(m["role"]),
                "left_at": pl.Series(m["left_at"], dtype=when),
            }
        )
        orders = pl.DataFrame(
            {
                "member_id": text(o["member_id"]),
                "ordered_at": pl.Series(o["ordered_at"], dtype=when),
                "amount": pl.Series(o["amount"], dtype=pl.Float64),
                "volume": pl.Series(o["volume"], dtype=pl.Float64),
            }
        )
        leads = pl.DataFrame(schema={"cost": pl.Float64, "owner_id": pl.String, "created_at": when})
        return CRMData(
            leads=leads.lazy(),
            events=None,
            members=members.lazy(),
            orders=orders.lazy(),
            as_of=self.as_of,
        )


def _spans(first: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each i, the months first[i] .. stop[i] - 1: (row index, month) pairs."""
    n = np.maximum(stop - first, 0)
    rows = np.repeat(np.arange(len(first)), n)
    offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return rows, first[rows] + offset


def organisation(
    people: pd.DataFrame,
    won_by: np.ndarray,
    won_at: np.ndarray,
    *,
    months: int,
    customer_attrition: float,
    seed: int,
    autoship: float = 100.0,
    purchases: float = 50.0,
    start="2024-01-01",
) -> Organisation:
    """Simulated participants and the customers they won as the contract's tables.

    Parameters
    ----------
    people : pandas.DataFrame
        :meth:`GrowthSimulation.participants` (``participant`` is its row position).
    won_by, won_at : numpy arrays
        For each customer won, the participant who won them and the month.
    months : int
        The horizon.
    customer_attrition : float
        Monthly chance a customer stops buying.
    seed : int
        Seed of the customers' lifetimes (a stream of its own, so the participants are those
        of :meth:`GrowthSimulation.participants`).
    autoship : float
        What each active participant orders every month (amount and volume).
    purchases : float
        What each active customer buys every month (amount and volume).
    start : date-like
        The first day of month 1 (the first of a month).
    """
    autoship = _check_amount("autoship", autoship)
    purchases = _check_amount("purchases", purchases)
    origin = _month_start(start)

    def day(month_index, days=0):
        return (origin + month_index).astype("datetime64[D]") + days

    run = people["run"].to_numpy()
    joined = people["joined_month"].to_numpy(np.int64)
    left = people["left_month"].to_numpy()
    still = np.isnan(left)
    left_m = np.where(still, months, np.nan_to_num(left)).astype(np.int64)
    sponsor = people["sponsor"].to_numpy()
    ids = np.char.add("P", people["participant"].to_numpy().astype(str)).astype(object)
    # a recruit signs up on the last day of the month they were recruited in (starting reps on
    # the first day of month 1)
    joined_at = np.where(joined == 0, day(0), day(joined, -1))
    left_at = np.where(still, np.datetime64("NaT"), day(left_m, -1))

    n_cust = len(won_by)
    rng = np.random.default_rng([seed, 2])
    if customer_attrition > 0:
        lifetime = rng.geometric(customer_attrition, size=n_cust).astype(np.int64)
    else:
        lifetime = np.full(n_cust, months + 1, np.int64)
    c_first = won_at.astype(np.int64)  # month index of their first purchase
    c_stop = c_first + lifetime
    c_still = c_stop > months
    c_ids = np.char.add("C", np.arange(n_cust).astype(str)).astype(object)
    members = {
        "run": np.concatenate([run, run[won_by]]),
        "member_id": np.concatenate([ids, c_ids]),
        "sponsor_id": np.concatenate([np.where(sponsor >= 0, ids[sponsor], None), ids[won_by]]),
        "joined_at": np.concatenate([joined_at, day(c_first, -1)]).astype("datetime64[us]"),
        "role": np.concatenate(
            [
                np.where(people["leader"].to_numpy(), "leader", "business_builder"),
                np.full(n_cust, "retail_customer"),
            ]
        ).astype(object),
        "left_at": np.concatenate(
            [left_at, np.where(c_still, np.datetime64("NaT"), day(c_stop, -1))]
        ).astype("datetime64[us]"),
    }
    # orders: a participant's autoship in months joined .. left - 1 (0-based month indices),
    # a customer's purchase in months first .. stop - 1, within the horizon
    p_rows, p_month = _spans(joined, left_m) if autoship > 0 else (np.zeros(0, int),) * 2
    c_rows, c_month = (
        _spans(c_first, np.minimum(c_stop, months)) if purchases > 0 else (np.zeros(0, int),) * 2
    )
    who = np.concatenate([p_rows, len(ids) + c_rows])
    n_orders = len(who)
    amount = np.concatenate([np.full(len(p_rows), autoship), np.full(len(c_rows), purchases)])
    orders = {
        "run": members["run"][who],
        "order_id": np.char.add("O", np.arange(n_orders).astype(str)).astype(object),
        "member_id": members["member_id"][who],
        "ordered_at": day(np.concatenate([p_month, c_month]), ORDER_DAY).astype("datetime64[us]"),
        "amount": amount,
        "volume": amount.copy(),
        "autoship": np.r_[np.ones(len(p_rows), bool), np.zeros(len(c_rows), bool)],
    }
    return Organisation(int(months), origin, members, orders)
