"""Money in the what-ifs: simulated organisations paid by the one commission engine
(:func:`simulate_income`, :class:`SimulatedIncome`).

Each run of the duplication model becomes data in the contract
(:meth:`GrowthSimulation.as_data`); all runs together are one table of disjoint trees, which
:func:`toolkit.participant_income` and :func:`toolkit.commissions` pay in one pass, exactly as
they would pay each run alone. Nothing here knows a plan's rules.

Its figures, with intervals that treat runs as clusters, are in
:mod:`toolkit.growth.income_figures`.
"""

from __future__ import annotations

import functools
import html

import numpy as np
import pandas as pd

from toolkit.growth.income_figures import (
    IncomeClaim,
    TypicalIncome,
    clustered_median,
    clustered_share,
)
from toolkit.growth.params import GrowthParams, as_params
from toolkit.growth.simulation import simulate_growth

MEASURES = ("gross", "net", "net_after_purchases")
MONEY = ("gross", "fees", "lead_spend", "other_costs", "purchases", "net", "net_after_purchases")
PERS = ("period", "month")


class SimulatedIncome:
    """Simulated organisations paid by a compensation plan (made by :func:`simulate_income`).

    Attributes
    ----------
    params, plan, months, runs, seed, autoship, purchases
        What was simulated.
    simulation : GrowthSimulation
        The runs (``simulation.as_data(run, runs=self.runs)`` is one run as data).
    monthly : pandas.DataFrame
        :func:`toolkit.participant_income` by calendar month for every run: ``run``,
        ``member_id``, ``role``, ``month`` (1 to ``months``), ``months_active`` (0 or 1),
        ``gross``, ``fees``, ``lead_spend``, ``other_costs``, ``purchases``, ``net``,
        ``net_after_purchases``.
    income : pandas.DataFrame
        Per run and participant over the horizon (every participant who joined, zero earners
        and leavers included): ``run``, ``member_id``, ``role``, ``months_active`` and the
        money columns of ``monthly`` summed.
    sources : pandas.DataFrame
        Where the money came from, per run, month and component (``retail``, ``unilevel``,
        ``fast_start``, ... and ``unpaid``): ``amount`` and ``from_customer_volume``
        (:func:`toolkit.commissions` summed).
    sales : pandas.DataFrame
        Per run and month: ``participants_own`` (autoship of participants) and ``customers``
        (what customers bought).
    """

    def __init__(
        self, params, plan, months, runs, seed, autoship, purchases, start, simulation, monthly,
        sources, sales, members=None, member=None,
    ):  # fmt: skip
        # ``sources`` is a function giving the table: commissions are paid on first use.
        # ``members`` (run, member_id, role arrays sorted by run then member_id) and ``member``
        # (each monthly row's position in them) group the rows by one integer key: the same
        # groups in the same order as grouping by run, member_id and role, summed in the same
        # row order, without hashing the ids again (a third of the grid's income time).
        self._start = start
        self.params, self.plan, self.months, self.runs, self.seed = params, plan, months, runs, seed
        self.autoship, self.purchases, self.simulation = autoship, purchases, simulation
        self.monthly, self.sales, self._sources = monthly, sales, sources
        self._members, self._member = members, member
        if member is None:
            keys = ["run", "member_id", "role"]
            self.income = (
                monthly.groupby(keys, sort=True, observed=True)[["months_active", *MONEY]]
                .sum()
                .reset_index()
            )
            return
        sums = monthly[["months_active", *MONEY]].groupby(member, sort=True).sum()
        at = sums.index.to_numpy()
        self.income = pd.DataFrame(
            {
                **{name: values[at] for name, values in members.items()},
                **{col: sums[col].to_numpy() for col in sums.columns},
            }
        )

    @functools.cached_property
    def sources(self) -> pd.DataFrame:
        """Where the money came from (see the class docstring); paid on first use."""
        return self._sources()

    # ----------------------------------------------------------------------------------------
    def _table(self, per: str) -> pd.DataFrame:
        if per not in PERS:
            raise ValueError(f"per must be 'period' (the whole horizon) or 'month', got {per!r}")
        table = self.income
        if per == "month":  # divided by the months they were active, never annualised
            table = table[table["months_active"] > 0].copy()
            for col in MONEY:
                table[col] = table[col] / table["months_active"]
        return table

    def disclosure(self, *, by: str | None = None, per: str = "period", alpha: float = 0.05):
        """The income disclosure table (:func:`toolkit.income_disclosure`) pooled over runs.

        Parameters
        ----------
        by : {None, "role"}
            Group rows (``"role"``: leaders and business builders) beside the overall rows.
        per : {"period", "month"}
            ``"period"``: the whole horizon; ``"month"``: per active month.
        alpha : float
            One minus the confidence level.

        Returns
        -------
        pandas.DataFrame
            The columns of :func:`toolkit.income_disclosure` (``period`` is the first month),
            with every share's interval and the median's from runs as clusters (never narrower
            than for independent participants), and ``runs``.
        """
        from toolkit.income.disclosure import income_disclosure

        if by not in (None, "role"):
            raise ValueError(f"by must be None or 'role', got {by!r}")
        table = self._table(per).copy()
        table["period"] = self.simulation_start
        base = income_disclosure(table, by=by, alpha=alpha, per="period")
        shares = {
            "share_earning_nothing": lambda g, x: g <= 0,
            "share_1000_or_less": lambda g, x: x <= 1000,
            "share_net_loss": lambda g, x: x < 0,
            "share_profit": lambda g, x: x > 0,
        }
        rows = []
        for _, row in base.iterrows():
            here = table if row["group"] == "all participants" else table[table[by] == row["group"]]
            x, g = here[row["measure"]].to_numpy(float), here["gross"].to_numpy(float)
            run = here["run"].to_numpy()
            row = row.copy()
            for name, hit in shares.items():
                _, lo, hi = clustered_share(hit(g, x), run, alpha)
                row[f"{name}_ci_lower"] = min(row[f"{name}_ci_lower"], lo)
                row[f"{name}_ci_upper"] = max(row[f"{name}_ci_upper"], hi)
            profit = x > 0
            name = "share_of_profitable_under_5000"
            _, lo, hi = clustered_share(x[profit] < 5000, run[profit], alpha)
            if profit.any():
                row[f"{name}_ci_lower"] = min(row[f"{name}_ci_lower"], lo)
                row[f"{name}_ci_upper"] = max(row[f"{name}_ci_upper"], hi)
            lo, hi = clustered_median(x, run, alpha)
            row["median_ci_lower"] = min(row["median_ci_lower"], lo)
            row["median_ci_upper"] = max(row["median_ci_upper"], hi)
            row["runs"] = len(np.unique(run))
            rows.append(row)
        return pd.DataFrame(rows).reset_index(drop=True)

    @property
    def simulation_start(self) -> pd.Timestamp:
        """The first day of month 1."""
        return self._start

    def typical(self, *, per: str = "period", alpha: float = 0.05) -> TypicalIncome:
        """The median participant's gross and net, the share with a loss and the share earning
        nothing, with intervals (runs as clusters); ``per`` as :meth:`disclosure`."""
        table = self._table(per)
        run = table["run"].to_numpy()
        gross, net = table["gross"].to_numpy(float), table["net"].to_numpy(float)
        out = {"per": per, "months": self.months, "participants": len(table)}
        out["runs"] = int(table["run"].nunique())
        for name, x in (("gross", gross), ("net", net)):
            lo, hi = clustered_median(x, run, alpha)
            out |= {
                f"median_{name}": float(np.median(x)) if len(x) else np.nan,
                f"median_{name}_ci_lower": lo,
                f"median_{name}_ci_upper": hi,
            }
        after = table["net_after_purchases"].to_numpy(float)
        out["median_net_after_purchases"] = float(np.median(after)) if len(after) else np.nan
        out["mean_gross"] = float(gross.mean()) if len(gross) else np.nan
        for name, hits in (("share_net_loss", net < 0), ("share_earning_nothing", gross <= 0)):
            p, lo, hi = clustered_share(hits, run, alpha)
            out |= {name: p, f"{name}_ci_lower": lo, f"{name}_ci_upper": hi}
        return TypicalIncome(**out)

    def claim(
        self,
        value: float,
        per: str = "month",
        at_month: int = 12,
        *,
        column: str = "gross",
        alpha: float = 0.05,
    ) -> IncomeClaim:
        """How likely a pitched income is ("five figures a month" by month 12, 001).

        Parameters
        ----------
        value : float
            The pitched amount (10_000 for "five figures").
        per : {"month", "year"}
            ``"month"``: what a participant got in month ``at_month``; ``"year"``: in the 12
            months ending with it (``at_month`` at least 12).
        at_month : int
            1 to ``months``.
        column : {"gross", "net", "net_after_purchases"}
            What is claimed: pitches quote gross.
        alpha : float
            One minus the confidence level.

        Returns
        -------
        IncomeClaim
            Reported like :func:`toolkit.claim_check`: the probability with its interval,
            the percentile of the claim, the median and mean participant.
        """
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"value must be a finite amount, got {value!r}")
        if not np.isfinite(value):
            raise ValueError(f"value must be a finite amount, got {value!r}")
        if per not in ("month", "year"):
            raise ValueError(f"per must be 'month' or 'year', got {per!r}")
        if column not in MEASURES:
            raise ValueError(f"column must be one of {MEASURES}, got {column!r}")
        first = 12 if per == "year" else 1
        whole = isinstance(at_month, (int, np.integer)) and not isinstance(at_month, bool)
        if not whole or not first <= at_month <= self.months:
            raise ValueError(
                f"at_month must be a whole number in {first}..{self.months} for per={per!r}, "
                f"got {at_month!r}"
            )
        low = at_month if per == "month" else at_month - 11
        m = self.monthly
        inside = (m["month"] >= low) & (m["month"] <= at_month)
        window = m[inside]
        if self._member is None:
            window = window.groupby(["run", "member_id"], observed=True)[
                ["months_active", column]
            ].sum()
            window = window[window["months_active"] > 0]
            run = window.index.get_level_values("run").to_numpy()
        else:  # the same groups, in the same order, by the one integer key (see __init__)
            window = (
                window[["months_active", column]]
                .groupby(self._member[inside.to_numpy()], sort=True)
                .sum()
            )
            window = window[window["months_active"] > 0]
            run = self._members["run"][window.index.to_numpy()]
        x = window[column].to_numpy(float)
        hits = x >= value
        p, lo, hi = clustered_share(hits, run, alpha)
        reached = np.unique(run[hits])
        return IncomeClaim(
            value=float(value),
            per=per,
            at_month=int(at_month),
            column=column,
            probability=p,
            probability_ci_lower=lo,
            probability_ci_upper=hi,
            share_of_runs=len(reached) / self.runs,
            percentile=float(100 * (x < value).mean()) if len(x) else np.nan,
            median=float(np.median(x)) if len(x) else np.nan,
            mean=float(x.mean()) if len(x) else np.nan,
            participants=len(x),
            runs=self.runs,
        )

    def where_money_comes_from(self) -> pd.DataFrame:
        """Commissions by component over all runs: ``component``, ``amount``, ``share`` (of all
        paid), ``from_customer_volume`` and ``share_from_customers``; ``unpaid`` last."""
        paid = self.sources.groupby("component")[["amount", "from_customer_volume"]].sum()
        paid = paid.reset_index()
        total = paid.loc[paid["component"] != "unpaid", "amount"].sum()
        paid["share"] = (
            np.where(paid["component"] != "unpaid", paid["amount"] / total, np.nan)
            if total
            else np.nan
        )
        paid["share_from_customers"] = np.where(
            paid["amount"] > 0,
            paid["from_customer_volume"] / paid["amount"].where(paid["amount"] > 0),
            np.nan,
        )
        order = {
            c: i
            for i, c in enumerate(
                ("retail", "unilevel", "stairstep", "generation", "fast_start", "unpaid")
            )
        }
        return paid.sort_values("component", key=lambda s: s.map(order)).reset_index(drop=True)

    def __repr__(self) -> str:
        return (
            f"SimulatedIncome(runs={self.runs}, months={self.months}, plan={self.plan.name!r}, "
            f"seed={self.seed})"
        )

    def _repr_html_(self) -> str:
        return f"<p><b>SimulatedIncome</b>: {html.escape(str(self.typical()))}</p>"


def _check_plan(plan) -> None:
    from toolkit.income.plan import CompensationPlan

    if not isinstance(plan, CompensationPlan):
        raise TypeError(f"plan must be a toolkit.CompensationPlan, got {type(plan).__name__}")


def simulate_income(
    params: GrowthParams | dict | None,
    plan,
    *,
    months: int = 12,
    runs: int = 200,
    autoship: float = 100.0,
    purchases: float = 50.0,
    other_costs_per_month: float = 0.0,
    seed: int | None = 0,
    start="2024-01-01",
    max_participants: int = 2_000_000,
) -> SimulatedIncome:
    """Simulated organisations paid by ``plan``: what each participant earns, spends and keeps.

    The runs of :func:`simulate_growth` simulated one participant at a time become data in the
    contract (:meth:`GrowthSimulation.as_data`: participants' monthly autoship, customers'
    monthly purchases) and are paid by :func:`toolkit.participant_income` and
    :func:`toolkit.commissions`, all runs in one pass.

    Parameters
    ----------
    params : GrowthParams, dict or None
        The organisation (None: a typical participant).
    plan : CompensationPlan
        The compensation plan.
    months : int
        Horizon.
    runs : int
        Simulated organisations.
    autoship : float
        What each active participant orders a month (amount and volume): their own purchases.
    purchases : float
        What each active customer buys a month.
    other_costs_per_month : float
        Other costs of running the business per active month.
    seed : int or None
        Seed (as :func:`simulate_growth`).
    start : date-like
        The first day of month 1.
    max_participants : int
        Refuse a simulation that would pass this many participants.

    Returns
    -------
    SimulatedIncome
        ``.income`` per run and participant, ``.monthly``, ``.sources``, ``.disclosure()``,
        ``.typical()``, ``.claim(value, per, at_month)``.
    """
    _check_plan(plan)  # before any simulating
    p = as_params(params)
    sim = simulate_growth(p, months=months, runs=runs, seed=seed, progress=False)
    return pay_simulation(
        sim,
        plan,
        runs=int(runs),
        autoship=autoship,
        purchases=purchases,
        other_costs_per_month=other_costs_per_month,
        start=start,
        max_participants=max_participants,
    )


def pay_simulation(
    sim,
    plan,
    *,
    runs: int,
    autoship: float = 100.0,
    purchases: float = 50.0,
    other_costs_per_month: float = 0.0,
    start="2024-01-01",
    max_participants: int = 2_000_000,
) -> SimulatedIncome:
    """The people of ``runs`` runs of ``sim`` (:meth:`GrowthSimulation.organisation`) paid by
    ``plan``: :func:`simulate_income` without simulating the paths again.

    The people of ``runs`` runs depend only on the parameters, horizon and seed (not on how
    many runs the paths hold), so a :class:`GrowthSimulation` of any number of runs gives what
    ``simulate_income(sim.params, plan, months=sim.months, runs=runs, seed=sim.seed)`` gives
    (:func:`toolkit.growth.outlook.growth_outlook` pays its own simulation this way);
    ``result.simulation`` is ``sim``. Arguments as :func:`simulate_income`.
    """
    import toolkit

    _check_plan(plan)
    months = sim.months
    org = sim.organisation(
        autoship=autoship,
        purchases=purchases,
        start=start,
        runs=int(runs),
        max_participants=max_participants,
    )
    origin = org.start
    ids = org.members["member_id"]

    def month_of(period) -> np.ndarray:
        stamps = pd.to_datetime(period).to_numpy().astype("datetime64[M]")
        return (stamps - origin).astype(np.int64) + 1

    # the Polars tables the engine would make of org.as_data(), built directly
    inc = toolkit.participant_income(
        org.engine_data(), plan, period="M", other_costs_per_month=other_costs_per_month
    ).collect()  # lazy in, lazy out
    inc = {c: inc[c].to_numpy() for c in ("member_id", "period", "months_active", *MONEY)}
    # each row's member, looked up once (every member_id of the result is in the members
    # table); members ranked by run, then member_id, as SimulatedIncome groups them
    row = pd.Index(ids).get_indexer(inc["member_id"])
    order = np.lexsort((ids.astype(str), org.members["run"]))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    monthly = pd.DataFrame(
        {
            "run": org.members["run"][row],
            "member_id": inc["member_id"],
            "role": org.members["role"][row],
            "month": month_of(inc["period"]),
            **{c: inc[c] for c in ("months_active", *MONEY)},
        }
    )
    ranked = {name: org.members[name][order] for name in ("run", "member_id", "role")}

    def sources() -> pd.DataFrame:  # on first use: the typical participant does not need it
        paid = toolkit.commissions(org.as_data(), plan, period="M")
        run_of = pd.Series(org.members["run"], index=ids)
        frame = pd.DataFrame(
            {
                "run": run_of.reindex(paid["member_id"]).to_numpy(),  # NaN for unpaid rows
                "month": month_of(paid["period"]),
                "component": paid["component"].to_numpy(),
                "amount": paid["amount"].to_numpy(),
                "from_customer_volume": paid["from_customer_volume"].to_numpy(),
            }
        )
        return (
            frame.groupby(["run", "month", "component"], dropna=False)[
                ["amount", "from_customer_volume"]
            ]
            .sum()
            .reset_index()
        )

    o = org.orders
    month = (o["ordered_at"].astype("datetime64[M]") - origin).astype(np.int64) + 1
    key = o["run"].astype(np.int64) * (months + 1) + month
    size = int(runs) * (months + 1)
    own = np.bincount(key, weights=o["amount"] * o["autoship"], minlength=size)
    cust = np.bincount(key, weights=o["amount"] * ~o["autoship"], minlength=size)
    sales = pd.DataFrame(
        {
            "run": np.repeat(np.arange(int(runs)), months + 1),
            "month": np.tile(np.arange(months + 1), int(runs)),
            "participants_own": own,
            "customers": cust,
        }
    )
    sales = sales[sales["month"] >= 1].reset_index(drop=True)
    out = SimulatedIncome(
        sim.params, plan, months, int(runs), sim.seed, float(autoship), float(purchases),
        pd.Timestamp(origin.astype("datetime64[D]")), sim, monthly, sources, sales,
        members=ranked, member=rank[row],
    )  # fmt: skip
    return out
