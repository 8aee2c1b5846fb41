"""The benchmark's defaults, written once for :class:`bench.BenchConfig` and ``causalmix
bench`` (this module imports nothing heavy, so that the CLI can show them at once)."""

from __future__ import annotations

from tuner._defaults import DEFAULT_N_FOLDS, DEFAULT_N_TRIALS, DEFAULT_PORTFOLIO, DEFAULT_SPACE

FOLDS = 5
"""Outer folds."""

SPLIT = "kfold"
"""Outer split: ``kfold`` or ``shift:COLUMN``."""

TRIALS = DEFAULT_N_TRIALS
"""Trials of each tuned study (the tuning service's default)."""

INNER_FOLDS = DEFAULT_N_FOLDS
"""Inner folds of each tuned study (the tuning service's default)."""

TUNED_SPACE = DEFAULT_SPACE
"""Search space of the ``tuned`` method."""

PORTFOLIO = DEFAULT_PORTFOLIO
"""The portfolio of each tuned study; on a dataset it was learned on, the one learned without
it (``Portfolio.without``), so that its benefit is never claimed on its own training data."""

FIXED_SPACE = "paper"
"""The space holding the fixed configuration of the other fine-tuned methods."""

CTGAN_EPOCHS = 300
CTGAN_BATCH_SIZE = 500

MAX_ROWS = 1000
"""Rows per dataset at most (stratified subsample)."""

MAX_FEATURES = 100
"""Features per dataset at most (seeded random subset)."""
