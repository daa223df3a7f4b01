"""Reference values for toolkit.time_to_convert, from lifelines (an independent Kaplan-Meier).

Run in a throwaway venv (lifelines is not a dependency of the toolkit):

    python3 -m venv /tmp/llvenv && /tmp/llvenv/bin/pip install lifelines pandas
    /tmp/llvenv/bin/python tests/reference/funnel_km_reference.py

Writes, next to this script:
- funnel_km_events.csv, funnel_km_leads.csv: 2 x 300 made-up leads (seeded), 'lead' events at
  random moments of 2025 and, for some, a 'customer' event after a random delay; nothing after
  the export date 2025-12-31 (later conversions are simply not in the export).
- funnel_km_lifelines.csv: per group and event time, lifelines' survival, its default (log-log)
  95% interval and the number at risk.
- funnel_km_lifelines_median.csv: lifelines' median survival time per group.
Durations are computed here with plain pandas, not with the toolkit.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

HERE = Path(__file__).resolve().parent
AS_OF = pd.Timestamp("2025-12-31")


def make_events(seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows, leads = [], []
    for group, (share, scale) in {"fast": (0.6, 20.0), "slow": (0.35, 60.0)}.items():
        for i in range(300):
            lead_id = f"{group[0].upper()}{i:03d}"
            start = pd.Timestamp("2025-01-01") + pd.Timedelta(hours=int(rng.integers(0, 364 * 24)))
            leads.append((lead_id, group))
            rows.append((lead_id, "lead", start))
            if rng.random() < share:
                # whole days plus some hours, so tied and untied durations both occur
                delay = pd.Timedelta(
                    days=int(rng.exponential(scale)), hours=int(rng.integers(0, 3)) * 6
                )
                if start + delay <= AS_OF:
                    rows.append((lead_id, "customer", start + delay))
    events = pd.DataFrame(rows, columns=["lead_id", "stage", "at"])
    return events, pd.DataFrame(leads, columns=["lead_id", "group"])


def main() -> None:
    events, leads = make_events()
    events.to_csv(HERE / "funnel_km_events.csv", index=False)
    leads.to_csv(HERE / "funnel_km_leads.csv", index=False)
    start = events[events["stage"] == "lead"].set_index("lead_id")["at"]
    end = events[events["stage"] == "customer"].set_index("lead_id")["at"]
    frame = leads.set_index("lead_id").assign(start=start, end=end)
    frame["event"] = frame["end"].notna()
    frame["days"] = (frame["end"].fillna(AS_OF) - frame["start"]).dt.total_seconds() / 86_400
    curves, medians = [], []
    for group, part in frame.groupby("group"):
        kmf = KaplanMeierFitter(alpha=0.05).fit(part["days"], part["event"])
        table = kmf.event_table
        times = table.index[table["observed"] > 0]
        ci = kmf.confidence_interval_survival_function_
        curves.append(
            pd.DataFrame(
                {
                    "group": group,
                    "days": times,
                    "survival": kmf.survival_function_.loc[times].iloc[:, 0].to_numpy(),
                    "survival_lower": ci.loc[times].iloc[:, 0].to_numpy(),
                    "survival_upper": ci.loc[times].iloc[:, 1].to_numpy(),
                    "at_risk": table.loc[times, "at_risk"].to_numpy(),
                }
            )
        )
        medians.append({"group": group, "median": kmf.median_survival_time_})
    pd.concat(curves).to_csv(HERE / "funnel_km_lifelines.csv", index=False, float_format="%.12g")
    pd.DataFrame(medians).to_csv(HERE / "funnel_km_lifelines_median.csv", index=False)


if __name__ == "__main__":
    main()
