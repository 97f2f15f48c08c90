"""Three `outreachd run` processes sharing one PostgreSQL ledger behave like one: the sweep's
leader is killed mid-run and another takes the lead; every due plan is handled once, nothing is
sent twice, and an audit of the outboxes that does not use the engine finds no cap exceeded.

The portfolio: 120 borrowers in China, three debts each, all due at 10:00 Shanghai time. The
house pack allows one SMS and one e-mail per borrower per day, so each borrower sits one
contact below both caps and has three plans racing for two slots, on three instances (a
dispatcher claims two plans at a time, so a borrower's debts land on different instances)."""

from __future__ import annotations

import collections
import json
import signal
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from outreachd.ledger.store import Ledger
from tests.acceptance.daemon_kit import Daemon, Instance, until
from tests.conftest import REPO
from tests.integration.conftest import drop_ledger, make_ledger
from tests.integration.test_dispatch import cn_row

BORROWERS, DEBTS = 120, 3
CLOCK = "2026-12-01T02:00:00Z"  # Tuesday 10:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
CONFIG = """\
schema: outreachd-config/v1
profile: best_practice
collectors:
  CN: {{type: cn_lender}}
rules: {{packs: ["{rules}"]}}
state_dir: state
ledger: {{url: "{url}"}}
source: {{kind: jsonl, path: "{source}"}}
templates: "{templates}"
company:
  CN: {{name: "某某银行", callback: "95555", signature: "某某银行"}}
schedule: {{sweep_seconds: 1, dispatch_seconds: 0.1, batch: 2, lease_seconds: 3}}
channels: {{outbox: {{latency_ms: 10}}}}
"""


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    instance = make_ledger("postgresql", tmp_path / "pg")
    yield instance
    drop_ledger(instance)


def instances(tmp_path: Path, url: str, n: int) -> list[Instance]:
    source = tmp_path / "portfolio.jsonl"
    rows = [cn_row(b, d) for b in range(1, BORROWERS + 1) for d in range(1, DEBTS + 1)]
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    out = []
    for i in range(n):
        root = tmp_path / f"instance-{i}"
        root.mkdir()
        config = root / "outreachd.yaml"
        config.write_text(CONFIG.format(
            rules=REPO / "config" / "rules", url=url, source=source,
            templates=REPO / "templates",
        ), encoding="utf-8")  # fmt: skip
        out.append(Instance(root, config))
    return out


def leading(daemon: Daemon) -> bool:
    marks = daemon.events("sweep_leadership")
    return bool(marks) and marks[-1]["leading"] is True


def test_three_instances_one_ledger_kill_the_leader(tmp_path: Path, ledger: Ledger) -> None:
    deployments = instances(tmp_path, ledger.url, 3)
    daemons = [Daemon(d, clock_start=CLOCK) for d in deployments]
    try:
        for daemon in daemons:
            daemon.wait_for("READY=1", timeout=60)
        until(lambda: sum(map(leading, daemons)) == 1, timeout=30)
        (leader,) = [d for d in daemons if leading(d)]
        until(lambda: leader.events("sweep_finished"), timeout=60)
        assert leader.events("sweep_finished")[0]["new"] == BORROWERS * DEBTS
        until(lambda: sum(len(d.outbox_lines()) for d in deployments) >= 20, timeout=60)
        leader.proc.send_signal(signal.SIGKILL)  # mid-run: its leases are left to expire
        leader.proc.wait(10)
        others = [d for d in daemons if d is not leader]
        until(lambda: any(map(leading, others)), timeout=30)
        until(lambda: settled(ledger), timeout=120)
        for daemon in others:
            daemon.proc.send_signal(signal.SIGTERM)
        for daemon in others:
            assert daemon.proc.wait(30) == 0
    finally:
        for daemon in daemons:
            daemon.close()

    audit(deployments, ledger)
    # the dead leader's last chunk: reserved, partly written, never recorded: still counted
    assert deployments[daemons.index(leader)].outbox_lines()
    # the lead moved: a survivor led the sweep after the leader died
    assert any(leading(d) for d in others)


def audit(deployments: list[Instance], ledger: Ledger) -> None:
    """What a run of instances sharing `ledger` must leave, checked without the engine."""
    sent = [line for d in deployments for line in d.outbox_lines()]
    events = [r for r in ledger.export() if r["record"] == "event"]
    by_id = {e["id"]: e for e in events}
    # nothing sent twice, and nothing sent without its ledger record
    ids = [line["attempt_id"] for line in sent]
    assert len(ids) == len(set(ids))
    assert all(i in by_id for i in ids)
    # the independent audit: per borrower and Shanghai day, at most one SMS and one e-mail,
    # counting every attempt the ledger holds that may have gone out
    counted = [e for e in events if e["status"] in ("sending", "sent", "unknown")]
    per_day = collections.Counter(
        (e["borrower_id"], e["channel"], _day(str(e["at"]))) for e in counted
    )
    assert max(per_day.values()) == 1, per_day.most_common(3)
    assert {line["attempt_id"] for line in sent} <= {e["id"] for e in counted}
    # every due plan handled exactly once: one step per debt at most, none left due now
    steps = collections.Counter(e["account_id"] for e in counted)
    assert max(steps.values()) == 1
    assert len(counted) == 2 * BORROWERS  # an SMS and an e-mail each; the third debt waits
    assert settled(ledger)


def settled(ledger: Ledger) -> bool:
    """Every plan stored, and none due before the next Shanghai day."""
    plans = ledger.plans()
    cutoff = datetime(2026, 12, 1, 16, 0, tzinfo=ZoneInfo("UTC"))  # 2 December, 00:00 Shanghai
    due = [p for p in plans if p.status == "due" and p.next_due_at and p.next_due_at < cutoff]
    return len(plans) == BORROWERS * DEBTS and not due


def _day(at: str) -> str:
    instant = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return instant.astimezone(SHANGHAI).date().isoformat()
