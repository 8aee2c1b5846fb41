from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from causalmix import load_dataset
from search_spaces import default_config
from tabfm import get_backend
from tests.conftest import TEST_DEVICE
from tuner._pipeline import train_causalmixft


def test_a_column_missing_in_a_fold_is_skipped_by_the_scms(datasets_dir: Path) -> None:
    """anneal's `bc` column has one value in 898 rows: most folds see it entirely missing."""
    X, y = load_dataset(datasets_dir / "anneal.csv")
    assert X["bc"].notna().sum() == 1
    keep = np.flatnonzero(X["bc"].isna().to_numpy())[:300]
    X, y = X.iloc[keep].reset_index(drop=True), y.iloc[keep].reset_index(drop=True)
    keep_classes = y.map(y.value_counts()) >= 10
    X, y = X[keep_classes].reset_index(drop=True), y[keep_classes].reset_index(drop=True)
    config = default_config() | {
        "synthetic_ratio": 0.5, "n_bootstrap": 2, "n_dags": 1, "epochs": 1,
        "steps_per_epoch": 1, "episodes_per_step": 1, "context_size": 32,
    }  # fmt: skip
    classifier, run = train_causalmixft(
        get_backend("tabfm", device=TEST_DEVICE), X, y, config, seed=0, device=TEST_DEVICE
    )
    assert run.synthetic is not None
    X_syn, _ = run.synthetic
    assert list(X_syn.columns) == list(X.columns)
    assert X_syn["bc"].isna().all()
    proba = classifier.predict_proba(X.head(20))
    assert proba.shape == (20, y.nunique())
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert isinstance(X_syn, pd.DataFrame)
