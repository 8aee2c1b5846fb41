"""Keeping third-party output out of the product's output, and seeding libraries that only
read NumPy's global random state.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator

import numpy as np

__all__ = ["global_numpy_seed", "quiet"]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence stdout, stderr and warnings for the duration of the block.

    causal-learn prints orientation steps (FCI) and progress bars, and DoWhy and scikit-learn
    warn about convergence and fitting details; none of it is actionable for our users. Logging
    is left alone: the CLI raises the third-party loggers' level itself.
    """
    sink = io.StringIO()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def global_numpy_seed(seed: int) -> Iterator[None]:
    """Seed NumPy's global random state for the block, then restore the caller's state.

    DoWhy's mechanisms (empirical noise draws, classifier noise, model selection folds) draw
    from ``np.random`` directly and take no generator argument. Seeding inside the block and
    restoring afterwards makes our results reproducible without changing the random stream of
    the surrounding program. Not thread-safe: do not sample from two threads at once.
    """
    state = np.random.get_state()
    np.random.seed(seed % (2**32))
    try:
        yield
    finally:
        np.random.set_state(state)
