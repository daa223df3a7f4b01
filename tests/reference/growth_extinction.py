"""Reference extinction probabilities of a rep's line in the growth model's Poisson case.

A rep makes Poisson(lam) recruits in each month they are active and quits at the end of a month
with probability ``attrition``, so their number of active months L is geometric on 1, 2, ...
The line dies out with the smallest root q of q = G(q), G the offspring generating function.

This script does NOT use the closed form of G: it builds the offspring distribution by brute
force (the Poisson(lam * l) mixture over l, truncated where the geometric tail is below 1e-15)
and iterates q <- G(q) from 0, which converges to the smallest fixed point. Run it with
``python tests/reference/growth_extinction.py`` to rewrite growth_extinction.csv.
"""

import csv
import math
from pathlib import Path

CASES = [(0.375, 0.25), (0.3, 0.2), (0.2, 0.25), (0.5, 0.1)]  # (lam, attrition)


def offspring_pmf(lam, attrition, kmax=400):
    pmf = [0.0] * (kmax + 1)
    months = 1
    while True:
        weight = attrition * (1 - attrition) ** (months - 1)
        if weight < 1e-15:
            break
        mu = lam * months
        term = math.exp(-mu)
        for k in range(kmax + 1):
            pmf[k] += weight * term
            term *= mu / (k + 1)
        months += 1
    return pmf


def extinction(lam, attrition):
    pmf = offspring_pmf(lam, attrition)
    q = 0.0
    for _ in range(100_000):
        new = sum(p * q**k for k, p in enumerate(pmf))
        if abs(new - q) < 1e-13:
            break
        q = new
    return q


if __name__ == "__main__":
    out = Path(__file__).with_suffix(".csv")
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["lam", "attrition", "mean_offspring", "extinction"])
        for lam, attrition in CASES:
            writer.writerow([lam, attrition, lam / attrition, f"{extinction(lam, attrition):.10f}"])
    print(out.read_text())
