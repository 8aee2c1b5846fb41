from __future__ import annotations


class SearchSpaceError(ValueError):
    """Root error of :mod:`search_spaces`: unknown spaces and invalid space definitions."""
