"""Loading and validating classification datasets.

A dataset is addressed by a path to a CSV / TSV / Parquet file (optionally gzip-compressed) or
by ``sklearn:NAME`` for the classification sets bundled with scikit-learn.
"""

from __future__ import annotations

import csv
import difflib
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from causalmix._errors import CausalMixError

__all__ = [
    "MAX_CLASSES",
    "MIN_ROWS",
    "SKLEARN_DATASETS",
    "load_dataset",
    "load_table",
    "split_target",
    "validate_dataset",
]

_logger = logging.getLogger(__name__)

MAX_CLASSES = 10
"""Largest number of target classes the product supports (the TFM's output width)."""

MIN_ROWS = 10
"""Smallest number of labelled rows a dataset must have."""

SKLEARN_DATASETS = {
    "breast_cancer": "load_breast_cancer",
    "iris": "load_iris",
    "wine": "load_wine",
    "digits": "load_digits",
}
"""Classification sets bundled with scikit-learn (no download), addressed as ``sklearn:NAME``."""

_PARQUET_SUFFIXES = {".parquet", ".pq"}
_TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".data"}


def load_table(source: str | Path) -> pd.DataFrame:
    """Read a table from a file path or an ``sklearn:NAME`` address.

    For ``sklearn:NAME`` the target column is called ``target``.

    Raises:
        CausalMixError: If the file is missing, is not a table, or has no rows.
    """
    text = str(source)
    if text.startswith("sklearn:"):
        return _load_sklearn(text.removeprefix("sklearn:"))
    if "://" in text:
        raise CausalMixError(
            f"The data must be a local file (URLs are never downloaded), but got {text!r}."
        )
    path = Path(text).expanduser()
    if not path.exists():
        raise CausalMixError(f"The data file does not exist: {text!r}.")
    if not path.is_file():
        raise CausalMixError(f"The data path is not a file: {text!r}.")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    try:
        if suffix in _PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
        else:
            _reject_binary(path, text)
            # A .csv is comma-separated and a .tsv tab-separated; other text files are sniffed.
            separator = {".csv": ",", ".tsv": "\t"}.get(suffix)
            frame = pd.read_csv(path, sep=separator, engine="python" if separator is None else "c")
    except CausalMixError:
        raise
    except pd.errors.EmptyDataError as e:
        raise CausalMixError(f"The data file is empty: {text!r}.") from e
    except (pd.errors.ParserError, csv.Error, UnicodeDecodeError, ValueError, OSError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CausalMixError(f"The data file is not a readable table: {text!r} ({reason}).") from e
    if frame.shape[1] == 0 or len(frame) == 0:
        raise CausalMixError(
            f"The data file has no rows: {text!r} ({len(frame)} rows, {frame.shape[1]} columns)."
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _reject_binary(path: Path, text: str) -> None:
    if path.suffix.lower() == ".gz":
        return
    with path.open("rb") as f:
        head = f.read(8192)
    if b"\x00" in head:
        raise CausalMixError(f"The data file is not a readable table: {text!r} (binary content).")


def _load_sklearn(name: str) -> pd.DataFrame:
    if name not in SKLEARN_DATASETS:
        raise CausalMixError(
            f"Unknown scikit-learn dataset: 'sklearn:{name}'. "
            f"Known: {', '.join('sklearn:' + n for n in SKLEARN_DATASETS)}."
        )
    from sklearn import datasets

    bunch = getattr(datasets, SKLEARN_DATASETS[name])(as_frame=True)
    frame: pd.DataFrame = bunch.frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    return frame


def load_dataset(source: str | Path, target: str = "target") -> tuple[pd.DataFrame, pd.Series]:
    """Load a classification dataset and split it into features and target.

    Args:
        source: A CSV / TSV / Parquet path or ``sklearn:NAME``.
        target: Name of the target column.

    Returns:
        ``(X, y)``: the validated feature frame and the target series (rows with a missing
        target are dropped, with a warning).

    Raises:
        CausalMixError: If the file cannot be read, the target column is missing, or the data
            fails :func:`validate_dataset`.
    """
    return split_target(load_table(source), target, str(source))


def split_target(
    frame: pd.DataFrame, target: str, source: str = "the table"
) -> tuple[pd.DataFrame, pd.Series]:
    """Split a loaded table into validated features and target.

    Args:
        frame: The table, e.g. from :func:`load_table`.
        target: Name of the target column.
        source: How to name the table in error messages.

    Raises:
        CausalMixError: If the target column is missing or the data fails
            :func:`validate_dataset`.
    """
    if target not in frame.columns:
        raise CausalMixError(_missing_column_message(target, list(frame.columns), source))
    y = frame[target]
    X = frame.drop(columns=[target])
    return validate_dataset(X, y)


def _missing_column_message(target: str, columns: list[str], source: str) -> str:
    close = difflib.get_close_matches(target, columns, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(repr(c) for c in columns[:12]) + (", ..." if len(columns) > 12 else "")
    return f"Target column {target!r} not found in {source!r}.{hint} Columns: {shown}."


def validate_dataset(X: pd.DataFrame, y: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Check that ``(X, y)`` is a usable classification dataset.

    Rows whose target is missing are dropped (with a warning); everything else that is wrong
    raises.

    Returns:
        The (possibly row-filtered) ``(X, y)``, with a fresh ``RangeIndex``.

    Raises:
        CausalMixError: For an empty frame, too few rows, an all-NaN or infinite column,
            unhashable values, or a target with fewer than 2 or more than ``MAX_CLASSES``
            classes.
    """
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(np.asarray(X))
        X.columns = [f"x{i}" for i in range(X.shape[1])]
    y = pd.Series(
        np.asarray(y) if not isinstance(y, pd.Series) else y, name=getattr(y, "name", None)
    )
    target_name = y.name if y.name is not None else "target"
    if X.shape[1] == 0:
        raise CausalMixError(f"The dataset has no feature columns (shape {X.shape}).")
    if len(X) != len(y):
        raise CausalMixError(f"X and y have different lengths: {len(X)} and {len(y)}.")
    if len(X) == 0:
        raise CausalMixError("The dataset is empty: 0 rows.")
    duplicated = X.columns[X.columns.duplicated()].tolist()
    if duplicated:
        raise CausalMixError(f"Duplicate column names: {duplicated}.")
    X = X.reset_index(drop=True)
    y = y.reset_index(drop=True)
    _check_hashable(y, f"target column {target_name!r}")
    missing_target = y.isna().to_numpy()
    if missing_target.any():
        _logger.warning(
            "Dropping %d of %d rows whose target %r is missing.",
            int(missing_target.sum()),
            len(y),
            target_name,
        )
        X = X.loc[~missing_target].reset_index(drop=True)
        y = y.loc[~missing_target].reset_index(drop=True)
    if len(X) < MIN_ROWS:
        raise CausalMixError(
            f"The dataset has {len(X)} labelled row(s); at least {MIN_ROWS} are needed."
        )
    for column in X.columns:
        _check_column(X[column], str(column))
    classes = pd.unique(y)
    if len(classes) < 2:
        raise CausalMixError(
            f"The target column {target_name!r} has a single class ({classes[0]!r}); "
            "at least 2 classes are needed."
        )
    if len(classes) > MAX_CLASSES:
        raise CausalMixError(
            f"The target column {target_name!r} has {len(classes)} classes; at most "
            f"{MAX_CLASSES} are supported (is it a regression target or an ID column?)."
        )
    return X, y


def _check_hashable(values: pd.Series, what: str) -> None:
    try:
        pd.unique(values)
    except TypeError as e:
        bad = next(v for v in values if not _is_hashable(v))
        raise CausalMixError(f"The {what} holds unhashable values such as {bad!r}.") from e


def _is_hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _check_column(values: pd.Series, name: str) -> None:
    if values.isna().all():
        raise CausalMixError(f"Column {name!r} holds only missing values (NaN).")
    if values.dtype == object:
        _check_hashable(values, f"column {name!r}")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        n_infinite = int(np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).sum())
        if n_infinite:
            raise CausalMixError(
                f"Column {name!r} holds {n_infinite} infinite value(s); replace them or mark "
                "them missing."
            )
