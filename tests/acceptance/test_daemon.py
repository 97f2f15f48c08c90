"""`outreachd run` as systemd runs it: readiness, sends, reload, clean stop."""

from __future__ import annotations

import signal
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.acceptance.daemon_kit import Daemon, Deployment, until, write_config
from tests.conftest import REPO


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


def test_webhooks_listen_while_the_daemon_runs(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `webhooks` configured the daemon answers /healthz once READY, a forged status
    callback gets 403, and SIGTERM closes the listener with the rest."""
    monkeypatch.setenv("OUTREACHD_TWILIO_AUTH_TOKEN", "daemon-test-token")
    twilio = f"  twilio: {{account_sid: AC{'0' * 32}, senders: {{US: {{from: '+12125550100'}}}}}}\n"
    replies = f"replies: '{REPO / 'config' / 'replies.yaml'}'"
    daemon, base = _serving(deployment, twilio, replies)
    try:
        forged = urllib.request.Request(
            f"{base}/twilio/status", data=b"MessageSid=SM1&MessageStatus=delivered", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=5)
        assert refused.value.code == 403
        refused.value.close()
        until(lambda: daemon.events("webhook_rejected"))
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(30) == 0
    finally:
        daemon.close()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/healthz", timeout=2)


def test_webhooks_without_twilio_serve_the_one_click_unsubscribe(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E-mail's one-click unsubscribe is enough for webhooks: the daemon serves it and
    /healthz, and not Twilio's paths (there is no token to check their signatures)."""
    monkeypatch.delenv("OUTREACHD_TWILIO_AUTH_TOKEN", raising=False)
    smtp = (
        "  smtp: {host: 127.0.0.1, from: 'Acme <care@acme.example>',"
        " list_unsubscribe: 'mailto:optout@acme.example', one_click: true}\n"
    )
    daemon, base = _serving(deployment, smtp, "")
    try:
        for path, data in (
            ("/email/unsubscribe?attempt=" + "0" * 32, None),
            ("/twilio/status", b"MessageSid=SM1&MessageStatus=delivered"),
        ):
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(urllib.request.Request(f"{base}{path}", data=data),
                                       timeout=5)  # fmt: skip
            assert missing.value.code == 404
            missing.value.close()
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(30) == 0
    finally:
        daemon.close()


def _serving(deployment: Deployment, channels: str, webhooks: str) -> tuple[Daemon, str]:
    """The daemon with `channels` (YAML lines under channels:) and webhooks on a free port
    (`webhooks`: more of their settings), READY and answering /healthz; it and its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    more = f", {webhooks}" if webhooks else ""
    write_config(
        deployment.config,
        channels=f"channels:\n  outbox: {{latency_ms: 0}}\n{channels}"
        f"webhooks: {{listen: '127.0.0.1:{port}', public_url: 'https://hooks.example'{more}}}\n",
    )
    daemon = Daemon(deployment)
    base = f"http://127.0.0.1:{port}"
    try:
        daemon.wait_for("READY=1")
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
            assert answer.status == 200
    except BaseException:
        daemon.close()
        raise
    return daemon, base
