"""`outreachd simulate` at scale: N borrowers for D virtual days, next to a bare baseline.

Usage (from the repo root):

    .venv/bin/python tests/benchmarks/bench_simulate.py [--borrowers 10000] [--days 30] [--json]

The portfolio is `outreachd.sample` (seed 7) with the demo configuration's strategy, rules and
templates. The bare baseline, in the same run: what the simulation cannot avoid doing, done
plainly: reading and re-writing the portfolio once per day (json.loads / json.dumps per row)
and appending the same number of messages with `Outbox.send`. The issue's target is a 30-day
simulation of 100,000 borrowers in under 10 minutes; at another size the time is also scaled
linearly to 100,000 borrowers (marked as an extrapolation, not a measurement). Figures are
reported, never asserted: the exit status is 0 either way.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter

REPO = Path(__file__).resolve().parents[2]
TARGET_S, TARGET_BORROWERS = 600.0, 100_000


def bare(work: Path, days: int, messages: int) -> float:
    """Seconds for what the simulation cannot avoid, done plainly."""
    from outreachd.channels.base import Envelope  # noqa: PLC0415
    from outreachd.channels.outbox import Outbox  # noqa: PLC0415
    from outreachd.core.model import Channel, TemplateMeta  # noqa: PLC0415
    from outreachd.render import Message  # noqa: PLC0415

    t0 = perf_counter()
    source = (work / "portfolio.jsonl").read_text(encoding="utf-8").splitlines()
    for _ in range(days):  # the daily re-read and re-write
        (work / "copy.jsonl").write_text(
            "".join(json.dumps(json.loads(line)) + "\n" for line in source), encoding="utf-8"
        )
    box = Outbox(work / "bare-outbox.jsonl")
    message = Message(template_id="en-US/sms/first_reminder", channel=Channel.SMS,
                      locale="en-US", subject=None, body="x" * 200,
                      meta=TemplateMeta())  # fmt: skip
    envelope = Envelope(attempt_id="", account_id="A", borrower_id="B", debts=("A",),
                        contact_id="m1", address="+12125550100",
                        sent_at=datetime(2026, 12, 1, tzinfo=UTC), message=message)  # fmt: skip
    for n in range(messages):
        box.send(dataclasses.replace(envelope, attempt_id=str(n)))
    return perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    from outreachd import sample, simulate  # noqa: PLC0415

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--borrowers", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    out_default = "bench-results/simulate.json"
    ap.add_argument("--json", nargs="?", const=out_default, metavar="PATH")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    try:
        config = work / "outreachd.yaml"
        text = (REPO / "config" / "demo.yaml").read_text(encoding="utf-8")
        text = text.replace("../var/demo/portfolio.jsonl", "portfolio.jsonl")
        text = text.replace("state_dir: ../var/demo", "state_dir: state")
        text = text.replace("packs: [rules]", f"packs: [{REPO / 'config' / 'rules'}]")
        text = text.replace("templates: ../templates", f"templates: {REPO / 'templates'}")
        config.write_text(text, encoding="utf-8")
        shutil.copy(REPO / "config" / "replies.yaml", work / "replies.yaml")
        rows = sample.write_jsonl(work / "portfolio.jsonl", n_borrowers=args.borrowers, seed=7)
        print(f"{args.borrowers:,} borrowers ({rows:,} accounts), {args.days} days", flush=True)

        t0 = perf_counter()
        report = simulate.simulate(config, start=date(2026, 12, 1), days=args.days,
                                   seed=args.seed, out=work / "sim")  # fmt: skip
        sim_s = perf_counter() - t0
        print(f"  simulate: {sim_s:,.1f} s, {report['messages']:,} messages, "
              f"audit violations {report['audit']['violations']}", flush=True)  # fmt: skip

        bare_s = bare(work, args.days, report["messages"])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    scaled = sim_s * TARGET_BORROWERS / args.borrowers
    measured = args.borrowers == TARGET_BORROWERS and args.days == 30
    verdict = ("PASS" if sim_s <= TARGET_S else "MISS") if measured else "not measured at 100k"
    print(f"\nbench_simulate  {args.borrowers:,} borrowers x {args.days} days  "
          f"python {platform.python_version()}")  # fmt: skip
    print(f"  simulation          {sim_s:10,.1f} s")
    print(f"  bare baseline       {bare_s:10,.1f} s   (daily json re-read/re-write + Outbox.send)")
    print(f"  ratio               {sim_s / bare_s:10,.1f}x")
    print(f"  per borrower-day    {1e6 * sim_s / (args.borrowers * args.days):10,.0f} us")
    print(f"  100,000 borrowers   {scaled:10,.0f} s   "
          f"({'measured' if measured else 'linear extrapolation'}; target <= {TARGET_S:.0f} s)"
          f"  {verdict}")  # fmt: skip
    if args.json:
        path = Path(args.json) if Path(args.json).is_absolute() else REPO / args.json
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "borrowers": args.borrowers, "days": args.days, "seed": args.seed,
            "simulate_seconds": sim_s, "bare_seconds": bare_s, "messages": report["messages"],
            "violations": report["audit"]["violations"], "scaled_100k_seconds": scaled,
            "measured_at_100k": measured, "cpus": os.cpu_count(), "python": sys.version,
        }, indent=2) + "\n")  # fmt: skip
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
