"""What a new study starts with: its objective's name, and the reference trials.

Trial 0 of a new study is plain fine-tuning with the default configuration and trial 1 the
CausalMixFT paper's configuration (:data:`search_spaces.REFERENCE_NAMES`), both enqueued, so
every study holds both references on the same inner folds as its other trials (``export`` and
``fit`` compare the chosen trial with them). They carry the user attribute ``reference`` and a
dashboard note; ``tune(references=False)`` / ``--no-references`` leave them out.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from storage import REFERENCE_ATTR  # the export's trial selection reads what this writes

if TYPE_CHECKING:
    import optuna

    from search_spaces import SearchSpace

__all__ = [
    "METRIC_NAME",
    "enqueue_references",
    "name_objective",
    "note_reference",
]

_logger = logging.getLogger("causalmix.tuner")

METRIC_NAME = "normalized ROC-AUC (%)"
"""The objective's name, as the dashboard shows it."""


_NOTES = {
    "default_ft": "plain fine-tuning (synthetic ratio 0) with the default configuration",
    "causalmixft": "the CausalMixFT paper's configuration (synthetic ratio 1, PC, 8 DAGs)",
}


def name_objective(study: optuna.Study) -> None:
    """Name the objective for the dashboard (instead of "Objective 0")."""
    import warnings

    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # stable since Optuna 3.2
        study.set_metric_names([METRIC_NAME])


def enqueue_references(study: optuna.Study, space: SearchSpace, n_trials: int) -> list[str]:
    """Enqueue the references a space can express, before any other trial.

    A space that samples nothing has one configuration, so it gets none. A reference whose
    values coincide with an earlier one's in this space is enqueued once. At most ``n_trials``
    are enqueued (a 1-trial study runs default fine-tuning only), so that no enqueued trial is
    left waiting in a finished study.

    Returns:
        The names of the enqueued references, in trial order.
    """
    from search_spaces import REFERENCE_NAMES, reference_configs, reference_params

    if space.is_fixed:
        return []
    configs = reference_configs()
    enqueued: list[str] = []
    seen: list[dict[str, object]] = []
    for name in REFERENCE_NAMES:
        if len(enqueued) >= n_trials:
            break
        params, notes = reference_params(space, configs[name])
        if params in seen:
            continue
        for note in notes:
            _logger.info("Reference %s in space %r: %s.", name, space.name, note)
        study.enqueue_trial(params, user_attrs={REFERENCE_ATTR: name})
        seen.append(params)
        enqueued.append(name)
    return enqueued


def note_reference(trial: optuna.Trial) -> None:
    """At the start of a reference trial, leave a dashboard note that says what it is."""
    name = trial.user_attrs.get(REFERENCE_ATTR)
    if name not in _NOTES:
        return
    from optuna_dashboard import save_note

    save_note(trial, f"**Reference trial `{name}`**: {_NOTES[name]}.")
