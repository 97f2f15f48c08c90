"""Calls through the real Twilio SDK, end to end on loopback, on both ledgers: the dispatcher
places the call at the fake Twilio; the test then plays Twilio's part against the daemon's
real webhook server (signed requests to the URLs the call was given), and checks what was
said to whom and what the ledger made of it."""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from outreachd import config, messages, replies, wiring
from outreachd.channels import twilio_voice
from outreachd.config import TwilioIn, WebhooksIn
from outreachd.core import planner
from outreachd.core.model import Account, Channel
from outreachd.dispatch import SEND_RETRY
from outreachd.ledger.store import Ledger
from outreachd.overlay import INVALID_CONTACT
from outreachd.reconcile import reconcile
from outreachd.render import Renderer
from outreachd.sources import records
from outreachd.strategy import Strategy
from outreachd.webhooks import WebhookServer
from outreachd.yamlio import YamlError
from tests.acceptance.daemon_kit import write_config
from tests.conftest import REPO
from tests.integration import twilio_fake
from tests.integration.test_dispatch import Log, Rig, rig
from tests.integration.test_twilio import ACCOUNT, MIDDAY, TOKEN, number, prism, us_row

__all__ = ["prism"]  # the contract mock's fixture, used below

PUBLIC = "https://hooks.example/outreachd"
CALLER = "+12125550100"
AMOUNT = "$1,280.50"  # the debt's balance as the message says it
EVENING = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)  # Tuesday 19:30 in New York

WAIT_DAYS = 3  # the calls-only strategy's wait between steps


@dataclasses.dataclass
class Call:
    """One call the fake Twilio was asked to place, and the daemon's webhooks to play it."""

    form: dict[str, str]
    server: WebhookServer

    @property
    def sid(self) -> str:
        return str(self.form["sid"])

    def answer(self, **form: str) -> str:
        return self._post(self.form["Url"], {"CallSid": self.sid, **form})[1]

    def press(self, digits: str, action: str) -> str:
        return self._post(action, {"CallSid": self.sid, "Digits": digits})[1]

    def status(self, status: str, **form: str) -> tuple[int, str]:
        return self._post(self.form["StatusCallback"], {"CallSid": self.sid,
                                                        "CallStatus": status, **form})  # fmt: skip

    def _post(self, url: str, form: dict[str, str], token: str = TOKEN) -> tuple[int, str]:
        assert url.startswith(PUBLIC), url
        path = url[len(PUBLIC) :]
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.server.port}{path}",
            data=urllib.parse.urlencode(form).encode(), method="POST",
        )  # fmt: skip
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header(
            "X-Twilio-Signature", RequestValidator(token).compute_signature(url, form)
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()


@pytest.fixture
def fake() -> Iterator[twilio_fake.FakeTwilio]:
    with twilio_fake.running() as f:
        yield f


@pytest.fixture
def hooks(ledger: Ledger) -> Iterator[WebhookServer]:
    server = WebhookServer(
        WebhooksIn(listen="127.0.0.1:0", public_url=PUBLIC), ledger=lambda: ledger,
        auth_token=TOKEN, replies=replies.load(REPO / "config" / "replies.yaml"), log=Log(),
        clock=lambda: MIDDAY,
    )  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclasses.dataclass
class Env:
    ledger: Ledger
    tmp_path: Path
    fake: twilio_fake.FakeTwilio
    hooks: WebhookServer
    monkeypatch: pytest.MonkeyPatch

    def rig(self, rows: list[dict[str, Any]], base: str | None = None, **sender: Any) -> Rig:
        return voice_rig(self.ledger, self.tmp_path, base or self.fake.url, rows, **sender)

    def dial(self, r: Rig, at: datetime = MIDDAY) -> list[Call]:
        return dial(r, self.monkeypatch, self.fake, self.hooks, at)


@pytest.fixture
def env(
    ledger: Ledger, tmp_path: Path, fake: twilio_fake.FakeTwilio, hooks: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Env:  # fmt: skip
    return Env(ledger, tmp_path, fake, hooks, monkeypatch)


def voice_rig(
    ledger: Ledger, tmp_path: Path, base: str, rows: list[dict[str, Any]], **sender: Any
) -> Rig:
    r = rig(ledger, tmp_path, rows, batch=50)
    settings = TwilioIn.model_validate({
        "account_sid": ACCOUNT, "api_base": base, "timeout_seconds": 0.5,
        "calls_per_second": 200, "senders": {"US": {"call_from": CALLER, **sender}},
    })  # fmt: skip
    strategy = Strategy.single((Channel.CALL,), "first_reminder", WAIT_DAYS, max_steps=3)
    r.cfg = dataclasses.replace(
        r.cfg, twilio=settings, route={Channel.CALL: "twilio"}, strategy=strategy,
        webhooks=WebhooksIn(listen="127.0.0.1:0", public_url=PUBLIC),
    )  # fmt: skip
    return r


def dial(
    r: Rig, monkeypatch: pytest.MonkeyPatch, fake: twilio_fake.FakeTwilio, hooks: WebhookServer,
    at: datetime = MIDDAY,
) -> list[Call]:  # fmt: skip
    monkeypatch.setenv("OUTREACHD_TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    r.dispatcher(wiring.channel(r.cfg)).tick(at)
    by_number = {c["to"]: sid for sid, c in fake.calls.items()}
    return [Call(form | {"sid": by_number.get(form["To"], "")}, hooks) for form in fake.requests]


def gather_action(twiml: str) -> str:
    found = re.search(r'<Gather action="([^"]+)"', twiml)
    assert found, twiml
    return found.group(1).replace("&amp;", "&")


def event(r: Rig) -> dict[str, Any]:
    (one,) = r.events()
    return one


def flags_of(ledger: Ledger, borrower: str) -> list[tuple[str, object]]:
    with ledger.borrowers_txn([borrower]) as txn:
        found = txn.flags(["address_opt_outs", "tcpa_revoked", INVALID_CONTACT])
    return [(f.name, f.value) for f in found.get(borrower, [])]


def test_the_call_asks_twilio_for_detection_and_our_webhooks(env: Env) -> None:
    """One call from the configured number, with answering-machine detection, our answer
    and status webhooks for that attempt, a time limit inside the lawful window, no
    recording in the US; it is recorded as a prerecorded-voice call of unknown outcome."""
    r = env.rig([us_row(1)])
    (call,) = env.dial(r)
    form = call.form
    assert (form["To"], form["From"]) == (number(1), CALLER)
    assert form["MachineDetection"] == "DetectMessageEnd"
    row = event(r)
    query = urllib.parse.urlencode({"attempt": row["id"]})
    assert form["Url"] == f"{PUBLIC}{twilio_voice.ANSWER_PATH}?{query}"
    assert form["StatusCallback"] == f"{PUBLIC}{twilio_voice.STATUS_PATH}?{query}"
    assert "StatusCallbackEvent" not in form  # Twilio's default: `completed` only
    assert form["Record"] == "false"
    assert 0 < int(form["TimeLimit"]) <= twilio_voice.MAX_CALL
    assert (row["channel"], row["dialer"], row["status"], row["outcome"]) == (
        "call", "prerecorded", "sent", "unknown",
    )  # fmt: skip
    assert row["provider_id"] == call.sid
    (script,) = [x for x in env.ledger.export() if x["record"] == "call"]
    assert script["id"] == row["id"] and AMOUNT in script["body"]
    assert AMOUNT not in script["greeting"] and AMOUNT not in (script["voicemail"] or "")


def test_a_machine_gets_the_limited_content_voicemail_only(env: Env) -> None:
    r = env.rig([us_row(1)])
    (call,) = env.dial(r)
    twiml = call.answer(AnsweredBy="machine_end_beep")
    assert "<Gather" not in twiml and "Please call us back at" in twiml
    assert AMOUNT not in twiml and "debt" not in twiml.lower()
    assert call.status("completed", AnsweredBy="machine_end_beep") == (200, '{"recorded": true}')
    row = event(r)
    assert (row["status"], row["outcome"]) == ("delivered", "voicemail_lcm")


def test_the_message_is_said_only_to_the_borrower_who_pressed_1(env: Env) -> None:
    r = env.rig([us_row(1)])
    (call,) = env.dial(r)
    greeting = call.answer(AnsweredBy="human")
    assert "press 1" in greeting and "press 9" in greeting
    assert AMOUNT not in greeting and "debt" not in greeting.lower()
    message = call.press("1", gather_action(greeting))
    assert AMOUNT in message and "a debt collector" in message and "<Hangup" in message
    call.status("completed", AnsweredBy="human")
    row = event(r)
    assert (row["status"], row["outcome"]) == ("delivered", "conversation")
    # a repeated callback changes nothing; a late key press cannot move a finished call
    assert call.status("completed", AnsweredBy="human") == (200, '{"recorded": false}')
    call.press("2", gather_action(greeting))
    assert event(r)["outcome"] == "conversation"


def test_someone_else_hears_nothing_about_the_debt_and_a_person_checks_the_number(env: Env) -> None:
    r = env.rig([us_row(1)])
    (call,) = env.dial(r)
    goodbye = call.press("2", gather_action(call.answer(AnsweredBy="human")))
    assert "Goodbye" in goodbye and AMOUNT not in goodbye and "debt" not in goodbye.lower()
    call.status("completed", AnsweredBy="human")
    assert event(r)["outcome"] == "third_party_answered"
    ((kind, reason),) = env.ledger.handoffs("US-0001")
    assert kind == "third_party_answered" and "not the borrower" in reason


def test_pressing_9_stops_calls_to_that_number(env: Env) -> None:
    """One confirmation and nothing else; the number's calls opted out and its TCPA consent
    revoked, so the next step does not call it."""
    r = env.rig([us_row(1)])
    (call,) = env.dial(r)
    said = call.press("9", gather_action(call.answer(AnsweredBy="human")))
    assert re.findall(r"<Say[^>]*>([^<]*)</Say>", said) == [twilio_voice._STOPPED["en"]]
    assert flags_of(env.ledger, "US-0001") == [
        ("address_opt_outs", {"add": ["call:m1"]}), ("tcpa_revoked", {"add": ["m1"]}),
    ]  # fmt: skip
    call.status("completed", AnsweredBy="human")
    assert event(r)["outcome"] == "answered_hangup"
    env.fake.requests.clear()
    later = MIDDAY + timedelta(days=WAIT_DAYS, hours=1)
    stats = r.dispatcher(wiring.channel(r.cfg)).tick(later)
    assert (stats.claimed, stats.sent, stats.blocked) == (1, 0, 1) and env.fake.requests == []


ENDINGS = {  # CallStatus and fields -> (outcome, the number flagged invalid)
    "busy": ({"CallStatus": "busy"}, "busy", False),
    "no-answer": ({"CallStatus": "no-answer"}, "no_answer", False),
    "failed-404": ({"CallStatus": "failed", "SipResponseCode": "404"}, "not_in_service", True),
    "failed-503": ({"CallStatus": "failed", "SipResponseCode": "503"}, "network_fail", False),
    # our TwiML never ran (the webhook was down): what Twilio's detection said
    "completed-human": ({"CallStatus": "completed", "AnsweredBy": "human"}, "answered_hangup",
                        False),
    "completed-machine": ({"CallStatus": "completed", "AnsweredBy": "machine_end_beep"},
                          "voicemail_no_message", False),
}  # fmt: skip


@pytest.mark.parametrize("ending", ENDINGS)
def test_how_the_call_ended_is_its_outcome(env: Env, ending: str) -> None:
    form, outcome, invalid = ENDINGS[ending]
    status, extra = form["CallStatus"], {k: v for k, v in form.items() if k != "CallStatus"}
    r = env.rig([us_row(1)])
    (call,) = env.dial(r)
    assert call.status("ringing") == (200, '{"recorded": false}')  # not over yet
    assert call.status(status, **extra) == (200, '{"recorded": true}')
    assert (event(r)["status"], event(r)["outcome"]) == ("delivered", outcome)
    assert bool(flags_of(env.ledger, "US-0001")) is invalid


def test_a_call_webhook_without_a_valid_signature_is_refused(env: Env) -> None:
    r = env.rig([us_row(1)])
    (call,) = env.dial(r)
    status, body = call._post(call.form["Url"], {"AnsweredBy": "human"}, token="wrong")
    assert status == 403 and "press 1" not in body
    ended = {"CallSid": call.sid, "CallStatus": "busy"}
    status, _ = call._post(call.form["StatusCallback"], ended, token="wrong")
    assert status == 403 and event(r)["status"] == "sent"


def test_twilio_answers_at_dial_time_have_their_fates(env: Env) -> None:
    """An invalid number: failed and flagged; 429: nothing placed, retried; 500 or no answer:
    unknown (counted), and reconciliation later finds the call Twilio did take."""
    answers = ["21211", "20429", "500", "hangup"]
    env.fake.script = {number(n): a for n, a in enumerate(answers, 1)}
    env.fake.clock = lambda: MIDDAY + timedelta(seconds=1)
    r = env.rig([us_row(n) for n in range(1, 5)])
    env.dial(r)
    status = {e["borrower_id"]: e["status"] for e in r.events()}
    assert status == {"US-0001": "failed", "US-0002": "failed", "US-0003": "unknown",
                      "US-0004": "unknown"}  # fmt: skip
    assert [n for n, _ in flags_of(env.ledger, "US-0001")] == [INVALID_CONTACT]
    assert [p.borrower_id for p in env.ledger.plans() if p.reasons == (SEND_RETRY,)] == ["US-0002"]
    providers = wiring.build(r.cfg, owner="t", log=r.log, ledger=env.ledger).reconcilers
    assert set(providers) == {"call"}
    stats = reconcile(ledger=env.ledger, providers=providers, now=MIDDAY + timedelta(minutes=20),
                      log=r.log)  # fmt: skip
    assert (stats.found_sent, stats.found_not_sent) == (1, 1)
    (held,) = env.fake.calls.values()
    by_borrower = {e["borrower_id"]: e for e in r.events()}
    assert (by_borrower["US-0004"]["status"], by_borrower["US-0004"]["provider_id"]) == (
        "sent", held["sid"],
    )  # fmt: skip
    assert by_borrower["US-0003"]["status"] == "failed"  # Twilio took nothing: not counted
    held["status"] = "busy"  # its status callback never reached us
    later = reconcile(ledger=env.ledger, providers=providers, now=MIDDAY + timedelta(hours=2),
                      log=r.log)  # fmt: skip
    assert later.refreshed == 1
    final = {e["borrower_id"]: (e["status"], e["outcome"]) for e in r.events()}
    assert final["US-0004"] == ("delivered", "busy")


def test_no_call_when_the_lawful_window_is_about_to_close(env: Env) -> None:
    """With less than MIN_CALL left before the window closes, the call is not placed: the
    step is retried (and then deferred to the next window)."""
    r = env.rig([us_row(1)])
    closes = _window_end(r, EVENING)
    calls = env.dial(r, at=closes - timedelta(seconds=30))  # closes: up to a minute early
    assert calls == []
    (plan,) = env.ledger.plans()
    assert plan.reasons == (SEND_RETRY,) and plan.step == 0


def test_a_prerecorded_call_to_a_mobile_needs_consent(env: Env) -> None:
    """The call is placed as a prerecorded (text-to-speech) call, so the TCPA's consent rule
    reads it: no consent on the mobile, no call."""
    row = us_row(1)
    row["borrower"]["phones"][0]["tcpa_consent"] = False
    r = env.rig([row])
    assert env.dial(r) == []
    (plan,) = env.ledger.plans()
    assert plan.status == "blocked" and "TCPA-CONSENT-MOBILE" in plan.reasons


def test_calls_are_recorded_where_configured(env: Env) -> None:
    r = env.rig([us_row(1)], record_calls=True)
    (call,) = env.dial(r)
    assert call.form["Record"] == "true"


def test_twilio_accepts_the_call_as_the_spec_defines_it(env: Env, prism: str) -> None:
    """Through the real SDK to the contract mock of Twilio's own spec: 201 for our request."""
    r = env.rig([us_row(1), us_row(2)], base=prism)
    r.cfg = dataclasses.replace(
        r.cfg,
        twilio=r.cfg.twilio.model_copy(update={"timeout_seconds": 10}),  # type: ignore[union-attr]
    )
    env.monkeypatch.setenv("OUTREACHD_TWILIO_AUTH_TOKEN", TOKEN)
    stats = r.dispatcher(wiring.channel(r.cfg)).tick(MIDDAY)
    assert (stats.sent, stats.failed, stats.unknown) == (2, 0, 0)
    ids = [e["provider_id"] for e in r.events()]
    assert all(re.fullmatch(r"CA[0-9a-fA-F]{32}", i) for i in ids), ids
    assert collections.Counter(e["status"] for e in r.events()) == {"sent": 2}


def _window_end(r: Rig, after: datetime) -> datetime:
    """When the borrower's call window closes after `after` (up to a minute early)."""
    payload = r.ledger.account_payloads(["US-0001-1"])["US-0001-1"]
    rec = records.load_payload(payload)
    (option, _), *_ = messages.options(rec, r.cfg, Renderer(r.cfg.templates), at=after)
    policy = r.cfg.policy(rec.borrower.residence.country)
    assert policy is not None
    account = Account(borrower=rec.borrower, flags=rec.flags)
    while True:  # the dispatcher's own question; it looks an hour ahead at most
        choice = planner.choose(
            account, (rec.account_id,), [], [option], at=after, policy=policy,
            validity={Channel.CALL},
        )  # fmt: skip
        left = getattr(choice.decision, "valid_for", None)
        assert left is not None and left > timedelta(0), choice.decision
        after += left
        if left < planner.VALIDITY_LIMIT:
            return after


def test_calls_through_twilio_need_webhooks_and_a_number_to_call_from(tmp_path: Path) -> None:
    """Twilio asks the webhooks what to say, and a Messaging Service cannot place calls:
    config.load names both problems with their file and line."""
    path = tmp_path / "outreachd.yaml"
    sender = f"{{US: {{messaging_service_sid: MG{'1' * 32}}}}}"
    calls = (
        "channels:\n"
        f"  twilio: {{account_sid: AC{'0' * 32}, senders: {sender}}}\n"
        "  route: {call: twilio}\n"
    )
    write_config(path, channels=calls)
    with pytest.raises(YamlError) as err:
        config.load(path)
    text = str(err.value)
    assert f"{path}:" in text
    assert "channels.route.call: needs webhooks" in text, text
    assert "channels.twilio.senders.US: calls are routed to Twilio: give call_from" in text, text


def test_a_call_not_routed_to_twilio_is_written_to_the_outbox_whole(env: Env) -> None:
    """The demo and the simulator: the outbox line carries all three parts of the script,
    and the call counts as unknown (it could have been anything)."""
    r = env.rig([us_row(1)])
    r.cfg = dataclasses.replace(r.cfg, route={})
    assert r.dispatcher(wiring.channel(r.cfg)).tick(MIDDAY).sent == 1
    (line,) = [json.loads(x) for x in r.cfg.outbox.read_text().splitlines()]
    assert line["channel"] == "call" and AMOUNT in line["body"]
    assert "press 1" in line["greeting"] and "call us back" in line["voicemail"]
    assert (event(r)["status"], event(r)["outcome"]) == ("sent", "unknown")
