"""The ledger contract, run unchanged against SQLite and PostgreSQL (see conftest.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from conftest import drop_ledger, make_ledger
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from outreachd.core.model import (
    Borrower,
    Channel,
    Country,
    Debt,
    Dialer,
    Flags,
    Initiator,
    Outcome,
    Owner,
    Party,
    Purpose,
    Residence,
)
from outreachd.ledger import schema
from outreachd.ledger.store import (
    Attempt,
    Flag,
    Ledger,
    LedgerError,
    Plan,
    Recorded,
    ReplyEvidence,
    reserved_event,
)
from outreachd.sources.base import AccountRecord

NOW = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
_BORROWER = Borrower(residence=Residence(country=Country.US, state="NY"))
_DEBT = Debt(
    id="D",
    creditor="ACME",
    balance=Decimal("10.00"),
    currency="USD",
    overdue_since=date(2026, 10, 1),
)


def record(account_id: str, borrower_id: str, content: str = "v1") -> AccountRecord:
    """A minimal valid account row whose payload is derived from `content`."""
    payload = json.dumps({"account_id": account_id, "content": content}, sort_keys=True)
    return AccountRecord(
        account_id=account_id, borrower_id=borrower_id, borrower=_BORROWER, debt=_DEBT,
        flags=Flags(), locale="en-US", given_name="A", family_name="B", payload_json=payload,
        content_hash=hashlib.sha256(payload.encode()).hexdigest(), row=1,
    )  # fmt: skip


def plan(account_id: str, due: datetime | None, status: str = "due", step: int = 0) -> Plan:
    """A plan for `account_id` (borrower "B-<account_id>")."""
    return Plan(
        account_id=account_id, borrower_id=f"B-{account_id}", step=step, status=status,
        channel="sms", contact_id="m1", template="t1", next_due_at=due,
        reasons=("cap:ok", "window:ok"), updated_at=NOW,
    )  # fmt: skip


def attempt(borrower_id: str, at: datetime = NOW, channel: str = "sms") -> Attempt:
    """An outbound attempt with a fresh id."""
    return Attempt(
        id=uuid4().hex, borrower_id=borrower_id, account_id="A1", debts=("D1", "D2"), at=at,
        channel=channel, contact_id="m1", template="t1", locale="en-US",
        rule_ids=("US-FED-CAP",), packs=("us-fed",),
    )  # fmt: skip


def with_plans(ledger: Ledger, plans: Iterable[Plan]) -> None:
    """Store the plans, creating the accounts they belong to first."""
    plans = list(plans)
    ledger.sync_accounts([record(p.account_id, p.borrower_id) for p in plans], NOW)
    ledger.save_plans(plans)


def reserve(ledger: Ledger, item: Attempt) -> str:
    """Reserve one attempt in its own borrower transaction; its id."""
    with ledger.borrower_txn(item.borrower_id) as txn:
        txn.reserve(item, NOW)
    return item.id


def statuses(ledger: Ledger) -> dict[str, str]:
    """Attempt id -> status, from the audit export."""
    return {str(e["id"]): str(e["status"]) for e in ledger.export() if e["record"] == "event"}


# --- schema and migrations -----------------------------------------------------------------


def test_migrate_is_idempotent_and_reports_the_version(ledger: Ledger) -> None:
    """Running migrate again changes nothing and reports the latest version."""
    assert ledger.migrate() == schema.LATEST == 8
    assert ledger.migrate() == schema.LATEST
    engine = create_engine(ledger.url, poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(select(schema.schema_version.c.version)).scalars().all() == [
            schema.LATEST
        ]
    engine.dispose()


def test_a_version_6_ledger_gets_plan_stages(ledger: Ledger) -> None:
    """Migration 7 adds plans.stage to a ledger whose plans were written without it; they
    keep everything else and read as stage "" (the dispatcher places them in their stage)."""
    with_plans(ledger, [plan("A1", NOW, step=1)])
    engine = create_engine(ledger.url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE plans DROP COLUMN stage")
        conn.execute(schema.schema_version.update().values(version=6))
    engine.dispose()
    assert ledger.migrate() == 8
    old = ledger.plan("A1")
    assert old is not None and (old.stage, old.step, old.reasons) == (
        "",
        1,
        ("cap:ok", "window:ok"),
    )
    ledger.save_plans([dataclasses.replace(old, stage="early")])
    assert ledger.plan("A1") == dataclasses.replace(old, stage="early")


def test_concurrent_migrations_do_not_collide(ledger_kind: str, tmp_path: Path) -> None:
    """Four instances migrating one empty database at once all end at the latest version."""
    fresh = make_ledger(ledger_kind, tmp_path / "fresh", migrate=False)
    others = [Ledger(fresh.url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(Ledger.migrate, others)) == [schema.LATEST] * 4
        assert fresh.migrate() == schema.LATEST
    finally:
        for other in others:
            other.close()
        drop_ledger(fresh)


def test_instants_round_trip_as_aware_utc(ledger: Ledger) -> None:
    """An aware instant in any zone comes back as the same instant in UTC, to the microsecond."""
    cases = {
        "A1": datetime(2025, 3, 9, 2, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-5))),
        "A2": datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "A3": datetime(2300, 1, 1, tzinfo=timezone(timedelta(hours=8))),
    }
    with_plans(ledger, [plan(a, due) for a, due in cases.items()])
    for account_id, due in cases.items():
        got = ledger.plan(account_id)
        assert got is not None and got.next_due_at == due
        assert got.next_due_at.tzinfo is UTC and got.updated_at == NOW


def test_naive_datetimes_are_rejected(ledger: Ledger) -> None:
    """A naive datetime is a ValueError, in the column type and through every store method."""
    naive = datetime(2025, 3, 10, 15, 0)  # noqa: DTZ001 - deliberately naive
    with pytest.raises(ValueError, match="naive"):
        schema.UTCTimestamp().process_bind_param(naive, create_engine("sqlite://").dialect)
    with pytest.raises(ValueError, match="naive"):
        ledger.add_handoff("B1", None, "complaint", "r", naive)
    with pytest.raises(ValueError, match="naive"):
        ledger.sync_accounts([record("A1", "B1")], naive)
    with pytest.raises(ValueError, match="naive"):
        reserve(ledger, attempt("B1", at=naive))
    assert list(ledger.export()) == []


# --- accounts and plans --------------------------------------------------------------------


def test_sync_accounts_reports_new_changed_and_unchanged(ledger: Ledger) -> None:
    """Only new and changed rows are written; first_seen_at survives a change."""
    first = ledger.sync_accounts([record("A1", "B1"), record("A2", "B1"), record("A3", "B2")], NOW)
    assert (first.new, first.changed, first.unchanged) == (["A1", "A2", "A3"], [], 0)
    later = NOW + timedelta(days=1)
    rows = [record("A1", "B1"), record("A2", "B1", "v2"), record("A3", "B2"), record("A4", "B2")]
    second = ledger.sync_accounts(rows, later, batch=1)
    assert (second.new, second.changed, second.unchanged) == (["A4"], ["A2"], 2)
    assert ledger.account_payload("A2") == rows[1].payload_json
    assert ledger.account_payload("nope") is None
    assert ledger.accounts_of("B1") == [(r.account_id, r.payload_json) for r in rows[:2]]
    engine = create_engine(ledger.url, poolclass=NullPool)
    with engine.connect() as conn:
        query = select(schema.accounts.c.first_seen_at, schema.accounts.c.updated_at)
        got = conn.execute(query.where(schema.accounts.c.account_id == "A2")).one()
    engine.dispose()
    assert tuple(got) == (NOW, later)


def test_plans_upsert_and_due_order(ledger: Ledger) -> None:
    """Saving a plan again replaces it; due plans come out oldest first, ties by account id."""
    t = NOW - timedelta(hours=1)
    with_plans(ledger, [plan("A3", t), plan("A1", t), plan("A2", NOW - timedelta(hours=2)),
                        plan("A4", NOW + timedelta(minutes=1)), plan("A5", t, "blocked"),
                        plan("A6", None, "done")])  # fmt: skip
    assert ledger.due_account_ids(NOW, 10) == ["A2", "A1", "A3"]
    assert ledger.due_account_ids(NOW, 2) == ["A2", "A1"]
    ledger.save_plans([plan("A2", NOW + timedelta(days=1), step=1)])
    assert ledger.due_account_ids(NOW, 10) == ["A1", "A3"]
    updated = ledger.plan("A2")
    assert updated is not None and updated.step == 1 and updated.reasons == ("cap:ok", "window:ok")
    assert [p.account_id for p in ledger.plans()] == ["A1", "A3", "A5", "A4", "A2", "A6"]
    assert [p.account_id for p in ledger.plans("due", due_before=NOW)] == ["A1", "A3"]
    assert [p.account_id for p in ledger.plans(limit=1)] == ["A1"]
    assert ledger.plan("nope") is None


def test_plan_of_unknown_account_is_a_ledger_error(ledger: Ledger) -> None:
    """The plans -> accounts foreign key is enforced on both databases."""
    with pytest.raises(LedgerError):
        ledger.save_plans([plan("ghost", NOW)])
    with pytest.raises(ValueError, match="status"):
        ledger.save_plans([plan("A1", NOW, status="later")])


# --- claiming and leases -------------------------------------------------------------------


def test_two_claimers_never_take_the_same_plan(
    ledger: Ledger, another_ledger: Callable[[], Ledger]
) -> None:
    """Two instances claiming concurrently split the due plans between them without overlap."""
    with_plans(ledger, [plan(f"A{i:03}", NOW - timedelta(seconds=i)) for i in range(120)])
    start = threading.Barrier(2)

    def claim_all(instance: Ledger, owner: str) -> list[str]:
        start.wait()
        taken: list[str] = []
        while batch := instance.claim_due(NOW, owner, timedelta(minutes=5), 7):
            taken += [p.account_id for p in batch]
            time.sleep(0.002)  # "process" the batch, letting the other claimer in
        return taken

    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(claim_all, another_ledger(), "w1")
        two = pool.submit(claim_all, another_ledger(), "w2")
        got1, got2 = one.result(), two.result()
    assert not set(got1) & set(got2)
    assert sorted(got1 + got2) == [f"A{i:03}" for i in range(120)]


def test_claim_returns_oldest_first_and_leases_expire(ledger: Ledger) -> None:
    """A claimed plan is invisible to other claimers until its lease runs out."""
    with_plans(ledger, [plan("A1", NOW - timedelta(hours=1)), plan("A2", NOW - timedelta(hours=2)),
                        plan("A3", NOW + timedelta(hours=1))])  # fmt: skip
    claimed = ledger.claim_due(NOW, "w1", timedelta(minutes=5), 10)
    assert [p.account_id for p in claimed] == ["A2", "A1"]
    assert ledger.claim_due(NOW + timedelta(minutes=4), "w2", timedelta(minutes=5), 10) == []
    later = NOW + timedelta(minutes=6)
    assert [p.account_id for p in ledger.claim_due(later, "w2", timedelta(minutes=5), 1)] == ["A2"]
    assert ledger.due_account_ids(later, 10) == ["A2", "A1"]  # leases do not hide due plans


def test_release_is_fenced_by_owner(ledger: Ledger) -> None:
    """Only the lease holder can release a claimed plan."""
    with_plans(ledger, [plan("A1", NOW - timedelta(hours=1))])
    assert len(ledger.claim_due(NOW, "w1", timedelta(minutes=5), 10)) == 1
    ledger.release("A1", "w2")
    assert ledger.claim_due(NOW, "w3", timedelta(minutes=5), 10) == []
    ledger.release("A1", "w1")
    assert [p.account_id for p in ledger.claim_due(NOW, "w3", timedelta(minutes=5), 10)] == ["A1"]


def test_saving_a_plan_keeps_its_lease(ledger: Ledger) -> None:
    """Re-planning a claimed account does not free it for another claimer."""
    with_plans(ledger, [plan("A1", NOW - timedelta(hours=1))])
    ledger.claim_due(NOW, "w1", timedelta(minutes=5), 10)
    with ledger.borrower_txn("B-A1") as txn:
        txn.save_plan(plan("A1", NOW - timedelta(minutes=1), step=2))
    assert ledger.claim_due(NOW, "w2", timedelta(minutes=5), 10) == []
    got = ledger.plan("A1")
    assert got is not None and got.step == 2


def test_saving_plans_releasing_clears_only_that_owners_lease(ledger: Ledger) -> None:
    """save_plans(release_owner=w) writes each plan once and frees the leases w holds; a lease
    another dispatcher holds stays, and a plan not stored yet is inserted unleased."""
    with_plans(ledger, [plan("A1", NOW - timedelta(hours=2)), plan("A2", NOW - timedelta(hours=1))])
    assert len(ledger.claim_due(NOW, "w1", timedelta(minutes=5), 1)) == 1  # A1
    assert len(ledger.claim_due(NOW, "w2", timedelta(minutes=5), 1)) == 1  # A2
    ledger.sync_accounts([record("A3", "B-A3")], NOW)
    with ledger.borrowers_txn(["B-A1", "B-A2", "B-A3"]) as txn:
        txn.save_plans([plan(a, NOW - timedelta(minutes=1), step=3) for a in ("A1", "A2", "A3")],
                       release_owner="w1")  # fmt: skip
    assert [ledger.plan(a).step for a in ("A1", "A2", "A3")] == [3, 3, 3]  # type: ignore[union-attr]
    # A1 and A3 are free; A2 is still w2's
    claimed = ledger.claim_due(NOW, "w3", timedelta(minutes=5), 10)
    assert sorted(p.account_id for p in claimed) == ["A1", "A3"]


# --- attempts ------------------------------------------------------------------------------


def test_borrower_txn_serialises_the_cap(
    ledger: Ledger, another_ledger: Callable[[], Ledger]
) -> None:
    """Concurrent check-then-reserve under borrower_txn never exceeds the cap."""
    cap, workers = 3, 6
    instances = [another_ledger(), another_ledger()]
    start = threading.Barrier(workers)

    def try_send(i: int) -> bool:
        instance = instances[i % 2]
        start.wait()
        with instance.borrower_txn("B1") as txn:
            seen = txn.history(NOW - timedelta(days=7))
            time.sleep(0.05)  # widen the race window between the read and the write
            if len(seen) >= cap:
                return False
            txn.reserve(attempt("B1"), NOW)
            return True

    with ThreadPoolExecutor(workers) as pool:
        sent = list(pool.map(try_send, range(workers)))
    assert sent.count(True) == cap
    with ledger.borrower_txn("B1") as txn:
        assert len(txn.history(NOW - timedelta(days=7))) == cap


def test_borrower_txn_rolls_back_on_error(ledger: Ledger) -> None:
    """An exception inside borrower_txn discards the reservation and propagates."""
    with pytest.raises(RuntimeError), ledger.borrower_txn("B1") as txn:
        txn.reserve(attempt("B1"), NOW)
        txn.add_flag("opt_out", {"channel": "sms"}, "reply", NOW)
        raise RuntimeError("channel exploded")
    assert list(ledger.export()) == []
    with pytest.raises(ValueError, match="borrower"), ledger.borrower_txn("B1") as txn:
        txn.reserve(attempt("B2"), NOW)


def test_flags_are_stored(ledger: Ledger) -> None:
    """A flag raised in a borrower transaction is stored with its JSON value and source."""
    with ledger.borrower_txn("B1") as txn:
        txn.add_flag("medium_opt_out", ["sms"], "reply:STOP", NOW)
    engine = create_engine(ledger.url, poolclass=NullPool)
    with engine.connect() as conn:
        row = conn.execute(select(schema.flags)).one()
    engine.dispose()
    assert (row.borrower_id, row.name, json.loads(row.value), row.source, row.at) == (
        "B1", "medium_opt_out", ["sms"], "reply:STOP", NOW,
    )  # fmt: skip


def test_record_never_moves_status_backwards(ledger: Ledger) -> None:
    """sending < sent|unknown|failed < delivered, and failed/delivered are final."""
    a, b, c = (reserve(ledger, attempt("B1")) for _ in range(3))
    ledger.record(a, "sent", "sms_sent", provider_id="SM1", at=NOW)
    ledger.record(a, "unknown", "unknown")
    ledger.record(a, "delivered", "sms_sent")
    ledger.record(a, "sent", "sms_sent")
    ledger.record(a, "failed", "failed")
    ledger.record(b, "failed", "failed")
    ledger.record(b, "sent", "sms_sent")
    ledger.record(b, "unknown", "unknown")
    ledger.record(c, "unknown", "unknown")
    ledger.record(c, "sent", "sms_sent", provider_id="SM3")
    ledger.record("no-such-attempt", "sent", "sms_sent")
    assert statuses(ledger) == {a: "delivered", b: "failed", c: "sent"}
    with pytest.raises(ValueError):
        ledger.record(a, "sending", "unknown")
    with pytest.raises(ValueError):
        ledger.record(a, "sent", "carrier_pigeon")


def test_provider_id_is_unique_when_present(ledger: Ledger) -> None:
    """Two attempts cannot share a provider id, while any number may have none."""
    a, b, _ = (reserve(ledger, attempt("B1")) for _ in range(3))
    ledger.record(a, "sent", "sms_sent", provider_id="SM1")
    with pytest.raises(LedgerError):
        ledger.record(b, "sent", "sms_sent", provider_id="SM1")


def test_recover_sending_marks_unknown(ledger: Ledger) -> None:
    """After a crash every 'sending' attempt becomes 'unknown'; settled ones are untouched."""
    a, b, c = (reserve(ledger, attempt(f"B{i}")) for i in range(3))
    ledger.record(c, "sent", "sms_sent")
    assert ledger.recover_sending(NOW) == 2
    assert ledger.recover_sending(NOW) == 0
    assert statuses(ledger) == {a: "unknown", b: "unknown", c: "sent"}


def test_history_maps_statuses_to_outcomes(ledger: Ledger) -> None:
    """Unsettled attempts count as UNKNOWN, failed ones as FAILED, the rest as recorded."""
    base = NOW - timedelta(hours=5)
    ids = [reserve(ledger, attempt("B1", base + timedelta(hours=i), ch))
           for i, ch in enumerate(["sms", "call", "sms", "call", "email"])]  # fmt: skip
    reserve(ledger, attempt("B2", base))
    reserve(ledger, attempt("B1", base - timedelta(days=8)))
    ledger.record(ids[1], "unknown", "unknown")
    ledger.record(ids[2], "failed", "network_fail")
    ledger.record(ids[3], "sent", "conversation")
    ledger.record(ids[4], "delivered", "email_sent")
    with ledger.borrower_txn("B1") as txn:
        history = txn.history(NOW - timedelta(days=7))
    assert [e.outcome for e in history] == [
        Outcome.UNKNOWN, Outcome.UNKNOWN, Outcome.FAILED, Outcome.CONVERSATION, Outcome.EMAIL_SENT,
    ]  # fmt: skip
    first = history[0]
    assert (first.at, first.channel, first.to, first.debts) == (
        base,
        Channel.SMS,
        "m1",
        ("D1", "D2"),
    )
    assert (first.initiator, first.dialer, first.person) == (
        Initiator.COLLECTOR, Dialer.MANUAL, Owner.BORROWER,
    )  # fmt: skip
    assert (first.party, first.purpose) == (Party.SELF, Purpose.COLLECTION)
    assert history[1].channel is Channel.CALL


def test_reserved_event_is_what_history_reads_back(ledger: Ledger) -> None:
    """The dispatcher counts an attempt reserved earlier in its chunk from reserved_event;
    it must equal the row read back, for every channel, dialer, person and purpose."""
    now = datetime(2025, 3, 10, 15, 0, 0, 123456, tzinfo=ZoneInfo("UTC"))  # not datetime.UTC
    made = [
        replace(attempt("B1", now, channel), dialer=dialer, person=person, purpose=purpose)
        for channel, dialer, person, purpose in [
            ("sms", "manual", "borrower", "collection"),
            ("call", "autodialer", "", "locate"),
            ("email", "manual", "spouse", "collection"),
        ]
    ]
    with ledger.borrower_txn("B1") as txn:
        txn.reserve_many(made, now)
    with ledger.borrower_txn("B1") as txn:
        history = txn.history(NOW - timedelta(days=1))
    assert sorted(history, key=repr) == sorted((reserved_event(a, now) for a in made), key=repr)


def test_histories_of_several_borrowers_in_one_transaction(ledger: Ledger) -> None:
    """borrowers_txn locks every borrower; histories groups their events, oldest first."""
    for i, borrower in enumerate(["B1", "B2", "B1", "B3"]):
        reserve(ledger, attempt(borrower, NOW - timedelta(hours=4 - i)))
    with ledger.borrowers_txn(["B2", "B1", "B9"]) as txn:
        found = txn.histories(NOW - timedelta(days=1))
        with pytest.raises(ValueError, match="borrower"):
            txn.reserve(attempt("B3"), NOW)
    assert sorted(found) == ["B1", "B2"]
    assert [e.at for e in found["B1"]] == [NOW - timedelta(hours=4), NOW - timedelta(hours=2)]


def test_borrowers_txn_holds_each_borrower_it_locks(
    ledger: Ledger, another_ledger: Callable[[], Ledger]
) -> None:
    """Every borrower of a borrowers_txn (on PostgreSQL: one advisory lock each, taken in one
    statement) is held until it commits: another instance's borrower_txn on the middle one
    waits for it."""
    other = another_ledger()
    inside, times = threading.Event(), {}

    def chunk() -> None:
        with ledger.borrowers_txn(["B1", "B2", "B3"]) as txn:
            inside.set()
            time.sleep(0.3)
            txn.reserve(attempt("B2"), NOW)
            times["chunk_done"] = time.monotonic()

    def single() -> None:
        inside.wait(5)
        with other.borrower_txn("B2") as txn:
            times["single_in"] = time.monotonic()
            times["seen"] = len(txn.history(NOW - timedelta(days=1)))

    with ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(chunk), pool.submit(single)]:
            f.result()
    assert times["single_in"] >= times["chunk_done"]
    assert times["seen"] == 1  # it saw the chunk's reservation


def test_record_many_moves_each_attempt_forward_only(ledger: Ledger) -> None:
    """One transaction for a chunk's outcomes, with the same never-backwards rule."""
    a, b, c = (reserve(ledger, attempt(f"B{i}")) for i in range(3))
    ledger.record(c, "failed", "failed")
    ledger.record_many([
        Recorded(a, "sent", "sms_sent", "SM-a"), Recorded(b, "unknown", "unknown"),
        Recorded(c, "sent", "sms_sent", "SM-c"),
    ])  # fmt: skip
    assert statuses(ledger) == {a: "sent", b: "unknown", c: "failed"}
    ids = {e["id"]: e["provider_id"] for e in ledger.export() if e["record"] == "event"}
    assert ids == {a: "SM-a", b: None, c: None}
    ledger.record_many([])
    with pytest.raises(ValueError, match="cannot record"):
        ledger.record_many([Recorded(a, "sending", "unknown")])


def test_export_order_and_format(ledger: Ledger) -> None:
    """Events and hand-offs come out by instant then id, as JSON with ISO-8601 'Z' instants."""
    late = reserve(ledger, attempt("B1", NOW + timedelta(minutes=1)))
    early = reserve(ledger, attempt("B1", NOW - timedelta(minutes=1)))
    tie = sorted([reserve(ledger, attempt("B2", NOW)), reserve(ledger, attempt("B3", NOW))])
    ledger.add_handoff("B1", "A1", "complaint", "said 'complaint'", NOW + timedelta(seconds=30))
    ledger.record(late, "sent", "sms_sent", provider_id="SM9", at=NOW + timedelta(minutes=2))
    rows = list(ledger.export())
    assert [r["id"] for r in rows] == [early, *tie, 1, late]
    assert [r["record"] for r in rows] == ["event", "event", "event", "handoff", "event"]
    last = rows[-1]
    assert last["at"] == "2025-03-10T15:01:00.000000Z"
    assert last["updated_at"] == "2025-03-10T15:02:00.000000Z"
    assert (last["debts"], last["rule_ids"], last["packs"]) == (["D1", "D2"], ["US-FED-CAP"],
                                                                 ["us-fed"])  # fmt: skip
    assert (last["status"], last["outcome"], last["provider_id"]) == ("sent", "sms_sent", "SM9")
    assert rows[3]["at"] == "2025-03-10T15:00:30.000000Z" and rows[3]["status"] == "open"
    json.dumps(rows)  # JSON-able as is
    assert [r["id"] for r in ledger.export(since=NOW + timedelta(seconds=1))] == [1, late]


def test_export_carries_flags_and_replies_verbatim(ledger: Ledger) -> None:
    """An auditor sees the flags the daemon raised and every reply, word for word, in time
    order with the attempts (a reply, its inbound event and its answer share an instant)."""
    with ledger.borrower_txn("B1") as txn:
        txn.add_flag("hardship", True, "agent call", NOW - timedelta(minutes=5))
    answer = attempt("B1")
    assert ledger.inbound(
        provider_id="SMin", borrower_id="B1", contact_id="m1", at=NOW,
        evidence=ReplyEvidence("STOP please", "stop", "STOP", ("stop",)),
        raise_flags=[Flag("B1", "address_opt_outs", {"add": ["sms:m1"]}, "sms-reply:SMin")],
        answer=answer,
    )  # fmt: skip
    rows = list(ledger.export())
    assert [r["record"] for r in rows] == ["flag", "event", "event", "flag", "reply"]
    reply = rows[-1]
    assert (reply["id"], reply["body"], reply["class"], reply["classes"]) == (
        "SMin", "STOP please", "stop", ["stop"],
    )  # fmt: skip
    assert rows[0]["value"] is True and rows[3]["value"] == {"add": ["sms:m1"]}
    assert {r["status"] for r in rows if r["record"] == "event"} == {"inbound", "sent"}
    json.dumps(rows)
    assert [r["record"] for r in ledger.export(since=NOW)] == ["event", "event", "flag", "reply"]


def test_unreachable_database_is_a_ledger_error(ledger_kind: str, tmp_path: Path) -> None:
    """A database that cannot be reached raises LedgerError, not a driver error."""
    url = {
        "sqlite": f"sqlite:///{tmp_path / 'missing-dir' / 'ledger.db'}",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/test",
    }[ledger_kind]
    ledger = Ledger(url)  # lazy: no I/O yet
    try:
        with pytest.raises(LedgerError):
            ledger.migrate()
        with pytest.raises(LedgerError):
            ledger.due_account_ids(NOW, 10)
    finally:
        ledger.close()


def test_one_instance_leads_the_sweep(
    ledger: Ledger, another_ledger: Callable[[], Ledger], ledger_kind: str
) -> None:
    """PostgreSQL: the first instance to ask leads; the others do not, until it resigns (or
    its session dies), and then the next to ask leads. SQLite serves one instance: it leads."""
    other = another_ledger()
    assert ledger.lead() is True
    if ledger_kind == "sqlite":
        assert other.lead() is True
        return
    assert other.lead() is False
    assert ledger.lead() is True  # still, and asking again changes nothing
    ledger.resign()
    assert other.lead() is True
    assert ledger.lead() is False


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Ledger]:
    """A PostgreSQL ledger only: what only several instances on one server can show."""
    instance = make_ledger("postgresql", tmp_path / "pg")
    yield instance
    drop_ledger(instance)


def test_a_leader_whose_session_dies_loses_the_lead(pg: Ledger) -> None:
    other = Ledger(pg.url)
    try:
        assert pg.lead() is True
        assert pg._leader is not None
        pid = pg._leader.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        pg._leader.commit()
        with other._engine.connect() as conn:
            # with a timeout it waits for the backend to exit (and its lock to go), PG 14+
            conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
            conn.commit()
        assert other.lead() is True  # the lock died with the session
        assert pg.lead() is False  # it notices, and asks again, too late
    finally:
        other.close()


def test_each_schema_has_its_own_sweep_leader(pg: Ledger, tmp_path: Path) -> None:
    """Two deployments in one PostgreSQL database, each in its own schema, each lead their own
    sweep (advisory locks are per database, so the key names the schema)."""
    elsewhere = make_ledger("postgresql", tmp_path / "other")
    try:
        assert pg.lead() is True
        assert elsewhere.lead() is True
    finally:
        drop_ledger(elsewhere)


def test_attempt_ids_are_random_version_4_uuids() -> None:
    """new_attempt_id draws what uuid.uuid4().hex gives: 32 hex digits of a version 4, RFC 4122
    variant UUID, all different (the one-click unsubscribe link's capability is this id)."""
    from uuid import RFC_4122, UUID  # noqa: PLC0415

    from outreachd.ledger.store import new_attempt_id  # noqa: PLC0415

    ids = [new_attempt_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = UUID(hex=value)
        assert parsed.hex == value and parsed.version == 4 and parsed.variant == RFC_4122


def test_an_sqlite_without_json_functions_is_refused_at_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatcher reads a chunk's ids with json_each: `run`/`check` (which migrate) say
    so plainly on an SQLite built without its JSON functions, instead of failing mid-tick."""
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        assert led.migrate() > 0  # this SQLite has them
        monkeypatch.setattr(schema, "JSON_PROBE", "SELECT count(*) FROM json_each_missing('[]')")
        with pytest.raises(LedgerError, match=r"has no JSON functions .*SQLite 3\.38 or later"):
            led.migrate()
    finally:
        led.close()
