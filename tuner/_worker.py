"""The worker loop: claim a trial slot, run the objective, record the outcome.

Several workers (processes, possibly on several machines) share one study. ``n_trials`` is the
study's target number of finished (COMPLETE or PRUNED) trials. A worker only creates a trial
while holding a study-wide lock and while fewer than ``n_trials`` trials are finished or
running, so K workers finish exactly ``n_trials`` trials, never more. When the remaining slots
are all held by other workers' running trials, a worker waits instead of leaving: one of those
workers may have died, and its trial must still be run.

Each running trial records a heartbeat from a background thread, which also fails the trials
of dead workers (``kill -9``, a lost machine) once they have missed heartbeats for the grace
period; the storage's retry callback enqueues such a trial again (with its parameters) and the
next free worker runs it. Failing stale trials and claiming slots happen under the same lock,
so a retried trial never adds a surplus one.

A storage operation that fails because the database went away (a restarted server, a locked
SQLite file) is retried until ``reconnect_timeout``; then the worker stops with a one-line
:class:`storage.StorageError`. A trial recorded by nobody (its worker gave up) keeps no
heartbeat, so another worker, or the next run, fails and retries it after the grace period.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from storage._lock import study_lock
from storage._optuna_private import record_heartbeat
from storage._stale import fail_stale_trials
from tuner._heartbeat import DeferredSignals, Heartbeat, heartbeat_interval_of

if TYPE_CHECKING:
    import optuna

__all__ = ["TrialCounts", "WorkerResult", "count_trials", "run_enqueued_trial", "run_worker"]

_logger = logging.getLogger("causalmix")

_T = TypeVar("_T")


@dataclass
class WorkerResult:
    """What one worker did.

    Attributes:
        completed / pruned / failed: Trials this worker recorded in each state.
        discarded: Trials this worker ran to the end but could not record, because the
            stale-trial check had already failed them (missed heartbeats); they were retried.
        storage_seconds: Time spent in the loop's own storage calls (lock, stale check, count,
            ask, tell); the objective's attribute writes are in each trial's ``timings``.
        lock_wait_seconds: The part of ``storage_seconds`` spent waiting for the study lock.
        lock_held_seconds: The part of ``storage_seconds`` spent holding it.
        trial_seconds: Time spent running objectives.
        reconnects: Storage outages this worker rode out.
    """

    completed: int = 0
    pruned: int = 0
    failed: int = 0
    discarded: int = 0
    storage_seconds: float = 0.0
    lock_wait_seconds: float = 0.0
    lock_held_seconds: float = 0.0
    trial_seconds: float = 0.0
    reconnects: int = 0

    @property
    def finished(self) -> int:
        """Trials this worker recorded COMPLETE or PRUNED."""
        return self.completed + self.pruned


class TrialCounts(NamedTuple):
    finished: int
    running: int
    waiting: int


def count_trials(study: optuna.Study, *, include_active: bool) -> int:
    """Finished trials (COMPLETE, PRUNED), plus RUNNING and WAITING ones if ``include_active``."""
    counts = _counts(study)
    return counts.finished + (counts.running + counts.waiting if include_active else 0)


def _counts(study: optuna.Study) -> TrialCounts:
    from optuna.trial import TrialState

    from storage import CONFIRMATION_ATTR

    # Confirmation trials (run by `tune` after the study's trials) are not among its n_trials.
    states = [
        t.state
        for t in study.get_trials(deepcopy=False)
        if not t.user_attrs.get(CONFIRMATION_ATTR)
    ]
    return TrialCounts(
        finished=states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED),
        running=states.count(TrialState.RUNNING),
        waiting=states.count(TrialState.WAITING),
    )


class _Loop:
    def __init__(
        self,
        study: optuna.Study,
        objective: Callable[[optuna.Trial], float],
        *,
        storage_url: str,
        n_trials: int,
        user_errors: tuple[type[Exception], ...],
        reconnect_timeout: float,
    ) -> None:
        self.study = study
        self.objective = objective
        self.storage_url = storage_url
        self.n_trials = n_trials
        self.user_errors = user_errors
        self.reconnect_timeout = reconnect_timeout
        self.result = WorkerResult()
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        interval = heartbeat_interval_of(study)
        self.heartbeats = interval is not None
        self.poll_interval = min(5.0, max(0.5, (interval or 2) / 2))
        self.consecutive_failures = 0

    def retry(self, action: Callable[[], _T], what: str) -> _T:
        """Run a storage ``action``, retrying while the database is unreachable or locked
        (the study lock's own connection, or a call the storage gave up on)."""
        from storage import retry_while_unavailable

        value, recovered = retry_while_unavailable(
            action, what, self.storage_url, self.reconnect_timeout
        )
        self.result.reconnects += recovered
        return value

    def claim(self, deferred: DeferredSignals) -> optuna.Trial | TrialCounts | None:
        """A new (or retried) trial; the counts if the free slots are all running; ``None``
        once the study has its trials."""
        waiting_since = time.perf_counter()
        with study_lock(self.storage_url, self.study.study_name):
            acquired = time.perf_counter()
            self.result.lock_wait_seconds += acquired - waiting_since
            try:
                return self._claim_locked(deferred)
            finally:
                self.result.lock_held_seconds += time.perf_counter() - acquired

    def _claim_locked(self, deferred: DeferredSignals) -> optuna.Trial | TrialCounts | None:
        from storage import is_connection_error

        if self.heartbeats:
            fail_stale_trials(self.study)
        counts = _counts(self.study)
        if counts.finished >= self.n_trials:
            return None
        if counts.finished + counts.running >= self.n_trials:
            # Without heartbeats a dead worker's trial would never be failed: don't wait.
            return counts if self.heartbeats else None
        with deferred, warnings.catch_warnings():
            # Optuna warns that heartbeats are meant for Study.optimize; this loop records
            # them itself (see Heartbeat).
            warnings.filterwarnings("ignore", message=".*[Hh]eartbeat.*")
            trial = self.study.ask()  # a WAITING (retried) trial first, if there is one
            if self.heartbeats:
                # At once: a trial that never beats is only failed after the grace period
                # counted from its start (see storage.fail_stale_trials). If this write
                # fails, the heartbeat thread tries again; claiming again would leave the
                # new trial behind.
                try:
                    record_heartbeat(self.study, trial)
                except Exception as e:
                    if not is_connection_error(e):
                        raise
            return trial

    def run_trial(self, trial: optuna.Trial, deferred: DeferredSignals) -> None:
        import optuna
        from optuna.trial import TrialState

        value: float | None = None
        state = TrialState.COMPLETE
        error: BaseException | None = None
        stale = False
        started = time.perf_counter()
        with Heartbeat(self.study, self.storage_url, trial):
            try:
                deferred.raise_pending()
                trial.set_user_attr("worker", self.identity)
                value = self.objective(trial)
            except optuna.TrialPruned:
                state = TrialState.PRUNED
            except optuna.exceptions.UpdateFinishedTrialError:
                # Failed as stale while it ran (tell() below reports it): not an error of the
                # objective.
                state, stale = TrialState.FAIL, True
            except BaseException as e:
                state, error = TrialState.FAIL, e
            self.result.trial_seconds += time.perf_counter() - started
            recording = DeferredSignals()
            with recording:
                if error is not None:
                    self.record_reason(trial, error)
                self.tell(trial, state, value, stale=stale)
            recording.raise_pending()
        if error is not None:
            self.after_failure(trial, error)

    def record_reason(self, trial: optuna.Trial, error: BaseException) -> None:
        """Store why a trial failed (waiting for a lost database like any storage call)."""
        from storage import StorageError, describe_connection_error, is_connection_error

        if isinstance(error, Exception) and is_connection_error(error):
            reason = f"Storage unavailable: {describe_connection_error(error, self.storage_url)}"
        else:
            reason = f"{type(error).__name__}: {error}"
        try:
            self.retry(
                lambda: trial.set_user_attr("fail_reason", reason[:2000]),
                f"record why trial {trial.number} failed",
            )
        except StorageError:
            raise
        except Exception:  # noqa: BLE001 - e.g. already failed as stale: tell() reports it
            _logger.debug("Could not record why trial %d failed.", trial.number, exc_info=True)

    def tell(
        self, trial: optuna.Trial, state: Any, value: float | None, *, stale: bool = False
    ) -> None:
        from optuna.trial import TrialState

        started = time.perf_counter()
        try:
            recorded = self.retry(
                lambda: self.study.tell(
                    trial,
                    None if state != TrialState.COMPLETE else value,
                    state=state,
                    skip_if_finished=True,
                ),
                f"record trial {trial.number}",
            )
        finally:
            self.result.storage_seconds += time.perf_counter() - started
        if stale or (recorded.state != state and recorded.state == TrialState.FAIL):
            self.result.discarded += 1
            _logger.warning(
                "Trial %d was failed by the stale-trial check while this worker ran it (no "
                "heartbeat for longer than the grace period, e.g. during a database outage); "
                "its result is discarded and the trial is retried.",
                trial.number,
            )
        elif state == TrialState.COMPLETE:
            self.result.completed += 1
            self.consecutive_failures = 0
        elif state == TrialState.PRUNED:
            self.result.pruned += 1
            self.consecutive_failures = 0
        else:
            self.result.failed += 1

    def after_failure(self, trial: optuna.Trial, error: BaseException) -> None:
        """Decide whether the worker goes on after a failed trial (it is recorded already)."""
        from storage import describe_connection_error, is_connection_error

        if isinstance(error, Exception) and is_connection_error(error):
            _logger.warning(
                "Trial %d failed because the storage was unavailable (%s); it is recorded FAIL.",
                trial.number,
                describe_connection_error(error, self.storage_url),
            )
            return
        if isinstance(error, KeyboardInterrupt):
            _logger.warning(
                "Trial %d was interrupted and recorded FAIL; run the same command again to "
                "continue the study.",
                trial.number,
            )
            raise error
        if isinstance(error, self.user_errors) or not isinstance(error, Exception):
            raise error
        _logger.error("Trial %d failed: %s: %s", trial.number, type(error).__name__, error)
        self.consecutive_failures += 1
        if self.consecutive_failures >= 3:
            raise error


def run_worker(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    *,
    storage_url: str,
    n_trials: int,
    timeout: float | None = None,
    user_errors: tuple[type[Exception], ...] = (),
    on_trial_end: Callable[[optuna.Study], None] | None = None,
    reconnect_timeout: float = 120.0,
) -> WorkerResult:
    """Run trials of ``study`` until it has ``n_trials`` finished trials (or ``timeout``).

    A trial that raises :class:`optuna.TrialPruned` is recorded PRUNED; one that raises any
    other exception is recorded FAIL (with the reason in its ``fail_reason`` user attribute).
    User errors and ``KeyboardInterrupt`` stop the worker after recording the trial; a lost
    database is waited for (up to ``reconnect_timeout`` seconds per operation); other errors
    stop it after three failures in a row.

    Args:
        study: The study, on an RDB storage (with heartbeats for crash recovery).
        objective: Evaluates one trial.
        storage_url: The study's storage URL (for the study-wide lock).
        n_trials: Finished trials the study should have in total.
        timeout: Stop claiming new trials after this many seconds.
        user_errors: Exceptions that stop the worker at once (bad input).
        on_trial_end: Called after each recorded trial (e.g. a progress bar).
        reconnect_timeout: Seconds to keep retrying a storage operation on a lost database.

    Returns:
        What this worker did.

    Raises:
        StorageError: If the database stays unreachable for ``reconnect_timeout`` seconds.
    """
    from storage import is_connection_error

    loop = _Loop(
        study,
        objective,
        storage_url=storage_url,
        n_trials=n_trials,
        user_errors=user_errors,
        reconnect_timeout=reconnect_timeout,
    )
    from storage import reconnects_of

    reconnects_before = reconnects_of(study)
    started = time.monotonic()
    waiting_logged = False
    while timeout is None or time.monotonic() - started < timeout:
        deferred = DeferredSignals()
        claim_started = time.perf_counter()
        claimed = loop.retry(functools.partial(loop.claim, deferred), "claim a trial")
        loop.result.storage_seconds += time.perf_counter() - claim_started
        if claimed is None:
            deferred.raise_pending()
            break
        if isinstance(claimed, TrialCounts):
            deferred.raise_pending()
            if not waiting_logged:
                _logger.info(
                    "Waiting for %d running trial(s) of other workers (%d of %d finished); a "
                    "dead worker's trial is retried once it misses heartbeats for the grace "
                    "period.",
                    claimed.running, claimed.finished, n_trials,
                )  # fmt: skip
                waiting_logged = True
            time.sleep(loop.poll_interval)
            continue
        waiting_logged = False
        loop.run_trial(claimed, deferred)
        if on_trial_end is not None:
            try:
                on_trial_end(study)
            except Exception as e:
                if not is_connection_error(e):
                    raise
    # The outages the storage rode out inside its own calls (objective, heartbeats) too.
    loop.result.reconnects += reconnects_of(study) - reconnects_before
    return loop.result


def run_enqueued_trial(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    params: dict[str, Any],
    user_attrs: dict[str, Any],
    *,
    storage_url: str,
    user_errors: tuple[type[Exception], ...] = (),
    reconnect_timeout: float = 120.0,
) -> WorkerResult:
    """Enqueue one trial with fixed ``params`` and ``user_attrs`` and run it here, with the
    worker loop's heartbeat, retries and failure handling.

    Enqueueing and claiming happen under the study lock, so another worker cannot take the
    trial in between (and this process cannot end up running a sampled trial instead).
    """
    from storage import is_connection_error

    loop = _Loop(
        study,
        objective,
        storage_url=storage_url,
        n_trials=0,
        user_errors=user_errors,
        reconnect_timeout=reconnect_timeout,
    )
    deferred = DeferredSignals()

    def claim() -> optuna.Trial:
        with study_lock(storage_url, study.study_name), deferred, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Hh]eartbeat.*")
            study.enqueue_trial(params, user_attrs=user_attrs, skip_if_exists=False)
            trial = study.ask()
            if loop.heartbeats:
                try:
                    record_heartbeat(study, trial)
                except Exception as e:
                    if not is_connection_error(e):
                        raise
            return trial

    trial = loop.retry(claim, "enqueue a trial")
    loop.run_trial(trial, deferred)
    return loop.result
