"""A wall-clock deadline for structure discovery, checked inside the independence tests.

FCI with the ``dg`` test on a wide table can run for hours and fill the memory with cached
p-values (MiceProtein, 78 nodes: killed by the kernel at 17.8 GB after 90 minutes). A deadline
lets the caller stop it: causalmix's own tests check it on every call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["check_deadline", "deadline"]

_DEADLINE = threading.local()


@contextmanager
def deadline(at: float | None) -> Iterator[None]:
    """Make :func:`check_deadline` raise, in this thread, once ``time.time()`` passes ``at``.

    A wall-clock time (not a duration), so that a resample run in a joblib worker process
    keeps the deadline of the discovery that started it. ``None``: no limit.
    """
    saved = getattr(_DEADLINE, "at", None)
    _DEADLINE.at = at
    try:
        yield
    finally:
        _DEADLINE.at = saved


def check_deadline() -> None:
    """Raise :class:`~causalmix.DiscoveryTimeoutError` if this thread's deadline has passed.

    causalmix's own independence tests (``fisherz``, ``dg``) call it on every test, so a
    discovery stops within one test of its deadline; under causal-learn's own tests
    (``chisq``, ``gsq``, ``kci``) it is checked between resamples only.
    """
    at = getattr(_DEADLINE, "at", None)
    if at is not None and time.time() > at:
        from causalmix._errors import DiscoveryTimeoutError

        raise DiscoveryTimeoutError("structure discovery ran past its time limit")
