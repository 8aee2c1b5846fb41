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
import subprocess
import sys
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
from tests.conftest import REPO_ROOT

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
         "2", "--device", "cpu", "--workers", "2", "--artifact-dir", "none", "--cache-dir",
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


def _start_holder(db: Path, seconds: float) -> subprocess.Popen[bytes]:
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "c.execute('ROLLBACK')\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(db), str(seconds)], stdout=subprocess.PIPE
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
    return holder


@pytest.fixture
def study(setup: TinySetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A study with one finished trial (heartbeat 1 s, grace 3 s)."""
    monkeypatch.setenv("CAUSALMIX_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("CAUSALMIX_GRACE_PERIOD", "3")
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    tuner.tune(
        str(setup.data), study_name="locked", storage=url, space=str(setup.space), n_trials=1,
        n_folds=2, weights=str(setup.weights), device="cpu", artifact_dir=None,
        cache_dir="none",
    )  # fmt: skip
    return url


def test_a_worker_waits_out_a_locked_file(study: str, tmp_path: Path) -> None:
    """The lock outlasts SQLite's busy timeout (1 s) but not the worker's patience."""
    env = _env(
        CAUSALMIX_SQLITE_BUSY_TIMEOUT="1", CAUSALMIX_RECONNECT_TIMEOUT="60",
        CAUSALMIX_HEARTBEAT_INTERVAL="1", CAUSALMIX_GRACE_PERIOD="30",
    )  # fmt: skip
    log = tmp_path / "worker.log"
    worker = _cli(["worker", "--study", "locked", "--storage", study, "--n-trials", "8"], env, log)
    try:
        deadline = time.monotonic() + 120
        while len(_trials(study, "locked")) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        holder = _start_holder(tmp_path / "studies.db", seconds=4)
        holder.wait(timeout=60)
        assert worker.wait(timeout=180) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    output = log.read_text()
    assert "database is locked" in output and "available again after" in output, output
    assert "Traceback" not in output
    trials = _trials(study, "locked")
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) == 8
    assert not [t for t in trials if t.state == TrialState.RUNNING]


def test_a_lock_longer_than_the_patience_is_one_clear_error(study: str, tmp_path: Path) -> None:
    """The worker gives up with one line recommending PostgreSQL; its trial is retried later."""
    env = _env(
        CAUSALMIX_SQLITE_BUSY_TIMEOUT="1", CAUSALMIX_RECONNECT_TIMEOUT="2",
        CAUSALMIX_HEARTBEAT_INTERVAL="1", CAUSALMIX_GRACE_PERIOD="3",
    )  # fmt: skip
    log = tmp_path / "worker.log"
    worker = _cli(["worker", "--study", "locked", "--storage", study, "--n-trials", "4"], env, log)
    holder = None
    try:
        deadline = time.monotonic() + 120
        while len(_trials(study, "locked")) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        holder = _start_holder(tmp_path / "studies.db", seconds=15)
        assert worker.wait(timeout=60) == 2, log.read_text()
    finally:
        for process in (worker, holder):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    errors = [line for line in log.read_text().splitlines() if "error:" in line]
    assert len(errors) == 1, log.read_text()
    assert errors[0].startswith("causalmix worker: error: The storage 'sqlite:///")
    assert "stayed unavailable for 2 s" in errors[0] and "database is locked" in errors[0]
    assert "use PostgreSQL" in errors[0]
    assert "Traceback" not in log.read_text()
    # Whatever the worker left RUNNING has no heartbeat any more: the next worker fails it
    # after the grace period, retries it, and the study reaches its count.
    env.update(CAUSALMIX_RECONNECT_TIMEOUT="60")
    again = _cli(["worker", "--study", "locked", "--storage", study, "--n-trials", "4"], env, log)
    assert again.wait(timeout=180) == 0, log.read_text()
    trials = _trials(study, "locked")
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) == 4
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
