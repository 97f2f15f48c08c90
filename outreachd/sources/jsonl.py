"""JSON Lines files of canonical rows (records.py, docs/sources.md), read lazily."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path

from outreachd.sources import records
from outreachd.sources.base import AccountRecord, RawRow, Rejected, SourceError


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


class JsonlSource:
    """One canonical row per line (UTF-8); blank lines are skipped; row = line number."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> Iterator[AccountRecord | Rejected]:
        """Every row in file order; SourceError if the file cannot be read."""
        return records.unique_accounts(self._rows())

    def read_raw(self) -> Iterator[RawRow]:
        """Every non-blank line with its digest; parsing waits until the sweep asks."""
        blake2b = hashlib.blake2b  # the digest of base.digest, inlined: this loop is the book
        for number, raw in self._lines():
            key = blake2b(raw.rstrip(b"\r\n"), digest_size=16).hexdigest()
            yield RawRow(number, key, partial(_line, raw, number))

    def _rows(self) -> Iterator[AccountRecord | Rejected]:
        for number, raw in self._lines():
            yield _line(raw, number)

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


def _line(raw: bytes, number: int) -> AccountRecord | Rejected:
    try:
        obj = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        return Rejected(row=number, account_id=None, field="", reason=f"not UTF-8: {exc}")
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity
        return Rejected(row=number, account_id=None, field="", reason=f"not JSON: {exc}")
    return records.parse(obj, number)
