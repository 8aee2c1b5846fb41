"""What keeps a worker's trial safe: its heartbeat thread, and signals held back while a trial
is created or recorded."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, NamedTuple

from storage._lock import try_study_lock
from storage._optuna_private import heartbeat_interval, record_heartbeat, study_storage, trial_id
from storage._stale import fail_stale_trials

if TYPE_CHECKING:
    import optuna

__all__ = ["DeferredSignals", "Heartbeat", "heartbeat_interval_of"]

_logger = logging.getLogger("causalmix")


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

    states = [t.state for t in study.get_trials(deepcopy=False)]
    return TrialCounts(
        finished=states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED),
        running=states.count(TrialState.RUNNING),
        waiting=states.count(TrialState.WAITING),
    )


def heartbeat_interval_of(study: optuna.Study) -> int | None:
    return heartbeat_interval(study_storage(study))


class DeferredSignals:
    """Holds back SIGINT / SIGTERM while a trial is being created or recorded.

    A Ctrl-C that lands between ``ask`` and the ``try`` around the objective, or in the middle
    of recording a trial, would leave a RUNNING trial behind; instead it is delivered by
    :meth:`raise_pending` once the trial is recorded. A second signal is delivered at once (a
    way out while the database is unreachable; the trial is then failed by the heartbeat
    check). Only the main thread can handle signals, so elsewhere this does nothing.
    """

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._pending: tuple[int, FrameType | None] | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> DeferredSignals:
        if threading.current_thread() is threading.main_thread():
            for number in self._SIGNALS:
                self._previous[number] = signal.signal(number, self._hold)
        return self

    def _hold(self, number: int, frame: FrameType | None) -> None:
        if self._pending is None:
            self._pending = (number, frame)
            return
        self._restore()
        self._pending = None
        self._deliver(number, frame)

    def __exit__(self, *exc_info: object) -> None:
        self._restore()

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    @staticmethod
    def _deliver(number: int, frame: FrameType | None) -> None:
        handler = signal.getsignal(number)
        if callable(handler):
            handler(number, frame)
        elif handler == signal.SIG_DFL:
            raise KeyboardInterrupt

    def raise_pending(self) -> None:
        """Deliver a held signal to the handler that was installed before."""
        if self._pending is not None:
            number, frame = self._pending
            self._pending = None
            self._deliver(number, frame)


class Heartbeat:
    """Records a trial's heartbeat every interval, and fails other workers' stale trials."""

    def __init__(self, study: optuna.Study, storage_url: str, trial: optuna.Trial) -> None:
        self._study = study
        self._storage_url = storage_url
        self._heartbeat_trial = trial_id(trial)
        self._number = trial.number
        self._interval = heartbeat_interval_of(study)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def __enter__(self) -> Heartbeat:
        if self._interval:
            self._thread = threading.Thread(
                target=self._beat, name=f"heartbeat-{self._number}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        from storage import describe_connection_error

        assert self._interval
        while True:
            try:
                record_heartbeat(self._study, self._heartbeat_trial)
                # Never wait for the lock here: a late heartbeat would make this trial stale.
                # A worker holding the lock checks for stale trials itself.
                with try_study_lock(self._storage_url, self._study.study_name) as acquired:
                    if acquired:
                        fail_stale_trials(self._study)
            except Exception as e:  # noqa: BLE001 - a lost database must not kill the trial
                if not self._failing:
                    _logger.warning(
                        "Could not record the heartbeat of trial %d (retrying every %d s): %s",
                        self._number,
                        self._interval,
                        describe_connection_error(e, self._storage_url),
                    )
                self._failing = True
            else:
                if self._failing:
                    _logger.info("Recording heartbeats of trial %d again.", self._number)
                self._failing = False
            if self._stop.wait(self._interval):
                return
