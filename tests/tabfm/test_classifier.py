from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from tabfm import TabFMClassifier, TabFMError, TabFMModel, load_model, roc_auc, save_weights
from tabfm._weights import _read_cached, shipped_weights_dir
from tests.tabfm.conftest import board_table


def test_probabilities_sum_to_one_with_the_right_shape(
    tiny_model: TabFMModel, toy_table: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = toy_table
    classifier = TabFMClassifier(tiny_model, n_estimators=3, device="cpu").fit(X[:200], y[:200])
    proba = classifier.predict_proba(X[200:])
    assert proba.shape == (100, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert set(classifier.predict(X[200:])) <= {"no", "yes"}
    assert list(classifier.classes_) == ["no", "yes"]


def test_permuting_training_rows_barely_changes_predictions(
    tiny_model: TabFMModel, toy_table: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = toy_table
    order = np.random.default_rng(1).permutation(200)
    first = TabFMClassifier(tiny_model, device="cpu").fit(X[:200], y[:200])
    second = TabFMClassifier(tiny_model, device="cpu").fit(X.iloc[order], y.iloc[order])
    np.testing.assert_allclose(
        first.predict_proba(X[200:]), second.predict_proba(X[200:]), atol=1e-4
    )


def test_wide_and_long_tables_are_subsampled(tiny_model: TabFMModel) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 130))  # wider than max_features=100, longer than max_context
    y = (X[:, 0] > 0).astype(int)
    classifier = TabFMClassifier(tiny_model, n_estimators=2, device="cpu", max_context=64)
    proba = classifier.fit(X[:300], y[:300]).predict_proba(X[300:])
    assert proba.shape == (100, 2) and np.isfinite(proba).all()


def test_multiclass_with_ten_classes(tiny_model: TabFMModel) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.arange(200) % 10
    proba = TabFMClassifier(tiny_model, device="cpu").fit(X, y).predict_proba(X[:7])
    assert proba.shape == (7, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_shipped_weights_load_and_beat_a_constant_predictor(datasets_dir: Path) -> None:
    frame = pd.read_csv(datasets_dir / "diabetes.csv")
    X, y = frame.drop(columns="target"), frame["target"]
    classifier = TabFMClassifier(n_estimators=2, device="cpu").fit(X[:500], y[:500])
    auc = roc_auc(y[500:], classifier.predict_proba(X[500:]), classifier.classes_)
    assert auc > 0.7  # a constant predictor scores 0.5


def test_loading_is_cached_per_process() -> None:
    load_model()
    hits = _read_cached.cache_info().hits
    first, second = load_model(), load_model()
    assert _read_cached.cache_info().hits == hits + 2
    assert first is not second  # each caller gets its own module


def test_save_load_round_trip(tiny_model: TabFMModel, tmp_path: Path) -> None:
    save_weights(tiny_model, tmp_path / "w")
    loaded = load_model(tmp_path / "w" / "model.safetensors")
    assert loaded.config == tiny_model.config
    X = np.random.default_rng(0).normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int)
    a = TabFMClassifier(tiny_model, device="cpu").fit(X[:60], y[:60]).predict_proba(X[60:])
    b = TabFMClassifier(tmp_path / "w", device="cpu").fit(X[:60], y[:60]).predict_proba(X[60:])
    np.testing.assert_array_equal(a, b)


def test_missing_and_corrupt_weights_raise(tmp_path: Path) -> None:
    X, y = np.zeros((10, 2)), np.arange(10) % 2
    with pytest.raises(TabFMError, match="weights file is missing"):
        TabFMClassifier(tmp_path / "nowhere").fit(X, y)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(shipped_weights_dir(), corrupt)
    (corrupt / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(TabFMError, match="weights file is corrupt"):
        TabFMClassifier(corrupt).fit(X, y)
    (corrupt / "config.json").write_text("{not json")
    with pytest.raises(TabFMError, match="config file is corrupt"):
        TabFMClassifier(corrupt).fit(X, y)


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.zeros(20), "at least 2 classes"),
        (np.arange(20) % 11, "at most 10 classes"),
        (np.where(np.arange(20) < 3, np.nan, np.arange(20) % 2), "missing labels"),
        (np.linspace(0.0, 1.0, 20), "Unknown label type: continuous"),
        (None, "requires y to be passed"),
    ],
)
def test_bad_targets_raise(tiny_model: TabFMModel, y: np.ndarray, message: str) -> None:
    with pytest.raises(TabFMError, match=message):
        TabFMClassifier(tiny_model).fit(np.random.default_rng(0).normal(size=(20, 3)), y)


def test_bad_features_raise(tiny_model: TabFMModel) -> None:
    y = np.arange(20) % 2
    with pytest.raises(TabFMError, match="Every value of X is missing"):
        TabFMClassifier(tiny_model).fit(np.full((20, 3), np.nan), y)
    garbage = pd.DataFrame({"a": [{"k": i} for i in range(20)], "b": np.arange(20.0)})
    with pytest.raises(TabFMError, match="neither numbers nor categories"):
        TabFMClassifier(tiny_model).fit(garbage, y)
    with pytest.raises(TabFMError, match="as many rows"):
        TabFMClassifier(tiny_model).fit(np.zeros((19, 3)), y)
    with pytest.raises(TabFMError, match="n_estimators >= 1"):
        TabFMClassifier(tiny_model, n_estimators=0).fit(np.zeros((20, 3)), y)
    with pytest.raises(TabFMError, match="device"):
        TabFMClassifier(tiny_model, device="tpu").fit(np.zeros((20, 3)), y)


def test_mismatched_columns_at_predict_time_raise(
    tiny_model: TabFMModel, toy_table: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = toy_table
    classifier = TabFMClassifier(tiny_model, device="cpu")
    with pytest.raises(NotFittedError):
        classifier.predict_proba(X)
    classifier.fit(X, y)
    with pytest.raises(TabFMError, match="5 columns seen in fit, but got 4"):
        classifier.predict_proba(X.drop(columns="a"))
    with pytest.raises(TabFMError, match="lacks columns seen in fit"):
        classifier.predict_proba(X.rename(columns={"a": "z"}))
    reordered = classifier.predict_proba(X[X.columns[::-1]][:5])
    np.testing.assert_allclose(reordered, classifier.predict_proba(X[:5]))


def test_level_columns_are_whole_number_columns_with_few_distinct_values() -> None:
    from tabfm._classifier import level_columns

    x = np.array(
        [  # ternary with a gap, binary, four levels, fractional, constant
            [0.0, 1.0, 1.0, 0.5, 7.0],
            [2.0, 0.0, 2.0, 1.5, 7.0],
            [np.nan, 1.0, 3.0, 0.5, 7.0],
            [5.0, 0.0, 4.0, 1.5, 7.0],
        ],
        dtype=np.float32,
    )
    found = level_columns(x, 3)
    assert sorted(found) == [0, 1]  # 0.5 / 1.5 are not whole numbers
    np.testing.assert_array_equal(found[0], [0.0, 2.0, 5.0])
    assert sorted(level_columns(x, 4)) == [0, 1, 2]
    assert level_columns(x, 0) == {} and level_columns(x, 1) == {}


def test_recode_levels_maps_each_value_to_its_code_and_unseen_values_to_missing() -> None:
    from tabfm._classifier import recode_levels

    x = np.array([[0.0, 0.3], [2.0, 0.1], [5.0, 0.2], [np.nan, 0.4], [3.0, 0.5]], np.float32)
    levels = {0: np.array([0.0, 2.0, 5.0], np.float32)}
    out = recode_levels(x, levels, {0: np.array([2, 0, 1])})
    np.testing.assert_array_equal(out[:, 0], [2.0, 0.0, 1.0, np.nan, np.nan])  # 3 is unseen
    np.testing.assert_array_equal(out[:, 1], x[:, 1])
    assert np.isnan(x[3, 0]) and x[4, 0] == 3.0  # the input is left alone


def test_category_shuffles_change_only_the_later_members_of_low_cardinality_tables(
    tiny_model: TabFMModel,
) -> None:
    X, y = board_table(240)

    def proba(X: pd.DataFrame, levels: int, members: int) -> np.ndarray:
        classifier = TabFMClassifier(
            tiny_model, n_estimators=members, device="cpu", categorical_max_levels=levels
        )
        return classifier.fit(X[:200], y[:200]).predict_proba(X[200:])

    # Member 0 sees the columns as given, whatever the setting.
    np.testing.assert_array_equal(proba(X, 0, 1), proba(X, 3, 1))
    # Later members see the cells as shuffled codes; the default is 3 levels.
    assert not np.allclose(proba(X, 0, 3), proba(X, 3, 3))
    assert TabFMClassifier().categorical_max_levels == 3
    # A table without such columns predicts exactly as without shuffles.
    continuous = X.assign(**{c: X[c] + 0.25 * (X.index % 3) for c in ["c0", "c1", "c2"]})
    np.testing.assert_array_equal(proba(continuous, 0, 3), proba(continuous, 3, 3))


@pytest.mark.parametrize("value", [-1, 2.5, True, "3"])
def test_bad_categorical_max_levels_raise(tiny_model: TabFMModel, value: object) -> None:
    import torch

    from tabfm.backends._tabfm import TabFMBackend

    X, y = board_table(20)
    with pytest.raises(TabFMError, match=f"categorical_max_levels={value!r}"):
        TabFMClassifier(tiny_model, categorical_max_levels=value).fit(X, y)  # type: ignore[arg-type]
    with pytest.raises(TabFMError, match="categorical_max_levels >= 0"):
        TabFMBackend(tiny_model, torch.device("cpu"), categorical_max_levels=value)  # type: ignore[arg-type]


def test_the_tabfm_backend_passes_its_category_shuffles_on(tiny_model: TabFMModel) -> None:
    import torch

    from tabfm import make_classifier
    from tabfm.backends._tabfm import TabFMBackend

    X, y = board_table(240)
    backend = TabFMBackend(tiny_model, torch.device("cpu"), categorical_max_levels=0)
    assert TabFMBackend(tiny_model, torch.device("cpu")).categorical_max_levels == 3
    assert backend.clone().categorical_max_levels == 0
    native = make_classifier(backend, n_estimators=3).fit(X[:200], y[:200])
    assert native.categorical_max_levels == 0
    reference = TabFMClassifier(tiny_model, n_estimators=3, device="cpu", categorical_max_levels=0)
    expected = reference.fit(X[:200], y[:200]).predict_proba(X[200:])
    np.testing.assert_array_equal(native.predict_proba(X[200:]), expected)
    x_context = native.x_context_
    np.testing.assert_array_equal(
        backend.predict_proba(
            x_context, native.y_context_, native.preprocessor_.transform(X[200:]), 2, 3
        ),
        expected,
    )
