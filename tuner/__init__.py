"""The Optuna tuning service: studies, the objective and the ``causalmix`` CLI.

The public functions are imported on first use, so that ``causalmix --help`` (which imports
this package for its error class) does not pay for pandas, Optuna or torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tuner._errors import TunerError

if TYPE_CHECKING:
    from tuner._model import export_best, fit, predict
    from tuner._service import tune, work
    from tuner._settings import StudySettings
    from tuner._study import load_study

__all__ = [
    "StudySettings",
    "TunerError",
    "export_best",
    "fit",
    "load_study",
    "predict",
    "tune",
    "work",
]

_LAZY = {
    "StudySettings": "tuner._settings",
    "export_best": "tuner._model",
    "fit": "tuner._model",
    "load_study": "tuner._study",
    "predict": "tuner._model",
    "tune": "tuner._service",
    "work": "tuner._service",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tuner' has no attribute {name!r}")
