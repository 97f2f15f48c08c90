"""What Twilio's SMS and voice channels share: the SDK client (optionally sent to another
base URL), per-sender pacing, and the classification of Twilio's answers at this boundary
(design.md section 3).

A request's fate: an answer with an error code that proves something about the number
(`invalid`: not a valid or not a mobile number; `opted_out`: the recipient unsubscribed at
the carrier) -> failed, and the ledger learns it; 429 / 20429 -> failed, nothing was sent,
retried later; another 4xx -> failed; a 5xx, a timeout or a connection lost after the request
left -> unknown (counts, reconciled later, never blindly re-sent); a connection never made ->
nothing was sent, retried later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any, NamedTuple

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from outreachd import overlay
from outreachd.channels.base import Envelope, SendError
from outreachd.config import TwilioIn, TwilioSenderIn
from outreachd.core.model import Country

TWILIO = "https://api.twilio.com"
RATE_LIMITED = 20429


class RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's own HTTP client, sent to another base URL (a contract mock on loopback)."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)  # no max_retries: a retry could send twice
        self.base = base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO):
            url = self.base + url[len(TWILIO) :]
        return super().request(method, url, *args, **kwargs)


def client(settings: TwilioIn, auth_token: str) -> Client:
    http = RebasedHttpClient(settings.api_base, settings.timeout_seconds)
    return Client(settings.account_sid, auth_token, http_client=http)


class Sent(NamedTuple):
    """A message or call Twilio holds."""

    sid: str
    status: str  # messages: queued, sent, delivered, ...; calls: queued, completed, busy, ...
    created: datetime


def created_between(found: Iterable[Any], since: datetime, until: datetime) -> list[Sent]:
    """The messages or calls of a Twilio listing created between `since` and `until`."""
    out = []
    for item in found:
        created = item.date_created
        if created is not None and since <= created <= until:
            out.append(Sent(str(item.sid), str(item.status), created))
    return out


def sender_for(settings: TwilioIn, country: str) -> TwilioSenderIn | None:
    """The configured sender for borrowers of `country` (None: none is configured)."""
    known = country in Country.__members__.values()
    return settings.senders.get(Country(country)) if known else None


class Pacer:
    """Twilio's rate per sender: `wait(key, per_second)` returns once that sender may send."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}  # sender -> monotonic instant of its next request
        self._lock = threading.Lock()

    def wait(self, key: str, per_second: float) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(key, now))
            self._next[key] = at + 1 / per_second
        if at > now:
            time.sleep(at - now)


def request(
    create: Callable[[], Any],
    envelope: Envelope,
    *,
    channel: str,
    invalid: Collection[int],
    opted_out: Collection[int] = (),
) -> str:
    """Make one create request; the new resource's SID, or the SendError saying what became
    of the attempt (see the module docstring)."""
    try:
        return str(create().sid)
    except TwilioRestException as exc:
        raise classified(exc, envelope, channel, invalid, opted_out) from None
    except (requests.exceptions.ConnectTimeout, requests.exceptions.ProxyError) as exc:
        raise SendError(f"Twilio not reached: {exc}", sent_unknown=False, retry=True) from None
    except requests.exceptions.ConnectionError as exc:
        if "NewConnectionError" in repr(exc):  # refused before a byte of the request left
            raise SendError(f"Twilio not reached: {exc}", sent_unknown=False, retry=True) from None
        raise SendError(f"Twilio connection lost: {exc}", sent_unknown=True) from None
    except requests.exceptions.Timeout as exc:
        raise SendError(f"Twilio did not answer: {exc}", sent_unknown=True) from None


def classified(
    exc: TwilioRestException,
    envelope: Envelope,
    channel: str,
    invalid: Collection[int],
    opted_out: Collection[int],
) -> SendError:
    code, status = exc.code, exc.status
    what = f"Twilio {status} code {code}: {exc.msg}"
    if code in opted_out:
        learned = (overlay.opt_out(channel, envelope.contact_id),)
        return SendError(what, sent_unknown=False, provider_code=str(code), learned=learned)
    if code in invalid:
        learned = (overlay.invalid_contact(envelope.contact_id, channel),)
        return SendError(what, sent_unknown=False, provider_code=str(code), learned=learned)
    if status == 429 or code == RATE_LIMITED:
        return SendError(what, sent_unknown=False, provider_code=str(code or status), retry=True)
    if status >= 500:
        return SendError(what, sent_unknown=True, provider_code=str(code or status))
    return SendError(what, sent_unknown=False, provider_code=str(code or status))
