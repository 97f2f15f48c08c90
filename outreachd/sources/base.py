"""The account-source seam: one record per debt, rejected rows reported, never fatal.

A source yields, in source order, either an `AccountRecord` (a valid debt row, in the
vocabulary of ../shared/compliance/SCENARIOS.md) or a `Rejected` (a malformed row, with the row
number, the field and the reason). Bad input never stops a sweep and never loses a good row.
An unreadable source (missing file, database down) raises `SourceError` instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, Protocol

from outreachd.core.model import Borrower, Debt, Flags
from outreachd.errors import OutreachError


class SourceError(OutreachError):
    """The source cannot be read at all (missing file, database down); retry later."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountRecord:
    """One debt row: the debt, its borrower (shared by the borrower's other debts) and flags."""

    account_id: str  # == debt.id, unique across the source
    borrower_id: str
    borrower: Borrower
    debt: Debt
    flags: Flags
    locale: str  # e.g. "en-US", "zh-CN", "en-GB"
    given_name: str  # for the salutation only; never logged
    family_name: str
    payload_json: str  # the canonical JSON-Lines form of the row (sorted keys): stored in the
    #                    ledger and parsed back with records.parse when a plan is dispatched
    content_hash: str  # sha256 hex of payload_json: changes iff the row's content changes
    row: int  # 1-based row (line) number in the source, for logs
    source_digest: str = ""  # digest of the raw row as read (set by sources that offer one)


@dataclass(frozen=True, kw_only=True, slots=True)
class Rejected:
    """A row that was not accepted, and why (logged as `account_rejected`)."""

    row: int
    account_id: str | None
    field: str  # dotted path of the offending field, e.g. "borrower.phones[0].number"
    reason: str


class RawRow(NamedTuple):
    """A row as read, before parsing: its digest lets a sweep skip rows it has seen (a
    NamedTuple: one is made for every row of every sweep)."""

    row: int
    digest: str  # blake2b-128 hex of the raw row
    parse: Callable[[], AccountRecord | Rejected]


class AccountSource(Protocol):
    """Reads every account row; each call re-reads the source from the start. `today` is the
    (UTC) day of the read: the day a row's days_past_due count to."""

    def read(self, today: date) -> Iterator[AccountRecord | Rejected]: ...

    def read_raw(self, today: date) -> Iterator[RawRow]: ...


def digest(raw: bytes) -> str:
    """The digest of a raw row (128-bit BLAKE2b: collisions are not a practical concern)."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def parsed_rows(items: Iterator[AccountRecord | Rejected]) -> Iterator[RawRow]:
    """RawRows for a source that can only parse (CSV, SQL): the digest is the content hash."""
    for item in items:
        key = item.content_hash if isinstance(item, AccountRecord) else f"rejected:{item.row}"
        yield RawRow(row=item.row, digest=key, parse=lambda item=item: item)  # type: ignore[misc]
