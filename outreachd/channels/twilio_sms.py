"""SMS through Twilio with the real SDK: a sender per borrower country, paced per sender,
ValidityPeriod set to the time left in the borrower's lawful window, segments counted.

Answers are classified at this boundary (design.md section 3): 21610 (the recipient
unsubscribed at the carrier) -> failed, and an opt-out of SMS to that number is learned;
21211 / 21614 (not a valid / not a mobile number) -> failed, the number flagged invalid;
429 / 20429 -> failed, nothing was sent, retried later; another 4xx -> failed; a 5xx, a
timeout or a connection lost after the request left -> unknown (counts, reconciled later,
never blindly re-sent); a connection never made -> nothing was sent, retried later.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime
from typing import Any, NamedTuple

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from outreachd import overlay
from outreachd.channels.base import Envelope, Receipt, SendError
from outreachd.config import TwilioIn, TwilioSenderIn
from outreachd.core.model import Channel, Country, Outcome

TWILIO = "https://api.twilio.com"
MAX_VALIDITY = 36_000  # seconds, Twilio's upper bound for ValidityPeriod
OPTED_OUT, INVALID_NUMBERS, RATE_LIMITED = 21610, frozenset({21211, 21614}), 20429
# GSM 03.38: the basic set, and the extension set whose characters take two septets
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXT = frozenset("^{}\\[~]|€\f")


def segments(text: str) -> tuple[str, int]:
    """('GSM-7' | 'UCS-2', parts): 160/153 septets per part, or 70/67 UTF-16 units."""
    if all(ch in GSM7 or ch in GSM7_EXT for ch in text):
        septets = len(text) + sum(ch in GSM7_EXT for ch in text)
        return "GSM-7", 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)


class Sent(NamedTuple):
    sid: str
    status: str  # queued, sent, delivered, undelivered, failed, ...
    created: datetime


class _Rebased(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's own HTTP client, sent to another base URL (a contract mock on loopback)."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)  # no max_retries: a retry could send twice
        self.base = base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO):
            url = self.base + url[len(TWILIO) :]
        return super().request(method, url, *args, **kwargs)


class TwilioSms:
    def __init__(self, settings: TwilioIn, *, auth_token: str) -> None:
        self.settings = settings
        self.client = Client(
            settings.account_sid,
            auth_token,
            http_client=_Rebased(settings.api_base, settings.timeout_seconds),
        )
        self._next: dict[str, float] = {}  # sender -> monotonic instant of its next send
        self._lock = threading.Lock()

    def needs_validity(self, channel: Channel) -> bool:
        return channel is Channel.SMS

    def send(self, envelope: Envelope) -> Receipt:
        known = envelope.country in Country.__members__.values()
        sender = self.settings.senders.get(Country(envelope.country)) if known else None
        if sender is None:
            why = f"no Twilio sender for country {envelope.country!r}"
            raise SendError(why, sent_unknown=False)
        args = self._args(envelope, sender)
        self._pace(sender)
        sid = _create(self.client, args, envelope)
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
        if envelope.valid_for is not None:
            seconds = int(envelope.valid_for.total_seconds())
            if seconds < 1:  # the window closes within the minute: not now
                raise SendError("lawful window closing", sent_unknown=False, retry=True)
            args["validity_period"] = min(seconds, MAX_VALIDITY)
        return args

    def sent_to(self, number: str, since: datetime, until: datetime) -> list[Sent]:
        """The messages Twilio holds to `number` created between `since` and `until`."""
        found = self.client.messages.list(
            to=number, date_sent_after=since, date_sent_before=until, limit=200
        )
        out = []
        for m in found:
            created = m.date_created
            if created is not None and since <= created <= until:
                out.append(Sent(str(m.sid), str(m.status), created))
        return out

    def status_of(self, sid: str) -> str:
        """What Twilio says of one message now."""
        return str(self.client.messages(sid).fetch().status)

    def _pace(self, sender: TwilioSenderIn) -> None:
        """Twilio's per-sender rate: wait until this sender may send again."""
        key = sender.messaging_service_sid or sender.from_ or ""
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(key, now))
            self._next[key] = at + 1 / sender.messages_per_second
        if at > now:
            time.sleep(at - now)


def _create(client: Any, args: dict[str, Any], envelope: Envelope) -> str:
    """POST the message; its SID, or the SendError saying what became of it."""
    try:
        return str(client.messages.create(**args).sid)
    except TwilioRestException as exc:
        raise _classified(exc, envelope) from None
    except (requests.exceptions.ConnectTimeout, requests.exceptions.ProxyError) as exc:
        raise SendError(f"Twilio not reached: {exc}", sent_unknown=False, retry=True) from None
    except requests.exceptions.ConnectionError as exc:
        if "NewConnectionError" in repr(exc):  # refused before a byte of the request left
            raise SendError(f"Twilio not reached: {exc}", sent_unknown=False, retry=True) from None
        raise SendError(f"Twilio connection lost: {exc}", sent_unknown=True) from None
    except requests.exceptions.Timeout as exc:
        raise SendError(f"Twilio did not answer: {exc}", sent_unknown=True) from None


def _classified(exc: TwilioRestException, envelope: Envelope) -> SendError:
    code, status = exc.code, exc.status
    what = f"Twilio {status} code {code}: {exc.msg}"
    if code == OPTED_OUT:
        learned = (overlay.opt_out("sms", envelope.contact_id),)
        return SendError(what, sent_unknown=False, provider_code=str(code), learned=learned)
    if code in INVALID_NUMBERS:
        learned = (overlay.invalid_contact(envelope.contact_id, "sms"),)
        return SendError(what, sent_unknown=False, provider_code=str(code), learned=learned)
    if status == 429 or code == RATE_LIMITED:
        return SendError(what, sent_unknown=False, provider_code=str(code or status), retry=True)
    if status >= 500:
        return SendError(what, sent_unknown=True, provider_code=str(code or status))
    return SendError(what, sent_unknown=False, provider_code=str(code or status))
