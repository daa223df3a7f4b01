"""Reference values for tests/test_lead_quality.py: a row-level statsmodels Logit.

Writes a seeded synthetic set of leads (lead_quality_leads.csv) and their customer events
(lead_quality_events.csv), then fits an ordinary row-level ``statsmodels.api.Logit`` on the leads
whose 90-day window has passed by AS_OF, with the design written out by hand here (not by the
toolkit): intercept (reference lead type "generic"), lead_type dummies, a free-lead indicator
and log2 of the price for paid leads. The coefficients and standard errors go to
lead_quality_logit.csv. The toolkit's grouped binomial GLM must reproduce them to 1e-6.

Run from the repository root:  .venv/bin/python tests/reference/lead_quality_make_reference.py
"""

from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

HERE = Path(__file__).resolve().parent
AS_OF = pd.Timestamp("2025-06-30")
WINDOW = pd.Timedelta("90D")
PRICES = {
    "unqualified": [0.0, 0.0, 0.10, 0.15, 0.20],
    "generic": [0.02, 0.03, 0.05, 0.08, 0.75, 1.00, 1.50],
    "qualified": [4.0, 5.0, 8.0, 10.0, 12.0, 15.0],
}
BASE_LOGIT = {"unqualified": -2.9, "generic": -3.4, "qualified": -1.9}
PRICE_SLOPE = 0.2  # per doubling of the price


def make(n=3000, seed=20250630):
    rng = np.random.default_rng(seed)
    lead_type = rng.choice(list(PRICES), size=n, p=[0.45, 0.35, 0.20])
    cost = np.array([rng.choice(PRICES[t]) for t in lead_type])
    source = np.where(cost == 0, "warm_market", np.char.add(lead_type.astype(str), "_list"))
    eta = np.array([BASE_LOGIT[t] for t in lead_type]) + PRICE_SLOPE * np.log2(
        np.where(cost > 0, cost, 1)
    )
    converts = rng.random(n) < 1 / (1 + np.exp(-eta))
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.uniform(0, 540, n).round(3), unit="D"
    )
    delay = pd.to_timedelta(rng.gamma(1.2, 40, n).round(3), unit="D")  # some convert after 90 days
    created = created.round("s")
    at = (created + delay).round("s")
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i:05d}" for i in range(n)],
            "created_at": created,
            "source": source,
            "lead_type": lead_type,
            "cost": cost,
            "owner_id": "M1",
        }
    )
    keep = converts & (at <= AS_OF)
    events = pd.DataFrame({"lead_id": leads["lead_id"][keep], "stage": "customer", "at": at[keep]})
    return leads, events


def row_level_logit(leads, events):
    old = leads[leads["created_at"] <= AS_OF - WINDOW]
    first = events[events["stage"] == "customer"].groupby("lead_id")["at"].min()
    reached = old["lead_id"].map(first)
    y = ((reached - old["created_at"]) <= WINDOW).astype("float64")  # NaT compares False
    X = pd.DataFrame(
        {
            "intercept": 1.0,
            "lead_type=unqualified": (old["lead_type"] == "unqualified").astype("float64"),
            "lead_type=qualified": (old["lead_type"] == "qualified").astype("float64"),
            "free_lead": (old["cost"] == 0).astype("float64"),
            "log2_price": np.log2(old["cost"].where(old["cost"] > 0, 1.0)),
        }
    )
    return sm.Logit(y, X).fit(disp=0, tol=1e-12, maxiter=100)


if __name__ == "__main__":
    leads, events = make()
    leads.to_csv(HERE / "lead_quality_leads.csv", index=False)
    events.to_csv(HERE / "lead_quality_events.csv", index=False)
    fit = row_level_logit(leads, events)
    pd.DataFrame(
        {"term": fit.params.index, "coef": fit.params.to_numpy(), "std_err": fit.bse.to_numpy()}
    ).to_csv(HERE / "lead_quality_logit.csv", index=False, float_format="%.12g")
    print(fit.summary())
