"""structlog setup and the masking processor (design brief section 7).

One JSON object per line on stdout (journald keeps it), a ConsoleRenderer on a terminal.
Every event passes `mask_contacts` after exception formatting, so tracebacks are masked too:
phone numbers and e-mail addresses are reduced to a recognisable stub, message content is
omitted and secrets are redacted. Event names are snake_case past tense (`outreach_sent`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from collections.abc import Mapping
from typing import TextIO, cast

import phonenumbers
import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

OMITTED = "[omitted]"
REDACTED = "[redacted]"
CONTENT_KEYS = frozenset({"body", "text", "html", "message_body", "subject"})
SECRET_PARTS = ("token", "secret", "password", "passwd", "auth", "api_key", "credential")
_MAX_DEPTH = 12

# Possessive quantifiers and the look-behinds keep both patterns linear on long strings.
# the domain must end in a top-level label of letters: `CN-HOUSE@2026.11` is a pack version
_EMAIL = re.compile(
    r"(?<![\w.%+-])([\w%+-])[\w.%+-]*+@((?:[\w-]++\.)++[A-Za-z][A-Za-z-]*+)(?![\w.-])"
)
# A run of digit groups with single separators, not glued to a word, id or decimal. Each
# match is then vetted by `_phone_stub`, which rejects dates, decimals and IPv4 addresses.
_PHONE = re.compile(
    r"(?<![\w.+-])\+?(?:\(\d++\)|\d++)"
    r"(?:(?:(?<=\))[ .-]?|[ .-])(?:\(\d++\)|\d++))*+"
    r"(?![\w/+-]|[.:]\d)"
)
_NOT_A_PHONE = re.compile(
    r"\d{4}[-./]\d\d?[-./]\d\d?|\d\d?[-./]\d\d?[-./]\d{4}"  # dates: 2025-03-13, 13.03.2025
    r"|^\d+\.\d+$"  # decimal amounts: 12345678.90
    r"|^\d{1,3}(?:\.\d{1,3}){3}$"  # IPv4 addresses
)
# E.164 country codes are prefix-free, so the first prefix that is a code is the code.
_COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _country_code(digits: str) -> str:
    return next((digits[:n] for n in (1, 2) if digits[:n] in _COUNTRY_CODES), digits[:3])


def _is_phone(found: str, digits: str) -> bool:
    if not 7 <= len(digits) <= 15 or _NOT_A_PHONE.search(found):
        return False
    if found.isdigit():  # no separators and no `+`: only long runs are taken for numbers
        return len(digits) >= 10
    groups = re.findall(r"\d+", found)
    return sum(len(group) == 1 for group in groups) <= 1  # not "1 2 3 4 5 6 7"


def _phone_stub(match: re.Match[str]) -> str:
    """`+12125550123` → `+1*******23`; `(212) 555-0123` → `*******23`; others unchanged."""
    found = match.group()
    digits = re.sub(r"\D", "", found)
    if not _is_phone(found, digits):
        return found
    prefix = "+" + _country_code(digits) if found.startswith("+") else ""
    return f"{prefix}*******{digits[-2:]}"


def mask_text(text: str) -> str:
    """Mask every e-mail address (`a***@example.com`) and phone number in `text`."""
    return _PHONE.sub(_phone_stub, _EMAIL.sub(r"\1***@\2", text))


def _mask_key(key: object) -> str | None:
    name = str(key).lower()
    if name in CONTENT_KEYS:
        return OMITTED
    if any(part in name for part in SECRET_PARTS):
        return REDACTED
    return None


def _mask(value: object, depth: int = 0) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth > _MAX_DEPTH:
        return "[truncated]"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: _mask_key(k) or _mask(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_mask(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, bytes | bytearray):
        return mask_text(bytes(value).decode("utf-8", errors="replace"))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return mask_text(str(value))


def mask_contacts(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask contacts, omit message content, redact secrets, recursively.

    Never raises: an object whose `str()` fails is replaced by its type name.
    """
    masked: EventDict = {}
    for key, value in event_dict.items():
        try:
            masked[key] = _mask_key(key) or _mask(value)
        except Exception:  # a broken __str__ must not lose the event
            masked[key] = f"[unprintable {type(value).__name__}]"
    return masked


def _renderer(json: bool, colors: bool) -> list[Processor]:
    if json:
        return [
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            mask_contacts,
            structlog.processors.JSONRenderer(),
        ]
    return [
        structlog.processors.format_exc_info,
        mask_contacts,
        structlog.dev.ConsoleRenderer(colors=colors),
    ]


def configure(
    *, json: bool | None = None, level: str = "info", stream: TextIO = sys.stdout
) -> None:
    """Log events at `level` and above to `stream`: JSON lines unless it is a terminal.

    `json=None` picks JSON when `stream` is not a TTY (journald, pipes, files).
    """
    min_level = logging.getLevelNamesMapping().get(level.upper())
    if min_level is None:
        raise ValueError(f"unknown log level {level!r}")
    if json is None:
        json = not stream.isatty()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *_renderer(json, colors=stream.isatty()),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(min_level),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    _bridge_stdlib(level)


class _ToStructlog(logging.Handler):
    """Library logs (APScheduler, SQLAlchemy) as `library_logged` events, masked like ours."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            get_logger(record.name).log(
                record.levelno, "library_logged", message=record.getMessage()
            )
        except Exception:  # a log line must never break the caller
            self.handleError(record)


def _bridge_stdlib(level: str) -> None:
    root = logging.getLogger()
    root.handlers[:] = [_ToStructlog()]
    root.setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def get_logger(name: str | None = None) -> FilteringBoundLogger:
    """A lazy logger (safe at import time, before `configure`), with `logger_name=name` bound.

    (`logger=` would clash with structlog's own `wrap_logger(logger, ...)` parameter.)
    """
    initial = {} if name is None else {"logger_name": name}
    return cast(FilteringBoundLogger, structlog.get_logger(**initial))
