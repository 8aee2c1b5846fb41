"""The benchmark's resumable result store and its per-run metrics.

Each finished run is one JSON file under ``runs/`` written atomically (temporary file, fsync,
rename, fsync of the directory), so an interrupted benchmark never leaves a half-written
result; ``results.csv`` is rebuilt from those files (atomically too) after every run. A run is
identified by ``(dataset, split, fold, method)``; a key already stored is never recomputed.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench._errors import BenchError

__all__ = [
    "ECE_BINS",
    "RESULT_COLUMNS",
    "RunKey",
    "RunStore",
    "expected_calibration_error",
    "multiclass_log_loss",
    "write_atomic",
]

ECE_BINS = 15
"""Equal-width confidence bins of the expected calibration error."""

RunKey = tuple[str, str, int, str]
"""``(dataset, split, fold, method)``."""

RESULT_COLUMNS = (
    "dataset",
    "split",
    "fold",
    "method",
    "test_roc_auc",
    "normalized_roc_auc",
    "valid_roc_auc",
    "valid_test_gap",
    "log_loss",
    "ece",
    "accuracy",
    "wall_seconds",
    "device",
    "n_train",
    "n_test",
    "n_synthetic",
    "best_epoch",
    "epochs_run",
    "generator_seconds",
    "finetune_seconds",
    "tuned_cv_normalized_roc_auc",
    "tuned_selection_rule",
    "tuned_selection_passed",
    "tuned_selection_estimate",
    "tuned_selection_bound",
    "tuned_candidate_trial",
    "tuned_exported_trial",
    "tuned_fallback",
    "tuned_synthetic_ratio",
    "n_trials",
    "seed",
    "domain",
    "dropped_classes",
    "data_fingerprint",
    "finished_at",
)
"""Columns of ``results.csv``, in order (see ``summary.md`` for their definitions)."""


def expected_calibration_error(
    y_true: Any, proba: np.ndarray, classes: Any, n_bins: int = ECE_BINS
) -> float:
    """Top-label expected calibration error with ``n_bins`` equal-width confidence bins.

    ``sum_b |B_b| / n * |accuracy(B_b) - mean confidence(B_b)|``, where a row's confidence is
    its largest probability and it falls in bin ``b`` when ``b/n_bins < confidence <=
    (b+1)/n_bins`` (the first bin includes 0).
    """
    labels = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    confidence = proba.max(axis=1)
    correct = np.asarray(classes)[proba.argmax(axis=1)] == labels
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        members = bins == b
        total += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return float(total / len(labels))


def multiclass_log_loss(y_true: Any, proba: np.ndarray, classes: Any) -> float:
    """Mean negative log-probability of the true class (probabilities clipped at 1e-15)."""
    labels = np.asarray(y_true)
    classes = np.asarray(classes)
    index = {label: i for i, label in enumerate(classes.tolist())}
    rows = np.array([index[label] for label in labels.tolist()])
    picked = np.asarray(proba, dtype=np.float64)[np.arange(len(rows)), rows]
    return float(-np.mean(np.log(np.clip(picked, 1e-15, 1.0))))


def write_atomic(path: Path, content: str | bytes) -> None:
    """Replace ``path`` with ``content`` (text as UTF-8) so that readers see the old or the
    new file, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(content.encode("utf-8") if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _file_name(key: RunKey) -> str:
    dataset, split, fold, method = key
    text = f"{dataset}__{split}__fold{fold}__{method}"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) + ".json"


def _clean(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    return value


class RunStore:
    """The finished runs of one benchmark directory.

    Args:
        out: The benchmark's output directory.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.runs_dir = self.out / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._records: dict[RunKey, dict[str, Any]] = {}
        for path in sorted(self.runs_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                key = (
                    str(record["dataset"]),
                    str(record["split"]),
                    int(record["fold"]),
                    str(record["method"]),
                )
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise BenchError(
                    f"A stored benchmark run is unreadable: {str(path)!r} ({e}); delete it to "
                    "recompute that run."
                ) from e
            self._records[key] = record

    def __contains__(self, key: RunKey) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: RunKey) -> dict[str, Any] | None:
        return self._records.get(key)

    def records(self) -> list[dict[str, Any]]:
        """Every stored run, in a stable order."""
        from bench._methods import METHODS

        order = {name: i for i, name in enumerate(METHODS)}
        keys = sorted(self._records, key=lambda k: (k[0], k[1], k[2], order.get(k[3], 99), k[3]))
        return [self._records[k] for k in keys]

    def path_of(self, key: RunKey) -> Path:
        return self.runs_dir / _file_name(key)

    def put(self, record: dict[str, Any]) -> None:
        """Store one finished run durably, then rebuild ``results.csv``."""
        key = (record["dataset"], record["split"], int(record["fold"]), record["method"])
        clean = {k: _clean(v) for k, v in record.items()}
        write_atomic(self.path_of(key), json.dumps(clean, indent=1, sort_keys=True) + "\n")
        self._records[key] = clean
        self.write_csv()

    def frame(self) -> pd.DataFrame:
        """The runs as a table with :data:`RESULT_COLUMNS` (missing facts are empty)."""
        frame = pd.DataFrame(self.records())
        for column in RESULT_COLUMNS:
            if column not in frame.columns:
                frame[column] = np.nan
        return frame[list(RESULT_COLUMNS)]

    def write_csv(self) -> Path:
        path = self.out / "results.csv"
        write_atomic(path, self.frame().to_csv(index=False))
        return path
