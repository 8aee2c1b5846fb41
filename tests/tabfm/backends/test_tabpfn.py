"""The TabPFN backend on a tiny random TabPFN v2 written in TabPFN's own checkpoint format."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from tabfm import (
    TabFMError,
    TablePreprocessor,
    get_backend,
    make_classifier,
)
from tabfm.backends._tabpfn import DEFAULT_CHECKPOINT
from tests.tabfm.backends.test_contract import credit_sample

if TYPE_CHECKING:
    import torch

pytest.importorskip("tabpfn", reason="the TabPFN backend needs: pip install '.[tabpfn]'")

# tabpfn keeps a deprecated alias module whose attribute access warns when `inspect` scans
# sys.modules; it is tabpfn's, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Importing from 'tabpfn.model.loading':DeprecationWarning"
)

TINY_CONFIG = {"max_num_classes": 10, "emsize": 16, "nlayers": 1, "nhead": 2}


def write_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    """A randomly initialised TabPFN v2, saved like the released v2 ``.ckpt`` files.

    Those hold ``state_dict`` and ``config`` only (no architecture name, no inference
    config), which is what TabPFN's loader falls back on for v2.
    """
    import torch
    from tabpfn.architectures import tabpfn_v2

    torch.manual_seed(seed)
    config, _ = tabpfn_v2.parse_config(TINY_CONFIG)
    model = tabpfn_v2.get_architecture(config)
    # TabPFN zero-initialises the attention outputs, so a fresh model ignores the features;
    # random weights everywhere make the tests below sensitive to its inputs.
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "config": dict(TINY_CONFIG)}, path)
    return path


def tiny_weights(directory: Path) -> Path:
    """A tiny random model in ``directory``, as :mod:`test_contract` asks of every backend."""
    return write_tiny_checkpoint(directory / DEFAULT_CHECKPOINT)


def weights_forms(weights: Path) -> list[Path | str]:
    """The checkpoint file, its directory."""
    return [weights, weights.parent]


def saved_state(weights: Path) -> dict[str, torch.Tensor]:
    import torch

    state: dict[str, torch.Tensor] = torch.load(weights, weights_only=True)["state_dict"]
    return state


def upstream_state(directory: Path) -> dict[str, torch.Tensor]:
    """The weights TabPFNClassifier itself loads from the one file saved in ``directory``."""
    from tabpfn import TabPFNClassifier

    files = list(directory.iterdir())
    assert [f.suffix for f in files] == [".safetensors"]
    upstream = TabPFNClassifier(model_path=files[0], n_estimators=1, device="cpu")
    upstream.fit(np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2)
    return dict(upstream.model_.state_dict())


def empty_default_cache(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """TabPFN's own model cache directory (never a download)."""
    from tabpfn.settings import settings

    monkeypatch.setattr(settings.tabpfn, "model_cache_dir", root / "cache")
    return r"TabPFN's cache '.*cache'.*--weights PATH", root / "cache"


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return tiny_weights(tmp_path / "weights")


def test_reads_tables_with_the_tabfm_preprocessor(checkpoint: Path) -> None:
    backend = get_backend("tabpfn", weights=checkpoint, device="cpu")
    assert isinstance(backend.make_preprocessor(), TablePreprocessor)


def test_missing_or_wrong_weights_name_the_path_and_the_file(tmp_path: Path) -> None:
    with pytest.raises(TabFMError, match=r"does not exist: '.*nowhere'.*\.ckpt"):
        get_backend("tabpfn", weights=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TabFMError, match=r"holds no checkpoint.*tabpfn-v2-classifier"):
        get_backend("tabpfn", weights=tmp_path / "empty")
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(TabFMError, match=r"cannot be loaded as a classifier: '.*broken\.ckpt'"):
        get_backend("tabpfn", weights=tmp_path / "broken.ckpt")


def test_zero_shot_equals_tabpfn_classifier_on_a_numeric_table(
    checkpoint: Path, datasets_dir: Path
) -> None:
    from tabpfn import TabPFNClassifier

    X, y = credit_sample(datasets_dir, n_rows=160)
    X = X.select_dtypes("number")
    backend = get_backend("tabpfn", weights=checkpoint, device="cpu")
    ours = make_classifier(backend, n_estimators=4, random_state=3).fit(X[:120], y[:120])
    proba = ours.predict_proba(X[120:])
    assert proba[:, 1].std() > 1e-3  # the random model does look at the rows
    upstream = TabPFNClassifier(
        model_path=checkpoint, n_estimators=4, random_state=3, device="cpu"
    ).fit(X[:120].astype("float32"), y[:120])
    assert list(ours.classes_) == list(upstream.classes_)
    # The same rows in the same order reach TabPFN: the same numbers come out. (A shuffled
    # context differs by float rounding, up to 1e-3 on some CPUs with this random model.)
    np.testing.assert_allclose(
        proba, upstream.predict_proba(X[120:].astype("float32")), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("architecture", ["tabpfn_v2_5", "tabpfn_v2_6", "tabpfn_v3"])
def test_later_tabpfn_architectures_load_train_predict_and_save(
    architecture: str, tmp_path: Path
) -> None:
    import torch
    from tabpfn.architectures import ARCHITECTURES
    from tabpfn.checkpoint import save_as_safetensors

    module = ARCHITECTURES[architecture]
    config, _ = module.parse_config(
        {"max_num_classes": 10, "emsize": 16, "nlayers": 1, "nhead": 2}
    )
    torch.manual_seed(0)
    model = module.get_architecture(config)
    path = tmp_path / f"{architecture}.safetensors"
    save_as_safetensors(
        {
            "state_dict": model.state_dict(),
            "config": dataclasses.asdict(config),
            "architecture_name": architecture,
        },
        path,
    )
    backend = get_backend("tabpfn", weights=path, device="cpu")
    backend.train(True)
    logits = backend.forward_episode(
        torch.randn(30, 4), torch.arange(30) % 3, torch.randn(6, 4), 3
    )
    assert logits.shape == (6, 3) and torch.isfinite(logits).all()
    backend.train(False)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 4)).astype(np.float32), np.arange(50) % 3
    proba = backend.predict_proba(x[:40], y[:40], x[40:], 3, n_estimators=2)
    assert proba.shape == (10, 3) and np.allclose(proba.sum(axis=1), 1.0)
    backend.save(tmp_path / "saved")
    again = get_backend("tabpfn", weights=tmp_path / "saved", device="cpu")
    assert type(again.module) is type(backend.module)
