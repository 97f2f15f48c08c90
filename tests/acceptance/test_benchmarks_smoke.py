"""Every benchmark script still runs, at a toy size: `make bench` is not part of CI, so a change
that breaks a benchmark (a new required argument, a renamed helper) would otherwise only show
the next time someone measures. The figures at this size mean nothing and are not checked;
what is checked is that each script completes and reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BENCH = REPO / "tests" / "benchmarks"


@pytest.mark.parametrize(
    ("script", "args", "key"),
    [
        ("bench_decide.py", ["--n", "300"], None),
        ("bench_schedule.py", ["--sends", "300"], None),
        ("bench_simulate.py", ["--borrowers", "60", "--days", "3"], "simulate_seconds"),
        ("bench_twilio.py", ["--messages", "20", "--rounds", "2"], "sent"),
        ("bench_daemon.py", ["--scale", "0.002"], None),
    ],
    ids=["decide", "schedule", "simulate", "twilio", "daemon"],
)
def test_the_benchmark_runs(tmp_path: Path, script: str, args: list[str], key: str | None) -> None:
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--json", str(out)],
        capture_output=True, text=True, cwd=REPO, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result, result
    if key is not None:
        assert result[key] > 0
