"""Running studies: ``tune`` (create or resume a study, with local worker processes that
share the CPU cores) and ``work`` (join an existing study as one more worker)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from tuner._errors import TunerError, WorkerFailedError
from tuner._settings import StudySettings, dataset_fingerprint
from tuner._worker import WorkerResult, count_trials, run_worker

if TYPE_CHECKING:
    import optuna

    from search_spaces import Portfolio, SearchSpace

from tuner._defaults import (
    DEFAULT_ARTIFACT_DIR,
    DEFAULT_CONFIRM_SEEDS,
    DEFAULT_DISCOVERY_TIMEOUT,
    DEFAULT_N_FOLDS,
    DEFAULT_N_TRIALS,
    DEFAULT_PORTFOLIO,
    DEFAULT_SPACE,
)
from tuner._errors import USER_ERRORS
from tuner._references import enqueue_first_trials, name_objective
from tuner._study import (
    N_TRIALS_ATTR,
    SETTINGS_ATTR,
    build_runtime,
    check_folds,
    check_same_settings,
    load_data,
    load_study,
    make_objective,
    make_pruner,
    make_sampler,
    open_storage,
    resolved_weights,
    resumed_seed,
    storage_options,
)

__all__ = ["tune", "work"]

_logger = logging.getLogger("causalmix")


def tune(
    data: str,
    target: str = "target",
    *,
    study_name: str,
    storage: str | None = None,
    space: str = DEFAULT_SPACE,
    n_trials: int = DEFAULT_N_TRIALS,
    timeout: float | None = None,
    seed: int = 0,
    n_folds: int = DEFAULT_N_FOLDS,
    pruner: str = "auto",
    device: str = "auto",
    fold_batching: bool = False,
    discovery_timeout: float | None = DEFAULT_DISCOVERY_TIMEOUT,
    backend: str = "tabfm",
    weights: str | None = None,
    categorical_max_levels: int | None = None,
    artifact_dir: str | None = DEFAULT_ARTIFACT_DIR,
    cache_dir: str | None = None,
    workers: int = 1,
    progress: bool = False,
    valid_fraction: float | None = None,
    references: bool = True,
    portfolio: str | Portfolio | None = DEFAULT_PORTFOLIO,
    confirm_seeds: int = DEFAULT_CONFIRM_SEEDS,
) -> optuna.Study:
    """Create (or resume) a study and run it until it has ``n_trials`` finished trials.

    ``n_trials`` is the study's total: resuming a study with 6 finished trials and
    ``n_trials=10`` runs 4 more. Everything the user passes is validated before the study is
    created or touched.

    Args:
        data: A CSV / Parquet path or ``sklearn:NAME``.
        target: Target column.
        study_name: Study name in the storage.
        storage: Storage URL (``None``: ``sqlite:///causalmix.db`` in the working directory).
        space: A shipped space name or a path to a space file.
        n_trials: Total finished trials wanted.
        timeout: Stop starting new trials after this many seconds.
        seed: Seed of every random choice.
        n_folds: Inner cross-validation folds per trial.
        pruner: ``auto``, ``wilcoxon``, ``median``, ``forgiving``, ``hyperband`` or ``none``
            (see :class:`StudySettings`).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        fold_batching: Fine-tune each trial's inner folds together (see
            :class:`StudySettings`); a resumed study keeps its own setting.
        discovery_timeout: Seconds a fold's structure discovery may take before the trial is
            pruned (``None``: no limit); a resumed study keeps its own setting.
        backend: Foundation-model backend.
        weights: Local weights for the backend.
        categorical_max_levels: Whole-number columns with 2 to this many distinct values are
            categories whose codes the ensemble and fine-tuning shuffle (``0``: none; ``None``:
            the backend's default; TabFM only). It changes every prediction, the zero-shot
            baseline's too, so a resumed study refuses another value (``None`` keeps its own).
        artifact_dir: Directory of the artifact store shared by workers (``None``: no
            artifacts).
        cache_dir: Discovery / mechanism cache directory (``None``: the study database for
            PostgreSQL, ``.causalmix_cache`` next to a SQLite file; ``"none"``: no cache).
        workers: Local worker processes (this process is one of them).
        progress: Show a progress bar.
        valid_fraction: Share of each fold's training rows held out for early stopping
            (``None``: :class:`StudySettings`' default, 0.2).
        references: Whether a new study starts with the reference trials (default
            fine-tuning, then the paper's CausalMixFT configuration; see
            :mod:`tuner._references`). Ignored when the study exists.
        portfolio: The configurations a new study evaluates after the references: a
            shipped portfolio's name, a portfolio YAML path, a
            :class:`search_spaces.Portfolio`, or ``None`` / ``"none"`` for none. Ignored when
            the study exists.
        confirm_seeds: When the selection passes BBC-CV, run the picked configuration and
            default fine-tuning again with this many fresh fine-tuning seeds, so that export
            can confirm the pick (``0``: no confirmation; see :mod:`tuner._confirm`).

    Heartbeats, the grace period after which a dead worker's trial is retried, and how long a
    lost database is waited for come from the ``CAUSALMIX_*`` environment variables of
    :class:`storage.StorageOptions` (spawned workers inherit them).

    Returns:
        The study.

    Raises:
        TunerError, CausalMixError, SearchSpaceError, StorageError, TabFMError: For bad input,
            before the study is created or changed.
        KeyboardInterrupt: On Ctrl-C or SIGTERM, after the running trials were recorded FAIL
            and the spawned workers stopped.
    """
    import optuna

    from search_spaces import load_space
    from storage import mask_url, resolve_storage_url, study_exists

    if n_trials < 1:
        raise TunerError(f"`n_trials >= 1` must hold, but got n_trials={n_trials}.")
    if workers < 1:
        raise TunerError(f"`workers >= 1` must hold, but got workers={workers}.")
    if timeout is not None and timeout <= 0:
        raise TunerError(f"`timeout > 0` must hold, but got timeout={timeout}.")
    if isinstance(confirm_seeds, bool) or not isinstance(confirm_seeds, int) or confirm_seeds < 0:
        raise TunerError(
            f"`confirm_seeds >= 0` must hold, but got confirm_seeds={confirm_seeds!r}."
        )
    search_space = load_space(space)
    warm_start = _resolve_portfolio(portfolio)
    X, y = load_data(data, target)
    _warn_slow_independence_test(search_space, n_nodes=X.shape[1] + 1)
    settings = StudySettings(
        data=str(Path(data).resolve()) if not data.startswith("sklearn:") else data,
        target=target,
        space=search_space.to_dict(),
        seed=seed,
        n_folds=n_folds,
        pruner=pruner,
        backend=backend,
        weights=resolved_weights(weights),
        device=device,
        fold_batching=fold_batching,
        discovery_timeout=discovery_timeout,
        categorical_max_levels=categorical_max_levels,
        dataset_fingerprint=dataset_fingerprint(X, y),
        n_rows=len(X),
        n_features=X.shape[1],
        classes=sorted(pd.unique(y).tolist(), key=str),
    )
    if valid_fraction is not None:
        settings = dataclasses.replace(settings, valid_fraction=valid_fraction)
    check_folds(y, n_folds)
    url = resolve_storage_url(storage)
    options = storage_options()
    rdb = open_storage(url)
    exists = study_exists(rdb, study_name)
    if exists:
        existing_study, existing, _ = load_study(study_name, url)
        check_same_settings(existing, settings, study_name)
        settings = existing
    # Everything that can fail on bad input happens before the study is created or changed.
    runtime = build_runtime(
        settings,
        study_name=study_name,
        storage_url=url,
        artifact_dir=artifact_dir,
        cache_dir=cache_dir,
        data=(X, y),
    )
    if exists:
        study = existing_study
        _logger.info("Resuming study %r in %s.", study_name, mask_url(url))
    else:
        study = optuna.create_study(
            storage=rdb,
            study_name=study_name,
            direction="maximize",
            sampler=make_sampler(seed),
            pruner=make_pruner(settings),
        )
        study.set_user_attr(SETTINGS_ATTR, settings.to_dict())
        name_objective(study)
        _check_portfolio_weights(warm_start, settings)
        enqueued = enqueue_first_trials(
            study, search_space, n_trials, references=references, portfolio=warm_start
        )
        if enqueued:
            _logger.info("Enqueued the first trials: %s.", ", ".join(enqueued))
        _logger.info("Created study %r in %s.", study_name, mask_url(url))
    study.set_user_attr(N_TRIALS_ATTR, n_trials)
    if artifact_dir is not None and artifact_dir != "none":
        study.set_user_attr("causalmix_artifact_dir", str(Path(artifact_dir).resolve()))
    study.sampler = make_sampler(resumed_seed(seed, study))
    study.pruner = make_pruner(settings)

    objective = make_objective(study, settings, runtime)
    with _cpu_share(workers):
        extra = _spawn_workers(
            study_name, url, workers - 1, n_trials, timeout, seed, artifact_dir, cache_dir
        )
        try:
            _run_with_progress(
                study, objective, url, n_trials, timeout, progress, options.reconnect_timeout
            )
        except BaseException:
            _stop_workers(extra)
            raise
        _wait_for(
            extra,
            study_complete=lambda: count_trials(study, include_active=False) >= n_trials,
        )
        if count_trials(study, include_active=False) >= n_trials:
            from tuner._confirm import confirm_pick

            confirm_pick(
                study,
                objective,
                confirm_seeds,
                storage_url=url,
                user_errors=USER_ERRORS,
                reconnect_timeout=options.reconnect_timeout,
            )
    return study


def _check_portfolio_weights(portfolio: Portfolio | None, settings: StudySettings) -> None:
    """Warn when the portfolio was learned with other TabFM weights than the study uses: its
    configurations and their order were chosen for those."""
    if portfolio is None or settings.backend != "tabfm":
        return
    from tabfm import weights_sha256

    learned, current = portfolio.weights_sha256, weights_sha256(settings.weights)
    if learned is None:
        _logger.warning(
            "The portfolio %r does not record the weights it was learned with; it may not suit "
            "the weights in use (sha256 %s).", portfolio.name, current[:12],
        )  # fmt: skip
    elif learned != current:
        _logger.warning(
            "The portfolio %r was learned with other TabFM weights (sha256 %s) than this study "
            "uses (%s): its configurations are a warm start chosen for those; relearn it with "
            "benchmarks/portfolio.py, or pass --portfolio none.",
            portfolio.name, learned[:12], current[:12],
        )  # fmt: skip


def _warn_slow_independence_test(search_space: SearchSpace, n_nodes: int) -> None:
    """Warn when the space can set ``indep_test: dg`` on a table wider than ``auto`` allows it
    (``causalmix.DG_MAX_NODES``): on such tables one trial that draws it can run over an hour
    (README, "Known limits"), and the space, not the user, made that choice."""
    from causalmix import DG_MAX_NODES

    offers_dg = any(
        param.name == "indep_test" and (param.value == "dg" or "dg" in param.choices)
        for param in search_space.params
    )
    if offers_dg and n_nodes > DG_MAX_NODES:
        _logger.warning(
            "The space %r can set indep_test='dg', and the table has %d nodes (features + "
            "target), more than the %d up to which 'auto' picks dg: a trial that draws it can run "
            "over an hour. A space without 'dg' (or with a discovery depth limit) avoids that.",
            search_space.name, n_nodes, DG_MAX_NODES,
        )  # fmt: skip


def _resolve_portfolio(portfolio: str | Portfolio | None) -> Portfolio | None:
    from search_spaces import Portfolio, load_portfolio

    if portfolio is None or isinstance(portfolio, Portfolio):
        return portfolio
    return None if portfolio == "none" else load_portfolio(portfolio)


def _run_with_progress(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    url: str,
    n_trials: int,
    timeout: float | None,
    progress: bool,
    reconnect_timeout: float,
) -> WorkerResult:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_trials, desc="trials", unit="trial", leave=True)
        bar.update(min(n_trials, count_trials(study, include_active=False)))

    def update(current: optuna.Study) -> None:
        if bar is not None:
            finished = min(n_trials, count_trials(current, include_active=False))
            bar.update(finished - bar.n)
            try:
                bar.set_postfix(best=f"{current.best_value:+.3f}%")
            except ValueError:
                pass

    try:
        return run_worker(
            study,
            objective,
            storage_url=url,
            n_trials=n_trials,
            timeout=timeout,
            user_errors=USER_ERRORS,
            on_trial_end=update,
            reconnect_timeout=reconnect_timeout,
        )
    finally:
        if bar is not None:
            bar.close()


def _threads_per_worker(workers: int) -> int:
    """CPU threads for each of ``workers`` local processes, so that they share the cores."""
    return max(1, (os.cpu_count() or 1) // workers)


@contextlib.contextmanager
def _cpu_share(workers: int) -> Iterator[None]:
    """While it is open, this process keeps to its share of the CPU cores (one of ``workers``
    local processes), unless there is only one or the user set OMP_NUM_THREADS.

    Without it, K processes each run torch and BLAS on every core, and oversubscription makes
    K workers slower than one. The caller's thread settings are restored afterwards.
    """
    if workers <= 1 or "OMP_NUM_THREADS" in os.environ:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    threads = _threads_per_worker(workers)
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield
    finally:
        torch.set_num_threads(previous)


def _spawn_workers(
    study_name: str,
    url: str,
    count: int,
    n_trials: int,
    timeout: float | None,
    seed: int,
    artifact_dir: str | None,
    cache_dir: str | None,
) -> list[subprocess.Popen[bytes]]:
    processes = []
    for index in range(1, count + 1):
        command = [
            sys.executable, "-m", "tuner", "--quiet", "worker",
            "--study", study_name, "--n-trials", str(n_trials), "--seed", str(seed + index),
        ]  # fmt: skip
        if timeout is not None:
            command += ["--timeout", str(timeout)]
        if artifact_dir is not None:
            command += ["--artifact-dir", artifact_dir]
        if cache_dir is not None:
            command += ["--cache-dir", cache_dir]
        env = dict(os.environ, CAUSALMIX_STORAGE_URL=url)  # keeps passwords off the command line
        # Each process gets its share of the cores (torch and BLAS read OMP_NUM_THREADS).
        env.setdefault("OMP_NUM_THREADS", str(_threads_per_worker(count + 1)))
        processes.append(subprocess.Popen(command, env=env))
    return processes


def _wait_for(
    processes: list[subprocess.Popen[bytes]], *, study_complete: Callable[[], bool]
) -> None:
    """Wait for the spawned workers. One that failed is a warning when the others finished
    the study's trials anyway (they retry what it left), and a :class:`WorkerFailedError`
    when the study is short of them."""
    try:
        for process in processes:
            process.wait()
    except BaseException:
        _stop_workers(processes)
        raise
    failed = [p for p in processes if p.returncode != 0]
    if not failed:
        return
    codes = ", ".join(f"{p.pid} (exit code {p.returncode})" for p in failed)
    message = f"{len(failed)} of {len(processes)} spawned worker processes failed: {codes}"
    if study_complete():
        _logger.warning("%s; the others finished the study's trials.", message)
        return
    raise WorkerFailedError(
        f"{message}, and the study is short of its trials. Check their messages above, the "
        "database's health and the machine's memory; running tune again resumes the study."
    )


def _stop_workers(processes: list[subprocess.Popen[bytes]], grace: float = 30.0) -> None:
    """Stop spawned workers as Ctrl-C would: each records its running trial, then exits.

    A Ctrl-C in a terminal reaches the workers too, so they get a moment to stop on their own
    before they are sent SIGINT; any still alive after ``grace`` seconds is killed (its trial
    is then failed by the heartbeat check and retried).
    """
    import signal

    def wait(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))

    try:
        wait(2.0)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        wait(grace)
    finally:
        for process in processes:
            if process.poll() is None:
                _logger.warning("Killing worker process %d, which did not stop.", process.pid)
                process.kill()
                process.wait()


def work(
    study_name: str,
    storage: str | None = None,
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    seed: int | None = None,
    artifact_dir: str | None = None,
    cache_dir: str | None = None,
) -> WorkerResult:
    """Join an existing study as a worker (the dataset and settings are read from the study).

    Args:
        n_trials: Total finished trials wanted (default: the count given to ``tune``).
        seed: Sampler seed of this worker (default: random, so workers don't duplicate).
        artifact_dir: Artifact directory (default: the one the study was created with).

    Returns:
        What this worker did (see :class:`tuner._worker.WorkerResult`).

    Raises:
        StorageError: If the study does not exist, or its database stays unavailable for
            ``CAUSALMIX_RECONNECT_TIMEOUT`` seconds.
    """
    if n_trials is not None and n_trials < 1:
        raise TunerError(f"`n_trials >= 1` must hold, but got n_trials={n_trials}.")
    if timeout is not None and timeout <= 0:
        raise TunerError(f"`timeout > 0` must hold, but got timeout={timeout}.")
    options = storage_options()
    study, settings, url = load_study(study_name, storage)
    target = n_trials or int(study.user_attrs.get(N_TRIALS_ATTR, DEFAULT_N_TRIALS))
    if artifact_dir is None:
        artifact_dir = study.user_attrs.get("causalmix_artifact_dir")
    runtime = build_runtime(
        settings,
        study_name=study_name,
        storage_url=url,
        artifact_dir=artifact_dir,
        cache_dir=cache_dir,
    )
    study.sampler = make_sampler(resumed_seed(seed, study))
    study.pruner = make_pruner(settings)
    return run_worker(
        study,
        make_objective(study, settings, runtime),
        storage_url=url,
        n_trials=target,
        timeout=timeout,
        user_errors=USER_ERRORS,
        reconnect_timeout=options.reconnect_timeout,
    )
