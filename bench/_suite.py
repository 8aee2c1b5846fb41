"""The benchmark's datasets and outer splits: stratified K-fold, or a cross-domain shift split.

Protocol: each dataset is stratified-subsampled to at most ``max_rows`` rows and at most
``max_features`` features (a seeded random subset of columns), as in ``benchmarks/_suite.py``.
Classes too small for the inner splits of the methods (fewer than :data:`MIN_CLASS_ROWS` rows,
or the inner folds + 2, in an outer training part) are left out of that fold, in both parts.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench._errors import BenchError

__all__ = [
    "MIN_CLASS_ROWS",
    "SHIPPED_DATASETS_DIR",
    "BenchDataset",
    "OuterFold",
    "kfold_splits",
    "load_suite",
    "make_splits",
    "parse_split",
    "shift_splits",
]

SHIPPED_DATASETS_DIR = Path(__file__).resolve().parents[1] / "datasets"
"""The repository's ``datasets/`` directory, which ``--datasets NAMES`` addresses."""

MIN_CLASS_ROWS = 6
"""Default fewest rows a class needs in an outer training part: an early-stopping split and
inner folds must each see it (smaller classes are left out of that fold)."""

_SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class BenchDataset:
    """One dataset of the suite, after subsampling.

    Attributes:
        name: Short name (the file stem, or ``sklearn:NAME``).
        source: Where it was read from.
        X: Features.
        y: Target.
        fingerprint: The data fingerprint of the table as loaded, before subsampling
            (``tuner``'s ``dataset_fingerprint``): how a portfolio recognises one of its
            learning datasets under another name.
    """

    name: str
    source: str
    X: pd.DataFrame
    y: pd.Series
    fingerprint: str = ""


@dataclass(frozen=True)
class OuterFold:
    """One outer split of a dataset: row indices of the training and test parts.

    Attributes:
        fold: Fold number.
        train: Training rows. # (n_train,)
        test: Test rows. # (n_test,)
        description: For a shift split, which domain is trained and which tested.
        dropped_classes: Classes left out because the training part has too few rows.
    """

    fold: int
    train: np.ndarray
    test: np.ndarray
    description: str = ""
    dropped_classes: tuple[str, ...] = ()


def _shipped_names(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.csv"))


def resolve_sources(
    datasets: list[str] | None, data_dir: str | None, shipped_dir: Path = SHIPPED_DATASETS_DIR
) -> list[tuple[str, str]]:
    """``(name, source)`` of every dataset of the suite, in order.

    Raises:
        BenchError: If both or neither are given, a name is unknown or the directory has no
            table.
    """
    if (datasets is None) == (data_dir is None):
        raise BenchError(
            "Give exactly one of `datasets` (shipped names or sklearn:NAME) and `data_dir`, "
            f"but got datasets={datasets!r}, data_dir={data_dir!r}."
        )
    if data_dir is not None:
        directory = Path(data_dir).expanduser()
        if not directory.is_dir():
            raise BenchError(f"The data directory does not exist: {data_dir!r}.")
        files = sorted(p for p in directory.iterdir() if p.suffix.lower() in _SUFFIXES)
        if not files:
            raise BenchError(f"The data directory has no .csv or .parquet file: {data_dir!r}.")
        return [(p.stem, str(p)) for p in files]
    assert datasets is not None
    if not datasets:
        raise BenchError("`datasets` must name at least one dataset, but got datasets=[].")
    sources = []
    known = _shipped_names(shipped_dir)
    for name in datasets:
        if name.startswith("sklearn:"):
            sources.append((name, name))
            continue
        stem = name.removesuffix(".csv")
        if stem not in known:
            close = difflib.get_close_matches(stem, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise BenchError(
                f"Unknown dataset name={name!r}.{hint} Shipped datasets: {', '.join(known)}; "
                "or use sklearn:NAME, or --data-dir for a directory of your own CSVs."
            )
        sources.append((stem, str(shipped_dir / f"{stem}.csv")))
    if len({n for n, _ in sources}) != len(sources):
        raise BenchError(f"Each dataset must be named once, but got datasets={datasets!r}.")
    return sources


def load_suite(
    sources: list[tuple[str, str]],
    target: str,
    *,
    max_rows: int,
    max_features: int,
    seed: int,
) -> list[BenchDataset]:
    """Load and subsample every dataset (see the module docstring)."""
    from causalmix import load_dataset
    from tuner._settings import dataset_fingerprint

    suite = []
    for name, source in sources:
        loaded = load_dataset(source, target)
        X, y = subsample(*loaded, max_rows, max_features, seed)
        suite.append(BenchDataset(name, source, X, y, dataset_fingerprint(*loaded)))
    return suite


def subsample(
    X: pd.DataFrame, y: pd.Series, max_rows: int, max_features: int, seed: int
) -> tuple[pd.DataFrame, pd.Series]:
    """At most ``max_rows`` rows (a stratified sample, in their original order) and at most
    ``max_features`` feature columns (a seeded random subset, in their original order)."""
    from sklearn.model_selection import train_test_split

    if len(X) > max_rows:
        counts = y.value_counts()
        # Stratification needs two rows per class; singletons stay out of the sample.
        keep_rows = np.flatnonzero(y.map(counts).to_numpy() >= 2)
        keep, _ = train_test_split(
            keep_rows, train_size=max_rows, stratify=y.iloc[keep_rows], random_state=seed
        )
        keep = np.sort(keep)
        X, y = X.iloc[keep].reset_index(drop=True), y.iloc[keep].reset_index(drop=True)
    if X.shape[1] > max_features:
        rng = np.random.default_rng(seed)
        columns = sorted(rng.choice(X.shape[1], size=max_features, replace=False))
        X = X.iloc[:, columns]
    return X, y


def parse_split(split: str) -> tuple[str, str | None]:
    """``"kfold"`` -> ``("kfold", None)``; ``"shift:COLUMN"`` -> ``("shift", "COLUMN")``.

    Raises:
        BenchError: For any other form.
    """
    if split == "kfold":
        return "kfold", None
    if split.startswith("shift:") and split.removeprefix("shift:"):
        return "shift", split.removeprefix("shift:")
    raise BenchError(f"`split` must be 'kfold' or 'shift:COLUMN', but got split={split!r}.")


def make_splits(
    dataset: BenchDataset,
    split: str,
    n_folds: int,
    seed: int,
    min_class_rows: int = MIN_CLASS_ROWS,
) -> list[OuterFold]:
    """The outer folds of ``dataset`` under ``split`` (see :func:`parse_split`).

    Classes with fewer than ``min_class_rows`` rows in a fold's training part are left out of
    that fold (training and test rows alike).
    """
    kind, column = parse_split(split)
    if kind == "kfold":
        folds = kfold_splits(dataset.y, n_folds, seed)
    else:
        assert column is not None
        if column not in dataset.X.columns:
            raise BenchError(
                f"The shift column {column!r} is not a feature of dataset {dataset.name!r} "
                f"(columns: {', '.join(map(str, list(dataset.X.columns)[:20]))})."
            )
        folds = shift_splits(dataset.X[column])
    return [_restrict_classes(fold, dataset.y, min_class_rows) for fold in folds]


def kfold_splits(y: pd.Series, n_folds: int, seed: int) -> list[OuterFold]:
    """Stratified, shuffled K-fold splits (seeded)."""
    import warnings

    from sklearn.model_selection import StratifiedKFold

    if n_folds < 2:
        raise BenchError(f"`folds >= 2` must hold, but got folds={n_folds}.")
    if n_folds > len(y) // 2:
        raise BenchError(
            f"`folds <= n_rows / 2` must hold, but got folds={n_folds} for {len(y)} rows."
        )
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # A class rarer than n_folds is reported per fold by _restrict_classes instead.
        warnings.simplefilter("ignore", UserWarning)
        return [
            OuterFold(fold, train, test)
            for fold, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y))
        ]


def shift_splits(values: pd.Series) -> list[OuterFold]:
    """Two domains of one column, each trained on once and tested on the other.

    A numeric column is cut at its median: domain A holds the rows ``<= median``, domain B the
    rows ``> median``. A non-numeric (or boolean) column's categories are split into two groups
    of about equal size (largest category first, each into the smaller group). Rows where the
    column is missing belong to neither domain. Fold 0 trains on A and tests on B; fold 1 the
    reverse.

    Raises:
        BenchError: If a domain would be empty.
    """
    name = str(values.name)
    observed = values.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype
    ):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        median = float(np.nanmedian(numbers)) if observed.any() else float("nan")
        in_a = observed & (numbers <= median)
        in_b = observed & (numbers > median)
        names = (f"{name} <= {median:g}", f"{name} > {median:g}")
    else:
        counts = values[observed].astype(str).value_counts()
        groups: tuple[list[str], list[str]] = ([], [])
        sizes = [0, 0]
        for category, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            smaller = int(sizes[1] < sizes[0])
            groups[smaller].append(str(category))
            sizes[smaller] += int(count)
        as_text = values.astype(str).to_numpy()
        in_a = observed & np.isin(as_text, groups[0])
        in_b = observed & np.isin(as_text, groups[1])
        names = (f"{name} in {sorted(groups[0])}", f"{name} in {sorted(groups[1])}")
    if not in_a.any() or not in_b.any():
        raise BenchError(
            f"The shift column {name!r} cannot be split into two non-empty domains "
            f"({int(in_a.sum())} and {int(in_b.sum())} rows)."
        )
    a, b = np.flatnonzero(in_a), np.flatnonzero(in_b)
    return [
        OuterFold(0, a, b, f"train {names[0]}; test {names[1]}"),
        OuterFold(1, b, a, f"train {names[1]}; test {names[0]}"),
    ]


def _restrict_classes(fold: OuterFold, y: pd.Series, min_class_rows: int) -> OuterFold:
    labels = y.to_numpy()
    counts = pd.Series(labels[fold.train]).value_counts()
    kept = set(counts[counts >= min_class_rows].index)
    present = set(labels[fold.train]) | set(labels[fold.test])
    if kept == present:
        return fold
    dropped = tuple(sorted(str(c) for c in present - kept))
    train = fold.train[np.isin(labels[fold.train], list(kept))]
    test = fold.test[np.isin(labels[fold.test], list(kept))]
    return OuterFold(fold.fold, train, test, fold.description, dropped)
