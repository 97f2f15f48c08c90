"""SMS through the real Twilio SDK: what is asked of Twilio (sender, ValidityPeriod up to the
window's end, status callback), and what each of Twilio's answers becomes in the ledger.
Errors come from a fault-injecting fake on loopback; the contract mock (Prism over Twilio's
own OpenAPI spec) checks that the request itself is one Twilio accepts."""

from __future__ import annotations

import collections
import dataclasses
import os
import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from outreachd import wiring
from outreachd.channels.twilio_sms import segments
from outreachd.config import TwilioIn, TwilioSenderIn
from outreachd.core.model import Channel
from outreachd.dispatch import SEND_RETRY
from outreachd.ledger.store import Attempt, Ledger
from outreachd.overlay import INVALID_CONTACT
from outreachd.reconcile import reconcile
from tests.conftest import REPO
from tests.integration import twilio_fake
from tests.integration.test_dispatch import Rig, rig

ACCOUNT = "AC" + "0" * 32
SERVICE = "MG" + "1" * 32
TOKEN = "tok-not-in-logs"  # a test double's auth token
MIDDAY = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # Tuesday 11:00 in New York
CLOSING = datetime(2026, 12, 2, 0, 50, 30, tzinfo=UTC)  # Tuesday 19:50:30 in New York


def us_row(n: int) -> dict[str, Any]:
    """A New York debt whose borrower consented to texts on one mobile number."""
    return {
        "account_id": f"US-{n:04d}-1",
        "borrower_id": f"US-{n:04d}",
        "borrower": {
            "name": {"given": "Ana", "family": "Diaz"},
            "residence": {"country": "US", "state": "NY", "tz": "America/New_York"},
            "phones": [
                {
                    "id": "m1",
                    "kind": "mobile",
                    "number": number(n),
                    "tcpa_consent": True,
                    "regf_text_ok": True,
                }
            ],
        },
        "debt": {
            "creditor": "Acme Bank",
            "balance": "1280.50",
            "currency": "USD",
            "days_past_due": 20,
            "product": "card",
        },
    }


def number(n: int) -> str:
    return f"+1212555{n:04d}"


def twilio_rig(ledger: Ledger, tmp_path: Path, base: str, rows: list[dict[str, Any]]) -> Rig:
    r = rig(ledger, tmp_path, rows, batch=50)
    settings = TwilioIn.model_validate({
        "account_sid": ACCOUNT, "api_base": base, "timeout_seconds": 0.5,
        "status_callback": "https://outreachd.example/twilio/status",
        "senders": {"US": {"messaging_service_sid": SERVICE, "messages_per_second": 200}},
    })  # fmt: skip
    r.cfg = dataclasses.replace(r.cfg, twilio=settings, route={Channel.SMS: "twilio"})
    return r


def tick(r: Rig, monkeypatch: pytest.MonkeyPatch, at: datetime = MIDDAY) -> Any:
    monkeypatch.setenv("OUTREACHD_TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    return r.dispatcher(wiring.channel(r.cfg)).tick(at)


@pytest.fixture
def fake() -> Iterator[twilio_fake.FakeTwilio]:
    with twilio_fake.running() as f:
        yield f


def test_the_message_asks_twilio_to_expire_it_when_the_window_closes(
    ledger: Ledger, tmp_path: Path, fake: twilio_fake.FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decided at 19:50:30 in New York, with the house SMS window ending at 20:00: the
    ValidityPeriod is 540 s (to 19:59:30), so a queued message cannot land after 20:00."""
    r = twilio_rig(ledger, tmp_path, fake.url, [us_row(1)])
    stats = tick(r, monkeypatch, CLOSING)
    assert stats.sent == 1
    (req,) = fake.requests
    # 540 s from the decision, less the (sub-second) time until the request left
    assert req["ValidityPeriod"] in ("539", "540")
    assert (req["To"], req["MessagingServiceSid"]) == (number(1), SERVICE)
    assert req["StatusCallback"] == "https://outreachd.example/twilio/status"
    (event,) = r.events()
    assert event["status"] == "sent" and event["provider_id"].startswith("SM")
    (line,) = r.log.named("outreach_sent")
    assert line["segments"] == segments(req["Body"])[1]
    assert TOKEN not in repr(r.log.lines)


def test_a_message_that_waited_for_its_sender_expires_no_later(
    ledger: Ledger, tmp_path: Path, fake: twilio_fake.FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paced at 2 per second, the third message leaves a second after the decision: its
    ValidityPeriod is a second shorter, so it still cannot land after 20:00."""
    r = twilio_rig(ledger, tmp_path, fake.url, [us_row(n) for n in (1, 2, 3)])
    r.cfg = dataclasses.replace(
        r.cfg, twilio=r.cfg.twilio.model_copy(update={"senders": {  # type: ignore[union-attr]
            "US": TwilioSenderIn(messaging_service_sid=SERVICE, messages_per_second=2)}}),
    )  # fmt: skip
    assert tick(r, monkeypatch, CLOSING).sent == 3
    first, _, third = (int(req["ValidityPeriod"]) for req in fake.requests)
    assert first in (539, 540) and third <= first - 1


def test_each_twilio_answer_has_its_fate(
    ledger: Ledger, tmp_path: Path, fake: twilio_fake.FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """21610: failed, and an SMS opt-out for that number is learned; 21211/21614: failed,
    the number flagged invalid; 429: failed, the step retried; 500, a timeout, a dropped
    connection: unknown, counted, never retried."""
    answers = ["ok", "21610", "21211", "21614", "20429", "500", "slow", "hangup"]
    fake.script = {number(n): a for n, a in enumerate(answers, 1)}
    r = twilio_rig(ledger, tmp_path, fake.url, [us_row(n) for n in range(1, len(answers) + 1)])
    stats = tick(r, monkeypatch)
    status = {e["borrower_id"]: e["status"] for e in r.events()}
    assert status == {
        "US-0001": "sent", "US-0002": "failed", "US-0003": "failed", "US-0004": "failed",
        "US-0005": "failed", "US-0006": "unknown", "US-0007": "unknown", "US-0008": "unknown",
    }  # fmt: skip
    assert (stats.sent, stats.failed, stats.unknown) == (1, 4, 3)
    with ledger.borrowers_txn([f"US-{n:04d}" for n in range(1, 9)]) as txn:
        flags = txn.flags(["address_opt_outs", INVALID_CONTACT])
    assert [(f.name, f.value) for f in flags["US-0002"]] == [
        ("address_opt_outs", {"add": ["sms:m1"]})
    ]
    assert {b: [f.name for f in fs] for b, fs in flags.items() if b != "US-0002"} == {
        "US-0003": [INVALID_CONTACT], "US-0004": [INVALID_CONTACT],
    }  # fmt: skip
    retried = [p for p in ledger.plans() if p.reasons == (SEND_RETRY,)]
    assert [p.borrower_id for p in retried] == ["US-0005"]
    assert collections.Counter(p.step for p in ledger.plans()) == {1: 7, 0: 1}


def test_provider_faults_on_a_fifth_of_requests_end_settled_and_never_twice(
    ledger: Ledger, tmp_path: Path, fake: twilio_fake.FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fifth of the first requests fail (429, 500, too slow, connection dropped), at random;
    after the retry tick and a reconciliation pass every attempt is sent or failed, none is
    left unknown, the rate-limited ones went out on their retry, and Twilio holds at most one
    message per borrower: nothing was sent twice."""
    rng = random.Random(20)
    numbers = list(range(1, 61))
    faulty = rng.sample(numbers, 12)
    fake.first = {
        number(n): ("20429", "500", "slow", "hangup")[i % 4] for i, n in enumerate(faulty)
    }
    fake.clock = lambda: MIDDAY + timedelta(seconds=1)
    r = twilio_rig(ledger, tmp_path, fake.url, [us_row(n) for n in numbers])
    first = [tick(r, monkeypatch), tick(r, monkeypatch)]  # a batch is 50 plans
    totals = [sum(getattr(t, k) for t in first) for k in ("claimed", "sent", "failed", "unknown")]
    assert totals == [60, 48, 3, 9]  # 429: failed, retried
    fake.clock = lambda: MIDDAY + timedelta(minutes=6, seconds=1)
    retry = tick(r, monkeypatch, MIDDAY + timedelta(minutes=6))
    assert (retry.claimed, retry.sent) == (3, 3)
    providers = wiring.build(r.cfg, owner="t", log=r.log, ledger=ledger).reconcilers
    stats = reconcile(ledger=ledger, providers=providers, now=MIDDAY + timedelta(minutes=30),
                      log=r.log)  # fmt: skip
    assert (stats.found_sent, stats.found_not_sent, stats.ambiguous) == (6, 3, 0)
    statuses = collections.Counter(e["status"] for e in r.events())
    assert statuses == {"sent": 57, "failed": 6}  # 3 rate-limited then sent, 3 never taken
    held = collections.Counter(m["to"] for m in fake.messages.values())
    assert max(held.values()) == 1 and len(held) == 57


def test_no_twilio_at_all_is_nothing_sent_and_a_retry(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that is never made sent nothing: failed, the step due again soon."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = twilio_rig(ledger, tmp_path, f"http://127.0.0.1:{port}", [us_row(1)])
    assert tick(r, monkeypatch).failed == 1
    plan = ledger.plan("US-0001-1")
    assert plan is not None and plan.reasons == (SEND_RETRY,) and plan.step == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi Ana, a reminder from Acme.", ("GSM-7", 1)),
        ("x" * 160, ("GSM-7", 1)),
        ("x" * 161, ("GSM-7", 2)),
        ("€" * 80, ("GSM-7", 1)),  # two septets each: 160
        ("€" * 81, ("GSM-7", 2)),
        ("【某某银行】" + "您" * 64, ("UCS-2", 1)),  # 70 UTF-16 units
        ("【某某银行】" + "您" * 65, ("UCS-2", 2)),
        ("Hi 👍", ("UCS-2", 1)),
    ],
)
def test_segments(text: str, expected: tuple[str, int]) -> None:
    assert segments(text) == expected


# --- the contract mock ---------------------------------------------------------------------

SPEC = Path(
    os.environ.get(
        "OUTREACHD_TWILIO_SPEC", REPO.parent / "shared/fixtures/twilio/twilio_api_v2010.json"
    )
)


def _prism() -> str | None:
    found = os.environ.get("OUTREACHD_PRISM") or shutil.which("prism")
    local = REPO / ".tools" / "node_modules" / ".bin" / "prism"
    return found or (str(local) if local.exists() else None)


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    """Stoplight Prism mocking Twilio's own OpenAPI spec on loopback (make tools installs it);
    skipped where it or the spec is absent, except under CI, where that is a failure."""
    binary = _prism()
    missing = None if binary and SPEC.exists() else f"prism ({binary}) or {SPEC} missing"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert binary is not None
    proc = subprocess.Popen(
        [binary, "mock", "--dynamic", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("prism did not start within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_twilio_accepts_the_request_as_the_spec_defines_it(
    ledger: Ledger, tmp_path: Path, prism: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real SDK to the contract mock: Prism answers 201 only to a request that
    satisfies Twilio's spec (a 4xx would leave the attempt failed)."""
    r = twilio_rig(ledger, tmp_path, prism, [us_row(1), us_row(2)])
    r.cfg = dataclasses.replace(
        r.cfg,
        twilio=r.cfg.twilio.model_copy(update={"timeout_seconds": 10}),  # type: ignore[union-attr]
    )
    stats = tick(r, monkeypatch, CLOSING)
    assert (stats.sent, stats.failed, stats.unknown) == (2, 0, 0)
    ids = [e["provider_id"] for e in r.events()]
    assert all(re.fullmatch(r"(SM|MM)[0-9a-fA-F]{32}", i) for i in ids), ids  # the spec's
    assert len(set(ids)) == 2


def test_reconciliation_settles_what_a_dead_instance_left_sending(
    ledger: Ledger, tmp_path: Path, fake: twilio_fake.FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another instance reserved three SMS and died before recording them, while this one
    runs on. Once an hour has passed, reconciliation takes them as unknown and asks Twilio:
    the one Twilio holds is sent (with its SID), the one it never got is failed; a reservation
    only ten minutes old is left to the instance that may still be sending it."""
    r = twilio_rig(ledger, tmp_path, fake.url, [us_row(n) for n in (1, 2, 3)])
    monkeypatch.setenv("OUTREACHD_TWILIO_AUTH_TOKEN", TOKEN)
    providers = wiring.build(r.cfg, owner="t", log=r.log, ledger=ledger).reconcilers
    ids = {}
    for n, at in ((1, MIDDAY), (2, MIDDAY), (3, MIDDAY + timedelta(minutes=80))):
        attempt = Attempt(
            id=uuid4().hex, borrower_id=f"US-{n:04d}", account_id=f"US-{n:04d}-1", debts=(),
            at=at, channel="sms", contact_id="m1", template=None, locale=None, rule_ids=(),
            packs=(),
        )  # fmt: skip
        with ledger.borrower_txn(attempt.borrower_id) as txn:
            txn.reserve(attempt, at)
        ids[n] = attempt.id
    fake.clock = lambda: MIDDAY + timedelta(seconds=2)
    took = providers["sms"].client.messages.create(to=number(1), body="x",
                                                   messaging_service_sid=SERVICE).sid  # fmt: skip
    stats = reconcile(ledger=ledger, providers=providers, now=MIDDAY + timedelta(minutes=90),
                      log=r.log)  # fmt: skip
    assert (stats.abandoned, stats.found_sent, stats.found_not_sent) == (2, 1, 1)
    rows = {e["id"]: e for e in r.events()}
    assert (rows[ids[1]]["status"], rows[ids[1]]["provider_id"]) == ("sent", took)
    assert rows[ids[2]]["status"] == "failed"
    assert rows[ids[3]]["status"] == "sending"


def test_reconciliation_asks_twilio_what_became_of_unsure_messages(
    ledger: Ledger, tmp_path: Path, fake: twilio_fake.FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send whose answer never came (a timeout, a dropped connection) but that Twilio took
    is found and recorded as sent with its SID; one Twilio never took (its 500 came before)
    becomes failed and stops counting; later, a stale 'sent' gets its delivery status."""
    fake.script = {number(1): "slow", number(2): "hangup", number(3): "500"}
    fake.clock = lambda: MIDDAY + timedelta(seconds=1)
    r = twilio_rig(ledger, tmp_path, fake.url, [us_row(n) for n in (1, 2, 3)])
    assert tick(r, monkeypatch).unknown == 3
    providers = wiring.build(r.cfg, owner="t", log=r.log, ledger=ledger).reconcilers
    assert set(providers) == {"sms"}
    early = reconcile(ledger=ledger, providers=providers, now=MIDDAY + timedelta(minutes=5),
                      log=r.log)  # fmt: skip
    assert early.found_sent == early.found_not_sent == 0  # not settled yet: left alone
    stats = reconcile(ledger=ledger, providers=providers, now=MIDDAY + timedelta(minutes=20),
                      log=r.log)  # fmt: skip
    assert (stats.found_sent, stats.found_not_sent, stats.ambiguous) == (2, 1, 0)
    by_borrower = {e["borrower_id"]: e for e in r.events()}
    assert {b: e["status"] for b, e in by_borrower.items()} == {
        "US-0001": "sent", "US-0002": "sent", "US-0003": "failed",
    }  # fmt: skip
    assert {by_borrower[b]["provider_id"] for b in ("US-0001", "US-0002")} == set(fake.messages)
    for message in fake.messages.values():
        message["status"] = "delivered"
    later = reconcile(ledger=ledger, providers=providers, now=MIDDAY + timedelta(hours=7),
                      log=r.log)  # fmt: skip
    assert later.refreshed == 2
    assert collections.Counter(e["status"] for e in r.events()) == {"delivered": 2, "failed": 1}
