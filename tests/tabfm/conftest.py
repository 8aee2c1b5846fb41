"""Fixtures of the tabfm tests: tiny random models and small tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    # The machine is shared; one thread keeps timings stable and leaves a core to others.
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def tiny_model():  # type: ignore[no-untyped-def]
    import torch

    from tabfm import TabFMConfig, TabFMModel

    torch.manual_seed(0)
    return TabFMModel(TabFMConfig(embed_dim=16, n_layers=1, n_heads=2, feature_id_dim=4)).eval()


@pytest.fixture
def toy_table() -> tuple[pd.DataFrame, pd.Series]:
    """300 rows, a numeric / categorical / boolean mix with missing values; y = a + b > 0."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(size=300)
    X = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "colour": pd.Series(rng.choice(["red", "green", "blue"], 300), dtype="str"),
            "flag": rng.random(300) < 0.3,
            "noise": np.where(rng.random(300) < 0.1, np.nan, rng.normal(size=300)),
        }
    )
    y = pd.Series(np.where(a + b > 0, "yes", "no"), name="target")
    return X, y


def board_table(n_rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Integer-coded cells ``c0``-``c2`` (0 / 1 / 2, like tic-tac-toe) and a continuous ``z``;
    y = (c0 == 1) with 10 % of the labels flipped."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 3, size=(n_rows, 3))
    X = pd.DataFrame(cells, columns=["c0", "c1", "c2"]).assign(z=rng.normal(size=n_rows))
    return X, pd.Series((cells[:, 0] == 1) ^ (rng.random(n_rows) < 0.1)).astype(int)
