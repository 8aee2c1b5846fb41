"""Multi-worker load on one study: throughput, storage time per trial, failures (prints tables).

Each scenario creates a fresh study over a tiny dataset with a tiny, randomly initialised TabFM
(a real model, just cheap), then starts W worker processes (``tuner.work``) that together must
finish exactly N trials, while a reader thread polls the study the way the dashboard does. It
reports:

* trials per minute, from the first trial's start to the last trial's end (worker start-up
  excluded) and over the whole wall time;
* storage time per finished trial: the worker loop's own storage calls (study lock, stale-trial
  check, count, ask, tell) and the objective's attribute writes (its ``timings["storage"]``);
* failures: FAIL trials, workers that stopped with an error, reader errors, "database is
  locked" errors, surplus or duplicate trials, trials left RUNNING.

The trial cost is real CPU work, so on a small machine trials per minute measure the CPU, and
the storage columns measure the database.

The proxy scenarios (``--proxy-workers``, default 32) measure the storage path alone: a cheap
objective (one sampled number, one report, one attribute, 5 ms) in the crash-safe worker loop
(``tuner.run_worker``), once with every worker connecting to PostgreSQL and once through one
``causalmix storage-proxy`` on loopback. They report trials/min, the database's peak number of
connections to the study database (polled every 0.2 s from ``pg_stat_activity``), and the
exact count. Each scenario stops by itself after ``--time-limit`` seconds (workers stop claiming,
the pool and the proxy are shut down), and says so.

Usage::

    python benchmarks/load.py [--postgres URL] [--workers 8] [--trials 120]
        [--sqlite-workers 2 4 8] [--sqlite-trials 60] [--skip-postgres] [--skip-sqlite]
        [--proxy-workers 32] [--proxy-trials 1000] [--time-limit 600] [--skip-proxy]

``--postgres`` is a server URL; the benchmark creates a fresh database on it and drops it
afterwards (default: ``$CAUSALMIX_TEST_POSTGRES_URL`` or the local server as ``postgres``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

__all__ = ["TinySetup", "run_proxy_scenario", "run_scenario", "write_tiny_setup"]

DEFAULT_POSTGRES = os.environ.get(
    "CAUSALMIX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class TinySetup:
    """Files for cheap but real trials: a small table, a tiny TabFM and a one-knob space."""

    data: Path
    weights: Path
    space: Path


def write_tiny_setup(
    folder: str | Path,
    *,
    n_rows: int = 60,
    steps_per_epoch: int = 1,
    synthetic_ratio: float = 0.0,
    seed: int = 0,
) -> TinySetup:
    """Write a tiny dataset, a tiny randomly initialised TabFM and a tiny search space.

    Args:
        folder: Where to write ``tiny.csv``, ``weights/`` and ``tiny_space.yaml``.
        n_rows: Rows of the two-class table (3 numeric features).
        steps_per_epoch: Fine-tuning steps per trial and fold (makes a trial longer).
        synthetic_ratio: Fixed ratio of synthetic rows (0: no causal augmentation).
        seed: Seed of the data and of the model's initial weights.
    """
    import numpy as np
    import pandas as pd
    import torch

    from tabfm import TabFMConfig, TabFMModel, save_weights

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=n_rows) > 0).astype(int)
    y[:2] = [0, 1]  # both classes, whatever the seed
    frame = pd.DataFrame(X.round(4), columns=["a", "b", "c"]).assign(target=y)
    data = folder / "tiny.csv"
    frame.to_csv(data, index=False)
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        config = TabFMConfig(
            embed_dim=8, n_layers=1, n_heads=1, mlp_ratio=1, feature_id_dim=4, max_features=16
        )
        model = TabFMModel(config)
    finally:
        torch.random.set_rng_state(generator_state)
    weights = save_weights(model, folder / "weights")
    space = folder / "tiny_space.yaml"
    augmentation = f"  synthetic_ratio: {synthetic_ratio}\n" + (
        "  discovery: pc\n  indep_test: fisherz\n  n_bootstrap: 2\n  n_dags: 1\n"
        "  mechanism_quality: linear\n"
        if synthetic_ratio > 0
        else ""
    )
    space.write_text(
        "name: tiny\n"
        "description: Cheapest trials, for load and fault tests.\n"
        "params:\n"
        + augmentation
        + "  learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}\n"
        "  epochs: 1\n"
        f"  steps_per_epoch: {steps_per_epoch}\n"
        "  episodes_per_step: 1\n"
        "  context_size: 16\n"
        "  patience: 1\n"
    )
    return TinySetup(data=data, weights=weights, space=space)


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server of ``server_url``, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(server_url)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"causalmix_load_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _worker(study_name: str, url: str, n_trials: int, seed: int) -> dict[str, Any]:
    """One worker process (run by the pool): join the study and work until it is done."""
    import logging

    import optuna

    import tuner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    errors: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR or "locked" in record.getMessage():
                errors.append(record.getMessage())

    logging.getLogger().addHandler(Collect())
    try:
        result = tuner.work(study_name, url, n_trials=n_trials, seed=seed, cache_dir="none")
    except Exception as e:  # noqa: BLE001 - reported as a failure of this worker
        return {"error": f"{type(e).__name__}: {e}", "logged": errors}
    return {"result": result, "logged": errors}


class _Reader(threading.Thread):
    """Polls the study like the dashboard: every trial, every half second."""

    def __init__(self, url: str, study_name: str) -> None:
        super().__init__(daemon=True)
        self.url, self.study_name = url, study_name
        self.stop = threading.Event()
        self.reads = 0
        self.errors: list[str] = []

    def run(self) -> None:
        import optuna

        from storage import create_storage

        storage = create_storage(self.url, heartbeat_interval=None)
        study = optuna.load_study(study_name=self.study_name, storage=storage)
        while not self.stop.wait(0.5):
            try:
                study.get_trials(deepcopy=False)
                self.reads += 1
            except Exception as e:  # noqa: BLE001 - counted and reported
                self.errors.append(f"{type(e).__name__}: {e}")
        storage.engine.dispose()


def run_scenario(
    label: str, url: str, setup: TinySetup, *, workers: int, n_trials: int, seed: int = 0
) -> dict[str, object]:
    """Create a study, run ``workers`` processes to ``n_trials`` trials, measure, check."""
    import optuna
    from optuna.trial import TrialState

    import tuner

    study_name = f"load-{uuid.uuid4().hex[:8]}"
    # One trial in this process creates the study and its zero-shot baseline.
    tuner.tune(
        str(setup.data), study_name=study_name, storage=url, space=str(setup.space),
        n_trials=1, n_folds=2, seed=seed, weights=str(setup.weights), device="cpu",
        artifact_dir=None, cache_dir="none",
    )  # fmt: skip
    reader = _Reader(url, study_name)
    reader.start()
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(_worker, study_name, url, n_trials, seed + 1 + index)
            for index in range(workers)
        ]
        outcomes = [future.result() for future in futures]
    wall = time.perf_counter() - started
    reader.stop.set()
    reader.join()

    study = optuna.load_study(study_name=study_name, storage=url)
    trials = study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    results = [o["result"] for o in outcomes if "result" in o]
    worker_errors = [o["error"] for o in outcomes if "error" in o]
    logged = [m for o in outcomes for m in o["logged"]]
    window = [t for t in finished if t.number > 0]
    starts = [t.datetime_start for t in window if t.datetime_start is not None]
    ends = [t.datetime_complete for t in window if t.datetime_complete is not None]
    span = (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0
    n_run = len(window)
    n_done = max(1, sum(r.finished for r in results))
    loop_storage = sum(r.storage_seconds for r in results) / n_done
    lock_wait = sum(r.lock_wait_seconds for r in results) / n_done
    lock_held = sum(r.lock_held_seconds for r in results) / n_done
    objective_storage = sum(t.user_attrs.get("timings", {}).get("storage", 0.0) for t in window)
    locked = [m for m in logged + worker_errors + reader.errors if "locked" in m]
    return {
        "storage": label,
        "workers": workers,
        "trials": len(finished),
        "trials/min (trials)": 60 * n_run / span if span > 0 else float("nan"),
        "trials/min (wall)": 60 * n_run / wall,
        "loop storage s/trial": loop_storage,
        "of which lock wait": lock_wait,
        "lock held": lock_held,
        "objective storage s/trial": objective_storage / max(1, n_run),
        "FAIL trials": sum(t.state == TrialState.FAIL for t in trials),
        "worker errors": len(worker_errors),
        "reader reads/errors": f"{reader.reads}/{len(reader.errors)}",
        "locked errors": len(locked),
        "exact count": len(finished) == n_trials
        and sorted(t.number for t in finished) == sorted({t.number for t in finished}),
        "left RUNNING": sum(t.state == TrialState.RUNNING for t in trials),
    }


def _cheap_objective(trial: Any) -> float:
    x = float(trial.suggest_float("x", 0.0, 1.0))
    trial.report(x, 0)
    trial.set_user_attr("worker_pid", os.getpid())
    time.sleep(0.005)
    return x


def _cheap_worker(
    study_name: str, url: str, n_trials: int, seed: int, timeout: float
) -> dict[str, Any]:
    """One worker process of a proxy scenario: the worker loop over the cheap objective."""
    import optuna

    import tuner
    from storage import create_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = create_storage(url, heartbeat_interval=None)
        study = optuna.load_study(
            study_name=study_name, storage=storage, sampler=optuna.samplers.RandomSampler(seed)
        )
        result = tuner.run_worker(
            study, _cheap_objective, storage_url=url, n_trials=n_trials, timeout=timeout
        )
    except Exception as e:  # noqa: BLE001 - reported as a failure of this worker
        return {"error": f"{type(e).__name__}: {e}"}
    return {"result": result}


class _PeakConnections(threading.Thread):
    """The largest number of server connections to one database, polled every 0.2 s."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.stop = threading.Event()
        self.peak = 0

    def run(self) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :name "
            "AND pid <> pg_backend_pid()"
        )
        with engine.connect() as connection:
            while not self.stop.wait(0.2):
                count = connection.execute(query, {"name": url.database}).scalar() or 0
                self.peak = max(self.peak, int(count))
        engine.dispose()


@contextmanager
def storage_proxy(database_url: str, threads: int = 64) -> Iterator[str]:
    """A ``causalmix storage-proxy`` subprocess on a free loopback port: its grpc:// URL."""
    import socket
    import subprocess

    from storage import StorageError, create_storage

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "tuner", "-q", "storage-proxy", "--storage", database_url]
    command += ["--port", str(port), "--threads", str(threads)]
    log = tempfile.TemporaryFile(mode="w+")  # never a pipe that nobody reads
    process = subprocess.Popen(command, stderr=log, text=True)
    url = f"grpc://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                create_storage(url, connect_timeout=1).close()  # type: ignore[attr-defined]
                break
            except StorageError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    said = " ".join(log.read().split())[-500:]
                    raise RuntimeError(f"the storage proxy did not start: {said}") from None
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def run_proxy_scenario(
    label: str,
    url: str,
    database_url: str,
    *,
    workers: int,
    n_trials: int,
    time_limit: float,
    seed: int = 0,
) -> dict[str, object]:
    """``workers`` processes run the cheap objective to ``n_trials`` through ``url``; the
    connections are counted on ``database_url``'s database."""
    import optuna
    from optuna.trial import TrialState

    from storage import create_storage

    study_name = f"proxy-load-{uuid.uuid4().hex[:8]}"
    creator = create_storage(url, heartbeat_interval=None)
    optuna.create_study(study_name=study_name, storage=creator, direction="maximize")
    peak = _PeakConnections(database_url)
    peak.start()
    started = time.perf_counter()
    deadline = started + time_limit
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    futures = [
        pool.submit(_cheap_worker, study_name, url, n_trials, seed + index, time_limit)
        for index in range(workers)
    ]
    outcomes: list[dict[str, Any]] = []
    stopped = False
    for future in futures:
        try:
            outcomes.append(future.result(timeout=max(1.0, deadline + 60 - time.perf_counter())))
        except Exception as e:  # noqa: BLE001 - a hung or dead worker is reported
            outcomes.append({"error": f"{type(e).__name__}: {e}"})
            stopped = True
    pool.shutdown(wait=not stopped, cancel_futures=True)
    wall = time.perf_counter() - started
    peak.stop.set()
    peak.join()
    trials = optuna.load_study(study_name=study_name, storage=creator).get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    starts = [t.datetime_start for t in finished if t.datetime_start is not None]
    ends = [t.datetime_complete for t in finished if t.datetime_complete is not None]
    span = (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0
    errors = [o["error"] for o in outcomes if "error" in o]
    return {
        "storage": label,
        "workers": workers,
        "trials": len(finished),
        "trials/min (trials)": 60 * len(finished) / span if span > 0 else float("nan"),
        "trials/min (wall)": 60 * len(finished) / wall,
        "peak DB connections": peak.peak,
        "FAIL trials": sum(t.state == TrialState.FAIL for t in trials),
        "worker errors": len(errors),
        "exact count": len(finished) == n_trials == len(trials),
        "left RUNNING": sum(t.state == TrialState.RUNNING for t in trials),
        "stopped by time limit": wall > time_limit or stopped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL")
    parser.add_argument("--workers", type=int, default=8, help="PostgreSQL workers")
    parser.add_argument("--trials", type=int, default=120, help="PostgreSQL trials")
    parser.add_argument("--sqlite-workers", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--sqlite-trials", type=int, default=60)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--proxy-workers", type=int, default=32)
    parser.add_argument("--proxy-trials", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=600.0, help="per proxy scenario")
    parser.add_argument("--skip-proxy", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per worker process (default: 1)"
    )
    args = parser.parse_args()
    # Before torch is imported here or in the spawned workers (they inherit the environment).
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)

    import logging

    from benchmarks._suite import format_table

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    rows = []
    with tempfile.TemporaryDirectory(prefix="causalmix-load-") as folder:
        setup = write_tiny_setup(folder, seed=args.seed)
        if not args.skip_postgres:
            with fresh_postgres_database(args.postgres) as url:
                rows.append(
                    run_scenario(
                        "PostgreSQL", url, setup, workers=args.workers, n_trials=args.trials
                    )
                )
                print(format_table(rows[-1:]), flush=True)
        if not args.skip_proxy:
            proxy_rows = []
            options = {
                "workers": args.proxy_workers,
                "n_trials": args.proxy_trials,
                "time_limit": args.time_limit,
                "seed": args.seed,
            }
            with fresh_postgres_database(args.postgres) as url:
                proxy_rows.append(run_proxy_scenario("PostgreSQL, direct", url, url, **options))
                print(format_table(proxy_rows[-1:]), flush=True)
            with fresh_postgres_database(args.postgres) as url, storage_proxy(url) as proxy:
                proxy_rows.append(
                    run_proxy_scenario("PostgreSQL, through the proxy", proxy, url, **options)
                )
                print(format_table(proxy_rows[-1:]), flush=True)
            print()
            print(
                "Cheap objective (5 ms) in the worker loop, RandomSampler, no heartbeats; peak "
                "DB connections = pg_stat_activity rows on the study database."
            )
            print(format_table(proxy_rows), flush=True)
            print()
        if not args.skip_sqlite:
            for workers in args.sqlite_workers:
                url = f"sqlite:///{Path(folder) / f'load_{workers}.db'}"
                rows.append(
                    run_scenario(
                        "SQLite", url, setup, workers=workers, n_trials=args.sqlite_trials
                    )
                )
                print(format_table(rows[-1:]), flush=True)
    if not rows:
        return
    print()
    print(
        f"{os.cpu_count()} CPU cores, {args.threads} torch thread(s) per worker. trials/min "
        "(trials) spans the first trial start to the last trial end, after the study-creating "
        "trial; (wall) includes worker start-up. Loop storage = study lock + stale check + "
        "count + ask (with the sampler) + tell, per finished trial; objective storage = the "
        "trial's attribute writes."
    )
    print(format_table(rows))


if __name__ == "__main__":
    main()
