"""What every third-party backend must do, run on each one's tiny random checkpoint.

Each backend's own module (``test_tabicl``, ``test_tabpfn``, ``test_mitra``) writes a tiny
random model in the upstream checkpoint format (its ``tiny_weights``) and tests what is its
own: the file formats, the preprocessing, equality with the upstream classifier. The duties
the backends share are tested here, once, for each of them.
"""

from __future__ import annotations

import importlib
import math
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tabfm import (
    FinetuneConfig,
    FineTunedClassifier,
    TabFMError,
    finetune,
    get_backend,
    make_classifier,
)

# Upstream deprecations (AutoGluon's einx calls, tabpfn's alias module) are theirs, not ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:autogluon"),
    pytest.mark.filterwarnings("ignore:Importing from 'tabpfn.model.loading':DeprecationWarning"),
]

BACKEND_TESTS = {
    "mitra": "tests.tabfm.backends.test_mitra",
    "tabicl": "tests.tabfm.backends.test_tabicl",
    "tabpfn": "tests.tabfm.backends.test_tabpfn",
}
"""Each external backend's test module, which writes its tiny checkpoint."""


def tiny_weights(name: str, directory: Path) -> Path:
    """A tiny random model of backend ``name`` in ``directory`` (skips without its package)."""
    module: Any = importlib.import_module(BACKEND_TESTS[name])
    weights: Path = module.tiny_weights(directory)
    return weights


def credit_sample(datasets_dir: Path, n_rows: int = 240) -> tuple[pd.DataFrame, pd.Series]:
    """A stratified sample of the shipped credit-approval table (strings, missing values)."""
    from causalmix import load_dataset

    X, y = load_dataset(datasets_dir / "credit-approval.csv")
    rng = np.random.default_rng(0)
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == label), size=n_rows // 2, replace=False)
            for label in sorted(y.unique())
        ]
    )
    keep = np.sort(keep)
    return X.iloc[keep].reset_index(drop=True), y.iloc[keep].reset_index(drop=True)


@pytest.fixture(params=sorted(BACKEND_TESTS))
def tiny(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """``(backend name, its tiny weights)``."""
    return request.param, tiny_weights(request.param, tmp_path / "weights")


def test_forward_episode_gives_query_logits_with_gradients(tiny: tuple[str, Path]) -> None:
    import torch

    name, weights = tiny
    backend = get_backend(name, weights=weights, device="cpu")
    backend.train(True)
    generator = torch.Generator().manual_seed(0)
    x_context, x_query = torch.randn(40, 5), torch.randn(12, 5)
    x_context[0, 1] = torch.nan
    y_context = torch.arange(40) % 3
    logits = backend.forward_episode(x_context, y_context, x_query, 3, generator=generator)
    assert logits.shape == (12, 3) and torch.isfinite(logits).all()
    torch.nn.functional.cross_entropy(logits, torch.arange(12) % 3).backward()
    grads = [p.grad for p in backend.parameters() if p.grad is not None]
    assert grads and any(bool(g.abs().sum() > 0) for g in grads)
    with pytest.raises(TabFMError, match="n_classes=11"):
        backend.forward_episode(x_context, y_context, x_query, 11)


@pytest.mark.slow
def test_finetune_a_real_dataset_and_reload_the_result(
    tiny: tuple[str, Path], datasets_dir: Path, tmp_path: Path
) -> None:
    import torch

    name, weights = tiny
    X, y = credit_sample(datasets_dir)
    backend = get_backend(name, weights=weights, device="cpu")
    before = backend.state_dict()
    config = FinetuneConfig(
        epochs=2, steps_per_epoch=3, episodes_per_step=1, context_size=96, patience=0,
        learning_rate=1e-3, eval_estimators=1, device="cpu", seed=0,
    )  # fmt: skip
    classifier, history = finetune(
        backend, (X[:160], y[:160]), (X[160:200], y[160:200]), (X[200:], y[200:]), config
    )
    assert [h["epoch"] for h in history] == [0, 1, 2]
    assert all(math.isfinite(h["train_loss"]) for h in history[1:])
    assert all(0.0 <= h["valid_roc_auc"] <= 1.0 for h in history)
    assert history[-1]["best_epoch"] in (0, 1, 2)
    for key, tensor in backend.module.state_dict().items():  # the original is untouched
        assert torch.equal(tensor, before[key])
    proba = classifier.predict_proba(X[200:])
    assert proba.shape == (40, 2) and np.allclose(proba.sum(axis=1), 1.0)
    classifier.save(tmp_path / "model")
    reloaded = FineTunedClassifier.load(tmp_path / "model", device="cpu")
    assert reloaded.backend.name == name
    np.testing.assert_allclose(reloaded.predict_proba(X[200:]), proba, atol=1e-6)


def _no_network(*args: Any, **kwargs: Any) -> None:
    raise AssertionError(f"network access attempted: {args[1:]!r}")


def test_load_predict_and_train_never_touch_the_network(
    tiny: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    name, weights = tiny
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", _no_network)
    backend = get_backend(name, weights=weights, device="cpu")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), np.arange(60) % 2
    proba = make_classifier(backend, n_estimators=2).fit(X[:40], y[:40]).predict_proba(X[40:])
    assert proba.shape == (20, 2)
    backend.train(True)
    logits = backend.forward_episode(
        torch.randn(30, 4), torch.arange(30) % 2, torch.randn(6, 4), 2
    )
    assert logits.shape == (6, 2)


@pytest.mark.gpu
def test_finetune_on_cuda_with_bf16(
    tiny: tuple[str, Path], tmp_path: Path, datasets_dir: Path
) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    name, weights = tiny
    X, y = credit_sample(datasets_dir)
    backend = get_backend(name, weights=weights)
    assert backend.device.type == "cuda"  # "auto" picks the GPU
    config = FinetuneConfig(
        epochs=1, steps_per_epoch=2, episodes_per_step=1, context_size=96, device="cuda"
    )
    classifier, history = finetune(
        backend, (X[:160], y[:160]), None, (X[160:], y[160:]), config
    )  # the engine runs the episodes under bf16 autocast on CUDA
    assert math.isfinite(history[-1]["train_loss"]) and history[-1]["peak_memory_mb"] > 0
    proba = classifier.predict_proba(X[160:])
    assert proba.shape == (80, 2) and np.isfinite(proba).all()


def test_freezing_blocks_is_refused_in_one_line(
    tiny: tuple[str, Path], datasets_dir: Path
) -> None:
    name, weights = tiny
    X, y = credit_sample(datasets_dir, n_rows=80)
    backend = get_backend(name, weights=weights, device="cpu")
    config = FinetuneConfig(epochs=1, steps_per_epoch=1, context_size=32, frozen_blocks=1)
    with pytest.raises(TabFMError, match=f"The {name} backend cannot freeze blocks"):
        finetune(backend, (X[:60], y[:60]), None, (X[60:], y[60:]), config)
