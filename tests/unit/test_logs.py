"""Logging setup and the masking processor: no contact details, content or secrets in logs."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from outreachd import logs


def mask(**fields: Any) -> dict[str, Any]:
    """Run the processor the way structlog does and return the new event dict."""
    return dict(logs.mask_contacts(None, "info", {"event": "outreach_sent", **fields}))


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """Each test starts from, and leaves, structlog's default configuration."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+12125550123", "+1*******23"),
        ("+1 (212) 555-0123", "+1*******23"),
        ("+1 212 555 0123", "+1*******23"),
        ("+44 20 7946 0958", "+44*******58"),
        ("+447911123456", "+44*******56"),
        ("+86 138 0013 8000", "+86*******00"),
        ("+8613800138000", "+86*******00"),
        ("+7 912 345-67-89", "+7*******89"),
        ("+353861234567", "+353*******67"),
        ("(212) 555-0123", "*******23"),
        ("212-555-0123", "*******23"),
        ("212.555.0123", "*******23"),
        ("555-0123", "*******23"),
        ("2125550123", "*******23"),
        ("to=+12125550123, from=+12125550199", "to=+1*******23, from=+1*******99"),
        ("call (212) 555-0123.", "call *******23."),
        ("tel:+12125550123", "tel:+1*******23"),
        ("+12125550123: delivery failed", "+1*******23: delivery failed"),
        ("ana.ruiz@example.com", "a***@example.com"),
        ("Ana <ana.ruiz+loans@mail.example.co.uk>", "Ana <a***@mail.example.co.uk>"),
        ("2125550123@vtext.com", "2***@vtext.com"),
        ("reply from ana@example.com, +12125550123", "reply from a***@example.com, +1*******23"),
    ],
)
def test_masks_phones_and_emails(raw: str, masked: str) -> None:
    """Phones keep their country code and last two digits; e-mails their first letter and domain."""
    assert mask(to=raw)["to"] == masked


@pytest.mark.parametrize(
    "kept",
    [
        "2025-03-13T14:05:00Z",
        "2025-03-13T14:05:00.123456Z",
        "2025-03-13 14:05:00+00:00",
        "2025-03-13T09:00:00-05:00",
        "2025-03-13 14:05",
        "db.internal:5432",
        "2025-03-13",
        "13.03.2025",
        "2025.03.01",
        "550e8400-e29b-41d4-a716-446655440000",
        "12345678-1234-5678-1234-567812345678",
        "550e8400e29b41d4a716446655440000",
        "US-000123-1",
        "CN-20250313-0001",
        "REGF-7IN7",
        "US-FDCPA-805A",
        "1280.50",
        "12345678.90",
        "$1,280.50",
        "¥1,280,000.00",
        "192.168.100.200",
        "SM0123456789abcdef0123456789abcdef",
        "7 calls in 7 days",
        "1 2 3 4 5 6 7 8",
        "5550123",
        "outreach_sent",
    ],
)
def test_leaves_ids_times_and_amounts_alone(kept: str) -> None:
    """Timestamps, UUIDs, account and rule ids, amounts and addresses are not phone numbers."""
    assert mask(value=kept)["value"] == kept


@pytest.mark.parametrize("key", ["body", "text", "html", "message_body", "subject", "Subject"])
def test_omits_message_content(key: str) -> None:
    """Message content never reaches the log, whatever it contains."""
    assert mask(**{key: "Hello Ana, you owe $1,280.50"})[key] == logs.OMITTED


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "twilio_auth_token",
        "Authorization",
        "smtp_password",
        "passwd",
        "client_secret",
        "api_key",
        "API_KEY",
        "credentials",
    ],
)
def test_redacts_secrets(key: str) -> None:
    """Keys that name a secret have their value replaced, not masked."""
    assert mask(**{key: "s3cr3t-value"})[key] == logs.REDACTED


def test_masks_nested_structures() -> None:
    """Dicts, lists and tuples are walked, and key rules apply at every depth."""
    event = mask(
        attempt={
            "to": "+12125550123",
            "contacts": ["ana@example.com", ("+447911123456", 3)],
            "provider": {"auth_token": "abc", "body": "Pay now"},
            "rule_ids": ["REGF-7IN7"],
        }
    )
    assert event["attempt"] == {
        "to": "+1*******23",
        "contacts": ["a***@example.com", ("+44*******56", 3)],
        "provider": {"auth_token": logs.REDACTED, "body": logs.OMITTED},
        "rule_ids": ["REGF-7IN7"],
    }


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


class _Contact:
    def __str__(self) -> str:
        return "Contact(ana@example.com, +12125550123)"


def test_never_raises_on_odd_values() -> None:
    """Bytes, None, numbers, objects, cycles and a broken __str__ all pass without an exception."""
    cycle: list[Any] = []
    cycle.append(cycle)
    event = mask(
        raw=b"from +12125550123 \xff",
        none=None,
        count=7,
        ratio=0.5,
        flag=True,
        amount=Decimal("1280.50"),
        at=dt.datetime(2025, 3, 13, 14, 5, tzinfo=dt.UTC),
        id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        contact=_Contact(),
        cycle=cycle,
        broken=_Unprintable(),
        **{"7": "+12125550123"},
    )
    assert event["raw"] == "from +1*******23 \ufffd"
    assert (event["none"], event["count"], event["ratio"], event["flag"]) == (None, 7, 0.5, True)
    assert event["amount"] == "1280.50"
    assert event["at"] == "2025-03-13T14:05:00+00:00"
    assert event["id"] == "12345678-1234-5678-1234-567812345678"
    assert event["contact"] == "Contact(a***@example.com, +1*******23)"
    assert "[truncated]" in json.dumps(event["cycle"])
    assert event["broken"] == "[unprintable _Unprintable]"
    assert event["7"] == "+1*******23"


def test_returns_a_new_event_dict() -> None:
    """The caller's dict (often a bound context) is not modified in place."""
    fields = {"event": "outreach_sent", "to": "+12125550123"}
    logs.mask_contacts(None, "info", fields)
    assert fields["to"] == "+12125550123"


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_configure_json_writes_one_masked_object_per_line() -> None:
    """JSON mode writes one parseable object per line with timestamp, level, event and masks."""
    stream = io.StringIO()
    logs.configure(json=True, stream=stream)
    log = logs.get_logger("outreachd.dispatch")
    log.info("outreach_sent", account_id="US-000123-1", to="+12125550123", body="Pay")
    log.warning("outreach_deferred", to="ana.ruiz@example.com", rule_ids=["REGF-7IN7"])
    first, second = _json_lines(stream)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", first["timestamp"])
    assert first | {"timestamp": None} == {
        "timestamp": None,
        "level": "info",
        "event": "outreach_sent",
        "logger_name": "outreachd.dispatch",
        "account_id": "US-000123-1",
        "to": "+1*******23",
        "body": logs.OMITTED,
    }
    assert (second["level"], second["to"], second["rule_ids"]) == (
        "warning",
        "a***@example.com",
        ["REGF-7IN7"],
    )


def test_configure_filters_below_the_level() -> None:
    """Events under the configured level are dropped."""
    stream = io.StringIO()
    logs.configure(json=True, level="warning", stream=stream)
    log = logs.get_logger()
    log.info("sweep_finished")
    log.error("config_reloaded")
    assert [e["event"] for e in _json_lines(stream)] == ["config_reloaded"]


def test_configure_rejects_an_unknown_level() -> None:
    """A misspelt level fails loudly instead of logging everything or nothing."""
    with pytest.raises(ValueError, match="verbose"):
        logs.configure(level="verbose", stream=io.StringIO())


def test_configure_merges_context_variables() -> None:
    """Fields bound with structlog.contextvars appear on every line (and are masked)."""
    stream = io.StringIO()
    logs.configure(json=True, stream=stream)
    with structlog.contextvars.bound_contextvars(sweep_id="s-1", to="+12125550123"):
        logs.get_logger().info("outreach_blocked")
    (event,) = _json_lines(stream)
    assert (event["sweep_id"], event["to"]) == ("s-1", "+1*******23")


def test_configure_json_masks_exceptions() -> None:
    """Tracebacks are structured and masked, and carry no local variables."""
    stream = io.StringIO()
    logs.configure(json=True, stream=stream)
    auth_token = "s3cr3t-value"
    try:
        raise ValueError(f"The 'To' number +12125550123 is not valid ({len(auth_token)})")
    except ValueError:
        logs.get_logger().exception("outreach_failed")
    (event,) = _json_lines(stream)
    (exc,) = event["exception"]
    assert exc["exc_type"] == "ValueError"
    assert "+1*******23" in exc["exc_value"]
    assert "+12125550123" not in stream.getvalue()
    assert "s3cr3t" not in stream.getvalue()


def test_json_is_picked_when_the_stream_is_not_a_terminal() -> None:
    """json=None means JSON for pipes and files (journald), the console renderer for a TTY."""
    stream = io.StringIO()
    logs.configure(stream=stream)
    logs.get_logger().info("sweep_finished", accounts=3)
    assert _json_lines(stream)[0]["accounts"] == 3


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_renderer_on_a_terminal_is_masked() -> None:
    """On a TTY lines are human-readable, still masked, and not JSON."""
    stream = _Terminal()
    logs.configure(stream=stream)
    logs.get_logger().info("outreach_sent", to="+12125550123")
    line = stream.getvalue()
    assert "outreach_sent" in line
    assert "+1*******23" in line
    assert "+12125550123" not in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_get_logger_is_lazy() -> None:
    """A module-level logger taken before configure() follows the later configuration."""
    log = logs.get_logger("outreachd.sweep")
    stream = io.StringIO()
    logs.configure(json=True, stream=stream)
    log.info("sweep_finished")
    assert _json_lines(stream)[0]["logger_name"] == "outreachd.sweep"


def test_events_can_be_captured_in_tests() -> None:
    """capture_logs() sees the raw fields, so other modules can assert on their events."""
    with capture_logs() as captured:
        logs.get_logger().info("outreach_sent", account_id="US-000123-1")
    assert captured == [
        {"event": "outreach_sent", "account_id": "US-000123-1", "log_level": "info"}
    ]
