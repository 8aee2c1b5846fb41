from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from causalmix import CausalAugmenter, CausalMixError, split_target


def _data(n: int = 40) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v"], size=n)})
    return X, pd.Series(rng.choice(["yes", "no"], size=n), name="label")


def test_is_a_value_error() -> None:
    assert issubclass(CausalMixError, ValueError)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"discovery": "ges"}, "discovery='ges'"),
        ({"discovery": ["pc"]}, "discovery=['pc']"),
        ({"indep_test": "pearson"}, "indep_test='pearson'"),
        ({"alpha": 0.0}, "alpha=0.0"),
        ({"alpha": 1.0}, "alpha=1.0"),
        ({"alpha": 1.5}, "alpha=1.5"),
        ({"alpha": "0.05"}, "alpha='0.05'"),
        ({"depth": -2}, "depth=-2"),
        ({"depth": 1.5}, "depth=1.5"),
        ({"n_bootstrap": 0}, "n_bootstrap=0"),
        ({"n_dags": 0}, "n_dags=0"),
        ({"n_dags": True}, "n_dags=True"),
        ({"mechanism_quality": "best"}, "mechanism_quality='best'"),
        ({"max_discovery_rows": 5}, "max_discovery_rows=5"),
        ({"class_balance": "balanced"}, "class_balance='balanced'"),
        ({"cache": 123}, "cache=123"),
        ({"random_state": -1}, "random_state=-1"),
        ({"random_state": None}, "random_state=None"),
        ({"n_jobs": 0}, "n_jobs=0"),
    ],
)
def test_bad_parameters(params: dict[str, Any], message: str) -> None:
    X, y = _data()
    with pytest.raises(CausalMixError, match=_escaped(message)):
        CausalAugmenter(**params).fit(X, y)


@pytest.mark.parametrize("ratio", [-0.5, float("nan"), float("inf"), "1", None])
def test_bad_synthetic_ratio(ratio: Any) -> None:
    X, y = _data()
    with pytest.raises(CausalMixError, match="synthetic_ratio >= 0"):
        CausalAugmenter().augment(X, y, synthetic_ratio=ratio)


def test_negative_ratio_message_names_the_value() -> None:
    X, y = _data()
    with pytest.raises(CausalMixError) as info:
        CausalAugmenter().augment(X, y, synthetic_ratio=-0.5)
    assert str(info.value) == "`synthetic_ratio >= 0` must hold, but got synthetic_ratio=-0.5."


def _single_class() -> tuple[pd.DataFrame, pd.Series]:
    X, y = _data()
    return X, pd.Series(["yes"] * len(X), name="label")


def _empty() -> tuple[pd.DataFrame, pd.Series]:
    return pd.DataFrame({"a": []}), pd.Series([], name="label")


def _all_nan() -> tuple[pd.DataFrame, pd.Series]:
    X, y = _data()
    X["c"] = np.nan
    return X, y


def _infinite() -> tuple[pd.DataFrame, pd.Series]:
    X, y = _data()
    X.loc[3, "a"] = np.inf
    return X, y


def _unhashable() -> tuple[pd.DataFrame, pd.Series]:
    X, y = _data()
    X["c"] = pd.Series([[i] for i in range(len(X))], dtype=object)
    return X, y


def _too_many_classes() -> tuple[pd.DataFrame, pd.Series]:
    X, _ = _data(n=60)
    return X, pd.Series(np.arange(60) % 12, name="label")


def _no_target() -> tuple[pd.DataFrame, None]:
    X, _ = _data()
    return X, None


def _target_clash() -> tuple[pd.DataFrame, pd.Series]:
    X, y = _data()
    return X, y.rename("a")


@pytest.mark.parametrize(
    "make, message",
    [
        (_single_class, "single class ('yes')"),
        (_empty, "empty: 0 rows"),
        (_all_nan, "Column 'c' holds only missing values"),
        (_infinite, "Column 'a' holds 1 infinite value"),
        (_unhashable, "unhashable values such as [0]"),
        (_too_many_classes, "has 12 classes"),
        (_no_target, "y=None"),
        (_target_clash, "target name 'a' is also the name of a feature"),
    ],
)
def test_bad_data(make: Any, message: str) -> None:
    X, y = make()
    with pytest.raises(CausalMixError, match=_escaped(message)):
        CausalAugmenter().fit(X, y)


def test_missing_target_column() -> None:
    X, y = _data()
    frame = X.assign(label=y)
    with pytest.raises(CausalMixError, match="Target column 'lable' not found.*'label'"):
        split_target(frame, "lable", "data.csv")


@pytest.mark.parametrize("n, message", [(-1, "n >= 0"), (2.5, "n=2.5")])
def test_bad_sample_size(n: Any, message: str) -> None:
    X, y = _data()
    augmenter = CausalAugmenter(n_bootstrap=1, n_dags=1).fit(X, y)
    with pytest.raises(CausalMixError, match=_escaped(message)):
        augmenter.sample(n)


def _escaped(text: str) -> str:
    import re

    return re.escape(text)
