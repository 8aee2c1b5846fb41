from __future__ import annotations


class CausalMixError(ValueError):
    """Root error of :mod:`causalmix`: raised for bad input (data, targets, parameters).

    It subclasses :class:`ValueError` so that callers handling user input errors generically
    keep working; the CLI turns it into a one-line message and exit code 2.
    """


class DiscoveryTimeoutError(TimeoutError):
    """Structure discovery ran past its time limit (``CausalAugmenter(discovery_timeout=...)``).

    Not bad input: the settings are valid but too costly for the table (FCI with the ``dg``
    test on a wide table can run for hours and fill the memory). The resamples that finished
    in time stay cached.
    """
