"""Reliability settings of a worker's storage: heartbeats, retries, timeouts.

Every value has a default suited to trials of minutes on several machines, and can be changed
per process through an environment variable (workers spawned by ``causalmix tune --workers``
inherit them):

* ``CAUSALMIX_HEARTBEAT_INTERVAL`` (60): seconds between heartbeats of a running trial;
* ``CAUSALMIX_GRACE_PERIOD`` (3 intervals): seconds without a heartbeat before a running trial
  is failed as crashed (and enqueued again);
* ``CAUSALMIX_FAILED_TRIAL_MAX_RETRY`` (3): how often a crashed trial is enqueued again;
* ``CAUSALMIX_RECONNECT_TIMEOUT`` (120): seconds a worker keeps retrying a lost database before
  it stops with an error;
* ``CAUSALMIX_SQLITE_BUSY_TIMEOUT`` (30): seconds a SQLite connection waits for a lock;
* ``CAUSALMIX_CONNECT_TIMEOUT`` (5): seconds to wait for a PostgreSQL connection.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storage._errors import StorageError

__all__ = ["ENVIRONMENT_VARIABLES", "StorageOptions"]

ENVIRONMENT_VARIABLES = {
    "heartbeat_interval": "CAUSALMIX_HEARTBEAT_INTERVAL",
    "grace_period": "CAUSALMIX_GRACE_PERIOD",
    "failed_trial_max_retry": "CAUSALMIX_FAILED_TRIAL_MAX_RETRY",
    "reconnect_timeout": "CAUSALMIX_RECONNECT_TIMEOUT",
    "busy_timeout": "CAUSALMIX_SQLITE_BUSY_TIMEOUT",
    "connect_timeout": "CAUSALMIX_CONNECT_TIMEOUT",
}
"""The environment variable of each :class:`StorageOptions` field."""

_WHOLE_SECONDS = ("heartbeat_interval", "grace_period", "failed_trial_max_retry")


@dataclass(frozen=True)
class StorageOptions:
    """How a worker's storage copes with crashed workers, lost databases and busy files.

    Attributes:
        heartbeat_interval: Seconds between heartbeats of a running trial (whole seconds, as
            Optuna stores them).
        grace_period: Seconds without a heartbeat after which a running trial counts as
            crashed: it is failed and enqueued again. ``None``: three intervals.
        failed_trial_max_retry: How often a crashed trial is enqueued again.
        reconnect_timeout: Seconds a worker keeps retrying a storage operation that failed
            because the database went away, before it stops with an error.
        busy_timeout: SQLite only: seconds a connection waits for another writer's lock.
        connect_timeout: PostgreSQL only: seconds to wait for a connection (at least 2).
    """

    heartbeat_interval: int = 60
    grace_period: int | None = None
    failed_trial_max_retry: int = 3
    reconnect_timeout: float = 120.0
    busy_timeout: float = 30.0
    connect_timeout: float = 5.0

    def __post_init__(self) -> None:
        _check_int("heartbeat_interval", self.heartbeat_interval, minimum=1)
        if self.grace_period is not None:
            _check_int("grace_period", self.grace_period, minimum=1)
            if self.grace_period <= self.heartbeat_interval:
                raise StorageError(
                    "`grace_period > heartbeat_interval` must hold (a live trial would be "
                    f"failed between two heartbeats), but got grace_period={self.grace_period}, "
                    f"heartbeat_interval={self.heartbeat_interval}."
                )
        _check_int("failed_trial_max_retry", self.failed_trial_max_retry, minimum=0)
        for name in ("reconnect_timeout", "busy_timeout", "connect_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise StorageError(f"`{name} > 0` must hold, but got {name}={value!r}.")
            if not math.isfinite(value):
                raise StorageError(f"`{name}` must be finite, but got {name}={value!r}.")

    @property
    def resolved_grace_period(self) -> int:
        """The grace period in seconds (three heartbeat intervals unless set)."""
        return self.grace_period if self.grace_period is not None else 3 * self.heartbeat_interval

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageOptions:
        """The defaults, overridden by the ``CAUSALMIX_*`` variables that are set.

        Raises:
            StorageError: For a value that is not a number, or out of range; the message names
                the variable and the value.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, variable in ENVIRONMENT_VARIABLES.items():
            text = environ.get(variable, "").strip()
            if not text:
                continue
            wants_int = name in _WHOLE_SECONDS
            try:
                values[name] = int(text) if wants_int else float(text)
            except ValueError:
                kind = "an integer" if wants_int else "a number"
                raise StorageError(
                    f"The environment variable {variable} must be {kind} of seconds, but got "
                    f"{variable}={text!r}."
                ) from None
        try:
            return cls(**values)
        except StorageError as e:
            shown = ", ".join(f"{ENVIRONMENT_VARIABLES[k]}={v!r}" for k, v in values.items())
            raise StorageError(f"{e} (from the environment: {shown})") from None

    def storage_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`storage.create_storage`."""
        return {
            "heartbeat_interval": self.heartbeat_interval,
            "grace_period": self.resolved_grace_period,
            "failed_trial_max_retry": self.failed_trial_max_retry,
            "busy_timeout": self.busy_timeout,
            "connect_timeout": self.connect_timeout,
            "reconnect_timeout": self.reconnect_timeout,
        }


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise StorageError(f"`{name} >= {minimum}` must hold, but got {name}={value!r}.")
