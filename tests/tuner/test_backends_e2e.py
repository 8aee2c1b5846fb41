"""tune -> export -> fit -> predict, and bench, with the third-party backends (tiny weights)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

import tuner
from tests.conftest import TEST_DEVICE, require_mitra
from tests.tuner.conftest import FIXED_TINY

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Importing from 'tabpfn.model.loading':DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:autogluon"),
]


def _checkpoint(name: str, directory: Path) -> Path:
    if name == "mitra":  # AutoGluon pins pandas < 3: it lives in the pandas-2 venv
        require_mitra()
        from tests.tabfm.backends.test_mitra import write_tiny_checkpoint as write_mitra

        return write_mitra(directory)
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"the {name} backend needs: pip install '.[{name}]'")
    if name == "tabicl":
        from tests.tabfm.backends.test_tabicl import DEFAULT_CHECKPOINT, write_tiny_checkpoint
    else:
        from tests.tabfm.backends.test_tabpfn import DEFAULT_CHECKPOINT, write_tiny_checkpoint
    return write_tiny_checkpoint(directory / DEFAULT_CHECKPOINT)


@pytest.mark.parametrize("name", ["tabicl", "tabpfn", "mitra"])
def test_tune_export_fit_predict(
    name: str, small_csv: Path, tiny_space: Path, tmp_path: Path
) -> None:
    weights = _checkpoint(name, tmp_path / "weights")
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = tuner.tune(
        str(small_csv),
        study_name=name,
        storage=url,
        space=str(tiny_space),
        n_trials=1,
        n_folds=2,
        device=TEST_DEVICE,
        backend=name,
        weights=str(weights),
        artifact_dir=None,
        cache_dir="none",
    )
    (trial,) = study.trials
    assert trial.value is not None
    assert len(trial.user_attrs["fold_roc_auc"]) == 2
    assert all(0.0 <= auc <= 1.0 for auc in trial.user_attrs["fold_roc_auc"])
    assert len(study.user_attrs["causalmix"]["zero_shot_roc_auc"]) == 2

    document = tuner.export_best(name, url, tmp_path / "best.yaml")
    assert document["backend"]["name"] == name
    assert document["backend"]["weights"] == str(weights)

    model_dir = tmp_path / "model"
    tuner.fit(tmp_path / "best.yaml", str(small_csv), out=model_dir, device=TEST_DEVICE)
    saved = json.loads((model_dir / "finetuned.json").read_text())
    assert saved["backend"] == name
    assert any((model_dir / "backend").iterdir())  # the fine-tuned weights, saved locally
    predictions = tuner.predict(model_dir, str(small_csv), tmp_path / "preds.csv")
    frame = pd.read_csv(small_csv)
    assert len(predictions) == len(frame)
    assert set(predictions["prediction"]) <= set(frame["target"])
    proba = predictions.filter(like="proba_").to_numpy()
    assert proba.shape == (len(frame), 2)
    assert abs(proba.sum(axis=1) - 1).max() < 1e-5


@pytest.mark.parametrize("name", ["tabicl", "tabpfn", "mitra"])
def test_bench_zero_shot_and_fine_tuned(name: str, small_csv: Path, tmp_path: Path) -> None:
    from tuner._cli import main

    weights = _checkpoint(name, tmp_path / "weights")
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "diabetes.csv").write_bytes(small_csv.read_bytes())
    (tmp_path / "fixed.yaml").write_text(FIXED_TINY)
    out = tmp_path / "bench"
    code = main(
        ["bench", "--data-dir", str(suite), "--out", str(out), "--folds", "2",
         "--methods", "zero_shot,causalmixft", "--backend", name, "--weights", str(weights),
         "--fixed-space", str(tmp_path / "fixed.yaml"), "--device", TEST_DEVICE, "--threads", "1"]
    )  # fmt: skip
    assert code == 0  # 1 would mean a failed run
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 2 * 2
    assert set(results["method"]) == {"zero_shot", "causalmixft"}
    assert results["test_roc_auc"].between(0, 1).all()
    assert (results.loc[results["method"] == "causalmixft", "epochs_run"] == 1).all()
    assert json.loads((out / "bench.json").read_text())["backend"] == name
