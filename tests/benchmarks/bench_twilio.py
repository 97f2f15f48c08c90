"""Dispatch through the real Twilio SDK to the loopback fake, next to a bare loop of the same
SDK calls in the same run (issue 4's target: at least 0.8x the bare loop, both sequential).

Usage (from the repo root):

    .venv/bin/python tests/benchmarks/bench_twilio.py [--messages 2000] [--json [PATH]]

N New York borrowers who consented to texts are planned by a sweep and dispatched at 11:00
local with `route: {sms: twilio}` and a sender paced at 10,000 messages per second (so the
pacing never waits); the bare loop makes N `client.messages.create` calls with the same
arguments through the same rebased HTTP client. Figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from outreachd import config, wiring  # noqa: E402
from outreachd.channels.twilio_common import RebasedHttpClient  # noqa: E402
from outreachd.config import TwilioIn  # noqa: E402
from outreachd.core.model import Channel  # noqa: E402
from outreachd.dispatch import Dispatcher  # noqa: E402
from outreachd.ledger.store import Ledger  # noqa: E402
from outreachd.sources.jsonl import JsonlSource  # noqa: E402
from outreachd.sweep import sweep  # noqa: E402
from tests.acceptance.daemon_kit import write_config  # noqa: E402
from tests.integration.test_twilio import ACCOUNT, MIDDAY, SERVICE, number, us_row  # noqa: E402

TOKEN = "bench-token"
# an SMS as long as the shipped en-US first reminder renders for these borrowers
BODY = (
    "Hi Ana, this is Acme Recovery, a debt collector, about your Acme Bank account ending 0001: "
    "$1,280.50 is past due. Call 1-800-555-0100. Reply STOP to opt out."
)


class NullLog:
    def info(self, *args: object, **kw: object) -> None: ...

    warning = error = exception = info


@contextlib.contextmanager
def fake_process() -> Iterator[str]:
    """The fake Twilio in its own process (not competing for this one's GIL); its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.twilio_fake"], cwd=REPO,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)


def run(n: int, work: Path) -> dict[str, Any]:
    with fake_process() as url:
        write_config(work / "outreachd.yaml", batch=500)
        cfg = config.load(work / "outreachd.yaml")
        settings = TwilioIn.model_validate({
            "account_sid": ACCOUNT, "api_base": url, "timeout_seconds": 10,
            "senders": {"US": {"messaging_service_sid": SERVICE, "messages_per_second": 10_000}},
        })  # fmt: skip
        cfg = dataclasses.replace(
            cfg, ledger_url=f"sqlite:///{work / 'ledger.db'}", twilio=settings,
            route={Channel.SMS: "twilio"}, outbox=work / "outbox.jsonl",
        )  # fmt: skip
        source = work / "portfolio.jsonl"
        source.write_text("".join(json.dumps(us_row(i)) + "\n" for i in range(1, n + 1)))
        ledger = Ledger(cfg.ledger_url)
        ledger.migrate()
        sweep(source=JsonlSource(source), ledger=ledger, now=MIDDAY, log=NullLog())
        os.environ["OUTREACHD_TWILIO_AUTH_TOKEN"] = TOKEN
        services = wiring.build(cfg, owner="bench", log=NullLog(), ledger=ledger)
        dispatcher: Dispatcher = services.dispatcher

        wall, cpu, sent = perf_counter(), process_time(), 0
        while (stats := dispatcher.tick(MIDDAY)).claimed:
            sent += stats.sent
        wall, cpu = perf_counter() - wall, process_time() - cpu

        from twilio.rest import Client  # noqa: PLC0415

        client = Client(ACCOUNT, TOKEN, http_client=RebasedHttpClient(url, 10))
        args = {"body": BODY, "messaging_service_sid": SERVICE, "validity_period": 3600}
        bare_wall, bare_cpu = perf_counter(), process_time()
        for i in range(1, n + 1):
            client.messages.create(to=number(i), **args)
        bare_wall, bare_cpu = perf_counter() - bare_wall, process_time() - bare_cpu
        ledger.close()
    return {
        "messages": n, "sent": sent, "dispatch_seconds": wall, "dispatch_cpu_seconds": cpu,
        "bare_seconds": bare_wall, "bare_cpu_seconds": bare_cpu,
        "dispatch_per_s": sent / wall, "bare_per_s": n / bare_wall,
        "ratio": (sent / wall) / (n / bare_wall),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--json", nargs="?", const="bench-results/twilio.json", metavar="PATH")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-twilio-") as tmp:
        res = run(args.messages, Path(tmp))
    verdict = "PASS" if res["ratio"] >= 0.8 else "MISS"
    print(f"bench_twilio  {res['messages']:,} SMS through the real SDK to the loopback fake")
    print(f"  dispatch  {res['dispatch_per_s']:8.1f} sent/s  ({res['sent']:,} sent in "
          f"{res['dispatch_seconds']:.2f} s, CPU {res['dispatch_cpu_seconds']:.2f} s)")  # fmt: skip
    print(f"  bare SDK  {res['bare_per_s']:8.1f} calls/s ({res['bare_seconds']:.2f} s, CPU "
          f"{res['bare_cpu_seconds']:.2f} s)")  # fmt: skip
    print(f"  ratio     {res['ratio']:.2f}x of the bare loop  (target >= 0.8x)  {verdict}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res | {"verdict": verdict}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
