"""`outreachd run` as systemd runs it: readiness, sends, reload, clean stop."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.acceptance.daemon_kit import Daemon, Deployment, until, write_config


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    """A small deployment: 60 sample borrowers, SQLite ledger, outbox channel."""
    return Deployment(tmp_path)


def test_daemon_lifecycle(deployment: Deployment) -> None:
    """READY after checks, sends into the outbox, reloads a valid config, keeps the old one
    on an invalid config, and on SIGTERM stops cleanly with nothing left 'sending'."""
    daemon = Daemon(deployment)
    try:
        daemon.wait_for("READY=1")
        until(lambda: len(deployment.outbox_lines()) >= 5)
        until(lambda: daemon.events("sweep_finished"))
        assert daemon.events("sweep_finished")[0]["new"] > 0

        write_config(deployment.config, batch=7)
        daemon.proc.send_signal(signal.SIGHUP)
        assert "RELOADING=1" in daemon.wait_for("READY=1")
        until(lambda: daemon.events("config_reloaded"))

        deployment.config.write_text("schema: outreachd-config/v1\nprofile: bogus\n")
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for("READY=1")
        until(lambda: daemon.events("config_reload_failed"))
        problems = daemon.events("config_reload_failed")[0]["problems"]
        assert any(f"{deployment.config}:2:10: profile:" in p for p in problems)  # type: ignore[union-attr]
        assert daemon.proc.poll() is None, "an invalid reload must not stop the daemon"

        daemon.proc.send_signal(signal.SIGTERM)
        daemon.wait_for("STOPPING=1")
        assert daemon.proc.wait(30) == 0
    finally:
        daemon.close()
    rows = deployment.ledger_rows()
    sent = {r["id"] for r in rows if r["status"] == "sent"}
    outbox = [line["attempt_id"] for line in deployment.outbox_lines()]
    assert not [r for r in rows if r["status"] == "sending"]
    assert len(outbox) == len(set(outbox)), "a message appears twice in the outbox"
    assert set(outbox) == sent, "every outbox line has exactly one 'sent' ledger event"


def test_logs_are_json_and_masked(deployment: Deployment) -> None:
    """Every log line is JSON; sends name rule packs, never a full number, address or body."""
    daemon = Daemon(deployment)
    try:
        daemon.wait_for("READY=1")
        until(lambda: daemon.events("outreach_sent") and daemon.events("outreach_deferred"))
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(30) == 0
    finally:
        daemon.close()
    assert not daemon.events("unparsed")
    addresses = {str(line["address"]) for line in deployment.outbox_lines()}
    bodies = {str(line["body"]) for line in deployment.outbox_lines()}
    text = "\n".join(map(str, daemon.logs))
    assert not [a for a in addresses if a in text], "a contact address leaked into the logs"
    assert not [b for b in bodies if b in text], "a message body leaked into the logs"
    deferred = daemon.events("outreach_deferred")[0]
    assert deferred["until"] and deferred["rule_ids"] and deferred["candidate_zones"]
