"""Twilio's status callbacks into the ledger, over real HTTP on loopback, on both ledgers:
signed or refused, idempotent, never backwards, and what an error code proves is learned."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from twilio.request_validator import RequestValidator

from outreachd.config import WebhooksIn
from outreachd.dispatch import INVALID_CONTACT
from outreachd.ledger.store import Attempt, Ledger
from outreachd.webhooks import STATUS_PATH, WebhookServer

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
TOKEN = "callback-token"  # a test double's auth token
PUBLIC = "https://hooks.example/outreachd"


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))

    warning = error = info


@pytest.fixture
def hooks(ledger: Ledger) -> Iterator[tuple[WebhookServer, Log]]:
    log = Log()
    server = WebhookServer(
        WebhooksIn(listen="127.0.0.1:0", public_url=PUBLIC),
        ledger=lambda: ledger, auth_token=TOKEN, log=log, clock=lambda: NOW,
    )  # fmt: skip
    server.start()
    try:
        yield server, log
    finally:
        server.stop()


def sent(ledger: Ledger, sid: str, borrower: str = "B1") -> str:
    """An SMS attempt Twilio accepted as `sid`; its attempt id."""
    attempt = Attempt(
        id=uuid4().hex, borrower_id=borrower, account_id=None, debts=("D1",), at=NOW,
        channel="sms", contact_id="m1", template=None, locale=None, rule_ids=(), packs=(),
    )  # fmt: skip
    with ledger.borrower_txn(borrower) as txn:
        txn.reserve(attempt, NOW)
    ledger.record(attempt.id, "sent", "sms_sent", provider_id=sid)
    return attempt.id


def post(
    server: WebhookServer, form: dict[str, str], *, sign: bool = True, body: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    data = body if body is not None else urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{STATUS_PATH}", data=data, method="POST"
    )
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if sign:
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC + STATUS_PATH, form)
        request.add_header("X-Twilio-Signature", signature)
    return _send(request)


def _send(request: urllib.request.Request) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def status_of(ledger: Ledger, attempt_id: str) -> str:
    (event,) = [e for e in ledger.export() if e["id"] == attempt_id]
    return str(event["status"])


def test_a_delivery_receipt_is_recorded_once_and_never_goes_backwards(
    ledger: Ledger, hooks: tuple[WebhookServer, Log]
) -> None:
    """delivered moves the attempt on; the same callback again, or a late 'sent', is
    acknowledged and changes nothing."""
    server, _ = hooks
    attempt = sent(ledger, "SM1")
    assert post(server, {"MessageSid": "SM1", "MessageStatus": "delivered"}) == (
        200, {"recorded": True},
    )  # fmt: skip
    assert status_of(ledger, attempt) == "delivered"
    for late in ("delivered", "sent", "queued"):
        assert post(server, {"MessageSid": "SM1", "MessageStatus": late}) == (
            200, {"recorded": False},
        )  # fmt: skip
    assert status_of(ledger, attempt) == "delivered"


@pytest.mark.parametrize(
    ("code", "flag"),
    [
        ("21610", ("address_opt_outs", {"add": ["sms:m1"]})),
        ("30003", (INVALID_CONTACT, {"contact_id": "m1", "channel": "sms"})),
        ("30007", None),  # filtered by the carrier: nothing proven about the number
    ],
)
def test_an_undelivered_message_teaches_what_its_error_code_proves(
    ledger: Ledger, hooks: tuple[WebhookServer, Log], code: str, flag: Any
) -> None:
    """undelivered -> failed; the flag is raised once, however often Twilio calls back."""
    server, _ = hooks
    attempt = sent(ledger, "SM2")
    form = {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": code}
    for _ in range(3):
        assert post(server, form)[0] == 200
    assert status_of(ledger, attempt) == "failed"
    with ledger.borrower_txn("B1") as txn:
        found = txn.flags(["address_opt_outs", INVALID_CONTACT]).get("B1", [])
    assert [(f.name, f.value) for f in found] == ([flag] if flag else [])
    assert all(f.source == f"twilio-status:{code}" for f in found)


def test_unsigned_or_forged_callbacks_are_refused(
    ledger: Ledger, hooks: tuple[WebhookServer, Log]
) -> None:
    """No signature, or one made with another token: 403, logged, nothing recorded."""
    server, log = hooks
    attempt = sent(ledger, "SM3")
    form = {"MessageSid": "SM3", "MessageStatus": "delivered"}
    assert post(server, form, sign=False)[0] == 403
    forged = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{STATUS_PATH}",
        data=urllib.parse.urlencode(form).encode(), method="POST",
    )  # fmt: skip
    forged.add_header(
        "X-Twilio-Signature",
        RequestValidator("another-token").compute_signature(PUBLIC + STATUS_PATH, form),
    )
    assert _send(forged)[0] == 403
    assert status_of(ledger, attempt) == "sent"
    assert [e for e, _ in log.lines].count("webhook_rejected") == 2
    assert TOKEN not in repr(log.lines)


def test_malformed_requests_get_400_or_404_never_a_crash(
    ledger: Ledger, hooks: tuple[WebhookServer, Log]
) -> None:
    """A body that is not a form, a signed form without its fields, an unknown status, an
    unknown path; the server keeps answering, and an unknown SID is simply acknowledged."""
    server, _ = hooks
    assert post(server, {}, body=b"\xff\xfe not a form")[0] == 400
    assert post(server, {"MessageStatus": "delivered"})[0] == 400
    assert post(server, {"MessageSid": "SM4", "MessageStatus": "teleported"})[0] == 400
    assert post(server, {"MessageSid": "SM-unknown", "MessageStatus": "delivered"}) == (
        200, {"recorded": False},
    )  # fmt: skip
    missing = urllib.request.Request(f"http://127.0.0.1:{server.port}/nope", method="GET")
    assert _send(missing)[0] == 404
    health = urllib.request.Request(f"http://127.0.0.1:{server.port}/healthz", method="GET")
    assert _send(health) == (200, {"status": "ok"})
