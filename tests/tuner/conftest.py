from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True, scope="package")
def _one_torch_thread() -> Iterator[None]:
    """Trials run in the test process too: with tiny models on a shared machine, a second
    intra-op thread only adds contention (it made in-process trials ten times slower).
    Package scope, so that module-scoped fixtures that tune a study get it as well."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# The cheapest fixed configuration (a space that samples nothing), for bench and backend tests.
FIXED_TINY = """
name: tiny-fixed
description: The cheapest fixed configuration, for tests.
params:
  synthetic_ratio: 0.5
  discovery: pc
  indep_test: fisherz
  n_bootstrap: 2
  n_dags: 1
  mechanism_quality: linear
  epochs: 1
  steps_per_epoch: 2
  episodes_per_step: 1
  context_size: 32
  patience: 1
"""


@pytest.fixture
def small_csv(tmp_path: Path, datasets_dir: Path) -> Path:
    """A 240-row stratified sample of the shipped diabetes dataset (8 numeric features)."""
    frame = pd.read_csv(datasets_dir / "diabetes.csv")
    rng = np.random.default_rng(0)
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(frame["target"] == label), size=120, replace=False)
            for label in sorted(frame["target"].unique())
        ]
    )
    path = tmp_path / "diabetes_small.csv"
    frame.iloc[np.sort(keep)].to_csv(path, index=False)
    return path


@pytest.fixture
def tiny_space(tmp_path: Path) -> Path:
    """A search space even cheaper than `fast`, for tests of the tuning machinery."""
    path = tmp_path / "tiny.yaml"
    path.write_text(
        """
name: tiny
description: Cheapest possible trials for tests.
params:
  synthetic_ratio: {type: categorical, choices: [0.0, 0.5]}
  discovery: pc
  indep_test: fisherz
  n_bootstrap: 2
  n_dags: 1
  mechanism_quality: linear
  learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}
  epochs: 1
  steps_per_epoch: 2
  episodes_per_step: 1
  context_size: 32
  patience: 1
"""
    )
    return path
