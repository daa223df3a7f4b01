"""Plan health: where a plan's money comes from, the questions a regulator asks first.

The payout ratio (commissions over sales), the share of commissions earned on customers'
purchases rather than on participants' own (the FTC v. Herbalife order's two-thirds line), and
the share paid for recruiting (fast start).
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.frames import collect, to_kind
from toolkit.income._engine import handoff, period_of
from toolkit.income.commissions import payouts
from toolkit.income.plan import CompensationPlan
from toolkit.rates import wilson_interval

TWO_THIRDS = 2 / 3


def plan_health(data, plan: CompensationPlan, *, period: str = "Y", alpha: float = 0.05):
    """Where the plan's money comes from, per period and overall.

    Parameters
    ----------
    data : CRMData
        members and orders (any engine's kind, both the same).
    plan : CompensationPlan
    period : {"Y", "Q", "M"}
        The periods of the rows (commissions are computed month by month either way).
    alpha : float
        One minus the confidence level of the intervals.

    Returns
    -------
    frame of the kind of ``data.members``
        One row per period and one ``"all"`` row (``period`` empty), with:

        - ``sales``: ``orders.amount``; ``customer_sales``: orders of retail and preferred
          customers; ``customer_share_of_sales``;
        - ``commissions``: every component paid to a member; ``unpaid``: what the plan's rates
          left unpaid (breakage); ``payout_ratio``: commissions over sales;
        - ``share_from_customers``: the part of commissions earned on customers' orders (the
          FTC v. Herbalife order asks at least two thirds of rewards on sales to
          non-participants); ``share_fast_start``: the part paid for recruiting;
        - ``payees``: members paid anything; ``payees_mostly_customers``: those with at least
          two thirds of their commissions from customers, and its share ``share_payees_mostly_
          customers`` with ``_ci_lower`` / ``_ci_upper`` (Wilson): how typical a customer-driven
          business is among those paid, an estimate of a rate with its range.

        The totals are the export's own accounting, not estimates, so they carry no interval.
    """
    like = nw.from_native(data.members)
    data, _, _ = handoff(data)
    result = payouts(data, plan, period="M")
    gen = result.genealogy

    table = result.table.with_columns(period_of("period", period).alias("period"))
    paid = table.filter(~nw.col("member_id").is_null())
    per_payee = collect(
        paid.group_by("member_id", "period").agg(
            nw.col("amount").sum(), nw.col("from_customer_volume").sum()
        )
    ).to_pandas()
    parts = collect(
        table.group_by("period", "component").agg(
            nw.col("amount").sum(), nw.col("from_customer_volume").sum()
        )
    ).to_pandas()
    orders = gen.orders.join(gen.members.select("member_id", "_customer"), on="member_id")
    orders = orders.with_columns(
        period_of("ordered_at", period).alias("period"),
        nw.when(nw.col("_customer")).then(nw.col("amount")).otherwise(nw.lit(0.0)).alias("_ca"),
    )
    sales = collect(
        orders.group_by("period").agg(
            nw.col("amount").sum().alias("sales"), nw.col("_ca").sum().alias("customer_sales")
        )
    ).to_pandas()
    for frame in (sales, parts, per_payee):
        frame["period"] = _naive(frame["period"])
    rows = []
    for key in [*sorted(sales["period"].unique()), None]:
        s, p, payee = (
            f if key is None else f[f["period"] == key] for f in (sales, parts, per_payee)
        )
        payee = payee.groupby("member_id")[["amount", "from_customer_volume"]].sum()
        rows.append(_row(key, s, p, payee, alpha))
    return to_kind(pd.DataFrame(rows), like)


def _naive(values: pd.Series) -> pd.Series:
    values = pd.to_datetime(values)
    return values.dt.tz_convert(None) if values.dt.tz is not None else values


def _row(key, sales, parts, payee, alpha) -> dict:
    total_sales = float(sales["sales"].sum())
    customer_sales = float(sales["customer_sales"].sum())
    is_paid = parts["component"] != "unpaid"
    commissions = float(parts.loc[is_paid, "amount"].sum())
    from_customers = float(parts.loc[is_paid, "from_customer_volume"].sum())
    fast = float(parts.loc[parts["component"] == "fast_start", "amount"].sum())
    n = int((payee["amount"] > 0).sum())
    mostly = int((payee["from_customer_volume"] >= TWO_THIRDS * payee["amount"] - 1e-9).sum())
    lo, hi = wilson_interval(mostly, n, alpha=alpha)
    ratio = lambda a, b: a / b if b else np.nan  # noqa: E731 (no sales: no ratio, never 0%)
    return {
        "period": key,
        "sales": total_sales,
        "customer_sales": customer_sales,
        "customer_share_of_sales": ratio(customer_sales, total_sales),
        "commissions": commissions,
        "unpaid": float(parts.loc[~is_paid, "amount"].sum()),
        "payout_ratio": ratio(commissions, total_sales),
        "share_from_customers": ratio(from_customers, commissions),
        "share_fast_start": ratio(fast, commissions),
        "payees": n,
        "payees_mostly_customers": mostly,
        "share_payees_mostly_customers": ratio(mostly, n),
        "share_payees_mostly_customers_ci_lower": float(lo),
        "share_payees_mostly_customers_ci_upper": float(hi),
    }
