from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from search_spaces import PARAMETERS, load_space
from storage import (
    StorageError,
    create_storage,
    export_best,
    read_config,
    resolve_storage_url,
    write_config,
)

SETTINGS: dict[str, Any] = {
    "format_version": 1,
    "data": "datasets/diabetes.csv",
    "target": "target",
    "dataset_fingerprint": "ab" * 32,
    "n_rows": 768,
    "n_features": 8,
    "classes": [0, 1],
    "space": load_space("fast").to_dict(),
    "seed": 7,
    "n_folds": 3,
    "backend": "tabfm",
    "weights": None,
    "device": "auto",
    "zero_shot_roc_auc": [0.80, 0.82, 0.84],
}


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[optuna.storages.RDBStorage]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rdb = create_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=None)
    yield rdb
    rdb.engine.dispose()


def _tuned_study(storage: optuna.storages.RDBStorage, n_trials: int = 6) -> optuna.Study:
    """A study shaped like the tuner's: settings attribute, per-trial config and scores."""
    study = optuna.create_study(
        study_name="diabetes",
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.set_user_attr("causalmix", SETTINGS)
    space = load_space("fast")
    zero_shot = sum(SETTINGS["zero_shot_roc_auc"]) / 3

    def objective(trial: optuna.Trial) -> float:
        config = space.suggest(trial)
        folds = [0.80 + 0.02 * config["synthetic_ratio"] + 0.01 * f for f in range(3)]
        trial.set_user_attr("config", config)
        trial.set_user_attr("fold_roc_auc", folds)
        trial.set_user_attr("roc_auc", sum(folds) / 3)
        trial.set_user_attr("timings", {"augment": 0.1, "finetune": 0.2})
        return 100 * (sum(folds) / 3 / zero_shot - 1)

    study.optimize(objective, n_trials=n_trials)
    return study


def test_export_document_contents(storage: optuna.storages.RDBStorage) -> None:
    study = _tuned_study(storage)
    best = study.best_trial
    doc = export_best(study)
    assert doc["format_version"] == 1
    assert doc["study"] == "diabetes"
    assert doc["storage"] == resolve_storage_url(storage.url)
    assert doc["space"] == "fast"
    assert doc["dataset"] == {
        "source": "datasets/diabetes.csv",
        "target": "target",
        "fingerprint": "ab" * 32,
        "n_rows": 768,
        "n_features": 8,
        "classes": [0, 1],
    }
    assert doc["seed"] == 7
    assert list(doc["config"]) == ["augmentation", "finetune"]
    flat = {**doc["config"]["augmentation"], **doc["config"]["finetune"]}
    assert flat == best.user_attrs["config"]
    assert set(flat) == set(PARAMETERS)
    assert doc["config"]["augmentation"]["synthetic_ratio"] == best.params["synthetic_ratio"]
    scores = doc["scores"]
    assert scores["zero_shot_roc_auc"] == pytest.approx(0.82)
    assert scores["zero_shot_fold_roc_auc"] == [0.80, 0.82, 0.84]
    assert scores["best_roc_auc"] == best.user_attrs["roc_auc"]
    assert scores["best_fold_roc_auc"] == best.user_attrs["fold_roc_auc"]
    assert scores["best_normalized_roc_auc"] == best.value == study.best_value
    assert scores["best_normalized_roc_auc"] == max(t.value for t in study.trials)  # type: ignore[type-var]
    assert scores["n_folds"] == 3 and scores["trial_number"] == best.number
    assert scores["n_completed_trials"] == 6
    assert doc["backend"] == {
        "name": "tabfm",
        "weights": None,
        "device": "auto",
        "categorical_max_levels": None,
    }
    assert doc["created_at"].endswith("+00:00")
    versions = doc["versions"]
    assert versions["optuna"] == optuna.__version__
    assert set(versions) == {
        "causalmix-tuner",
        "optuna",
        "torch",
        "causal-learn",
        "dowhy",
        "scikit-learn",
        "numpy",
        "pandas",
    }


@pytest.mark.postgres
def test_export_masks_the_storage_password(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    # The test server trusts local connections, so any password is accepted and must vanish.
    url = make_url(postgres_url).set(password="s3cr3t-pass").render_as_string(hide_password=False)
    rdb = create_storage(url, heartbeat_interval=None)
    try:
        study = _tuned_study(rdb, n_trials=2)
        doc = export_best(study)
    finally:
        rdb.engine.dispose()
    assert "s3cr3t-pass" not in json.dumps(doc)
    assert ":***@" in doc["storage"]


def test_export_rebuilds_config_from_space_when_attribute_missing(
    storage: optuna.storages.RDBStorage,
) -> None:
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.set_user_attr("causalmix", SETTINGS)
    trial = study.ask()
    config = load_space("fast").suggest(trial)
    study.tell(trial, 1.5)
    doc = export_best(study)
    assert {**doc["config"]["augmentation"], **doc["config"]["finetune"]} == config


def test_export_without_completed_trial_counts_states(
    storage: optuna.storages.RDBStorage,
) -> None:
    study = optuna.create_study(study_name="empty", storage=storage, direction="maximize")
    study.set_user_attr("causalmix", SETTINGS)
    for _ in range(2):
        trial = study.ask()
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    study.ask()
    with pytest.raises(StorageError) as info:
        export_best(study)
    assert str(info.value) == (
        "study 'empty' has no completed trial (3 trials: 2 FAIL, 1 RUNNING)."
    )


def test_export_of_study_without_trials(storage: optuna.storages.RDBStorage) -> None:
    study = optuna.create_study(study_name="new", storage=storage)
    study.set_user_attr("causalmix", SETTINGS)
    with pytest.raises(StorageError, match=r"^study 'new' has no completed trial \(0 trials\)\.$"):
        export_best(study)


def test_export_of_foreign_study(storage: optuna.storages.RDBStorage) -> None:
    study = optuna.create_study(study_name="other", storage=storage)
    with pytest.raises(StorageError, match="'other' has no 'causalmix' user attribute"):
        export_best(study)


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_write_read_round_trip(
    storage: optuna.storages.RDBStorage, tmp_path: Path, suffix: str
) -> None:
    doc = export_best(_tuned_study(storage, n_trials=3))
    path = write_config(doc, tmp_path / "out" / f"best{suffix}")
    assert path.exists()
    assert read_config(path) == doc
    text = path.read_text()
    parsed = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    assert parsed == doc
    # The document keeps its order (format_version first) for humans.
    assert text.lstrip('{\n "').startswith("format_version")


def test_write_config_converts_numpy_scalars(tmp_path: Path) -> None:
    import numpy as np

    doc = {
        "format_version": 1,
        "dataset": {"target": "y"},
        "config": {"augmentation": {"alpha": np.float64(0.01)}, "finetune": {}},
        "scores": {"best_roc_auc": np.float32(0.5), "n_folds": np.int64(3)},
    }
    back = read_config(write_config(doc, tmp_path / "c.yaml"))
    assert back["config"]["augmentation"]["alpha"] == 0.01
    assert back["scores"] == {"best_roc_auc": 0.5, "n_folds": 3}


def test_write_config_rejects_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"the suffix '\.toml' is not supported") as info:
        write_config({"format_version": 1}, tmp_path / "best.toml")
    assert "best.toml" in str(info.value)
    assert not (tmp_path / "best.toml").exists()


def test_write_config_rejects_objects(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"config document\.extra = <object"):
        write_config({"extra": object()}, tmp_path / "best.yaml")


def _write(tmp_path: Path, content: str, name: str = "best.yaml") -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def test_read_config_completes_hand_written_config(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "format_version: 1\ndataset: {target: y}\nconfig:\n"
        "  augmentation: {synthetic_ratio: 2}\n  finetune: {epochs: 3}\n",
    )
    config = read_config(path)["config"]
    assert config["augmentation"]["synthetic_ratio"] == 2.0
    assert config["augmentation"]["discovery"] == PARAMETERS["discovery"].default
    assert config["finetune"]["epochs"] == 3


def test_read_config_reads_an_exponent_without_a_dot_as_a_number(tmp_path: Path) -> None:
    # Plain YAML 1.1 reads 1e-6 as the string "1e-6"; users write learning rates that way.
    path = _write(
        tmp_path,
        "format_version: 1\ndataset: {target: y}\nconfig:\n  finetune: {learning_rate: 1e-6}\n",
    )
    assert read_config(path)["config"]["finetune"]["learning_rate"] == 1e-6


def test_read_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist") as info:
        read_config(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)


def test_read_config_missing_required_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "format_version: 1\ndataset: {target: y}\n")
    with pytest.raises(StorageError) as info:
        read_config(path)
    assert str(path) in str(info.value)
    assert "misses the required key 'config'" in str(info.value)


def test_read_config_wrong_format_version(tmp_path: Path) -> None:
    path = _write(tmp_path, "format_version: 2\ndataset: {target: y}\nconfig: {}\n")
    with pytest.raises(
        StorageError, match="format_version=2; this version reads format_version=1"
    ):
        read_config(path)


def test_read_config_missing_target(tmp_path: Path) -> None:
    path = _write(tmp_path, "format_version: 1\ndataset: {}\nconfig: {}\n")
    with pytest.raises(StorageError, match="needs `dataset.target`"):
        read_config(path)


def test_read_config_unknown_parameter(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "format_version: 1\ndataset: {target: y}\nconfig: {finetune: {epoch: 3}}\n",
    )
    with pytest.raises(StorageError) as info:
        read_config(path)
    message = str(info.value)
    assert str(path) in message and "'epoch'" in message and "Did you mean 'epochs'?" in message


def test_read_config_parameter_in_wrong_group(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "format_version: 1\ndataset: {target: y}\nconfig: {finetune: {alpha: 0.1}}\n",
    )
    with pytest.raises(StorageError, match=r"`config.finetune.alpha` belongs in `config.augm"):
        read_config(path)


def test_read_config_invalid_value(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "format_version: 1\ndataset: {target: y}\nconfig: {augmentation: {alpha: 2.0}}\n",
    )
    with pytest.raises(StorageError, match=r"alpha=2\.0"):
        read_config(path)


def test_read_config_invalid_yaml(tmp_path: Path) -> None:
    path = _write(tmp_path, "format_version: [1\n")
    with pytest.raises(StorageError, match="is not valid YAML") as info:
        read_config(path)
    assert "\n" not in str(info.value)


def test_read_config_invalid_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "{", name="best.json")
    with pytest.raises(StorageError, match="is not valid JSON"):
        read_config(path)


def test_read_config_not_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "- 1\n- 2\n")
    with pytest.raises(StorageError, match="must hold a mapping, but holds a list"):
        read_config(path)


def test_read_config_unknown_suffix(tmp_path: Path) -> None:
    path = _write(tmp_path, "x", name="best.txt")
    with pytest.raises(StorageError, match=r"suffix '\.txt' is not supported"):
        read_config(path)
