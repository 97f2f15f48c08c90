"""Dispatch through the real Twilio SDK to the loopback fake, next to a bare loop of the same
SDK calls in the same run (issue 4's target: at least 0.8x the bare loop, both sequential).

Usage (from the repo root):

    .venv/bin/python tests/benchmarks/bench_twilio.py [--messages 250] [--rounds 16] [--json [PATH]]
    .venv/bin/python tests/benchmarks/bench_twilio.py --postgresql [--instances 3]

With `--postgresql` the ledger is a fresh schema in the server at OUTREACHD_TEST_PG_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped afterwards; with `--instances K`,
K dispatcher processes share it (issue 6: at least 0.8x per instance), and the bare loop runs
in K processes too, each making its share of the same calls: the same concurrency.

N New York borrowers who consented to texts are planned by a sweep and dispatched at 11:00
local with `route: {sms: twilio}` and a sender paced at 10,000 messages per second (so the
pacing never waits); the bare loop makes N `client.messages.create` calls with the same
arguments through the same rebased HTTP client. Each of `--rounds` short rounds has its own N
borrowers and times both legs, alternating which goes first, so that both legs see the same
machine (a shared one drifts by 10-30 % within seconds); the totals are reported, with the
median and range of the rounds' ratios. Figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from time import process_time
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, make_url  # noqa: E402

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
WARM_UP = 50  # messages of the untimed first round (see run)
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


def _config(url: str, work: Path, ledger_url: str, index: int = 0) -> config.Config:
    """The configuration of instance `index` (each writes its own file: instances start at
    once)."""
    path = work / f"outreachd-{index}.yaml"
    write_config(path, batch=500)
    cfg = config.load(path)
    settings = TwilioIn.model_validate({
        "account_sid": ACCOUNT, "api_base": url, "timeout_seconds": 10,
        "senders": {"US": {"messaging_service_sid": SERVICE, "messages_per_second": 10_000}},
    })  # fmt: skip
    return dataclasses.replace(
        cfg, ledger_url=ledger_url, twilio=settings, route={Channel.SMS: "twilio"},
        outbox=work / "outbox.jsonl",
    )  # fmt: skip


_BUILT: dict[tuple[str, str, str, int], Dispatcher] = {}  # per process, as the daemon has


def _dispatch(args: tuple[str, str, str, int]) -> tuple[int, float, float, float]:
    """One instance: tick until nothing is due; (sent, start, end, CPU seconds), the start
    and end by the system's clock, so that instances in several processes compare. The
    services are built once per process and reused by later rounds, as the daemon's are (a
    fresh build would put its cold caches, ~0.2 ms a message at 250 a round, in every round)."""
    url, work, ledger_url, index = args
    dispatcher = _BUILT.get(args)
    if dispatcher is None:
        cfg = _config(url, Path(work), ledger_url, index)
        os.environ["OUTREACHD_TWILIO_AUTH_TOKEN"] = TOKEN
        ledger = Ledger(cfg.ledger_url)
        services = wiring.build(cfg, owner=f"bench-{index}", log=NullLog(), ledger=ledger)
        dispatcher = _BUILT[args] = services.dispatcher
        wiring.settle_heap()  # as the daemon does once started
    start, cpu, sent = time.time(), process_time(), 0
    while (stats := dispatcher.tick(MIDDAY)).claimed:
        sent += stats.sent
    end, cpu = time.time(), process_time() - cpu
    return sent, start, end, cpu


def _bare(args: tuple[str, range]) -> tuple[float, float, float]:
    """The same SDK calls, bare: (start, end, CPU seconds)."""
    from twilio.rest import Client  # noqa: PLC0415

    url, numbers = args
    client = Client(ACCOUNT, TOKEN, http_client=RebasedHttpClient(url, 10))
    sms = {"body": BODY, "messaging_service_sid": SERVICE, "validity_period": 3600}
    start, cpu = time.time(), process_time()
    for i in numbers:
        client.messages.create(to=number(i), **sms)
    return start, time.time(), process_time() - cpu


def run(
    n: int, work: Path, ledger_url: str | None = None, instances: int = 1, rounds: int = 3
) -> dict[str, Any]:
    """Dispatch n due plans with `instances` dispatchers (processes when more than one) on the
    ledger at `ledger_url` (default SQLite), and the bare loop at the same concurrency, in
    `rounds` short rounds that alternate which goes first (each round has its own n borrowers,
    planned untimed before it). The figures are the totals over the rounds: on a shared
    machine whose speed drifts by 10-30 % within seconds, short interleaved rounds give both
    legs the same machine. An untimed warm-up round of WARM_UP messages comes first: each
    leg's one-time costs (the SDK imports each resource module on first use; templates are
    compiled, locale data read) are paid once by a daemon, not per message, and would
    otherwise fall on whichever leg goes first."""
    if WARM_UP + rounds * n > 9999:
        raise SystemExit(
            f"--messages x --rounds is at most {9999 - WARM_UP:,} (test numbers +1212555NNNN)"
        )
    ledger_url = ledger_url or f"sqlite:///{work / 'ledger.db'}"
    per_round: list[dict[str, float]] = []
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(fake_process())
        pool = None
        if instances > 1:
            pool = stack.enter_context(multiprocessing.get_context("spawn").Pool(instances))
            pool.map(_warm, range(instances))  # imports done before anything is timed
        cfg = _config(url, work, ledger_url)
        for r in range(-1, rounds):  # -1: the warm-up, rows 1..WARM_UP
            first, last = (WARM_UP + r * n + 1, WARM_UP + (r + 1) * n) if r >= 0 else (1, WARM_UP)
            _plan(cfg, work, last)  # rows 1..last: the earlier rounds' are unchanged
            jobs = [(url, str(work), ledger_url, i) for i in range(instances)]
            shares = [range(first + i, last + 1, instances) for i in range(instances)]
            legs = [("dispatch", jobs), ("bare", [(url, share) for share in shares])]
            timed: dict[str, list[Any]] = {}
            for leg, args in legs if r % 2 == 0 else legs[::-1]:
                fn = _dispatch if leg == "dispatch" else _bare
                timed[leg] = pool.map(fn, args) if pool else [fn(args[0])]  # type: ignore[operator]
            if r < 0:
                continue
            done, bare = timed["dispatch"], timed["bare"]
            per_round.append({
                "sent": sum(d[0] for d in done), "cpu": sum(d[3] for d in done),
                "wall": max(d[2] for d in done) - min(d[1] for d in done),  # first start, last end
                "bare_wall": max(b[1] for b in bare) - min(b[0] for b in bare),
                "bare_cpu": sum(b[2] for b in bare),
            })  # fmt: skip
    while _BUILT:  # this process's (instances > 1: the pool's processes have ended)
        _BUILT.popitem()[1].ledger.close()
    tot = {k: sum(p[k] for p in per_round) for k in per_round[0]}
    sent, total = int(tot["sent"]), n * rounds
    ratios = sorted(p["bare_wall"] / p["wall"] for p in per_round)
    return {
        "messages": n, "rounds": rounds, "instances": instances,
        "ledger": ledger_url.split(":", 1)[0], "sent": sent,
        "dispatch_seconds": tot["wall"], "dispatch_cpu_seconds": tot["cpu"],
        "bare_seconds": tot["bare_wall"], "bare_cpu_seconds": tot["bare_cpu"],
        "dispatch_per_s": sent / tot["wall"], "bare_per_s": total / tot["bare_wall"],
        "ratio": (sent / tot["wall"]) / (total / tot["bare_wall"]),
        "cpu_ratio": tot["bare_cpu"] / tot["cpu"] * sent / total,
        "round_ratio_median": statistics.median(ratios),
        "round_ratio_range": [ratios[0], ratios[-1]],
    }  # fmt: skip


def _plan(cfg: config.Config, work: Path, last: int) -> None:
    """Sweep rows 1..last into the ledger (untimed): the new ones' plans fall due."""
    source = work / "portfolio.jsonl"
    source.write_text("".join(json.dumps(us_row(i)) + "\n" for i in range(1, last + 1)))
    ledger = Ledger(cfg.ledger_url)
    ledger.migrate()
    sweep(source=JsonlSource(source), ledger=ledger, now=MIDDAY, log=NullLog())
    ledger.close()


@contextlib.contextmanager
def _ledger(args: argparse.Namespace) -> Iterator[str | None]:
    """None (SQLite in the work directory), or a fresh PostgreSQL schema's URL."""
    if not args.postgresql:
        yield None
        return
    server = os.environ.get(
        "OUTREACHD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def _warm(_: int) -> None:
    import twilio.rest  # noqa: F401, PLC0415


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, help="per round (default 250; 500 per instance)")
    ap.add_argument("--postgresql", action="store_true", help="a PostgreSQL ledger")
    ap.add_argument("--instances", type=int, default=1, help="dispatchers (processes)")
    ap.add_argument("--rounds", type=int, help="rounds, messages x rounds <= 9,949 (default 16; 4)")
    ap.add_argument("--json", nargs="?", const="bench-results/twilio.json", metavar="PATH")
    args = ap.parse_args(argv)
    if args.instances > 1:  # each instance claims a batch (500): a round gives each one
        args.messages, args.rounds = args.messages or 500 * args.instances, args.rounds or 4
    args.messages, args.rounds = args.messages or 250, args.rounds or 16
    with tempfile.TemporaryDirectory(prefix="bench-twilio-") as tmp, _ledger(args) as url:
        res = run(args.messages, Path(tmp), url, args.instances, args.rounds)
    verdict = "PASS" if res["ratio"] >= 0.8 else "MISS"
    print(f"bench_twilio  {res['rounds']} rounds of {res['messages']:,} SMS through the real SDK "
          f"to the loopback fake, {res['instances']} instance(s), {res['ledger']} ledger; "
          "totals")  # fmt: skip
    print(f"  dispatch  {res['dispatch_per_s']:8.1f} sent/s  ({res['sent']:,} sent in "
          f"{res['dispatch_seconds']:.2f} s, CPU {res['dispatch_cpu_seconds']:.2f} s)")  # fmt: skip
    print(f"  bare SDK  {res['bare_per_s']:8.1f} calls/s ({res['bare_seconds']:.2f} s, CPU "
          f"{res['bare_cpu_seconds']:.2f} s)")  # fmt: skip
    low, high = res["round_ratio_range"]
    print(f"  ratio     {res['ratio']:.2f}x of the bare loop (CPU {res['cpu_ratio']:.2f}x; rounds: "
          f"median {res['round_ratio_median']:.2f}x, {low:.2f}-{high:.2f})  (target >= 0.8x)  "
          f"{verdict}")  # fmt: skip
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res | {"verdict": verdict}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
