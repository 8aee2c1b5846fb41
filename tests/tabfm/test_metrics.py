from __future__ import annotations

import math

import numpy as np
import pytest

from tabfm import TabFMError, normalized_roc_auc, roc_auc


def test_binary_roc_auc_uses_the_second_class() -> None:
    y = np.array(["a", "b", "a", "b"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert roc_auc(y, proba, ["a", "b"]) == 1.0
    assert roc_auc(y, proba[:, ::-1], ["a", "b"]) == 0.0


def test_multiclass_roc_auc_is_the_one_vs_rest_macro_mean() -> None:
    y = np.array([0, 1, 2, 0, 1, 2])
    perfect = np.eye(3)[y] * 0.7 + 0.1
    assert roc_auc(y, perfect, [0, 1, 2]) == 1.0
    # A class absent from y_true is left out of the average instead of failing.
    proba = np.full((4, 3), 1 / 3)
    proba[:, 0] = [0.9, 0.1, 0.8, 0.2]
    assert roc_auc(np.array([0, 1, 0, 1]), proba, [0, 1, 2]) == pytest.approx(0.75)


def test_roc_auc_edge_cases() -> None:
    assert math.isnan(roc_auc(np.array([1, 1]), np.array([[0.2, 0.8], [0.3, 0.7]]), [0, 1]))
    with pytest.raises(TabFMError, match="proba must have shape"):
        roc_auc(np.array([0, 1]), np.zeros((2, 3)), [0, 1])


def test_normalized_roc_auc() -> None:
    assert normalized_roc_auc(0.88, 0.8) == pytest.approx(10.0)
    assert normalized_roc_auc(0.8, 0.8) == 0.0
    assert normalized_roc_auc(0.72, 0.8) == pytest.approx(-10.0)
    assert normalized_roc_auc(0.72, 0.8, metric_sign=-1) == pytest.approx(10.0)
    with pytest.raises(TabFMError, match="auc_zero_shot > 0"):
        normalized_roc_auc(0.7, 0.0)
    with pytest.raises(TabFMError, match="metric_sign"):
        normalized_roc_auc(0.7, 0.8, metric_sign=2)
