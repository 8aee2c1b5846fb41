"""Every storage call survives a lost connection for a while (storage._retrying).

The failures are injected at the commit, where a database restart met a worker ("An exception
is raised during the commit"): Optuna wraps the driver's error in StorageInternalError.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from sqlalchemy import exc
from sqlalchemy.orm import Session

from storage import StorageUnavailableError, create_storage, is_connection_error
from storage._retrying import RETRIED_METHODS

NO_DATABASE = {
    # Read settings or manage the engine: they never talk to the database.
    "check_trial_is_updatable",
    "get_heartbeat_interval",
    "get_failed_trial_callback",
    "get_heartbeat_stale_trial_callback",
    "remove_session",
    # Schema versions: `optuna storage upgrade`, never a worker.
    "upgrade",
    "get_current_version",
    "get_head_version",
    "get_all_versions",
    # BaseStorage helpers that call get_trial (retried).
    "get_trial_params",
    "get_trial_user_attrs",
    "get_trial_system_attrs",
}


def test_every_method_that_talks_to_the_database_is_retried() -> None:
    public = {
        name
        for name, _ in inspect.getmembers(RDBStorage, inspect.isfunction)
        if not name.startswith("_")
    }
    cached = Path(inspect.getfile(optuna.storages._cached_storage)).read_text()
    called_by_the_cache = set(re.findall(r"_backend\.(\w+)\(", cached))
    missing = (public | called_by_the_cache) - set(RETRIED_METHODS) - NO_DATABASE
    assert not missing, f"RetryingRDBStorage does not retry {sorted(missing)}"


def _lost() -> exc.OperationalError:
    return exc.OperationalError(
        "COMMIT", {}, Exception("server closed the connection unexpectedly"), True
    )


def _sqlite(tmp_path: Path, reconnect_timeout: float) -> RDBStorage:
    return create_storage(
        f"sqlite:///{tmp_path / 's.db'}",
        heartbeat_interval=None,
        reconnect_timeout=reconnect_timeout,
    )


def _running_trial(tmp_path: Path, reconnect_timeout: float) -> tuple[optuna.Study, optuna.Trial]:
    study = optuna.create_study(storage=_sqlite(tmp_path, reconnect_timeout))
    return study, study.ask()


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[RDBStorage]:
    storage = _sqlite(tmp_path, 5)
    yield storage
    storage.engine.dispose()


def _fail_commits(
    monkeypatch: pytest.MonkeyPatch, times: int, *, after: bool = False, during: str = ""
) -> list[int]:
    """Make the next ``times`` commits (of the storage method ``during``, if given) raise a
    lost connection (``after``: once committed)."""
    real = Session.commit
    failures: list[int] = []

    def commit(self: Session) -> None:
        inside = not during or any(f.function == during for f in inspect.stack())
        if inside and len(failures) < times:
            failures.append(1)
            if after:
                real(self)
            raise _lost()
        real(self)

    monkeypatch.setattr(Session, "commit", commit)
    return failures


def test_a_commit_lost_with_the_connection_is_retried_and_logged(
    storage: RDBStorage, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    failures = _fail_commits(monkeypatch, 2)
    with caplog.at_level(logging.WARNING, logger="causalmix"):
        study.tell(trial, 1.0)
    assert len(failures) == 2
    assert study.trials[0].state == TrialState.COMPLETE and study.trials[0].value == 1.0
    # (Reads commit too: the first call of tell to commit is get_trial.)
    assert "is unavailable while trying to call get_trial" in caplog.text
    assert (
        "available again after" in caplog.text
        and "call get_trial retried 2 time(s)" in caplog.text
    )
    assert storage.reconnects == 1


def test_a_write_committed_before_the_connection_was_lost_is_not_done_twice(
    storage: RDBStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    failures = _fail_commits(monkeypatch, 1, after=True, during="_set_trial_param")
    assert trial.suggest_float("x", 0.0, 1.0) == trial.params["x"]
    assert failures == [1]
    failures = _fail_commits(monkeypatch, 1, after=True, during="set_trial_state_values")
    study.tell(trial, 2.0)  # the retry finds it finished as asked
    assert failures == [1]
    (stored,) = study.trials
    assert stored.state == TrialState.COMPLETE and stored.value == 2.0
    assert list(stored.params) == ["x"]


def test_a_database_gone_for_longer_than_the_timeout_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study, trial = _running_trial(tmp_path, 0.3)
    _fail_commits(monkeypatch, 10**6)
    with pytest.raises(StorageUnavailableError, match=r"stayed unavailable for 0.3 s") as info:
        study.tell(trial, 1.0)
    assert "\n" not in str(info.value)
    assert not is_connection_error(info.value)  # the worker loop does not wait a second time


def test_without_a_reconnect_timeout_the_first_failure_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study, trial = _running_trial(tmp_path, 0)
    failures = _fail_commits(monkeypatch, 1)
    with pytest.raises(optuna.exceptions.StorageInternalError, match="during the commit"):
        study.tell(trial, 1.0)
    assert len(failures) == 1


@pytest.mark.parametrize("value", [-1, float("inf"), "10", True])
def test_a_bad_reconnect_timeout_is_refused(tmp_path: Path, value: object) -> None:
    from storage import StorageError

    with pytest.raises(StorageError, match="reconnect_timeout"):
        create_storage(f"sqlite:///{tmp_path / 's.db'}", reconnect_timeout=value)  # type: ignore[arg-type]
