"""The daemon's HTTP endpoint: Twilio's message status callbacks, and /healthz for probes.

Every callback must carry a valid X-Twilio-Signature, computed by Twilio over the public URL
it called and the form fields, with the account's auth token; anything else gets 403 and a
`webhook_rejected` log line. A callback is idempotent on Twilio's MessageSid: the ledger never
moves an attempt backwards, so a repeated or out-of-order callback changes nothing (and raises
no flag twice). A malformed body gets 400, never a crash.

Delivery receipts: `delivered` -> delivered; `undelivered` / `failed` -> failed, and an error
code that proves something about the number is learned: 21610 (the recipient opted out at the
carrier) -> an SMS opt-out of that number; 30003, 30005, 30006 (unreachable, unknown, a
landline) -> the number flagged invalid_contact.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator

from outreachd.config import WebhooksIn
from outreachd.dispatch import INVALID_CONTACT
from outreachd.errors import OutreachError
from outreachd.ledger.store import Flag, Ledger

STATUS_PATH, HEALTH_PATH = "/twilio/status", "/healthz"
_PENDING = {"accepted", "queued", "sending", "sent", "scheduled"}
_FAILED = {"undelivered", "failed", "canceled"}
OPTED_OUT, UNREACHABLE = "21610", frozenset({"30003", "30005", "30006"})
MAX_BODY = 64 * 1024


class WebhookServer:
    def __init__(
        self,
        settings: WebhooksIn,
        *,
        ledger: Callable[[], Ledger],
        auth_token: str,
        log: Any,
        clock: Callable[[], datetime],
    ) -> None:
        """`ledger` gives the current ledger (a reload may swap it)."""
        host, _, port = settings.listen.rpartition(":")
        self.settings, self.ledger, self.log, self.clock = settings, ledger, log, clock
        self.validator = RequestValidator(auth_token)
        self.httpd = ThreadingHTTPServer((host, int(port)), _handler(self))
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---------------------------------------------------------------- requests
    def health(self) -> tuple[int, dict[str, object]]:
        try:
            self.ledger().ping()
        except OutreachError as exc:
            return 503, {"status": "ledger unreachable", "error": str(exc)}
        return 200, {"status": "ok"}

    def status_callback(
        self, path: str, form: dict[str, str], signature: str | None
    ) -> tuple[int, dict[str, object]]:
        url = self.settings.public_url.rstrip("/") + path
        if not signature or not self.validator.validate(url, form, signature):
            self.log.warning("webhook_rejected", path=urlsplit(path).path, reason="signature")
            return 403, {"error": "invalid signature"}
        sid, status = form.get("MessageSid"), form.get("MessageStatus")
        if not sid or not status:
            return 400, {"error": "MessageSid and MessageStatus are required"}
        if status in _PENDING:
            to = ("sent", "sms_sent")
        elif status == "delivered":
            to = ("delivered", "sms_sent")
        elif status in _FAILED:
            to = ("failed", "failed")
        else:
            return 400, {"error": f"unknown MessageStatus {status!r}"}
        now = self.clock()
        ledger = self.ledger()
        moved = ledger.record_provider(sid, to[0], to[1], now)
        code = form.get("ErrorCode") or None
        self.log.info(
            "delivery_status", provider_id=sid, status=status, error_code=code, recorded=bool(moved)
        )
        if moved is not None and to[0] == "failed" and code:
            ledger.add_flags(_learned(moved, code), now)
        return 200, {"recorded": moved is not None}


def _learned(moved: tuple[str, str, str], code: str) -> list[Flag]:
    _, borrower, contact = moved
    source = f"twilio-status:{code}"
    if code == OPTED_OUT:
        return [Flag(borrower, "address_opt_outs", {"add": [f"sms:{contact}"]}, source)]
    if code in UNREACHABLE:
        return [Flag(borrower, INVALID_CONTACT, {"contact_id": contact, "channel": "sms"}, source)]
    return []


def _handler(server: WebhookServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "outreachd"

        def log_message(self, *args: Any) -> None:  # our own structured log lines instead
            pass

        def do_GET(self) -> None:
            if urlsplit(self.path).path != HEALTH_PATH:
                self._answer(404, {"error": "not found"})
                return
            self._answer(*server.health())

        def do_POST(self) -> None:
            if urlsplit(self.path).path != STATUS_PATH:
                self._answer(404, {"error": "not found"})
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
                if not 0 <= length <= MAX_BODY:
                    raise ValueError(length)
                text = self.rfile.read(length).decode("utf-8")
                form = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
            except (ValueError, UnicodeDecodeError):
                self._answer(400, {"error": "a form-encoded body is required"})
                return
            signature = self.headers.get("X-Twilio-Signature")
            try:
                self._answer(*server.status_callback(self.path, form, signature))
            except OutreachError as exc:  # the ledger is down: Twilio retries on 5xx
                server.log.error("webhook_failed", path=STATUS_PATH, error=str(exc))
                self._answer(503, {"error": "ledger unavailable"})

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
