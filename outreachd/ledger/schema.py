"""The ledger's tables, its forward-only migrations and the engine set-up they rely on.

One SQLAlchemy Core schema serves SQLite (the embedded default: a file in WAL mode) and
PostgreSQL. Instants are stored as integer microseconds since the Unix epoch on both, so ordering
and range queries are plain integer comparisons and no driver ever guesses a time zone.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Dialect,
    Engine,
    Executable,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError
from sqlalchemy.types import TypeDecorator

from outreachd.errors import OutreachError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
MIGRATION_LOCK = 0x6F75747265616368  # "outreach": the advisory-lock key guarding migrate()
SWEEP_LOCK = "outreachd-sweep"  # held (with the schema's name) by the sweep's leader
SQLITE_BUSY_TIMEOUT_MS = 5000
WRITE = "ledger_write"  # execution option: this transaction will write (SQLite: BEGIN IMMEDIATE)
JSON_COLUMNS = frozenset({"debts", "rule_ids", "packs", "reasons", "value", "classes"})


class LedgerError(OutreachError):
    """The ledger database is unreachable or a statement failed; retry later."""


@contextmanager
def translate() -> Iterator[None]:
    """SQLAlchemy errors become LedgerError; a naive datetime stays the caller's ValueError."""
    try:
        yield
    except StatementError as exc:
        if isinstance(exc.orig, ValueError) and not isinstance(exc, DBAPIError):
            raise exc.orig from None
        raise LedgerError(f"ledger database error: {exc.orig or exc}") from exc
    except SQLAlchemyError as exc:
        raise LedgerError(f"ledger database error: {exc}") from exc


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware instant; a naive datetime is a ValueError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the ledger stores aware UTC instants only")
    return (value - EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    """The aware UTC instant `value` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=value)


class UTCTimestamp(TypeDecorator[datetime]):
    """An aware UTC instant stored as BIGINT microseconds since the epoch."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(value)


metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", Text, primary_key=True),
    Column("borrower_id", Text, nullable=False, index=True),
    Column("content_hash", Text, nullable=False),
    Column("source_digest", Text, nullable=True),  # digest of the raw source row (v2)
    Column("payload", Text, nullable=False),
    Column("first_seen_at", UTCTimestamp, nullable=False),
    Column("updated_at", UTCTimestamp, nullable=False),
)

plans = Table(
    "plans",
    metadata,
    Column("account_id", Text, ForeignKey("accounts.account_id"), primary_key=True),
    Column("borrower_id", Text, nullable=False),
    Column("step", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # due | blocked | done
    Column("channel", Text),
    Column("contact_id", Text),
    Column("template", Text),
    Column("next_due_at", UTCTimestamp),
    Column("reasons", Text, nullable=False),  # JSON list of strings
    Column("lease_owner", Text),
    Column("lease_until", UTCTimestamp),
    Column("updated_at", UTCTimestamp, nullable=False),
    Column("stage", Text, nullable=False, server_default=""),  # version 7
    # account_id last: due plans come out of the index already in (next_due_at, account_id) order
    Index("ix_plans_status_due", "status", "next_due_at", "account_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Text, primary_key=True),  # the attempt id, uuid4 hex
    Column("borrower_id", Text, nullable=False),
    Column("account_id", Text),
    Column("debts", Text, nullable=False),  # JSON list
    Column("at", UTCTimestamp, nullable=False),
    Column("channel", Text, nullable=False),
    Column("contact_id", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("status", String(16), nullable=False),  # sending|sent|delivered|failed|unknown|inbound
    Column("initiator", Text, nullable=False),
    Column("dialer", Text, nullable=False),
    Column("person", Text, nullable=False),
    Column("party", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("template", Text),
    Column("locale", Text),
    Column("rule_ids", Text, nullable=False),  # JSON list
    Column("packs", Text, nullable=False),  # JSON list
    Column("provider_id", Text),
    Column("created_at", UTCTimestamp, nullable=False),
    Column("updated_at", UTCTimestamp, nullable=False),
    Index("ix_events_borrower_at", "borrower_id", "at"),
    Index(
        "ux_events_provider_id",
        "provider_id",
        unique=True,
        sqlite_where=text("provider_id IS NOT NULL"),
        postgresql_where=text("provider_id IS NOT NULL"),
    ),
    Index("ix_events_status", "status"),  # recover_sending finds the few 'sending' rows
)

flags = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("borrower_id", Text, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("value", Text, nullable=False),  # JSON
    Column("source", Text, nullable=False),
    Column("at", UTCTimestamp, nullable=False),
)

handoffs = Table(
    "handoffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("borrower_id", Text, nullable=False, index=True),
    Column("account_id", Text),
    Column("kind", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("created_at", UTCTimestamp, nullable=False),
)


contacts = Table(  # version 4: who an inbound message or call is from
    "contacts",
    metadata,
    Column("address", Text, nullable=False),  # E.164 number or e-mail address
    Column("account_id", Text, nullable=False),
    Column("borrower_id", Text, nullable=False),
    Column("contact_id", Text, nullable=False),
    Column("owner", Text, nullable=False),  # borrower, spouse, employer, ...
)


replies = Table(  # version 5: every inbound reply, verbatim, and how it was read
    "replies",
    metadata,
    Column("provider_id", Text, primary_key=True),
    Column("borrower_id", Text, nullable=False),  # "" when no account holds the number
    Column("contact_id", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("class", Text, nullable=False),
    Column("matched", Text, nullable=False),  # the keyword or phrase that decided it
    Column("classes", Text, nullable=False),  # JSON list: every class found
    Column("at", UTCTimestamp, nullable=False),
)


calls = Table(  # version 6: what a call says, by attempt, and how far it got
    "calls",
    metadata,
    Column("attempt_id", Text, primary_key=True),
    Column("language", Text, nullable=False),  # the script's locale, e.g. en-US
    Column("greeting", Text, nullable=False),  # said to whoever answers: no debt content
    Column("body", Text, nullable=False),  # said only once the borrower pressed 1
    Column("voicemail", Text, nullable=True),  # the limited-content message; None: leave none
    Column("stage", Text, nullable=True),  # the outcome the call reached so far
    Column("updated_at", UTCTimestamp, nullable=False),
)


def _v1_initial(conn: Connection) -> None:
    """Version 1: the five tables and their indexes."""
    metadata.create_all(conn, tables=[accounts, plans, events, flags, handoffs])


# Forward-only: append, never edit or reorder; migration i brings the schema to version i + 1.
# A later migration must spell out its own DDL (ALTER TABLE ...), not lean on `metadata`.
def _v2_source_digest(conn: Connection) -> None:
    """Version 2: accounts.source_digest, so a sweep parses only rows that changed."""
    columns = {c["name"] for c in sqlalchemy.inspect(conn).get_columns("accounts")}
    if "source_digest" not in columns:  # a v1 ledger; a new one has it from create_all
        conn.execute(sqlalchemy.text("ALTER TABLE accounts ADD COLUMN source_digest TEXT"))


def _v3_digest_index(conn: Connection) -> None:
    """Version 3: a covering index, so a sweep reads every account's digest without reading
    the accounts' payloads."""
    conn.execute(
        sqlalchemy.text(
            "CREATE INDEX IF NOT EXISTS ix_accounts_digest ON accounts (source_digest, account_id)"
        )
    )


def _v4_contacts(conn: Connection) -> None:
    """Version 4: the contact points of every account by address, so an inbound reply finds
    its borrower; filled from the stored payloads (json only: they were validated)."""
    for ddl in (
        "CREATE TABLE IF NOT EXISTS contacts (address TEXT NOT NULL, account_id TEXT NOT NULL,"
        " borrower_id TEXT NOT NULL, contact_id TEXT NOT NULL, owner TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS ix_contacts_address ON contacts (address)",
        "CREATE INDEX IF NOT EXISTS ix_contacts_account ON contacts (account_id)",
    ):
        conn.execute(sqlalchemy.text(ddl))
    query = sqlalchemy.text("SELECT account_id, borrower_id, payload FROM accounts")
    rows: list[dict[str, object]] = []
    for account_id, borrower_id, payload in conn.execute(query):
        rows.extend(contact_rows(account_id, borrower_id, json.loads(payload)))
        if len(rows) >= 5000:
            conn.execute(contacts.insert(), rows)
            rows = []
    if rows:
        conn.execute(contacts.insert(), rows)


def contact_rows(account_id: str, borrower_id: str, row: dict[str, Any]) -> list[dict[str, object]]:
    """The contacts rows of one canonical account row (its phones' numbers, its e-mails)."""
    borrower = row.get("borrower", {})
    points = [(p.get("number"), p) for p in borrower.get("phones", ())]
    points += [(e.get("address"), e) for e in borrower.get("emails", ())]
    return [
        {"address": address, "account_id": account_id, "borrower_id": borrower_id,
         "contact_id": point["id"], "owner": point.get("owner") or "borrower"}
        for address, point in points
        if address
    ]  # fmt: skip


def _v5_replies(conn: Connection) -> None:
    """Version 5: every inbound reply verbatim, with how it was read (evidence)."""
    conn.execute(
        sqlalchemy.text(
            "CREATE TABLE IF NOT EXISTS replies (provider_id TEXT PRIMARY KEY,"
            " borrower_id TEXT NOT NULL, contact_id TEXT NOT NULL, body TEXT NOT NULL,"
            " class TEXT NOT NULL, matched TEXT NOT NULL, classes TEXT NOT NULL,"
            " at BIGINT NOT NULL)"
        )
    )


def _v6_calls(conn: Connection) -> None:
    """Version 6: each call's script (greeting, message, voicemail) and the stage it reached,
    so Twilio's webhooks answer any instance, statelessly, with what was decided."""
    conn.execute(
        sqlalchemy.text(
            "CREATE TABLE IF NOT EXISTS calls (attempt_id TEXT PRIMARY KEY,"
            " language TEXT NOT NULL, greeting TEXT NOT NULL, body TEXT NOT NULL,"
            " voicemail TEXT, stage TEXT, updated_at BIGINT NOT NULL)"
        )
    )


def _v7_plan_stage(conn: Connection) -> None:
    """Version 7: plans.stage, the strategy stage a plan's step belongs to."""
    columns = {c["name"] for c in sqlalchemy.inspect(conn).get_columns("plans")}
    if "stage" not in columns:  # an older ledger; a new one has it from create_all
        ddl = "ALTER TABLE plans ADD COLUMN stage TEXT NOT NULL DEFAULT ''"
        conn.execute(sqlalchemy.text(ddl))


def _v8_overdue_since(conn: Connection) -> None:
    """Version 8: a stored row gives the day its debt fell due (`debt.overdue_since`) instead
    of a days_past_due count that went stale as the days passed; the count is taken as of the
    day the row was last stored. Raw digests are dropped (they were taken of the counts), so
    the next sweep parses every row once and keeps what only aged."""
    query = sqlalchemy.text("SELECT account_id, payload, updated_at FROM accounts")
    update = sqlalchemy.text(
        "UPDATE accounts SET payload = :payload, content_hash = :hash, source_digest = NULL"
        " WHERE account_id = :account_id"
    )
    rows: list[dict[str, object]] = []
    for account_id, payload, updated_at in conn.execute(query):
        row = json.loads(payload)
        debt = row.get("debt", {})
        if "days_past_due" not in debt:
            continue
        stored_on = from_micros(updated_at).date()
        debt["overdue_since"] = (stored_on - timedelta(days=debt.pop("days_past_due"))).isoformat()
        text = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(text.encode()).hexdigest()
        rows.append({"account_id": account_id, "payload": text, "hash": digest})
        if len(rows) >= 5000:
            conn.execute(update, rows)
            rows = []
    if rows:
        conn.execute(update, rows)


MIGRATIONS: list[Callable[[Connection], None]] = [
    _v1_initial,
    _v2_source_digest,
    _v3_digest_index,
    _v4_contacts,
    _v5_replies,
    _v6_calls,
    _v7_plan_stage,
    _v8_overdue_since,
]
LATEST = len(MIGRATIONS)


def create_ledger_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout, foreign keys and explicit BEGINs."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
        # named in pg_stat_activity, so an operator sees (and a test can kill) its sessions
        defaults = {"connect_timeout": 10, "application_name": "outreachd"}
        kwargs["connect_args"] = {k: v for k, v in defaults.items() if k not in parsed.query}
    engine = create_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver emits no BEGIN of its own; _sqlite_begin does
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    # Switching a new file to WAL can fail with "database is locked" at once, without waiting for
    # busy_timeout, while other connections open it at the same moment: retry for up to ~5 s.
    for attempt in range(60):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 59:
                raise
            time.sleep(min(0.1, 0.001 * 2**attempt))


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock up front, so it waits (busy_timeout) instead of failing on a
    # read-to-write upgrade, and serialises with every other writer across processes.
    write = conn.get_execution_options().get(WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def write_txn(engine: Engine, *lock_keys: int | str) -> Iterator[Connection]:
    """A writing transaction; on PostgreSQL under a transaction advisory lock per key.

    An int key is used as is, a str is hashed with hashtextextended. Keys are locked in the
    order given: callers locking several pass them sorted, so two transactions never wait on
    each other in opposite orders. SQLite needs no key: BEGIN IMMEDIATE serialises all writers.
    """
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                if len(lock_keys) > 1 and all(isinstance(k, str) for k in lock_keys):
                    _advisory_xact_locks(conn, [str(k) for k in lock_keys])
                else:
                    for key in lock_keys:
                        _advisory_xact_lock(conn, key)
            yield conn


# One round trip for a chunk's borrowers instead of one each (a chunk is up to 500): the
# locks are taken in the order given (ORDER BY the position: PostgreSQL computes a volatile
# target list after the sort), each waiting as a single call would.
_LOCK_ALL = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))"
    " FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n) ORDER BY n"
)


def _advisory_xact_locks(conn: Connection, keys: list[str]) -> None:
    conn.execute(_LOCK_ALL, {"keys": keys})


def _advisory_xact_lock(conn: Connection, key: int | str) -> None:
    if isinstance(key, int):
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    else:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})


def current_version(conn: Connection) -> int:
    """The schema version recorded in `conn`'s database (0 when none)."""
    schema_version.create(conn, checkfirst=True)
    found = conn.execute(select(schema_version.c.version)).scalar()
    return int(found) if found is not None else 0


# The dispatcher binds a chunk's ids as one JSON array read with json_each (store._among):
# SQLite's JSON functions are built in since 3.38, and most builds before had them.
JSON_PROBE = "SELECT count(*) FROM json_each('[]')"


def migrate(engine: Engine) -> int:
    """Apply the missing migrations in one transaction; return the resulting version."""
    with write_txn(engine, MIGRATION_LOCK) as conn:
        if conn.dialect.name == "sqlite":
            try:
                conn.exec_driver_sql(JSON_PROBE)
            except DBAPIError as exc:
                raise ValueError(
                    f"this SQLite ({sqlite3.sqlite_version}) has no JSON functions (json_each:"
                    f" {exc.orig}); outreachd needs SQLite 3.38 or later, or one built with JSON1"
                ) from exc
        version = current_version(conn)
        if version > LATEST:
            raise ValueError(f"ledger schema version {version} is newer than this code ({LATEST})")
        for step in MIGRATIONS[version:]:
            step(conn)
        if version == 0:
            conn.execute(schema_version.insert().values(version=LATEST))
        elif version < LATEST:
            conn.execute(schema_version.update().values(version=LATEST))
        return LATEST


def upsert(
    dialect: str, table: Table, keep: Iterable[str] = (), also: Mapping[str, Any] | None = None
) -> Executable:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE every column but the key and `keep`, and
    the columns of `also` to its expressions (over the stored row: `table.c.name`)."""
    key = next(iter(table.primary_key.columns)).name
    skip = {key, *keep}
    stmt = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    set_ = {c.name: c for c in stmt.excluded if c.name not in skip} | dict(also or {})
    return stmt.on_conflict_do_update(index_elements=[key], set_=set_)


def write_batches(
    engine: Engine, stmt: Executable, rows: Iterable[dict[str, object]], size: int
) -> None:
    """Execute `stmt` for `rows`, `size` rows per executemany and per transaction."""
    batch: list[dict[str, object]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            with translate(), write_txn(engine) as conn:
                conn.execute(stmt, batch)
            batch = []
    if batch:
        with translate(), write_txn(engine) as conn:
            conn.execute(stmt, batch)


def jsonable(record: str, row: Row[Any]) -> dict[str, object]:
    """A row for auditors: instants as ISO-8601 UTC with "Z", JSON columns decoded."""
    out: dict[str, object] = {"record": record}
    for key, value in row._mapping.items():
        if isinstance(value, datetime):
            out[key] = value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif key in JSON_COLUMNS:
            out[key] = json.loads(value)
        else:
            out[key] = value
    return out


def export_key(item: dict[str, object]) -> tuple[str, str, str]:
    """Sort key of an exported row: instant, record kind, id (integer ids zero-padded)."""
    ident = item["id"]
    return str(item["at"]), str(item["record"]), ident if isinstance(ident, str) else f"{ident:020}"
