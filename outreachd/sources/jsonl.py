"""JSON Lines files of canonical rows (records.py, docs/sources.md), read lazily.

A row's raw digest lets a sweep skip the rows it has already stored. A row that gives
`days_past_due` changes every day only because it aged, so its digest is taken with that
count replaced by the day the debt fell due (the read's day minus the count): a row that
only aged keeps its digest, and the ledger's copy (which stores that day, `overdue_since`)
is still exact.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path

from outreachd.sources import records
from outreachd.sources.base import AccountRecord, RawRow, Rejected, SourceError

_AGE_KEY = b'"days_past_due"'
_AGE = re.compile(rb'"days_past_due"\s*:\s*(\d{1,6})(?=\s*[,}])')


def aged_key(raw: bytes, today: int) -> bytes:
    """What a row's digest is taken of on the day whose ordinal is `today`: the row with its
    days_past_due count replaced by `@` and the ordinal of the day the debt fell due. Only
    when the key occurs exactly once as a key with an integer value; any other row is taken
    as it is (it is then parsed whenever it changes, which is only slower)."""
    at = raw.find(_AGE_KEY)
    if at < 0 or raw.find(_AGE_KEY, at + len(_AGE_KEY)) >= 0:
        return raw
    m = _AGE.match(raw, at)
    if m is None:
        return raw
    start, end = m.span(1)
    return raw[:start] + b"@" + str(today - int(raw[start:end])).encode() + raw[end:]


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


class JsonlSource:
    """One canonical row per line (UTF-8); blank lines are skipped; row = line number."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self, today: date) -> Iterator[AccountRecord | Rejected]:
        """Every row in file order, read on the (UTC) day `today`; SourceError if the file
        cannot be read."""
        return records.unique_accounts(self._rows(today))

    def read_raw(self, today: date) -> Iterator[RawRow]:
        """Every non-blank line with its digest; parsing waits until the sweep asks."""
        blake2b = hashlib.blake2b  # the digest of base.digest, inlined: this loop is the book
        ordinal = today.toordinal()
        for number, raw in self._lines():
            key = blake2b(aged_key(raw.rstrip(b"\r\n"), ordinal), digest_size=16).hexdigest()
            yield RawRow(number, key, partial(_line, raw, number, today))

    def _rows(self, today: date) -> Iterator[AccountRecord | Rejected]:
        for number, raw in self._lines():
            yield _line(raw, number, today)

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        try:
            with self.path.open("rb") as f:
                for number, raw in enumerate(f, start=1):
                    if number == 1:
                        raw = raw.removeprefix(b"\xef\xbb\xbf")  # noqa: PLW2901
                    if raw.strip():
                        yield number, raw
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot read: {exc}") from exc


def _line(raw: bytes, number: int, today: date) -> AccountRecord | Rejected:
    try:
        obj = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        return Rejected(row=number, account_id=None, field="", reason=f"not UTF-8: {exc}")
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity
        return Rejected(row=number, account_id=None, field="", reason=f"not JSON: {exc}")
    return records.parse(obj, number, today)
