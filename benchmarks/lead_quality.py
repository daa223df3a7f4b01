"""Benchmark: LeadQualityModel on 10M leads against a row-level statsmodels Logit.

The model: customer within 90 days ~ lead_type x source (one factor, every observed pair) +
log2 price (+ a free-lead indicator), prices drawn from a broker-style price list with a few
dozen price points per lead type. The toolkit counts successes and trials per covariate pattern
in the input's engine (Polars here, also timed from pandas) and fits a binomial GLM on a few
hundred rows; the baseline builds the lead-level 0/1 outcome and design matrix and fits
``statsmodels.api.Logit`` on every lead.

The row-level Logit is timed on random subsets of ``--logit-rows``, twice and four times that,
and with ``--logit-full`` also on all leads when more than 14 GiB are free (a dense design of
10M x ~13 floats plus Logit's own working copies take several GB on a machine shared with other
work). Without the full run, the time at the full size is extrapolated by a straight line (a fixed
cost plus a cost per row, least squares through the measured sizes): each Newton step costs
O(rows x terms^2) and the number of steps does not depend on the row count (printed per run).

Run at full size (one benchmark at a time on the shared machine):
    flock /tmp/toolkit-bench.lock .venv/bin/python benchmarks/lead_quality.py --logit-full
Develop at small size:
    .venv/bin/python benchmarks/lead_quality.py --rows 200000 --logit-rows 50000
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import polars as pl

AS_OF = pd.Timestamp("2026-10-01")
DAYS = 730


# source: (lead type, share of leads, price list); a few dozen price points per lead type
def _price_list(low, high, n):
    return tuple(np.round(np.geomspace(low, high, n), 2 if high < 10 else 0))


# (source, lead type): (share of leads, price list); some sources sell more than one lead type
SOURCES = {
    ("warm_market", "unqualified"): (0.18, (0.0,)),
    ("street_flyer", "unqualified"): (0.09, _price_list(0.05, 0.40, 12)),
    ("event_booth", "unqualified"): (0.05, _price_list(0.10, 0.80, 12)),
    ("event_booth", "qualified"): (0.03, _price_list(2.0, 12.0, 12)),
    ("bulk_broker_a", "generic"): (0.18, _price_list(0.01, 0.10, 15)),
    ("bulk_broker_a", "unqualified"): (0.05, _price_list(0.005, 0.05, 10)),
    ("bulk_broker_b", "generic"): (0.12, _price_list(0.02, 0.25, 15)),
    ("bulk_broker_b", "qualified"): (0.05, _price_list(2.0, 9.0, 10)),
    ("online_ad", "generic"): (0.10, _price_list(0.50, 3.00, 14)),
    ("seminar", "qualified"): (0.07, _price_list(5.0, 40.0, 14)),
    ("optin_site", "qualified"): (0.08, _price_list(3.0, 15.0, 13)),
}
BASE = {"unqualified": -2.6, "generic": -3.5, "qualified": -1.8}
PRICE_SLOPE = 0.15  # log-odds per doubling within a source


def make_data(n: int, seed: int = 1):
    """10M-lead leads and events tables as Polars frames (ids as text, as the contract says)."""
    rng = np.random.default_rng(seed)
    cells = list(SOURCES)
    src = rng.choice(len(cells), size=n, p=[SOURCES[c][0] for c in cells])
    source = np.array([c[0] for c in cells])[src]
    lead_type = np.array([c[1] for c in cells])[src]
    price = np.zeros(n)
    for i, c in enumerate(cells):
        idx = np.flatnonzero(src == i)
        prices = np.array(SOURCES[c][1])
        price[idx] = prices[rng.integers(0, len(prices), idx.size)]
    median = np.array([np.median(SOURCES[c][1]) for c in cells])[src]
    eta = np.array([BASE[c[1]] for c in cells])[src]
    paid = price > 0
    eta = eta + np.where(
        paid, PRICE_SLOPE * np.log2(np.where(paid, price, 1) / np.where(paid, median, 1)), 0
    )
    created = AS_OF - pd.to_timedelta(rng.uniform(0, DAYS, n) * 86_400, unit="s")
    created_s = (created.to_numpy().astype("datetime64[s]")).astype("int64")
    u = rng.random((n, 3))
    customer = u[:, 0] < 1 / (1 + np.exp(-eta))
    rep = u[:, 1] < 0.4 / (1 + np.exp(-eta))
    leader = rep & (u[:, 2] < 0.15)
    prospect = customer | rep | (u[:, 2] < 0.10)
    lead = prospect | (u[:, 2] < 0.35)
    lead_ids = pl.Series("lead_id", np.arange(n)).cast(pl.String)
    leads = pl.DataFrame(
        {
            "lead_id": ("L" + lead_ids).alias("lead_id"),
            "created_at": pl.Series(created_s * 1_000_000).cast(pl.Datetime("us")),
            "source": pl.Series(source).cast(pl.String),
            "lead_type": pl.Series(lead_type).cast(pl.String),
            "cost": price,
            "owner_id": pl.Series(rng.integers(0, 50_000, n)).cast(pl.String),
        }
    )
    frames = []
    for stage, mask, mean_days in (
        ("contact", np.ones(n, bool), 0.0),
        ("lead", lead, 4.0),
        ("prospect", prospect, 14.0),
        ("customer", customer, 35.0),
        ("rep", rep, 45.0),
        ("leader", leader, 200.0),
    ):
        idx = np.flatnonzero(mask)
        at = created_s[idx] + (rng.gamma(1.2, mean_days / 1.2, idx.size) * 86_400).astype("int64")
        keep = at <= int(AS_OF.timestamp())
        frames.append(
            pl.DataFrame(
                {
                    "lead_id": leads["lead_id"].gather(idx[keep]),
                    "stage": pl.Series([stage] * int(keep.sum()), dtype=pl.String),
                    "at": pl.Series(at[keep] * 1_000_000).cast(pl.Datetime("us")),
                }
            )
        )
    return leads, pl.concat(frames)


def row_level_design(leads: pl.DataFrame, events: pl.DataFrame, terms: list[str]):
    """The hand-written baseline's inputs: a 0/1 outcome per lead and a dense design."""
    window = pd.Timedelta("90D")
    cutoff = (AS_OF - window).to_pydatetime()
    first = events.filter(pl.col("stage") == "customer").group_by("lead_id").agg(pl.col("at").min())
    old = leads.filter(pl.col("created_at") <= cutoff).join(first, on="lead_id", how="left")
    y = ((pl.col("at") - pl.col("created_at")) <= window).fill_null(False).cast(pl.Float64)
    cell = pl.col("lead_type") + ":" + pl.col("source")
    cols = []
    for term in terms:
        if term == "intercept":
            cols.append(pl.lit(1.0).alias(term))
        elif term == "free_lead":
            cols.append((pl.col("cost") == 0).cast(pl.Float64).alias(term))
        elif term == "log2_price":
            cols.append(
                pl.when(pl.col("cost") > 0).then(pl.col("cost").log(2)).otherwise(0.0).alias(term)
            )
        else:
            level = term.split("=", 1)[1]
            cols.append((cell == level).cast(pl.Float64).alias(term))
    frame = old.select(y.alias("y"), *cols)
    return frame["y"].to_numpy(), frame.select(terms).to_numpy()


def time_it(fn, repeat=3):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _available_gib() -> float:
    with open("/proc/meminfo") as f:
        info = dict(line.split(":", 1) for line in f)
    return int(info["MemAvailable"].split()[0]) / 2**20


def time_pandas(fit, leads, events):
    leads_pd, events_pd = leads.to_pandas(), events.to_pandas()
    return time_it(lambda: fit(leads_pd, events_pd), repeat=2)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="leads (default 10M)")
    parser.add_argument(
        "--logit-rows", type=int, default=1_000_000, help="smallest row-level Logit subset"
    )
    parser.add_argument(
        "--logit-full",
        action="store_true",
        help="also fit the row-level Logit on all leads when memory allows",
    )
    args = parser.parse_args()

    import statsmodels.api as sm

    from toolkit.lead_quality import LeadQualityModel

    t = time.perf_counter()
    leads, events = make_data(args.rows)
    print(
        f"data: {leads.height:,} leads, {events.height:,} events, built in {time.perf_counter() - t:.1f} s"
    )

    def fit(lf, ev):
        return LeadQualityModel(features=("lead_type:source",), price_col="cost").fit(
            lf, ev, as_of=AS_OF
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a thousand leads are too few for a clean fit
        fit(leads.head(1000), events.head(1000))  # warm up imports (statsmodels, scipy)
        sm.Logit(np.array([0.0, 1.0, 0.0, 1.0]), np.ones((4, 1))).fit(disp=0)
    t_polars, model = time_it(lambda: fit(leads, events))
    t_lazy, _ = time_it(lambda: fit(leads.lazy(), events.lazy()))
    print(
        f"toolkit, Polars eager input: {t_polars:.2f} s  ({len(model.patterns_):,} covariate patterns, {len(model.summary)} terms)"
    )
    print(f"toolkit, Polars lazy input:  {t_lazy:.2f} s")
    t_pandas = time_pandas(fit, leads, events)
    print(
        f"toolkit, pandas input:       {t_pandas:.2f} s (large pandas inputs are counted by Polars inside)"
    )

    terms = list(model.results_.model.exog_names)
    rng = np.random.default_rng(5)
    sizes = [args.logit_rows, 2 * args.logit_rows, 4 * args.logit_rows]
    if args.logit_full and _available_gib() > 14:
        sizes.append(leads.height)  # the full data fits in memory next to everything else
    timings = {}
    logit = None
    for size in sorted({min(s, leads.height) for s in sizes}):
        sub = (
            leads
            if size == leads.height
            else leads[np.sort(rng.choice(leads.height, size=size, replace=False))]
        )
        t_design, (y, X) = time_it(lambda sub=sub: row_level_design(sub, events, terms), repeat=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the row-level fit's own convergence chatter
            t_fit, logit = time_it(lambda y=y, X=X: sm.Logit(y, X).fit(disp=0), repeat=1)
        timings[size] = (t_design, t_fit)
        steps = logit.mle_retvals["iterations"]
        print(
            f"row-level Logit on {size:,} leads ({len(y):,} old enough): design {t_design:.2f} s, fit {t_fit:.2f} s, {steps} Newton steps"
        )
        del y, X, sub
    sizes = sorted(timings)
    largest = sizes[-1]
    if largest == leads.height:
        full_fit, full_total = timings[largest][1], sum(timings[largest])
        how = "measured on all leads"
    else:
        # a straight line (fixed cost + cost per row) through the measured sizes, extrapolated:
        # more conservative than scaling the largest run's per-row cost, which keeps its fixed part
        slope, intercept = np.polyfit(sizes, [timings[s][1] for s in sizes], 1)
        full_fit = intercept + slope * leads.height
        slope, intercept = np.polyfit(sizes, [sum(timings[s]) for s in sizes], 1)
        full_total = intercept + slope * leads.height
        how = f"extrapolated by a straight line through the {len(sizes)} measured sizes"
    print(
        f"row-level Logit at {leads.height:,} leads: fit {full_fit:.1f} s, design + fit {full_total:.1f} s ({how})"
    )
    diff = np.max(np.abs(np.asarray(logit.params) - np.asarray(model.results_.params)))
    print(
        f"largest coefficient difference, row-level Logit on {largest:,} leads vs toolkit on all: {diff:.2g}"
    )
    best = min(t_polars, t_lazy)
    print()
    print(
        f"target: fit <= 2 s -> {t_polars:.2f} s (Polars), {t_lazy:.2f} s (Polars lazy), {t_pandas:.2f} s (pandas)"
    )
    print(
        f"target: >= 20x faster than the row-level Logit -> x{full_fit / best:.0f} against its fit alone, "
        f"x{full_total / best:.0f} against design + fit (both sides then start from the same tables); "
        f"pandas input: x{full_fit / t_pandas:.0f} / x{full_total / t_pandas:.0f}"
    )


if __name__ == "__main__":
    main()
