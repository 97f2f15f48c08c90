"""What a call says, before anyone is identified and to a machine: nothing about a debt.
The shipped call templates are rendered with worst-case values for every locale; the
greeting and the voicemail (12 CFR 1006.2(j): limited content) must not carry the balance, the
days overdue, the account digits, the creditor or a word of debt collection, while the body,
said only to the borrower, does carry the balance. And the pure TwiML and outcome rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from outreachd import messages
from outreachd.channels import twilio_voice as voice
from outreachd.config import CompanyIn
from outreachd.core.model import Channel, Outcome
from outreachd.ledger.store import CallScript
from outreachd.render import Renderer, TemplateError
from tests.conftest import REPO

DEBT_WORDS = re.compile(
    r"debt|collect|overdue|past[- ]due|balance|owe|arrears|behind|逾期|欠|债|还款|催收|账户",
    re.IGNORECASE,
)
COMPANY = CompanyIn(name="Acme Servicing", callback="+1 800 555 0100", signature="安心服务")


@pytest.mark.parametrize("locale", ["en-US", "en-GB", "zh-CN"])
def test_greeting_and_voicemail_say_nothing_about_the_debt(locale: str) -> None:
    renderer = Renderer(REPO / "templates")
    values = {**messages._SAMPLE, **messages._worst_case(COMPANY, locale)}
    message = renderer.render(renderer.template_id(locale, Channel.CALL, "first_reminder"), values)
    assert message.greeting and message.voicemail
    private = [str(values[k]) for k in ("amount", "creditor", "last4")] + ["120"]
    for part in (message.greeting, message.voicemail):
        assert not DEBT_WORDS.search(part), part
        assert not [p for p in private if p in part and p != values["company"]], part
    assert values["callback"] in message.voicemail or values["hotline"] in message.voicemail
    assert str(values["amount"]) in message.body


def test_a_call_template_without_a_greeting_is_refused(tmp_path: Path) -> None:
    (tmp_path / "en-US" / "call").mkdir(parents=True)
    (tmp_path / "en-US" / "call" / "x.txt.j2").write_text(
        "{#- outreachd:\nchannel: call\n-#}\nHello {{ given_name }}\n", encoding="utf-8"
    )
    with pytest.raises(TemplateError, match=r"en-US/call/x\.txt\.j2:1:1: a call template needs"):
        Renderer(tmp_path).render("en-US/call/x", {"given_name": "Ana"})


SCRIPT = CallScript("a1", "en-US", "Hello, press 1.", "Your balance is $5.", "Call us back.")
CONFIRM = "https://hooks.example/twilio/voice/confirm?attempt=a1"


def says(twiml: str) -> list[str]:
    return re.findall(r"<Say[^>]*>([^<]*)</Say>", twiml)


@pytest.mark.parametrize(
    ("answered_by", "said", "stage", "gathers"),
    [
        ("human", ["Hello, press 1.", "Call us back."], Outcome.ANSWERED_HANGUP, True),
        ("unknown", ["Hello, press 1.", "Call us back."], Outcome.ANSWERED_HANGUP, True),
        (None, ["Hello, press 1.", "Call us back."], Outcome.ANSWERED_HANGUP, True),
        ("machine_end_beep", ["Call us back."], Outcome.VOICEMAIL_LCM, False),
        ("machine_end_silence", ["Call us back."], Outcome.VOICEMAIL_LCM, False),
        ("machine_start", [], Outcome.VOICEMAIL_NO_MESSAGE, False),
        ("fax", [], Outcome.VOICEMAIL_NO_MESSAGE, False),
    ],
)
def test_what_is_said_when_the_call_is_answered(
    answered_by: str | None, said: list[str], stage: Outcome, gathers: bool
) -> None:
    turn = voice.answered(SCRIPT, answered_by, CONFIRM)
    assert says(turn.twiml) == said and turn.stage is stage
    assert ("<Gather" in turn.twiml) is gathers
    assert "$5" not in turn.twiml and turn.twiml.endswith("<Hangup /></Response>")


def test_without_a_voicemail_a_machine_gets_nothing() -> None:
    turn = voice.answered(SCRIPT._replace(voicemail=None), "machine_end_beep", CONFIRM)
    assert says(turn.twiml) == [] and turn.stage is Outcome.VOICEMAIL_NO_MESSAGE


def test_an_unknown_call_gets_silence() -> None:
    assert says(voice.answered(None, "human", CONFIRM).twiml) == []
    assert says(voice.confirmed(None, "1").twiml) == []


@pytest.mark.parametrize(
    ("digits", "stage", "stop", "not_them"),
    [
        ("1", Outcome.CONVERSATION, False, False),
        ("2", Outcome.THIRD_PARTY_ANSWERED, False, True),
        ("7", Outcome.THIRD_PARTY_ANSWERED, False, True),
        ("9", None, True, False),
    ],
)
def test_what_a_key_press_leads_to(
    digits: str, stage: Outcome | None, stop: bool, not_them: bool
) -> None:
    turn = voice.confirmed(SCRIPT, digits)
    assert (turn.stage, turn.stop_calls, turn.not_them) == (stage, stop, not_them)
    assert ("$5" in turn.twiml) is (digits == "1")


@pytest.mark.parametrize(
    ("status", "stage", "answered_by", "sip", "outcome"),
    [
        ("completed", "conversation", "human", None, Outcome.CONVERSATION),
        ("completed", "voicemail_lcm", "machine_end_beep", None, Outcome.VOICEMAIL_LCM),
        ("completed", None, None, None, Outcome.ANSWERED_HANGUP),
        ("completed", None, "fax", None, Outcome.VOICEMAIL_NO_MESSAGE),
        ("busy", None, None, None, Outcome.BUSY),
        ("no-answer", None, None, None, Outcome.NO_ANSWER),
        ("canceled", None, None, None, Outcome.NO_ANSWER),  # counted, as an attempt
        ("failed", None, None, "404", Outcome.NOT_IN_SERVICE),
        ("failed", None, None, None, Outcome.NOT_IN_SERVICE),
        ("failed", None, None, "503", Outcome.NETWORK_FAIL),
        ("queued", None, None, None, None),
        ("ringing", None, None, None, None),
        ("in-progress", "conversation", "human", None, None),
    ],
)
def test_how_a_call_ended(
    status: str, stage: str | None, answered_by: str | None, sip: str | None,
    outcome: Outcome | None,
) -> None:  # fmt: skip
    assert voice.ended(status, stage, answered_by, sip) is outcome
