"""Which database errors mean "unreachable or busy for now", and their one-line reason.

The retrying storage, the worker loop and the CLI share this classification, so that they
agree on what is worth waiting for.
"""

from __future__ import annotations

import sqlite3

from storage._errors import StorageUnavailableError
from storage._url import scrub

__all__ = ["describe_connection_error", "is_connection_error", "is_sqlite_transient"]

_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy")


def is_sqlite_transient(error: BaseException) -> bool:
    """Whether a ``sqlite3`` error is another connection's lock, which passes."""
    return isinstance(error, sqlite3.Error) and any(
        text in str(error).lower() for text in _SQLITE_TRANSIENT
    )


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from or during, outermost first."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending and len(seen) < 20:
        current = pending.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        pending += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    return seen


def is_connection_error(error: BaseException) -> bool:
    """Whether ``error`` means the database is (for now) unreachable or busy, not a bug.

    True for a lost or refused PostgreSQL connection and for a locked SQLite file, also when
    wrapped by Optuna (``StorageInternalError``) or by this package (``StorageError``). Such an
    operation is worth retrying once the database is back. False for
    :class:`StorageUnavailableError`: whoever raised it has retried already.
    """
    try:
        from sqlalchemy import exc
    except ImportError:  # pragma: no cover - SQLAlchemy is a dependency
        return False
    if isinstance(error, StorageUnavailableError):
        return False  # retried for the reconnect timeout already: retrying again would double it
    for item in _chain(error):
        if isinstance(item, exc.DBAPIError) and item.connection_invalidated:
            return True
        if isinstance(item, (exc.InterfaceError, exc.DisconnectionError)):
            return True
        if isinstance(item, exc.PendingRollbackError):
            # A session whose connection died mid-transaction: the next session reconnects.
            return True
        if isinstance(item, exc.OperationalError):
            orig = item.orig
            if isinstance(orig, sqlite3.Error):
                return is_sqlite_transient(orig)
            return True
        if isinstance(item, sqlite3.OperationalError):
            return is_sqlite_transient(item)
        if _is_grpc_unavailable(item):
            return True
        if type(item).__module__.startswith(("psycopg", "psycopg2")) and type(item).__name__ in (
            "OperationalError",
            "InterfaceError",
        ):
            return True
    return False


def _is_grpc_unavailable(error: BaseException) -> bool:
    """A storage proxy that does not answer (restarting, or the network)."""
    if not type(error).__module__.startswith("grpc"):
        return False
    code = getattr(error, "code", None)
    try:
        name = getattr(code(), "name", "") if callable(code) else ""
    except Exception:  # noqa: BLE001 - not an RPC error after all
        return False
    return name in ("UNAVAILABLE", "DEADLINE_EXCEEDED")


def describe_connection_error(error: BaseException, url: str) -> str:
    """The driver's one-line reason for a connection error, without the password of ``url``."""
    reason = None
    for item in _chain(error):
        orig = getattr(item, "orig", None)
        if orig is not None:
            reason = str(orig)
            break
    if reason is None:
        innermost = _chain(error)[-1]
        reason = str(innermost) or type(innermost).__name__
    return scrub(reason, url)
