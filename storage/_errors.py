from __future__ import annotations


class StorageError(ValueError):
    """Root error of :mod:`storage`: bad storage URLs, unreachable databases, missing studies."""


class StorageUnavailableError(StorageError):
    """The database could not be reached, or stayed unreachable: an outage, not bad input.

    The command line exits with code 3 for it (2 is for bad input).
    """
