"""The Python API of the tuning service (the CLI is a thin layer over it)."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tuner._errors import TunerError, WorkerFailedError
from tuner._settings import StudySettings, dataset_fingerprint
from tuner._worker import WorkerResult, count_trials, run_worker

if TYPE_CHECKING:
    import optuna

    from causalmix import BaseCache
    from storage import StorageOptions
    from tabfm import BaseBackend, FineTunedClassifier
    from tuner._objective import Fold

__all__ = [
    "DEFAULT_ARTIFACT_DIR",
    "export_best",
    "fit",
    "load_study",
    "predict",
    "tune",
    "work",
]

_logger = logging.getLogger("causalmix")

SETTINGS_ATTR = "causalmix"
N_TRIALS_ATTR = "causalmix_n_trials"
DEFAULT_ARTIFACT_DIR = "causalmix_artifacts"


def _storage_options() -> StorageOptions:
    from storage import StorageOptions

    return StorageOptions.from_env()


def _open_storage(url: str, *, create: bool = True) -> optuna.storages.RDBStorage:
    from storage import create_storage

    return create_storage(url, create=create, **_storage_options().storage_kwargs())


def _user_errors() -> tuple[type[Exception], ...]:
    from tuner._cli import USER_ERRORS

    return USER_ERRORS


def _load_data(data: str, target: str) -> tuple[pd.DataFrame, pd.Series]:
    from causalmix import load_dataset

    return load_dataset(data, target)


def _make_sampler(seed: int | None) -> optuna.samplers.BaseSampler:
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=True, n_startup_trials=5
        )


def _make_pruner(settings: StudySettings) -> optuna.pruners.BasePruner:
    import warnings

    import optuna

    name = settings.resolved_pruner
    if name == "wilcoxon":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=2)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)
    return optuna.pruners.NopPruner()


def _default_cache(storage_url: str, cache_dir: str | None) -> BaseCache | None:
    from causalmix import DirectoryCache

    if cache_dir is not None:
        return None if cache_dir == "none" else DirectoryCache(cache_dir)
    if storage_url.startswith("postgresql"):
        from storage import RDBCache

        # Shared with workers on other machines through the study's own database.
        return RDBCache(storage_url)
    from sqlalchemy.engine import make_url

    database = make_url(storage_url).database
    base = Path(database).parent if database and database != ":memory:" else Path.cwd()
    return DirectoryCache(base / ".causalmix_cache")


def _open_artifact_store(artifact_dir: str | None) -> Any:
    if artifact_dir is None or artifact_dir == "none":
        return None
    from storage import open_artifact_store

    return open_artifact_store(artifact_dir)


def load_study(study_name: str, storage: str | None) -> tuple[optuna.Study, StudySettings, str]:
    """Load an existing tuning study and its settings.

    Returns:
        ``(study, settings, storage_url)``.

    Raises:
        StorageError: If the storage is unreachable or has no such study.
        TunerError: If the study was not created by ``causalmix tune``.
    """
    from storage import load_existing_study, resolve_storage_url

    url = resolve_storage_url(storage)
    study = load_existing_study(_open_storage(url, create=False), study_name)
    values = study.user_attrs.get(SETTINGS_ATTR)
    if not isinstance(values, dict):
        raise TunerError(f"Study {study_name!r} was not created by `causalmix tune`.")
    return study, StudySettings.from_dict(values), url


def _check_same_settings(existing: StudySettings, new: StudySettings, name: str) -> None:
    fields = ("dataset_fingerprint", "target", "space", "n_folds", "seed", "backend", "weights")
    for field in fields:
        before, now = getattr(existing, field), getattr(new, field)
        if before == now:
            continue
        if field == "dataset_fingerprint":
            shown = f"a different dataset (fingerprint {before[:12]}, but got {now[:12]})"
        elif field == "space":
            old_name, new_name = before.get("name"), now.get("name")
            shown = f"a different search space ({old_name!r}, but got {new_name!r})"
        else:
            shown = f"different {field} ({field}={before!r}, but got {field}={now!r})"
        raise TunerError(
            f"Study {name!r} already exists with {shown}; resume it with the same settings or "
            "choose a new --study name."
        )


@dataclass
class _Runtime:
    """What a worker needs besides the study, built (and so validated) before touching it."""

    backend: BaseBackend
    folds: list[Fold]
    cache: BaseCache | None
    artifact_store: Any


def _build_runtime(
    settings: StudySettings,
    *,
    study_name: str,
    storage_url: str,
    artifact_dir: str | None,
    cache_dir: str | None,
    data: tuple[pd.DataFrame, pd.Series] | None = None,
) -> _Runtime:
    from tabfm import get_backend
    from tuner._objective import make_folds

    X, y = data if data is not None else _load_data(settings.data, settings.target)
    fingerprint = dataset_fingerprint(X, y)
    if settings.dataset_fingerprint and fingerprint != settings.dataset_fingerprint:
        raise TunerError(
            f"The dataset at {settings.data!r} differs from the one study "
            f"{study_name!r} was created with (fingerprint {fingerprint[:12]} != "
            f"{settings.dataset_fingerprint[:12]})."
        )
    backend = get_backend(settings.backend, weights=settings.weights, device=settings.device)
    return _Runtime(
        backend=backend,
        folds=make_folds(X, y, settings.n_folds, settings.seed),
        cache=_default_cache(storage_url, cache_dir),
        artifact_store=_open_artifact_store(artifact_dir),
    )


def _make_objective(
    study: optuna.Study, settings: StudySettings, runtime: _Runtime
) -> Callable[[optuna.Trial], float]:
    from search_spaces import SearchSpace
    from tuner._objective import Objective, zero_shot_scores

    if len(settings.zero_shot_roc_auc) != settings.n_folds:
        _logger.info("Computing the zero-shot baseline on %d folds...", settings.n_folds)
        settings.zero_shot_roc_auc = zero_shot_scores(runtime.backend, runtime.folds)
        study.set_user_attr(SETTINGS_ATTR, settings.to_dict())
    return Objective(
        settings,
        SearchSpace.from_dict(settings.space),
        runtime.folds,
        runtime.backend,
        cache=runtime.cache,
        artifact_store=runtime.artifact_store,
    )


def tune(
    data: str,
    target: str = "target",
    *,
    study_name: str,
    storage: str | None = None,
    space: str = "default",
    n_trials: int = 20,
    timeout: float | None = None,
    seed: int = 0,
    n_folds: int = 3,
    pruner: str = "auto",
    device: str = "auto",
    backend: str = "tabfm",
    weights: str | None = None,
    artifact_dir: str | None = DEFAULT_ARTIFACT_DIR,
    cache_dir: str | None = None,
    workers: int = 1,
    progress: bool = False,
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
        pruner: ``auto``, ``wilcoxon``, ``median`` or ``none``.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        backend: Foundation-model backend.
        weights: Local weights for the backend.
        artifact_dir: Directory of the artifact store shared by workers (``None``: no
            artifacts).
        cache_dir: Discovery / mechanism cache directory (``None``: the study database for
            PostgreSQL, ``.causalmix_cache`` next to a SQLite file; ``"none"``: no cache).
        workers: Local worker processes (this process is one of them).
        progress: Show a progress bar.

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
    search_space = load_space(space)
    X, y = _load_data(data, target)
    settings = StudySettings(
        data=str(Path(data).resolve()) if not data.startswith("sklearn:") else data,
        target=target,
        space=search_space.to_dict(),
        seed=seed,
        n_folds=n_folds,
        pruner=pruner,
        backend=backend,
        weights=_resolved_weights(weights),
        device=device,
        dataset_fingerprint=dataset_fingerprint(X, y),
        n_rows=len(X),
        n_features=X.shape[1],
        classes=sorted(pd.unique(y).tolist(), key=str),
    )
    _check_folds(y, n_folds)
    url = resolve_storage_url(storage)
    options = _storage_options()
    rdb = _open_storage(url)
    exists = study_exists(rdb, study_name)
    if exists:
        existing_study, existing, _ = load_study(study_name, url)
        _check_same_settings(existing, settings, study_name)
        settings = existing
    # Everything that can fail on bad input happens before the study is created or changed.
    runtime = _build_runtime(
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
            sampler=_make_sampler(seed),
            pruner=_make_pruner(settings),
        )
        study.set_user_attr(SETTINGS_ATTR, settings.to_dict())
        _logger.info("Created study %r in %s.", study_name, mask_url(url))
    study.set_user_attr(N_TRIALS_ATTR, n_trials)
    if artifact_dir is not None and artifact_dir != "none":
        study.set_user_attr("causalmix_artifact_dir", str(Path(artifact_dir).resolve()))
    study.sampler = _make_sampler(seed)
    study.pruner = _make_pruner(settings)

    objective = _make_objective(study, settings, runtime)
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
        _wait_for(extra)
    return study


def _resolved_weights(weights: str | None) -> str | None:
    """A local weights path made absolute (workers may start elsewhere); names stay as given."""
    if weights is None:
        return None
    path = Path(weights).expanduser()
    return str(path.resolve()) if path.exists() else weights


def _check_folds(y: pd.Series, n_folds: int) -> None:
    smallest = int(y.value_counts().min())
    # Each inner fold needs every class in its training part and its early-stopping split.
    if smallest < n_folds + 1:
        raise TunerError(
            f"The rarest class has {smallest} rows; at least n_folds + 1 = {n_folds + 1} are "
            f"needed for {n_folds}-fold tuning (lower --n-folds or drop the class)."
        )


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
            user_errors=_user_errors(),
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


def _wait_for(processes: list[subprocess.Popen[bytes]]) -> None:
    try:
        for process in processes:
            process.wait()
    except BaseException:
        _stop_workers(processes)
        raise
    failed = [p for p in processes if p.returncode != 0]
    if failed:
        codes = ", ".join(f"{p.pid} (exit code {p.returncode})" for p in failed)
        raise WorkerFailedError(
            f"{len(failed)} of {len(processes)} spawned worker processes failed: {codes}; "
            "the trials they left were failed and retried by the others. Check their messages "
            "above, the database's health and the machine's memory."
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
    options = _storage_options()
    study, settings, url = load_study(study_name, storage)
    target = n_trials or int(study.user_attrs.get(N_TRIALS_ATTR, 20))
    if artifact_dir is None:
        artifact_dir = study.user_attrs.get("causalmix_artifact_dir")
    runtime = _build_runtime(
        settings,
        study_name=study_name,
        storage_url=url,
        artifact_dir=artifact_dir,
        cache_dir=cache_dir,
    )
    study.sampler = _make_sampler(seed)
    study.pruner = _make_pruner(settings)
    return run_worker(
        study,
        _make_objective(study, settings, runtime),
        storage_url=url,
        n_trials=target,
        timeout=timeout,
        user_errors=_user_errors(),
        reconnect_timeout=options.reconnect_timeout,
    )


def export_best(study_name: str, storage: str | None, out: str | Path) -> dict[str, Any]:
    """Write the best trial's full configuration (YAML or JSON by suffix) and return it."""
    from storage import export_best as export_document
    from storage import write_config

    study, _, _ = load_study(study_name, storage)
    document = export_document(study)
    write_config(document, out)
    return document


def _backend_from(document: dict[str, Any], device: str | None) -> BaseBackend:
    from tabfm import get_backend

    backend = document.get("backend") or {}
    name = backend.get("name", "tabfm") if isinstance(backend, dict) else str(backend)
    weights = backend.get("weights") if isinstance(backend, dict) else None
    return get_backend(name, weights=weights, device=device or "auto")


def fit(
    config: str | Path | dict[str, Any],
    data: str,
    target: str = "target",
    *,
    out: str | Path | None = None,
    device: str | None = None,
    valid_fraction: float = 0.2,
) -> FineTunedClassifier:
    """Train the final model from an exported config on the full data (and save it to ``out``).

    The seed and configuration come from the export, so the run reproduces the tuned one.
    """
    from storage import read_config

    document = read_config(config) if not isinstance(config, dict) else config
    X, y = _load_data(data, target)
    flat: dict[str, Any] = {}
    for group in ("augmentation", "finetune"):
        flat.update(document["config"].get(group, {}))
    seed = int(document.get("seed", 0))
    start = time.perf_counter()
    classifier, run = _train(document, X, y, flat, seed, device, valid_fraction)
    _logger.info(
        "Trained on %d real + %d synthetic rows in %.1f s.",
        len(X), run.n_synthetic, time.perf_counter() - start,
    )  # fmt: skip
    if out is not None:
        info = {
            "target": target,
            "data": data,
            "seed": seed,
            "config": document["config"],
            "n_rows": len(X),
            "n_synthetic_rows": run.n_synthetic,
        }
        _save_model(classifier, out, info)
    return classifier


def _train(
    document: dict[str, Any],
    X: pd.DataFrame,
    y: pd.Series,
    flat: dict[str, Any],
    seed: int,
    device: str | None,
    valid_fraction: float,
) -> Any:
    from tuner._pipeline import train_causalmixft

    backend = _backend_from(document, device)
    return train_causalmixft(
        backend, X, y, flat, seed=seed, valid_fraction=valid_fraction, device=device or "auto"
    )


MODEL_INFO = "causalmix_model.json"


def _save_model(classifier: FineTunedClassifier, out: str | Path, info: dict[str, Any]) -> None:
    import json

    directory = classifier.save(out)
    (Path(directory) / MODEL_INFO).write_text(json.dumps(info, indent=2, default=str) + "\n")


def _read_model_info(model_dir: Path) -> dict[str, Any]:
    import json

    path = model_dir / MODEL_INFO
    if not path.is_file():
        raise TunerError(
            f"Not a model directory written by `causalmix fit`: {str(model_dir)!r} "
            f"(no {MODEL_INFO})."
        )
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TunerError(f"The model file is corrupt: {str(path)!r} ({e}).") from e
    if not isinstance(info, dict) or not isinstance(info.get("target"), str):
        raise TunerError(f"The model file is corrupt: {str(path)!r} (no target column).")
    return info


def predict(model_dir: str | Path, data: str, out: str | Path | None = None) -> pd.DataFrame:
    """Predict with a saved model; returns (and writes) the labels and class probabilities.

    The table must have the model's feature columns (the target column may be present and is
    ignored); a missing or unexpected column is an error.
    """
    from causalmix import load_table
    from tabfm import FineTunedClassifier

    model_dir = Path(model_dir)
    info = _read_model_info(model_dir)
    classifier = FineTunedClassifier.load(model_dir)
    frame = load_table(data)
    X = frame.drop(columns=[info["target"]], errors="ignore")
    expected = [str(c) for c in classifier.feature_names_in_]
    missing = [c for c in expected if c not in X.columns]
    extra = [c for c in X.columns if c not in expected]
    if missing or extra:
        raise TunerError(
            f"The columns of {data!r} do not match the model's: missing {missing[:10]}, "
            f"unexpected {extra[:10]}."
        )
    proba = classifier.predict_proba(X[expected])
    result = pd.DataFrame(
        proba, columns=[f"proba_{label}" for label in classifier.classes_], index=frame.index
    )
    result.insert(0, "prediction", classifier.classes_[proba.argmax(axis=1)])
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        result.to_csv(out, index=False)
    return result
