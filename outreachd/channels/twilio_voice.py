"""Calls through Twilio with the real SDK: text-to-speech from call templates, answering-
machine detection, a limited-content voicemail only, and the call's result in the ledger's
outcome taxonomy (the caps depend on it).

How a call goes (the webhooks answer Twilio from the script stored with the attempt):
- Twilio dials with `MachineDetection=DetectMessageEnd` and asks ANSWER_PATH what to say.
- A machine (`machine_end_*`) gets the template's limited-content voicemail (12 CFR 1006.2(j))
  and nothing else -> `voicemail_lcm`; a template without one, a fax, or a machine caught
  before its beep gets nothing -> `voicemail_no_message`.
- A person (or an unsure detection) hears the greeting, which names the company and the
  borrower but no debt: press 1 if you are the borrower, 2 if not, 9 to stop these calls
  (47 CFR 64.1200(b)(2)). No key -> the limited-content voicemail (safe for anyone), then
  `answered_hangup`. 1 -> the message itself -> `conversation`. 2 (or any other key) -> a
  goodbye -> `third_party_answered`, and a hand-off so a person checks the number. 9 -> one
  confirmation, calls to that number opted out and TCPA consent for it revoked.
- Twilio's status callback ends it: `completed` keeps the stage reached; `busy`, `no-answer`
  (and `canceled`) are `busy` and `no_answer`; `failed` is `not_in_service` (the number
  flagged invalid) or, for a network error (SIP 5xx), `network_fail`.
The call is limited (`TimeLimit`) to the time left in the borrower's lawful window, and is
not placed when less than MIN_CALL is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from outreachd.channels import twilio_common
from outreachd.channels.base import Envelope, Receipt, SendError
from outreachd.config import TwilioIn
from outreachd.core.model import Channel, Country, Outcome
from outreachd.ledger.store import CallScript

ANSWER_PATH, CONFIRM_PATH = "/twilio/voice/answer", "/twilio/voice/confirm"
STATUS_PATH = "/twilio/voice/status"
INVALID_NUMBERS = frozenset({13223, 13224, 21211, 21217})  # not a valid, dialable number
MIN_CALL = timedelta(minutes=2)  # less left in the lawful window: not now
MAX_CALL = 900  # seconds: a TTS call that runs longer has gone wrong
RING_SECONDS = 30
GATHER_SECONDS = 8
MACHINE_WITH_MESSAGE = frozenset({"machine_end_beep", "machine_end_silence", "machine_end_other"})
MACHINE_NO_MESSAGE = frozenset({"machine_start", "fax"})
CONFIRMED, NOT_THEM, STOP_CALLS = "1", "2", "9"
_ENDED = {"busy": Outcome.BUSY, "no-answer": Outcome.NO_ANSWER, "canceled": Outcome.NO_ANSWER}
_VOICES = {  # Twilio <Say> (language, voice) by template locale
    "en-US": ("en-US", "Polly.Joanna"),
    "en-GB": ("en-GB", "Polly.Amy"),
    "zh-CN": ("cmn-CN", "Polly.Zhiyu"),
}
_GOODBYE = {"en": "Thank you. Sorry to have troubled you. Goodbye.", "zh": "谢谢，打扰了，再见。"}
_STOPPED = {
    "en": "You will not get any more calls from us at this number. Goodbye.",
    "zh": "好的，我们不会再拨打这个号码。再见。",
}


class TwilioVoice:
    def __init__(self, settings: TwilioIn, *, auth_token: str, public_url: str) -> None:
        """`public_url`: the daemon's webhooks as Twilio reaches them."""
        self.settings, self.public_url = settings, public_url.rstrip("/")
        self.client = twilio_common.client(settings, auth_token)
        self.pacer = twilio_common.Pacer()

    def needs_validity(self, channel: Channel) -> bool:
        return channel is Channel.CALL

    def send(self, envelope: Envelope) -> Receipt:
        sender = twilio_common.sender_for(self.settings, envelope.country)
        caller = sender and (sender.call_from or sender.from_)
        if sender is None or not caller:
            why = f"no Twilio number to call from for country {envelope.country!r}"
            raise SendError(why, sent_unknown=False)
        self.pacer.wait(f"calls:{self.settings.account_sid}", self.settings.calls_per_second)
        left = envelope.lawful_left()  # after the wait: as of the request
        if left is not None and left < MIN_CALL:  # the window closes too soon: not now
            raise SendError("lawful window closing", sent_unknown=False, retry=True)
        record = sender.record_calls
        if record is None:
            record = envelope.country == Country.CN.value
        query = "?" + urlencode({"attempt": envelope.attempt_id})
        args: dict[str, Any] = {
            "to": envelope.address,
            "from_": caller,
            "url": self.public_url + ANSWER_PATH + query,
            "method": "POST",
            "status_callback": self.public_url + STATUS_PATH + query,
            "status_callback_method": "POST",  # events: Twilio's default, `completed` only
            "machine_detection": "DetectMessageEnd",
            "timeout": RING_SECONDS,
            "time_limit": MAX_CALL if left is None else min(MAX_CALL, int(left.total_seconds())),
            "record": record,
        }
        sid = twilio_common.request(
            lambda: self.client.calls.create(**args), envelope, channel="call",
            invalid=INVALID_NUMBERS,
        )  # fmt: skip
        # placed: how it went comes with the webhooks; until then it counts as anything
        return Receipt(outcome=Outcome.UNKNOWN, provider_id=sid)

    def sent_to(self, number: str, since: datetime, until: datetime) -> list[twilio_common.Sent]:
        """The calls Twilio holds to `number` created between `since` and `until`."""
        found = self.client.calls.list(to=number, limit=200)
        return twilio_common.created_between(found, since, until)

    def status_of(self, sid: str) -> str:
        """What Twilio says of one call now (its CallStatus)."""
        return str(self.client.calls(sid).fetch().status)


# ------------------------------------------------------------------ what a call says
@dataclass(frozen=True, slots=True)
class Turn:
    """Twilio's next instructions, and what the call reached with them."""

    twiml: str
    stage: Outcome | None = None
    stop_calls: bool = False  # the answerer pressed 9
    not_them: bool = False  # the answerer said they are not the borrower


def answered(script: CallScript | None, answered_by: str | None, confirm_url: str) -> Turn:
    """What to say when the call is answered (by a person, a machine, or nobody knows)."""
    response = VoiceResponse()
    if script is None:  # not a call of ours (or its script is gone): say nothing
        response.hangup()
        return Turn(str(response))
    say = _speaker(script.language)
    if answered_by in MACHINE_WITH_MESSAGE or answered_by in MACHINE_NO_MESSAGE:
        if answered_by in MACHINE_WITH_MESSAGE and script.voicemail:
            say(response, script.voicemail)
            response.hangup()
            return Turn(str(response), Outcome.VOICEMAIL_LCM)
        response.hangup()
        return Turn(str(response), Outcome.VOICEMAIL_NO_MESSAGE)
    gather = Gather(num_digits=1, action=confirm_url, method="POST", timeout=GATHER_SECONDS)
    say(gather, script.greeting)
    response.append(gather)
    if script.voicemail:  # nobody pressed anything: what any machine or person may hear
        say(response, script.voicemail)
    response.hangup()
    return Turn(str(response), Outcome.ANSWERED_HANGUP)


def confirmed(script: CallScript | None, digits: str) -> Turn:
    """What to say once the answerer pressed a key."""
    response = VoiceResponse()
    if script is None:
        response.hangup()
        return Turn(str(response))
    say, lang = _speaker(script.language), script.language.split("-")[0]
    if digits == CONFIRMED:
        say(response, script.body)
        response.hangup()
        return Turn(str(response), Outcome.CONVERSATION)
    if digits == STOP_CALLS:
        say(response, _STOPPED.get(lang, _STOPPED["en"]))
        response.hangup()
        return Turn(str(response), stop_calls=True)
    say(response, _GOODBYE.get(lang, _GOODBYE["en"]))
    response.hangup()
    return Turn(str(response), Outcome.THIRD_PARTY_ANSWERED, not_them=True)


def ended(
    call_status: str, stage: str | None, answered_by: str | None, sip_code: str | None
) -> Outcome | None:
    """The outcome of a call Twilio says has ended; None while it has not."""
    if call_status == "completed":
        if stage is not None:
            return Outcome(stage)
        machine = answered_by in MACHINE_WITH_MESSAGE or answered_by in MACHINE_NO_MESSAGE
        return Outcome.VOICEMAIL_NO_MESSAGE if machine else Outcome.ANSWERED_HANGUP
    if call_status in _ENDED:
        return _ENDED[call_status]
    if call_status == "failed":
        network = sip_code is not None and sip_code.isdigit() and int(sip_code) >= 500
        return Outcome.NETWORK_FAIL if network else Outcome.NOT_IN_SERVICE
    return None


def _speaker(language: str) -> Any:
    lang, voice = _VOICES.get(language, (language, None))

    def say(to: VoiceResponse | Gather, text: str) -> None:
        if voice:
            to.say(text, language=lang, voice=voice)
        else:
            to.say(text, language=lang)

    return say
