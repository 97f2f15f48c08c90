"""The sweep: cost follows what changed, departures are retired, bad rows never stop it."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event, update

from outreachd import sample
from outreachd import sweep as sweep_module
from outreachd.ledger import schema
from outreachd.ledger.store import Ledger
from outreachd.sources.base import RawRow
from outreachd.sources.jsonl import JsonlSource
from outreachd.sweep import NOT_IN_SOURCE, sweep

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


class Log:
    """A logger double that keeps (event, fields)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))

    info = warning


class Counting(JsonlSource):
    """A JSONL source that counts how many rows were parsed."""

    parsed = 0

    def read_raw(self, today):  # type: ignore[no-untyped-def]
        for raw in super().read_raw(today):
            yield RawRow(row=raw.row, digest=raw.digest, parse=self._counted(raw))

    def _counted(self, raw: RawRow):  # type: ignore[no-untyped-def]
        def parse():  # type: ignore[no-untyped-def]
            Counting.parsed += 1
            return raw.parse()

        return parse


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def test_second_sweep_parses_only_changed_rows(ledger: Ledger, tmp_path: Path) -> None:
    """Unchanged rows are recognised by their raw digest and never parsed again."""
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=40, seed=1)
    rows = _rows(path)
    first = sweep(source=Counting(path), ledger=ledger, now=NOW, log=Log())
    assert first.new == len(rows) and first.planned == len(rows)
    rows[3]["debt"]["days_past_due"] += 1
    _write(path, rows)  # re-serialised: every line's bytes change except in content
    sweep(source=Counting(path), ledger=ledger, now=NOW, log=Log())
    Counting.parsed = 0
    rows[5]["debt"]["days_past_due"] += 1
    _write(path, rows)
    third = sweep(source=Counting(path), ledger=ledger, now=NOW, log=Log())
    assert Counting.parsed == 1
    assert (third.new, third.changed, third.unchanged) == (0, 1, len(rows) - 1)


def test_rows_that_only_aged_overnight_are_not_parsed_or_changed(
    ledger: Ledger, tmp_path: Path
) -> None:
    """A daily export whose days past due all went up by one is, the next day, an unchanged
    book: no row parsed, none changed. One whose count did not move is a changed row (its
    debt is a day younger than the ledger thought)."""
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=40, seed=1)
    rows = _rows(path)
    sweep(source=Counting(path), ledger=ledger, now=NOW, log=Log())
    stored = {r["account_id"]: ledger.account_payload(r["account_id"]) for r in rows}
    for row in rows:
        row["debt"]["days_past_due"] += 1
    rows[7]["debt"]["days_past_due"] -= 1  # this export did not update this row
    _write(path, rows)
    Counting.parsed = 0
    tomorrow = sweep(source=Counting(path), ledger=ledger, now=NOW + timedelta(days=1), log=Log())
    assert Counting.parsed == 1
    assert (tomorrow.changed, tomorrow.unchanged) == (1, len(rows) - 1)
    late = rows[7]["account_id"]
    assert {a: ledger.account_payload(a) for a in stored if a != late} == {
        a: p for a, p in stored.items() if a != late
    }
    since = json.loads(stored[late] or "")["debt"]["overdue_since"]
    now_since = json.loads(ledger.account_payload(late) or "")["debt"]["overdue_since"]
    assert date.fromisoformat(now_since) == date.fromisoformat(since) + timedelta(days=1)


def test_a_version_7_ledger_stores_the_day_debts_fell_due(ledger: Ledger, tmp_path: Path) -> None:
    """Migration 8 turns each stored days_past_due count into the day the debt fell due,
    counted from the day the row was stored; the payload and hash are then what a sweep of
    that day writes, so the next sweep finds the book unchanged (after parsing it once: the
    old raw digests are dropped)."""
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=10, seed=3)
    rows = _rows(path)
    sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=Log())
    ids = [r["account_id"] for r in rows]
    new = {a: ledger.account_payload(a) for a in ids}
    with ledger._engine.begin() as conn:
        for row in rows:  # as version 7 stored it: the count, as of the day it was stored
            old = json.loads(new[row["account_id"]] or "")
            del old["debt"]["overdue_since"]
            old["debt"]["days_past_due"] = row["debt"]["days_past_due"]
            conn.execute(
                update(schema.accounts)
                .where(schema.accounts.c.account_id == row["account_id"])
                .values(payload=json.dumps(old, sort_keys=True), content_hash="old")
            )
        conn.execute(schema.schema_version.update().values(version=7))
    assert ledger.migrate() == schema.LATEST == 8
    assert {a: ledger.account_payload(a) for a in ids} == new
    assert set(ledger.account_index().undigested) == set(ids)
    for row in rows:
        row["debt"]["days_past_due"] += 2
    _write(path, rows)
    later = sweep(source=JsonlSource(path), ledger=ledger, now=NOW + timedelta(days=2), log=Log())
    assert (later.new, later.changed, later.unchanged) == (0, 0, len(rows))


def test_accounts_that_leave_the_source_are_retired(ledger: Ledger, tmp_path: Path) -> None:
    """A paid or recalled account (gone from the source) gets a done plan, not a contact."""
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=10, seed=2)
    rows = _rows(path)
    sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=Log())
    _write(path, rows[1:])
    stats = sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=Log())
    plan = ledger.plan(rows[0]["account_id"])
    assert stats.retired == 1
    assert plan is not None and plan.status == "done" and plan.reasons == (NOT_IN_SOURCE,)


def test_retiring_reads_only_departed_accounts_including_undigested_ones(
    ledger: Ledger, tmp_path: Path
) -> None:
    """An account stored without a raw digest (a version 1 ledger) that leaves the source is
    retired too; a plan already done stays as it was and is not counted."""
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=10, seed=2)
    rows = _rows(path)
    sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=Log())
    gone, done = rows[0]["account_id"], rows[1]["account_id"]
    with ledger._engine.begin() as conn:
        conn.execute(
            update(schema.accounts)
            .where(schema.accounts.c.account_id == gone)
            .values(source_digest=None)
        )
    finished = ledger.plan(done)
    assert finished is not None
    ledger.save_plans([dataclasses.replace(finished, status="done", next_due_at=None)])
    _write(path, rows[2:])
    later = NOW + timedelta(hours=1)
    stats = sweep(source=JsonlSource(path), ledger=ledger, now=later, log=Log())
    assert stats.retired == 1
    retired, kept = ledger.plan(gone), ledger.plan(done)
    assert retired is not None and retired.reasons == (NOT_IN_SOURCE,)
    assert kept is not None and kept.status == "done" and kept.updated_at == NOW


def test_a_changed_account_is_looked_at_again_only_if_blocked(
    ledger: Ledger, tmp_path: Path
) -> None:
    """A data change re-opens a blocked plan now (its flags may have lifted); a plan waiting
    for its lawful instant keeps that instant (a refresh never pulls a contact forward)."""
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=10, seed=4)
    rows = _rows(path)
    sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=Log())
    blocked, waiting = ledger.plan(rows[0]["account_id"]), ledger.plan(rows[1]["account_id"])
    assert blocked is not None and waiting is not None
    due = NOW + timedelta(days=2)
    ledger.save_plans([
        dataclasses.replace(blocked, status="blocked", next_due_at=None, reasons=("CEASE",)),
        dataclasses.replace(waiting, next_due_at=due, reasons=("QUIET-HOURS",)),
    ])  # fmt: skip
    for row in rows[:2]:
        row["debt"]["days_past_due"] += 1
    _write(path, rows)
    later = NOW + timedelta(hours=1)
    stats = sweep(source=JsonlSource(path), ledger=ledger, now=later, log=Log())
    assert (stats.changed, stats.planned) == (2, 1)
    reopened, still = ledger.plan(rows[0]["account_id"]), ledger.plan(rows[1]["account_id"])
    assert reopened is not None and (reopened.status, reopened.next_due_at) == ("due", later)
    assert reopened.reasons == ()
    assert still is not None and (still.next_due_at, still.reasons) == (due, ("QUIET-HOURS",))


def test_bad_rows_are_logged_and_counted_never_fatal(ledger: Ledger, tmp_path: Path) -> None:
    """A malformed row and a duplicate id are rejected with row and field; the rest proceed."""
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=5, seed=3)
    rows = _rows(path)
    bad = json.loads(json.dumps(rows[0]))
    bad["account_id"] = "BAD-1"
    bad["debt"]["balance"] = "-5"
    _write(path, [*rows, bad, rows[1]])
    log = Log()
    stats = sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=log)
    rejected = [f for e, f in log.lines if e == "account_rejected"]
    assert stats.rejected == 2 and stats.new == len(rows)
    assert {r["field"] for r in rejected} == {"debt.balance", "account_id"}
    assert {r["row"] for r in rejected} == {len(rows) + 1, len(rows) + 2}


def test_a_version_1_ledger_is_upgraded_in_place(tmp_path: Path) -> None:
    """Migrations 2 and 3 add the raw digest (and its index) to a ledger created by version 1,
    keeping its rows; such a row has no digest until the source is read again."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = schema.create_ledger_engine(url)
    with engine.begin() as conn:
        schema.metadata.create_all(conn, tables=[schema.schema_version])
        conn.exec_driver_sql(
            "CREATE TABLE accounts (account_id TEXT PRIMARY KEY, borrower_id TEXT NOT NULL,"
            " content_hash TEXT NOT NULL, payload TEXT NOT NULL, first_seen_at BIGINT NOT NULL,"
            " updated_at BIGINT NOT NULL)"
        )
        conn.exec_driver_sql("INSERT INTO accounts VALUES ('A1', 'B1', 'h', '{}', 0, 0)")
        schema._v1_initial(conn)  # creates the other tables; accounts exists already
        conn.execute(schema.schema_version.insert().values(version=1))
    engine.dispose()
    ledger = Ledger(url)
    try:
        assert ledger.migrate() == schema.LATEST == 8
        assert ledger.account_payload("A1") == "{}"
        index = ledger.account_index()
        assert (index.digests, index.undigested) == ({}, ["A1"])
    finally:
        ledger.close()


def test_contact_points_follow_the_source(ledger: Ledger, tmp_path: Path) -> None:
    """Every number and address of a stored account can be looked up (an inbound reply finds
    its borrower); a changed number leaves the old one pointing nowhere."""
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=6, seed=5)
    rows = _rows(path)
    sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=Log())
    row = next(r for r in rows if r["borrower"].get("phones"))
    phone = row["borrower"]["phones"][0]
    found = ledger.contacts_at(phone["number"])
    assert (row["borrower_id"], row["account_id"], phone["id"]) in [f[:3] for f in found]
    old, phone["number"] = phone["number"], "+12025550123"
    _write(path, rows)
    sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=Log())
    assert row["account_id"] not in [f[1] for f in ledger.contacts_at(old)]
    assert [f[:3] for f in ledger.contacts_at("+12025550123")] == [
        (row["borrower_id"], row["account_id"], phone["id"])
    ]


def test_a_refresh_rewrites_only_the_contact_rows_that_changed(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Accounts whose data changed but whose contact points did not keep their contacts
    rows as they are (on a large book, rewriting them costs more than the rest of the
    refresh); an account whose number changed gets its rows replaced, and a new account its
    first ones."""
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=8, seed=11)
    rows = _rows(path)
    sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=Log())
    with_phones = [r for r in rows if r["borrower"].get("phones")]
    balance_only, renumbered = with_phones[0], with_phones[1]
    balance_only["debt"]["balance"] = str(Decimal(balance_only["debt"]["balance"]) + 1)
    old = renumbered["borrower"]["phones"][0]["number"]
    renumbered["borrower"]["phones"][0]["number"] = "+12025550177"
    added = json.loads(json.dumps(balance_only))
    added["account_id"] += "-new"
    _write(path, [*rows, added])
    written: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "contacts" in statement and not statement.lstrip().upper().startswith("SELECT"):
            written.append((statement, params))

    event.listen(ledger._engine, "before_cursor_execute", seen)
    try:
        stats = sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=Log())
    finally:
        event.remove(ledger._engine, "before_cursor_execute", seen)
    assert (stats.new, stats.changed) == (1, 2)
    touched = json.dumps([params for _, params in written], default=str)
    assert renumbered["account_id"] in touched and added["account_id"] in touched
    assert f'"{balance_only["account_id"]}"' not in touched
    number = balance_only["borrower"]["phones"][0]["number"]
    assert {balance_only["account_id"], added["account_id"]} <= {
        f[1] for f in ledger.contacts_at(number)
    }
    assert renumbered["account_id"] not in [f[1] for f in ledger.contacts_at(old)]
    assert renumbered["account_id"] in [f[1] for f in ledger.contacts_at("+12025550177")]


def test_a_version_3_ledger_gets_its_contacts_from_the_stored_rows(tmp_path: Path) -> None:
    """Migration 4 fills the contacts table from the payloads already in the ledger."""
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=4, seed=6)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    ledger = Ledger(url)
    try:
        ledger.migrate()
        sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=Log())
        with ledger._engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE contacts")
            conn.execute(schema.schema_version.update().values(version=3))
        assert ledger.migrate() == schema.LATEST == 8
        row = _rows(path)[0]
        number = row["borrower"]["phones"][0]["number"]
        assert row["account_id"] in [f[1] for f in ledger.contacts_at(number)]
    finally:
        ledger.close()


def test_a_long_sweep_reports_its_progress(
    ledger: Ledger, tmp_path: Path, monkeypatch: Any
) -> None:
    """Every PROGRESS_EVERY rows read, `sweep_progress` says how many, how many were
    unchanged and rejected so far, and the seconds since the sweep began."""
    monkeypatch.setattr(sweep_module, "PROGRESS_EVERY", 10)
    path = tmp_path / "p.jsonl"
    sample.write_jsonl(path, n_borrowers=20, seed=3)
    rows = _rows(path)
    rows[3]["borrower"]["phones"][0]["number"] = "12345"  # rejected: not E.164
    _write(path, rows)
    log = Log()
    sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=log)
    progress = [f for event, f in log.lines if event == "sweep_progress"]
    assert len(rows) > 20
    assert [f["read"] for f in progress] == list(range(10, len(rows), 10))
    assert progress[0]["rejected"] == 1 and progress[0]["unchanged"] == 0
    assert all(f["seconds"] >= 0 for f in progress)
    log = Log()
    sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=log)  # nothing changed
    again = [f for event, f in log.lines if event == "sweep_progress"]
    # every row but the rejected one (row 4) is recognised unchanged
    assert [f["unchanged"] for f in again] == [n - 1 for n in range(10, len(rows), 10)]
