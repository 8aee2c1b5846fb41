"""The worker loop: claim a trial slot, run the objective, record the outcome.

Several workers (processes, possibly on several machines) share one study. ``n_trials`` is the
study's target number of finished (COMPLETE or PRUNED) trials. A worker only creates a trial
while holding a study-wide lock and while fewer than ``n_trials`` trials are finished, running
or waiting, so K workers finish exactly ``n_trials`` trials, never more.

Each running trial records a heartbeat; a trial whose worker died (``kill -9``, a lost machine)
is failed by the next worker after the storage's grace period and re-enqueued by Optuna's retry
callback (with its parameters), so the study still reaches its count.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

__all__ = ["WorkerResult", "count_trials", "run_worker", "study_lock"]

_logger = logging.getLogger(__name__)


@dataclass
class WorkerResult:
    completed: int = 0
    pruned: int = 0
    failed: int = 0


@contextlib.contextmanager
def study_lock(storage_url: str, study_name: str) -> Iterator[None]:
    """A lock shared by every worker of a study.

    PostgreSQL: a session-level advisory lock (works across machines). SQLite: an exclusive
    ``flock`` on a file next to the database (SQLite studies are single-machine). Anything
    else falls back to a process-local lock.
    """
    from sqlalchemy.engine import make_url

    url = make_url(storage_url)
    key = int.from_bytes(hashlib.sha256(study_name.encode()).digest()[:8], "big", signed=True)
    if url.get_backend_name() == "postgresql":
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        finally:
            engine.dispose()
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        lock_path = Path(f"{url.database}.lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    else:
        with _LOCAL_LOCK:
            yield


_LOCAL_LOCK = threading.Lock()


def count_trials(study: optuna.Study, *, include_active: bool) -> int:
    """Finished trials (COMPLETE, PRUNED), plus RUNNING and WAITING ones if ``include_active``."""
    from optuna.trial import TrialState

    states = [TrialState.COMPLETE, TrialState.PRUNED]
    if include_active:
        states += [TrialState.RUNNING, TrialState.WAITING]
    return len(study.get_trials(deepcopy=False, states=tuple(states)))


class _Heartbeat:
    """Records a trial's heartbeat every ``interval`` seconds in a background thread."""

    def __init__(self, storage: optuna.storages.BaseStorage, trial_id: int) -> None:
        from optuna.storages import RDBStorage

        self._storage = storage if isinstance(storage, RDBStorage) else None
        self._interval = self._storage.get_heartbeat_interval() if self._storage else None
        self._trial_id = trial_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Heartbeat:
        if self._storage is not None and self._interval:
            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        assert self._storage is not None and self._interval
        while True:
            try:
                self._storage.record_heartbeat(self._trial_id)
            except Exception as e:  # noqa: BLE001 - a lost database must not kill the trial
                _logger.warning(
                    "Could not record the heartbeat of trial %d: %s", self._trial_id, e
                )
            if self._stop.wait(self._interval):
                return


def _fail_stale_trials(study: optuna.Study) -> None:
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def run_worker(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    *,
    storage_url: str,
    n_trials: int,
    timeout: float | None = None,
    user_errors: tuple[type[Exception], ...] = (),
    on_trial_end: Callable[[optuna.Study], None] | None = None,
) -> WorkerResult:
    """Run trials of ``study`` until it has ``n_trials`` finished trials (or ``timeout``).

    A trial that raises :class:`optuna.TrialPruned` is recorded PRUNED; one that raises any
    other exception is recorded FAIL (with the reason in its ``fail_reason`` user attribute).
    User errors and ``KeyboardInterrupt`` stop the worker after recording the trial; other
    errors stop it after three failures in a row.
    """
    import optuna
    from optuna.trial import TrialState

    result = WorkerResult()
    started = time.monotonic()
    failures_in_a_row = 0
    while timeout is None or time.monotonic() - started < timeout:
        _fail_stale_trials(study)
        with study_lock(storage_url, study.study_name):
            if count_trials(study, include_active=True) >= n_trials:
                break
            with warnings.catch_warnings():
                # Optuna warns that heartbeats are meant for Study.optimize; this loop records
                # them itself (see _Heartbeat).
                warnings.filterwarnings("ignore", message=".*Heartbeat.*")
                trial = study.ask()
        with _Heartbeat(study._storage, trial._trial_id):
            try:
                value = objective(trial)
            except optuna.TrialPruned:
                study.tell(trial, state=TrialState.PRUNED)
                result.pruned += 1
                failures_in_a_row = 0
            except BaseException as e:
                reason = f"{type(e).__name__}: {e}"
                with contextlib.suppress(Exception):
                    trial.set_user_attr("fail_reason", reason[:2000])
                study.tell(trial, state=TrialState.FAIL)
                result.failed += 1
                failures_in_a_row += 1
                if isinstance(e, (KeyboardInterrupt, *user_errors)) or failures_in_a_row >= 3:
                    raise
                _logger.error("Trial %d failed: %s", trial.number, reason)
            else:
                study.tell(trial, value)
                result.completed += 1
                failures_in_a_row = 0
        if on_trial_end is not None:
            on_trial_end(study)
    return result
