"""The Optuna tuning service: studies, the objective and the ``causalmix`` CLI.

The public functions are imported on first use, so that ``causalmix --help`` (which imports
this package for its error class) does not pay for pandas, Optuna or torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

from tuner._errors import TunerError

if TYPE_CHECKING:
    from tuner._model import export_best, fit, predict
    from tuner._objective import EPOCH_SECONDS_ATTR, VALID_CURVE_ATTR, epoch_value
    from tuner._pruners import EARLY_STOPPING_RULES, FOLD_SCORES_ATTR, early_stop
    from tuner._service import tune, work
    from tuner._settings import StudySettings
    from tuner._study import load_study
    from tuner._worker import WorkerResult, run_worker

__all__ = [
    "EARLY_STOPPING_RULES",
    "EPOCH_SECONDS_ATTR",
    "FOLD_SCORES_ATTR",
    "VALID_CURVE_ATTR",
    "StudySettings",
    "TunerError",
    "early_stop",
    "epoch_value",
    "export_best",
    "fit",
    "load_study",
    "WorkerResult",
    "predict",
    "run_worker",
    "tune",
    "work",
]

# Each public name is imported from its module on first access (`causalmix --help` stays fast).
__getattr__, _, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "_model": ["export_best", "fit", "predict"],
        "_objective": ["EPOCH_SECONDS_ATTR", "VALID_CURVE_ATTR", "epoch_value"],
        "_pruners": ["EARLY_STOPPING_RULES", "FOLD_SCORES_ATTR", "early_stop"],
        "_service": ["tune", "work"],
        "_settings": ["StudySettings"],
        "_study": ["load_study"],
        "_worker": ["WorkerResult", "run_worker"],
    },
)


def __dir__() -> list[str]:
    return sorted(__all__)
