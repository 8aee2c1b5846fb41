from __future__ import annotations


class TunerError(ValueError):
    """Root error of :mod:`tuner`: bad CLI arguments, studies and configs."""
