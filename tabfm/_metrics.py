"""The metrics every part of the product reports, defined once."""

from __future__ import annotations

import math
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


def delong_z(codes: np.ndarray, proba_a: np.ndarray, proba_b: np.ndarray) -> float:
    """Paired DeLong z statistic of ``AUC(a) - AUC(b)`` on the same rows.

    DeLong, DeLong and Clarke-Pearson (1988), with the midrank computation of Sun and Xu
    (2014). Binary: the AUC of the second column. Multiclass: the macro one-vs-rest AUC (as
    :func:`roc_auc`), whose variance is taken as the mean of the classes' variances over the
    number of classes (the covariance between classes is left out).

    Args:
        codes: ``(n,)`` class indices into the columns.
        proba_a, proba_b: ``(n, n_classes)`` probabilities of the two models.

    Returns:
        ``z``: ``0`` when the two AUCs are equal, ``+/-inf`` when they differ with no
        variance, NaN when fewer than two classes are present.
    """
    from scipy.stats import rankdata

    codes = np.asarray(codes)
    n_classes = proba_a.shape[1]
    columns = [1] if n_classes == 2 else [c for c in range(n_classes) if np.any(codes == c)]
    differences, variances = [], []
    for column in columns:
        positive = codes == column
        m, n = int(positive.sum()), int((~positive).sum())
        if m == 0 or n == 0:
            continue
        components = []
        for proba in (proba_a, proba_b):
            scores = proba[:, column]
            x, y = scores[positive], scores[~positive]
            all_ranks = rankdata(np.concatenate([x, y]))
            v10 = (all_ranks[:m] - rankdata(x)) / n
            v01 = 1.0 - (all_ranks[m:] - rankdata(y)) / m
            components.append((v10, v01))
        (a10, a01), (b10, b01) = components
        differences.append(float(a10.mean() - b10.mean()))
        d10, d01 = a10 - b10, a01 - b01
        variance = (d10.var(ddof=1) if m > 1 else 0.0) / m + (
            d01.var(ddof=1) if n > 1 else 0.0
        ) / n
        variances.append(float(variance))
    if not differences:
        return float("nan")
    difference = float(np.mean(differences))
    variance = float(np.sum(variances)) / len(variances) ** 2
    if variance <= 0.0:
        return 0.0 if difference == 0.0 else math.copysign(math.inf, difference)
    return difference / math.sqrt(variance)
