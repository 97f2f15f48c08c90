"""The ledger: the daemon's only durable state (accounts, plans, attempts, flags, hand-offs).

Every method takes `now` where time matters and never reads the clock. Attempts follow the
at-most-once protocol of design.md section 3: reserved as 'sending' (committed) before the provider
is called, then moved forward by `record`; a crash in between leaves 'unknown', which counts.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Row,
    Select,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import Executable
from sqlalchemy.types import Text

from outreachd.core.model import Channel, Dialer, Event, Initiator, Outcome, Owner, Party, Purpose
from outreachd.ledger import schema
from outreachd.ledger.schema import (
    LedgerError,
    accounts,
    calls,
    contacts,
    events,
    flags,
    handoffs,
    plans,
    replies,
)
from outreachd.sources.base import AccountRecord

PLAN_STATUSES = frozenset({"due", "blocked", "done"})
# record(status) applies only from these current statuses: nothing moves backwards, and the
# terminal 'failed' / 'delivered' (and 'inbound') are never overwritten by anything else.
# What an attempt counts as while its fate is open, or once it provably failed.
_STATUS_OUTCOME = {"sending": Outcome.UNKNOWN, "unknown": Outcome.UNKNOWN, "failed": Outcome.FAILED}
_LEASE = ("lease_owner", "lease_until")  # upserting a plan leaves its lease alone
_RECORD_FROM: dict[str, tuple[str, ...]] = {
    "unknown": ("sending", "unknown"),
    "sent": ("sending", "unknown", "sent"),
    "failed": ("sending", "unknown", "sent", "failed"),
    "delivered": ("sending", "unknown", "sent", "delivered"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    account_id: str
    borrower_id: str
    step: int
    status: str  # due | blocked | done
    channel: str | None
    contact_id: str | None
    template: str | None
    next_due_at: datetime | None
    reasons: tuple[str, ...]
    updated_at: datetime
    stage: str = ""  # the strategy stage the step is in ("": none yet)


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountIndex:
    digests: dict[str, str]  # raw source-row digest -> account_id
    undigested: list[str]  # accounts stored without a digest (by a version 1 ledger)

    def ids(self) -> set[str]:
        return {*self.digests.values(), *self.undigested}


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncResult:
    new: list[str]
    changed: list[str]
    unchanged: int


class Flag(NamedTuple):
    """A flag the daemon raised on a borrower (from a provider's answer or a reply)."""

    borrower_id: str
    name: str  # e.g. "invalid_contact"
    value: Any  # JSON-able, e.g. {"contact_id": "e1", "channel": "email"}
    source: str  # who said so, e.g. "smtp:550"


def _flag_row(flag: Flag, now: datetime) -> dict[str, object]:
    return {"borrower_id": flag.borrower_id, "name": flag.name, "value": json.dumps(flag.value),
            "source": flag.source, "at": now}  # fmt: skip


class Unsettled(NamedTuple):
    """An attempt whose fate the provider may know better than the ledger."""

    id: str
    borrower_id: str
    account_id: str | None
    contact_id: str
    at: datetime
    provider_id: str | None


class ReplyEvidence(NamedTuple):
    """An inbound reply as received, and how it was read."""

    body: str
    cls: str
    matched: str
    classes: tuple[str, ...]


class CallScript(NamedTuple):
    """What a call says: the greeting anyone who answers hears (no debt content), the message
    only the borrower hears once they pressed 1, and the limited-content voicemail (None: a
    machine gets no message)."""

    attempt_id: str
    language: str
    greeting: str
    body: str
    voicemail: str | None


class CallState(NamedTuple):
    """A call as the webhooks see it: its script, the stage it reached, its attempt."""

    script: CallScript
    stage: str | None  # an outcome (answered_hangup, conversation, voicemail_lcm, ...)
    borrower_id: str
    account_id: str | None
    contact_id: str
    status: str  # the attempt's status (sending, sent, delivered, ...)


# A call's stage only moves forward: whoever answered can still turn out to be the borrower
# (or a third party), a machine can still get its message; nothing moves back.
_FIRST_STAGES = (
    Outcome.ANSWERED_HANGUP, Outcome.THIRD_PARTY_ANSWERED, Outcome.CONVERSATION,
    Outcome.VOICEMAIL_NO_MESSAGE, Outcome.VOICEMAIL_LCM, Outcome.NOT_IN_SERVICE,
)  # fmt: skip
_STAGE_AFTER: dict[str | None, frozenset[str]] = {
    None: frozenset(_FIRST_STAGES),
    Outcome.ANSWERED_HANGUP: frozenset({Outcome.THIRD_PARTY_ANSWERED, Outcome.CONVERSATION}),
    Outcome.VOICEMAIL_NO_MESSAGE: frozenset({Outcome.VOICEMAIL_LCM}),
}
_CALL_OPEN = ("sending", "unknown", "sent")  # a call whose end the ledger has not recorded
# the sweep lock's key: advisory locks are per database, so it is per schema too (two
# deployments in one database, each in its own schema, each have their own leader)
_SWEEP_KEY = "hashtextextended(:k || ':' || current_schema(), 0)"


class Recorded(NamedTuple):
    """What became of an attempt (see Ledger.record)."""

    attempt_id: str
    status: str
    outcome: str
    provider_id: str | None = None
    at: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Attempt:
    """One reserved outbound attempt (`id`: uuid4 hex, chosen by the caller)."""

    id: str
    borrower_id: str
    account_id: str | None
    debts: tuple[str, ...]
    at: datetime
    channel: str
    contact_id: str
    template: str | None
    locale: str | None
    rule_ids: tuple[str, ...]
    packs: tuple[str, ...]
    dialer: str = "manual"
    person: str = "borrower"  # "" = the owner of contact_id
    purpose: str = "collection"


# a hand-off to open: (borrower, account or None, kind, reason)
HandoffRow = tuple[str, str | None, str, str]


def _insert_handoffs(conn: Connection, rows: Iterable[HandoffRow], now: datetime) -> None:
    hand = [{"borrower_id": b, "account_id": a, "kind": k, "reason": r, "created_at": now}
            for b, a, k, r in rows]  # fmt: skip
    if hand:
        conn.execute(insert(handoffs), hand)


def pulls_forward(raised: Iterable[Flag]) -> bool:
    """Whether these new flags bring the borrower's waiting plans forward as well as the
    blocked ones (see _reopen): hardship, whose offer goes out at the next lawful moment,
    not after the ladder's wait."""
    return any(flag.name == "hardship" and flag.value is True for flag in raised)


def _reopen(conn: Connection, borrower_id: str, now: datetime, *, waiting: bool) -> int:
    """The borrower's flags changed: their blocked plans are decided again now (a restriction
    may have lifted, a branch may apply); with `waiting` (pulls_forward), their waiting plans
    too. How many."""
    statuses = ["blocked", "due"] if waiting else ["blocked"]
    stmt = (
        update(plans)
        .where(plans.c.borrower_id == borrower_id, plans.c.status.in_(statuses))
        .values(status="due", next_due_at=now, updated_at=now)
    )
    with schema.translate():
        return conn.execute(stmt).rowcount


_PLAN_FIELDS = tuple(f.name for f in fields(Plan))  # fields() on every row cost half the row


def _plan_row(plan: Plan) -> dict[str, object]:
    if plan.status not in PLAN_STATUSES:
        raise ValueError(f"plan status {plan.status!r} is not one of {sorted(PLAN_STATUSES)}")
    row: dict[str, object] = {name: getattr(plan, name) for name in _PLAN_FIELDS}
    row["reasons"] = json.dumps(plan.reasons) if plan.reasons else "[]"
    return row


def _plan(row: Row[Any]) -> Plan:
    mapping = row._mapping
    values = {name: mapping[name] for name in _PLAN_FIELDS}
    values["reasons"] = tuple(json.loads(row.reasons)) if row.reasons != "[]" else ()
    return Plan(**values)


_ATTEMPT_FIELDS = tuple(f.name for f in fields(Attempt))


@functools.lru_cache(maxsize=256)  # an instance's packs and rule IDs repeat on every row
def _json_list(items: tuple[str, ...]) -> str:
    return json.dumps(list(items))


def new_attempt_id() -> str:
    """A new attempt id: the hex of a random (version 4) UUID, as uuid.uuid4().hex, without
    building the UUID object (a third of the cost; one is drawn for every send)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    return raw.hex()


def _member(values: dict[str, Any], enum: Any, value: str) -> None:
    """ValueError, as enum(value) raises it, unless `value` is one of the enum's values."""
    if value not in values:
        enum(value)


def _event_row(attempt: Attempt, now: datetime) -> dict[str, object]:
    _member(_CHANNELS, Channel, attempt.channel)  # validate
    _member(_DIALERS, Dialer, attempt.dialer)
    _member(_PURPOSES, Purpose, attempt.purpose)
    if attempt.person:
        _member(_OWNERS, Owner, attempt.person)
    row: dict[str, object] = {name: getattr(attempt, name) for name in _ATTEMPT_FIELDS}
    row.update(
        debts=json.dumps(list(attempt.debts)),
        rule_ids=_json_list(attempt.rule_ids),
        packs=_json_list(attempt.packs),
    )
    row.update(status="sending", outcome=Outcome.UNKNOWN.value, provider_id=None)
    row.update(initiator=Initiator.COLLECTOR.value, party=Party.SELF.value)
    row.update(created_at=now, updated_at=now)
    return row


def _lookup(enum: Any) -> dict[str, Any]:
    return {member.value: member for member in enum}


_CHANNELS, _OUTCOMES, _INITIATORS = _lookup(Channel), _lookup(Outcome), _lookup(Initiator)
_DIALERS, _OWNERS, _PARTIES, _PURPOSES = (
    _lookup(Dialer), _lookup(Owner), _lookup(Party), _lookup(Purpose)
)  # fmt: skip


@functools.lru_cache(maxsize=1 << 14)  # a borrower's few debts repeat in every event
def _json_tuple(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


# the columns _event reads, in its argument order (after `at`)
_EVENT_FIELDS = (
    "channel", "contact_id", "outcome", "status", "initiator", "dialer", "debts", "person",
    "party", "purpose",
)  # fmt: skip


def _event(at: datetime, values: Sequence[Any]) -> Event:
    """A ledger event (its instant, and its _EVENT_FIELDS values) as the rules see it; an
    attempt of unknown fate counts as made."""
    channel, to, outcome, status, initiator, dialer, debts, person, party, purpose = values
    return Event(
        at=at, channel=_CHANNELS[channel], to=to,
        outcome=_STATUS_OUTCOME.get(status) or _OUTCOMES[outcome],
        initiator=_INITIATORS[initiator], dialer=_DIALERS[dialer], debts=_json_tuple(debts),
        person=_OWNERS[person] if person else None, party=_PARTIES[party],
        purpose=_PURPOSES[purpose],
    )  # fmt: skip


# a history query: the borrower, the instant as stored (BIGINT microseconds, converted here
# without the per-row type machinery: histories are the dispatcher's largest read), the rest
_HISTORY_COLUMNS = (
    events.c.borrower_id,
    type_coerce(events.c.at, BigInteger),
    *(events.c[name] for name in _EVENT_FIELDS),
)


@functools.lru_cache(maxsize=4)  # a chunk's reservations share their instant
def _as_stored(at: datetime) -> datetime:
    """`at` as the ledger gives it back (UTC, to the microsecond)."""
    return schema.from_micros(schema.to_micros(at))


def reserved_event(attempt: Attempt, now: datetime) -> Event:
    """The Event a reserved attempt is, exactly as `history` reads it back (tested)."""
    return Event(
        at=_as_stored(now), channel=_CHANNELS[attempt.channel],
        to=attempt.contact_id, outcome=_STATUS_OUTCOME["sending"], initiator=Initiator.COLLECTOR,
        dialer=_DIALERS[attempt.dialer], debts=attempt.debts,
        person=_OWNERS[attempt.person] if attempt.person else None, party=Party.SELF,
        purpose=_PURPOSES[attempt.purpose],
    )  # fmt: skip


class BorrowerTxn:
    """One open transaction holding the locks of one or more borrowers; see
    Ledger.borrower_txn and Ledger.borrowers_txn."""

    def __init__(self, conn: Connection, borrower_ids: Iterable[str]) -> None:
        self._conn, self.borrower_ids = conn, frozenset(borrower_ids)

    def _run(self, stmt: Callable[[str], Select[Any]], **values: object) -> Any:
        """Run a chunk statement (built once per database kind) with its borrowers as :ids."""
        dialect = self._conn.dialect.name
        ids = _listed(dialect, sorted(self.borrower_ids))
        return self._conn.execute(stmt(dialect), {"ids": ids, **values})

    def history(self, since: datetime) -> list[Event]:
        """The (one) borrower's events at or after `since`, oldest first, as core Events."""
        (borrower_id,) = self.borrower_ids
        return self.histories(since).get(borrower_id, [])

    def histories(self, since: datetime) -> dict[str, list[Event]]:
        """{borrower: events at or after `since`, oldest first} for every locked borrower,
        in one query; a borrower without events is absent."""
        out: dict[str, list[Event]] = {}
        with schema.translate():
            for row in self._run(_histories_stmt, since=since):
                event = _event(schema.from_micros(row[1]), row[2:])
                out.setdefault(row[0], []).append(event)
        return out

    def still_held(self, account_ids: Iterable[str], owner: str) -> set[str]:
        """Which of these plans `owner` still leases, locked (FOR UPDATE on PostgreSQL; the
        SQLite write transaction is exclusive) until this transaction ends: a lease that
        expired and was claimed by another instance is theirs now, and the stale copy must
        not be decided or saved (fencing)."""
        wanted = list(dict.fromkeys(account_ids))
        if not wanted:
            return set()
        dialect = self._conn.dialect.name
        values = {"ids": _listed(dialect, wanted), "owner": owner}
        with schema.translate():
            return set(self._conn.execute(_held_stmt(dialect), values).scalars())

    def reserve(self, attempt: Attempt, now: datetime) -> None:
        """Insert the attempt as 'sending' (outcome 'unknown'); it counts from this moment."""
        self.reserve_many([attempt], now)

    def reserve_many(self, attempts: Iterable[Attempt], now: datetime) -> None:
        """`reserve` for several attempts, in one statement."""
        rows = []
        for attempt in attempts:
            if attempt.borrower_id not in self.borrower_ids:
                raise ValueError(f"attempt {attempt.id} is not for a borrower of this transaction")
            rows.append(_event_row(attempt, now))
        if rows:
            with schema.translate():
                self._conn.execute(insert(events), rows)

    def save_calls(self, scripts: Iterable[CallScript], now: datetime) -> None:
        """Store what reserved calls will say (before they are placed: Twilio asks for the
        script as soon as someone answers, possibly before the dispatcher hears back)."""
        rows = [s._asdict() | {"stage": None, "updated_at": now} for s in scripts]
        if rows:
            with schema.translate():
                self._conn.execute(insert(calls), rows)

    def save_plan(self, plan: Plan, release_owner: str | None = None) -> None:
        """Upsert one plan in this transaction; with `release_owner`, also clear the lease
        that owner holds on it (in the same commit, instead of one of its own)."""
        self.save_plans([plan], release_owner)

    def save_plans(self, batch: Iterable[Plan], release_owner: str | None = None) -> None:
        """`save_plan` for several plans, in one statement (and one release)."""
        rows = [_plan_row(plan) for plan in batch]
        if not rows:
            return
        dialect = self._conn.dialect.name
        with schema.translate():
            if release_owner is None:
                self._conn.execute(_plan_upsert(dialect), rows)
            else:  # one write of each row: the upsert also clears the owner's lease
                for row in rows:
                    row["release_owner"] = release_owner
                self._conn.execute(_plan_upsert_releasing(dialect), rows)

    def add_handoffs(self, rows: Iterable[HandoffRow], now: datetime) -> None:
        """Open hand-offs to a human in this transaction (so a hand-off exists exactly when
        what prompted it was committed)."""
        _insert_handoffs(self._conn, rows, now)

    def open_handoffs(self, kind: str) -> set[str]:
        """The borrowers (of this transaction) with an open hand-off of `kind`."""
        with schema.translate():
            return {row.borrower_id for row in self._run(_handoffs_stmt, kind=kind)}

    def reopen(self, now: datetime, *, waiting: bool = False) -> int:
        """After the borrower's flags changed: see `_reopen`."""
        return sum(_reopen(self._conn, b, now, waiting=waiting) for b in sorted(self.borrower_ids))

    def add_flag(self, name: str, value: object, source: str, now: datetime) -> None:
        """Record a flag the daemon raised itself (an opt-out, hardship from a reply)."""
        (borrower_id,) = self.borrower_ids
        with schema.translate():
            self._conn.execute(
                insert(flags), [_flag_row(Flag(borrower_id, name, value, source), now)]
            )

    def flags(self, names: Iterable[str]) -> dict[str, list[Flag]]:
        """{borrower: the flags of these names the ledger holds for it, oldest first}."""
        out: dict[str, list[Flag]] = {}
        with schema.translate():
            for row in self._run(_flags_stmt, names=list(names)):
                flag = Flag(row.borrower_id, row.name, json.loads(row.value), row.source)
                out.setdefault(row.borrower_id, []).append(flag)
        return out


class Ledger:
    """The ledger on SQLite (a file URL) or PostgreSQL (`postgresql+psycopg://...`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        with schema.translate():
            self._engine = schema.create_ledger_engine(url)
        self._dialect = self._engine.dialect.name
        self._leader: Connection | None = None  # PostgreSQL: the session holding the lead
        # outcome batches a failed write left in memory (see flush_unrecorded)
        self._unrecorded: list[tuple[dict[str, list[dict[str, object]]], list[Any], list[Any]]]
        self._unrecorded = []
        self._unrecorded_lock = threading.Lock()

    def migrate(self) -> int:
        """Bring the schema up to date (idempotent, safe to run concurrently); its version."""
        with schema.translate():
            try:
                return schema.migrate(self._engine)
            except ValueError as exc:
                raise LedgerError(str(exc)) from exc

    def close(self) -> None:
        self.resign()
        self._engine.dispose()

    def lead(self) -> bool:
        """Whether this instance leads the sweep (one leader among the instances sharing a
        PostgreSQL ledger): a session-level advisory lock held on a dedicated connection for
        as long as the instance lives. When the leader dies its session ends, the lock is
        free, and the next instance to ask takes it. A lost connection loses the lead; it
        is asked for again next time. SQLite serves one instance: always the leader.
        Session locks need a real session: not through PgBouncer in transaction pooling."""
        if self._dialect != "postgresql":
            return True
        if self._leader is not None:
            try:
                self._leader.execute(select(1))
                self._leader.commit()  # never left idle in a transaction
                return True
            except SQLAlchemyError:
                self._drop_leader()
        try:
            conn = self._engine.connect()
        except SQLAlchemyError as exc:
            raise LedgerError(f"ledger database error: {exc}") from exc
        try:
            query = text(f"SELECT pg_try_advisory_lock({_SWEEP_KEY})")
            got = bool(conn.execute(query, {"k": schema.SWEEP_LOCK}).scalar())
            conn.commit()
        except SQLAlchemyError as exc:
            conn.invalidate()
            conn.close()
            raise LedgerError(f"ledger database error: {exc}") from exc
        if got:
            self._leader = conn
        else:
            conn.close()
        return got

    def resign(self) -> None:
        """Give up the sweep lead (stopping: another instance takes it at once)."""
        if self._leader is None:
            return
        try:
            unlock = text(f"SELECT pg_advisory_unlock({_SWEEP_KEY})")
            self._leader.execute(unlock, {"k": schema.SWEEP_LOCK})
            self._leader.commit()
        except SQLAlchemyError:
            pass  # the session is gone, and its lock with it
        self._drop_leader()

    def _drop_leader(self) -> None:
        conn, self._leader = self._leader, None
        if conn is not None:
            try:
                conn.invalidate()  # never back to the pool: it may still hold the lock
                conn.close()
            except SQLAlchemyError:
                pass

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with schema.translate(), self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self, *locks: str) -> Iterator[Connection]:
        with schema.translate(), schema.write_txn(self._engine, *locks) as conn:
            yield conn

    def sync_accounts(
        self, records: Iterable[AccountRecord], now: datetime, batch: int = 5000
    ) -> SyncResult:
        """Store new and changed account rows (by content_hash), one transaction per batch.

        Only the ids being written are looked up, batch by batch, so a sweep that passes the
        few changed rows of a large book reads and writes only those.
        """
        schema.to_micros(now)
        new: list[str] = []
        changed: list[str] = []
        unchanged = 0
        stmt = schema.upsert(self._dialect, accounts, keep={"first_seen_at"})
        for chunk in _chunks(records, batch):
            known = self._known(rec.account_id for rec in chunk)
            rows = []
            recontact: list[AccountRecord] = []  # content changed: its contact points may have
            for rec in chunk:
                old = known.get(rec.account_id)
                if old == (rec.content_hash, rec.source_digest or old_digest(old)):
                    unchanged += 1
                    continue
                if old is None or old[0] != rec.content_hash:
                    (new if old is None else changed).append(rec.account_id)
                    recontact.append(rec)
                else:
                    unchanged += 1  # same content, the raw row only looks different
                known[rec.account_id] = (rec.content_hash, rec.source_digest)
                rows.append(_account_row(rec, now))
            if rows:
                with self._write() as conn:
                    conn.execute(stmt, rows)
                    self._recontact(conn, recontact)
        return SyncResult(new=new, changed=changed, unchanged=unchanged)

    def _recontact(self, conn: Connection, recs: list[AccountRecord]) -> None:
        """Bring the contacts rows of these accounts to their current contact points. The
        rows of an account whose points are as stored are left alone: most refreshes change
        a balance or a count, and rewriting rows scattered over both of the table's indexes
        costs a large book far more than reading them."""
        if not recs:
            return
        c = contacts.c
        query = select(c.account_id, *(c[name] for name in _CONTACT_FIELDS)).where(
            c.account_id.in_([rec.account_id for rec in recs])
        )
        stored: dict[str, list[tuple[str, ...]]] = {}
        for account_id, *values in conn.execute(query):
            stored.setdefault(account_id, []).append(tuple(values))
        stale: list[str] = []
        rows: list[dict[str, object]] = []
        for rec in recs:
            wanted = _contact_rows(rec)
            old = stored.get(rec.account_id)
            if old is not None:
                key = sorted(tuple(row[name] for name in _CONTACT_FIELDS) for row in wanted)
                if sorted(old) == key:
                    continue
                stale.append(rec.account_id)
            rows.extend(wanted)
        if stale:
            conn.execute(delete(contacts).where(c.account_id.in_(stale)))
        if rows:
            conn.execute(insert(contacts), rows)

    def contacts_at(self, address: str) -> list[tuple[str, str, str, str]]:
        """(borrower, account, contact id, owner) of every contact point at this address."""
        c = contacts.c
        query = (
            select(c.borrower_id, c.account_id, c.contact_id, c.owner)
            .where(c.address == address)
            .order_by(c.borrower_id, c.account_id, c.contact_id)
        )
        with self._read() as conn:
            return [(b, a, i, o) for b, a, i, o in conn.execute(query)]

    def _known(self, ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        wanted = list(dict.fromkeys(ids))
        query = select(
            accounts.c.account_id, accounts.c.content_hash, accounts.c.source_digest
        ).where(accounts.c.account_id.in_(wanted))
        with self._read() as conn:
            return {key: (digest, raw) for key, digest, raw in conn.execute(query)}

    def account_index(self) -> AccountIndex:
        """Every account id, by its raw source-row digest where it has one (one scan of a
        covering index: the payloads are not read)."""
        digests: dict[str, str] = {}
        missing = select(accounts.c.account_id).where(accounts.c.source_digest.is_(None))
        with self._read() as conn:
            undigested = list(conn.execute(missing).scalars())
            # the DB-API cursor: a SQLAlchemy row per account would double the time
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(
                    f"SELECT source_digest, account_id FROM {accounts.name}"
                    " WHERE source_digest IS NOT NULL"
                )
                while part := cursor.fetchmany(50_000):
                    digests.update(part)
            finally:
                cursor.close()
        return AccountIndex(digests=digests, undigested=undigested)

    def plans_of(self, account_ids: Iterable[str], batch: int = 1000) -> list[Plan]:
        """The plans of these accounts (those that have one), read `batch` ids at a time."""
        ids = list(account_ids)
        out: list[Plan] = []
        with self._read() as conn:
            for start in range(0, len(ids), batch):
                query = select(plans).where(plans.c.account_id.in_(ids[start : start + batch]))
                out.extend(_plan(row) for row in conn.execute(query))
        return out

    def account_payloads(self, account_ids: Iterable[str]) -> dict[str, str]:
        """{account_id: stored JSON payload} of those of these accounts that are stored."""
        ids = _listed(self._dialect, account_ids)
        with self._read() as conn:
            found = conn.execute(_payloads_stmt(self._dialect), {"ids": ids})
            return {key: payload for key, _, payload in found}

    def account_payload(self, account_id: str) -> str | None:
        """The stored JSON payload of one account, or None."""
        with self._read() as conn:
            query = select(accounts.c.payload).where(accounts.c.account_id == account_id)
            found: str | None = conn.execute(query).scalar()
            return found

    def accounts_of(self, borrower_id: str) -> list[tuple[str, str]]:
        """(account_id, payload) of every account of the borrower, by account_id."""
        query = (
            select(accounts.c.account_id, accounts.c.payload)
            .where(accounts.c.borrower_id == borrower_id)
            .order_by(accounts.c.account_id)
        )
        with self._read() as conn:
            return [(row.account_id, row.payload) for row in conn.execute(query)]

    def save_plans(self, plans: Iterable[Plan], batch: int = 5000) -> None:
        """Upsert plans in batches; a plan's lease is left as it is."""
        stmt = schema.upsert(self._dialect, schema.plans, keep=_LEASE)
        schema.write_batches(self._engine, stmt, (_plan_row(plan) for plan in plans), batch)

    def plan(self, account_id: str) -> Plan | None:
        """The plan of one account, or None."""
        with self._read() as conn:
            row = conn.execute(select(plans).where(plans.c.account_id == account_id)).first()
            return None if row is None else _plan(row)

    def plans(
        self,
        status: str | None = None,
        due_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[Plan]:
        """Plans, optionally of one status and/or due at or before `due_before`, soonest first."""
        query = select(plans).order_by(plans.c.next_due_at.asc().nulls_last(), plans.c.account_id)
        if status is not None:
            query = query.where(plans.c.status == status)
        if due_before is not None:
            query = query.where(plans.c.next_due_at <= due_before)
        with self._read() as conn:
            return [_plan(row) for row in conn.execute(query.limit(limit))]

    def due_account_ids(self, now: datetime, limit: int) -> list[str]:
        """Accounts whose plan is 'due' with next_due_at <= now, oldest first (index scan)."""
        query = _due(select(plans.c.account_id), now).limit(limit)
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    @property
    def leases(self) -> bool:
        """Whether dispatchers claim a batch under a lease (PostgreSQL: FOR UPDATE SKIP
        LOCKED, then the plans are decided chunk by chunk in later transactions), rather than
        take each chunk in the transaction that decides it (SQLite: BEGIN IMMEDIATE already
        serialises every writer; see due_txn)."""
        return self._dialect == "postgresql"

    @contextmanager
    def due_txn(
        self, now: datetime, limit: int
    ) -> Iterator[tuple[BorrowerTxn, list[Plan], dict[str, str]]]:
        """One writing transaction holding up to `limit` plans due at `now` and not leased,
        in due order, with the stored payloads of their accounts, and a BorrowerTxn over
        their borrowers (the plans' and the accounts'); commits unless it raises. For SQLite,
        whose write transaction excludes every other writer: what is decided in it needs no
        lease (see `leases`)."""
        with self._write() as conn:
            rows = list(conn.execute(_due_stmt(), {"now": now, "limit": limit}))
            chosen = [_plan(row) for row in rows]
            ids = [plan.account_id for plan in chosen]
            expired = [row.account_id for row in rows if row.lease_owner is not None]
            if expired:  # leases that ran out (claim_due): void now, so no stale copy acts
                conn.execute(
                    update(plans)
                    .where(plans.c.account_id.in_(expired))
                    .values(lease_owner=None, lease_until=None)
                )
            payloads: dict[str, str] = {}
            borrowers = {plan.borrower_id for plan in chosen}
            if ids:
                for account_id, borrower_id, payload in conn.execute(
                    _payloads_stmt(self._dialect), {"ids": _listed(self._dialect, ids)}
                ):
                    payloads[account_id] = payload
                    borrowers.add(borrower_id)
            yield BorrowerTxn(conn, borrowers), chosen, payloads

    def claim_due(self, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Plan]:
        """Lease up to `limit` due, unleased plans to `owner` until now + lease; return them."""
        with self._write() as conn:
            ids = list(conn.execute(_pick_stmt(), {"now": now, "limit": limit}).scalars())
            if not ids:
                return []
            values = {"ids": _listed(self._dialect, ids), "owner": owner, "until": now + lease}
            claimed = [_plan(row) for row in conn.execute(_lease_stmt(self._dialect), values)]
        return sorted(claimed, key=lambda p: (p.next_due_at or now, p.account_id))

    def next_due(self) -> datetime | None:
        """The earliest instant a plan falls due (leases aside), or None: nothing is due."""
        query = select(func.min(plans.c.next_due_at)).where(plans.c.status == "due")
        with self._read() as conn:
            value: datetime | None = conn.execute(query).scalar()
            return value

    def release(self, account_ids: str | Iterable[str], owner: str) -> None:
        """Clear the leases of these plans that `owner` still holds (and no other)."""
        ids = [account_ids] if isinstance(account_ids, str) else list(account_ids)
        if ids:
            with self._write() as conn:
                conn.execute(_release_stmt(ids, owner))

    @contextmanager
    def borrower_txn(self, borrower_id: str) -> Iterator[BorrowerTxn]:
        """One transaction serialised per borrower across processes; commits unless it raises."""
        with self._write(borrower_id) as conn:
            yield BorrowerTxn(conn, (borrower_id,))

    @contextmanager
    def borrowers_txn(self, borrower_ids: Iterable[str]) -> Iterator[BorrowerTxn]:
        """`borrower_txn` for several borrowers at once (their locks taken in sorted order)."""
        ids = sorted(set(borrower_ids))
        with self._write(*ids) as conn:
            yield BorrowerTxn(conn, ids)

    def record(
        self,
        attempt_id: str,
        status: str,
        outcome: str,
        provider_id: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Move an attempt forward to `status` (never backwards); `at` becomes its updated_at."""
        self.record_many([Recorded(attempt_id, status, outcome, provider_id, at)])

    def record_many(
        self,
        items: Iterable[Recorded],
        *,
        requeue: Iterable[Plan] = (),
        raise_flags: Iterable[Flag] = (),
        now: datetime | None = None,
    ) -> None:
        """`record` for several attempts, in one transaction (one statement per status),
        with the plans to try again (`requeue`, their leases left alone) and the flags the
        outcomes raised (stamped `now`)."""
        by_status: dict[str, list[dict[str, object]]] = {}
        for item in items:
            if item.status not in _RECORD_FROM:
                raise ValueError(
                    f"cannot record status {item.status!r}; one of {sorted(_RECORD_FROM)}"
                )
            by_status.setdefault(item.status, []).append({
                "b_id": item.attempt_id, "b_outcome": Outcome(item.outcome).value,
                "b_provider_id": item.provider_id, "b_at": item.at,
            })  # fmt: skip
        plan_rows = [_plan_row(plan) for plan in requeue]
        flag_rows = [_flag_row(flag, _required(now)) for flag in raise_flags]
        if not (by_status or plan_rows or flag_rows):
            return
        with self._unrecorded_lock:
            self._unrecorded.append((by_status, plan_rows, flag_rows))
        self.flush_unrecorded()

    def flush_unrecorded(self) -> int:
        """Write the outcomes still held in memory because the ledger could not be written
        when they came (the messages went out; their rows stay counted as `sending` until
        then), oldest first; how many batches were written. LedgerError while the ledger is
        still unreachable (the rest stay held). Writing late never moves an attempt back."""
        written = 0
        with self._unrecorded_lock:
            while self._unrecorded:
                by_status, plan_rows, flag_rows = self._unrecorded[0]
                with self._write() as conn:
                    for status, rows in by_status.items():
                        conn.execute(_record_stmt(status), rows)
                    if plan_rows:
                        conn.execute(_plan_upsert(self._dialect), plan_rows)
                    if flag_rows:
                        conn.execute(insert(flags), flag_rows)
                self._unrecorded.pop(0)
                written += 1
        return written

    @property
    def unrecorded(self) -> int:
        """How many outcome batches wait for the ledger to come back."""
        return len(self._unrecorded)

    def record_provider(
        self, provider_id: str, status: str, outcome: str, at: datetime
    ) -> tuple[str, str, str] | None:
        """`record` for the attempt a provider knows as `provider_id` (its status callback);
        (attempt id, borrower, contact id) when that moved it forward, None when nothing
        changed (an unknown id, a repeated or out-of-order callback)."""
        sources = _RECORD_FROM.get(status)
        if sources is None:
            raise ValueError(f"cannot record status {status!r}; one of {sorted(_RECORD_FROM)}")
        found = select(events.c.id, events.c.borrower_id, events.c.contact_id, events.c.status)
        with self._write() as conn:
            row = conn.execute(found.where(events.c.provider_id == provider_id)).first()
            if row is None or row.status not in sources or row.status == status:
                return None
            conn.execute(
                update(events)
                .where(events.c.id == row.id)
                .values(status=status, outcome=Outcome(outcome).value, updated_at=at)
            )
            return row.id, row.borrower_id, row.contact_id

    def add_flags(self, raised: Iterable[Flag], now: datetime) -> None:
        """Record flags the daemon learned (from a provider's callback), in one transaction."""
        rows = [_flag_row(flag, now) for flag in raised]
        if rows:
            with self._write() as conn:
                conn.execute(insert(flags), rows)

    def add_flag_once(self, flag: Flag, now: datetime) -> bool:
        """Record `flag` unless the borrower already has a flag from the same source (a
        request repeated by whoever sent it); whether it was recorded now."""
        f = flags.c
        with self._write(flag.borrower_id) as conn:
            query = select(f.id).where(f.borrower_id == flag.borrower_id, f.source == flag.source)
            if conn.execute(query.limit(1)).first() is not None:
                return False
            conn.execute(insert(flags), [_flag_row(flag, now)])
        return True

    def sent_attempt(self, attempt_id: str, channel: str) -> tuple[str, str, str | None] | None:
        """(borrower, contact id, locale) of an attempt the collector made on `channel`, or
        None: no such attempt."""
        e = events.c
        query = select(e.borrower_id, e.contact_id, e.locale).where(
            e.id == attempt_id, e.channel == channel, e.initiator == Initiator.COLLECTOR.value
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else (row[0], row[1], row[2])

    def inbound(
        self,
        *,
        provider_id: str,
        borrower_id: str,
        contact_id: str,
        at: datetime,
        evidence: ReplyEvidence,
        raise_flags: Iterable[Flag] = (),
        handoffs_: Iterable[HandoffRow] = (),
        answer: Attempt | None = None,
    ) -> bool:
        """Record an inbound SMS (once: False if its provider id is already in the ledger):
        the message verbatim with how it was read, the flags and hand-offs (borrower,
        account, kind, reason) it raised, and the one answer sent back (as a sent attempt),
        in one transaction."""
        message = Attempt(
            id=uuid.uuid4().hex, borrower_id=borrower_id, account_id=None, debts=(), at=at,
            channel=Channel.SMS.value, contact_id=contact_id, template=None, locale=None,
            rule_ids=(), packs=(), person="",
        )  # fmt: skip
        row = _event_row(message, at) | {
            "status": "inbound", "outcome": Outcome.SMS_SENT.value,
            "initiator": Initiator.CONSUMER.value, "provider_id": provider_id,
        }  # fmt: skip
        seen = select(events.c.id).where(events.c.provider_id == provider_id)
        with self._write(borrower_id) as conn:
            if conn.execute(seen).first() is not None:
                return False
            conn.execute(insert(events), [row])
            conn.execute(insert(replies), [{
                "provider_id": provider_id, "borrower_id": borrower_id,
                "contact_id": contact_id, "body": evidence.body, "class": evidence.cls,
                "matched": evidence.matched, "classes": json.dumps(list(evidence.classes)),
                "at": at,
            }])  # fmt: skip
            flag_rows = [_flag_row(flag, at) for flag in raise_flags]
            if flag_rows:
                conn.execute(insert(flags), flag_rows)
                _reopen(conn, borrower_id, at, waiting=pulls_forward(raise_flags))
            _insert_handoffs(conn, handoffs_, at)
            if answer is not None:
                sent = _event_row(answer, at) | {"status": "sent", "outcome": "sms_sent"}
                conn.execute(insert(events), [sent])
        return True

    def replies_of(self, borrower_id: str) -> list[dict[str, object]]:
        """The borrower's replies, oldest first, verbatim with their reading."""
        query = (
            select(replies)
            .where(replies.c.borrower_id == borrower_id)
            .order_by(replies.c.at, replies.c.provider_id)
        )
        with self._read() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def handoffs(self, borrower_id: str) -> list[tuple[str, str]]:
        """(kind, reason) of the borrower's hand-offs, oldest first."""
        query = (
            select(handoffs.c.kind, handoffs.c.reason)
            .where(handoffs.c.borrower_id == borrower_id)
            .order_by(handoffs.c.created_at, handoffs.c.id)
        )
        with self._read() as conn:
            return [(k, r) for k, r in conn.execute(query)]

    def unsettled(
        self, channel: str, statuses: Iterable[str], before: datetime, limit: int = 500
    ) -> list[Unsettled]:
        """Attempts on `channel` in these statuses made before `before`, oldest first."""
        c = events.c
        query = (
            select(c.id, c.borrower_id, c.account_id, c.contact_id, c.at, c.provider_id)
            .where(c.channel == channel, c.status.in_(list(statuses)), c.at < before)
            .order_by(c.at, c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [Unsettled(*row) for row in conn.execute(query)]

    def address_of(self, account_id: str | None, contact_id: str) -> str | None:
        """The number or address of an account's contact point (from the contacts table)."""
        query = select(contacts.c.address).where(
            contacts.c.account_id == account_id, contacts.c.contact_id == contact_id
        )
        with self._read() as conn:
            found: str | None = conn.execute(query.limit(1)).scalar()
            return found

    def call(self, attempt_id: str) -> CallState | None:
        """A call's script, its stage and its attempt (None: no such call)."""
        c, e = calls.c, events.c
        query = (
            select(c.attempt_id, c.language, c.greeting, c.body, c.voicemail, c.stage)
            .add_columns(e.borrower_id, e.account_id, e.contact_id, e.status)
            .join_from(calls, events, e.id == c.attempt_id)
            .where(c.attempt_id == attempt_id)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        script = CallScript(*row[:5])
        return CallState(script, *row[5:])

    def call_stage(self, attempt_id: str, stage: str, at: datetime) -> bool:
        """Move a call to `stage` (an outcome), only forward and only while it is open;
        whether it moved (False for a repeated or out-of-order webhook)."""
        Outcome(stage)  # validate
        c = calls.c
        with self._write() as conn:
            row = conn.execute(
                select(c.stage, events.c.status)
                .join_from(calls, events, events.c.id == c.attempt_id)
                .where(c.attempt_id == attempt_id)
            ).first()
            if row is None or row.status not in _CALL_OPEN:
                return False
            if stage not in _STAGE_AFTER.get(row.stage, frozenset()):
                return False
            conn.execute(
                update(calls).where(c.attempt_id == attempt_id).values(stage=stage, updated_at=at)
            )
            return True

    def finish_call(
        self, attempt_id: str, outcome: str, provider_id: str | None, at: datetime
    ) -> tuple[str, str] | None:
        """Record how a call ended (status `delivered`: the call is over, `outcome` says how);
        (borrower, contact id) when that moved it, None when it had already ended or is
        unknown here (a repeated callback changes nothing)."""
        Outcome(outcome)  # validate
        e = events.c
        with self._write() as conn:
            row = conn.execute(
                select(e.borrower_id, e.contact_id, e.status).where(
                    e.id == attempt_id, e.channel == Channel.CALL.value
                )
            ).first()
            if row is None or row.status not in _CALL_OPEN:
                return None
            values: dict[str, object] = {"status": "delivered", "outcome": outcome}
            values["updated_at"] = at
            if provider_id:
                values["provider_id"] = provider_id
            conn.execute(update(events).where(e.id == attempt_id).values(**values))
            return row.borrower_id, row.contact_id

    def known_provider_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of these provider ids the ledger already holds."""
        wanted = list(ids)
        if not wanted:
            return set()
        query = select(events.c.provider_id).where(events.c.provider_id.in_(wanted))
        with self._read() as conn:
            return {str(x) for x in conn.execute(query).scalars()}

    def ping(self) -> None:
        """A trivial query: LedgerError when the database cannot be reached."""
        with self._read() as conn:
            conn.execute(select(1))

    def recover_sending(self, now: datetime, before: datetime | None = None) -> int:
        """Every 'sending' attempt (reserved at or before `before`, if given) becomes
        'unknown'; the count. At startup all of them (this instance crashed mid-send); the
        reconciliation job those older than any live instance would leave unrecorded (an
        instance that died mid-send while the others run on)."""
        stmt = update(events).where(events.c.status == "sending")
        if before is not None:
            stmt = stmt.where(events.c.at <= before)
        with self._write() as conn:
            return conn.execute(stmt.values(status="unknown", updated_at=now)).rowcount

    def add_handoff(
        self, borrower_id: str, account_id: str | None, kind: str, reason: str, now: datetime
    ) -> None:
        """Open a hand-off to a human (complaint, dispute, vulnerability...)."""
        with self._write() as conn:
            _insert_handoffs(conn, [(borrower_id, account_id, kind, reason)], now)

    def handoff_tasks(self, status: str | None = "open") -> list[dict[str, Any]]:
        """Hand-offs (all, or of one status), oldest first, as dicts with their id."""
        query = select(handoffs).order_by(handoffs.c.created_at, handoffs.c.id)
        if status is not None:
            query = query.where(handoffs.c.status == status)
        with self._read() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def handoff_task(self, task_id: int) -> dict[str, Any] | None:
        """One hand-off by its id, or None."""
        with self._read() as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.id == task_id)).first()
            return None if row is None else dict(row._mapping)

    def decide_handoff(
        self, task_id: int, status: str, note: str, now: datetime, plan: Plan | None = None
    ) -> dict[str, Any] | None:
        """Close an open hand-off (status "approved" or "closed", the note appended to its
        reason) and, in the same transaction, save `plan` (what the decision sets going);
        None when there is no open hand-off with that id."""
        with self._write() as conn:
            row = conn.execute(
                select(handoffs).where(handoffs.c.id == task_id, handoffs.c.status == "open")
            ).first()
            if row is None:
                return None
            conn.execute(
                update(handoffs)
                .where(handoffs.c.id == task_id)
                .values(status=status, reason=f"{row.reason} | {note}")
            )
            if plan is not None:
                conn.execute(_plan_upsert(self._dialect), [_plan_row(plan)])
            return dict(row._mapping) | {"status": status, "reason": f"{row.reason} | {note}"}

    def export(self, since: datetime | None = None) -> Iterator[dict[str, object]]:
        """Everything an auditor needs, as JSON-able dicts by at, record, id: attempts and
        inbound messages ("event"), hand-offs ("handoff"), flags the daemon raised ("flag")
        and replies verbatim with how they were read ("reply", id = the provider's SID), and
        what each call said and how far it got ("call", id = the attempt, at = its last change).

        A hand-off's instant is exported as "at" (its created_at); instants are ISO-8601 UTC
        with microseconds and "Z"; JSON columns are decoded.
        """
        ev = select(events).order_by(events.c.at, events.c.id)
        ho = select(*handoffs.c, handoffs.c.created_at.label("at"))
        ho = ho.order_by(handoffs.c.created_at, handoffs.c.id)
        fl = select(flags).order_by(flags.c.at, flags.c.id)
        rp = select(*replies.c, replies.c.provider_id.label("id"))
        rp = rp.order_by(replies.c.at, replies.c.provider_id)
        cl = select(*calls.c, calls.c.updated_at.label("at"), calls.c.attempt_id.label("id"))
        cl = cl.order_by(calls.c.updated_at, calls.c.attempt_id)
        if since is not None:
            ev = ev.where(events.c.at >= since)
            ho = ho.where(handoffs.c.created_at >= since)
            fl = fl.where(flags.c.at >= since)
            rp = rp.where(replies.c.at >= since)
            cl = cl.where(calls.c.updated_at >= since)
        queries = ((ev, "event"), (ho, "handoff"), (fl, "flag"), (rp, "reply"), (cl, "call"))
        with schema.translate(), contextlib.ExitStack() as stack:
            streams = [
                _stream(stack.enter_context(self._engine.connect()), query, record)
                for query, record in queries
            ]
            yield from heapq.merge(*streams, key=schema.export_key)


def _required(now: datetime | None) -> datetime:
    if now is None:
        raise ValueError("flags need the instant they were raised (now=...)")
    return now


# The statements a dispatcher runs for every chunk are built once per database kind, their
# values bound by name: building a statement and its cache key anew costs about 170 us each
# time, against 50-60 us to run such a query over a chunk's few hundred borrowers.


def _among(dialect: str, column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """`column` is one of the values of parameter `name` (bound with `_listed`), as one
    parameter: an array on PostgreSQL (`= ANY`), a JSON array on SQLite (`IN (SELECT value
    FROM json_each(...))`); an expanding IN renders and binds one parameter per value on every
    execution (about 1 us each)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Text)))
    each = func.json_each(bindparam(name, type_=Text)).table_valued("value")
    return column.in_(select(each.c.value))


def _listed(dialect: str, values: Iterable[str]) -> object:
    """The value of an `_among` parameter."""
    listed = list(values)
    return listed if dialect == "postgresql" else json.dumps(listed)


@functools.cache
def _histories_stmt(dialect: str) -> Select[Any]:
    return (
        select(*_HISTORY_COLUMNS)
        .where(_among(dialect, events.c.borrower_id, "ids"), events.c.at >= bindparam("since"))
        .order_by(events.c.borrower_id, events.c.at, events.c.id)
    )


@functools.cache
def _flags_stmt(dialect: str) -> Select[Any]:
    return (
        select(flags)
        .where(
            _among(dialect, flags.c.borrower_id, "ids"),
            flags.c.name.in_(bindparam("names", expanding=True)),
        )
        .order_by(flags.c.at, flags.c.id)
    )


@functools.cache
def _handoffs_stmt(dialect: str) -> Select[Any]:
    return select(handoffs.c.borrower_id).where(
        _among(dialect, handoffs.c.borrower_id, "ids"),
        handoffs.c.kind == bindparam("kind"),
        handoffs.c.status == "open",
    )


@functools.cache
def _payloads_stmt(dialect: str) -> Select[Any]:
    return select(accounts.c.account_id, accounts.c.borrower_id, accounts.c.payload).where(
        _among(dialect, accounts.c.account_id, "ids")
    )


@functools.cache
def _held_stmt(dialect: str) -> Select[Any]:
    """Which of the plans :ids the dispatcher :owner still leases, locked."""
    mine = plans.c.lease_owner == bindparam("owner", type_=Text)
    return (
        select(plans.c.account_id)
        .where(_among(dialect, plans.c.account_id, "ids"), mine)
        .with_for_update()
    )


@functools.cache
def _pick_stmt() -> Select[Any]:
    """The ids of the due plans not leased at :now, up to :limit, skipping locked rows."""
    return _due_unleased(select(plans.c.account_id)).with_for_update(skip_locked=True)


@functools.cache
def _lease_stmt(dialect: str) -> Executable:
    """Lease the plans :ids to :owner until :until; the leased plans."""
    return (
        update(plans)
        .where(_among(dialect, plans.c.account_id, "ids"))
        .values(
            lease_owner=bindparam("owner", type_=Text),
            lease_until=bindparam("until", type_=plans.c.lease_until.type),
        )
        .returning(*plans.c)
    )


@functools.cache
def _due_stmt() -> Select[Any]:
    """Due plans not leased at :now, up to :limit, in due order."""
    return _due_unleased(select(plans))


def _due_unleased(query: Select[Any]) -> Select[Any]:
    """`query` over the plans due and not leased at :now, up to :limit, in due order."""
    now = bindparam("now", type_=plans.c.next_due_at.type)
    return _due(query, now).where(_unleased(now)).limit(bindparam("limit"))


def _unleased(now: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    """Plans no dispatcher holds at `now`: never leased, or the lease ran out."""
    return or_(plans.c.lease_until.is_(None), plans.c.lease_until < now)


def _due(query: Select[Any], now: datetime | ColumnElement[Any]) -> Select[Any]:
    return query.where(plans.c.status == "due", plans.c.next_due_at <= now).order_by(
        plans.c.next_due_at, plans.c.account_id
    )


def _stream(conn: Connection, query: Select[Any], record: str) -> Iterator[dict[str, object]]:
    for row in conn.execution_options(yield_per=1000).execute(query):
        yield schema.jsonable(record, row)


def old_digest(old: tuple[str, str | None] | None) -> str | None:
    """The stored raw digest (a record without one is compared on content alone)."""
    return old[1] if old else None


def _chunks(items: Iterable[AccountRecord], size: int) -> Iterator[list[AccountRecord]]:
    chunk: list[AccountRecord] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_CONTACT_FIELDS = ("address", "borrower_id", "contact_id", "owner")  # besides account_id


def _contact_rows(rec: AccountRecord) -> list[dict[str, object]]:
    b = rec.borrower
    points: list[tuple[str | None, str, str]] = [(p.number, p.id, p.owner.value) for p in b.phones]
    points += [(e.address, e.id, e.owner.value) for e in b.emails]
    return [
        {"address": address, "account_id": rec.account_id, "borrower_id": rec.borrower_id,
         "contact_id": point_id, "owner": owner}
        for address, point_id, owner in points
        if address
    ]  # fmt: skip


def _account_row(rec: AccountRecord, now: datetime) -> dict[str, object]:
    return {
        "account_id": rec.account_id,
        "borrower_id": rec.borrower_id,
        "content_hash": rec.content_hash,
        "source_digest": rec.source_digest or None,
        "payload": rec.payload_json,
        "first_seen_at": now,
        "updated_at": now,
    }


@functools.cache
def _record_stmt(status: str) -> Executable:
    """The executemany UPDATE moving attempts to `status` from the statuses it may follow;
    a provider id or an instant given as None leaves the stored one."""
    return (
        update(events)
        .where(
            events.c.id == bindparam("b_id"),
            or_(*(events.c.status == source for source in _RECORD_FROM[status])),  # no IN:
        )  # an expanding IN cannot be executed for many rows
        .values(
            status=status,
            outcome=bindparam("b_outcome"),
            provider_id=func.coalesce(bindparam("b_provider_id", type_=Text), events.c.provider_id),
            updated_at=func.coalesce(
                bindparam("b_at", type_=events.c.updated_at.type), events.c.updated_at
            ),
        )
    )


@functools.cache
def _plan_upsert(dialect: str) -> Executable:
    """The plan upsert for one database kind, built once (its lease is left as it is)."""
    return schema.upsert(dialect, plans, keep=_LEASE)


@functools.cache
def _plan_upsert_releasing(dialect: str) -> Executable:
    """The plan upsert that also clears the lease :release_owner holds on the stored row (a
    lease another dispatcher holds is left as it is)."""
    mine = plans.c.lease_owner == bindparam("release_owner", type_=Text)
    return schema.upsert(dialect, plans, keep=_LEASE, also={
        "lease_owner": case((mine, None), else_=plans.c.lease_owner),
        "lease_until": case((mine, None), else_=plans.c.lease_until),
    })  # fmt: skip


def _release_stmt(account_ids: list[str], owner: str) -> Executable:
    return (
        update(plans)
        .where(plans.c.account_id.in_(account_ids), plans.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
