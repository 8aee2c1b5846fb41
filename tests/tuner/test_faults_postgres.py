"""Load and faults on the real PostgreSQL server: many workers, kill -9, Ctrl-C, a restart.

Trials use a tiny randomly initialised TabFM on a 60-row table (``benchmarks.load``), so they
are real but cheap; heartbeats and the grace period are shortened through the environment
(``CAUSALMIX_HEARTBEAT_INTERVAL`` / ``CAUSALMIX_GRACE_PERIOD``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from benchmarks.load import TinySetup, write_tiny_setup
from storage import create_storage
from tests.conftest import REPO_ROOT, TEST_DEVICE, require_service
from tuner._cli import main

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HEARTBEAT, GRACE = 1, 4
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _env(heartbeat: int = HEARTBEAT, grace: int = GRACE, **extra: str) -> dict[str, str]:
    """One thread per process (six workers share two cores), short heartbeats."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("CAUSALMIX_STORAGE_URL", None)
    env.update(CAUSALMIX_HEARTBEAT_INTERVAL=str(heartbeat), CAUSALMIX_GRACE_PERIOD=str(grace))
    env.update(extra)
    return env


def _cli(*arguments: str, env: dict[str, str], **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-m", "tuner", *arguments],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _tune_args(setup: TinySetup, url: str, study: str, n_trials: int) -> list[str]:
    return [
        "tune", "--data", str(setup.data), "--study", study, "--storage", url,
        "--space", str(setup.space), "--weights", str(setup.weights), "--n-trials",
        str(n_trials), "--n-folds", "2", "--device", TEST_DEVICE, "--artifact-dir", "none",
        "--cache-dir", "none", "--no-progress",
    ]  # fmt: skip


def _trials(url: str, study: str) -> list[FrozenTrial]:
    storage = create_storage(url, heartbeat_interval=None)
    try:
        return optuna.load_study(study_name=study, storage=storage).get_trials()
    finally:
        storage.engine.dispose()


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def _study_exists(url: str, study: str) -> bool:
    storage = create_storage(url, heartbeat_interval=None)
    try:
        return any(s.study_name == study for s in storage.get_all_studies())
    finally:
        storage.engine.dispose()


def _check_consistent(trials: list[FrozenTrial], n_trials: int) -> None:
    finished = [t for t in trials if t.state in FINISHED]
    assert len(finished) == n_trials, [(t.number, t.state.name) for t in trials]
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials)))
    for trial in finished:
        assert trial.value is not None
        assert {"config", "timings", "fold_roc_auc", "worker"} <= set(trial.user_attrs)


@pytest.fixture(autouse=True)
def _short_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """For the commands these tests run in this process."""
    monkeypatch.setenv("CAUSALMIX_HEARTBEAT_INTERVAL", str(HEARTBEAT))
    monkeypatch.setenv("CAUSALMIX_GRACE_PERIOD", str(GRACE))
    monkeypatch.delenv("CAUSALMIX_STORAGE_URL", raising=False)


@pytest.fixture
def setup(tmp_path: Path) -> TinySetup:
    return write_tiny_setup(tmp_path / "tiny")


@pytest.fixture
def slow_setup(tmp_path: Path) -> TinySetup:
    """Trials of a few seconds, so that a signal lands in the middle of one."""
    return write_tiny_setup(tmp_path / "slow", steps_per_epoch=200)


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_trial_that_never_recorded_a_heartbeat_is_failed_and_retried(
    postgres_url: str,
) -> None:
    """A worker killed between creating a trial and its first heartbeat: Optuna alone would
    leave the trial RUNNING forever (it only fails trials whose heartbeat is old)."""
    from storage import fail_stale_trials

    storage = create_storage(postgres_url, heartbeat_interval=1, grace_period=2)
    try:
        study = optuna.create_study(storage=storage, study_name="orphan")
        orphan = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        fail_stale_trials(study)
        assert study.trials[0].state == TrialState.RUNNING  # within its grace period
        time.sleep(2.5)
        fail_stale_trials(study)
        states = [t.state for t in study.trials]
        assert states == [TrialState.FAIL, TrialState.WAITING]
        assert study.trials[1].params == orphan.params
        assert study.trials[1].system_attrs["failed_trial"] == orphan.number
    finally:
        storage.engine.dispose()


def test_six_workers_finish_exactly_sixty_trials(postgres_url: str, setup: TinySetup) -> None:
    # A generous grace period: this test is about throughput and exact counts, not crashes.
    env = _env(heartbeat=2, grace=20)
    process = _cli(*_tune_args(setup, postgres_url, "load", 60), "--workers", "6", env=env)
    stdout, stderr = process.communicate(timeout=400)
    assert process.returncode == 0, stderr
    for line in stderr.splitlines():
        assert not any(word in line.lower() for word in ("error", "traceback", "exited with")), (
            line
        )
    trials = _trials(postgres_url, "load")
    assert len(trials) == 60, "surplus or failed trials"
    _check_consistent(trials, 60)
    # Each of the six processes took part (a worker identity is host:pid).
    assert len({t.user_attrs["worker"] for t in trials}) == 6
    assert "0 failed trials" in stdout


def test_killed_worker_trial_is_failed_within_the_grace_period_and_retried(
    postgres_url: str, slow_setup: TinySetup, capsys: pytest.CaptureFixture[str]
) -> None:
    # Creates the study (one trial, in this process); then two workers share 5 more trials.
    assert main([*_tune_args(slow_setup, postgres_url, "kill", 1)]) == 0, capsys.readouterr()
    worker_args = ["worker", "--study", "kill", "--storage", postgres_url, "--n-trials", "6"]
    victim = _cli(*worker_args, env=_env())
    survivor = _cli(*worker_args, env=_env())
    try:

        def running_of(pid: int) -> list[FrozenTrial]:
            return [
                t
                for t in _trials(postgres_url, "kill")
                if t.state == TrialState.RUNNING
                and t.user_attrs.get("worker", "").endswith(f":{pid}")
            ]

        # Both workers busy, the victim inside a trial (past its first heartbeat).
        _wait_until(
            lambda: bool(running_of(victim.pid)) and bool(running_of(survivor.pid)),
            timeout=120,
            what="both workers to run a trial",
        )
        time.sleep(1.0)
        killed_at = time.monotonic()
        victim.kill()  # SIGKILL: no chance to record anything
        victim.wait(timeout=10)
        # The trial the kill orphaned, read after the kill: a trial read before it may finish
        # in between on a loaded machine (the victim then dies in its next trial).
        orphaned = running_of(victim.pid)
        assert len(orphaned) == 1, f"the victim was not inside one trial: {orphaned}"
        (trial,) = orphaned

        def state() -> TrialState:
            return next(t.state for t in _trials(postgres_url, "kill") if t.number == trial.number)

        _wait_until(lambda: state() != TrialState.RUNNING, timeout=60, what="the stale trial")
        elapsed = time.monotonic() - killed_at
        assert state() == TrialState.FAIL
        # Failed once it missed heartbeats for the grace period, by the survivor's heartbeat
        # thread (checks every interval), plus polling slack on a busy machine.
        assert GRACE - 2 * HEARTBEAT <= elapsed <= GRACE + 2 * HEARTBEAT + 4, elapsed
        _, stderr = survivor.communicate(timeout=240)
        assert survivor.returncode == 0, stderr
    finally:
        for process in (victim, survivor):
            if process.poll() is None:
                process.kill()
                process.wait()
    trials = _trials(postgres_url, "kill")
    _check_consistent(trials, 6)
    # The killed trial left no OOF predictions (not half of them); the finished ones have theirs.
    from storage import OOF_ATTR

    (killed,) = [t for t in trials if t.number == trial.number]
    assert OOF_ATTR not in killed.system_attrs
    assert all(OOF_ATTR in t.system_attrs for t in trials if t.state in FINISHED)
    (retried,) = [t for t in trials if t.system_attrs.get("failed_trial") == trial.number]
    assert retried.state in FINISHED
    assert retried.params == trial.params
    assert retried.user_attrs["worker"].endswith(f":{survivor.pid}")


def test_ctrl_c_during_tune_records_the_trials_and_a_rerun_finishes(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Trials of several seconds, and ten of them: the two workers then overlap for long
    # stretches, which the polling below must catch while trials are still left. (With
    # 2-second trials and 6 of them, a loaded machine started the spawned worker so late that
    # the overlap came at the last trial, and Ctrl-C landed after the work was done.)
    slower = write_tiny_setup(tmp_path / "slower", steps_per_epoch=200)
    args = _tune_args(slower, postgres_url, "sigint", 10)
    # A new session: the parent and its spawned worker form one process group, which is what
    # Ctrl-C in a terminal signals. SIGINT starts at its default: a test run started in the
    # background of a script inherits it ignored, and Python then keeps ignoring it.
    process = _cli(
        *args, "--workers", "2", env=_env(), start_new_session=True,
        preexec_fn=_default_sigint,
    )  # fmt: skip
    try:
        _wait_until(
            lambda: (
                _study_exists(postgres_url, "sigint")
                and sum(t.state == TrialState.RUNNING for t in _trials(postgres_url, "sigint"))
                == 2
            ),
            timeout=120,
            what="two running trials",
        )
        time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, stderr
    assert "causalmix tune: interrupted" in stderr
    assert "Traceback" not in stderr
    with pytest.raises(ProcessLookupError):  # the spawned worker is gone too
        os.killpg(process.pid, 0)
    trials = _trials(postgres_url, "sigint")
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    # Enqueued trials (the references, the portfolio) that no worker had claimed yet stay
    # WAITING, never started, for the rerun to run: when the two workers are caught on the first
    # two trials, the third enqueued one is still waiting.
    for waiting in [t for t in trials if t.state == TrialState.WAITING]:
        assert waiting.datetime_start is None and "fixed_params" in waiting.system_attrs
    interrupted = [t for t in trials if t.state == TrialState.FAIL]
    assert interrupted, "the running trials were neither failed nor finished"
    for trial in interrupted:
        assert trial.user_attrs["fail_reason"].startswith("KeyboardInterrupt")

    # The rerun (in this process) continues to the requested count.
    capsys.readouterr()
    assert main(args) == 0, capsys.readouterr().err
    trials = _trials(postgres_url, "sigint")
    assert len([t for t in trials if t.state in FINISHED]) == 10
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert sorted(t.number for t in trials) == list(range(len(trials)))


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cluster() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"] if versions else []


def _server_ready() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0


@pytest.fixture
def restartable_server(postgres_url: str) -> Iterator[list[str]]:
    """The pg_ctlcluster command of the local server; it is running again afterwards."""
    cluster = _cluster()
    require_service(
        bool(cluster) and os.geteuid() == 0,
        "stopping the PostgreSQL server needs pg_ctlcluster and root",
    )
    try:
        yield cluster
    finally:
        if not _server_ready():
            subprocess.run([*cluster, "start"], check=False)
        _wait_until(_server_ready, timeout=60, what="the PostgreSQL server to come back")


def test_four_workers_ride_out_two_database_restarts(
    postgres_url: str, setup: TinySetup, restartable_server: list[str]
) -> None:
    """The only test that stops the shared server; each outage lasts a few seconds.

    Trials are short, so the workers meet the outages in every kind of storage call (claim,
    reports, attributes, the OOF predictions, tell and its commit), not only in their heartbeat
    threads. Every call is retried with backoff (storage.RetryingRDBStorage), so no trial is
    lost to an outage.
    """
    env = _env(grace=30, CAUSALMIX_RECONNECT_TIMEOUT="90")
    process = _cli(*_tune_args(setup, postgres_url, "outage", 40), "--workers", "4", env=env)
    try:
        _wait_until(
            lambda: (
                _study_exists(postgres_url, "outage")
                and len({t.user_attrs.get("worker") for t in _trials(postgres_url, "outage")}) == 4
            ),
            timeout=180,
            what="all four workers to run trials",
        )
        for restart in range(2):
            if restart:
                time.sleep(4)  # the workers go on between the outages
            subprocess.run([*restartable_server, "stop", "-m", "fast"], check=True)
            try:
                time.sleep(3)
            finally:
                subprocess.run([*restartable_server, "start"], check=True)
        _, stderr = process.communicate(timeout=400)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in stderr
    assert "is unavailable while trying to" in stderr, stderr  # the outages were noticed ...
    assert "available again after" in stderr, stderr  # ... and ridden out, with a log line
    assert process.returncode == 0, stderr  # every worker finished
    trials = _trials(postgres_url, "outage")
    assert len({t.user_attrs.get("worker") for t in trials}) == 4
    _check_consistent(trials, 40)
    # A trial cut by an outage is retried, not failed: none is lost.
    assert not [
        (t.number, t.user_attrs.get("fail_reason")) for t in trials if t.state == TrialState.FAIL
    ]
