from __future__ import annotations


class BenchError(ValueError):
    """Root error of :mod:`bench`: bad benchmark settings, datasets or a mismatched resume."""
