"""The Mitra backend on a tiny random Mitra (Tab2D) written in Mitra's own checkpoint format.

AutoGluon pins pandas < 3, so these tests run in the pandas-2 venv (``make test-pandas2``);
elsewhere they skip. The one-line error of a missing ``autogluon.tabular`` is tested with the
other backends' in ``test_external``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from tabfm import (
    TabFMError,
    get_backend,
    make_classifier,
)
from tests.conftest import require_mitra
from tests.tabfm.backends.test_contract import credit_sample, hub_snapshot

if TYPE_CHECKING:
    import torch

# AutoGluon's Tab2D calls deprecated einx functions; the warnings are AutoGluon's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:autogluon")

TINY_CONFIG = {"dim": 16, "dim_output": 10, "n_layers": 1, "n_heads": 2, "task": "CLASSIFICATION"}


def write_tiny_checkpoint(directory: Path, seed: int = 0, task: str = "CLASSIFICATION") -> Path:
    """A randomly initialised Tab2D saved by Mitra's own ``save_pretrained``.

    That writes ``config.json`` and ``model.safetensors``, the files of the Hugging Face repo
    ``autogluon/mitra-classifier``. Returns the directory.
    """
    import torch
    from autogluon.tabular.models.mitra._internal.models.tab2d import Tab2D

    torch.manual_seed(seed)
    model = Tab2D(
        **{**TINY_CONFIG, "task": task},
        use_pretrained_weights=False,
        path_to_weights="",
        device="cpu",
    )
    model.save_pretrained(str(directory))
    return directory


def tiny_weights(directory: Path) -> Path:
    """A tiny random model in ``directory``, as :mod:`test_contract` asks of every backend."""
    require_mitra()
    return write_tiny_checkpoint(directory)


def weights_forms(weights: Path) -> list[Path | str]:
    """The checkpoint directory, its safetensors file, the directory as a string."""
    return [weights, weights / "model.safetensors", str(weights)]


def saved_state(weights: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(weights / "model.safetensors"))


def upstream_state(directory: Path) -> dict[str, torch.Tensor]:
    """The weights AutoGluon's Tab2D itself loads from the files saved in ``directory``:
    Mitra's two files, with our config unchanged."""
    from autogluon.tabular.models.mitra._internal.models.tab2d import Tab2D

    assert sorted(p.name for p in directory.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((directory / "config.json").read_text()) == TINY_CONFIG
    return dict(Tab2D.from_pretrained(str(directory), device="cpu").state_dict())


def empty_default_cache(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """The Hugging Face cache, where AutoGluon keeps Mitra's download."""
    require_mitra()
    folder = hub_snapshot(root, "models--autogluon--mitra-classifier", monkeypatch)
    return r"not in the Hugging Face cache.*--weights PATH", folder


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return tiny_weights(tmp_path / "weights")


def test_missing_or_wrong_weights_name_the_path_and_the_file(
    checkpoint: Path, tmp_path: Path
) -> None:
    with pytest.raises(TabFMError, match=r"does not exist: '.*nowhere'.*\.safetensors"):
        get_backend("mitra", weights=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TabFMError, match=r"holds no checkpoint.*model\.safetensors"):
        get_backend("mitra", weights=tmp_path / "empty")
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "model.safetensors").write_bytes(b"")
    with pytest.raises(TabFMError, match=r"need their config\.json beside '.*alone"):
        get_backend("mitra", weights=tmp_path / "alone")
    (tmp_path / "alone" / "config.json").write_text(json.dumps(TINY_CONFIG))
    with pytest.raises(TabFMError, match=r"cannot be read: '.*alone.model\.safetensors'"):
        get_backend("mitra", weights=tmp_path / "alone")
    (tmp_path / "alone" / "config.json").write_text('{"dim": 16}')
    with pytest.raises(TabFMError, match=r"Not a Mitra config .*'dim_output'"):
        get_backend("mitra", weights=tmp_path / "alone")
    regressor = write_tiny_checkpoint(tmp_path / "regressor", task="REGRESSION")
    with pytest.raises(TabFMError, match=r"regression model, not a classifier"):
        get_backend("mitra", weights=regressor)
    (checkpoint / "config.json").write_text(json.dumps({**TINY_CONFIG, "dim": 32}))
    with pytest.raises(TabFMError, match=r"do not match their config: '.*weights"):
        get_backend("mitra", weights=checkpoint)


def test_episode_rows_match_mitras_preprocessor() -> None:
    require_mitra()
    import torch
    from autogluon.tabular.models.mitra._internal.config.enums import Task
    from autogluon.tabular.models.mitra._internal.data.preprocessor import Preprocessor

    from tabfm.backends._mitra import prepare_rows

    rng = np.random.default_rng(0)
    context = rng.lognormal(size=(80, 4)).astype(np.float32)
    context[:, 2] = 7.0  # constant: dropped
    context[[3, 9], 1] = np.nan  # imputed with the context mean
    query = rng.lognormal(size=(20, 4)).astype(np.float32)
    query[0, 3] = np.nan
    signs = np.array([1.0, -1.0, 1.0, -1.0], dtype=np.float32)
    ours = prepare_rows(*(torch.from_numpy(a) for a in (context, query, signs)))

    upstream = Preprocessor(
        dim_embedding=None, n_classes=2, dim_output=10, use_quantile_transformer=False,
        use_feature_count_scaling=False, use_random_transforms=False, shuffle_classes=False,
        shuffle_features=False, random_mirror_regression=False, random_mirror_x=True,
        task=Task.CLASSIFICATION,
    )  # fmt: skip
    upstream.fit(context.copy(), np.arange(80) % 2)
    upstream.mirror = signs[None, [0, 1, 3]]  # its reflections, of the columns it keeps
    expected = np.concatenate([upstream.transform_X(context.copy()), upstream.transform_X(query)])
    assert ours.shape == (100, 3)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:In CPU autocast, but the target dtype is not supported")
@pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true")
def test_zero_shot_equals_mitra_classifier_on_a_numeric_table(
    checkpoint: Path, datasets_dir: Path
) -> None:
    from autogluon.tabular.models.mitra.sklearn_interface import MitraClassifier

    class FullPrecisionMitra(MitraClassifier):
        # Mitra runs under bf16 autocast even on CPU; our CPU inference is float32.
        def _create_config(self, task, dim_output, time_limit=None):  # type: ignore[no-untyped-def]
            config, model_class = super()._create_config(task, dim_output, time_limit)
            config.hyperparams["precision"] = "float32"
            return config, model_class

    X, y = credit_sample(datasets_dir, n_rows=160)
    X = X.select_dtypes("number").fillna(0.0)
    backend = get_backend("mitra", weights=checkpoint, device="cpu")
    # One member sees the columns as they are, as Mitra does without its reflections.
    ours = make_classifier(backend, n_estimators=1, random_state=3).fit(X[:120], y[:120])
    proba = ours.predict_proba(X[120:])
    assert proba[:, 1].std() > 1e-3  # the random model does look at the rows
    classes, codes = np.unique(y, return_inverse=True)
    upstream = FullPrecisionMitra(
        fine_tune=False, hf_model=str(checkpoint), random_mirror_x=False, device="cpu",
        verbose=False,
    ).fit(X[:120].to_numpy(np.float32), codes[:120])  # fmt: skip
    assert list(ours.classes_) == list(classes)
    np.testing.assert_allclose(
        proba, upstream.predict_proba(X[120:].to_numpy(np.float32)), atol=1e-5
    )
    # More members add random reflections: different, still probabilities.
    four = make_classifier(backend, n_estimators=4, random_state=3).fit(X[:120], y[:120])
    proba_four = four.predict_proba(X[120:])
    assert np.allclose(proba_four.sum(axis=1), 1.0) and not np.allclose(proba_four, proba)
