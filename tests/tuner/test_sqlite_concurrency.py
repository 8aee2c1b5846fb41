"""SQLite, the embedded default: two workers and the dashboard at once, and a locked file.

SQLite runs in WAL mode (readers never block the writer) with a busy timeout, and the worker
retries an operation that still finds the file locked, so no "database is locked" error reaches
the user unless the lock outlasts ``CAUSALMIX_RECONNECT_TIMEOUT``; then the worker stops with a
one-line error that recommends PostgreSQL.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import tuner
from benchmarks.load import TinySetup, write_tiny_setup
from storage import create_storage
from tests.conftest import REPO_ROOT, TEST_DEVICE
from tuner._cli import main
from tuner._objective import Objective

pytestmark = pytest.mark.slow


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("CAUSALMIX_STORAGE_URL", None)
    env.update(extra)
    return env


def _cli(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "tuner", *argv],
            cwd=REPO_ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    storage = create_storage(url, heartbeat_interval=None)
    try:
        return optuna.load_study(study_name=study, storage=storage).get_trials()
    finally:
        storage.engine.dispose()


@pytest.fixture
def setup(tmp_path: Path) -> TinySetup:
    return write_tiny_setup(tmp_path / "tiny")


def test_two_workers_and_the_dashboard_share_a_sqlite_file(tmp_path: Path) -> None:
    # Trials long enough (about a second) that the spawned worker starts before they are done.
    setup = write_tiny_setup(tmp_path / "tiny", steps_per_epoch=10)
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    port = _free_port()
    dashboard = _cli(
        ["dashboard", "--storage", url, "--port", str(port), "--artifact-dir",
         str(tmp_path / "artifacts")],
        _env(), tmp_path / "dashboard.log",
    )  # fmt: skip
    tune = _cli(
        ["tune", "--data", str(setup.data), "--study", "shared", "--storage", url, "--space",
         str(setup.space), "--weights", str(setup.weights), "--n-trials", "20", "--n-folds",
         "2", "--device", TEST_DEVICE, "--workers", "2", "--artifact-dir", "none", "--cache-dir",
         "none", "--no-progress"],
        _env(), tmp_path / "tune.log",
    )  # fmt: skip
    reads, failed_reads, seen = 0, [], set()
    try:
        deadline = time.monotonic() + 300
        while tune.poll() is None and time.monotonic() < deadline:
            try:
                base = f"http://127.0.0.1:{port}/api/studies"
                with urllib.request.urlopen(base, timeout=10) as response:
                    summaries = json.loads(response.read())["study_summaries"]
                for summary in summaries:
                    with urllib.request.urlopen(
                        f"{base}/{summary['study_id']}", timeout=10
                    ) as response:
                        seen.update(t["state"] for t in json.loads(response.read())["trials"])
                reads += 1
            except urllib.error.HTTPError as e:
                failed_reads.append(f"{e.code}: {e.read()[:300]!r}")
            except OSError:
                if dashboard.poll() is not None:
                    break
            time.sleep(0.2)
        assert tune.wait(timeout=30) == 0, (tmp_path / "tune.log").read_text()
    finally:
        for process in (tune, dashboard):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
    tune_log = (tmp_path / "tune.log").read_text()
    dashboard_log = (tmp_path / "dashboard.log").read_text()
    assert failed_reads == []
    assert reads >= 5 and "Running" in seen  # the dashboard read while workers wrote
    for log in (tune_log, dashboard_log):
        assert "locked" not in log and "Traceback" not in log and "unavailable" not in log
    trials = _trials(url, "shared")
    assert len(trials) == 20
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 2


class _LockHolder(threading.Thread):
    """Another connection takes SQLite's write lock, as a long write would, right after the
    worker's trial number ``after_trials`` has run its objective and before the worker writes
    the trial's result; it keeps the lock for ``seconds`` or until :attr:`release` is set.

    The objective waits until the lock is held, so the worker always meets it (a holder that
    polled the trial count could take the lock only after the worker had finished).
    """

    def __init__(
        self, db: Path, monkeypatch: pytest.MonkeyPatch, *, after_trials: int, seconds: float
    ) -> None:
        super().__init__(daemon=True)
        self.db, self.seconds = db, seconds
        self.held = threading.Event()
        self.release = threading.Event()
        self._reached = threading.Event()
        calls = 0
        objective = Objective.__call__

        def call(this: Objective, trial: optuna.Trial) -> float:
            nonlocal calls
            value = objective(this, trial)
            calls += 1
            if calls == after_trials:
                self._reached.set()
                assert self.held.wait(30), "the lock holder never took the lock"
            return value

        monkeypatch.setattr(Objective, "__call__", call)

    def run(self) -> None:
        connection = sqlite3.connect(self.db, timeout=60, isolation_level=None)
        try:
            if not self._reached.wait(300):
                return
            connection.execute("BEGIN IMMEDIATE")
            self.held.set()
            self.release.wait(self.seconds)
            connection.execute("ROLLBACK")
        finally:
            connection.close()


@pytest.fixture
def study(
    setup: TinySetup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """A study with one finished trial; heartbeat 1 s, SQLite busy timeout 1 s."""
    monkeypatch.delenv("CAUSALMIX_STORAGE_URL", raising=False)
    monkeypatch.setenv("CAUSALMIX_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("CAUSALMIX_GRACE_PERIOD", "3")
    monkeypatch.setenv("CAUSALMIX_SQLITE_BUSY_TIMEOUT", "1")
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    tuner.tune(
        str(setup.data), study_name="locked", storage=url, space=str(setup.space), n_trials=1,
        n_folds=2, weights=str(setup.weights), device=TEST_DEVICE, artifact_dir=None,
        cache_dir="none",
    )  # fmt: skip
    capsys.readouterr()
    return url


def test_a_worker_waits_out_a_locked_file(
    study: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The lock outlasts SQLite's busy timeout (1 s) but not the worker's patience (60 s)."""
    monkeypatch.setenv("CAUSALMIX_RECONNECT_TIMEOUT", "60")
    holder = _LockHolder(tmp_path / "studies.db", monkeypatch, after_trials=3, seconds=4)
    holder.start()
    code = main(["worker", "--study", "locked", "--storage", study, "--n-trials", "8"])
    holder.join()
    assert holder.held.is_set()
    assert code == 0, capsys.readouterr().err
    messages = [r.getMessage() for r in caplog.records]
    assert any("database is locked" in m for m in messages), messages
    assert any("available again after" in m for m in messages), messages
    trials = _trials(study, "locked")
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) == 8
    assert not [t for t in trials if t.state == TrialState.RUNNING]


def test_a_lock_longer_than_the_patience_is_one_clear_error(
    study: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The worker gives up with one line recommending PostgreSQL; its trial is retried later."""
    monkeypatch.setenv("CAUSALMIX_RECONNECT_TIMEOUT", "2")
    holder = _LockHolder(tmp_path / "studies.db", monkeypatch, after_trials=2, seconds=120)
    holder.start()
    code = main(["worker", "--study", "locked", "--storage", study, "--n-trials", "4"])
    err = capsys.readouterr().err
    holder.release.set()
    holder.join()
    assert code == 3, err  # an operational failure, not bad input
    (error,) = [line for line in err.splitlines() if "error:" in line]
    assert error.startswith("causalmix worker: error: The storage 'sqlite:///")
    assert "stayed unavailable for 2 s" in error and "database is locked" in error
    assert "use PostgreSQL" in error and "Traceback" not in err
    # Whatever the worker left RUNNING has no heartbeat any more: the next worker fails it
    # after the grace period, retries it, and the study reaches its count.
    monkeypatch.setenv("CAUSALMIX_RECONNECT_TIMEOUT", "60")
    assert main(["worker", "--study", "locked", "--storage", study, "--n-trials", "4"]) == 0
    trials = _trials(study, "locked")
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) == 4
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
