"""Twilio's status callbacks into the ledger, over real HTTP on loopback, on both ledgers:
signed or refused, idempotent, never backwards, and what an error code proves is learned."""

from __future__ import annotations

import collections
import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from outreachd import config, messages, replies
from outreachd.channels.smtp import ONE_CLICK_PATH
from outreachd.config import WebhooksIn
from outreachd.ledger.store import Attempt, Ledger, Plan, Recorded
from outreachd.overlay import INVALID_CONTACT
from outreachd.render import Renderer
from outreachd.replies import FLAG_OF
from outreachd.sources import records
from outreachd.webhooks import SMS_PATH, STATUS_PATH, WebhookServer
from tests.acceptance.daemon_kit import write_config
from tests.acceptance.test_cli import run
from tests.conftest import REPO
from tests.integration.test_dispatch import Log

TODAY = date(2026, 12, 1)  # the (UTC) day the sources are read on

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
TOKEN = "callback-token"  # a test double's auth token
PUBLIC = "https://hooks.example/outreachd"
READINGS = replies.load(REPO / "config" / "replies.yaml")


@pytest.fixture
def hooks(ledger: Ledger) -> Iterator[tuple[WebhookServer, Log]]:
    log = Log()
    server = WebhookServer(
        WebhooksIn(listen="127.0.0.1:0", public_url=PUBLIC),
        ledger=lambda: ledger, auth_token=TOKEN, replies=READINGS, log=log, clock=lambda: NOW,
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


def signed(
    server: WebhookServer, path: str, form: dict[str, str], *, token: str | None = TOKEN,
    body: bytes | None = None,
) -> urllib.request.Request:  # fmt: skip
    """A POST of `form` to `path`, signed with `token` as Twilio would (None: unsigned)."""
    data = body if body is not None else urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", data=data, method="POST"
    )
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if token is not None:
        signature = RequestValidator(token).compute_signature(PUBLIC + path, form)
        request.add_header("X-Twilio-Signature", signature)
    return request


def post(
    server: WebhookServer, form: dict[str, str], *, sign: bool = True, body: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    return _send(signed(server, STATUS_PATH, form, token=TOKEN if sign else None, body=body))


EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def post_to(server: WebhookServer, path: str, form: dict[str, str]) -> tuple[int, Any]:
    """An unsigned POST."""
    return _send(signed(server, path, form, token=None))


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
    assert _send(signed(server, STATUS_PATH, form, token="another-token"))[0] == 403
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


def test_without_one_click_the_unsubscribe_path_is_not_served(
    ledger: Ledger, hooks: tuple[WebhookServer, Log]
) -> None:
    """channels.smtp.one_click off: even a real e-mail attempt's unsubscribe URL is 404 and
    records nothing (the URL was never offered)."""
    server, _ = hooks
    attempt = Attempt(
        id=uuid4().hex, borrower_id="B1", account_id=None, debts=("D1",), at=NOW,
        channel="email", contact_id="e1", template=None, locale=None, rule_ids=(), packs=(),
    )  # fmt: skip
    with ledger.borrower_txn("B1") as txn:
        txn.reserve(attempt, NOW)
    path = f"{ONE_CLICK_PATH}?attempt={attempt.id}"
    assert post_to(server, path, {"List-Unsubscribe": "One-Click"})[0] == 404
    with ledger.borrower_txn("B1") as txn:
        assert txn.flags(["address_opt_outs"]) == {}


# --- replies -------------------------------------------------------------------------------

NUMBER = "+12125550147"


def with_borrower(ledger: Ledger, borrower: str = "US-0001", debts: int = 2) -> None:
    """A New York borrower with `debts` accounts, all reachable at NUMBER (contact m1)."""
    rows = []
    for d in range(1, debts + 1):
        row = {
            "account_id": f"{borrower}-{d}", "borrower_id": borrower,
            "borrower": {
                "name": {"given": "Ana", "family": "Diaz"},
                "residence": {"country": "US", "state": "NY", "tz": "America/New_York"},
                "phones": [{"id": "m1", "kind": "mobile", "number": NUMBER,
                            "tcpa_consent": True, "regf_text_ok": True}],
            },
            "debt": {"creditor": "Acme Bank", "balance": "100.00", "currency": "USD",
                     "days_past_due": 20},
        }  # fmt: skip
        rec = records.parse(row, d, TODAY)
        assert not isinstance(rec, records.Rejected)
        rows.append(rec)
    ledger.sync_accounts(rows, NOW)


def reply(server: WebhookServer, body: str, sid: str = "SMr1") -> tuple[int, str]:
    form = {"MessageSid": sid, "From": NUMBER, "To": "+12125550100", "Body": body}
    with urllib.request.urlopen(signed(server, SMS_PATH, form), timeout=5) as answer:
        return answer.status, answer.read().decode()


def learned(ledger: Ledger, borrower: str = "US-0001") -> list[tuple[str, Any]]:
    with ledger.borrower_txn(borrower) as txn:
        names = ["address_opt_outs", INVALID_CONTACT, *FLAG_OF.values()]
        return [(f.name, f.value) for f in txn.flags(names).get(borrower, [])]


def test_stop_opts_the_number_out_with_exactly_one_confirmation(
    ledger: Ledger, hooks: tuple[WebhookServer, Log]
) -> None:
    """STOP: an SMS opt-out of that number for the borrower, one confirmation in TwiML and in
    the ledger; Twilio delivering the same message again changes and sends nothing."""
    server, _ = hooks
    with_borrower(ledger)
    status, twiml = reply(server, "Stop")
    assert status == 200 and twiml.count("<Message>") == 1 and "unsubscribed" in twiml
    assert learned(ledger) == [("address_opt_outs", {"add": ["sms:m1"]})]
    assert [(r["body"], r["class"], r["matched"]) for r in ledger.replies_of("US-0001")] == [
        ("Stop", "stop", "STOP")
    ]
    assert reply(server, "Stop") == (200, EMPTY)
    assert learned(ledger) == [("address_opt_outs", {"add": ["sms:m1"]})]
    events = [e for e in ledger.export() if e["record"] == "event"]
    assert sorted(e["status"] for e in events) == ["inbound", "sent"]
    (answer,) = [e for e in events if e["status"] == "sent"]
    assert (answer["purpose"], answer["template"]) == ("transactional", "reply/stop")
    status, twiml = reply(server, "START", sid="SMr2")
    assert "resubscribed" in twiml
    assert learned(ledger)[-1] == ("address_opt_outs", {"remove": ["sms:m1"]})


def test_stop_from_a_known_borrower_is_confirmed_with_the_opt_out_template(
    ledger: Ledger,
) -> None:
    """The confirmation is the borrower's `opt_out_confirmation` SMS template (their language,
    the company's name, nothing but the confirmation); a number no account holds gets the
    replies file's text."""
    cfg = config.load(REPO / "config" / "demo.yaml")
    renderer = Renderer(cfg.templates)
    server = WebhookServer(
        WebhooksIn(listen="127.0.0.1:0", public_url=PUBLIC), ledger=lambda: ledger,
        auth_token=TOKEN, replies=READINGS, log=Log(), clock=lambda: NOW,
        confirm=lambda rec, at: messages.opt_out_confirmation(rec, cfg, renderer, at),
    )  # fmt: skip
    server.start()
    try:
        with_borrower(ledger)
        status, twiml = reply(server, "STOP")
        assert status == 200 and twiml.count("<Message>") == 1
        assert "Acme Recovery: you will get no more texts from us at this number." in twiml
        assert "CA lic. 10012-99" in twiml and "debt" not in twiml.lower()
        events = [e for e in ledger.export() if e["record"] == "event" and e["status"] == "sent"]
        assert [(e["template"], e["locale"]) for e in events] == [
            ("en-US/sms/opt_out_confirmation", "en-US")
        ]
        form = {"MessageSid": "SMu", "From": "+12125550199", "To": "+12125550100", "Body": "STOP"}
        with urllib.request.urlopen(signed(server, SMS_PATH, form), timeout=5) as answer:
            assert "You have been unsubscribed" in answer.read().decode()  # replies.yaml
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("body", "flags", "handoff"),
    [
        ("stop texting me, I lost my job", [("address_opt_outs", {"add": ["sms:m1"]})], "stop"),
        ("I lost my job last month", [("hardship", True)], "hardship"),
        ("不是我的", [("dispute_any_form", True)], "dispute"),
        ("my attorney will call you", [("attorney_represented", True)], "attorney"),
        (
            "wrong number",
            [(INVALID_CONTACT, {"contact_id": "m1", "channel": "sms"})],
            "wrong_number",
        ),
        ("我下周五还", [], "promise_to_pay"),
        ("ok", [], "other"),
    ],
)
def test_free_text_raises_its_flag_and_a_hand_off(
    ledger: Ledger, hooks: tuple[WebhookServer, Log], body: str, flags: Any, handoff: str
) -> None:
    """The class that restricts contact most wins; a person gets the message (with the other
    classes found) to act on, and nothing is answered automatically but stop/start/help."""
    server, log = hooks
    with_borrower(ledger)
    status, twiml = reply(server, body)
    assert status == 200 and (twiml == EMPTY) == (handoff != "stop")
    assert learned(ledger) == flags
    (kind, reason) = ledger.handoffs("US-0001")[0]
    assert kind == handoff and body in reason
    if handoff == "stop":
        assert "(also: hardship)" in reason
    (line,) = [f for e, f in log.lines if e == "reply_received"]
    assert line["reply_class"] == handoff and NUMBER not in repr(line)
    assert set(line) == {"provider_id", "reply_class", "classes", "matched", "triggered",
                         "borrowers", "repeated"}  # fmt: skip
    (kept,) = ledger.replies_of("US-0001")
    assert (kept["body"], kept["class"]) == (body, handoff)


def test_help_answers_and_an_unknown_number_goes_to_a_person(
    ledger: Ledger, hooks: tuple[WebhookServer, Log]
) -> None:
    """HELP gets the help text; a reply from a number no account holds raises no flag and
    opens an unmatched hand-off; an unsigned reply is refused."""
    server, _ = hooks
    status, twiml = reply(server, "HELP", sid="SMh")
    assert status == 200 and "Questions about your account" in twiml
    assert reply(server, "not my debt", sid="SMu")[1] == EMPTY
    assert ledger.handoffs("")[-1][0] == "unmatched_reply"
    form = {"MessageSid": "SMx", "From": NUMBER, "Body": "STOP"}
    assert post_to(server, SMS_PATH, form)[0] == 403


def test_a_flood_of_callbacks_loses_nothing(
    ledger: Ledger, hooks: tuple[WebhookServer, Log]
) -> None:
    """1,000 delivery receipts from 16 concurrent senders, each sent twice: every one
    answered 200, every attempt delivered exactly once."""
    server, _ = hooks
    sids = [f"SM{n:032x}" for n in range(1000)]
    attempts = [
        Attempt(
            id=uuid4().hex,
            borrower_id=f"B{n % 50}",
            account_id=None,
            debts=("D1",),
            at=NOW,
            channel="sms",
            contact_id="m1",
            template=None,
            locale=None,
            rule_ids=(),
            packs=(),
        )
        for n in range(1000)
    ]
    with ledger.borrowers_txn({a.borrower_id for a in attempts}) as txn:
        txn.reserve_many(attempts, NOW)
    ledger.record_many(
        [Recorded(a.id, "sent", "sms_sent", sid) for a, sid in zip(attempts, sids, strict=True)]
    )
    forms = [{"MessageSid": sid, "MessageStatus": "delivered"} for sid in sids] * 2
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda form: post(server, form), forms))
    assert [status for status, _ in answers] == [200] * 2000
    assert sum(body["recorded"] for _, body in answers) == 1000
    statuses = collections.Counter(e["status"] for e in ledger.export() if e["record"] == "event")
    assert statuses == {"delivered": 1000}


def test_check_needs_the_twilio_token_when_webhooks_are_on(tmp_path: Path) -> None:
    """Webhooks check signatures with Twilio's auth token: `check` fails without it (even
    when SMS is not routed to Twilio), names where it should be, and passes with it."""
    path = tmp_path / "outreachd.yaml"
    hooks = (
        "channels:\n"
        f"  twilio: {{account_sid: AC{'0' * 32}, senders: {{US: {{from: '+12125550100'}}}}}}\n"
        "webhooks: {listen: '127.0.0.1:8099', public_url: 'https://hooks.example',"
        f" replies: '{REPO / 'config' / 'replies.yaml'}'}}\n"
    )
    write_config(path, channels=hooks)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    failed = run("check", "--config", str(path), env=env)
    assert failed.returncode == 1
    assert "webhooks: secret not found" in failed.stderr
    assert "OUTREACHD_TWILIO_AUTH_TOKEN" in failed.stderr
    env["OUTREACHD_TWILIO_AUTH_TOKEN"] = "token-not-printed"
    ok = run("check", "--config", str(path), env=env)
    assert ok.returncode == 0, ok.stderr
    assert "token-not-printed" not in ok.stdout + ok.stderr


FORM_KEYS = ["MessageSid", "MessageStatus", "ErrorCode", "From", "To", "Body", "CallSid",
             "CallStatus", "AnsweredBy", "Digits", "SipResponseCode", "x"]  # fmt: skip
PATHS = [STATUS_PATH, SMS_PATH, "/twilio/voice/answer?attempt=a1",
         "/twilio/voice/confirm?attempt=a1", "/twilio/voice/status?attempt=a1",
         "/twilio/voice/answer", "/nowhere"]  # fmt: skip
FUZZED = st.tuples(
    st.sampled_from(PATHS),
    st.dictionaries(st.sampled_from(FORM_KEYS), st.text(max_size=30), max_size=6),
    st.none() | st.binary(max_size=80),
    st.booleans(),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=FUZZED)
def test_fuzzed_callbacks_never_crash_the_server(
    hooks: tuple[WebhookServer, Log], case: tuple[str, dict[str, str], bytes | None, bool]
) -> None:
    """Any form (signed or not) or any raw body, to any endpoint: an answer below 500, and
    the server still answers /healthz."""
    server, _ = hooks
    path, form, raw, sign = case
    request = signed(server, path, form, token=TOKEN if sign else None, body=raw)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            status = answer.status
    except urllib.error.HTTPError as err:
        status = err.code
    assert status < 500, (status, path, form, raw)
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as ok:
        assert ok.status == 200


def test_hardship_in_a_reply_brings_the_borrower_s_plans_forward(
    ledger: Ledger, hooks: tuple[WebhookServer, Log]
) -> None:
    """The ladder's waits give way to the hardship offer: the borrower's waiting and blocked
    plans are due at once (the dispatcher decides them, caps and hours included). Any other
    flag only re-opens blocked plans: a restriction never pulls a contact forward."""
    server, _ = hooks
    with_borrower(ledger)
    later = NOW + timedelta(days=3)
    waiting = Plan(
        account_id="US-0001-1", borrower_id="US-0001", step=1, status="due", channel=None,
        contact_id=None, template=None, next_due_at=later, reasons=(), updated_at=NOW,
    )  # fmt: skip
    blocked = dataclasses.replace(waiting, account_id="US-0001-2", status="blocked",
                                  next_due_at=None)  # fmt: skip
    ledger.save_plans([waiting, blocked])
    reply(server, "my attorney will call you", sid="SMa")
    first, second = ledger.plan("US-0001-1"), ledger.plan("US-0001-2")
    assert first is not None and (first.status, first.next_due_at) == ("due", later)
    assert second is not None and second.status == "due"  # re-opened: decided again now
    assert second.next_due_at is not None and second.next_due_at < later
    reply(server, "I lost my job last month", sid="SMb")
    first = ledger.plan("US-0001-1")
    assert first is not None and first.status == "due"
    assert first.next_due_at is not None and first.next_due_at < later
