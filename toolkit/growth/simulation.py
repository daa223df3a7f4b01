"""Monte Carlo of the duplication model (:func:`simulate_growth`, :class:`GrowthSimulation`).

Runs are drawn as counts (run x join month x leader flag), so a run of millions costs what a run
of ten does; on request also one participant at a time, for who recruited whom and per-person
outcomes. The model itself is described in :mod:`toolkit.growth`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from toolkit import recruiting
from toolkit.growth.params import DAYS_PER_MONTH, MAX_PEOPLE, GrowthParams, as_params
from toolkit.growth.participants import (
    _monthly_contacts,
    _participant_frame,
    _progress,
    _simulate_people,
    gini,
)
from toolkit.growth.projection import (
    PATH_COLUMNS,
    _check_months,
    _warm_market_factor,
    project_growth,
)
from toolkit.schema import NOT_SHOWN

#: The most rows ``GrowthSimulation.paths`` may hold (runs x (months + 1)).
MAX_PATH_ROWS = 20_000_000


# --------------------------------------------------------------------------------------------
# Monte Carlo: counts per run (paths)


def _check_seed(seed) -> int:
    """A seed for ``numpy.random.default_rng``: a whole number >= 0 (None draws one)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(
            f"seed must be a whole number >= 0 (or None for a fresh one), got {seed!r}"
        )
    return int(seed)


def _simulate_paths(
    p: GrowthParams, months: int, runs: int, rng, progress
) -> dict[str, np.ndarray]:
    """Each run's reps as groups (run, join month, leader flag) holding a count of reps and their
    summed effort. Only groups with someone in them are kept, as flat arrays, so the work per
    month follows the number of occupied groups, not runs x months."""
    k = p.recruit_dispersion
    by_cohort = p.warm_market_size is not None  # join month only matters for the warm market
    g = _warm_market_factor(p, months)
    leaders0 = rng.binomial(p.starting_reps, p.leader_share, size=runs)
    g_run = np.repeat(np.arange(runs), 2)
    g_leader = np.tile([False, True], runs)
    g_cohort = np.zeros(2 * runs, dtype=np.int64)
    g_n = np.stack([p.starting_reps - leaders0, leaders0], axis=1).ravel().astype(np.int64)
    g_effort = recruiting.group_effort(rng, g_n, dispersion=k)
    customers = np.zeros(runs, dtype=np.int64)
    remaining = np.full(
        runs, p.market_size - p.starting_reps if p.market_size else 0, dtype=np.int64
    )
    out = {c: np.zeros((runs, months + 1)) for c in PATH_COLUMNS}
    out["active_reps"][:, 0], out["leaders"][:, 0] = p.starting_reps, leaders0
    out["cumulative_joined"][:, 0] = p.starting_reps
    out["remaining_market"][:, 0] = remaining if p.market_size else np.nan
    joined = np.full(runs, p.starting_reps, dtype=np.int64)
    q_cust = p.contact_to_customer / (1 - p.contact_to_rep) if p.contact_to_rep < 1 else 0.0
    bar = _progress(
        months, progress, runs * months * (months if by_cohort else 1), "simulating runs"
    )
    for t in range(1, months + 1):
        keep = g_n > 0
        g_run, g_leader, g_cohort, g_n, g_effort = (
            a[keep] for a in (g_run, g_leader, g_cohort, g_n, g_effort)
        )
        weights = recruiting.effort_weights(g_effort, g_leader, p.leader_multiplier)
        if by_cohort:
            weights = weights * g[g_leader.astype(np.int64), t - g_cohort]
        contacts = _monthly_contacts(rng, weights, p, t)
        total = np.bincount(g_run, weights=contacts, minlength=runs).astype(np.int64)
        if p.market_size is None:
            fresh = total
        else:
            fresh = np.minimum(rng.binomial(total, remaining / p.market_size), remaining)
            remaining = remaining - fresh
        new_reps = rng.binomial(fresh, p.contact_to_rep)
        new_customers = rng.binomial(fresh - new_reps, q_cust)
        new_leaders = rng.binomial(new_reps, p.leader_share)
        # attrition of everyone who was active this month (newcomers start next month)
        stay = rng.binomial(g_n, 1 - p.monthly_attrition)
        g_effort = recruiting.surviving_effort(rng, g_effort, g_n, stay, dispersion=k)
        g_n = stay
        arrivals = np.stack([new_reps - new_leaders, new_leaders], axis=1).ravel()
        came = np.flatnonzero(arrivals)
        g_run = np.concatenate([g_run, came // 2])
        g_leader = np.concatenate([g_leader, came % 2 == 1])
        g_cohort = np.concatenate([g_cohort, np.full(len(came), t if by_cohort else 0)])
        g_n = np.concatenate([g_n, arrivals[came]])
        g_effort = np.concatenate(
            [g_effort, recruiting.group_effort(rng, arrivals[came], dispersion=k)]
        )
        if not by_cohort:  # fold the newcomers into their run's single group per leader flag
            key = g_run * 2 + g_leader
            uniq, inverse = np.unique(key, return_inverse=True)
            g_n = np.bincount(inverse, weights=g_n).astype(np.int64)
            g_effort = np.bincount(inverse, weights=g_effort)
            g_run, g_leader, g_cohort = (
                uniq // 2,
                uniq % 2 == 1,
                np.zeros(len(uniq), dtype=np.int64),
            )
        customers = rng.binomial(customers, 1 - p.customer_attrition) + new_customers
        joined += new_reps
        out["active_reps"][:, t] = np.bincount(g_run, weights=g_n, minlength=runs)
        out["leaders"][:, t] = np.bincount(g_run, weights=g_n * g_leader, minlength=runs)
        out["customers"][:, t] = customers
        out["new_reps"][:, t] = new_reps
        out["cumulative_joined"][:, t] = joined
        out["remaining_market"][:, t] = remaining if p.market_size else np.nan
        out["contacts"][:, t] = total
        out["new_customers"][:, t] = new_customers
        bar.update()
    bar.close()
    return out


# --------------------------------------------------------------------------------------------
# the result


class GrowthSimulation:
    """Monte Carlo runs of the duplication model (made by :func:`simulate_growth`).

    Attributes
    ----------
    params, months, runs, seed
        What was simulated.
    paths : pandas.DataFrame
        One row per run and month: ``run``, ``month`` and the columns of
        :func:`project_growth` (counts, not expectations).
    expected : pandas.DataFrame
        :func:`project_growth` for the same parameters, for comparison.
    """

    def __init__(self, params, months, runs, seed, paths, expected, progress=None):
        self.params, self.months, self.runs, self.seed = params, months, runs, seed
        self.paths, self.expected = paths, expected
        self._progress = progress
        self._participants: dict = {}
        self._customers: dict = {}  # (runs, max_participants) -> (who won each customer, when)
        self._quantiles: dict = {}  # q as a tuple -> quantiles(q)

    def quantiles(self, q=(0.1, 0.5, 0.9)) -> pd.DataFrame:
        """Quantiles across runs, month by month.

        Returns
        -------
        pandas.DataFrame
            One row per month and quantile: ``month``, ``quantile`` and each path column at
            that quantile across runs (``remaining_market`` NaN when unlimited).
        """
        q = np.atleast_1d(np.asarray(q, dtype=float))
        if ((q < 0) | (q > 1)).any():
            raise ValueError(f"q must lie in [0, 1], got {q.tolist()}")
        # the growth outlook and the fan chart both ask for the fan's quantiles: computed once,
        # a copy handed out each time (so a caller changing it changes nothing here)
        key = tuple(q.tolist())
        if key not in self._quantiles:
            grouped = self.paths.groupby("month")[list(PATH_COLUMNS)]
            out = grouped.quantile(q).rename_axis(["month", "quantile"]).reset_index()
            self._quantiles[key] = out
        return self._quantiles[key].copy()

    def participants(
        self, *, runs: int | None = None, max_participants: int = 2_000_000
    ) -> pd.DataFrame:
        """Per-participant outcomes from runs simulated one participant at a time.

        These runs use the same parameters and seed family as ``paths`` but are drawn separately
        (a run of millions is cheap as counts and dear as people). ``runs`` defaults to as many
        as fit in ``max_participants`` at the expected size, at most ``self.runs``.

        Returns
        -------
        pandas.DataFrame
            One row per participant who ever joined: ``run``, ``participant`` (id), ``sponsor``
            (-1 for a starting rep), ``line`` (the starting rep at the top), ``level``
            (generations below the starting rep), ``leader``, ``joined_month``, ``left_month``
            (NaN while active), ``months_active``, ``personal_recruits``, ``downline_size``
            (everyone below them who ever joined), ``depth`` (levels their downline reaches),
            ``active`` (still a rep at the horizon).
        """
        frame, _ = self._people(runs, max_participants)
        return frame

    def _people(self, runs, max_participants):
        runs, max_participants = self._key(runs, max_participants)
        per_run = float(self.expected["cumulative_joined"].iloc[-1])
        if (runs, max_participants) not in self._participants:
            rng = np.random.default_rng([self.seed, 1])
            people, active, _ = _simulate_people(
                self.params,
                self.months,
                runs,
                rng,
                max_participants,
                self._progress,
                per_run * runs,
            )
            self._participants[runs, max_participants] = _participant_frame(
                people, active, self.months
            )
            self._customers[runs, max_participants] = (people.won_by, people.won_at)
        return self._participants[runs, max_participants]

    def typical(self, **kwargs) -> dict[str, float]:
        """What the typical participant gets, next to the totals (arguments as :meth:`participants`).

        Returns
        -------
        dict
            ``share_recruited_nobody`` (participants with no personal recruit at the horizon;
            recent joiners are included, they are in progress), ``median_downline``,
            ``top1pct_share_of_recruits`` (share of all recruits made by the top 1% of
            recruiters), ``gini_downline``, ``share_lines_died_out`` (starting reps whose whole
            line has quit by the horizon), ``participants`` and ``runs`` behind the figures.
        """
        frame, alive = self._people(kwargs.get("runs"), kwargs.get("max_participants", 2_000_000))
        recruits = np.sort(frame["personal_recruits"].to_numpy())[::-1]
        top = max(1, math.ceil(0.01 * len(recruits)))
        total = recruits.sum()
        return {
            "share_recruited_nobody": float((recruits == 0).mean()),
            "median_downline": float(frame["downline_size"].median()),
            "top1pct_share_of_recruits": float(recruits[:top].sum() / total)
            if total
            else float("nan"),
            "gini_downline": gini(frame["downline_size"]),
            "share_lines_died_out": float((~alive).mean()),
            "participants": int(len(frame)),
            "runs": int(frame["run"].nunique()),
        }

    def genealogy(
        self,
        *,
        run: int = 0,
        start="2024-01-01",
        runs: int | None = None,
        max_participants: int = 2_000_000,
    ) -> pd.DataFrame:
        """One simulated run as a ``members`` table of the data contract (reps only), so that
        :func:`toolkit.downline` and :func:`fit_recruitment` can be tried on it. Months are
        turned into dates from ``start`` (a month is 30.4375 days)."""
        frame, _ = self._people(runs, max_participants)
        one = frame[frame["run"] == run]
        origin = pd.Timestamp(start)

        def to_date(months):
            return origin + pd.to_timedelta(np.asarray(months, float) * DAYS_PER_MONTH, unit="D")

        ids = "P" + one["participant"].astype(str)
        sponsor = ("P" + one["sponsor"].astype(str)).where(one["sponsor"] >= 0, None)
        return pd.DataFrame(
            {
                "member_id": ids.to_numpy(),
                "sponsor_id": sponsor.to_numpy(),
                "joined_at": to_date(one["joined_month"]).astype("datetime64[us]"),
                "role": np.where(one["leader"], "leader", "business_builder"),
                "left_at": pd.Series(to_date(one["left_month"]))
                .astype("datetime64[us]")
                .to_numpy(),
                "lead_id": None,
            }
        )

    def organisation(
        self,
        *,
        autoship: float = 100.0,
        purchases: float = 50.0,
        start="2024-01-01",
        runs: int | None = None,
        max_participants: int = 2_000_000,
    ):
        """Every run of :meth:`participants` (arguments ``runs`` and ``max_participants``) with
        the customers each participant won, as the contract's tables in calendar months from
        ``start``: a :class:`toolkit.growth.organisation.Organisation`, whose ``as_data(run)``
        is :meth:`as_data`. ``autoship``: what each active participant orders a month;
        ``purchases``: what each active customer buys a month (amount and volume)."""
        from toolkit.growth.organisation import organisation

        frame, _ = self._people(runs, max_participants)
        won_by, won_at = self._customers[self._key(runs, max_participants)]
        return organisation(
            frame,
            won_by,
            won_at,
            months=self.months,
            customer_attrition=self.params.customer_attrition,
            seed=self.seed,
            autoship=autoship,
            purchases=purchases,
            start=start,
        )

    def as_data(
        self,
        run: int = 0,
        *,
        autoship: float = 100.0,
        purchases: float = 50.0,
        start="2024-01-01",
        runs: int | None = None,
        max_participants: int = 2_000_000,
    ):
        """One simulated run as a :class:`toolkit.CRMData` the commission engine pays unchanged.

        ``members``: every participant (role ``leader`` or ``business_builder``, sponsor,
        joining and leaving dates) and every customer they won (``retail_customer``, sponsored
        by who won them); ``orders``: each active participant's monthly autoship of
        ``autoship`` and each active customer's monthly purchase of ``purchases`` (volume equal
        to the amount); ``leads`` and ``events`` empty; ``as_of`` the last day of the horizon.
        Month ``m`` is the ``m``-th calendar month from ``start``: a recruit joins on the last
        day of the month they were recruited in and orders from the next, a quitter leaves on
        the last day of the month they quit, orders are placed on the 15th. The customers each
        participant wins come from their own contacts (the heavy-tailed effort the simulator
        draws); how long a customer keeps buying is drawn from ``customer_attrition``.

        Parameters
        ----------
        run : int
            Which run of :meth:`participants` (0 to its number of runs - 1).
        autoship, purchases : float
            Monthly amounts (>= 0).
        start : date-like
            The first day of month 1 (the first of a month).
        runs, max_participants
            As :meth:`participants`.

        Returns
        -------
        CRMData
            pandas tables in the contract; ``toolkit.validate`` accepts it.
        """
        org = self.organisation(
            autoship=autoship,
            purchases=purchases,
            start=start,
            runs=runs,
            max_participants=max_participants,
        )
        frame, _ = self._people(runs, max_participants)
        n = int(frame["run"].max()) + 1 if len(frame) else 0
        if isinstance(run, bool) or not isinstance(run, (int, np.integer)) or not 0 <= run < n:
            raise ValueError(f"run must be a whole number in 0..{n - 1}, got {run!r}")
        return org.as_data(int(run))

    def _key(self, runs, max_participants):
        per_run = float(self.expected["cumulative_joined"].iloc[-1])
        if runs is None:
            runs = int(np.clip(max_participants // max(per_run * 3, 1), 1, self.runs))
        return runs, max_participants

    @property
    def as_of(self) -> pd.Timestamp:
        """The horizon as a date when :meth:`genealogy` starts at 2024-01-01 (its default)."""
        return pd.Timestamp("2024-01-01") + pd.Timedelta(days=self.months * DAYS_PER_MONTH)

    @property
    def summary(self) -> pd.DataFrame:
        """At the horizon, per path column: expected, mean, 10th percentile, median, 90th."""
        last = self.paths[self.paths["month"] == self.months]
        cols = ["active_reps", "leaders", "customers", "cumulative_joined", "remaining_market"]
        rows = {
            col: {
                "expected": self.expected[col].iloc[-1],
                "mean": last[col].mean(),
                "p10": last[col].quantile(0.1),
                "median": last[col].median(),
                "p90": last[col].quantile(0.9),
            }
            for col in cols
        }
        return pd.DataFrame(rows).T.rename_axis(f"at month {self.months}")

    def __repr__(self) -> str:
        return f"GrowthSimulation(runs={self.runs}, months={self.months}, seed={self.seed})"

    def _repr_html_(self) -> str:
        return (
            f"<p><b>GrowthSimulation</b>: {self.runs:,} runs x {self.months} months</p>"
            + self.summary.to_html(float_format=lambda v: f"{v:,.1f}", na_rep=NOT_SHOWN)
        )


def simulate_growth(
    params: GrowthParams | dict | None = None,
    months: int = 24,
    runs: int = 1000,
    seed: int | None = 0,
    *,
    progress: bool | None = None,
) -> GrowthSimulation:
    """Monte Carlo of the duplication model with heavy-tailed recruiting.

    Parameters
    ----------
    params : GrowthParams or dict, optional
        The what-if (default: a typical participant); a dict is read as GrowthParams fields.
    months : int
        Horizon, 1 to 1200.
    runs : int
        Simulated organisations; runs x (months + 1) at most ``MAX_PATH_ROWS``.
    seed : int or None
        Seed of ``numpy.random.default_rng`` (a whole number >= 0); None draws one, kept in
        ``result.seed`` so the run can be repeated.
    progress : bool or None
        Show a text progress bar (None: only when the work is long).

    Raises ``ValueError`` naming the argument when one is out of range, and when the
    organisation would pass ``MAX_PEOPLE`` contacts in a month (numbers no market holds).

    All runs are drawn at once as numpy arrays of runs x join month x leader flag (counts of
    reps and their summed effort), so cost does not grow with the size of an organisation.
    Per-participant outcomes come from ``result.participants()``.

    Returns
    -------
    GrowthSimulation
        ``.paths`` (run, month, counts), ``.quantiles()``, ``.participants()``, ``.typical()``,
        ``.expected`` and a ``summary`` at the horizon.
    """
    p = as_params(params)
    months = _check_months(months)
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 1:
        raise ValueError(f"runs must be a whole number >= 1, got {runs!r}")
    if runs * (months + 1) > MAX_PATH_ROWS:
        raise ValueError(
            f"runs x (months + 1) must be at most {MAX_PATH_ROWS:,} (one row of paths each), got "
            f"{runs:,} x {months + 1:,}: simulate fewer runs or months"
        )
    seed = _check_seed(seed)
    expected = project_growth(p, months)
    too_big = expected["contacts"].to_numpy() > MAX_PEOPLE
    if too_big.any():
        raise ValueError(
            f"the expected organisation passes {MAX_PEOPLE:.0e} contacts a month at month "
            f"{int(np.argmax(too_big))} (it grows {p.monthly_growth_factor:.3g} times a month), "
            "more people than could ever be approached: choose fewer months, set a market_size "
            "or a warm_market_size, or lower contacts_per_rep_per_month or contact_to_rep"
        )
    rng = np.random.default_rng(seed)
    out = _simulate_paths(p, months, int(runs), rng, progress)
    paths = pd.DataFrame(
        {
            "run": np.repeat(np.arange(runs), months + 1),
            "month": np.tile(np.arange(months + 1), runs),
            **{col: values.ravel() for col, values in out.items()},
        }
    )
    return GrowthSimulation(p, months, int(runs), seed, paths, expected, progress)
