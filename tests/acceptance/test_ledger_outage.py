"""The database goes away while `outreachd run` is sending, and comes back.

PostgreSQL: the daemon's ledger is a database of its own; mid-dispatch it stops taking
connections and every session on it is killed (`pg_terminate_backend`), as when the server
restarts, for several seconds. SQLite: another process holds the write lock for longer than
the busy timeout.

Either way the daemon must send nothing it has not recorded, log `ledger_unavailable` and wait
longer between tries, come back by itself (`ledger_recovered`) when the database does, and
leave the same ledger a run without the outage would: nothing sent twice, no cap exceeded,
every due plan handled once, nothing left `sending` after a clean stop.
"""

from __future__ import annotations

import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from outreachd.ledger.store import Ledger
from tests.acceptance.daemon_kit import Daemon, until
from tests.acceptance.test_instances import BORROWERS, CLOCK, audit, instances, settled
from tests.integration.conftest import PG_URL, drop_ledger, make_ledger, require_pg

OUTAGE_S = 7.0  # longer than SQLite's 5 s busy timeout: ticks fail, not merely wait


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        instance = make_ledger("sqlite", tmp_path / "db")
        yield instance
        drop_ledger(instance)
        return
    require_pg()  # skips, or under CI fails, when there is no server
    name = f"outreachd_outage_{uuid.uuid4().hex[:12]}"
    admin(f'CREATE DATABASE "{name}"')
    instance = Ledger(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    try:
        instance.migrate()
        yield instance
    finally:
        instance.close()
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin(f'DROP DATABASE "{name}" WITH (FORCE)')


def admin(sql: str) -> list[Any]:
    """`sql` run on the server's `postgres` database (never the one under test)."""
    engine = create_engine(
        make_url(PG_URL).set(database="postgres"), poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
    )  # fmt: skip
    try:
        with engine.connect() as conn:
            result = conn.exec_driver_sql(sql)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def pg_outage(database: str) -> int:
    """No connections to `database` for OUTAGE_S seconds, and its sessions killed at the
    start and again each second (as a restart would); how many sessions were killed."""
    killed = 0
    admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        deadline = time.monotonic() + OUTAGE_S
        while time.monotonic() < deadline:
            kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            killed += len(admin(f"{kill} WHERE datname = '{database}'"))
            time.sleep(1.0)
    finally:
        admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    return killed


def sqlite_outage(url: str) -> None:
    """Hold SQLite's write lock for OUTAGE_S seconds, as a stuck backup or tool would."""
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=10)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(OUTAGE_S)
        conn.rollback()
    finally:
        conn.close()


def test_the_ledger_goes_away_mid_dispatch_and_comes_back(tmp_path: Path, ledger: Ledger) -> None:
    postgres = ledger.url.startswith("postgresql")
    (deployment,) = instances(tmp_path, ledger.url, 1)
    daemon = Daemon(deployment, clock_start=CLOCK)
    killed = 0
    try:
        daemon.wait_for("READY=1", timeout=60)
        until(lambda: len(deployment.outbox_lines()) >= 10, timeout=60)
        before = len(deployment.outbox_lines())
        started = time.monotonic()
        if postgres:
            killed = pg_outage(str(make_url(ledger.url).database))
        else:
            sqlite_outage(ledger.url)
        outage_s = time.monotonic() - started
        until(lambda: daemon.events("ledger_recovered"), timeout=60)
        until(lambda: settled(ledger), timeout=120)
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(30) == 0
    finally:
        daemon.close()

    # the outage happened mid-run, and was felt
    assert before < 2 * BORROWERS
    if postgres:
        assert killed > 0, "no daemon session was killed"
    failures = daemon.events("ledger_unavailable")
    assert failures, [e["event"] for e in daemon.logs[-20:]]
    # it backed off: far fewer tries than ticks at its 0.1 s interval in the outage
    assert len(failures) < outage_s / 0.1 / 3, len(failures)
    delays = [float(str(e["retry_in_s"])) for e in failures]
    assert delays == sorted(delays)  # each wait at least as long as the one before
    if postgres:  # (SQLite's busy timeout makes each try wait 5 s: one or two tries fail)
        assert max(delays) > min(delays)
    # and came back by itself, and said so
    (recovered, *_) = daemon.events("ledger_recovered")
    assert float(str(recovered["down_s"])) > 0
    # no error escaped the ledger's own handling (a crash in a job would show here)
    assert not daemon.events("job_failed"), daemon.events("job_failed")[:1]
    # the same ledger a run without the outage leaves
    audit([deployment], ledger)
    statuses = {e["status"] for e in ledger.export() if e.get("record") == "event"}
    assert statuses == {"sent"}  # a clean stop leaves nothing `sending`
