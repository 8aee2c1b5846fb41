"""The reference study's benchmark (``causalmix bench``): zero-shot, default fine-tuning,
CausalMixFT, synthetic-only training, CTGAN and per-dataset tuning, compared on the same folds.

It sits on top of the tuning service (its ``tuned`` method runs studies); nothing below
``tuner`` imports it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bench._errors import BenchError

if TYPE_CHECKING:
    from bench._run import BenchConfig, run_bench
    from bench._suite import BenchDataset, subsample

__all__ = ["BenchConfig", "BenchDataset", "BenchError", "run_bench", "subsample"]

# Imported on first use: the CLI imports this package for BenchError, and `--help` must not
# pay for pandas.
_LAZY = {
    "BenchConfig": "bench._run",
    "BenchDataset": "bench._suite",
    "run_bench": "bench._run",
    "subsample": "bench._suite",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
