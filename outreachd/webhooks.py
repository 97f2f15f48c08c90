"""The daemon's HTTP endpoint: Twilio's message status callbacks, incoming SMS, the calls'
answer, key-press and status webhooks (see channels/twilio_voice.py), the e-mails' one-click
unsubscribe (RFC 8058, when channels.smtp.one_click is on), and /healthz. Without
channels.twilio only the last two are served.

Every callback must carry a valid X-Twilio-Signature, computed by Twilio over the public URL
it called and the form fields, with the account's auth token; anything else gets 403 and a
`webhook_rejected` log line. A callback is idempotent on Twilio's MessageSid: the ledger never
moves an attempt backwards, so a repeated or out-of-order callback changes nothing (and raises
no flag twice). A malformed body gets 400, never a crash.

One-click unsubscribe: a mail provider's "Unsubscribe" POSTs `List-Unsubscribe=One-Click` to
the URL in the message's List-Unsubscribe header, which names the attempt; the address it went
to is opted out of e-mail at once (`address_opt_outs`, source `email-one-click:<attempt>`),
once however often it is posted. A GET (a person following the link, or a mail scanner) only
shows a page with a button that posts. The attempt id (a version-4 UUID: 122 random bits,
store.new_attempt_id) is what makes the link unguessable; an unknown one gets 404.

Delivery receipts: `delivered` -> delivered; `undelivered` / `failed` -> failed, and an error
code that proves something about the number is learned: 21610 (the recipient opted out at the
carrier) -> an SMS opt-out of that number; 30003, 30005, 30006 (unreachable, unknown, a
landline) -> the number flagged invalid_contact.
"""

from __future__ import annotations

import html
import json
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit
from xml.sax.saxutils import escape as xml_escape

from twilio.request_validator import RequestValidator

from outreachd import overlay
from outreachd.channels import twilio_voice as voice
from outreachd.channels.smtp import ONE_CLICK_PATH, one_click_link
from outreachd.config import WebhooksIn
from outreachd.core import model
from outreachd.errors import OutreachError
from outreachd.ledger.store import Attempt, CallState, Flag, HandoffRow, Ledger, ReplyEvidence
from outreachd.render import Message
from outreachd.replies import FLAG_OF, HANDOFF, Reading, Replies
from outreachd.sources import records
from outreachd.sources.base import AccountRecord

STATUS_PATH, SMS_PATH, HEALTH_PATH = "/twilio/status", "/twilio/sms", "/healthz"
VOICE_PATHS = (voice.ANSWER_PATH, voice.CONFIRM_PATH, voice.STATUS_PATH)
_PENDING = {"accepted", "queued", "sending", "sent", "scheduled"}
_FAILED = {"undelivered", "failed", "canceled"}
OPTED_OUT, UNREACHABLE = "21610", frozenset({"30003", "30005", "30006"})
MAX_BODY = 64 * 1024


class _Server(ThreadingHTTPServer):
    """The listening socket takes a burst: Twilio sends status callbacks in floods, and the
    standard backlog of 5 makes the kernel refuse (reset) connections while the accepting
    thread is busy."""

    request_queue_size = 1024


class WebhookServer:
    def __init__(
        self,
        settings: WebhooksIn,
        *,
        ledger: Callable[[], Ledger],
        auth_token: str | None,
        replies: Replies | None,
        log: Any,
        clock: Callable[[], datetime],
        confirm: Confirm | None = None,
        one_click: bool = False,
    ) -> None:
        """`ledger` gives the current ledger (a reload may swap it); `auth_token` and
        `replies` serve Twilio's webhooks (None: no Twilio, those paths are not served);
        `confirm` renders the answer to STOP (see receive_reply); `one_click`: serve the
        e-mails' one-click unsubscribe (channels.smtp.one_click; else its path is 404)."""
        host, _, port = settings.listen.rpartition(":")
        self.settings, self.ledger, self.log, self.clock = settings, ledger, log, clock
        self.replies, self.confirm, self.one_click = replies, confirm, one_click
        self.validator = RequestValidator(auth_token) if auth_token else None
        self.twilio_paths = (STATUS_PATH, SMS_PATH, *VOICE_PATHS) if replies is not None else ()
        self.httpd = _Server((host, int(port)), _handler(self))
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

    def signed(self, path: str, form: dict[str, str], signature: str | None) -> bool:
        """Whether Twilio signed this request (else it is logged as rejected)."""
        url = self.settings.public_url.rstrip("/") + path
        validator = self.validator
        if signature and validator is not None and validator.validate(url, form, signature):
            return True
        self.log.warning("webhook_rejected", path=urlsplit(path).path, reason="signature")
        return False

    def incoming_sms(self, form: dict[str, str]) -> tuple[int, str]:  # a signed one
        """A borrower's reply (see replies.py): flags, hand-offs, and at most one answer, as
        TwiML. A repeated delivery of the same message does nothing and answers nothing."""
        sid, sender, body = form.get("MessageSid"), form.get("From"), form.get("Body")
        if not sid or not sender or body is None:
            return 400, _twiml(None)
        assert self.replies is not None  # the path is served with Twilio's settings only
        text = receive_reply(
            self.ledger(), self.replies, sid=sid, sender=sender, body=body, now=self.clock(),
            log=self.log, confirm=self.confirm,
        )  # fmt: skip
        return 200, _twiml(text)

    def status_callback(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        """A signed message status callback (see the module docstring)."""
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

    # ---------------------------------------------------------------- e-mail
    def unsubscribe_page(self, attempt: str) -> tuple[int, str]:
        """What following the unsubscribe link shows: a button that posts (a GET changes
        nothing: mail scanners follow links)."""
        found = _emailed(self.ledger(), attempt)
        if found is None:
            return 404, _page(None, "unknown")
        return 200, _page(found[2], "ask", attempt)

    def email_opt_out(self, attempt: str, form: dict[str, str]) -> tuple[int, str]:
        """A one-click unsubscribe (see the module docstring)."""
        if form.get("List-Unsubscribe") != "One-Click":
            return 400, _page(None, "unknown")
        ledger = self.ledger()
        found = _emailed(ledger, attempt)
        if found is None:
            self.log.warning("webhook_rejected", path=ONE_CLICK_PATH, reason="unknown attempt")
            return 404, _page(None, "unknown")
        borrower, contact, locale = found
        flag = Flag(borrower, *overlay.opt_out("email", contact), f"email-one-click:{attempt}")
        recorded = ledger.add_flag_once(flag, self.clock())
        self.log.info(
            "email_opt_out", attempt_id=attempt, borrower_id=borrower, contact_id=contact,
            recorded=recorded,
        )  # fmt: skip
        return 200, _page(locale, "done")

    # ---------------------------------------------------------------- calls
    def voice(self, route: str, attempt: str, form: dict[str, str]) -> tuple[int, str]:
        """A signed call webhook for `attempt`: TwiML (answer, key press), or JSON (status)."""
        ledger, now = self.ledger(), self.clock()
        state = ledger.call(attempt)
        script = state.script if state else None
        if route == voice.STATUS_PATH:
            return self._call_ended(ledger, attempt, state, form, now)
        if route == voice.ANSWER_PATH:
            answered_by = form.get("AnsweredBy") or None
            confirm = self.settings.public_url.rstrip("/") + voice.CONFIRM_PATH
            turn = voice.answered(
                script, answered_by, f"{confirm}?{urlencode({'attempt': attempt})}"
            )
        else:
            digits = form.get("Digits", "")
            turn = voice.confirmed(script, digits)
        moved = turn.stage is not None and ledger.call_stage(attempt, turn.stage.value, now)
        if state is not None and moved and turn.not_them:
            reason = f"call {attempt}: the person who answered said they are not the borrower"
            ledger.add_handoff(state.borrower_id, state.account_id, "third_party_answered",
                               reason, now)  # fmt: skip
        if state is not None and turn.stop_calls:
            source = f"call-keypress:{form.get('CallSid') or attempt}"
            ledger.add_flags(_stop_calls(state.borrower_id, state.contact_id, source), now)
        self.log.info(
            "call_progress", attempt_id=attempt, provider_id=form.get("CallSid"),
            step=route.rsplit("/", 1)[1], answered_by=form.get("AnsweredBy"),
            stage=turn.stage.value if turn.stage else None, recorded=bool(moved),
            stop_calls=turn.stop_calls, known=state is not None,
        )  # fmt: skip
        return 200, turn.twiml

    def _call_ended(
        self, ledger: Ledger, attempt: str, state: CallState | None, form: dict[str, str],
        now: datetime,
    ) -> tuple[int, str]:  # fmt: skip
        sid, status = form.get("CallSid"), form.get("CallStatus")
        if not sid or not status:
            return 400, json.dumps({"error": "CallSid and CallStatus are required"})
        stage = state.stage if state is not None else None
        answered_by, sip = form.get("AnsweredBy") or None, form.get("SipResponseCode") or None
        outcome = voice.ended(status, stage, answered_by, sip)
        moved = None
        if outcome is not None:
            moved = ledger.finish_call(attempt, outcome.value, sid, now)
        if moved is not None and outcome is model.Outcome.NOT_IN_SERVICE:
            flag = overlay.invalid_contact(moved[1], "call")
            ledger.add_flags([Flag(moved[0], *flag, f"twilio-call:{status}:{sip or ''}")], now)
        self.log.info(
            "call_ended", attempt_id=attempt, provider_id=sid, status=status,
            outcome=outcome.value if outcome else None, answered_by=answered_by,
            sip_response_code=sip, recorded=moved is not None,
        )  # fmt: skip
        return 200, json.dumps({"recorded": moved is not None})


Confirm = Callable[[AccountRecord, datetime], Message | None]


def receive_reply(
    ledger: Ledger,
    replies: Replies,
    *,
    sid: str,
    sender: str,
    body: str,
    now: datetime,
    log: Any,
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    confirm: Confirm | None = None,
) -> str | None:
    """Record a borrower's SMS reply (see replies.py): the message verbatim with its reading,
    the flags and hand-offs it raises, and at most one answer; the answer's text (None for
    none, and for a repeated delivery of the same message, which changes nothing). `confirm`
    renders the opt-out confirmation for a known borrower (messages.opt_out_confirmation);
    an unknown number, or none rendered, gets the replies file's text."""
    reading = replies.read(body)
    matches = ledger.contacts_at(sender)
    raised, hands = _actions(reading, matches, sid, body)
    text = replies.reply_text(reading)
    template, locale = f"reply/{reading.cls}", reading.locale
    if reading.cls == "stop" and matches and confirm is not None:
        confirmation = _confirmation(ledger, matches[0][1], confirm, now)
        if confirmation is not None:
            text, template, locale = (
                confirmation.body,
                confirmation.template_id,
                confirmation.locale,
            )
    borrower, contact = (matches[0][0], matches[0][2]) if matches else ("", "")
    answer = None
    if text is not None:
        answer = Attempt(
            id=new_id(), borrower_id=borrower, account_id=None, debts=(), at=now,
            channel="sms", contact_id=contact, template=template,
            locale=locale, rule_ids=(), packs=(), person="", purpose="transactional",
        )  # fmt: skip
    evidence = ReplyEvidence(body, reading.cls, reading.matched, reading.found)
    fresh = ledger.inbound(
        provider_id=sid, borrower_id=borrower, contact_id=contact, at=now,
        evidence=evidence, raise_flags=raised, handoffs_=hands, answer=answer,
    )  # fmt: skip
    log.info(
        "reply_received", provider_id=sid, reply_class=reading.cls,
        classes=list(reading.found), matched=reading.matched,
        triggered=sorted({f.name for f in raised}) + (["handoff"] if hands else []),
        borrowers=sorted({m[0] for m in matches}), repeated=not fresh,
    )  # fmt: skip
    return text if fresh else None


def _confirmation(
    ledger: Ledger, account_id: str, confirm: Confirm, now: datetime
) -> Message | None:
    """The opt-out confirmation for the account the replying number belongs to."""
    payload = ledger.account_payloads([account_id]).get(account_id)
    return None if payload is None else confirm(records.load_payload(payload), now)


def _stop_calls(borrower: str, contact: str, source: str) -> list[Flag]:
    """ "Press 9": no more calls to that number, and TCPA consent for it revoked (47 CFR
    64.1200(a)(10): an automated opt-out on the call is a reasonable way to revoke)."""
    return [
        Flag(borrower, *overlay.opt_out("call", contact), source),
        Flag(borrower, "tcpa_revoked", {"add": [contact]}, source),
    ]


def _actions(
    reading: Reading, matches: list[tuple[str, str, str, str]], sid: str, body: str
) -> tuple[list[Flag], list[HandoffRow]]:
    """The flags and hand-offs a reply raises for every contact point at its number."""
    source, cls = f"sms-reply:{sid}", reading.cls
    flags: dict[tuple[str, str, str], Flag] = {}
    for borrower, _, contact, _ in matches:
        if cls in ("stop", "start"):
            name, value = overlay.opt_out("sms", contact, withdraw=cls == "start")
            flags[(borrower, "opt", contact)] = Flag(borrower, name, value, source)
        elif cls == "wrong_number":
            name, value = overlay.invalid_contact(contact, "sms")
            flags[(borrower, "invalid", contact)] = Flag(borrower, name, value, source)
        elif cls in FLAG_OF:
            flags[(borrower, cls, "")] = Flag(borrower, FLAG_OF[cls], True, source)
    hands: dict[str, HandoffRow] = {}
    if cls in HANDOFF or len(reading.found) > 1:
        also = [c for c in reading.found if c != cls]
        reason = f"SMS reply {sid}: {body}" + (f" (also: {', '.join(also)})" if also else "")
        for borrower, account, _, _ in matches or [("", "", "", "")]:
            kind = cls if matches else "unmatched_reply"
            hands.setdefault(borrower, (borrower, account or None, kind, reason))
    return list(flags.values()), list(hands.values())


def _emailed(ledger: Ledger, attempt: str) -> tuple[str, str, str | None] | None:
    """(borrower, contact id, locale) of the e-mail attempt a one-click URL names, or None."""
    return ledger.sent_attempt(attempt, "email") if attempt else None


# the one-click unsubscribe's pages, by the language of the e-mail they answer
_PAGES = {
    "en": {
        "ask": ("Unsubscribe", "Stop our e-mails to this address?", "Unsubscribe"),
        "done": ("Unsubscribed", "You will get no more e-mails from us at this address.", ""),
        "unknown": ("Not found", "This unsubscribe link is not valid.", ""),
    },
    "zh": {
        "ask": ("退订", "不再向此邮箱发送我们的邮件？", "退订"),
        "done": ("已退订", "我们将不再向此邮箱发送邮件。", ""),
        "unknown": ("未找到", "此退订链接无效。", ""),
    },
}


def _page(locale: str | None, which: str, attempt: str = "") -> str:
    """A one-click unsubscribe page: `ask` (a button that posts), `done` or `unknown`."""
    lang = "zh" if (locale or "").startswith("zh") else "en"
    title, text, button = (html.escape(part) for part in _PAGES[lang][which])
    form = ""
    if button:
        action = html.escape(one_click_link(ONE_CLICK_PATH, attempt), quote=True)
        form = (
            f'<form method="post" action="{action}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">{button}</button></form>\n'
        )
    return (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n<body>\n<p>{text}</p>\n{form}</body></html>\n"
    )


def _twiml(text: str | None) -> str:
    """Twilio's answer: one message, or none."""
    if text is None:
        return '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        f"{xml_escape(text)}</Message></Response>"
    )


def _learned(moved: tuple[str, str, str], code: str) -> list[Flag]:
    _, borrower, contact = moved
    source = f"twilio-status:{code}"
    if code == OPTED_OUT:
        return [Flag(borrower, *overlay.opt_out("sms", contact), source)]
    if code in UNREACHABLE:
        return [Flag(borrower, *overlay.invalid_contact(contact, "sms"), source)]
    return []


class _Handler(BaseHTTPRequestHandler):
    owner: WebhookServer  # set on the subclass made for each server
    server_version = "outreachd"

    def log_message(self, *args: Any) -> None:  # our own structured log lines instead
        pass

    def do_GET(self) -> None:
        route = urlsplit(self.path).path
        if route == HEALTH_PATH:
            self._answer(*self.owner.health())
        elif route == ONE_CLICK_PATH and self.owner.one_click:
            try:
                self._html(*self.owner.unsubscribe_page(self._attempt()))
            except OutreachError as exc:
                self._unavailable(route, exc)
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        route = urlsplit(self.path).path
        if route == ONE_CLICK_PATH and self.owner.one_click:
            self._one_click()
            return
        if route not in self.owner.twilio_paths:
            self._answer(404, {"error": "not found"})
            return
        attempt = self._attempt()
        if route in VOICE_PATHS and not attempt:
            self._answer(400, {"error": "the attempt query parameter is required"})
            return
        form = self._form()
        if form is None:
            self._answer(400, {"error": "a form-encoded body is required"})
            return
        signature = self.headers.get("X-Twilio-Signature")
        try:
            if not self.owner.signed(self.path, form, signature):
                self._answer(403, {"error": "invalid signature"})
            elif route == STATUS_PATH:
                self._answer(*self.owner.status_callback(form))
            elif route == voice.STATUS_PATH:
                self._send(*self.owner.voice(route, attempt, form), "application/json")
            elif route in VOICE_PATHS:
                self._reply(*self.owner.voice(route, attempt, form))
            else:
                self._reply(*self.owner.incoming_sms(form))
        except OutreachError as exc:  # the ledger is down: Twilio retries on 5xx
            self._unavailable(route, exc)

    def _one_click(self) -> None:
        form = self._form()
        try:
            if form is None:
                self._html(400, _page(None, "unknown"))
            else:
                self._html(*self.owner.email_opt_out(self._attempt(), form))
        except OutreachError as exc:  # the ledger is down: the provider tries again
            self._unavailable(ONE_CLICK_PATH, exc)

    def _attempt(self) -> str:
        return parse_qs(urlsplit(self.path).query).get("attempt", [""])[0]

    def _unavailable(self, route: str, exc: OutreachError) -> None:
        self.owner.log.error("webhook_failed", path=route, error=str(exc))
        self._answer(503, {"error": "ledger unavailable"})

    def _form(self) -> dict[str, str] | None:
        try:
            length = int(self.headers.get("Content-Length", ""))
            if not 0 <= length <= MAX_BODY:
                return None
            text = self.rfile.read(length).decode("utf-8")
            return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
        except (ValueError, UnicodeDecodeError):
            return None

    def _html(self, status: int, page: str) -> None:
        self._send(status, page, "text/html; charset=utf-8")

    def _reply(self, status: int, twiml: str) -> None:
        self._send(status, twiml, "text/xml; charset=utf-8")

    def _send(self, status: int, text: str, content_type: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _handler(server: WebhookServer) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"owner": server})
