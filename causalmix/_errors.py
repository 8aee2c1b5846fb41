from __future__ import annotations


class CausalMixError(ValueError):
    """Root error of :mod:`causalmix`: raised for bad input (data, targets, parameters).

    It subclasses :class:`ValueError` so that callers handling user input errors generically
    keep working; the CLI turns it into a one-line message and exit code 2.
    """
