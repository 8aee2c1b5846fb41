"""What a new study starts with: its objective's name, the reference trials, the portfolio.

Trial 0 of a new study is plain fine-tuning with the default configuration and trial 1 the
CausalMixFT paper's configuration (:data:`search_spaces.REFERENCE_NAMES`), both enqueued, so
every study holds both references on the same inner folds as its other trials (``export`` and
``fit`` compare the chosen trial with them). They carry the user attribute ``reference`` and a
dashboard note; ``tune(references=False)`` / ``--no-references`` leave them out.

Then come the configurations of a portfolio (:class:`search_spaces.Portfolio`, the shipped
``default`` unless ``tune(portfolio=...)`` / ``--portfolio`` says otherwise), a learned warm
start for the sampler. They carry the user attribute ``portfolio`` (their name) and a note,
and compete like any sampled trial.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from storage import REFERENCE_ATTR  # the export's trial selection reads what this writes

if TYPE_CHECKING:
    import optuna

    from search_spaces import Portfolio, SearchSpace

__all__ = [
    "METRIC_NAME",
    "PORTFOLIO_ATTR",
    "enqueue_first_trials",
    "name_objective",
    "note_reference",
]

_logger = logging.getLogger("causalmix.tuner")

PORTFOLIO_ATTR = "portfolio"
"""The user attribute that names a portfolio trial's configuration."""

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


def enqueue_first_trials(
    study: optuna.Study,
    space: SearchSpace,
    n_trials: int,
    *,
    references: bool = True,
    portfolio: Portfolio | None = None,
) -> list[str]:
    """Enqueue the references, then the portfolio, as far as the space can express them.

    A space that samples nothing has one configuration, so it gets none. A configuration whose
    values coincide with an earlier one's in this space is enqueued once. At most ``n_trials``
    are enqueued (a 1-trial study runs default fine-tuning only), so that no enqueued trial is
    left waiting in a finished study.

    Returns:
        The names of the enqueued configurations, in trial order.
    """
    from search_spaces import REFERENCE_NAMES, reference_configs, reference_params

    if space.is_fixed:
        return []
    planned: list[tuple[str, dict[str, object], dict[str, str]]] = []
    if references:
        configs = reference_configs()
        planned += [(n, configs[n], {REFERENCE_ATTR: n}) for n in REFERENCE_NAMES]
    if portfolio is not None:
        planned += [(n, c, {PORTFOLIO_ATTR: n}) for n, c in portfolio.full_configs()]
    enqueued: list[str] = []
    seen: list[dict[str, object]] = []
    for name, config, attrs in planned:
        if len(enqueued) >= n_trials:
            break
        params, notes = reference_params(space, config)
        if params in seen:
            _logger.info("%s is the same as an earlier trial in space %r.", name, space.name)
            continue
        for note in notes:
            _logger.info("%s in space %r: %s.", name, space.name, note)
        study.enqueue_trial(params, user_attrs=attrs)
        seen.append(params)
        enqueued.append(name)
    return enqueued


def note_reference(trial: optuna.Trial) -> None:
    """At the start of a reference or portfolio trial, leave a dashboard note saying so."""
    name = trial.user_attrs.get(REFERENCE_ATTR)
    if name in _NOTES:
        text = f"**Reference trial `{name}`**: {_NOTES[name]}."
    elif trial.user_attrs.get(PORTFOLIO_ATTR):
        name = trial.user_attrs[PORTFOLIO_ATTR]
        text = (
            f"**Portfolio trial `{name}`**: a configuration of the learned portfolio, "
            "evaluated after the references (a warm start for the sampler)."
        )
    else:
        return
    from optuna_dashboard import save_note

    save_note(trial, text)
