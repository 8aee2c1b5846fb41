"""Early-stopping cross-validation: stop a trial after a fold once it cannot plausibly win.

The "forgiving" rule of Bergman, Purucker and Hutter, "Don't waste your time: early stopping
cross-validation" (AutoML 2024): after each fold, a trial stops when the mean of the folds it
has seen is below the incumbent's *worst* fold. The incumbent is the best finished trial that
saw every fold. Comparing a running mean with the incumbent's worst fold, rather than with its
mean (their "aggressive" rule), forgives an unlucky first fold: one bad fold of a good
configuration rarely falls below another configuration's worst.

A stopped trial is PRUNED: it keeps its out-of-fold predictions for the folds it saw, and
selection (BBC-CV) leaves it out, since it has not predicted every row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import optuna

from storage._selection import FOLD_SCORES_ATTR

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = ["EARLY_STOPPING_RULES", "FOLD_SCORES_ATTR", "ForgivingPruner", "early_stop"]

EARLY_STOPPING_RULES = ("forgiving", "aggressive")
"""Bergman et al.'s rules: the bar is the incumbent's worst fold, or its mean."""


def early_stop(
    running_mean: float, incumbent_folds: Sequence[float] | None, rule: str = "forgiving"
) -> bool:
    """Whether early-stopping cross-validation stops a trial after a fold.

    Args:
        running_mean: The trial's mean over the folds it has seen.
        incumbent_folds: The incumbent's score on every fold (``None``: no incumbent yet).
        rule: ``"forgiving"`` (stop below the incumbent's worst fold) or ``"aggressive"``
            (below its mean).
    """
    if rule not in EARLY_STOPPING_RULES:
        raise ValueError(f"Unknown rule {rule!r}; choose one of {list(EARLY_STOPPING_RULES)}.")
    if not incumbent_folds:
        return False
    folds = list(incumbent_folds)
    bar = min(folds) if rule == "forgiving" else sum(folds) / len(folds)
    return math.isfinite(running_mean) and running_mean < bar


class ForgivingPruner(optuna.pruners.BasePruner):
    """Prune a trial whose running mean over folds is below the incumbent's worst fold.

    Expects the objective to report, at step ``k``, the mean of its first ``k + 1`` folds,
    taken in the same order by every trial (what the objective does without the Wilcoxon
    pruner), and to record every finished trial's fold scores in :data:`FOLD_SCORES_ATTR`.

    Args:
        n_folds: Folds per trial: only trials with that many fold scores can be incumbents.
    """

    def __init__(self, n_folds: int) -> None:
        if n_folds < 2:
            raise ValueError(f"n_folds must be >= 2, but got {n_folds}.")
        self.n_folds = n_folds

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        return early_stop(trial.intermediate_values[step], self._incumbent_folds(study))

    def _incumbent_folds(self, study: optuna.Study) -> list[float] | None:
        from optuna.trial import TrialState

        best_value, best_folds = -math.inf, None
        for other in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            scores = other.user_attrs.get(FOLD_SCORES_ATTR) or []
            if len(scores) != self.n_folds or other.value is None:
                continue
            if other.value > best_value:
                best_value, best_folds = other.value, [float(v) for v in scores]
        return best_folds
