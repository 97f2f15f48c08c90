"""E-mail through a real SMTP server on loopback (aiosmtpd): what goes on the wire, and how
each answer of the server becomes a ledger fate (sent, failed and retried, failed for good
with the address never used again, unknown)."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import update

from outreachd import wiring
from outreachd.channels.router import Router
from outreachd.channels.smtp import ONE_CLICK_PATH
from outreachd.config import SmtpIn, WebhooksIn
from outreachd.core.model import Channel
from outreachd.dispatch import SEND_RETRY
from outreachd.ledger import schema
from outreachd.ledger.store import Ledger
from outreachd.overlay import INVALID_CONTACT
from outreachd.webhooks import WebhookServer
from tests.acceptance.daemon_kit import write_config
from tests.acceptance.test_cli import run
from tests.integration.test_dispatch import NOW, Rig, cn_row, rig

# the implicit-TLS leg turns aiosmtpd's AUTH-without-STARTTLS check off (the socket is TLS)
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

PASSWORD = "s3cret-not-in-logs"  # a test double's password


class Mailbox:
    """The server side: keeps what it accepted; some addresses get scripted answers."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []
        self.rcpts: list[str] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.rcpts.append(address)
        if address.startswith("gone"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if envelope.rcpt_tos[0].startswith("drop"):
            server.transport.close()  # the line goes dead before the 250
            return "250 never seen"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK queued"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append(data.login.decode())
        return AuthResult(success=data.password.decode() == PASSWORD)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclasses.dataclass
class Server:
    mailbox: Mailbox
    port: int
    ca: Path


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the CA file a client must trust."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return server, tmp_path / "ca.pem"


@pytest.fixture(params=["starttls", "ssl"])
def server(request: Any, tls: tuple[ssl.SSLContext, Path]) -> Iterator[Server]:
    """An SMTP server with login over STARTTLS (port 587 style) or implicit TLS (465)."""
    mailbox, port = Mailbox(), free_port()
    context, ca = tls
    kwargs: dict[str, Any] = {"authenticator": mailbox.authenticate, "auth_required": True}
    if request.param == "starttls":
        kwargs |= {"tls_context": context, "require_starttls": True}
    else:  # aiosmtpd 1.4 does not count implicit TLS as TLS for AUTH: the socket is TLS
        kwargs |= {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield Server(mailbox=mailbox, port=port, ca=ca)
    finally:
        controller.stop()


def email_only(borrower: int, address: str) -> dict[str, Any]:
    """A CN debt whose borrower can only be e-mailed, at `address`."""
    row = cn_row(borrower, 1)
    row["borrower"]["phones"] = []
    row["borrower"]["emails"][0]["address"] = address
    return row


def smtp_rig(
    ledger: Ledger, tmp_path: Path, srv: Server, security: str, rows: list[dict[str, Any]]
) -> Rig:
    r = rig(ledger, tmp_path, rows, batch=50)
    settings = SmtpIn.model_validate({
        "host": "127.0.0.1", "port": srv.port, "security": security, "username": "outreachd",
        "from": "Acme Finance <care@acme.example>",
        "list_unsubscribe": "mailto:optout@acme.example", "timeout_seconds": 5,
        "cafile": str(srv.ca),
    })  # fmt: skip
    r.cfg = dataclasses.replace(r.cfg, smtp=settings, route={Channel.EMAIL: "smtp"})
    return r


def dispatch(r: Rig, monkeypatch: pytest.MonkeyPatch, at: Any = NOW) -> Any:
    monkeypatch.setenv("OUTREACHD_SMTP_PASSWORD", PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    channel = wiring.channel(r.cfg)
    assert isinstance(channel, Router)
    return r.dispatcher(channel).tick(at)


def security_of(server: Server, request: Any) -> str:
    return str(request.node.callspec.params["server"])


def test_an_email_goes_out_with_opt_out_header_and_its_message_id_is_recorded(
    ledger: Ledger, tmp_path: Path, server: Server, request: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over TLS with a login (the password from the environment): text and HTML parts,
    List-Unsubscribe, the attempt id; the ledger keeps the Message-ID as the provider id."""
    r = smtp_rig(ledger, tmp_path, server, security_of(server, request),
                 [email_only(1, "b1@example.net")])  # fmt: skip
    stats = dispatch(r, monkeypatch)
    assert stats.sent == 1 and server.mailbox.logins == ["outreachd"]
    (msg,) = server.mailbox.messages
    (event,) = r.events()
    assert msg["To"] == "b1@example.net" and msg["From"] == "Acme Finance <care@acme.example>"
    assert msg["List-Unsubscribe"] == "<mailto:optout@acme.example>"
    assert msg["X-Outreachd-Attempt"] == event["id"]
    assert event["status"] == "sent" and event["provider_id"] == msg["Message-ID"]
    assert msg["Subject"]
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    assert "95555" in text.get_content() and "<p>尊敬的客户您好" in html.get_content()
    assert PASSWORD not in repr(r.log.lines)


def test_a_mailbox_refused_for_good_is_flagged_and_never_tried_again(
    ledger: Ledger, tmp_path: Path, server: Server, request: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """550 to RCPT: the attempt failed, the address is flagged invalid, and the next step
    (after the cadence wait) does not use it again."""
    r = smtp_rig(ledger, tmp_path, server, security_of(server, request),
                 [email_only(1, "gone@example.net")])  # fmt: skip
    stats = dispatch(r, monkeypatch)
    assert (stats.sent, stats.failed) == (0, 1)
    (event,) = r.events()
    assert (event["status"], event["outcome"]) == ("failed", "failed")
    with ledger.borrower_txn("CN-0001") as txn:
        (flag,) = txn.flags([INVALID_CONTACT])["CN-0001"]
    assert flag.value == {"contact_id": "e1", "channel": "email"} and flag.source == "email:550"
    later = NOW + timedelta(days=r.cfg.strategy.stages[0].steps[0].wait_days, hours=1)
    dispatch(r, monkeypatch, later)
    assert server.mailbox.rcpts == ["gone@example.net"] and len(r.events()) == 1
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.status == "blocked"


def test_a_temporary_refusal_is_retried_not_lost(
    ledger: Ledger, tmp_path: Path, server: Server, request: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """451 to RCPT: nothing was sent, so the same step is due again in a few minutes."""
    r = smtp_rig(ledger, tmp_path, server, security_of(server, request),
                 [email_only(1, "busy@example.net")])  # fmt: skip
    assert dispatch(r, monkeypatch).failed == 1
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.status, plan.step, plan.reasons) == ("due", 0, (SEND_RETRY,))
    assert plan.next_due_at is not None and NOW < plan.next_due_at <= NOW + timedelta(minutes=10)


def test_a_line_lost_during_data_is_unknown_and_not_retried(
    ledger: Ledger, tmp_path: Path, server: Server, request: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection drops after the message was handed over: the fate is unknown (it
    counts toward caps) and the step is not sent again."""
    r = smtp_rig(ledger, tmp_path, server, security_of(server, request),
                 [email_only(1, "drop@example.net")])  # fmt: skip
    assert dispatch(r, monkeypatch).unknown == 1
    (event,) = r.events()
    assert event["status"] == "unknown"
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.step == 1 and plan.reasons != (SEND_RETRY,)


def test_no_server_means_nothing_sent_and_a_retry(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relay that does not answer: failed, nothing sent, retried later; the SMS of the
    same chunk still goes to the outbox."""
    srv = Server(mailbox=Mailbox(), port=free_port(), ca=tmp_path / "none.pem")
    rows = [email_only(1, "b1@example.net"), cn_row(2, 1)]
    r = smtp_rig(ledger, tmp_path, srv, "none", rows)
    stats = dispatch(r, monkeypatch)
    assert (stats.sent, stats.failed) == (1, 1)
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.reasons == (SEND_RETRY,)
    assert (tmp_path / "outbox.jsonl").read_text().count('"account_id": "CN-0002-1"') == 1


CONFIG_SMTP = """\
channels:
  smtp:
    host: 127.0.0.1
    username: outreachd
    from: "Acme <care@acme.example>"
    list_unsubscribe: "mailto:optout@acme.example"
  route: {email: smtp}
"""


def test_check_needs_the_smtp_secret_and_never_prints_it(tmp_path: Path) -> None:
    """`outreachd check` fails naming where the password should be; with the systemd
    credential present it passes, and the password appears nowhere in its output."""
    path = tmp_path / "outreachd.yaml"
    write_config(path, channels=CONFIG_SMTP)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    failed = run("check", "--config", str(path), env=env)
    assert failed.returncode == 1
    assert "channels.smtp: secret not found" in failed.stderr
    assert "OUTREACHD_SMTP_PASSWORD" in failed.stderr
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "smtp-password").write_text(PASSWORD + "\n")
    env["CREDENTIALS_DIRECTORY"] = str(creds)
    ok = run("check", "--config", str(path), env=env)
    assert ok.returncode == 0, ok.stderr
    assert PASSWORD not in ok.stdout + ok.stderr


def test_smtp_route_needs_smtp_settings(tmp_path: Path) -> None:
    """Routing e-mail to smtp without channels.smtp is a config error with its line."""
    path = tmp_path / "outreachd.yaml"
    write_config(path, channels="channels:\n  route: {email: smtp}\n")
    proc = run("check", "--config", str(path))
    assert proc.returncode == 1
    assert "channels.route.email: needs channels.smtp" in proc.stderr
    assert f"{path}:" in proc.stderr


PUBLIC = "https://hooks.example/outreachd"


def _http(url: str, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    if data is not None:  # as a mail provider posts it (RFC 8058 section 3.2)
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_one_click_unsubscribe_opts_the_address_out_once_and_for_good(
    ledger: Ledger, tmp_path: Path, server: Server, request: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With channels.smtp.one_click, List-Unsubscribe offers the daemon's own URL for the
    attempt before the mailto, with List-Unsubscribe-Post. Following the link only shows a
    button; the provider's POST records the opt-out of that address (once, however often it
    comes); an unknown attempt is 404; Twilio's paths are not served without Twilio. The
    next e-mail step to that address is blocked, and nothing more is sent."""
    r = smtp_rig(ledger, tmp_path, server, security_of(server, request),
                 [email_only(1, "b1@example.net")])  # fmt: skip
    assert r.cfg.smtp is not None
    hooks_in = WebhooksIn(listen="127.0.0.1:0", public_url=PUBLIC)
    smtp = r.cfg.smtp.model_copy(update={"one_click": True})
    r.cfg = dataclasses.replace(r.cfg, smtp=smtp, webhooks=hooks_in)
    assert dispatch(r, monkeypatch).sent == 1
    (msg,) = server.mailbox.messages
    (event,) = r.events()
    url = f"{PUBLIC}{ONE_CLICK_PATH}?attempt={event['id']}"
    assert msg["List-Unsubscribe"] == f"<{url}>, <mailto:optout@acme.example>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    hooks = WebhookServer(hooks_in, ledger=lambda: ledger, auth_token=None, replies=None,
                          log=r.log, clock=lambda: NOW, one_click=True)  # fmt: skip
    hooks.start()
    try:
        local = url.replace(PUBLIC, f"http://127.0.0.1:{hooks.port}")
        status, page = _http(local)
        assert status == 200 and 'name="List-Unsubscribe" value="One-Click"' in page
        assert opt_outs(ledger) == []  # a GET changes nothing
        assert _http(local, b"List-Unsubscribe=One-Click")[0] == 200
        assert _http(local, b"List-Unsubscribe=One-Click")[0] == 200  # posted again
        assert _http(local, b"")[0] == 400
        assert _http(local.replace(event["id"], "f" * 32), b"List-Unsubscribe=One-Click")[0] == 404
        assert _http(f"http://127.0.0.1:{hooks.port}/twilio/status", b"MessageSid=SM1")[0] == 404
    finally:
        hooks.stop()
    assert opt_outs(ledger) == [("address_opt_outs", {"add": [f"email:{event['contact_id']}"]})]
    recorded = [f for e, f in r.log.lines if e == "email_opt_out"]
    assert [f["recorded"] for f in recorded] == [True, False]

    with ledger._engine.begin() as conn:  # the next step, due now
        conn.execute(update(schema.plans).values(next_due_at=NOW + timedelta(hours=1)))
    later = dispatch(r, monkeypatch, NOW + timedelta(hours=1))
    assert later.sent == 0 and len(server.mailbox.messages) == 1
    blocked = [f for e, f in r.log.lines if e == "outreach_blocked"]
    assert blocked and "CN-ADDRESS-OPT-OUT" in blocked[-1]["rule_ids"]


def opt_outs(ledger: Ledger) -> list[tuple[str, Any]]:
    with ledger.borrower_txn("CN-0001") as txn:
        return [(f.name, f.value) for f in txn.flags(["address_opt_outs"]).get("CN-0001", [])]


CONFIG_ONE_CLICK = """\
channels:
  smtp:
    host: 127.0.0.1
    from: "Acme <care@acme.example>"
    list_unsubscribe: "mailto:optout@acme.example"
    one_click: true
  route: {email: smtp}
"""


@pytest.mark.parametrize(
    ("webhooks", "error"),
    [
        ("", "channels.smtp.one_click: needs webhooks"),
        ("webhooks: {public_url: 'http://hooks.example'}\n", "webhooks.public_url: must be https"),
        ("webhooks: {public_url: 'https://hooks.example'}\n", None),
    ],
)
def test_one_click_needs_https_webhooks_and_is_enough_for_them(
    tmp_path: Path, webhooks: str, error: str | None
) -> None:
    """one_click needs webhooks on an https public URL (RFC 8058); with it, webhooks
    without Twilio are valid (they serve the unsubscribe and /healthz)."""
    path = tmp_path / "outreachd.yaml"
    write_config(path, channels=CONFIG_ONE_CLICK + webhooks)
    proc = run("check", "--config", str(path))
    if error is None:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 1 and error in proc.stderr and f"{path}:" in proc.stderr
