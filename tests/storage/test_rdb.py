from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import pytest
from sqlalchemy import text

from storage import (
    StorageError,
    StorageUnavailableError,
    create_storage,
    load_existing_study,
    resolve_storage_url,
    storage_url_of,
    study_exists,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _dispose(storage: optuna.storages.RDBStorage) -> None:
    storage.engine.dispose()


def test_sqlite_storage_uses_wal_and_busy_timeout(tmp_path: Path) -> None:
    url = resolve_storage_url(f"sqlite:///{tmp_path / 'study.db'}")
    storage = create_storage(url, busy_timeout=12.5)
    try:
        with storage.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 12500
    finally:
        _dispose(storage)
    # WAL is a property of the file: a fresh connection from elsewhere sees it too.
    raw = sqlite3.connect(tmp_path / "study.db")
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_create_storage_warns_about_nothing(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        storage = create_storage(f"sqlite:///{tmp_path / 'a.db'}", heartbeat_interval=5)
    _dispose(storage)


def test_heartbeat_and_retry_callback_are_configured(tmp_path: Path) -> None:
    storage = create_storage(
        f"sqlite:///{tmp_path / 'a.db'}", heartbeat_interval=7, grace_period=20
    )
    try:
        assert storage.get_heartbeat_interval() == 7
        assert storage.grace_period == 20
        assert storage.get_heartbeat_stale_trial_callback() is not None
    finally:
        _dispose(storage)
    no_heartbeat = create_storage(f"sqlite:///{tmp_path / 'a.db'}", heartbeat_interval=None)
    try:
        assert no_heartbeat.get_heartbeat_interval() is None
    finally:
        _dispose(no_heartbeat)


def test_bad_heartbeat_interval_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"`heartbeat_interval > 0` must hold.*=0"):
        create_storage(f"sqlite:///{tmp_path / 'a.db'}", heartbeat_interval=0)


def test_bad_retry_count_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"failed_trial_max_retry=-1"):
        create_storage(f"sqlite:///{tmp_path / 'a.db'}", failed_trial_max_retry=-1)


def test_sqlite_in_missing_folder_names_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(StorageError, match="does not exist") as info:
        create_storage(f"sqlite:///{missing / 'x.db'}")
    assert str(missing) in str(info.value)


def test_readers_never_create_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    with pytest.raises(StorageError, match=r"'sqlite:///.*typo\.db' does not exist"):
        create_storage(url, heartbeat_interval=None, create=False)
    assert list(tmp_path.iterdir()) == []
    create_storage(url, heartbeat_interval=None).engine.dispose()
    create_storage(url, heartbeat_interval=None, create=False).engine.dispose()


def test_unreachable_postgres_fails_fast_and_masked() -> None:
    start = time.perf_counter()
    with pytest.raises(StorageUnavailableError) as info:  # an outage: exit code 3
        create_storage("postgresql+psycopg://u:secret@127.0.0.1:1/x", connect_timeout=2)
    elapsed = time.perf_counter() - start
    message = str(info.value)
    assert elapsed < 10, elapsed
    assert "secret" not in message
    assert "'postgresql+psycopg://u:***@127.0.0.1:1/x'" in message
    assert "Connection refused" in message or "connection failed" in message


def test_unresolvable_host_fails_fast_and_masked() -> None:
    start = time.perf_counter()
    with pytest.raises(StorageUnavailableError) as info:
        create_storage("postgresql+psycopg://u:secret@no-such-host.invalid/x", connect_timeout=2)
    assert time.perf_counter() - start < 15
    assert "secret" not in str(info.value)
    assert "u:***@no-such-host.invalid" in str(info.value)


@pytest.mark.postgres
def test_missing_postgres_database_is_named(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url).set(database="causalmix_no_such_db", password="secret")
    with pytest.raises(StorageError) as info:
        create_storage(url.render_as_string(hide_password=False))
    # The server answered: the URL is wrong (exit code 2), it is no outage (exit code 3).
    assert not isinstance(info.value, StorageUnavailableError)
    message = str(info.value)
    assert "causalmix_no_such_db" in message
    assert "secret" not in message


def test_study_exists_and_load_existing_study(tmp_path: Path) -> None:
    storage = create_storage(f"sqlite:///{tmp_path / 's.db'}")
    try:
        assert not study_exists(storage, "alpha")
        optuna.create_study(study_name="alpha", storage=storage)
        optuna.create_study(study_name="beta", storage=storage)
        assert study_exists(storage, "alpha")
        assert load_existing_study(storage, "beta").study_name == "beta"
        with pytest.raises(StorageError) as info:
            load_existing_study(storage, "gamma")
        message = str(info.value)
        assert "There is no study 'gamma'" in message
        assert "existing studies: 'alpha', 'beta'" in message
        assert str(tmp_path / "s.db") in message
    finally:
        _dispose(storage)


def test_load_from_empty_storage_says_none(tmp_path: Path) -> None:
    storage = create_storage(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with pytest.raises(StorageError, match="existing studies: none"):
            load_existing_study(storage, "x")
    finally:
        _dispose(storage)


@pytest.mark.postgres
def test_postgres_round_trip(postgres_url: str) -> None:
    storage = create_storage(postgres_url, heartbeat_interval=5)
    try:
        assert storage.engine.pool._pre_ping
        study = optuna.create_study(
            study_name="pg", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0)
        )
        study.set_user_attr("causalmix", {"format_version": 1, "seed": 0})
        study.optimize(lambda t: t.suggest_float("x", -1.0, 1.0) ** 2, n_trials=4)
    finally:
        _dispose(storage)
    # A second storage object (as on another machine) sees the same study.
    other = create_storage(postgres_url)
    try:
        assert study_exists(other, "pg")
        loaded = load_existing_study(other, "pg")
        assert len(loaded.trials) == 4
        assert loaded.user_attrs["causalmix"] == {"format_version": 1, "seed": 0}
        assert loaded.best_value == min(t.value for t in loaded.trials if t.value is not None)
        assert storage_url_of(loaded._storage) == resolve_storage_url(postgres_url)
    finally:
        _dispose(other)


_CRASHING_WORKER = """
import os, sys, time
import optuna
from storage import create_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)
storage = create_storage(sys.argv[1], heartbeat_interval=1, grace_period=3)
study = optuna.load_study(study_name="crash", storage=storage)

def objective(trial):
    trial.suggest_float("x", 0.0, 1.0)
    time.sleep(1.5)  # long enough for heartbeats to be recorded
    os._exit(3)  # the worker dies mid-trial, leaving the trial RUNNING

study.optimize(objective, n_trials=1)
"""


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_crashed_worker_trial_is_failed_and_retried(tmp_path: Path) -> None:
    url = resolve_storage_url(f"sqlite:///{tmp_path / 'crash.db'}")
    storage = create_storage(url, heartbeat_interval=1, grace_period=3, failed_trial_max_retry=2)
    try:
        study = optuna.create_study(study_name="crash", storage=storage)
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        worker = subprocess.run(
            [sys.executable, "-c", _CRASHING_WORKER, url], env=env, timeout=120, check=False
        )
        assert worker.returncode == 3
        (crashed,) = study.get_trials()
        assert crashed.state == optuna.trial.TrialState.RUNNING

        # Within the grace period the trial is not stale yet.
        optuna.storages.fail_stale_trials(study)
        assert study.get_trials()[0].state == optuna.trial.TrialState.RUNNING

        deadline = time.monotonic() + 30
        while study.get_trials()[0].state == optuna.trial.TrialState.RUNNING:
            assert time.monotonic() < deadline, "the stale trial was never failed"
            time.sleep(0.5)
            optuna.storages.fail_stale_trials(study)

        failed, retry = study.get_trials()
        assert failed.state == optuna.trial.TrialState.FAIL
        assert retry.state == optuna.trial.TrialState.WAITING
        assert retry.params == crashed.params
        assert retry.system_attrs["failed_trial"] == crashed.number

        # The next worker picks the enqueued retry up with the same parameters.
        seen: list[float] = []

        def objective(trial: optuna.Trial) -> float:
            seen.append(trial.suggest_float("x", 0.0, 1.0))
            return 0.0

        study.optimize(objective, n_trials=1)
        assert seen == [crashed.params["x"]]
        assert study.get_trials()[1].state == optuna.trial.TrialState.COMPLETE
    finally:
        _dispose(storage)


def test_a_lost_connection_wrapped_by_optuna_is_a_connection_error() -> None:
    """Optuna wraps a failed commit ("An exception is raised during the commit") around the
    SQLAlchemy error; a session left with a dead transaction raises PendingRollbackError."""
    from optuna.exceptions import StorageInternalError
    from sqlalchemy import exc

    from storage import is_connection_error

    for cause in (
        exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back."),
        exc.OperationalError("COMMIT", {}, Exception("server closed the connection")),
    ):
        try:
            try:
                raise cause
            except exc.SQLAlchemyError as e:
                raise StorageInternalError("An exception is raised during the commit.") from e
        except StorageInternalError as wrapped:
            assert is_connection_error(wrapped)
    assert not is_connection_error(
        StorageInternalError("An exception is raised during the commit.")
    )
    assert not is_connection_error(exc.IntegrityError("INSERT", {}, Exception("duplicate")))


def test_processes_opening_a_fresh_postgres_database_at_once_all_succeed(
    postgres_url: str,
) -> None:
    """Each opener creates Optuna's tables; the losers of that race used to fail with a
    duplicate key in pg_type (seen as `tune` exiting with "Cannot open the storage")."""
    import threading

    barrier = threading.Barrier(6)
    errors: list[BaseException] = []
    storages = []

    def open_storage() -> None:
        barrier.wait()
        try:
            storages.append(create_storage(postgres_url, heartbeat_interval=None))
        except BaseException as e:  # noqa: BLE001 - collected and reported below
            errors.append(e)

    threads = [threading.Thread(target=open_storage) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == [] and len(storages) == 6
    finally:
        for storage in storages:
            storage.engine.dispose()


def _prepare_each(paths: list[str], barrier: Any, results: Any) -> None:
    from sqlalchemy.engine import make_url

    from storage._rdb import prepare_sqlite

    errors = []
    for path in paths:
        barrier.wait(timeout=60)
        url = f"sqlite:///{path}"
        try:
            prepare_sqlite(make_url(url), url)
        except StorageError as e:
            errors.append(str(e))
    results.put(errors)


def test_processes_preparing_a_fresh_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Switching a fresh file to WAL from two processes at once made SQLite answer "database is
    locked" at once, without its busy handler (seen in CI as a cache writer failing to open the
    shared file); without the retry, this test failed three runs in three here."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    paths = [str(tmp_path / f"fresh-{index}.db") for index in range(100)]
    barrier = context.Barrier(4)
    results = context.Queue()
    processes = [
        context.Process(target=_prepare_each, args=(paths, barrier, results)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    errors = [error for _ in processes for error in results.get(timeout=120)]
    for process in processes:
        process.join(timeout=60)
    assert errors == []
    for path in paths:
        connection = sqlite3.connect(path)
        try:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            connection.close()
