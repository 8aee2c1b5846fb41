"""The Optuna tuning service: studies, the objective and the ``causalmix`` CLI."""

from tuner._api import export_best, fit, load_study, predict, tune, work
from tuner._errors import TunerError
from tuner._settings import StudySettings

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
