"""A :class:`causalmix.BaseCache` in a SQL database, shared by workers on several machines."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from causalmix import BaseCache
from storage._errors import StorageError
from storage._rdb import connection_options, prepare_sqlite
from storage._url import mask_url, parse_url, resolve_storage_url, scrub

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Engine

__all__ = ["RDBCache"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class RDBCache(BaseCache):
    """A content-addressed cache in a table of a SQLite or PostgreSQL database.

    The table (``causalmix_cache`` by default) holds ``key TEXT PRIMARY KEY, value BLOB/BYTEA,
    created_at``. Values are written once: :meth:`set` inserts only when the key is absent
    (``INSERT ... ON CONFLICT DO NOTHING``), so concurrent writers of the same key never fail
    and readers see the whole first value. Keys are content hashes, so a second writer of a
    key would have written the same bytes anyway.

    The connection is opened on first use and reopened in a forked or unpickled process.

    Args:
        url: A storage URL (see :func:`resolve_storage_url`), typically the study's own.
        table: The table name.
        busy_timeout: SQLite only: seconds to wait for another writer's lock.
        connect_timeout: PostgreSQL only: seconds to wait for a connection.

    Raises:
        StorageError: For a bad URL or table name (at once), or an unreachable database (on
            first use).
    """

    def __init__(
        self,
        url: str,
        *,
        table: str = "causalmix_cache",
        busy_timeout: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:
        if not isinstance(table, str) or not _IDENTIFIER.fullmatch(table):
            raise StorageError(
                "`table` must be a SQL identifier (letters, digits, _; at most 63), "
                f"but got table={table!r}."
            )
        self.url = resolve_storage_url(url)
        self.table = table
        self.busy_timeout = busy_timeout
        self.connect_timeout = connect_timeout
        self._engine: Engine | None = None
        self._table: Table | None = None
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"RDBCache({mask_url(self.url)!r}, table={self.table!r})"

    @property
    def namespace(self) -> str:
        """Caches over the same database table share the in-process memo of decoded values."""
        return f"rdb:{mask_url(self.url)}:{self.table}"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_engine"] = None
        state["_table"] = None
        return state

    def _connect(self) -> tuple[Engine, Table]:
        if self._engine is not None and self._pid != os.getpid():
            # A pooled connection must not be shared with a forked child: drop the pool
            # without closing the parent's connections.
            self._engine.dispose(close=False)
            self._engine = None
        if self._engine is not None and self._table is not None:
            return self._engine, self._table
        from sqlalchemy import (
            Column,
            DateTime,
            LargeBinary,
            MetaData,
            Table,
            Text,
            create_engine,
            func,
            inspect,
        )
        from sqlalchemy.exc import SQLAlchemyError

        parsed = parse_url(self.url)
        if parsed.get_backend_name() == "sqlite":
            prepare_sqlite(parsed, self.url, self.busy_timeout)
        options = connection_options(
            parsed, busy_timeout=self.busy_timeout, connect_timeout=self.connect_timeout
        )
        engine = create_engine(parsed, **options)
        table = Table(
            self.table,
            MetaData(),
            Column("key", Text, primary_key=True),
            Column("value", LargeBinary, nullable=False),
            Column("created_at", DateTime(timezone=True), server_default=func.now()),
        )
        try:
            try:
                table.create(engine, checkfirst=True)
            except SQLAlchemyError:
                # Another process created the table between the check and the CREATE (on
                # PostgreSQL this can surface as a unique violation in pg_type).
                if not inspect(engine).has_table(self.table):
                    raise
        except SQLAlchemyError as e:
            engine.dispose()
            raise self._error("open", e) from None
        self._engine, self._table, self._pid = engine, table, os.getpid()
        return engine, table

    def _error(self, action: str, error: Exception) -> StorageError:
        reason = scrub(str(getattr(error, "orig", None) or error), self.url)
        return StorageError(
            f"Cannot {action} the cache table {self.table!r} in {mask_url(self.url)!r}: {reason}"
        )

    def get(self, key: str) -> bytes | None:
        from sqlalchemy import select
        from sqlalchemy.exc import SQLAlchemyError

        engine, table = self._connect()
        try:
            with engine.connect() as connection:
                value = connection.execute(
                    select(table.c.value).where(table.c.key == key)
                ).scalar_one_or_none()
        except SQLAlchemyError as e:
            raise self._error("read", e) from None
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(key, str) or not key:
            raise StorageError(f"A cache key must be a non-empty string, but got {key!r}.")
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise StorageError(
                f"A cache value must be bytes, but got a {type(value).__name__} for key {key!r}."
            )
        engine, table = self._connect()
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(table)
            .values(key=key, value=bytes(value))
            .on_conflict_do_nothing(index_elements=[table.c.key])
        )
        try:
            with engine.begin() as connection:
                connection.execute(statement)
        except SQLAlchemyError as e:
            raise self._error("write", e) from None

    def __len__(self) -> int:
        from sqlalchemy import func, select
        from sqlalchemy.exc import SQLAlchemyError

        engine, table = self._connect()
        try:
            with engine.connect() as connection:
                return int(
                    connection.execute(select(func.count()).select_from(table)).scalar_one()
                )
        except SQLAlchemyError as e:
            raise self._error("read", e) from None

    def close(self) -> None:
        """Close the database connections (the cache reopens them on next use)."""
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._table = None

    def __enter__(self) -> RDBCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
