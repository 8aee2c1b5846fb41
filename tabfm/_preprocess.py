"""Turning DataFrames into the numeric matrices the model reads, fitted on context rows only.

Numeric columns pass through as floats (inf becomes missing); bool columns become 0/1; string,
object and category columns become ordinal codes, most frequent category first, with unseen
categories treated as missing. Scaling and missing indicators are computed inside the model
from the context rows (:func:`tabfm._model.encode_cells`), so pretraining, zero-shot
prediction and fine-tuning all see identical inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tabfm._config import MAX_CLASSES
from tabfm._errors import TabFMError

NUMERIC, BOOLEAN, CATEGORICAL = "numeric", "bool", "categorical"


def as_frame(X: Any, name: str = "X") -> pd.DataFrame:
    """``X`` as a DataFrame with string column names (arrays get ``x0``, ``x1``, ...).

    Raises:
        TabFMError: If ``X`` is not two-dimensional or has no rows or columns.
    """
    if hasattr(X, "toarray") or hasattr(X, "sparse"):  # scipy.sparse, pandas' sparse accessor
        if not isinstance(X, pd.DataFrame) or any(
            isinstance(dtype, pd.SparseDtype) for dtype in X.dtypes
        ):
            raise TabFMError(
                f"{name} is sparse ({type(X).__name__}); sparse input is not supported: pass a "
                "dense array or DataFrame."
            )
    if isinstance(X, pd.DataFrame):
        frame = X
    else:
        try:
            array = np.asarray(X)
        except (TypeError, ValueError) as e:
            raise TabFMError(f"{name} is not a table: {type(X).__name__} ({e}).") from e
        if array.ndim == 1:
            raise TabFMError(
                f"{name} must be 2-dimensional, but got shape {array.shape}. Reshape your data "
                "with X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for one row."
            )
        if array.ndim != 2:
            raise TabFMError(f"{name} must be 2-dimensional, but got shape {array.shape}.")
        frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
        if array.dtype == object:  # numbers stored as objects are numbers, not categories
            frame = frame.infer_objects()
    if any(pd.api.types.is_complex_dtype(dtype) for dtype in frame.dtypes):
        raise TabFMError(f"Complex data not supported: {name} has complex columns.")
    for axis, what in ((0, "sample"), (1, "feature")):
        if frame.shape[axis] == 0:
            raise TabFMError(
                f"{name} has 0 {what}(s) (shape={frame.shape}) while a minimum of 1 is required."
            )
    return frame.rename(columns=str)


@dataclass
class TablePreprocessor:
    """Column schema and encodings learnt from the context rows.

    Attributes:
        columns: Feature names, in order.
        kinds: ``numeric``, ``bool`` or ``categorical`` per column.
        categories: For each categorical column, its categories (as strings), code order.
    """

    columns: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, X: pd.DataFrame) -> TablePreprocessor:
        """Learn the schema of ``X`` (the context rows).

        Raises:
            TabFMError: If a column holds values that are neither numbers, booleans nor
                categories, or every value of ``X`` is missing.
        """
        self.columns = [str(c) for c in X.columns]
        if len(set(self.columns)) != len(self.columns):
            raise TabFMError(f"X has duplicate column names: {self.columns}.")
        self.kinds, self.categories = [], {}
        for column in self.columns:
            series = X[column]
            kind = column_kind(series)
            self.kinds.append(kind)
            if kind == CATEGORICAL:
                self.categories[column] = _category_order(series, column)
        if np.isnan(self.transform(X)).all():
            raise TabFMError(f"Every value of X is missing (shape {X.shape}).")
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """``(n_rows, n_columns)`` float32 codes; NaN where missing or unseen.

        Raises:
            TabFMError: If the columns differ from the fitted ones.
        """
        self.check_columns(X)
        out = np.empty((len(X), len(self.columns)), dtype=np.float32)
        for index, (column, kind) in enumerate(zip(self.columns, self.kinds)):
            series = X[column]
            if kind == CATEGORICAL:
                codes = {value: code for code, value in enumerate(self.categories[column])}
                strings = series.astype("object").where(series.notna(), None)
                out[:, index] = [
                    np.nan if value is None else codes.get(str(value), np.nan) for value in strings
                ]
            else:
                out[:, index] = _numeric(series, column)
        out[~np.isfinite(out)] = np.nan
        return out

    def check_columns(self, X: pd.DataFrame) -> None:
        """Raise :class:`TabFMError` unless ``X`` has the fitted columns (any order)."""
        names = [str(c) for c in X.columns]
        if len(names) != len(self.columns):
            raise TabFMError(
                f"X must have the {len(self.columns)} columns seen in fit, but got "
                f"{len(names)} columns."
            )
        missing = [c for c in self.columns if c not in set(names)]
        if missing:
            raise TabFMError(f"X lacks columns seen in fit: {missing[:5]} (got {names[:5]}...).")

    def to_dict(self) -> dict[str, Any]:
        """The schema as a JSON-serialisable dict."""
        return {"columns": self.columns, "kinds": self.kinds, "categories": self.categories}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TablePreprocessor:
        """Rebuild a schema saved by :meth:`to_dict`."""
        return cls(list(data["columns"]), list(data["kinds"]), dict(data["categories"]))


def column_kind(series: pd.Series) -> str:
    """``bool``, ``numeric`` or ``categorical`` for a pandas column."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERIC
    return CATEGORICAL


def _category_order(series: pd.Series, column: str) -> list[str]:
    values = series.dropna()
    bad = [v for v in values.head(1000) if not isinstance(v, (str, int, float, bool, np.generic))]
    if bad:
        raise TabFMError(
            f"Column {column!r} holds values that are neither numbers nor categories, "
            f"e.g. {bad[0]!r} ({type(bad[0]).__name__})."
        )
    counts = values.astype(str).value_counts(sort=False)
    # Most frequent first; ties by name so that the order does not depend on row order.
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [str(name) for name, _ in ordered]


def _numeric(series: pd.Series, column: str) -> np.ndarray:
    try:
        return series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as e:
        raise TabFMError(f"Column {column!r} cannot be read as numbers ({e}).") from e


def encode_target(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, codes)``: the sorted class labels and each row's index into them.

    Raises:
        TabFMError: If ``y`` is not one-dimensional, has missing labels, or has fewer than 2
            or more than 10 classes.
    """
    labels = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    if labels.ndim != 1:
        raise TabFMError(f"y must be 1-dimensional, but got shape {labels.shape}.")
    if pd.isna(labels).any():
        raise TabFMError(f"y has {int(pd.isna(labels).sum())} missing labels.")
    if labels.dtype.kind == "f" and not np.all(np.mod(labels, 1) == 0):
        raise TabFMError(
            "Unknown label type: continuous. y must hold class labels, but holds non-integer "
            f"numbers, e.g. {labels[np.mod(labels, 1) != 0][0]!r}."
        )
    try:
        classes, codes = np.unique(labels, return_inverse=True)
    except TypeError as e:
        raise TabFMError(f"y has labels that cannot be compared ({e}).") from e
    if len(classes) < 2:
        raise TabFMError(
            f"y must have at least 2 classes, but got {len(classes)} class: {list(classes)}."
        )
    if len(classes) > MAX_CLASSES:
        raise TabFMError(
            f"y must have at most {MAX_CLASSES} classes, but got n_classes={len(classes)}."
        )
    return classes, codes.astype(np.int64)
