"""E-mail through an SMTP relay (stdlib smtplib): text and HTML, List-Unsubscribe, Message-ID.

The fate of each message is classified at this boundary (design.md section 3):
- refused before the message was handed over (connection, TLS, login, a 4xx to MAIL, RCPT or
  DATA): nothing was sent, `retry` later;
- a 5xx to RCPT: the address is refused for good (`invalid_contact`), nothing was sent;
- a 5xx to MAIL or DATA: refused, nothing was sent, not retried;
- the connection lost once DATA began: nobody knows; `unknown` (counts, never re-sent);
- 250 after the data: sent; the Message-ID is the provider id recorded in the ledger.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlencode

from outreachd import overlay
from outreachd.channels.base import Envelope, Receipt, SendError
from outreachd.config import SmtpIn
from outreachd.core.model import Outcome

# where the daemon's webhooks take a one-click unsubscribe (RFC 8058), under public_url
ONE_CLICK_PATH = "/email/unsubscribe"


def one_click_link(base: str, attempt_id: str) -> str:
    """The one-click unsubscribe URL of one e-mail: `base` (public_url + ONE_CLICK_PATH, or
    the path alone on the page that posts to it) with the attempt it opts out."""
    return f"{base}?{urlencode({'attempt': attempt_id})}"


class Smtp:
    def __init__(
        self,
        settings: SmtpIn,
        *,
        password: str | None,
        base_dir: Path,
        one_click_url: str | None = None,
    ) -> None:
        """`password` only when `settings.username` is set; `base_dir` resolves `cafile`;
        `one_click_url`: the daemon's one-click unsubscribe endpoint (webhooks.py), offered
        first in each message's List-Unsubscribe with the attempt's id."""
        self.settings, self._password = settings, password
        self._one_click = one_click_url
        cafile = (base_dir / settings.cafile).resolve() if settings.cafile else None
        # built once: a missing or bad CA file is found at start (and by `check`), an OSError
        self._context = (
            ssl.create_default_context(cafile=cafile) if settings.security != "none" else None
        )
        address = parseaddr(settings.from_)[1]
        self._sender = address
        self._domain = address.rpartition("@")[2] or "localhost"

    def compose(self, envelope: Envelope) -> EmailMessage:
        """The message as it goes on the wire (text and an HTML alternative)."""
        msg, s = envelope.message, self.settings
        mime = EmailMessage()
        mime["From"] = s.from_
        mime["To"] = envelope.address
        mime["Subject"] = msg.subject or ""
        mime["Date"] = format_datetime(envelope.sent_at)
        mime["Message-ID"] = make_msgid(idstring=envelope.attempt_id, domain=self._domain)
        targets = [s.list_unsubscribe]
        if self._one_click:
            targets.insert(0, one_click_link(self._one_click, envelope.attempt_id))
        mime["List-Unsubscribe"] = ", ".join(f"<{target}>" for target in targets)
        if targets[0].startswith("https://"):
            mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
        mime["X-Outreachd-Attempt"] = envelope.attempt_id
        mime.set_content(msg.body, cte=_cte(msg.body))
        page = _html(msg.body, msg.locale)
        mime.add_alternative(page, subtype="html", cte=_cte(page))
        return mime

    def send(self, envelope: Envelope) -> Receipt:
        mime = self.compose(envelope)
        data = mime.as_bytes(policy=policy.SMTP)  # CRLF line ends, 7-bit clean
        client = self._connect()
        try:
            client.ehlo_or_helo_if_needed()
            _step(client.mail(self._sender), "MAIL")
            _step(client.rcpt(envelope.address), "RCPT", refused=envelope.contact_id)
            try:
                reply = client.data(data)  # raises if DATA is refused; returns the final reply
            except smtplib.SMTPDataError as exc:  # 354 not given: nothing was handed over
                raise _refused(exc.smtp_code, exc.smtp_error, "DATA") from None
            except (OSError, smtplib.SMTPException) as exc:
                raise SendError(
                    f"SMTP connection lost during DATA: {exc}", sent_unknown=True
                ) from None
            _step(reply, "DATA")  # the server refused the message it was given
        except (OSError, smtplib.SMTPServerDisconnected) as exc:  # before DATA: nothing sent
            raise SendError(
                f"SMTP failed before DATA: {exc}", sent_unknown=False, retry=True
            ) from None
        finally:
            _close(client)
        return Receipt(outcome=Outcome.EMAIL_SENT, provider_id=str(mime["Message-ID"]))

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = self._context
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_seconds, context=context
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            try:
                if s.security == "starttls":
                    client.starttls(context=context)
                if s.username:
                    client.login(s.username, self._password or "")
            except BaseException:
                _close(client)
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(
                f"SMTP login refused ({exc.smtp_code})", sent_unknown=False, retry=True
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(
                f"SMTP connection to {s.host}:{s.port} failed: {exc}",
                sent_unknown=False,
                retry=True,
            ) from None
        return client


def _step(reply: tuple[int, bytes], command: str, *, refused: str | None = None) -> None:
    code, text = reply
    if code >= 400:
        raise _refused(code, text, command, refused=refused)


def _refused(
    code: int, text: bytes | str, command: str, *, refused: str | None = None
) -> SendError:
    """`refused`: the contact id a 5xx to this command refuses for good."""
    detail = text.decode(errors="replace") if isinstance(text, bytes) else text
    permanent = code >= 500
    learned = (overlay.invalid_contact(refused, "email"),) if permanent and refused else ()
    return SendError(
        f"SMTP {command} refused: {code} {detail}",
        sent_unknown=False,
        provider_code=str(code),
        retry=not permanent,
        learned=learned,
    )


def _cte(text: str) -> str:
    """A 7-bit clean transfer encoding: base64 for non-ASCII text (CJK: compact)."""
    return "7bit" if text.isascii() and all(len(x) < 990 for x in text.splitlines()) else "base64"


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def _html(text: str, locale: str) -> str:
    """The text body as simple HTML: paragraphs at blank lines, line breaks kept."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    body = "".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.splitlines()) + "</p>\n"
        for p in paragraphs
    )
    lang = html.escape(locale, quote=True)
    head = f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8"></head>\n'
    return f"{head}<body>\n{body}</body></html>\n"
