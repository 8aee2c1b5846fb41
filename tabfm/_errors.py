from __future__ import annotations


class TabFMError(ValueError):
    """Root error of :mod:`tabfm`: bad input data, configuration or weights files."""
