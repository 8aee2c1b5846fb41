from __future__ import annotations


class TunerError(ValueError):
    """Root error of :mod:`tuner`: bad CLI arguments, studies and configs."""


class WorkerFailedError(TunerError):
    """A worker process of ``causalmix tune --workers`` failed: an operational failure.

    The command line exits with code 3 for it (2 is for bad input).
    """
