"""What every third-party backend must do, run on each one's tiny random checkpoint.

Each backend's own module (``test_tabicl``, ``test_tabpfn``, ``test_mitra``) has one shape:
it writes a tiny random model in the upstream checkpoint format and says how the upstream
library reads it back (the functions of :class:`BackendTests`), and it tests what is its own:
the error of each malformed weights path, the preprocessing, equality with the upstream
classifier. The duties the backends share are tested here, once, for each of them.
"""

from __future__ import annotations

import importlib
import math
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

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

if TYPE_CHECKING:
    import torch

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


class BackendTests(Protocol):
    """What each backend's test module provides to the tests of this module."""

    def tiny_weights(self, directory: Path) -> Path:
        """Write a tiny random model in ``directory``; the path to give as ``weights``."""

    def weights_forms(self, weights: Path) -> list[Path | str]:
        """Every spelling of the ``tiny_weights`` path that the backend accepts."""

    def saved_state(self, weights: Path) -> dict[str, torch.Tensor]:
        """The weights in the upstream file at ``weights``, read without the backend."""

    def upstream_state(self, directory: Path) -> dict[str, torch.Tensor]:
        """The weights of what the backend saved in ``directory``, read by the upstream
        library's own loader (so that a saved fine-tuned model is a valid upstream model)."""

    def empty_default_cache(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
        """Point the upstream library's model cache into ``root``; the error (a regex) of
        loading without ``weights`` from the empty cache, and the folder where weights written
        by ``tiny_weights`` are found there."""


def backend_tests(name: str) -> BackendTests:
    """Backend ``name``'s test module (skips without the backend's package)."""
    return cast(BackendTests, importlib.import_module(BACKEND_TESTS[name]))


def tiny_weights(name: str, directory: Path) -> Path:
    """A tiny random model of backend ``name`` in ``directory`` (skips without its package)."""
    return backend_tests(name).tiny_weights(directory)


def hub_snapshot(root: Path, repo_folder: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache in ``root``, in use; the snapshot folder of ``repo_folder``
    (e.g. ``models--jingang--TabICL``), which ``refs/main`` names as the current one."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(root / "hub"))
    repo = root / "hub" / repo_folder
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    return repo / "snapshots" / "abc123"


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


def test_loads_every_spelling_of_the_weights_path(tiny: tuple[str, Path]) -> None:
    import torch

    name, weights = tiny
    module = backend_tests(name)
    saved = module.saved_state(weights)
    for form in module.weights_forms(weights):
        backend = get_backend(name, weights=form, device="cpu")
        assert backend.name == name and backend.device_name == "cpu"
        assert backend.max_classes == 10  # type: ignore[attr-defined]
        state = backend.module.state_dict()
        assert state.keys() == saved.keys()
        assert all(torch.equal(state[k], saved[k]) for k in saved)


def test_saved_weights_reload_and_the_upstream_library_reads_them(
    tiny: tuple[str, Path], tmp_path: Path
) -> None:
    import torch

    name, weights = tiny
    backend = get_backend(name, weights=weights, device="cpu")
    with torch.no_grad():
        next(backend.parameters()).add_(0.5)  # as fine-tuning would change them
    backend.save(tmp_path / "saved")
    again = get_backend(name, weights=tmp_path / "saved", device="cpu")
    upstream = backend_tests(name).upstream_state(tmp_path / "saved")
    state = backend.module.state_dict()
    assert state.keys() == again.module.state_dict().keys() == upstream.keys()
    for key, tensor in state.items():
        assert torch.equal(tensor, again.module.state_dict()[key])
        assert torch.equal(tensor, upstream[key])


@pytest.mark.parametrize("name", sorted(BACKEND_TESTS))
def test_default_weights_come_from_the_local_cache_only(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = backend_tests(name)
    message, folder = module.empty_default_cache(tmp_path, monkeypatch)
    with pytest.raises(TabFMError, match=message):
        get_backend(name, device="cpu")
    module.tiny_weights(folder)
    assert get_backend(name, device="cpu").max_classes == 10  # type: ignore[attr-defined]


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
