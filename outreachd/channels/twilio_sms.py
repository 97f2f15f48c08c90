"""SMS through Twilio with the real SDK: a sender per borrower country, paced per sender,
ValidityPeriod set to the time left in the borrower's lawful window, segments counted.

Answers are classified as twilio_common says: 21610 (the recipient unsubscribed at the
carrier) -> failed, and an opt-out of SMS to that number is learned; 21211 / 21614 (not a
valid / not a mobile number) -> failed, the number flagged invalid; 429 / 20429 -> retried
later; a 5xx, a timeout or a connection lost after the request left -> unknown.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from outreachd.channels import twilio_common
from outreachd.channels.base import Envelope, Receipt, SendError
from outreachd.config import TwilioIn, TwilioSenderIn
from outreachd.core.model import Channel, Outcome

MAX_VALIDITY = 36_000  # seconds, Twilio's upper bound for ValidityPeriod
OPTED_OUT, INVALID_NUMBERS = 21610, frozenset({21211, 21614})
# GSM 03.38: the basic set, and the extension set whose characters take two septets
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXT = frozenset("^{}\\[~]|€\f")
GSM7_ALL = GSM7 | GSM7_EXT


def segments(text: str) -> tuple[str, int]:
    """('GSM-7' | 'UCS-2', parts): 160/153 septets per part, or 70/67 UTF-16 units."""
    chars = set(text)
    if chars <= GSM7_ALL:
        septets = len(text) + (
            sum(text.count(ch) for ch in chars & GSM7_EXT) if chars & GSM7_EXT else 0
        )
        return "GSM-7", 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)


class TwilioSms:
    def __init__(self, settings: TwilioIn, *, auth_token: str) -> None:
        self.settings = settings
        self.client = twilio_common.client(settings, auth_token)
        self.pacer = twilio_common.Pacer()

    def needs_validity(self, channel: Channel) -> bool:
        return channel is Channel.SMS

    def send(self, envelope: Envelope) -> Receipt:
        sender = twilio_common.sender_for(self.settings, envelope.country)
        if sender is None:
            why = f"no Twilio sender for country {envelope.country!r}"
            raise SendError(why, sent_unknown=False)
        key = sender.messaging_service_sid or sender.from_ or ""
        self.pacer.wait(key, sender.messages_per_second)
        args = self._args(envelope, sender)  # after the wait: the time left is as of now
        sid = twilio_common.request(
            lambda: self.client.messages.create(**args), envelope, channel="sms",
            invalid=INVALID_NUMBERS, opted_out=(OPTED_OUT,),
        )  # fmt: skip
        parts = segments(envelope.message.body)[1]
        return Receipt(outcome=Outcome.SMS_SENT, provider_id=sid, segments=parts)

    def _args(self, envelope: Envelope, sender: TwilioSenderIn) -> dict[str, Any]:
        args: dict[str, Any] = {"to": envelope.address, "body": envelope.message.body}
        if sender.messaging_service_sid:
            args["messaging_service_sid"] = sender.messaging_service_sid
        else:
            args["from_"] = sender.from_
        if self.settings.status_callback:
            args["status_callback"] = self.settings.status_callback
        left = envelope.lawful_left()
        if left is not None:
            seconds = int(left.total_seconds())
            if seconds < 1:  # the window closes within the minute: not now
                raise SendError("lawful window closing", sent_unknown=False, retry=True)
            args["validity_period"] = min(seconds, MAX_VALIDITY)
        return args

    def sent_to(self, number: str, since: datetime, until: datetime) -> list[twilio_common.Sent]:
        """The messages Twilio holds to `number` created between `since` and `until`."""
        found = self.client.messages.list(
            to=number, date_sent_after=since, date_sent_before=until, limit=200
        )
        return twilio_common.created_between(found, since, until)

    def status_of(self, sid: str) -> str:
        """What Twilio says of one message now."""
        return str(self.client.messages(sid).fetch().status)
