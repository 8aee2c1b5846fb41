from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from causalmix import (
    GENERATORS,
    BaseGenerator,
    CausalAugmenter,
    CausalMixError,
    CTGANGenerator,
    SCMGenerator,
    make_generator,
)
from tests.conftest import require_ctgan

REPO_ROOT = Path(__file__).resolve().parents[2]
CHEAP_CTGAN: dict[str, Any] = {"epochs": 2, "batch_size": 40, "generator_dim": (32,)}


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    # CTGAN trains with torch: one thread keeps it fast on a shared machine.
    import torch

    torch.set_num_threads(1)


def _mixed(n: int = 160, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric, integer, boolean, string and categorical columns; gaps; an empty column."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 10, n)
    X = pd.DataFrame(
        {
            "income": income,
            "age": np.clip(rng.normal(40, 10, n), 18, 90).round().astype(np.int64),
            "owner": income + rng.normal(0, 5, n) > 52,
            "region": pd.Series(rng.choice(["north", "south", "east"], n), dtype="str"),
            "tier": pd.Categorical(rng.choice(["lo", "hi"], n), categories=["lo", "mid", "hi"]),
            "unknown": np.full(n, np.nan),
        }
    )
    X.loc[rng.random(n) < 0.2, "income"] = np.nan
    y = pd.Series(np.where(income > 52, "yes", "no"), name="bought")
    return X, y


def _check_schema(X: pd.DataFrame, y: pd.Series, X_syn: pd.DataFrame, y_syn: pd.Series) -> None:
    assert list(X_syn.columns) == list(X.columns)
    assert X_syn.dtypes.to_dict() == X.dtypes.to_dict()
    assert y_syn.dtype == y.dtype and set(y_syn) <= set(y)
    assert isinstance(X_syn.index, pd.RangeIndex) and len(X_syn) == len(y_syn)
    assert X_syn["unknown"].isna().all()
    for column in ("income", "age"):
        observed = X[column].dropna()
        values = X_syn[column].dropna()
        assert observed.min() <= values.min() and values.max() <= observed.max()
    assert set(X_syn["region"].dropna()) <= set(X["region"])
    assert list(X_syn["tier"].cat.categories) == ["lo", "mid", "hi"]
    assert (X_syn["age"] == X_syn["age"].round()).all()


def _check_class_mix(y: pd.Series, y_syn: pd.Series) -> None:
    real = y.value_counts(normalize=True)
    counts = y_syn.value_counts()
    assert set(counts.index) == set(real.index)
    for label, share in real.items():
        assert abs(counts[label] - share * len(y_syn)) <= 1, (label, counts.to_dict())


def test_registry_names_both_generators() -> None:
    assert GENERATORS == {"scm": SCMGenerator, "ctgan": CTGANGenerator}
    assert all(issubclass(g, BaseGenerator) for g in GENERATORS.values())
    generator = make_generator("ctgan", epochs=3)
    assert isinstance(generator, CTGANGenerator) and generator.epochs == 3


def test_make_generator_rejects_unknown_names_and_parameters() -> None:
    with pytest.raises(CausalMixError, match="name='tabebm'"):
        make_generator("tabebm")
    with pytest.raises(CausalMixError, match="'ctgan'.*epoch"):
        make_generator("ctgan", epoch=3)


def test_sample_before_fit_is_an_error() -> None:
    with pytest.raises(CausalMixError, match="not fitted"):
        SCMGenerator().sample(5)


def test_scm_generator_keeps_schema_and_is_seeded() -> None:
    X, y = _mixed()
    template = CausalAugmenter(n_bootstrap=2, n_dags=2, random_state=7)
    generator = SCMGenerator(template, random_state=3).fit(X, y)
    X_syn, y_syn = generator.sample(90, random_state=1)
    _check_schema(X, y, X_syn, y_syn)
    again, _ = generator.sample(90, random_state=1)
    other, _ = generator.sample(90, random_state=2)
    assert again.equals(X_syn) and not other.equals(X_syn)
    # The template is copied, never fitted in place; the generator's seed wins.
    assert not hasattr(template, "scms_") and template.random_state == 7
    assert generator.augmenter_.random_state == 3
    _check_class_mix(y, y_syn)


def test_scm_generator_rejects_a_non_augmenter() -> None:
    X, y = _mixed(60)
    with pytest.raises(CausalMixError, match="augmenter=dict"):
        SCMGenerator({"n_dags": 2}).fit(X, y)  # type: ignore[arg-type]


def test_a_table_of_only_empty_columns_is_an_error() -> None:
    X = pd.DataFrame({"a": [np.nan] * 20, "b": [np.nan] * 20})
    y = pd.Series(["x", "y"] * 10)
    with pytest.raises(CausalMixError, match="only missing values"):
        SCMGenerator().fit(X, y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epochs": 0}, "`epochs >= 1` must hold, but got epochs=0"),
        ({"batch_size": 45}, "batch_size=45, pac=10"),
        ({"generator_dim": ()}, "generator_dim=()"),
        ({"learning_rate": -1.0}, "learning_rate=-1.0"),
        ({"device": "tpu"}, "device='tpu'"),
    ],
)
def test_ctgan_parameters_are_validated(params: dict[str, Any], message: str) -> None:
    X, y = _mixed(60)
    with pytest.raises(CausalMixError) as info:
        CTGANGenerator(**params).fit(X, y)
    assert message in str(info.value)


def test_ctgan_generator_keeps_schema_class_mix_and_global_random_state() -> None:
    require_ctgan()
    import torch

    X, y = _mixed()
    np.random.seed(123)
    torch.manual_seed(123)
    numpy_state = np.random.get_state()[1].copy()
    torch_state = torch.get_rng_state().clone()
    generator = CTGANGenerator(**CHEAP_CTGAN, random_state=5).fit(X, y)
    X_syn, y_syn = generator.sample(100, random_state=1)
    _check_schema(X, y, X_syn, y_syn)
    _check_class_mix(y, y_syn)  # drawn class by class in the real proportions
    assert 0.05 < X_syn["income"].isna().mean() < 0.4  # the real missing rate is about 0.2
    assert (np.random.get_state()[1] == numpy_state).all()
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_ctgan_generator_is_reproducible_from_its_seeds() -> None:
    require_ctgan()
    X, y = _mixed()
    first = CTGANGenerator(**CHEAP_CTGAN, random_state=5).fit(X, y)
    second = CTGANGenerator(**CHEAP_CTGAN, random_state=5).fit(X, y)
    a, _ = first.sample(50, random_state=1)
    b, _ = second.sample(50, random_state=1)
    c, _ = first.sample(50, random_state=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    X_default, _ = first.sample(50)  # no random_state: the generator's own seed
    X_five, _ = first.sample(50, random_state=5)
    pd.testing.assert_frame_equal(X_default, X_five)


@pytest.mark.slow
def test_ctgan_learns_a_class_conditional_shift() -> None:
    """Class 'hi' has x around +3 and 'lo' around -3: each class's synthetic x must follow."""
    require_ctgan()
    rng = np.random.default_rng(0)
    labels = rng.choice(["lo", "hi"], 200)
    X = pd.DataFrame({"x": np.where(labels == "hi", 3.0, -3.0) + rng.normal(0, 0.5, 200)})
    y = pd.Series(labels, name="target")
    small = {"generator_dim": (64, 64), "discriminator_dim": (64, 64), "embedding_dim": 32}
    generator = CTGANGenerator(
        epochs=150, batch_size=100, learning_rate=2e-3, random_state=0, **small
    ).fit(X, y)
    X_syn, y_syn = generator.sample(200, random_state=0)
    means = X_syn["x"].groupby(y_syn.to_numpy()).mean()
    assert means["hi"] > 1.5 and means["lo"] < -1.5, means.to_dict()


def test_missing_ctgan_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ctgan", None)  # makes `import ctgan` raise ImportError
    X, y = _mixed(60)
    with pytest.raises(CausalMixError, match="optional `ctgan` package"):
        CTGANGenerator(epochs=1).fit(X, y)


def test_importing_causalmix_does_not_import_ctgan_optuna_or_tuner() -> None:
    code = (
        "import sys, causalmix; "
        "print(sorted(m for m in ('ctgan', 'optuna', 'tuner', 'torch') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
