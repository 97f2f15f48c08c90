"""Enqueueing 100,000 scheduled sends: outreachd's plans table against the obvious alternative a
user might reach for, one APScheduler job per send in APScheduler's SQLAlchemy job store, both
on SQLite files in the same temporary directory, same run (issue 6's target: the plans table
at least 100x faster to enqueue). Then finding what is due: claiming the due plans against
APScheduler's own due-job lookup.

Usage (from the repo root):

    .venv/bin/python tests/benchmarks/bench_schedule.py [--sends 100000] [--json [PATH]]

Each scheduled send is one account's next step at an instant spread over the next 30 days.
Ours: `Ledger.save_plans` (what the sweep calls), in its batches. Theirs: a started, paused
BackgroundScheduler (so each add_job is written to the store at once, as in a running
daemon) and `add_job(..., "date", run_date=...)` per send. Figures are reported, never
asserted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # noqa: E402
from apscheduler.schedulers.background import BackgroundScheduler  # noqa: E402

from outreachd.ledger.store import Ledger, Plan  # noqa: E402

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
SPREAD = timedelta(days=30)


def send(account_id: str) -> None:  # what each APScheduler job would run
    """A stand-in for dispatching one account's step."""


def _due(i: int, n: int) -> datetime:
    return START + SPREAD * (i / n)


def ours(n: int, work: Path) -> dict[str, float]:
    ledger = Ledger(f"sqlite:///{work / 'ledger.db'}")
    ledger.migrate()
    with sqlite3.connect(work / "ledger.db") as db:  # the accounts the plans belong to: untimed
        db.executemany(
            "INSERT INTO accounts (account_id, borrower_id, content_hash, payload, first_seen_at,"
            " updated_at) VALUES (?, ?, '', '{}', 0, 0)",
            ((f"A{i:07d}", f"B{i:07d}") for i in range(n)),
        )
    plans = [
        Plan(
            account_id=f"A{i:07d}",
            borrower_id=f"B{i:07d}",
            step=0,
            status="due",
            channel=None,
            contact_id=None,
            template=None,
            next_due_at=_due(i, n),
            reasons=(),
            updated_at=START,
        )
        for i in range(n)
    ]
    wall, cpu = perf_counter(), process_time()
    ledger.save_plans(plans)
    enqueue = perf_counter() - wall, process_time() - cpu
    at = START + timedelta(days=1)
    wall = perf_counter()
    claimed = 0
    while batch := ledger.claim_due(at, "bench", timedelta(minutes=2), 500):
        claimed += len(batch)
    due = perf_counter() - wall
    ledger.close()
    return {"enqueue_s": enqueue[0], "enqueue_cpu_s": enqueue[1], "due_s": due,
            "due_found": claimed}  # fmt: skip


def apscheduler(n: int, work: Path) -> dict[str, float]:
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    store = SQLAlchemyJobStore(url=f"sqlite:///{work / 'jobs.db'}")
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.start(paused=True)
    wall, cpu = perf_counter(), process_time()
    for i in range(n):
        scheduler.add_job(send, "date", run_date=_due(i, n), args=[f"A{i:07d}"], id=f"A{i:07d}")
    enqueue = perf_counter() - wall, process_time() - cpu
    at = START + timedelta(days=1)
    wall = perf_counter()
    found = len(store.get_due_jobs(at))
    due = perf_counter() - wall
    scheduler.shutdown(wait=False)
    return {"enqueue_s": enqueue[0], "enqueue_cpu_s": enqueue[1], "due_s": due,
            "due_found": found}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sends", type=int, default=100_000)
    ap.add_argument("--json", nargs="?", const="bench-results/schedule.json", metavar="PATH")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-schedule-") as tmp:
        a = ours(args.sends, Path(tmp))
        b = apscheduler(args.sends, Path(tmp))
    ratio = b["enqueue_s"] / a["enqueue_s"]
    verdict = "PASS" if ratio >= 100 else "MISS"
    res: dict[str, Any] = {"sends": args.sends, "plans": a, "apscheduler": b,
                           "enqueue_ratio": ratio, "verdict": verdict}  # fmt: skip
    print(f"bench_schedule  {args.sends:,} scheduled sends, SQLite, same run")
    print(
        f"  plans table   enqueue {a['enqueue_s']:8.2f} s  ({args.sends / a['enqueue_s']:>10,.0f}"
        f"/s)  due in the first day: {a['due_found']:,} claimed in {a['due_s']:.2f} s"
    )
    print(
        f"  APScheduler   enqueue {b['enqueue_s']:8.2f} s  ({args.sends / b['enqueue_s']:>10,.0f}"
        f"/s)  due in the first day: {b['due_found']:,} found in {b['due_s']:.2f} s"
    )
    print(
        f"  ratio         plans table {ratio:,.0f}x faster to enqueue  (target >= 100x)  {verdict}"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
