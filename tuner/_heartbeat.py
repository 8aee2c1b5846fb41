"""What keeps a worker's trial safe: its heartbeat thread, and signals held back while a trial
is created or recorded."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from storage._lock import try_study_lock
from storage._optuna_private import heartbeat_interval, record_heartbeat, study_storage, trial_id
from storage._stale import fail_stale_trials

if TYPE_CHECKING:
    import optuna

__all__ = ["DeferredSignals", "Heartbeat", "heartbeat_interval_of"]

_logger = logging.getLogger("causalmix")


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
