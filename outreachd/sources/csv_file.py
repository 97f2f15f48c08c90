"""Flat account rows (CSV files, SQL result rows) into canonical rows, and the CSV source.

A flat row has the columns of `COLUMNS` (docs/sources.md): one mobile, one home landline, one
work phone and one e-mail address at most, flags as a JSON object. `flat_to_canonical` builds the
canonical row of records.py from it; a problem is reported under the flat column's name.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from outreachd.sources import records
from outreachd.sources.base import AccountRecord, RawRow, Rejected, SourceError, parsed_rows

REQUIRED = ("account_id", "borrower_id", "country", "creditor", "balance", "currency")
AGE = ("days_past_due", "overdue_since")  # one of them is required
COLUMNS = (
    "account_id", "borrower_id", "locale", "given_name", "family_name",
    "country", "state", "city", "postal_code", "tz",
    "mobile", "mobile_tcpa_consent", "mobile_regf_text_ok", "landline", "work_phone",
    "email", "email_kind", "email_regf_procedure",
    "creditor", "balance", "currency", "days_past_due", "overdue_since", "product", "flags",
    "preferred_channel", "preferred_from", "preferred_to",
)  # fmt: skip
_PHONES = (
    ("mobile", "m1", "mobile"),
    ("landline", "l1", "landline_home"),
    ("work_phone", "w1", "work"),
)
_DEPENDENT = {
    "mobile_tcpa_consent": "mobile",
    "mobile_regf_text_ok": "mobile",
    "email_kind": "email",
    "email_regf_procedure": "email",
}
_MOBILE_FLAGS = ("tcpa_consent", "regf_text_ok")
# Canonical paths reported under their flat column (anything else keeps its canonical path).
_COLUMN_OF = {
    "account_id": "account_id",
    "borrower_id": "borrower_id",
    "locale": "locale",
    "borrower.name": "given_name",
    "borrower.name.given": "given_name",
    "borrower.name.family": "family_name",
    **{f"borrower.residence.{k}": k for k in ("country", "state", "city", "postal_code", "tz")},
    **{f"debt.{k}": k for k in ("creditor", "balance", "currency", *AGE, "product")},
    "borrower.emails[0].address": "email",
    "borrower.emails[0].kind": "email_kind",
    "borrower.emails[0].regf_procedure": "email_regf_procedure",
    "flags": "flags",
    "borrower.preferences": "preferred_channel",
    "borrower.preferences.channel": "preferred_channel",
    "borrower.preferences.from": "preferred_from",
    "borrower.preferences.to": "preferred_to",
}


class FlatError(ValueError):
    """A flat column that cannot be converted at all."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


def check_columns(columns: list[str], where: str) -> None:
    """Raise SourceError naming missing required and unknown columns."""
    missing = [c for c in REQUIRED if c not in columns]
    if not any(c in columns for c in AGE):
        missing.append(" or ".join(AGE))
    unknown = [c for c in columns if c not in COLUMNS]
    if missing or unknown:
        parts = [f"missing required column(s) {', '.join(missing)}"] if missing else []
        parts += [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        raise SourceError(f"{where}: {'; '.join(parts)}")


def _present(value: object) -> bool:
    return value is not None and value != ""


def _boolean(value: object) -> object:
    """true/false (any case), a database boolean or 0/1; anything else is left for validation."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return value


def _integer(value: object) -> object:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)  # a database NUMERIC column
    return value


def _text(value: object) -> object:
    """Integer ids from a database become text; anything else is left for validation."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _flags(value: object) -> object:
    if not isinstance(value, str):
        return value  # a database JSON column arrives decoded
    try:
        return json.loads(value, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise FlatError("flags", f"not JSON: {exc}") from exc


def _phones(get: Any) -> list[dict[str, object]]:
    phones: list[dict[str, object]] = []
    for column, point_id, kind in _PHONES:
        if _present(get(column)):
            phones.append({"id": point_id, "kind": kind, "number": get(column)})
    if phones and phones[0]["id"] == "m1":
        for flag in _MOBILE_FLAGS:
            if _present(get(f"mobile_{flag}")):
                phones[0][flag] = _boolean(get(f"mobile_{flag}"))
    return phones


def _emails(get: Any) -> list[dict[str, object]]:
    if not _present(get("email")):
        return []
    email: dict[str, object] = {"id": "e1", "kind": get("email_kind") or "personal"}
    email["address"] = get("email")
    if _present(get("email_regf_procedure")):
        email["regf_procedure"] = get("email_regf_procedure")
    return [email]


def _some(pairs: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in pairs.items() if _present(v)}


def flat_to_canonical(row: Mapping[str, object]) -> dict[str, Any]:
    """The canonical row of a flat row; empty or NULL columns are absent. Raises FlatError."""
    get = row.get
    for column, needs in _DEPENDENT.items():
        if _present(get(column)) and not _present(get(needs)):
            raise FlatError(column, f"given without {needs}")
    residence = _some({k: get(k) for k in ("country", "state", "city", "postal_code", "tz")})
    borrower: dict[str, Any] = {
        "name": _some({"given": get("given_name"), "family": get("family_name")}),
        "residence": residence,
        "phones": _phones(get),
        "emails": _emails(get),
    }
    preferences = _some({
        "channel": get("preferred_channel"), "from": get("preferred_from"),
        "to": get("preferred_to"),
    })  # fmt: skip
    if preferences:
        borrower["preferences"] = preferences
    debt = {k: get(k) for k in ("creditor", "balance", "currency", "product", "overdue_since")}
    debt = _some({**debt, "days_past_due": _integer(get("days_past_due"))})
    out = _some({k: _text(get(k)) for k in ("account_id", "borrower_id")})
    out |= _some({"locale": get("locale")})
    out |= {"borrower": borrower, "debt": debt}
    if _present(get("flags")):
        out["flags"] = _flags(get("flags"))
    return out


def _column(field: str, row: Mapping[str, object]) -> str:
    """The flat column a canonical path came from, when there is exactly one."""
    if field in _COLUMN_OF:
        return _COLUMN_OF[field]
    if field.startswith("borrower.phones["):
        index, _, leaf = field.removeprefix("borrower.phones[").partition("].")
        columns = [column for column, _, _ in _PHONES if _present(row.get(column))]
        column = columns[int(index)]
        return f"mobile_{leaf}" if column == "mobile" and leaf in _MOBILE_FLAGS else column
    return field


def parse_flat(row: Mapping[str, object], number: int, today: date) -> AccountRecord | Rejected:
    """A flat row read on the (UTC) day `today` as a record, or its first problem named by
    flat column where possible."""
    account_id = _text(row.get("account_id"))
    known = account_id if isinstance(account_id, str) and account_id else None
    try:
        canonical = flat_to_canonical(row)
    except FlatError as exc:
        return Rejected(row=number, account_id=known, field=exc.column, reason=exc.reason)
    result = records.parse(canonical, number, today)
    if isinstance(result, Rejected):
        return Rejected(
            row=number, account_id=known, field=_column(result.field, row), reason=result.reason
        )
    return result


class CsvSource:
    """A CSV file (UTF-8, RFC 4180, header row) of flat rows; row = line the record starts on."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self, today: date) -> Iterator[AccountRecord | Rejected]:
        """Every row in file order, read on the (UTC) day `today`; SourceError if the file
        cannot be read."""
        return records.unique_accounts(self._rows(today))

    def read_raw(self, today: date) -> Iterator[RawRow]:
        """Rows parsed eagerly (no raw fast path for this format yet)."""
        return parsed_rows(self.read(today))

    def _rows(self, today: date) -> Iterator[AccountRecord | Rejected]:
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                if header is None:
                    raise SourceError(f"{self.path}: empty file, a header row is required")
                check_columns(header, str(self.path))
                yield from self._records(reader, header, today)
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"{self.path}: cannot read: {exc}") from exc

    def _records(
        self, reader: Any, header: list[str], today: date
    ) -> Iterator[AccountRecord | Rejected]:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Rejected(row=start, account_id=None, field="", reason=f"not CSV: {exc}")
                continue
            if not cells or cells == [""]:
                continue  # blank line
            if len(cells) != len(header):
                reason = f"expected {len(header)} columns, got {len(cells)}"
                yield Rejected(row=start, account_id=None, field="", reason=reason)
                continue
            yield parse_flat(dict(zip(header, cells, strict=True)), start, today)
