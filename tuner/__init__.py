"""The Optuna tuning service: studies, the objective and the ``causalmix`` CLI."""

from tuner._errors import TunerError

__all__ = ["TunerError"]
