"""The TabICL backend on a tiny random TabICL written in TabICL's own checkpoint format."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from tabfm import (
    TabFMError,
    get_backend,
    make_classifier,
)
from tabfm.backends._tabicl import DEFAULT_CHECKPOINT, TabICLPreprocessor, normalize_episode
from tests.tabfm.backends.test_contract import credit_sample, hub_snapshot

if TYPE_CHECKING:
    import torch

pytest.importorskip("tabicl", reason="the TabICL backend needs: pip install '.[tabicl]'")

TINY_CONFIG = {
    "max_classes": 10,
    "embed_dim": 16,
    "col_num_blocks": 1,
    "col_nhead": 2,
    "col_num_inds": 8,
    "row_num_blocks": 1,
    "row_nhead": 2,
    "row_num_cls": 2,
    "icl_num_blocks": 1,
    "icl_nhead": 2,
    # TabICL's default zero-initialises every residual branch, which makes a random model
    # ignore its inputs; standard initialisation makes the tests below sensitive to them.
    "zero_init": False,
}


def write_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    """A randomly initialised TabICL saved exactly as TabICL's released checkpoints are."""
    import torch
    from tabicl._model.tabicl import TabICL

    torch.manual_seed(seed)
    model = TabICL(**TINY_CONFIG)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": TINY_CONFIG, "state_dict": model.state_dict()}, path)
    return path


def tiny_weights(directory: Path) -> Path:
    """A tiny random model in ``directory``, as :mod:`test_contract` asks of every backend."""
    return write_tiny_checkpoint(directory / DEFAULT_CHECKPOINT)


def weights_forms(weights: Path) -> list[Path | str]:
    """The checkpoint file, its directory, the file as a string."""
    return [weights, weights.parent, str(weights)]


def saved_state(weights: Path) -> dict[str, torch.Tensor]:
    import torch

    state: dict[str, torch.Tensor] = torch.load(weights, weights_only=True)["state_dict"]
    return state


def upstream_state(directory: Path) -> dict[str, torch.Tensor]:
    """The weights TabICLClassifier itself loads from the checkpoint saved in ``directory``."""
    from tabicl import TabICLClassifier

    upstream = TabICLClassifier(
        model_path=directory / DEFAULT_CHECKPOINT,
        allow_auto_download=False,
        n_estimators=1,
        device="cpu",
    )
    upstream.fit(np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2)
    return dict(upstream.model_.state_dict())


def empty_default_cache(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """The Hugging Face cache, where TabICL keeps its downloads."""
    folder = hub_snapshot(root, "models--jingang--TabICL", monkeypatch)
    return r"not in the Hugging Face cache.*--weights PATH", folder


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return tiny_weights(tmp_path / "weights")


def test_missing_or_wrong_weights_name_the_path_and_the_file(tmp_path: Path) -> None:
    with pytest.raises(TabFMError, match=r"does not exist: '.*nowhere'.*\.ckpt"):
        get_backend("tabicl", weights=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TabFMError, match=r"holds no checkpoint.*tabicl-classifier-v2"):
        get_backend("tabicl", weights=tmp_path / "empty")
    (tmp_path / "model.pt").write_bytes(b"")
    with pytest.raises(TabFMError, match=r"must be a \.ckpt file, but got '.*model\.pt'"):
        get_backend("tabicl", weights=tmp_path / "model.pt")
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(TabFMError, match=r"cannot be read: '.*broken\.ckpt'"):
        get_backend("tabicl", weights=tmp_path / "broken.ckpt")


def test_preprocessor_encodes_like_tabicl() -> None:
    X = pd.DataFrame(
        {
            "colour": pd.Series(["red", "blue", None, "green", "red"], dtype="str"),
            "size": [1.5, np.nan, 3.0, 4.0, 5.0],
            "flag": [True, False, True, True, False],
            "shape": pd.Series(["round", "flat", "round", "flat", None]).astype("category"),
        }
    )
    preprocessor = TabICLPreprocessor().fit(X)
    assert preprocessor.categories["colour"] == ["blue", "green", "red"]  # sorted, as TabICL
    encoded = preprocessor.transform(X)
    # Categorical columns first (TabICL's column order), then the others in order.
    np.testing.assert_array_equal(encoded[:, 0], [2, 0, -1, 1, 2])  # missing -> -1
    np.testing.assert_array_equal(encoded[:, 1], [1, 0, 1, 0, -1])
    assert np.isnan(encoded[1, 2]) and encoded[0, 2] == 1.5
    np.testing.assert_array_equal(encoded[:, 3], [1, 0, 1, 1, 0])
    unseen = X.assign(colour=pd.Series(["purple"] * 5, dtype="str"))
    assert (preprocessor.transform(unseen)[:, 0] == -1).all()
    rebuilt = TabICLPreprocessor.from_dict(preprocessor.to_dict())
    assert isinstance(rebuilt, TabICLPreprocessor)
    np.testing.assert_array_equal(rebuilt.transform(X), encoded)


def test_episode_rows_match_tabicl_none_member_preprocessing() -> None:
    import torch
    from tabicl._sklearn.preprocessing import PreprocessingPipeline, UniqueFeatureFilter

    rng = np.random.default_rng(0)
    context = rng.lognormal(size=(80, 4)).astype(np.float32)
    context[:, 2] = 7.0  # constant: dropped
    context[3, 1] = 500.0  # an outlier: softly clipped
    query = rng.lognormal(size=(20, 4)).astype(np.float32)
    ours = normalize_episode(torch.from_numpy(context), torch.from_numpy(query)).numpy()
    kept = UniqueFeatureFilter().fit(context)
    pipeline = PreprocessingPipeline(normalization_method="none").fit(kept.transform(context))
    expected = np.concatenate([pipeline.X_transformed_, pipeline.transform(kept.transform(query))])
    assert ours.shape == (100, 3)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)


def test_zero_shot_equals_tabicl_classifier_on_the_same_table(
    checkpoint: Path, datasets_dir: Path
) -> None:
    from tabicl import TabICLClassifier

    X, y = credit_sample(datasets_dir, n_rows=160)
    backend = get_backend("tabicl", weights=checkpoint, device="cpu")
    ours = make_classifier(backend, n_estimators=4, random_state=3).fit(X[:120], y[:120])
    upstream = TabICLClassifier(
        model_path=checkpoint,
        allow_auto_download=False,
        n_estimators=4,
        random_state=3,
        device="cpu",
    ).fit(X[:120], y[:120])
    assert list(ours.classes_) == list(upstream.classes_)
    proba = ours.predict_proba(X[120:])
    assert proba[:, 1].std() > 1e-3  # the random model does look at the rows
    np.testing.assert_allclose(proba, upstream.predict_proba(X[120:]), rtol=0, atol=1e-6)
