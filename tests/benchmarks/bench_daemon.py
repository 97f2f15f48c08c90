"""Sweep and dispatch at portfolio scale, each next to a bare baseline of the same run.

Usage (from the repo root; pin to one core for stable figures):

    taskset -c 0 .venv/bin/python tests/benchmarks/bench_daemon.py [--scale 1.0] [--json]
    .venv/bin/python tests/benchmarks/bench_daemon.py --scale 0.02      # smoke run, ~1 minute
    .venv/bin/python tests/benchmarks/bench_daemon.py --postgresql      # the sweeps on PostgreSQL

`--postgresql [URL]` puts the ledger in a fresh database on that server (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres; the database is created, named
`outreachd_bench_<hex>`, and dropped afterwards) and times the three sweeps; dispatch on
PostgreSQL is measured by bench_twilio.py --postgresql.

At --scale 1.0 the data is 1,000,000 account rows from `outreachd.sample` (~770,000 borrowers)
in a JSONL source, and 10,000,000 sent events over the 90 days before the sweep in the ledger.
It is built untimed in a temporary directory. Each timed part then runs in a fresh subprocess,
so its peak RSS is its own:

1. the first sweep into the empty accounts table, next to a bare read of the same file
   (`json.loads` per line) and a read + `records.parse` (estimated: every line loaded, one in
   PARSE_EVERY parsed, the parsing time scaled);
2. a sweep of the source with 1 % of its rows changed, then a re-sweep of that unchanged source,
   each as a percentage of the first sweep;
3. `Dispatcher.tick` until nothing is due, with N plans due on a weekday at 15:00 UTC, into the
   outbox channel, next to the same number of bare `Outbox.send` appends.

Figures are reported, never asserted: the exit status is 0 whether a target is met or missed.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import hashlib
import itertools
import json
import os
import platform
import pstats
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter, process_time
from typing import Any, TypeVar

from sqlalchemy import create_engine, make_url
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateIndex

from outreachd import sample
from outreachd.ledger import schema
from outreachd.ledger.store import Ledger

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ACCOUNTS, EVENTS, DUE = 1_000_000, 10_000_000, 20_000  # at --scale 1.0
SWEEP_AT = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # a Tuesday; no US, UK or CN holiday
DISPATCH_AT = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 New York, 23:00 Shanghai
HISTORY_DAYS = 90
CHANGED_EVERY = 100  # 1 % of the rows change for the incremental sweep
# the read + parse baseline parses one row in PARSE_EVERY and scales the parsing time: the
# whole book took ~110 s of make bench's 30 minutes for an informative figure
PARSE_EVERY = 10
TARGET_SWEEP_X, TARGET_RSS_MB, TARGET_INCR_PCT, TARGET_MSG_S = 5.0, 500.0, 3.0, 1000.0
HOUR_US, DAY_US = 3_600_000_000, 86_400_000_000
_CALLS = "no_answer:40 voicemail_lcm:15 voicemail_no_message:10 conversation:12 busy:8"
_CALLS += " answered_hangup:7 not_in_service:2 network_fail:2 inbound_conversation:1"
CALL_OUTCOMES = [k for k, w in (p.split(":") for p in _CALLS.split()) for _ in range(int(w))]
LOCALE = {"US": "en-US", "UK": "en-GB", "CN": "zh-CN"}
UTC_OFFSET_H = {"US": -5, "UK": 0, "CN": 8}  # events at 08:00-20:00 local, roughly
PACKS = {
    "US": json.dumps(["us-fed-fdcpa-regf", "us-fed-tcpa", "us-best-practice"]),
    "UK": json.dumps(["uk-fca-conc7"]),
    "CN": json.dumps(["cn-reg", "cn-house"]),
}
EVENT_COLUMNS = [
    "id", "borrower_id", "account_id", "debts", "at", "channel", "contact_id", "outcome",
    "status", "initiator", "dialer", "person", "party", "purpose", "template", "locale",
    "rule_ids", "packs", "provider_id", "created_at", "updated_at",
]  # fmt: skip

# (borrower_id, country, account ids, phone ids, has an e-mail address)
BorrowerInfo = tuple[str, str, tuple[str, ...], tuple[str, ...], bool]


class NullLog:
    """The daemon's logger interface, doing nothing (log cost is not what is measured)."""

    def info(self, *args: object, **kw: object) -> None: ...
    def warning(self, *args: object, **kw: object) -> None: ...
    def error(self, *args: object, **kw: object) -> None: ...
    def exception(self, *args: object, **kw: object) -> None: ...


# ---------------------------------------------------------------- data (untimed)


def write_source(path: Path, n_accounts: int, seed: int) -> list[BorrowerInfo]:
    """`n_accounts` rows (whole borrowers, so a few more) of outreachd.sample, as JSONL."""
    found: list[tuple[str, str, list[str], tuple[str, ...], bool]] = []
    rows = 0
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in sample.generate(n_borrowers=n_accounts, seed=seed):
            if not found or row["borrower_id"] != found[-1][0]:
                if rows >= n_accounts:
                    break
                b = row["borrower"]
                phones = tuple(p["id"] for p in b["phones"])
                found.append((row["borrower_id"], b["residence"]["country"], [], phones,
                              bool(b["emails"])))  # fmt: skip
            found[-1][2].append(row["account_id"])
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            rows += 1
    return [(b_id, country, tuple(a), phones, email) for b_id, country, a, phones, email in found]


def read_borrowers(path: Path) -> list[BorrowerInfo]:
    """The borrowers of a source `write_source` wrote (reused by a later run)."""
    found: list[tuple[str, str, list[str], tuple[str, ...], bool]] = []
    with path.open("rb") as f:
        for line in f:
            row = json.loads(line)
            if not found or row["borrower_id"] != found[-1][0]:
                b = row["borrower"]
                phones = tuple(p["id"] for p in b["phones"])
                found.append((row["borrower_id"], b["residence"]["country"], [], phones,
                              bool(b["emails"])))  # fmt: skip
            found[-1][2].append(row["account_id"])
    return [(b_id, country, tuple(a), phones, email) for b_id, country, a, phones, email in found]


def event_rows(borrowers: list[BorrowerInfo], n: int, seed: int) -> Iterator[tuple[object, ...]]:
    """`n` sent events (60 % calls, 25 % SMS, 15 % e-mail) spread over the borrowers and days.

    Ids are 32 hex digits like uuid4 hex, but rising, so the primary-key index is appended to.
    """
    rng = random.Random(seed)
    rand, bits, nb, nc = rng.random, rng.getrandbits, len(borrowers), len(CALL_OUTCOMES)
    end = schema.to_micros(SWEEP_AT)
    midnight = schema.to_micros(SWEEP_AT.replace(hour=0, minute=0))
    for i in range(n):
        b_id, country, accounts, phones, email = borrowers[int(rand() * nb)]
        account, locale, r = accounts[int(rand() * len(accounts))], LOCALE[country], rand()
        template: str | None = None
        if r < 0.6:
            channel, contact = "call", phones[int(rand() * len(phones))]
            outcome = CALL_OUTCOMES[int(rand() * nc)]
        elif r < 0.85 or not email:
            channel, contact, outcome = "sms", phones[0], "sms_sent"
            template = f"{locale}/sms/first_reminder"
        else:
            channel, contact, outcome = "email", "e1", "email_sent"
            template = f"{locale}/email/first_reminder"
        initiator = "consumer" if outcome == "inbound_conversation" else "collector"
        dialer = "autodialer" if channel == "call" and rand() < 0.3 else "manual"
        day = midnight - int(rand() * HISTORY_DAYS) * DAY_US
        at = day + (8 - UTC_OFFSET_H[country]) * HOUR_US + int(rand() * 12 * HOUR_US)
        at = at - DAY_US if at >= end else at
        yield (
            f"{i:08x}{bits(96):024x}", b_id, account, f'["{account}"]', at, channel, contact,
            outcome, "sent", initiator, dialer, "borrower", "self", "collection", template,
            locale, "[]", PACKS[country], None, at, at,
        )  # fmt: skip


def load_events(db: Path, borrowers: list[BorrowerInfo], n: int, seed: int) -> None:
    """Insert the events in one transaction; the secondary indexes are rebuilt afterwards."""
    columns = [c.name for c in schema.events.columns]
    assert columns == EVENT_COLUMNS, columns
    sql = f"INSERT INTO {schema.events.name} ({', '.join(columns)}) "
    sql += f"VALUES ({', '.join('?' * len(columns))})"
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for pragma in ("journal_mode = MEMORY", "synchronous = OFF", "cache_size = -1000000"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA threads = 2")
        indexes = sorted(schema.events.indexes, key=lambda ix: str(ix.name))
        for ix in indexes:
            conn.execute(f"DROP INDEX {ix.name}")
        conn.execute("BEGIN")
        rows = event_rows(borrowers, n, seed)
        while batch := list(itertools.islice(rows, 200_000)):
            conn.executemany(sql, batch)
        for ix in indexes:  # the schema's own DDL
            conn.execute(str(CreateIndex(ix).compile(dialect=sqlite_dialect.dialect())))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()


def load_events_pg(url: str, borrowers: list[BorrowerInfo], n: int, seed: int) -> None:
    """The same events into PostgreSQL with COPY; the secondary indexes rebuilt afterwards."""
    import psycopg  # noqa: PLC0415 - only this leg needs the driver directly

    columns = [c.name for c in schema.events.columns]
    assert columns == EVENT_COLUMNS, columns
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    indexes = sorted(schema.events.indexes, key=lambda ix: str(ix.name))
    with psycopg.connect(dsn) as conn:
        for ix in indexes:
            conn.execute(f"DROP INDEX {ix.name}")
        copy_sql = f"COPY {schema.events.name} ({', '.join(columns)}) FROM STDIN"
        with conn.cursor().copy(copy_sql) as copy:
            rows = event_rows(borrowers, n, seed)
            while batch := list(itertools.islice(rows, 100_000)):
                copy.write("".join(
                    "\t".join("\\N" if v is None else str(v) for v in row) + "\n"
                    for row in batch
                ))  # fmt: skip
        conn.execute("SET maintenance_work_mem = '1GB'")
        for ix in indexes:  # the schema's own DDL
            conn.execute(str(CreateIndex(ix).compile(dialect=pg_dialect.dialect())))
        conn.commit()
        conn.execute("ANALYZE")


def pg_admin(server: str, sql: str) -> None:
    engine = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def write_changed(src: Path, dst: Path, every: int) -> int:
    """`src` with one row in `every` changed (days_past_due + 1); the number changed."""
    changed = 0
    with src.open("rb") as fin, dst.open("wb") as fout:
        for i, line in enumerate(fin):
            if i % every == every // 2:
                row = json.loads(line)
                row["debt"]["days_past_due"] += 1
                line = (json.dumps(row, ensure_ascii=False) + "\n").encode()  # noqa: PLW2901
                changed += 1
            fout.write(line)
    return changed


def make_due(db: Path, n: int, seed: int) -> int:
    """Exactly `n` random due plans due before DISPATCH_AT; every other one 30 days later."""
    later = schema.to_micros(DISPATCH_AT + timedelta(days=30))
    due = schema.to_micros(SWEEP_AT)
    table = schema.plans.name
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        query = f"SELECT account_id FROM {table} WHERE status = 'due' ORDER BY account_id"
        ids = [r[0] for r in conn.execute(query)]
        pick = random.Random(seed).sample(ids, min(n, len(ids)))
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"UPDATE {table} SET next_due_at = ? WHERE status = 'due'", (later,))
        sql = f"UPDATE {table} SET next_due_at = ? WHERE account_id = ?"
        conn.executemany(sql, ((due, a) for a in pick))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return len(pick)


# ---------------------------------------------------------------- timed parts (subprocesses)


def _rss_mb() -> float:
    """Current resident set size in MB (10^6 bytes)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _peak_rss_mb() -> float:
    """Peak RSS of this process image in MB: VmHWM, which exec resets.

    (`getrusage(RUSAGE_SELF).ru_maxrss` is not used: Linux carries the parent's high-water
    mark over fork and exec into it, so a child started by a big parent reports the parent's.)
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux


def _timed(fn: Callable[[], T], profile: str | None) -> tuple[T, dict[str, float]]:
    """`fn()` and its wall and CPU seconds; under cProfile (dumped to `profile`) if given."""
    prof = cProfile.Profile() if profile else None
    t0, c0 = perf_counter(), process_time()
    result = prof.runcall(fn) if prof else fn()
    times = {"seconds": perf_counter() - t0, "cpu_seconds": process_time() - c0}
    if prof and profile:
        prof.dump_stats(profile)
    return result, times


def child_read(spec: dict[str, Any]) -> dict[str, Any]:
    """A bare baseline: read the file line by line and json.loads each line (and parse it),
    or only digest each line."""
    from outreachd.sources import records  # noqa: PLC0415 - a fresh process imports it

    mode, every = spec["mode"], spec.get("every", 1)

    def run() -> int:
        n = 0
        with open(spec["source"], "rb") as f:
            for n, line in enumerate(f, start=1):
                if mode == "digest":  # the least an unchanged row can cost
                    hashlib.blake2b(line.rstrip(b"\r\n"), digest_size=16).hexdigest()
                    continue
                obj = json.loads(line)
                if mode == "parse" and n % every == 0:
                    records.parse(obj, n, SWEEP_AT.date())
        return n

    if mode == "parse" and every > 1:  # untimed: lazy metadata (phone regions, validators)
        with open(spec["source"], "rb") as f:  # loads on first use; scaled, it would count x10
            for n, line in enumerate(itertools.islice(f, 2000), start=1):
                records.parse(json.loads(line), n, SWEEP_AT.date())
    rows, times = _timed(run, spec.get("profile"))
    return times | {"rows": rows}


def child_sweep(spec: dict[str, Any]) -> dict[str, Any]:
    from outreachd.sources.jsonl import JsonlSource  # noqa: PLC0415
    from outreachd.sweep import sweep  # noqa: PLC0415

    ledger = Ledger(spec["url"])
    ledger.migrate()  # as the daemon does at start (untimed)
    now = datetime.fromisoformat(spec["now"])

    def run() -> Any:
        return sweep(source=JsonlSource(spec["source"]), ledger=ledger, now=now, log=NullLog())

    stats, times = _timed(run, spec.get("profile"))
    ledger.close()
    return times | {"stats": dataclasses.asdict(stats)}


def child_dispatch(spec: dict[str, Any]) -> dict[str, Any]:
    from outreachd import config  # noqa: PLC0415
    from outreachd.channels.outbox import Outbox  # noqa: PLC0415
    from outreachd.dispatch import Dispatcher, TickStats  # noqa: PLC0415
    from outreachd.render import Renderer  # noqa: PLC0415

    work, now = Path(spec["dir"]), datetime.fromisoformat(spec["now"])
    cfg = config.load(REPO / "config" / "demo.yaml")
    schedule = cfg.schedule.model_copy(update={"batch": spec["batch"]})
    cfg = dataclasses.replace(
        cfg, state_dir=work, ledger_url=spec["url"], outbox=work / "outbox.jsonl", schedule=schedule
    )
    ledger, renderer = Ledger(spec["url"]), Renderer(cfg.templates)
    ledger.migrate()  # as the daemon does at start (untimed)
    dispatcher = Dispatcher(
        ledger=ledger, config=cfg, renderer=renderer, channel=Outbox(cfg.outbox), owner="bench",
        log=NullLog(),
    )  # fmt: skip

    def run() -> tuple[TickStats, int]:
        total, ticks = TickStats(), 0
        while (stats := dispatcher.tick(now)).claimed:
            ticks += 1
            for f in dataclasses.fields(TickStats):
                if f.name != "by_reason":
                    setattr(total, f.name, getattr(total, f.name) + getattr(stats, f.name))
            for reason, count in stats.by_reason.items():
                total.by_reason[reason] = total.by_reason.get(reason, 0) + count
        return total, ticks

    (total, ticks), times = _timed(run, spec.get("profile"))
    n = total.sent or total.claimed
    box, envelopes = Outbox(work / "outbox-baseline.jsonl"), _envelopes(spec, cfg, renderer, n)
    _, base = _timed(lambda: [box.send(e) for e in envelopes], None)
    ledger.close()
    return times | {
        "ticks": ticks,
        "stats": dataclasses.asdict(total),
        "baseline_seconds": base["seconds"],
        "baseline_cpu_seconds": base["cpu_seconds"],
        "baseline_sends": n,
    }


def _envelopes(spec: dict[str, Any], cfg: Any, renderer: Any, n: int) -> list[Any]:
    """`n` envelopes of one pre-rendered SMS (a US account of the ledger), fresh attempt ids."""
    from outreachd import messages  # noqa: PLC0415
    from outreachd.channels.base import Envelope  # noqa: PLC0415
    from outreachd.sources import records  # noqa: PLC0415

    conn = sqlite3.connect(spec["db"])
    try:
        query = "SELECT payload FROM accounts WHERE account_id LIKE 'US-%' LIMIT 1"
        (payload,) = conn.execute(query).fetchone()
    finally:
        conn.close()
    rec = records.parse_payload(payload)
    option, message = next(
        iter(messages.options(rec, cfg, renderer, at=datetime.fromisoformat(spec["now"])))
    )
    envelope = Envelope(
        attempt_id="", account_id=rec.account_id, borrower_id=rec.borrower_id,
        debts=(rec.account_id,), contact_id=option.contact_id,
        address=messages.address(rec, option.contact_id),
        sent_at=datetime.fromisoformat(spec["now"]), message=message,
    )  # fmt: skip
    return [dataclasses.replace(envelope, attempt_id=uuid.uuid4().hex) for _ in range(n)]


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "read": child_read,
    "sweep": child_sweep,
    "dispatch": child_dispatch,
}


def child_main(spec: dict[str, Any]) -> int:
    rss_before = _rss_mb()
    out = CHILDREN[spec["kind"]](spec)
    out |= {"rss_before_mb": rss_before, "peak_rss_mb": _peak_rss_mb()}
    print(json.dumps(out))
    return 0


def run_child(name: str, spec: dict[str, Any], profile_dir: Path | None) -> dict[str, Any]:
    """Run one timed part in a fresh interpreter; its result (a dict)."""
    if profile_dir is not None:
        spec = spec | {"profile": str(profile_dir / f"{name}.prof")}
    print(f"  {name} ...", end="", flush=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed ({proc.returncode}):\n{proc.stderr}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f" {out['seconds']:.1f} s (CPU {out['cpu_seconds']:.1f} s), "
        f"peak RSS {out['peak_rss_mb']:.0f} MB, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    out["loadavg_after"] = os.getloadavg()[0]
    return out


# ---------------------------------------------------------------- the run


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Sizes:
    accounts: int
    events: int
    due: int
    batch: int

    @classmethod
    def of(cls, args: argparse.Namespace) -> Sizes:
        accounts = max(100, round(ACCOUNTS * args.scale))
        due = args.due if args.due is not None else min(DUE, max(10, accounts // 10))
        events = max(100, round(EVENTS * args.scale))
        return cls(accounts=accounts, events=events, due=due, batch=args.batch)


def build(
    work: Path, url: str, sizes: Sizes, seed: int, source: Path | None = None
) -> dict[str, Any]:
    """The source (or a copy of `source`, written by an earlier run with the same size and
    seed) and the ledger at `url` with its events, untimed; what was built."""
    src, db = work / "portfolio.jsonl", work / "ledger.db"
    t0 = perf_counter()
    if source is not None:
        shutil.copyfile(source, src)
        borrowers = read_borrowers(src)
    else:
        borrowers = write_source(src, sizes.accounts, seed)
    t1 = perf_counter()
    ledger = Ledger(url)
    ledger.migrate()
    ledger.close()
    if url.startswith("sqlite"):
        load_events(db, borrowers, sizes.events, seed)
        ledger_mb = db.stat().st_size / 1e6
    else:
        load_events_pg(url, borrowers, sizes.events, seed)
        ledger_mb = float("nan")
    t2 = perf_counter()
    rows = sum(len(b[2]) for b in borrowers)
    print(
        f"  source: {rows:,} rows, {len(borrowers):,} borrowers, "
        f"{src.stat().st_size / 1e6:,.0f} MB ({t1 - t0:.0f} s); "
        f"ledger: {sizes.events:,} events, {ledger_mb:,.0f} MB ({t2 - t1:.0f} s)",
        flush=True,
    )
    return {
        "rows": rows,
        "borrowers": len(borrowers),
        "source_mb": src.stat().st_size / 1e6,
        "ledger_mb": ledger_mb,
        "generate_seconds": t1 - t0,
        "load_events_seconds": t2 - t1,
    }


def run(
    work: Path, url: str, sizes: Sizes, seed: int, profile_dir: Path | None, *,
    source: Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Build, then time each part; the results. On PostgreSQL only the sweeps are timed."""
    src, src2, db = work / "portfolio.jsonl", work / "portfolio-changed.jsonl", work / "ledger.db"
    git = git_state()
    print(f"commit {git['commit'][:12]}{' (engine modified)' if git['dirty'] else ''}")
    print(f"building data in {work} (ledger {make_url(url).get_backend_name()})", flush=True)
    built = build(work, url, sizes, seed, source)
    print("timed parts (each in a fresh process):", flush=True)
    res: dict[str, Any] = {"built": built, "git": git, "database": make_url(url).get_backend_name()}
    for name, mode in (("read", "loads"), ("digest", "digest"), ("parse", "parse")):
        if name == "parse" and not url.startswith("sqlite"):
            continue  # the same file and code as in the SQLite leg; ~2 minutes at full size
        spec = {"kind": "read", "source": str(src), "mode": mode, "every": PARSE_EVERY}
        res[name] = run_child(f"read_{mode}", spec, profile_dir if mode == "parse" else None)
    if "parse" in res:  # every row read and loaded, one in PARSE_EVERY parsed: scale the parsing
        sample, read = res["parse"], res["read"]
        for key in ("seconds", "cpu_seconds"):
            sample[f"sampled_{key}"] = sample[key]
            sample[key] = read[key] + PARSE_EVERY * max(0.0, sample[key] - read[key])
        sample["parsed_every"] = PARSE_EVERY
    spec = {"kind": "sweep", "source": str(src), "url": url, "now": SWEEP_AT.isoformat()}
    res["full"] = run_child("sweep_full", spec, profile_dir)
    res["changed_rows"] = write_changed(src, src2, CHANGED_EVERY)
    spec |= {"source": str(src2), "now": (SWEEP_AT + timedelta(hours=1)).isoformat()}
    res["incremental"] = run_child("sweep_incremental", spec, profile_dir)
    spec |= {"now": (SWEEP_AT + timedelta(hours=2)).isoformat()}
    res["unchanged"] = run_child("sweep_unchanged", spec, profile_dir)
    if not url.startswith("sqlite"):
        return res
    res["due"] = make_due(db, sizes.due, seed)
    spec = {"kind": "dispatch", "dir": str(work), "db": str(db), "url": url}
    spec |= {"now": DISPATCH_AT.isoformat(), "batch": sizes.batch}
    res["dispatch"] = run_child("dispatch", spec, profile_dir)
    return res


# ---------------------------------------------------------------- the report


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def figures(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The table: figure, value, baseline, ratio, target, verdict."""
    read, full = res["read"], res["full"]
    incr, same = res["incremental"], res["unchanged"]
    full_s, read_s = full["seconds"], read["seconds"]

    def row(name: str, value: float, unit: str, base_name: str, base: float, **kw: Any) -> Any:
        return dict(figure=name, value=value, unit=unit, baseline=base_name, baseline_value=base,
                    ratio=kw.get("ratio", value / base if base else float("inf")),
                    ratio_unit=kw.get("ratio_unit", "x"), target=kw.get("target", "info"),
                    verdict=kw.get("verdict", "-"))  # fmt: skip

    pct = {"ratio_unit": "%", "target": f"<= {TARGET_INCR_PCT:g} % of full"}
    rss = {"target": f"<= {TARGET_RSS_MB:g} MB"}
    rows = [
        row("full sweep", full_s, "s", "bare read (json.loads)", read_s,
            target=f"<= {TARGET_SWEEP_X:g}x", verdict=_verdict(full_s <= TARGET_SWEEP_X * read_s)),
        *([row("full sweep", full_s, "s", "read + parse (est.)", res["parse"]["seconds"])]
          if "parse" in res else []),
        row("full sweep peak RSS", full["peak_rss_mb"], "MB", "bare read peak RSS",
            read["peak_rss_mb"], verdict=_verdict(full["peak_rss_mb"] <= TARGET_RSS_MB), **rss),
        row("incremental sweep (1 % changed)", incr["seconds"], "s", "full sweep", full_s,
            ratio=100 * incr["seconds"] / full_s,
            verdict=_verdict(incr["seconds"] <= full_s * TARGET_INCR_PCT / 100), **pct),
        row("incremental sweep peak RSS", incr["peak_rss_mb"], "MB", "bare read peak RSS",
            read["peak_rss_mb"], verdict=_verdict(incr["peak_rss_mb"] <= TARGET_RSS_MB), **rss),
        row("unchanged re-sweep", same["seconds"], "s", "full sweep", full_s,
            ratio=100 * same["seconds"] / full_s,
            verdict=_verdict(same["seconds"] <= full_s * TARGET_INCR_PCT / 100), **pct),
        row("unchanged re-sweep", same["seconds"], "s", "bare read + digest",
            res["digest"]["seconds"]),
        row("unchanged re-sweep peak RSS", same["peak_rss_mb"], "MB", "bare read peak RSS",
            read["peak_rss_mb"], verdict=_verdict(same["peak_rss_mb"] <= TARGET_RSS_MB), **rss),
    ]  # fmt: skip
    if "dispatch" not in res:
        return rows
    disp = res["dispatch"]
    sent, handled = disp["stats"]["sent"], disp["stats"]["claimed"]
    msg_s, plans_s = sent / disp["seconds"], handled / disp["seconds"]
    box_s = disp["baseline_sends"] / disp["baseline_seconds"]
    return [
        *rows,
        row("dispatch, sent messages/s", msg_s, "/s", "bare Outbox.send/s", box_s,
            ratio=box_s / msg_s if msg_s else float("inf"), ratio_unit="x slower",
            target=f">= {TARGET_MSG_S:,.0f}/s", verdict=_verdict(msg_s >= TARGET_MSG_S)),
        row("dispatch, handled plans/s", plans_s, "/s", "bare Outbox.send/s", box_s,
            ratio=box_s / plans_s if plans_s else float("inf"), ratio_unit="x slower"),
    ]  # fmt: skip


def _num(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:,.2f} s"
    return f"{value:,.0f} {unit}" if unit == "MB" else f"{value:,.0f}{unit}"


def report(res: dict[str, Any], sizes: Sizes, rows: list[dict[str, Any]]) -> None:
    b, d = res["built"], res.get("dispatch")
    database = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[res["database"]]
    print(
        f"\nbench_daemon  {b['rows']:,} accounts ({b['borrowers']:,} borrowers), "
        f"{sizes.events:,} events, {database}  python {platform.python_version()}"
    )
    head = f"{'figure':<34}{'value':>14}  {'baseline':<24}{'':>13}{'ratio':>14}  {'target':<18}"
    print(head + "result")
    for r in rows:
        unit = r["ratio_unit"]
        ratio = f"{r['ratio']:.1f} %" if unit == "%" else f"{r['ratio']:.1f}{unit}"
        print(
            f"{r['figure']:<34}{_num(r['value'], r['unit']):>14}  {r['baseline']:<24}"
            f"{_num(r['baseline_value'], r['unit']):>13}{ratio:>14}  {r['target']:<18}"
            f"{r['verdict']}"
        )
    for name in ("full", "incremental", "unchanged"):
        s = res[name]["stats"]
        print(
            f"sweep {name:<12} read {s['read']:,}  new {s['new']:,}  changed {s['changed']:,}  "
            f"unchanged {s['unchanged']:,}  planned {s['planned']:,}  retired {s['retired']:,}  "
            f"rejected {s['rejected']:,}  ({s['read'] / res[name]['seconds']:,.0f} rows/s)"
        )
    parse = res.get("parse")
    print(
        f"bare read {res['read']['rows'] / res['read']['seconds']:,.0f} rows/s"
        + (f", read + parse {parse['rows'] / parse['seconds']:,.0f} rows/s" if parse else "")
        + f"; {res['changed_rows']:,} rows changed for the incremental sweep"
    )
    cpu = {k: res[k]["cpu_seconds"] for k in ("read", "full", "incremental", "unchanged")}
    print(
        f"CPU time (robust to other load): full sweep {cpu['full']:,.1f} s = "
        f"{cpu['full'] / cpu['read']:.1f}x bare read"
        + (f", {cpu['full'] / parse['cpu_seconds']:.1f}x read + parse" if parse else "")
        + f"; incremental {100 * cpu['incremental'] / cpu['full']:.1f} %, unchanged "
        f"{100 * cpu['unchanged'] / cpu['full']:.1f} % of full (this process only: on "
        f"PostgreSQL the server's CPU is not in it)"
    )
    if d is not None:
        _report_dispatch(res, sizes, d)
    print("targets are informative; the exit status is 0 either way")


def _report_dispatch(res: dict[str, Any], sizes: Sizes, d: dict[str, Any]) -> None:
    s = d["stats"]
    reasons = sorted(s["by_reason"].items(), key=lambda kv: -kv[1])[:5]
    print(
        f"dispatch {res['due']:,} due plans at {DISPATCH_AT:%a %Y-%m-%d %H:%M} UTC, batch "
        f"{sizes.batch}, {d['ticks']} ticks: handled {s['claimed']:,}  sent {s['sent']:,}  "
        f"deferred {s['deferred']:,}  blocked {s['blocked']:,}  failed {s['failed']:,}  "
        f"unknown {s['unknown']:,}"
    )
    if reasons:
        print("blocked by: " + ", ".join(f"{k} {v:,}" for k, v in reasons))
    print(
        f"dispatch CPU: {s['sent'] / d['cpu_seconds']:,.0f} sent/CPU-s, Outbox.send "
        f"{d['baseline_sends'] / d['baseline_cpu_seconds']:,.0f}/CPU-s"
    )


def git_state() -> dict[str, object]:
    """The commit measured, and whether the engine's files differ from it (read-only git)."""

    def git(*cmd: str) -> str:
        proc = subprocess.run(["git", *cmd], capture_output=True, text=True, cwd=REPO, check=False)
        return proc.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": git("status", "--porcelain", "outreachd")}


def write_json(path_arg: str, args: argparse.Namespace, sizes: Sizes, res: Any, rows: Any) -> None:
    path = Path(path_arg) if Path(path_arg).is_absolute() else REPO / path_arg
    path.parent.mkdir(parents=True, exist_ok=True)
    machine = {"platform": platform.platform(), "cpus": os.cpu_count()}
    machine["affinity"] = len(os.sched_getaffinity(0))
    doc: dict[str, object] = dict(machine=machine, python=sys.version, scale=args.scale)
    doc |= dict(seed=args.seed, sizes=dataclasses.asdict(sizes), results=res, figures=rows)
    doc |= dict(sweep_at=SWEEP_AT.isoformat(), dispatch_at=DISPATCH_AT.isoformat())
    doc |= dict(loadavg_at_end=os.getloadavg(), git=res["git"])
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")


def print_profiles(profile_dir: Path, top: int) -> None:
    for name in ("sweep_full", "sweep_incremental", "dispatch"):
        if not (profile_dir / f"{name}.prof").exists():
            continue
        print(f"\n--- {name}: top {top} by own time ({profile_dir / name}.prof) ---")
        stats = pstats.Stats(str(profile_dir / f"{name}.prof"), stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1.0: 1M accounts, 10M events")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--due", type=int, help=f"plans due for the dispatch (default {DUE:,})")
    ap.add_argument("--batch", type=int, default=500, help="dispatcher batch (claim size)")
    ap.add_argument("--dir", help="where the temporary data directory goes (default: /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    out = "bench-results/daemon.json"
    ap.add_argument("--json", nargs="?", const=out, metavar="PATH", help=f"(default {out})")
    ap.add_argument("--profile", metavar="DIR", help="cProfile the timed parts into DIR")
    ap.add_argument(
        "--postgresql",
        nargs="?",
        const=PG_SERVER,
        metavar="URL",
        help=f"the ledger on this PostgreSQL server (default {PG_SERVER})",
    )
    ap.add_argument(
        "--keep-source",
        metavar="PATH",
        type=Path,
        help="keep the generated source there (for --source in a later run)",
    )
    ap.add_argument(
        "--source",
        metavar="PATH",
        type=Path,
        help="use a source a run with the same --scale and --seed kept",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(json.loads(args.child))
    sizes = Sizes.of(args)
    profile_dir = Path(args.profile).resolve() if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-daemon-", dir=args.dir))
    url, database = f"sqlite:///{work / 'ledger.db'}", None
    if args.postgresql:
        database = f"outreachd_bench_{uuid.uuid4().hex[:12]}"
        pg_admin(args.postgresql, f'CREATE DATABASE "{database}"')
        url = make_url(args.postgresql).set(database=database).render_as_string(False)
    try:
        res = run(work, url, sizes, args.seed, profile_dir, source=args.source)
        if args.keep_source:
            args.keep_source.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(work / "portfolio.jsonl", args.keep_source)
    finally:
        if database is not None:
            pg_admin(args.postgresql, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    rows = figures(res)
    report(res, sizes, rows)
    if profile_dir:
        print("(profiled run: cProfile inflates the times, read the shares)")
        print_profiles(profile_dir, 15)
    if args.json:
        write_json(args.json, args, sizes, res, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
