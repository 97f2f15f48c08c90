"""Ledger fixtures for integration tests: one contract, run on SQLite and on PostgreSQL.

`ledger` is parametrized over both databases. SQLite is a file in tmp_path; PostgreSQL is a
fresh schema (`t_<uuid>`, reached through `options=-csearch_path=...` in the URL) in the server at
OUTREACHD_TEST_PG_URL, dropped afterwards. The PostgreSQL leg is skipped when the server is
unreachable, except under CI (env `CI` set), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from outreachd.ledger.store import Ledger

PG_URL = os.environ.get(
    "OUTREACHD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
KINDS = ("sqlite", "postgresql")


@cache
def _pg_unreachable() -> str | None:
    """Why the test PostgreSQL server cannot be used, or None when it can."""
    engine = create_engine(PG_URL, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "no server here"
        return f"PostgreSQL at {PG_URL} unreachable: {exc}"
    finally:
        engine.dispose()
    return None


def require_pg() -> None:
    reason = _pg_unreachable()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _pg_admin(sql: str) -> None:
    engine = create_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def _pg_schema(ledger: Ledger) -> str | None:
    options = make_url(ledger.url).query.get("options")
    if not isinstance(options, str) or not options.startswith("-csearch_path="):
        return None
    return options.removeprefix("-csearch_path=")


def make_ledger(kind: str, tmp_path: Path, *, migrate: bool = True) -> Ledger:
    """A ledger on a fresh, empty database of `kind` ("sqlite" | "postgresql").

    Skips (or, under CI, fails) when PostgreSQL is unreachable. Call `drop_ledger` when done;
    `Ledger(ledger.url)` opens another instance on the same database.
    """
    if kind == "sqlite":
        tmp_path.mkdir(parents=True, exist_ok=True)
        ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    elif kind == "postgresql":
        require_pg()
        schema = f"t_{uuid.uuid4().hex}"
        _pg_admin(f'CREATE SCHEMA "{schema}"')
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        ledger = Ledger(url.render_as_string(hide_password=False))
    else:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if migrate:
        ledger.migrate()
    return ledger


def drop_ledger(ledger: Ledger) -> None:
    """Close the ledger and, on PostgreSQL, drop its test schema."""
    ledger.close()
    schema = _pg_schema(ledger)
    if schema is not None:
        _pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=KINDS)
def ledger_kind(request: pytest.FixtureRequest) -> str:
    """The database kind under test: "sqlite" or "postgresql"."""
    kind: str = request.param
    return kind


@pytest.fixture
def ledger(ledger_kind: str, tmp_path: Path) -> Iterator[Ledger]:
    """A migrated ledger on a fresh database of each kind, dropped afterwards."""
    instance = make_ledger(ledger_kind, tmp_path)
    yield instance
    drop_ledger(instance)


@pytest.fixture
def another_ledger(ledger: Ledger) -> Iterator[Callable[[], Ledger]]:
    """Opens further Ledger instances on the same database (as other processes would)."""
    opened: list[Ledger] = []

    def open_one() -> Ledger:
        opened.append(Ledger(ledger.url))
        return opened[-1]

    yield open_one
    for instance in opened:
        instance.close()
