"""Optuna RDB storage for SQLite and PostgreSQL, with heartbeats and retries of crashed trials.

* SQLite is switched to WAL mode before Optuna opens it (readers never block the writer) and
  every connection waits ``busy_timeout`` seconds for a lock instead of failing at once.
* PostgreSQL connections are pinged before use (``pool_pre_ping``) and give up connecting after
  ``connect_timeout`` seconds.
* With a heartbeat, a trial whose worker died is marked FAIL once ``grace_period`` seconds pass
  without a heartbeat, and Optuna's retry callback enqueues it again (with the same parameters)
  up to ``failed_trial_max_retry`` times.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage._connection import is_connection_error, is_sqlite_transient
from storage._errors import StorageError, StorageUnavailableError
from storage._url import mask_url, parse_url, scrub

if TYPE_CHECKING:
    import optuna
    from optuna.storages import BaseStorage
    from sqlalchemy.engine import URL

    from storage._retrying import RetryingRDBStorage

__all__ = [
    "connection_options",
    "create_storage",
    "load_existing_study",
    "prepare_sqlite",
    "storage_url_of",
    "study_exists",
]


def connection_options(
    parsed: URL, *, busy_timeout: float = 30.0, connect_timeout: float = 5.0
) -> dict[str, Any]:
    """SQLAlchemy ``create_engine`` keyword arguments for a validated storage URL."""
    if parsed.get_backend_name() == "sqlite":
        # sqlite3's ``timeout`` is SQLite's busy timeout: how long to wait for a lock.
        return {"connect_args": {"timeout": busy_timeout}}
    # libpq wants whole seconds, and treats values below 2 as 2.
    return {
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": max(2, round(connect_timeout))},
    }


def prepare_sqlite(
    parsed: URL, url: str, busy_timeout: float = 30.0, *, create: bool = True
) -> None:
    """Create the SQLite file (its folder must exist) and switch it to WAL mode.

    WAL is a property of the database file, so setting it once here holds for every later
    connection, including Optuna's own. With ``create=False`` the file must exist already.
    """
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    folder = Path(database).parent
    if not create and not Path(database).is_file():
        raise StorageError(
            f"The SQLite storage {mask_url(url)!r} does not exist: no study was tuned there "
            "(check --storage or CAUSALMIX_STORAGE_URL)."
        )
    if not folder.is_dir():
        raise StorageError(
            f"Cannot open the SQLite storage {mask_url(url)!r}: the folder {str(folder)!r} "
            "does not exist."
        )
    deadline = time.monotonic() + busy_timeout
    for attempt in itertools.count():
        try:
            connection = sqlite3.connect(database, timeout=busy_timeout)
            try:
                mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            finally:
                connection.close()
            break
        except sqlite3.Error as e:
            # Switching the journal mode needs the exclusive lock, and SQLite answers "database
            # is locked" at once, without its busy handler, when two processes switch a fresh
            # file together (waiting could deadlock). The other process finishes in
            # milliseconds, so wait a little and try again, up to the busy timeout.
            if not is_sqlite_transient(e) or time.monotonic() > deadline:
                raise StorageError(
                    f"Cannot open the SQLite storage {mask_url(url)!r}: {e}."
                ) from e
            time.sleep(min(0.05 * (attempt + 1), 0.5))
    if str(mode).lower() != "wal":
        raise StorageError(
            f"Cannot switch the SQLite storage {mask_url(url)!r} to WAL mode (it stays in "
            f"{mode!r} mode; WAL needs a local file system)."
        )


def create_storage(
    url: str,
    *,
    heartbeat_interval: int | None = 60,
    grace_period: int | None = 180,
    failed_trial_max_retry: int | None = 3,
    busy_timeout: float = 30.0,
    connect_timeout: float = 5.0,
    create: bool = True,
    reconnect_timeout: float = 120.0,
) -> RetryingRDBStorage:
    """Open (creating its tables if needed) the Optuna storage at ``url``.

    Args:
        url: A storage URL, e.g. from :func:`resolve_storage_url`.
        heartbeat_interval: Seconds between heartbeats of a running trial (``None``: no
            heartbeat, e.g. for a read-only dashboard).
        grace_period: Seconds without a heartbeat after which a running trial counts as
            crashed (``None``: twice the interval).
        failed_trial_max_retry: How often a crashed trial is enqueued again (``None``: no
            limit; ``0``: never).
        busy_timeout: SQLite only: seconds to wait for a lock held by another process.
        connect_timeout: PostgreSQL only: seconds to wait for a connection (at least 2).
        create: SQLite only: create the database file if it does not exist. Readers of
            existing studies pass ``False``, so that a mistyped path creates nothing.
        reconnect_timeout: Seconds each later database call keeps retrying, with backoff,
            while the database is unreachable or locked (:class:`RetryingRDBStorage`; ``0``:
            no retry). Opening is not retried: an unreachable database fails here at once.

    Returns:
        An :class:`optuna.storages.RDBStorage` (a :class:`RetryingRDBStorage`); for a
        ``grpc://`` URL, a client of that storage proxy (:class:`storage.ProxyStorage`).

    Raises:
        StorageError: For a bad URL or parameter, or an unreachable database (naming the
            masked URL and the reason).
    """
    _check_positive("heartbeat_interval", heartbeat_interval, allow_none=True)
    _check_positive("grace_period", grace_period, allow_none=True)
    _check_positive("busy_timeout", busy_timeout)
    _check_positive("connect_timeout", connect_timeout)
    if isinstance(reconnect_timeout, bool) or not isinstance(reconnect_timeout, (int, float)):
        raise StorageError(f"`reconnect_timeout` must be a number, but got {reconnect_timeout!r}.")
    if not 0 <= reconnect_timeout < float("inf"):
        raise StorageError(
            "`0 <= reconnect_timeout < inf` must hold, but got "
            f"reconnect_timeout={reconnect_timeout!r}."
        )
    if failed_trial_max_retry is not None and (
        isinstance(failed_trial_max_retry, bool)
        or not isinstance(failed_trial_max_retry, int)
        or failed_trial_max_retry < 0
    ):
        raise StorageError(
            "`failed_trial_max_retry >= 0` must hold, but got "
            f"failed_trial_max_retry={failed_trial_max_retry!r}."
        )
    parsed = parse_url(url)
    if parsed.get_backend_name() == "grpc":
        from storage._proxy import open_proxy

        # Heartbeats, retries and the creation of tables are the proxy's, on its database.
        assert parsed.host is not None and parsed.port is not None
        return open_proxy(parsed.host, parsed.port, connect_timeout=connect_timeout)  # type: ignore[return-value]
    if parsed.get_backend_name() == "sqlite":
        prepare_sqlite(parsed, url, busy_timeout, create=create)
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    from storage._retrying import RetryingRDBStorage

    try:
        with warnings.catch_warnings():
            # Heartbeats are "experimental" in Optuna, but they are what makes crashed workers
            # recoverable; the warning would only confuse users.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            callback_kwargs: dict[str, Any] = {}
            if heartbeat_interval is not None:
                callback_kwargs = {
                    "heartbeat_interval": int(heartbeat_interval),
                    "grace_period": None if grace_period is None else int(grace_period),
                    **_retry_callback(failed_trial_max_retry),
                }
            for attempt in range(_CREATION_ATTEMPTS):
                try:
                    return RetryingRDBStorage(
                        parsed.render_as_string(hide_password=False),
                        reconnect_timeout=reconnect_timeout,
                        engine_kwargs=connection_options(
                            parsed, busy_timeout=busy_timeout, connect_timeout=connect_timeout
                        ),
                        **callback_kwargs,
                    )
                except SQLAlchemyError as e:
                    # Two processes opening a fresh database at once both create Optuna's
                    # tables; the slower one fails on what the other just created (on
                    # PostgreSQL: a duplicate key in pg_type for the enum types). The tables
                    # exist now, so opening again succeeds.
                    if attempt + 1 == _CREATION_ATTEMPTS or not _is_concurrent_creation(e):
                        raise
                    time.sleep(0.2 * (attempt + 1))
            raise AssertionError("unreachable")  # pragma: no cover
    except (SQLAlchemyError, ImportError, OSError) as e:
        orig = getattr(e, "orig", None)
        reason = scrub(str(orig or e), url)
        # A server that answered (a wrong password, a missing database or role: an SQL state,
        # or libpq's "FATAL:" reply while connecting) points at the URL; no answer at all
        # (refused, timed out, unknown host) is an outage.
        answered = (
            getattr(orig, "sqlstate", None)
            or getattr(orig, "pgcode", None)
            or "FATAL:" in str(orig)
        )
        if is_connection_error(e) and not answered and parsed.get_backend_name() != "sqlite":
            raise StorageUnavailableError(
                f"Cannot reach the storage {mask_url(url)!r}: {reason} Check that the database "
                "server is running and reachable from here, and the host and port in the URL."
            ) from None
        raise StorageError(f"Cannot open the storage {mask_url(url)!r}: {reason}") from None


def _retry_callback(max_retry: int | None) -> dict[str, Any]:
    if max_retry == 0:
        return {}
    import optuna.storages as storages

    if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):  # Optuna >= 4.9
        return {
            "heartbeat_stale_trial_callback": storages.RetryHeartbeatStaleTrialCallback(
                max_retry=max_retry
            )
        }
    return {"failed_trial_callback": storages.RetryFailedTrialCallback(max_retry=max_retry)}


def _check_positive(name: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise StorageError(f"`{name} > 0` must hold, but got {name}={value!r}.")


def storage_url_of(storage: BaseStorage) -> str | None:
    """The masked URL of an RDB storage (also behind Optuna's cache), or ``None``."""
    from storage._optuna_private import rdb_backend

    url = getattr(rdb_backend(storage), "url", None)
    return mask_url(url) if isinstance(url, str) else None


def study_exists(storage: BaseStorage, name: str) -> bool:
    """Whether ``storage`` holds a study called ``name``."""
    try:
        storage.get_study_id_from_name(name)
    except KeyError:
        return False
    return True


def load_existing_study(
    storage: BaseStorage, name: str, *, sampler: optuna.samplers.BaseSampler | None = None
) -> optuna.Study:
    """Load the study ``name``, which must exist.

    Raises:
        StorageError: If there is no such study; the message lists the existing ones.
    """
    import optuna

    if not study_exists(storage, name):
        names = sorted(s.study_name for s in storage.get_all_studies())
        where = storage_url_of(storage) or "the storage"
        listing = ", ".join(repr(n) for n in names) if names else "none"
        raise StorageError(f"There is no study {name!r} in {where}; existing studies: {listing}.")
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler)


_CREATION_ATTEMPTS = 5


def _is_concurrent_creation(error: BaseException) -> bool:
    """Whether ``error`` is a schema object that another process created at the same time."""
    from sqlalchemy import exc

    if not isinstance(error, (exc.IntegrityError, exc.ProgrammingError, exc.OperationalError)):
        return False
    text = str(getattr(error, "orig", None) or error).lower()
    return "already exists" in text or "duplicate key value" in text
