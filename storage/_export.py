"""Export of a study's best configuration, and reading it back.

The export document (``format_version: 1``)::

    format_version: 1
    study: diabetes-tabfm
    storage: postgresql+psycopg://tuner:***@db:5432/causalmix   # always masked
    space: default
    dataset: {source, target, fingerprint, n_rows, n_features, classes}
    seed: 0
    config:
      augmentation: {synthetic_ratio, discovery, indep_test, alpha, ...}   # all parameters
      finetune: {learning_rate, weight_decay, epochs, ...}
    scores: {zero_shot_roc_auc, zero_shot_fold_roc_auc, best_roc_auc, best_fold_roc_auc,
             best_normalized_roc_auc, n_folds, trial_number, n_completed_trials}
    selection: {rule, rule_text, candidate_trial, reference_trial, n_configs, n_boot,
                apparent_gain, estimate, lower_bound, p_value, passed, chosen_trial,
                summary}   # storage._selection (fold_t: n_folds, mean_difference)
    backend: {name, weights, device, categorical_max_levels}
    created_at: 2026-01-01T12:00:00+00:00
    versions: {causalmix-tuner, optuna, torch, causal-learn, dowhy, scikit-learn, numpy, pandas}

It reads the study attributes written by the tuner: ``study.user_attrs["causalmix"]`` (the
study settings) and, per completed trial, ``value`` (mean normalized ROC-AUC, %) and the user
attributes ``config``, ``roc_auc`` and ``fold_roc_auc``.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from collections import Counter
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search_spaces import (
    GROUPS,
    PARAMETERS,
    SearchSpace,
    SearchSpaceError,
    group_config,
    load_yaml,
)
from storage._errors import StorageError
from storage._optuna_private import study_storage
from storage._rdb import storage_url_of
from storage._selection import DEFAULT_N_BOOT, select_trial

if TYPE_CHECKING:
    import optuna

__all__ = [
    "CONFIG_SUFFIXES",
    "EXPORT_FORMAT_VERSION",
    "SETTINGS_ATTR",
    "export_best",
    "select_study_trial",
    "read_config",
    "write_config",
]

EXPORT_FORMAT_VERSION = 1
"""Version of the export document written by :func:`export_best`."""

SETTINGS_ATTR = "causalmix"
"""The study user attribute holding the tuner's settings."""

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
"""File suffixes :func:`write_config` and :func:`read_config` accept."""

_REQUIRED_KEYS = ("format_version", "dataset", "config")
_VERSIONED = (
    "causalmix-tuner",
    "optuna",
    "torch",
    "causal-learn",
    "dowhy",
    "scikit-learn",
    "numpy",
    "pandas",
)


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for distribution in _VERSIONED:
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[distribution] = None
    return versions


def _mean(values: Any) -> float | None:
    if not isinstance(values, list) or not values:
        return None
    return float(sum(float(v) for v in values) / len(values))


def export_best(
    study: optuna.Study, *, rule: str = "bbc", n_boot: int = DEFAULT_N_BOOT
) -> dict[str, Any]:
    """Build the export document of a ``causalmix tune`` study: the trial
    :func:`storage.select_study_trial` chooses, and how it was chosen.

    Args:
        study: The study.
        rule: The selection rule (:data:`SELECTION_RULES`).
        n_boot: BBC-CV resamples.

    Raises:
        StorageError: If the study has no tuner settings, no completed trial, or a chosen trial
            whose configuration cannot be recovered.
    """
    from optuna.trial import FixedTrial, TrialState

    name = study.study_name
    settings = study.user_attrs.get(SETTINGS_ATTR)
    if not isinstance(settings, Mapping):
        raise StorageError(
            f"Study {name!r} has no {SETTINGS_ATTR!r} user attribute: it was not created by "
            "`causalmix tune`."
        )
    trials = study.get_trials(deepcopy=False)
    completed = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    if not completed:
        states = Counter(t.state.name for t in trials)
        detail = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
        raise StorageError(
            f"study {name!r} has no completed trial ({len(trials)} trials"
            + (f": {detail})." if detail else ").")
        )
    best, selection = select_study_trial(study, completed, rule=rule, n_boot=n_boot)
    config = best.user_attrs.get("config")
    try:
        if not isinstance(config, Mapping):
            # Rebuild the flat config from the stored space and the sampled parameters.
            stored_space = SearchSpace.from_dict(settings.get("space"))
            config = stored_space.suggest(FixedTrial(best.params, number=best.number))
        grouped = group_config(config)
    except SearchSpaceError as e:
        raise StorageError(
            f"Cannot recover the configuration of trial {best.number} of study {name!r}: {e}"
        ) from e
    space = settings.get("space")
    # The baseline the best trial was normalized against (the zero-shot model on its device).
    zero_shot = (
        best.user_attrs.get("zero_shot_fold_roc_auc") or settings.get("zero_shot_roc_auc") or []
    )
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "study": name,
        "storage": storage_url_of(study_storage(study)),
        "space": space.get("name") if isinstance(space, Mapping) else None,
        "dataset": {
            "source": settings.get("data"),
            "target": settings.get("target"),
            "fingerprint": settings.get("dataset_fingerprint"),
            "n_rows": settings.get("n_rows"),
            "n_features": settings.get("n_features"),
            "classes": list(settings.get("classes") or []),
        },
        "seed": settings.get("seed"),
        "config": grouped,
        "scores": {
            "zero_shot_roc_auc": _mean(zero_shot),
            "zero_shot_fold_roc_auc": list(zero_shot),
            "best_roc_auc": best.user_attrs.get("roc_auc"),
            "best_fold_roc_auc": list(best.user_attrs.get("fold_roc_auc") or []),
            "best_normalized_roc_auc": best.value,
            "n_folds": settings.get("n_folds"),
            "trial_number": best.number,
            "n_completed_trials": len(completed),
        },
        "selection": selection,
        "backend": {
            "name": settings.get("backend", "tabfm"),
            "weights": settings.get("weights"),
            "device": settings.get("device", "auto"),
            "categorical_max_levels": settings.get("categorical_max_levels"),
        },
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
    }


def select_study_trial(
    study: optuna.Study,
    completed: list[Any] | None = None,
    *,
    rule: str = "bbc",
    n_boot: int = DEFAULT_N_BOOT,
) -> tuple[Any, dict[str, Any]]:
    """:func:`select_trial` on a study's completed trials, with its rows, folds and seed.

    Raises:
        StorageError: As :func:`select_trial`.
    """
    from optuna.trial import TrialState

    from storage._predictions import load_study_rows

    if completed is None:
        completed = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None
        ]
    settings = study.user_attrs.get(SETTINGS_ATTR) or {}
    n_folds = settings.get("n_folds") if isinstance(settings, Mapping) else None
    seed = settings.get("seed") if isinstance(settings, Mapping) else None
    return select_trial(
        completed,
        rows=load_study_rows(study) if rule == "bbc" else None,
        rule=rule,
        n_folds=n_folds if isinstance(n_folds, int) else None,
        n_boot=n_boot,
        seed=seed if isinstance(seed, int) else 0,
    )


def _plain(value: Any, where: str) -> Any:
    """``value`` as plain YAML / JSON types (NumPy scalars become Python numbers)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, bool):
        return value
    # Exact types: NumPy's float64 subclasses float, but YAML's safe dumper refuses it.
    for plain_type in (str, int, float):
        if isinstance(value, plain_type):
            return plain_type(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    item = getattr(value, "item", None)
    if callable(item):
        plain = item()
        if isinstance(plain, (str, bool, int, float)):
            return plain
    raise StorageError(
        f"Cannot write {where} = {value!r} (a {type(value).__name__}) to a config file."
    )


def _suffix(path: Path, action: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in CONFIG_SUFFIXES:
        raise StorageError(
            f"Cannot {action} {str(path)!r}: the suffix {suffix or '(none)'!r} is not supported; "
            f"use {', '.join(CONFIG_SUFFIXES)}."
        )
    return suffix


def write_config(doc: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a config document as YAML (``.yaml`` / ``.yml``) or JSON (``.json``).

    The file is replaced atomically; missing parent folders are created.

    Returns:
        The path written.

    Raises:
        StorageError: For another suffix, a value that is not plain data, or a write error.
    """
    import yaml

    target = Path(path).expanduser()
    suffix = _suffix(target, "write")
    plain = _plain(doc, "config document")
    if suffix == ".json":
        text = json.dumps(plain, indent=2) + "\n"
    else:
        text = yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=suffix)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise StorageError(f"Cannot write the config file {str(target)!r}: {e}.") from e
    return target


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a config document written by :func:`write_config`.

    Returns:
        The document, with ``config`` completed by registry defaults for parameters it leaves
        out (a hand-written file may name only a few).

    Raises:
        StorageError: Naming the file and the key, for a missing or unreadable file, a bad
            suffix, invalid YAML / JSON, an unsupported ``format_version``, a missing required
            key, or an unknown or invalid parameter.
    """
    import yaml

    source = Path(path).expanduser()
    suffix = _suffix(source, "read")
    shown = str(source)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise StorageError(f"The config file does not exist: {shown!r}.") from e
    except (OSError, UnicodeDecodeError) as e:
        raise StorageError(f"Cannot read the config file {shown!r}: {e}.") from e
    try:
        doc = json.loads(text) if suffix == ".json" else load_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        kind = "JSON" if suffix == ".json" else "YAML"
        raise StorageError(
            f"The config file {shown!r} is not valid {kind}: {' '.join(str(e).split())}."
        ) from e
    if not isinstance(doc, dict):
        raise StorageError(
            f"The config file {shown!r} must hold a mapping, but holds a {type(doc).__name__}."
        )
    for key in _REQUIRED_KEYS:
        if key not in doc:
            raise StorageError(
                f"The config file {shown!r} misses the required key {key!r} (required: "
                f"{', '.join(_REQUIRED_KEYS)})."
            )
    version = doc["format_version"]
    if version != EXPORT_FORMAT_VERSION:
        raise StorageError(
            f"The config file {shown!r} has format_version={version!r}; this version reads "
            f"format_version={EXPORT_FORMAT_VERSION}."
        )
    dataset = doc["dataset"]
    if not isinstance(dataset, dict) or not isinstance(dataset.get("target"), str):
        raise StorageError(
            f"The config file {shown!r} needs `dataset.target` (the target column name), but "
            f"got dataset={dataset!r}."
        )
    doc["config"] = _check_grouped_config(doc["config"], shown)
    return doc


def _check_grouped_config(config: Any, shown: str) -> dict[str, dict[str, Any]]:
    if not isinstance(config, dict) or not set(config) <= set(GROUPS):
        raise StorageError(
            f"The config file {shown!r}: `config` must be a mapping with the keys "
            f"{', '.join(GROUPS)}, but got {config!r}."
        )
    flat: dict[str, Any] = {}
    for group in GROUPS:
        values = config.get(group) or {}
        if not isinstance(values, dict):
            raise StorageError(
                f"The config file {shown!r}: `config.{group}` must be a mapping, but got "
                f"{values!r}."
            )
        for key, value in values.items():
            parameter = PARAMETERS.get(key)
            if parameter is not None and parameter.group != group:
                raise StorageError(
                    f"The config file {shown!r}: `config.{group}.{key}` belongs in "
                    f"`config.{parameter.group}`."
                )
            flat[key] = value
    try:
        return group_config(flat)
    except SearchSpaceError as e:
        raise StorageError(f"The config file {shown!r}: {e}") from e
