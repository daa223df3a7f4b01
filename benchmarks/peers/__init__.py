"""The benchmarks' own environment for the peers the toolkit is compared with (issue 18).

retentioneering and lifelines are not project dependencies: they live in a separate virtualenv,
``benchmarks/.peer-venv`` (gitignored), made from ``benchmarks/peers/requirements.txt`` by
``make bench-peers`` or on first use by the benchmark scripts, and each peer runs in its own
interpreter (a subprocess that times its own calls and prints JSON). retentioneering's PostHog
telemetry is turned off there (``RETENTIONEERING_NO_TRACK=1``, its documented opt-out, and its
client object dropped after import), so a benchmark run sends nothing anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE.parent / ".peer-venv"
REQUIREMENTS = HERE / "requirements.txt"
# retentioneering's own opt-out (retentioneering/_tracking.py, _no_track_requested)
PEER_ENV = {"RETENTIONEERING_NO_TRACK": "1", "POSTHOG_DISABLED": "1"}


def ensure_venv() -> Path | None:
    """The peer interpreter, after making the virtualenv if it is missing; None if that fails."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    if python.exists() and stamp.exists() and stamp.stat().st_mtime >= REQUIREMENTS.stat().st_mtime:
        return python
    base = os.environ.get("PEER_PYTHON", "python3.11")
    try:
        if not python.exists():
            subprocess.run([base, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"peer environment {VENV} could not be made: {exc}", file=sys.stderr)
        return None
    stamp.touch()
    return python


def peer_env() -> dict[str, str]:
    return os.environ | PEER_ENV
