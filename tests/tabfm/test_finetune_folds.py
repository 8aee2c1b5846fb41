from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from tabfm import (
    FinetuneConfig,
    TabFMBackend,
    TabFMConfig,
    TabFMError,
    TabFMModel,
    finetune,
    finetune_folds,
)
from tabfm._stacked import stack_modules, unstack_state

ARCHITECTURES = {
    "v2": {},
    "v3 elements": {
        "thinking_rows": 3,
        "norm": "rms",
        "residual_decay": 0.95,
        "feature_grouping": True,
    },
}


def _backend(**architecture: Any) -> TabFMBackend:
    torch.manual_seed(0)
    config = TabFMConfig(embed_dim=16, n_layers=2, n_heads=2, feature_id_dim=4, **architecture)
    return TabFMBackend(TabFMModel(config), torch.device("cpu"))


def _table(n_rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Three classes, missing values, a signal in column ``a``, and an integer-coded category
    ``e`` (0 / 1 / 2), whose codes the training episodes shuffle."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n_rows, 4)), columns=list("abcd"))
    X = X.mask(rng.random(X.shape) < 0.05).assign(e=rng.integers(0, 3, n_rows))
    signal = X["a"].fillna(0) + rng.normal(size=n_rows) > 0
    y = pd.Series(np.where(signal, "p", np.where(rng.random(n_rows) < 0.3, "q", "r")))
    return X, y


def _folds() -> list[Any]:
    """Three folds of different sizes, with different synthetic shares."""
    folds = []
    for k, n_rows in enumerate([150, 163, 171]):
        X, y = _table(n_rows, k)
        X_syn, y_syn = _table(40 + 10 * k, 10 + k)
        folds.append(((X[:120], y[:120]), (X_syn, y_syn), (X[120:], y[120:])))
    return folds


def _configs(**changes: Any) -> list[FinetuneConfig]:
    settings = {
        "device": "cpu",
        "context_size": 96,
        "steps_per_epoch": 3,
        "episodes_per_step": 2,
        "epochs": 3,
        "patience": 0,
        "learning_rate": 3e-3,
        **changes,
    }
    return [FinetuneConfig(**settings, seed=7 + k) for k in range(3)]


@pytest.mark.parametrize(
    ("architecture", "changes"),
    [
        ("v2", {}),
        ("v3 elements", {}),
        ("v2", {"frozen_blocks": 1, "query_source": "mixed"}),
        # Folds stop at different epochs (a diverging rate would amplify float noise).
        ("v2", {"patience": 1, "learning_rate": 0.003, "epochs": 5}),
    ],
)
def test_folds_trained_together_equal_folds_trained_one_by_one(
    architecture: str, changes: dict[str, Any]
) -> None:
    backend = _backend(**ARCHITECTURES[architecture])
    folds, configs = _folds(), _configs(**changes)
    before = {k: v.clone() for k, v in backend.model.state_dict().items()}
    together = finetune_folds(backend, folds, configs)
    alone = [finetune(backend, *fold, config) for fold, config in zip(folds, configs)]
    assert all(torch.equal(v, backend.model.state_dict()[k]) for k, v in before.items())
    for (tuned_together, history_together), (tuned_alone, history_alone) in zip(together, alone):
        assert len(history_together) == len(history_alone)
        for record_together, record_alone in zip(history_together, history_alone):
            for key in ("train_loss", "valid_roc_auc", "valid_log_loss", "lr", "steps"):
                np.testing.assert_allclose(
                    record_together[key], record_alone[key], rtol=1e-4, atol=1e-6, err_msg=key
                )
            assert record_together["best_epoch"] == record_alone["best_epoch"]
        X_valid = folds[0][2][0]
        np.testing.assert_allclose(
            tuned_together.predict_proba(X_valid), tuned_alone.predict_proba(X_valid), atol=1e-5
        )
    epochs_run = {len(history) for _, history in alone}
    if changes.get("patience"):
        assert len(epochs_run) > 1, "the folds should stop at different epochs"


def test_the_folds_configs_may_differ_only_in_seed() -> None:
    configs = _configs()
    configs[1] = FinetuneConfig(**{**configs[1].to_dict(), "learning_rate": 1e-4})
    with pytest.raises(TabFMError, match="differ only in `seed`"):
        finetune_folds(_backend(), _folds(), configs)
    with pytest.raises(TabFMError, match="one config"):
        finetune_folds(_backend(), _folds(), configs[:2])


def test_a_backend_that_cannot_stack_trains_the_folds_one_by_one() -> None:
    class OneByOne(TabFMBackend):
        def stack(self, copies: Any) -> None:
            return None

    torch.manual_seed(0)
    config = TabFMConfig(embed_dim=16, n_layers=1, n_heads=2, feature_id_dim=4)
    backend = OneByOne(TabFMModel(config), torch.device("cpu"))
    folds, configs = _folds()[:2], _configs(epochs=1)[:2]
    together = finetune_folds(backend, folds, configs)
    alone = [finetune(backend, *fold, config) for fold, config in zip(folds, configs)]
    for (_, history_together), (_, history_alone) in zip(together, alone):
        assert [r["train_loss"] for r in history_together[1:]] == [
            r["train_loss"] for r in history_alone[1:]
        ]


def test_tables_with_different_context_lengths_equal_their_own_forward_passes() -> None:
    models = [_backend(**ARCHITECTURES["v3 elements"]).model for _ in range(3)]
    for seed, model in enumerate(models):  # three different sets of weights
        torch.manual_seed(seed)
        for parameter in model.parameters():
            parameter.data.add_(0.1 * torch.randn_like(parameter))
    stacked = stack_modules(models)
    lengths, queries, columns = [20, 17, 22], [10, 14, 6], 5
    rows = max(c + q for c, q in zip(lengths, queries))
    x, y = torch.zeros(3, rows, columns), torch.zeros(3, max(lengths), dtype=torch.long)
    ids = torch.randn(3, columns, 4)
    tables = []
    for k in range(3):
        table = torch.randn(lengths[k] + queries[k], columns)
        table[torch.rand(table.shape) < 0.1] = float("nan")
        labels = torch.randint(0, 3, (lengths[k],))
        x[k, : len(table)], y[k, : lengths[k]] = table, labels
        tables.append((table, labels))
    logits = stacked(x, y, n_classes=3, context_lengths=torch.tensor(lengths), feature_ids=ids)
    for k, (table, labels) in enumerate(tables):
        alone = models[k](table[None], labels[None], n_classes=3, feature_ids=ids[k : k + 1])
        start = lengths[k] - min(lengths)
        together = logits[k, start : start + queries[k], :3]
        torch.testing.assert_close(together, alone[0, :, :3], atol=1e-5, rtol=1e-4)
        state = unstack_state(stacked, k)
        assert all(torch.equal(state[name], v) for name, v in models[k].state_dict().items())


def test_a_layer_without_a_stacked_version_is_refused() -> None:
    with pytest.raises(TabFMError, match="cannot be stacked"):
        stack_modules([torch.nn.Sequential(torch.nn.Conv1d(2, 2, 3))] * 2)
