"""``causalmix storage-proxy``: workers, tune and export through Optuna's gRPC storage proxy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from benchmarks.load import TinySetup, storage_proxy, write_tiny_setup
from storage import StorageError, create_storage
from storage._proxy import _Leases
from tests.conftest import TEST_DEVICE
from tuner._cli import main

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("CAUSALMIX_STORAGE_URL", None)
    return env


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A storage proxy in front of a fresh SQLite file: (grpc URL, database URL)."""
    database = f"sqlite:///{tmp_path / 'studies.db'}"
    with storage_proxy(database) as url:
        yield url, database


def _tune_args(setup: TinySetup, url: str, n_trials: int) -> list[str]:
    return [
        "tune", "--data", str(setup.data), "--study", "through", "--storage", url,
        "--space", str(setup.space), "--weights", str(setup.weights), "--n-trials",
        str(n_trials), "--n-folds", "2", "--device", TEST_DEVICE, "--artifact-dir", "none",
        "--no-progress", "--confirm-seeds", "0",
    ]  # fmt: skip


def test_tune_workers_and_export_through_the_proxy(
    proxy: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, database = proxy
    monkeypatch.chdir(tmp_path)
    setup = write_tiny_setup(tmp_path / "tiny")
    # tune with two workers (this process and one it spawns), then a third worker joining.
    assert main([*_tune_args(setup, url, 6), "--workers", "2"]) == 0
    assert "causalmix dashboard --storage DATABASE_URL_OF_THE_PROXY" in capsys.readouterr().out
    worker = subprocess.run(
        [sys.executable, "-m", "tuner", "worker", "--study", "through", "--storage", url,
         "--n-trials", "8", "--artifact-dir", "none"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    # Everything is in the database behind the proxy: exactly 8 finished trials, with their
    # out-of-fold predictions, none left RUNNING or WAITING.
    storage = create_storage(database, heartbeat_interval=None, create=False)
    trials = optuna.load_study(study_name="through", storage=storage).get_trials()
    assert len([t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]) == 8
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert all("causalmix:oof" in t.system_attrs for t in trials if t.state == TrialState.COMPLETE)
    # The discovery / mechanism cache of proxy workers is a directory (by default in the
    # working directory; --cache-dir names a shared one).
    from causalmix import DirectoryCache
    from tuner._study import _default_cache

    cache = _default_cache(url, None)
    assert isinstance(cache, DirectoryCache)
    assert cache.path == tmp_path / ".causalmix_cache"
    capsys.readouterr()
    # (into a folder that export creates, as `make demo` does)
    out = "runs/best.yaml"
    assert main(["export", "--study", "through", "--storage", url, "--out", out]) == 0
    assert (tmp_path / "runs" / "best.yaml").is_file()


def test_the_proxy_refuses_bad_arguments_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = f"sqlite:///{tmp_path / 's.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["storage-proxy", "--storage", database, "--port", str(port)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("causalmix storage-proxy: error: The storage proxy cannot listen")
        assert f"127.0.0.1:{port}" in err and "\n" not in err
    assert main(["storage-proxy", "--storage", "grpc://127.0.0.1:13000"]) == 2
    assert "not another proxy" in capsys.readouterr().err
    assert main(["storage-proxy", "--storage", database, "--port", "70000"]) == 2
    assert "must be between 1 and 65535, got 70000" in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists()  # nothing was created


def test_an_unreachable_proxy_is_an_operational_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"grpc://127.0.0.1:{_free_port()}"
    assert (
        main(["export", "--study", "s", "--storage", url, "--out", str(tmp_path / "b.yaml")]) == 3
    )
    err = capsys.readouterr().err.strip()
    assert "Cannot reach the storage proxy" in err and "\n" not in err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("grpc://127.0.0.1", "needs a host and a port"),
        ("grpc://user:secret@127.0.0.1:13000", "takes no user"),
        ("grpc://127.0.0.1:13000/studies", "takes no path"),
    ],
)
def test_bad_proxy_urls_are_refused(url: str, message: str) -> None:
    from storage import resolve_storage_url

    with pytest.raises(StorageError, match=message) as info:
        resolve_storage_url(url)
    assert "secret" not in str(info.value)


def test_the_dashboard_reads_the_database_not_the_proxy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["dashboard", "--storage", "grpc://127.0.0.1:13000"]) == 2
    assert "pass the database URL that the storage proxy serves" in capsys.readouterr().err


def test_the_study_lock_is_a_lease() -> None:
    leases = _Leases(lease=0.2)
    assert leases.try_acquire("s", "a")
    assert not leases.try_acquire("s", "b") and leases.try_acquire("t", "b")
    assert not leases.release("s", "b") and leases.release("s", "a")
    assert leases.try_acquire("s", "b")
    time.sleep(0.3)  # b was killed while holding it: it expires
    assert leases.try_acquire("s", "c")
