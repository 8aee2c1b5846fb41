"""The scikit-learn contract that :class:`~tabfm.TabFMClassifier` and
:class:`~tabfm.FineTunedClassifier` share: input validation for ``fit`` and ``predict`` with
scikit-learn's messages, and the estimator tags.

Deliberate differences from a plain numeric estimator: missing values are allowed (the models
read them; inf counts as missing), and string or categorical columns are encoded as categories.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from tabfm._errors import TabFMError
from tabfm._preprocess import as_frame, encode_target

__all__ = ["TableClassifierMixin", "context_frame", "query_frame"]


class TableClassifierMixin:
    """Estimator tags of the in-context classifiers (put first among the bases)."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags


def context_frame(X: Any, y: Any) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``(frame, classes, codes)`` of the context rows given to ``fit``.

    Raises:
        TabFMError: On bad data, with scikit-learn's wording where it has one.
    """
    if y is None:
        raise TabFMError("This classifier requires y to be passed, but the target y is None.")
    labels = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        from sklearn.exceptions import DataConversionWarning

        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it is raveled.",
            DataConversionWarning,
            stacklevel=3,
        )
        labels = labels.ravel()
    frame = as_frame(X)
    classes, codes = encode_target(labels)
    if len(codes) != len(frame):
        raise TabFMError(f"X and y must have as many rows, but got {len(frame)} and {len(codes)}.")
    return frame, classes, codes


def query_frame(X: Any, columns: list[str], owner: object) -> pd.DataFrame:
    """The rows given to ``predict``, with the fitted column names.

    A DataFrame is matched by column name (any order); an array by position, so it must have
    as many columns as the context.

    Raises:
        TabFMError: On bad data, or an array with another number of columns.
    """
    frame = as_frame(X)
    if isinstance(X, pd.DataFrame):
        return frame
    if frame.shape[1] != len(columns):
        raise TabFMError(
            f"X has {frame.shape[1]} features, but {type(owner).__name__} is expecting "
            f"{len(columns)} features as input."
        )
    frame.columns = list(columns)
    return frame
