"""Discovery with nominal nodes: the degenerate-Gaussian test and what the SCMs then keep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from causalmix import CausalAugmenter, PCDiscovery
from causalmix._dg import dg_p_value, embed
from causalmix._fisherz import _partial_correlation


def _p_value(data: np.ndarray, discrete: list[bool], x: int, y: int, z: list[int]) -> float:
    columns, blocks = embed(data, np.array(discrete))
    correlation = np.corrcoef(columns.T)
    return dg_p_value(correlation, blocks, len(data), x, y, z)


def _middle_class(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Three classes; feature ``f`` is shifted for the middle class only, ``g`` is noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    f = np.where(y == 1, 2.0, 0.0) + rng.normal(size=n)
    return pd.DataFrame({"f": f, "g": rng.normal(size=n)}), pd.Series(y, name="target")


def test_on_continuous_pairs_dg_is_the_gaussian_likelihood_ratio_test() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(200, 3))
    data[:, 1] += 0.2 * data[:, 0] + 0.5 * data[:, 2]
    correlation = np.corrcoef(data.T)
    r = _partial_correlation(correlation, [0, 1, 2])
    expected = chi2.sf(-200 * np.log(1 - r**2), 1)
    assert _p_value(data, [False] * 3, 0, 1, [2]) == pytest.approx(expected, rel=1e-9)


def test_dg_sees_a_relation_with_the_middle_class_that_fisherz_misses() -> None:
    X, y = _middle_class()
    data = np.column_stack([X["f"], y])
    correlation = np.corrcoef(data.T)
    fisher_r = _partial_correlation(correlation, [0, 1])
    assert abs(fisher_r) < 0.1  # the class codes 0 < 1 < 2 hide the relation from Fisher-z
    assert _p_value(data, [False, True], 0, 1, []) < 1e-12
    assert _p_value(data, [False, True], 1, 0, []) == pytest.approx(
        _p_value(data, [False, True], 0, 1, []), abs=1e-15
    )


def test_dg_screens_off_through_a_nominal_mediator() -> None:
    """x -> c -> w with a four-level nominal c whose effect on w is not monotone in its code."""
    rng = np.random.default_rng(1)
    n = 2000
    x = rng.normal(size=n)
    c = np.digitize(x + 0.5 * rng.normal(size=n), [-1.0, 0.0, 1.0])  # levels 0..3
    w = np.array([0.0, 2.0, -2.0, 0.5])[c] + rng.normal(size=n)
    data = np.column_stack([x, c, w])
    assert _p_value(data, [False, True, False], 0, 2, []) < 1e-6
    assert _p_value(data, [False, True, False], 0, 2, [1]) > 0.01


def test_a_constant_or_collinear_block_does_not_break_the_test() -> None:
    rng = np.random.default_rng(2)
    data = np.column_stack([rng.normal(size=50), np.zeros(50), rng.integers(0, 2, 50)])
    assert _p_value(data, [False, True, True], 0, 1, [2]) == 1.0  # constant: independent
    copy = np.column_stack([data[:, 0], data[:, 0], data[:, 2]])
    assert 0.0 <= _p_value(copy, [False, False, True], 0, 2, [1]) <= 1.0


def test_pc_with_dg_finds_the_middle_class_edge() -> None:
    X, y = _middle_class()
    data = np.column_stack([X["f"], X["g"], y]).astype(float)
    marks = PCDiscovery("dg").discover(data, np.array([False, False, True]))
    assert marks[0, 2] != 0 and marks[2, 0] != 0  # f - target
    assert marks[1, 2] == 0  # g is noise


@pytest.mark.parametrize("discovery", ["pc", "fci"])
def test_three_class_augmentation_keeps_the_class_conditional_means(discovery: str) -> None:
    X, y = _middle_class()
    augmenter = CausalAugmenter(
        discovery=discovery, n_bootstrap=10, n_dags=4, random_state=0, cache=None
    ).fit(X, y)
    assert augmenter.indep_test_ == "dg"  # auto: continuous nodes and a three-class target
    P = augmenter.edge_probabilities_
    assert P.loc["f", "target"] + P.loc["target", "f"] >= 0.9
    X_syn, y_syn = augmenter.sample(3000, random_state=0)
    real = [X["f"][y == k].mean() for k in range(3)]
    synthetic = [X_syn["f"][y_syn == k].mean() for k in range(3)]
    assert np.allclose(synthetic, real, atol=0.3), (real, synthetic)
    # Fisher-z on the class codes is blind to it: the relation is lost (the numbers).
    blind = CausalAugmenter(
        discovery=discovery, indep_test="fisherz", n_bootstrap=10, n_dags=4, random_state=0,
        cache=None,
    ).fit(X, y)  # fmt: skip
    X_blind, y_blind = blind.sample(3000, random_state=0)
    assert X_blind["f"][y_blind == 1].mean() < 1.2


def test_a_multi_level_nominal_feature_keeps_its_relation_to_a_continuous_one() -> None:
    rng = np.random.default_rng(3)
    n = 600
    level = rng.choice(["a", "b", "c", "d"], n)
    x = np.where(level == "c", 2.5, 0.0) + rng.normal(size=n)  # only the third level shifts x
    y = pd.Series((x + rng.normal(size=n) > 1).astype(int), name="target")
    X = pd.DataFrame({"level": level, "x": x})
    augmenter = CausalAugmenter(n_bootstrap=10, n_dags=4, random_state=0, cache=None).fit(X, y)
    assert augmenter.indep_test_ == "dg"
    P = augmenter.edge_probabilities_
    assert P.loc["level", "x"] + P.loc["x", "level"] >= 0.9
    X_syn, _ = augmenter.sample(3000, random_state=0)
    for value in "abcd":
        real, synthetic = X["x"][level == value].mean(), X_syn["x"][X_syn["level"] == value].mean()
        assert synthetic == pytest.approx(real, abs=0.35), value


def test_the_fast_log_determinant_equals_the_residual_covariance_one() -> None:
    from causalmix._dg import _log_det, _log_det_given, _residual

    rng = np.random.default_rng(4)
    data = rng.normal(size=(300, 6))
    data[:, 1] += data[:, 0]
    correlation = np.corrcoef(data.T)
    for a, s in (([0, 1], [2, 3]), ([4], [0, 1, 5]), ([2, 3, 4], [])):
        expected = _log_det(_residual(correlation, a, s))
        assert _log_det_given(correlation, a, s) == pytest.approx(expected, rel=1e-9, abs=1e-12)
