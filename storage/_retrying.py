"""Every storage call retried, with backoff, while the database is briefly gone.

A database restart or fail-over drops every connection. Optuna's :class:`RDBStorage` runs each
call (a read, or a write and its commit) in a session of its own and raises on a lost
connection, for example ``StorageInternalError: An exception is raised during the commit``. A
worker that meets one mid-trial would lose the trial. :class:`RetryingRDBStorage` runs each
call again, on a fresh pooled connection, with exponential backoff (0.1 s doubling up to 2 s),
until it succeeds or ``reconnect_timeout`` seconds have passed; then it raises
:class:`StorageUnavailableError`, which callers do not retry again. It logs the first failure
of a call and the recovery, in one line each, on the ``causalmix`` logger.

A call is one transaction, so running it again is safe: the writes are upserts, except

* finishing a trial (``set_trial_state_values``) or setting a parameter: when the lost
  connection had committed it already, the retry finds it done; if it is done as asked, that
  is success;
* creating a study with a name: a retry that finds it created returns its id;
* creating a trial: a retry after a lost commit can leave one extra RUNNING trial that nobody
  runs; with heartbeats it never beats, so it is failed after the grace period (and counts as
  FAIL, never as finished).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from optuna.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from optuna.storages import RDBStorage

from storage._connection import describe_connection_error, is_connection_error
from storage._errors import StorageUnavailableError
from storage._url import mask_url

__all__ = ["RETRIED_METHODS", "RetryingRDBStorage", "reconnects_of", "retry_while_unavailable"]

_logger = logging.getLogger("causalmix")
_T = TypeVar("_T")

RETRIED_METHODS = (
    "create_new_study",
    "delete_study",
    "set_study_user_attr",
    "set_study_system_attr",
    "get_study_id_from_name",
    "get_study_name_from_id",
    "get_study_directions",
    "get_study_user_attrs",
    "get_study_system_attrs",
    "get_all_studies",
    "create_new_trial",
    "set_trial_param",
    "get_trial_id_from_study_id_trial_number",
    "get_trial_number_from_id",
    "get_trial_param",
    "set_trial_state_values",
    "set_trial_intermediate_value",
    "set_trial_user_attr",
    "set_trial_system_attr",
    "get_trial",
    "get_all_trials",
    "get_n_trials",
    "get_best_trial",
    "record_heartbeat",
    "_get_stale_trial_ids",
    # What Optuna's cache wrapper (``_CachedStorage``) calls on the storage behind it.
    "_create_new_trial",
    "_get_best_trial_id",
    "_get_trials",
    "_set_trial_param",
)
"""The :class:`RDBStorage` methods that talk to the database (Optuna 5's storage API and
the private ones its cache wrapper calls; ``tests/storage/test_retrying.py`` checks that
every such method is listed)."""

_FIRST_DELAY, _MAX_DELAY = 0.1, 2.0


class RetryingRDBStorage(RDBStorage):
    """An :class:`RDBStorage` whose database calls survive a lost connection for a while.

    Args:
        *args: Passed to :class:`RDBStorage`.
        reconnect_timeout: Seconds one call keeps retrying (``0``: no retry).
        **kwargs: Passed to :class:`RDBStorage`.
    """

    def __init__(self, *args: Any, reconnect_timeout: float = 120.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reconnect_timeout = float(reconnect_timeout)
        self.reconnects = 0

    def _retry(
        self, name: str, call: Callable[[], _T], on_repeat: Callable[[Exception], _T] | None
    ) -> _T:
        value, recovered = retry_while_unavailable(
            call, f"call {name}", self.url, self.reconnect_timeout, on_repeat=on_repeat
        )
        self.reconnects += recovered
        return value


def retry_while_unavailable(
    call: Callable[[], _T],
    what: str,
    url: str,
    timeout: float,
    *,
    on_repeat: Callable[[Exception], _T] | None = None,
) -> tuple[_T, bool]:
    """Run ``call``, retrying with backoff while the database at ``url`` is unreachable or
    locked (:func:`storage.is_connection_error`), for up to ``timeout`` seconds.

    Logs the first failure and the recovery in one line each. ``on_repeat`` decides what
    another error means once a retry has happened (the first attempt's write may have landed).

    Returns:
        ``(value, recovered)``: ``recovered`` is whether it had to retry.

    Raises:
        StorageUnavailableError: After ``timeout`` seconds (one line naming ``what``).
    """
    first_failure: float | None = None
    attempt = 0
    while True:
        try:
            value = call()
        except Exception as e:
            if first_failure is not None and on_repeat is not None and not is_connection_error(e):
                return on_repeat(e), True  # a retry that meets the first attempt's write
            if not is_connection_error(e) or timeout <= 0:
                raise
            now = time.monotonic()
            reason = describe_connection_error(e, url)
            if first_failure is None:
                first_failure = now
                _logger.warning(
                    "The storage %s is unavailable while trying to %s: %s Retrying with "
                    "backoff for up to %g s.",
                    mask_url(url), what, reason, timeout,
                )  # fmt: skip
            if now - first_failure >= timeout:
                hint = ""
                if url.startswith("sqlite"):
                    hint = (
                        " SQLite lets one process write at a time; for many workers, or "
                        "workers on several machines, use PostgreSQL."
                    )
                raise StorageUnavailableError(
                    f"The storage {mask_url(url)!r} stayed unavailable for {timeout:g} s "
                    f"(CAUSALMIX_RECONNECT_TIMEOUT) while trying to {what}: {reason}{hint}"
                ) from e
            time.sleep(min(_MAX_DELAY, _FIRST_DELAY * 2**attempt))
            attempt += 1
            continue
        if first_failure is not None:
            _logger.warning(
                "The storage is available again after %.1f s (%s retried %d time(s)).",
                time.monotonic() - first_failure, what, attempt,
            )  # fmt: skip
        return value, first_failure is not None


def _finished_as_asked(
    storage: RetryingRDBStorage, arguments: dict[str, Any], error: Exception
) -> Any:
    if isinstance(error, UpdateFinishedTrialError):
        if RDBStorage.get_trial(storage, arguments["trial_id"]).state == arguments["state"]:
            return True  # the lost connection had committed it
    raise error


def _param_stored(storage: RetryingRDBStorage, arguments: dict[str, Any], error: Exception) -> Any:
    if (
        arguments["param_name"]
        in RDBStorage.get_trial(storage, arguments["trial_id"]).distributions
    ):
        return None  # the lost connection had committed it
    raise error


def _study_created(
    storage: RetryingRDBStorage, arguments: dict[str, Any], error: Exception
) -> Any:
    study_name = arguments.get("study_name")
    if isinstance(error, DuplicatedStudyError) and study_name is not None:
        return RDBStorage.get_study_id_from_name(storage, study_name)
    raise error


_ALREADY_DONE: dict[str, Callable[[RetryingRDBStorage, dict[str, Any], Exception], Any]] = {
    "set_trial_state_values": _finished_as_asked,
    "set_trial_param": _param_stored,
    "_set_trial_param": _param_stored,
    "create_new_study": _study_created,
}
"""For the writes that are not upserts: what another error than a lost connection means once a
retry has happened (the method's bound arguments, the error); the others re-raise it."""


def _retried(name: str) -> Callable[..., Any]:
    plain = getattr(RDBStorage, name)
    signature = inspect.signature(plain)
    already_done = _ALREADY_DONE.get(name)

    def method(self: RetryingRDBStorage, *args: Any, **kwargs: Any) -> Any:
        on_repeat = None
        if already_done is not None:
            # Bound only when a retry meets an error, not on every call.
            def on_repeat(error: Exception) -> Any:
                arguments = signature.bind(self, *args, **kwargs).arguments
                return already_done(self, arguments, error)

        return self._retry(name, lambda: plain(self, *args, **kwargs), on_repeat)

    method.__name__ = name
    method.__qualname__ = f"RetryingRDBStorage.{name}"
    method.__doc__ = plain.__doc__
    return method


for _name in RETRIED_METHODS:
    setattr(RetryingRDBStorage, _name, _retried(_name))


def reconnects_of(study: Any) -> int:
    """How many lost-connection episodes the storage of ``study`` has ridden out so far."""
    from storage._optuna_private import rdb_backend, study_storage

    return int(getattr(rdb_backend(study_storage(study)), "reconnects", 0))
