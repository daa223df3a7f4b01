"""Time the sample-world generator and validation at scale (target: 1,000,000 contacts in < 30 s)."""

import argparse
import time

import toolkit

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--contacts", type=int, default=1_000_000)
args = parser.parse_args()

start = time.perf_counter()
data = toolkit.generate_sample(args.contacts)
generated = time.perf_counter() - start
start = time.perf_counter()
toolkit.validate(data)
validated = time.perf_counter() - start

print(data)
print(
    f"generate_sample({args.contacts:,}): {generated:.1f} s (target < 30 s: {generated / 30:.2f} of budget)"
)
print(f"validate: {validated:.1f} s")
