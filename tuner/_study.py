"""Study setup: storage, sampler, pruner, cache and artifact factories, loading a study and
checking a resumed one's settings, and the runtime (backend, folds, cache) of its objective."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tuner._errors import TunerError
from tuner._settings import StudySettings, dataset_fingerprint

if TYPE_CHECKING:
    import optuna

    from causalmix import BaseCache
    from storage import StorageOptions
    from tabfm import BaseBackend
    from tuner._objective import Fold

__all__ = [
    "N_TRIALS_ATTR",
    "SETTINGS_ATTR",
    "build_runtime",
    "check_folds",
    "check_same_settings",
    "load_data",
    "load_study",
    "make_objective",
    "make_pruner",
    "make_sampler",
    "resumed_seed",
    "open_storage",
    "resolved_weights",
    "storage_options",
]

_logger = logging.getLogger("causalmix")

SETTINGS_ATTR = "causalmix"
N_TRIALS_ATTR = "causalmix_n_trials"


def storage_options() -> StorageOptions:
    from storage import StorageOptions

    return StorageOptions.from_env()


def open_storage(url: str, *, create: bool = True) -> optuna.storages.RDBStorage:
    from storage import create_storage

    return create_storage(url, create=create, **storage_options().storage_kwargs())


def load_data(data: str, target: str) -> tuple[pd.DataFrame, pd.Series]:
    from causalmix import load_dataset

    return load_dataset(data, target)


def resumed_seed(seed: int | None, study: optuna.Study) -> int | None:
    """The sampler seed of a session on ``study``: ``seed`` for a new study, ``seed`` plus the
    trials already there on a resumed one, so that a resumed study does not repeat the
    configurations its first session began with (and stays reproducible)."""
    return None if seed is None else seed + len(study.get_trials(deepcopy=False))


def make_sampler(seed: int | None) -> optuna.samplers.BaseSampler:
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=True, n_startup_trials=5
        )


def make_pruner(settings: StudySettings) -> optuna.pruners.BasePruner:
    import warnings

    import optuna

    name = settings.resolved_pruner
    if name == "wilcoxon":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=2)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)
    if name == "forgiving":
        from tuner._pruners import ForgivingPruner

        return ForgivingPruner(settings.n_folds)
    if name == "hyperband":
        from search_spaces import SearchSpace

        # One epoch is the unit of budget; a trial's whole budget is every fold's most epochs
        # (the objective reports at step fold * most epochs + epoch).
        epochs = int(SearchSpace.from_dict(settings.space).largest("epochs"))
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=settings.n_folds * epochs, reduction_factor=3
        )
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
    study = load_existing_study(open_storage(url, create=False), study_name)
    values = study.user_attrs.get(SETTINGS_ATTR)
    if not isinstance(values, dict):
        raise TunerError(f"Study {study_name!r} was not created by `causalmix tune`.")
    return study, StudySettings.from_dict(values), url


def check_same_settings(existing: StudySettings, new: StudySettings, name: str) -> None:
    fields = (
        "dataset_fingerprint",
        "target",
        "space",
        "n_folds",
        "seed",
        "backend",
        "weights",
        "categorical_max_levels",
    )
    for field in fields:
        before, now = getattr(existing, field), getattr(new, field)
        if before == now or (field == "categorical_max_levels" and now is None):
            continue  # categorical_max_levels left out on resume: the study's own
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


def build_runtime(
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

    X, y = data if data is not None else load_data(settings.data, settings.target)
    fingerprint = dataset_fingerprint(X, y)
    if settings.dataset_fingerprint and fingerprint != settings.dataset_fingerprint:
        raise TunerError(
            f"The dataset at {settings.data!r} differs from the one study "
            f"{study_name!r} was created with (fingerprint {fingerprint[:12]} != "
            f"{settings.dataset_fingerprint[:12]})."
        )
    backend = get_backend(
        settings.backend,
        weights=settings.weights,
        device=settings.device,
        categorical_max_levels=settings.categorical_max_levels,
    )
    return _Runtime(
        backend=backend,
        folds=make_folds(X, y, settings.n_folds, settings.seed),
        cache=_default_cache(storage_url, cache_dir),
        artifact_store=_open_artifact_store(artifact_dir),
    )


def make_objective(
    study: optuna.Study, settings: StudySettings, runtime: _Runtime
) -> Callable[[optuna.Trial], float]:
    from search_spaces import SearchSpace
    from storage import has_zero_shot_oof, save_study_rows, save_zero_shot_oof
    from tuner._objective import Objective, fold_ids, zero_shot_scores

    device = runtime.backend.device_name
    baselines = settings.zero_shot_by_device
    changed = False
    if device not in baselines and len(settings.zero_shot_roc_auc) == settings.n_folds:
        if settings.zero_shot_device in ("", device):
            baselines[device] = settings.zero_shot_roc_auc  # a study from before per-device
            changed = True
    if device not in baselines or not has_zero_shot_oof(study, device):
        _logger.info(
            "Computing the zero-shot baseline on %d folds on %s...", settings.n_folds, device
        )
        zero_shot = zero_shot_scores(runtime.backend, runtime.folds)
        # The selection (BBC-CV) reads the rows' labels and folds and the zero-shot OOF
        # predictions once per study; every worker computes the same values.
        save_study_rows(study, zero_shot.labels, fold_ids(runtime.folds))
        save_zero_shot_oof(study, device, zero_shot.oof)
        if device not in baselines:
            baselines[device] = zero_shot.scores
            changed = True
    if changed:
        if len(settings.zero_shot_roc_auc) != settings.n_folds:
            settings.zero_shot_roc_auc = baselines[device]
            settings.zero_shot_device = device
        study.set_user_attr(SETTINGS_ATTR, settings.to_dict())
    return Objective(
        settings,
        SearchSpace.from_dict(settings.space),
        runtime.folds,
        runtime.backend,
        baseline=baselines[device],
        cache=runtime.cache,
        artifact_store=runtime.artifact_store,
    )


def resolved_weights(weights: str | None) -> str | None:
    """A local weights path made absolute (workers may start elsewhere); names stay as given."""
    if weights is None:
        return None
    path = Path(weights).expanduser()
    return str(path.resolve()) if path.exists() else weights


def check_folds(y: pd.Series, n_folds: int) -> None:
    smallest = int(y.value_counts().min())
    # Each inner fold needs every class in its training part and its early-stopping split.
    if smallest < n_folds + 1:
        raise TunerError(
            f"The rarest class has {smallest} rows; at least n_folds + 1 = {n_folds + 1} are "
            f"needed for {n_folds}-fold tuning (lower --n-folds or drop the class)."
        )
