from __future__ import annotations


class StorageError(ValueError):
    """Root error of :mod:`storage`: bad storage URLs, unreachable databases, missing studies."""
