"""A SQL query whose result rows have the flat columns of the CSV format (docs/sources.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import sqlalchemy
from sqlalchemy import exc as sa_exc

from outreachd.sources import records
from outreachd.sources.base import AccountRecord, RawRow, Rejected, SourceError, parsed_rows
from outreachd.sources.csv_file import check_columns, parse_flat

BATCH = 1000


class SqlSource:
    """Runs `query` on the database at `url` (any SQLAlchemy URL), streaming the result."""

    def __init__(self, url: str, query: str) -> None:
        self.url = url
        self.query = query

    def read(self, today: date) -> Iterator[AccountRecord | Rejected]:
        """Every result row in result order (row = 1-based result position), read on the
        (UTC) day `today`."""
        return records.unique_accounts(self._rows(today))

    def read_raw(self, today: date) -> Iterator[RawRow]:
        """Rows parsed eagerly (no raw fast path for this format yet)."""
        return parsed_rows(self.read(today))

    def _where(self) -> str:
        try:
            return sqlalchemy.make_url(self.url).render_as_string(hide_password=True)
        except sa_exc.ArgumentError:
            return "<invalid database URL>"

    def _rows(self, today: date) -> Iterator[AccountRecord | Rejected]:
        try:
            engine = sqlalchemy.create_engine(self.url)
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as exc:
            raise SourceError(f"{self._where()}: cannot use database URL: {exc}") from exc
        try:
            with engine.connect() as conn:
                result = conn.execution_options(yield_per=BATCH).execute(
                    sqlalchemy.text(self.query)
                )
                check_columns(list(result.keys()), f"{self._where()}: query result")
                for number, row in enumerate(result.mappings(), start=1):
                    yield parse_flat(dict(row), number, today)
        except sa_exc.SQLAlchemyError as exc:
            raise SourceError(f"{self._where()}: database error: {exc}") from exc
        finally:
            engine.dispose()
