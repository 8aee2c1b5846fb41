"""Failing the trials of dead workers, so that they are retried and the study completes.

Optuna fails a RUNNING trial once its last heartbeat is older than the grace period, but it
never fails one that has no heartbeat at all: a worker that died (or lost its database) between
creating a trial and recording its first heartbeat would leave that trial RUNNING forever. Such
a trial is failed here once its start is older than the grace period.
"""

from __future__ import annotations

import copy
import datetime
import warnings
from typing import TYPE_CHECKING, Any

from storage._optuna_private import (
    heartbeat_interval,
    orm_models,
    rdb_storage,
    study_id,
    study_storage,
)

if TYPE_CHECKING:
    import optuna

__all__ = ["fail_stale_trials"]


def fail_stale_trials(study: optuna.Study) -> None:
    """Fail the study's RUNNING trials whose worker is gone, and run the retry callback.

    A trial is gone when its last heartbeat, or its start if it never recorded one, is older
    than the storage's grace period. Does nothing on a storage without heartbeats. Call it
    under the study lock (:func:`storage.study_lock`) so that no worker counts trials while a
    failed one is being enqueued again.
    """
    import optuna

    if heartbeat_interval(study_storage(study)) is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    _fail_trials_without_heartbeat(study)


def _fail_trials_without_heartbeat(study: optuna.Study) -> None:
    import optuna
    from optuna.trial import TrialState

    models = orm_models()
    storage = study_storage(study)
    backend = rdb_storage(storage)
    if backend is None or backend.heartbeat_interval is None:
        return
    grace = datetime.timedelta(seconds=backend.grace_period or 2 * backend.heartbeat_interval)
    started: Any = getattr(models.TrialModel, "_datetime_start_utc", None)
    if started is not None:  # Optuna >= 5 stores naive UTC
        cutoff = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - grace
    else:  # earlier versions store the worker's naive local time
        started, cutoff = models.TrialModel.datetime_start, datetime.datetime.now() - grace
    session = backend.scoped_session()
    try:
        orphans = [
            trial_id
            for (trial_id,) in session.query(models.TrialModel.trial_id)
            .outerjoin(
                models.TrialHeartbeatModel,
                models.TrialHeartbeatModel.trial_id == models.TrialModel.trial_id,
            )
            .filter(
                models.TrialModel.study_id == study_id(study),
                models.TrialModel.state == TrialState.RUNNING,
                models.TrialHeartbeatModel.trial_id.is_(None),
                started < cutoff,
            )
            .all()
        ]
    finally:
        session.close()
    callback = backend.get_heartbeat_stale_trial_callback()
    for trial_id in orphans:
        try:
            if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker was first
        if callback is not None:
            callback(study, copy.deepcopy(storage.get_trial(trial_id)))
