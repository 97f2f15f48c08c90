"""Tests for the account sources: canonical rows, JSON Lines, CSV and SQL."""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from outreachd.core import model
from outreachd.sources import records
from outreachd.sources.base import AccountRecord, Rejected, SourceError, digest
from outreachd.sources.csv_file import COLUMNS, CsvSource
from outreachd.sources.jsonl import JsonlSource, aged_key
from outreachd.sources.sql import SqlSource

TODAY = date(2026, 12, 1)  # the (UTC) day the sources are read on

Row = dict[str, Any]


def good(account_id: str = "US-000123-1") -> Row:
    """The documented example row."""
    return {
        "account_id": account_id,
        "borrower_id": "US-000123",
        "locale": "en-US",
        "borrower": {
            "name": {"given": "Ana", "family": "Ruiz"},
            "residence": {"country": "US", "state": "NY", "city": "NYC",
                          "postal_code": "10027", "tz": "America/New_York"},
            "confirmed_location_tz": None,
            "other_states": [],
            "phones": [{"id": "m1", "kind": "mobile", "number": "+12125550123",
                        "owner": "borrower", "tcpa_consent": True, "regf_text_ok": True}],
            "emails": [{"id": "e1", "kind": "personal", "address": "ana@example.com",
                        "owner": "borrower", "regf_procedure": "consumer_used"}],
        },
        "debt": {"creditor": "Acme Bank", "balance": "1280.50", "currency": "USD",
                 "days_past_due": 12, "product": "card"},
        "flags": {"medium_opt_outs": ["sms"], "hardship": False},
    }  # fmt: skip


def flat(account_id: str = "US-000123-1") -> dict[str, str]:
    """The same row as flat CSV columns."""
    values = {
        "account_id": account_id, "borrower_id": "US-000123", "locale": "en-US",
        "given_name": "Ana", "family_name": "Ruiz", "country": "US", "state": "NY",
        "city": "NYC", "postal_code": "10027", "tz": "America/New_York",
        "mobile": "+12125550123", "mobile_tcpa_consent": "true", "mobile_regf_text_ok": "true",
        "email": "ana@example.com", "email_kind": "personal",
        "email_regf_procedure": "consumer_used", "creditor": "Acme Bank", "balance": "1280.50",
        "currency": "USD", "days_past_due": "12", "product": "card",
        "flags": '{"medium_opt_outs": ["sms"], "hardship": false}',
    }  # fmt: skip
    return {column: values.get(column, "") for column in COLUMNS}


def changed(row: Row, path: str, value: object) -> Row:
    """A deep copy of `row` with the dotted `path` set to `value` (or deleted if value is ...)."""
    out = copy.deepcopy(row)
    *parents, leaf = [int(p) if p.isdigit() else p for p in path.split(".")]
    target: Any = out
    for part in parents:
        target = target[part]
    if value is ...:
        del target[leaf]
    else:
        target[leaf] = value
    return out


def write_jsonl(path: Path, lines: Iterable[object]) -> Path:
    """Write one JSON value (or raw text, for str) per line."""
    text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    path.write_text(text, encoding="utf-8")
    return path


def write_csv(path: Path, rows: Iterable[dict[str, str]], columns: Iterable[str] = COLUMNS) -> Path:
    """Write a CSV file with a header row."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def same(a: AccountRecord, b: AccountRecord) -> bool:
    """Equal records apart from the source row number."""
    return dataclasses.replace(a, row=0) == dataclasses.replace(b, row=0)


def parsed(row: object, number: int = 1) -> AccountRecord:
    """A row that must parse."""
    result = records.parse(row, number, TODAY)
    assert isinstance(result, AccountRecord), result
    return result


MALFORMED = [
    ("bad phone number", "borrower.phones.0.number", "+1212555012", "borrower.phones[0].number"),
    ("not E.164", "borrower.phones.0.number", "(212) 555-0123", "borrower.phones[0].number"),
    ("unknown zone", "borrower.residence.tz", "America/Atlantis", "borrower.residence.tz"),
    ("negative balance", "debt.balance", "-1.00", "debt.balance"),
    ("non-numeric balance", "debt.balance", "12,80", "debt.balance"),
    ("missing id", "account_id", ..., "account_id"),
    ("empty id", "account_id", "", "account_id"),
    ("missing borrower id", "borrower_id", ..., "borrower_id"),
    ("wrong type int", "debt.days_past_due", "12", "debt.days_past_due"),
    ("negative days", "debt.days_past_due", -1, "debt.days_past_due"),
    ("wrong type bool", "borrower.phones.0.tcpa_consent", "yes", "borrower.phones[0].tcpa_consent"),
    ("wrong type list", "borrower.phones", "m1", "borrower.phones"),
    ("unknown key", "colour", "red", "colour"),
    ("unknown nested key", "borrower.phones.0.carrier", "x", "borrower.phones[0].carrier"),
    ("unknown flag", "flags.vip", True, "flags.vip"),
    ("unknown channel", "flags.medium_opt_outs", ["fax"], "flags.medium_opt_outs[0]"),
    ("bad e-mail", "borrower.emails.0.address", "ana at example", "borrower.emails[0].address"),
    ("bad currency", "debt.currency", "usd", "debt.currency"),
    ("bad locale", "locale", "fr-FR", "locale"),
    ("bad state", "borrower.residence.state", "XX", "borrower.residence.state"),
    ("unknown country", "borrower.residence.country", "FR", "borrower.residence.country"),
    ("duplicate contact id", "borrower.emails.0.id", "m1", "borrower.emails[0].id"),
    ("no name", "borrower.name", {}, "borrower.name"),
]


@pytest.mark.parametrize(
    ("path", "value", "field"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_row_rejected_between_good_rows(
    tmp_path: Path, path: str, value: object, field: str
) -> None:
    """A malformed row is rejected with its field while the good rows around it are yielded."""
    bad = changed(good("B-2"), path, value)
    src = write_jsonl(tmp_path / "a.jsonl", [good("A-1"), bad, good("C-3")])
    items = list(JsonlSource(src).read(TODAY))
    assert [type(i) for i in items] == [AccountRecord, Rejected, AccountRecord]
    rejected = items[1]
    assert isinstance(rejected, Rejected)
    assert (rejected.row, rejected.field) == (2, field)
    assert rejected.account_id == (bad.get("account_id") or None)
    assert [i.account_id for i in items if isinstance(i, AccountRecord)] == ["A-1", "C-3"]


def test_rejection_reason_does_not_echo_the_phone_number() -> None:
    """A bad phone number is reported without the number itself (it is personal data)."""
    result = records.parse(changed(good(), "borrower.phones.0.number", "+1212555012"), 1, TODAY)
    assert isinstance(result, Rejected)
    assert "555" not in result.reason


def test_jsonl_not_json_duplicate_and_blank_lines(tmp_path: Path) -> None:
    """Not-JSON lines and repeated account ids are rejected; blank lines are skipped."""
    src = write_jsonl(tmp_path / "a.jsonl", [good("A"), "", "{oops", '{"x": NaN}', good("A"), "[]"])
    items = list(JsonlSource(src).read(TODAY))
    assert [(i.row, type(i).__name__) for i in items] == [
        (1, "AccountRecord"), (3, "Rejected"), (4, "Rejected"), (5, "Rejected"), (6, "Rejected"),
    ]  # fmt: skip
    not_json, nan, dup, array = items[1:]
    assert isinstance(not_json, Rejected) and not_json.field == ""
    assert not_json.reason.startswith("not JSON: ")
    assert isinstance(nan, Rejected) and nan.reason.startswith("not JSON: ")
    assert isinstance(dup, Rejected)
    assert (dup.field, dup.reason) == ("account_id", "duplicate account_id (first at row 1)")
    assert isinstance(array, Rejected) and array.reason == "expected a JSON object"


def test_jsonl_raw_rows_are_digested_lines_parsed_on_demand(tmp_path: Path) -> None:
    """read_raw gives each non-blank line's digest (without its line ending, so CRLF and LF
    files agree) and parses it only when asked, to what read() gives."""
    src = write_jsonl(tmp_path / "a.jsonl", [good("A"), "", good("B")])
    crlf = tmp_path / "b.jsonl"
    crlf.write_bytes(src.read_bytes().replace(b"\n", b"\r\n"))
    lines = [line for line in src.read_bytes().splitlines() if line]
    raw = list(JsonlSource(src).read_raw(TODAY))
    day = TODAY.toordinal()
    assert [(r.row, r.digest) for r in raw] == [
        (1, digest(aged_key(lines[0], day))), (3, digest(aged_key(lines[1], day)))
    ]  # fmt: skip
    assert [r.digest for r in JsonlSource(crlf).read_raw(TODAY)] == [r.digest for r in raw]
    assert [r.parse() for r in raw] == list(JsonlSource(src).read(TODAY))


def test_a_row_that_only_aged_keeps_its_digest_and_its_stored_form(tmp_path: Path) -> None:
    """A row read a day later with one more day past due is the same row: the same raw
    digest (the sweep skips it) and the same stored payload and content hash, its debt
    overdue since the same day. A row whose count did not move, or went back to 0, changed."""
    tomorrow = TODAY + timedelta(days=1)

    def read(day: date, days_past_due: int) -> tuple[str, AccountRecord]:
        src = write_jsonl(tmp_path / "a.jsonl", [changed(good(), "debt.days_past_due",
                                                         days_past_due)])  # fmt: skip
        (raw,) = JsonlSource(src).read_raw(day)
        rec = raw.parse()
        assert isinstance(rec, AccountRecord)
        return raw.digest, rec

    first, rec = read(TODAY, 12)
    assert read(tomorrow, 13) == (first, rec)
    assert rec.debt.overdue_since == date(2026, 11, 19)
    assert '"overdue_since":"2026-11-19"' in rec.payload_json
    assert "days_past_due" not in rec.payload_json
    for day, count in ((tomorrow, 12), (tomorrow, 0), (TODAY, 13)):
        key, other = read(day, count)
        assert key != first and other.content_hash != rec.content_hash


@pytest.mark.parametrize(
    "line",
    [
        b'{"debt": {"creditor": "days_past_due", "overdue_since": "2026-11-19"}}',  # a value
        b'{"debt": {"days_past_due": 12, "days_past_due": 13}}',  # twice
        b'{"debt": {"days_past_due": 12.5}}',  # not an integer
        b'{"debt": {"days_past_due": -1}}',
        b'{"debt": {"days_past_due": "12"}}',
    ],
)
def test_aged_key_rewrites_only_a_single_integer_count(line: bytes) -> None:
    """Anything but exactly one days_past_due key with an integer value is digested as read
    (parsed whenever it changes: slower, never wrong)."""
    assert aged_key(line, TODAY.toordinal()) == line


def test_aged_key_replaces_the_count_by_the_day_it_fell_due() -> None:
    day = TODAY.toordinal()
    line = b'{"debt": {"days_past_due" : 12 , "x": 1}}'
    assert aged_key(line, day) == b'{"debt": {"days_past_due" : @%d , "x": 1}}' % (day - 12)
    quoted = b'{"debt": {"days_past_due": 12, "creditor": "x \\"days_past_due\\": 3"}}'
    assert aged_key(quoted, day) == quoted.replace(b"12", b"@%d" % (day - 12))  # only the key


def test_overdue_since_may_be_given_instead_of_days_past_due() -> None:
    """A source that knows the day the debt fell due gives it; the stored row is the same
    as for the count. Exactly one of the two; a date is written YYYY-MM-DD."""
    since = changed(changed(good(), "debt.days_past_due", ...), "debt.overdue_since",
                    "2026-11-19")  # fmt: skip
    assert parsed(since).payload_json == parsed(good()).payload_json
    for row, reason in (
        (changed(good(), "debt.overdue_since", "2026-11-19"), "exactly one"),
        (changed(good(), "debt.days_past_due", ...), "exactly one"),
        (changed(since, "debt.overdue_since", 20261119), "expected a date written YYYY-MM-DD"),
        (changed(since, "debt.overdue_since", "19/11/2026"), "expected a date written"),
        (changed(good(), "debt.days_past_due", 36_501), "less than or equal to 36500"),
    ):
        result = records.parse(row, 1, TODAY)
        assert isinstance(result, Rejected) and reason in result.reason, result
        assert result.field.startswith("debt")


def test_csv_takes_overdue_since_or_days_past_due(tmp_path: Path) -> None:
    """The flat formats take either column; a header with neither names both."""
    columns = [c for c in COLUMNS if c != "days_past_due"]
    cells = {**flat(), "overdue_since": "2026-11-19"}
    del cells["days_past_due"]
    (rec,) = CsvSource(write_csv(tmp_path / "a.csv", [cells], columns)).read(TODAY)
    (ref,) = CsvSource(write_csv(tmp_path / "b.csv", [flat()])).read(TODAY)
    assert isinstance(rec, AccountRecord) and isinstance(ref, AccountRecord)
    assert rec.payload_json == ref.payload_json
    del cells["overdue_since"]
    bare = [c for c in columns if c != "overdue_since"]
    with pytest.raises(
        SourceError, match=r"missing required column.*days_past_due or overdue_since"
    ):
        list(CsvSource(write_csv(tmp_path / "c.csv", [cells], bare)).read(TODAY))


def test_a_borrower_may_state_a_preferred_channel_and_hours(tmp_path: Path) -> None:
    """`borrower.preferences` (outreachd's own): a channel and/or hours from-to (both or
    neither, "24:00" allowed); stored as written and read back the same; absent, the stored
    row is what it was before preferences existed."""
    prefs = {"channel": "email", "from": "18:30", "to": "24:00"}
    rec = parsed(changed(good(), "borrower.preferences", prefs))
    assert rec.borrower.preferences == model.Preferences(
        channel=model.Channel.EMAIL, start=time(18, 30), end=time.max
    )
    assert '"preferences":{"channel":"email","from":"18:30","to":"24:00"}' in rec.payload_json
    assert records.load_payload(rec.payload_json) == records.parse_payload(rec.payload_json)
    assert records.load_payload(rec.payload_json).borrower.preferences == rec.borrower.preferences
    assert "preferences" not in parsed(good()).payload_json
    for bad, reason in (
        ({"from": "18:00"}, "give both from and to, or neither"),
        ({"channel": "sms", "from": "18:00", "to": "18:00"}, "empty window"),
        ({}, "give a channel, hours"),
        ({"channel": "fax"}, "Input should be"),
        ({"channel": "sms", "from": "6pm", "to": "9pm"}, "expected a wall-clock time"),
    ):
        result = records.parse(changed(good(), "borrower.preferences", bad), 1, TODAY)
        assert isinstance(result, Rejected) and reason in result.reason, (bad, result)
        assert result.field.startswith("borrower.preferences")
    cells = {**flat(), "preferred_channel": "email", "preferred_from": "18:30",
             "preferred_to": "24:00"}  # fmt: skip
    (from_csv,) = CsvSource(write_csv(tmp_path / "p.csv", [cells])).read(TODAY)
    assert isinstance(from_csv, AccountRecord)
    assert from_csv.borrower.preferences == rec.borrower.preferences
    cells["preferred_to"] = ""
    (bad_csv,) = CsvSource(write_csv(tmp_path / "q.csv", [cells])).read(TODAY)
    assert isinstance(bad_csv, Rejected) and bad_csv.field == "preferred_channel"


def test_jsonl_number_balance_is_exact(tmp_path: Path) -> None:
    """A JSON-number balance is read as an exact Decimal, never through a binary float."""
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps(good()).replace('"1280.50"', "1280.50") + "\n", encoding="utf-8")
    (rec,) = JsonlSource(src).read(TODAY)
    assert isinstance(rec, AccountRecord)
    assert rec.debt.balance == Decimal("1280.50")
    assert parsed(changed(good(), "debt.balance", 0.1)).debt.balance == Decimal("0.1")


def test_record_carries_core_values() -> None:
    """The record holds the core Borrower, Phone (number), Email (address), Debt and Flags."""
    rec = parsed(good())
    assert rec.borrower.phones[0].number == "+12125550123"
    assert rec.borrower.phones[0].tz is None
    assert rec.borrower.phones[0].tcpa_consent
    assert rec.borrower.emails[0].address == "ana@example.com"
    assert rec.borrower.emails[0].regf_procedure is model.RegfProcedure.CONSUMER_USED
    assert rec.borrower.residence == model.Residence(
        country=model.Country.US, tz="America/New_York", state="NY", city="NYC",
        postal_code="10027",
    )  # fmt: skip
    assert rec.debt == model.Debt(
        id="US-000123-1", creditor="Acme Bank", balance=Decimal("1280.50"), currency="USD",
        overdue_since=TODAY - timedelta(days=12), product="card",
    )  # fmt: skip
    assert rec.debt.days_past_due(datetime(2026, 12, 1, 23, 59, tzinfo=UTC)) == 12
    assert rec.debt.days_past_due(datetime(2026, 12, 2, tzinfo=UTC)) == 13
    assert rec.debt.days_past_due(datetime(2026, 11, 1, tzinfo=UTC)) == 0  # never below 0
    assert rec.flags.medium_opt_outs == frozenset({model.Channel.SMS})
    assert (rec.given_name, rec.family_name, rec.locale) == ("Ana", "Ruiz", "en-US")


def test_locale_defaults_by_country_and_tz_is_optional() -> None:
    """Without a locale the country's is used; the residence zone may be left to inference."""
    row = changed(changed(good(), "locale", ...), "borrower.residence.tz", ...)
    row = changed(row, "borrower.residence", {"country": "UK"})
    rec = parsed(row)
    assert rec.locale == "en-GB"
    assert rec.borrower.residence.tz is None
    assert json.loads(rec.payload_json)["locale"] == "en-GB"


def test_flags_use_the_scenario_vocabulary() -> None:
    """Flags with structure (windows, promises) become the core Flags values."""
    flags = {
        "inconvenient_windows": [{"channels": ["sms", "call"], "from": "22:00", "to": "24:00"}],
        "promise_to_pay": {"recorded_on": "2026-12-01", "pay_by": "2026-12-15"},
        "tcpa_revoked": ["m1"],
    }
    rec = parsed(changed(good(), "flags", flags))
    window = rec.flags.inconvenient_windows[0]
    assert window.channels == frozenset({model.Channel.SMS, model.Channel.CALL})
    assert rec.flags.promise_to_pay is not None
    assert rec.flags.promise_to_pay.pay_by.isoformat() == "2026-12-15"
    stored = json.loads(rec.payload_json)["flags"]["inconvenient_windows"]
    assert stored == [{"channels": ["call", "sms"], "from": "22:00", "to": "24:00"}]


def test_payload_round_trip() -> None:
    """parse_payload gives back the same record, hash and payload (the payload is canonical)."""
    flags = {
        "medium_opt_outs": ["sms", "call"],
        "inconvenient_windows": [{"from": "22:00", "to": "24:00"}],
    }
    rec = parsed(changed(good(), "flags", flags), 7)
    again = records.parse_payload(rec.payload_json)
    assert same(rec, again)
    assert again.payload_json == rec.payload_json
    with pytest.raises(ValueError, match="invalid payload"):
        records.parse_payload(json.dumps(changed(good(), "debt.balance", "-1")))
    with pytest.raises(ValueError, match="not JSON"):
        records.parse_payload("{")


def test_load_payload_is_parse_payload_without_the_phone_plan_check() -> None:
    """The dispatcher's fast path gives the same record as the full parse for every sample
    row (flags of every kind included); it skips only the numbering-plan check of numbers
    the sweep already validated, and still rejects a payload that is not a valid row."""
    from outreachd import sample  # noqa: PLC0415

    rows = list(sample.generate(300, seed=11))
    assert any(row.get("flags") for row in rows)
    for n, row in enumerate(rows, 1):
        rec = parsed(row, n)
        fast, full = records.load_payload(rec.payload_json), records.parse_payload(rec.payload_json)
        assert fast == full and fast.payload_json == rec.payload_json
    unplanned = changed(good(), "borrower.phones.0.number", "+15550000000")  # not allocated
    assert isinstance(records.parse(unplanned, 1, TODAY), Rejected)
    stored = changed(unplanned, "debt.days_past_due", ...)
    stored = changed(stored, "debt.overdue_since", "2026-11-19")
    assert records.load_payload(json.dumps(stored)).borrower.phones[0].number == "+15550000000"
    with pytest.raises(ValueError, match=r"debt\.overdue_since: required"):
        records.load_payload(json.dumps(good()))  # a source row, not a stored one
    with pytest.raises(ValueError, match=r"debt\.overdue_since: required"):
        records.parse_payload(json.dumps(good()))
    with pytest.raises(ValueError, match=r"invalid payload: debt\.balance"):
        records.load_payload(json.dumps(changed(good(), "debt.balance", "-1")))
    with pytest.raises(ValueError, match="invalid payload"):
        records.load_payload("{")


def test_content_hash_is_canonical() -> None:
    """Key order, set order, explicit defaults and number-vs-string balance do not change it."""
    rec = parsed(good())
    reordered = dict(reversed(list(good().items())))
    assert parsed(reordered).content_hash == rec.content_hash
    explicit = changed(good(), "borrower.phones.0.nyc_written_consent", False)
    assert parsed(explicit).content_hash == rec.content_hash
    assert parsed(changed(good(), "flags", {"medium_opt_outs": ["sms"]})).content_hash == (
        rec.content_hash
    )
    assert parsed(changed(good(), "debt.balance", Decimal("1280.50"))).content_hash == (
        rec.content_hash
    )
    orders = (["sms", "call", "email"], ["email", "call", "sms"])
    opt_outs = [parsed(changed(good(), "flags.medium_opt_outs", x)) for x in orders]
    assert opt_outs[0].content_hash == opt_outs[1].content_hash


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("debt.balance", "1280.51"),
        ("debt.days_past_due", 13),
        ("debt.creditor", "Acme Bank NA"),
        ("borrower.name.given", "Anna"),
        ("borrower.phones.0.tcpa_consent", False),
        ("borrower.phones.0.number", "+12125550124"),
        ("borrower.emails.0.regf_procedure", "none"),
        ("borrower.residence.postal_code", "10028"),
        ("flags.hardship", True),
        ("flags.medium_opt_outs", ["sms", "email"]),
        ("locale", "zh-CN"),
        ("borrower_id", "US-000124"),
    ],
)
def test_content_hash_changes_on_any_field_change(path: str, value: object) -> None:
    """Any change of content changes the hash."""
    assert parsed(changed(good(), path, value)).content_hash != parsed(good()).content_hash


def test_content_hash_is_stable_across_processes() -> None:
    """The hash does not depend on string hash randomisation (frozensets are sorted)."""
    row = changed(good(), "flags", {"medium_opt_outs": ["sms", "call", "email"],
                                     "tcpa_revoked": ["m1", "all", "w1"]})  # fmt: skip
    code = (
        "import datetime, json, sys; from outreachd.sources import records; "
        "print(records.parse(json.loads(sys.stdin.read()), 1, datetime.date(2026, 12, 1))"
        ".content_hash)"
    )
    hashes = {
        subprocess.run(
            [sys.executable, "-c", code], input=json.dumps(row), capture_output=True, text=True,
            env={**os.environ, "PYTHONHASHSEED": seed}, check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }  # fmt: skip
    assert hashes == {parsed(row).content_hash}


def test_csv_and_jsonl_give_the_same_record(tmp_path: Path) -> None:
    """The same data as a CSV row and as a JSON line gives the same AccountRecord."""
    row = changed(good(), "borrower.phones", [
        {"id": "m1", "kind": "mobile", "number": "+12125550123", "tcpa_consent": True,
         "regf_text_ok": True},
        {"id": "l1", "kind": "landline_home", "number": "+17185550142"},
        {"id": "w1", "kind": "work", "number": "+16465550199"},
    ])  # fmt: skip
    cells = flat() | {"landline": "+17185550142", "work_phone": "+16465550199"}
    (from_jsonl,) = JsonlSource(write_jsonl(tmp_path / "a.jsonl", [row])).read(TODAY)
    (from_csv,) = CsvSource(write_csv(tmp_path / "a.csv", [cells])).read(TODAY)
    assert isinstance(from_jsonl, AccountRecord) and isinstance(from_csv, AccountRecord)
    assert from_csv.row == 2  # the header is line 1
    assert same(from_jsonl, from_csv)


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("mobile", "+1212555012", "mobile"),
        ("mobile_tcpa_consent", "yes", "mobile_tcpa_consent"),
        ("landline", "020 7946 0123", "landline"),
        ("tz", "Europe/Nowhere", "tz"),
        ("balance", "-3", "balance"),
        ("days_past_due", "twelve", "days_past_due"),
        ("account_id", "", "account_id"),
        ("flags", "{nope", "flags"),
        ("flags", '{"vip": true}', "flags.vip"),
        ("email_kind", "work", "email_kind"),
    ],
)
def test_csv_rejects_with_the_column_name(
    tmp_path: Path, column: str, value: str, field: str
) -> None:
    """A bad CSV cell is rejected under its column name; the good rows around it are kept."""
    rows = [flat("A"), flat("B") | {column: value}, flat("C")]
    items = list(CsvSource(write_csv(tmp_path / "a.csv", rows)).read(TODAY))
    assert [type(i) for i in items] == [AccountRecord, Rejected, AccountRecord]
    assert isinstance(items[1], Rejected)
    assert (items[1].row, items[1].field) == (3, field)


def test_csv_orphan_attribute_duplicate_and_ragged_rows(tmp_path: Path) -> None:
    """Consent without a number, a repeated id and a row of the wrong width are rejected."""
    path = write_csv(tmp_path / "a.csv", [flat("A") | {"mobile": ""}, flat("B"), flat("B")])
    with path.open("a", encoding="utf-8") as f:
        f.write("C,US-1\n")
    items = list(CsvSource(path).read(TODAY))
    assert [(i.row, getattr(i, "field", None)) for i in items] == [
        (2, "mobile_tcpa_consent"), (3, None), (4, "account_id"), (5, ""),
    ]  # fmt: skip


def test_csv_minimal_columns(tmp_path: Path) -> None:
    """Only the required columns need be present; absent columns are empty."""
    required = ("account_id", "borrower_id", "given_name", "country", "creditor", "balance",
                "currency", "days_past_due")  # fmt: skip
    path = write_csv(tmp_path / "a.csv", [{c: flat()[c] for c in required}], required)
    (rec,) = CsvSource(path).read(TODAY)
    assert isinstance(rec, AccountRecord)
    assert (rec.borrower.phones, rec.locale, rec.debt.product) == ((), "en-US", "")


def test_csv_header_problems_are_source_errors(tmp_path: Path) -> None:
    """Missing required or unknown header columns raise SourceError naming them."""
    columns = [c for c in COLUMNS if c not in ("balance", "currency")] + ["colour"]
    path = write_csv(tmp_path / "a.csv", [], columns)
    with pytest.raises(SourceError, match=r"balance, currency.*colour"):
        list(CsvSource(path).read(TODAY))
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(SourceError, match="header"):
        list(CsvSource(tmp_path / "empty.csv").read(TODAY))


@pytest.mark.parametrize("source", [JsonlSource, CsvSource])
def test_missing_file_is_a_source_error(tmp_path: Path, source: Callable[[Path], Any]) -> None:
    """An unreadable file raises SourceError naming the path."""
    with pytest.raises(SourceError, match="nope"):
        list(source(tmp_path / "nope").read(TODAY))


def _database(path: Path, rows: list[dict[str, str]]) -> str:
    """A SQLite file with an `accounts` table of flat rows (booleans 0/1, integers as such)."""
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE accounts ({', '.join(COLUMNS)})")
        for row in rows:
            values: list[object] = [row[c] or None for c in COLUMNS]
            for i, column in enumerate(COLUMNS):
                if column in ("mobile_tcpa_consent", "mobile_regf_text_ok") and values[i]:
                    values[i] = int(values[i] == "true")
                elif column == "days_past_due" and values[i]:
                    values[i] = int(str(values[i]))
            db.execute(f"INSERT INTO accounts VALUES ({', '.join('?' * len(COLUMNS))})", values)
    db.close()
    return f"sqlite:///{path}"


def test_sql_source_reads_sqlite(tmp_path: Path) -> None:
    """SqlSource streams a query's rows; same records as CSV, bad rows rejected by column."""
    rows = [flat("A"), flat("B") | {"mobile": "+1212"}, flat("C")]
    url = _database(tmp_path / "accounts.db", rows)
    items = list(SqlSource(url, "SELECT * FROM accounts ORDER BY account_id").read(TODAY))
    assert [type(i) for i in items] == [AccountRecord, Rejected, AccountRecord]
    assert isinstance(items[1], Rejected) and (items[1].row, items[1].field) == (2, "mobile")
    (from_csv,) = CsvSource(write_csv(tmp_path / "a.csv", [flat("A")])).read(TODAY)
    assert isinstance(items[0], AccountRecord) and isinstance(from_csv, AccountRecord)
    assert same(items[0], from_csv)


def test_sql_source_errors(tmp_path: Path) -> None:
    """An unreachable database, a bad query or missing columns raise SourceError."""
    url = _database(tmp_path / "accounts.db", [flat("A")])
    with pytest.raises(SourceError, match="database error"):
        list(SqlSource(f"sqlite:///{tmp_path}/no/such/dir.db", "SELECT 1").read(TODAY))
    with pytest.raises(SourceError, match="database error"):
        list(SqlSource(url, "SELECT * FROM nothing").read(TODAY))
    with pytest.raises(SourceError, match="missing required column"):
        list(SqlSource(url, "SELECT account_id FROM accounts").read(TODAY))
    with pytest.raises(SourceError) as info:
        list(SqlSource("postgresql+psycopg://u:s3cret@127.0.0.1:1/db", "SELECT 1").read(TODAY))
    assert "s3cret" not in str(info.value)


def test_stored_payload_carries_the_zones_of_its_numbers() -> None:
    """A number's zones are looked up once, when the row is stored: the payload keeps them
    (with the phonenumbers release that answered) and the dispatcher's records carry them, so
    deciding does not look them up again. A phone with a stated zone needs none. The stored
    zones are used only while that release runs; they are never an input."""
    from outreachd.core import zones  # noqa: PLC0415

    row = changed(good(), "borrower.phones", [
        {"id": "m1", "kind": "mobile", "number": "+12125550123"},
        {"id": "h1", "kind": "landline_home", "number": "+13105550123", "tz": "America/Chicago"},
    ])  # fmt: skip
    rec = parsed(row, 1)
    stored = json.loads(rec.payload_json)
    m1, h1 = stored["borrower"]["phones"]
    assert m1["number_zones"] == ["America/New_York"] == list(zones.number_zones(m1["number"]))
    assert h1["number_zones"] is None  # its stated zone is the one it indicates
    assert stored["number_zones_from"] == records.ZONES_FROM
    for record in (rec, records.load_payload(rec.payload_json)):
        mobile, home = record.borrower.phones
        assert mobile.number_zones == ("America/New_York",) and home.number_zones is None
        assert zones.phone_zones(home) == ("America/Chicago",)

    # what is stored is what is used (the lookup is not repeated) ...
    moved = copy.deepcopy(stored)
    moved["borrower"]["phones"][0]["number_zones"] = ["America/Los_Angeles"]
    phone = records.load_payload(json.dumps(moved)).borrower.phones[0]
    assert zones.phone_zones(phone) == ("America/Los_Angeles",)
    # ... unless another phonenumbers release stored it: then it is looked up again
    moved["number_zones_from"] = "phonenumbers 0.0.1"
    phone = records.load_payload(json.dumps(moved)).borrower.phones[0]
    assert phone.number_zones is None and zones.phone_zones(phone) == ("America/New_York",)
    # a payload written before zones were stored loads, and looks them up
    for phone_ in stored["borrower"]["phones"]:
        del phone_["number_zones"]
    del stored["number_zones_from"]
    old = records.load_payload(json.dumps(stored))
    assert old.borrower.phones[0].number_zones is None
    assert zones.candidate_zones(old.borrower) == zones.candidate_zones(rec.borrower)

    for path, value in (("borrower.phones.0.number_zones", ["America/Chicago"]),
                        ("number_zones_from", records.ZONES_FROM)):  # fmt: skip
        bad = records.parse(changed(good(), path, value), 3, TODAY)
        assert isinstance(bad, Rejected)
        assert (bad.field, bad.reason) == (path.replace(".0.", "[0]."),
                                           "derived by outreachd, not an input")  # fmt: skip
    with pytest.raises(ValueError, match=r"number_zones\[0\]: unknown IANA time zone"):
        bogus = changed(json.loads(rec.payload_json), "borrower.phones.0.number_zones", ["Mars/X"])
        records.load_payload(json.dumps(bogus))


def test_records_copy_every_field_of_a_row() -> None:
    """records._borrower copies contact and residence fields by name: every field of the
    row models reaches the core model (a field added to one and not copied fails here)."""
    from outreachd.core import model  # noqa: PLC0415

    renamed = {"rnd": "rnd_reassigned"}
    pairs = ((records.PhoneRowIn, model.Phone), (records.EmailRowIn, model.Email),
             (records.ResidenceRowIn, model.Residence))  # fmt: skip
    for row_model, core in pairs:
        given = {renamed.get(name, name) for name in row_model.model_fields}
        assert given == {f.name for f in dataclasses.fields(core)}, row_model
    row = changed(good(), "borrower.phones.0", {
        "id": "m1", "kind": "personal", "number": "+12125550123", "tz": "America/Chicago",
        "owner": "spouse", "tcpa_consent": True, "rnd": "yes", "regf_text_ok": True,
        "nyc_written_consent": True,
    })  # fmt: skip
    row = changed(row, "borrower.emails.0", {
        "id": "e1", "kind": "employer", "address": "ana@work.example", "owner": "borrower",
        "regf_procedure": "consented", "nyc_written_consent": True,
    })  # fmt: skip
    rec = parsed(row)
    m = records.RowIn.model_validate(row)
    (phone,), (email,) = rec.borrower.phones, rec.borrower.emails
    p, e, r = m.borrower.phones[0], m.borrower.emails[0], m.borrower.residence
    assert phone == model.Phone(**p.model_dump(exclude={"rnd", "number_zones"}),
                                rnd_reassigned=True, number_zones=None)  # fmt: skip
    assert email == model.Email(**e.model_dump())
    assert rec.borrower.residence == model.Residence(**r.model_dump())
