"""The shipped benchmark suite: every CSV in ``datasets/``, subsampled to the study protocol.

Protocol (shared by all benchmarks): each dataset is stratified-subsampled to at most
``max_rows`` rows and at most ``max_features`` features (a seeded random subset of columns), and
evaluated with stratified K-fold cross-validation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from bench import subsample
from causalmix import load_dataset

DATASETS_DIR = Path(__file__).resolve().parents[1] / "datasets"


@dataclass(frozen=True)
class BenchDataset:
    name: str
    X: pd.DataFrame
    y: pd.Series


def dataset_names(datasets_dir: Path = DATASETS_DIR) -> list[str]:
    return sorted(path.stem for path in datasets_dir.glob("*.csv"))


def load_suite(
    names: list[str] | None = None,
    max_rows: int = 1000,
    max_features: int = 100,
    seed: int = 0,
    datasets_dir: Path = DATASETS_DIR,
) -> list[BenchDataset]:
    """Load and subsample the named datasets (all shipped ones by default)."""
    suite = []
    for name in names or dataset_names(datasets_dir):
        X, y = load_dataset(datasets_dir / f"{name}.csv", "target")
        X, y = subsample(X, y, max_rows, max_features, seed)  # the same rows as `causalmix bench`
        suite.append(BenchDataset(name, X, y))
    return suite


def folds(
    y: pd.Series, n_folds: int = 5, seed: int = 0
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Stratified K-fold indices ``(fold, train_index, test_index)``."""
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        yield fold, train, test


def early_stopping_splits(
    y: pd.Series | np.ndarray, n_folds: int = 3, seed: int = 0, valid_fraction: float = 0.2
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each outer fold's training rows split into ``(fit_index, valid_index)``: the fine-tuning
    rows and the stratified early-stopping rows (``valid_fraction``, split with seed 0 in
    every fold, as the fine-tuning benchmarks have always done)."""
    labels = np.asarray(y)
    return [
        tuple(
            train_test_split(
                train, test_size=valid_fraction, stratify=labels[train], random_state=0
            )
        )
        for _, train, _ in folds(pd.Series(labels), n_folds, seed)
    ]


def parse_weights(values: list[str] | None, prefix: str = "TabFM") -> dict[str, str | None]:
    """``{label: weights directory}`` from ``--weights`` items ``NAME=DIR`` or ``DIR`` (named
    after the folder): labels ``PREFIX[NAME]``; one item without a name is just ``PREFIX``, and
    none is ``PREFIX`` with the shipped weights (``None``). Raises ``ValueError`` naming a name
    given twice."""
    if not values:
        return {prefix: None}
    if len(values) == 1 and "=" not in values[0]:
        return {prefix: values[0]}
    named: dict[str, str | None] = {}
    for value in values:
        name, _, path = value.rpartition("=") if "=" in value else (Path(value).name, "", value)
        label = f"{prefix}[{name}]"
        if label in named:
            raise ValueError(f"--weights: the name {name!r} is given twice")
        named[label] = path
    return named


def check_weights(models: dict[str, str | None]) -> None:
    """Raise ``ValueError`` naming the first weights directory without a ``config.json``."""
    for label, directory in models.items():
        if directory is not None and not (Path(directory) / "config.json").is_file():
            raise ValueError(f"--weights: no config.json in {directory!r} ({label})")


def format_table(rows: list[dict[str, object]], floatfmt: str = ".3f") -> str:
    """A GitHub-flavoured Markdown table of ``rows`` (same keys in each)."""
    if not rows:
        return "(no rows)"
    headers = list(rows[0])

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "nan" if np.isnan(value) else format(value, floatfmt)
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(row[h]) for h in headers) + " |" for row in rows]
    return "\n".join(lines)
