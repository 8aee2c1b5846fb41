"""A study-wide lock shared by the workers of a study, in the study's own database."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from storage._rdb import connection_options
from storage._url import parse_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["study_lock", "try_study_lock"]

_LOCAL_LOCK = threading.Lock()
_LOCK_ENGINES: dict[tuple[int, str], Engine] = {}


def _lock_engine(storage_url: str) -> Engine:
    """One engine per process and URL for the advisory lock (no pooled connection kept)."""
    key = (os.getpid(), storage_url)
    engine = _LOCK_ENGINES.get(key)
    if engine is None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        parsed = parse_url(storage_url)
        options = connection_options(parsed)
        options.pop("pool_pre_ping", None)
        engine = create_engine(parsed, poolclass=NullPool, **options)
        _LOCK_ENGINES[key] = engine
    return engine


@contextlib.contextmanager
def study_lock(storage_url: str, study_name: str) -> Iterator[None]:
    """A lock shared by every worker of a study; waits until it is free.

    PostgreSQL: a session-level advisory lock (works across machines; the server releases it
    when the holder's connection dies). A storage proxy (``grpc://``): the proxy's lease-based
    study lock (``storage._proxy``). SQLite: an exclusive ``flock`` on a file next to the
    database (SQLite studies are single-machine). Anything else falls back to a process-local
    lock.
    """
    with _study_lock(storage_url, study_name, blocking=True):
        yield


@contextlib.contextmanager
def try_study_lock(storage_url: str, study_name: str) -> Iterator[bool]:
    """Like :func:`study_lock`, but yields ``False`` at once (holding nothing) if it is taken."""
    with _study_lock(storage_url, study_name, blocking=False) as acquired:
        yield acquired


@contextlib.contextmanager
def _study_lock(storage_url: str, study_name: str, *, blocking: bool) -> Iterator[bool]:
    from sqlalchemy.engine import make_url

    url = make_url(storage_url)
    if url.get_backend_name() == "grpc":
        from storage._proxy import proxy_lock

        with proxy_lock(f"{url.host}:{url.port}", study_name, blocking=blocking) as held:
            yield held
        return
    key = int.from_bytes(hashlib.sha256(study_name.encode()).digest()[:8], "big", signed=True)
    if url.get_backend_name() == "postgresql":
        from sqlalchemy import text

        with _lock_engine(storage_url).connect() as connection:
            function = "pg_advisory_lock" if blocking else "pg_try_advisory_lock"
            acquired = connection.execute(text(f"SELECT {function}(:key)"), {"key": key})
            if not blocking and not acquired.scalar():
                yield False
                return
            try:
                yield True
            finally:
                # A lost connection has released the lock already.
                with contextlib.suppress(Exception):
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        lock_path = Path(f"{url.database}.lock")
        with lock_path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif _LOCAL_LOCK.acquire(blocking=blocking):
        try:
            yield True
        finally:
            _LOCAL_LOCK.release()
    else:
        yield False
