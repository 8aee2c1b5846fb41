"""The metrics every part of the product reports, defined once."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from tabfm._errors import TabFMError


def roc_auc(y_true: Any, proba: np.ndarray, classes: Any) -> float:
    """ROC-AUC: binary on the second class, one-vs-rest macro average for multiclass.

    Args:
        y_true: ``(n,)`` true labels (values from ``classes``).
        proba: ``(n, len(classes))`` predicted probabilities, columns in ``classes`` order.
        classes: The class labels of the columns of ``proba``.

    Returns:
        The ROC-AUC, or NaN when ``y_true`` holds a single class (AUC is undefined). In the
        multiclass case, classes absent from ``y_true`` are left out of the average.

    Raises:
        TabFMError: If the shapes disagree.
    """
    labels = np.asarray(y_true)
    classes = np.asarray(classes)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape != (len(labels), len(classes)):
        raise TabFMError(
            f"proba must have shape (n_rows, n_classes) = ({len(labels)}, {len(classes)}), "
            f"but got {proba.shape}."
        )
    present = np.isin(classes, labels)
    if present.sum() < 2:
        return float("nan")
    if len(classes) == 2:
        return float(roc_auc_score(labels == classes[1], proba[:, 1]))
    scores = [roc_auc_score(labels == c, proba[:, i]) for i, c in enumerate(classes) if present[i]]
    return float(np.mean(scores))


def normalized_roc_auc(auc_method: float, auc_zero_shot: float, metric_sign: int = 1) -> float:
    """Percentage change of a method's ROC-AUC over the zero-shot model's.

    ``metric_sign * (auc_method / auc_zero_shot - 1) * 100``: 0 means no change, +5 means 5%
    better than zero-shot. ``metric_sign=-1`` turns a lower-is-better metric the same way up.

    Raises:
        TabFMError: If ``auc_zero_shot`` is not positive or ``metric_sign`` is not +-1.
    """
    if metric_sign not in (1, -1):
        raise TabFMError(f"`metric_sign in (1, -1)` must hold, but got metric_sign={metric_sign}.")
    if not auc_zero_shot > 0:
        raise TabFMError(f"`auc_zero_shot > 0` must hold, but got auc_zero_shot={auc_zero_shot}.")
    return metric_sign * (auc_method / auc_zero_shot - 1.0) * 100.0
