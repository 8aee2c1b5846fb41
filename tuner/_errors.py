from __future__ import annotations

from causalmix._errors import CausalMixError
from search_spaces._errors import SearchSpaceError
from storage._errors import StorageError, StorageUnavailableError
from tabfm._errors import TabFMError


class TunerError(ValueError):
    """Root error of :mod:`tuner`: bad CLI arguments, studies and configs."""


class WorkerFailedError(TunerError):
    """A worker process of ``causalmix tune --workers`` failed: an operational failure.

    The command line exits with code 3 for it (2 is for bad input).
    """


OPERATIONAL_ERRORS: tuple[type[Exception], ...] = (StorageUnavailableError, WorkerFailedError)
"""Errors caused by the environment, not the input: one line, exit code 3."""

USER_ERRORS: tuple[type[Exception], ...] = (
    CausalMixError,
    SearchSpaceError,
    StorageError,
    TabFMError,
    TunerError,
)
"""Errors caused by user input: one line, exit code 2 (checked after
:data:`OPERATIONAL_ERRORS`, whose classes derive from these package roots). Verbs of other
packages add their own (``USER_ERRORS`` of their module, see ``tuner._cli``)."""
