"""Confirming a pick with fresh fine-tuning seeds, after a study's trials.

BBC-CV resamples rows, and a fine-tuning seed's luck is the same on every row, so a study's
best trial can pass it on seed luck alone (the README's calibration: up to 7 % false positives
at the seed noise measured on tic-tac-toe). When the selection passes, ``tune`` runs the picked
configuration and default fine-tuning again, each with ``confirm_seeds`` fresh seeds on the same
folds; :func:`storage.select_trial` then exports the pick only if it also beats default
fine-tuning on those runs. Confirmation trials carry :data:`storage.CONFIRMATION_ATTR`, are
never pruned, do not count among the study's ``n_trials`` and never compete. Running ``tune``
again reruns only the missing ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

__all__ = ["confirm_pick"]

_logger = logging.getLogger("causalmix")


def confirm_pick(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    seeds: int,
    *,
    storage_url: str,
    user_errors: tuple[type[Exception], ...] = (),
    reconnect_timeout: float = 120.0,
) -> int:
    """Run the missing confirmation trials of the study's current pick, each like a worker's
    trial (heartbeat, retries on a lost database, failure recorded).

    Returns:
        How many confirmation trials completed here (none when the selection did not pass
        BBC-CV, or every confirmation exists).
    """
    from optuna.trial import TrialState

    from storage import CONFIRMATION_ATTR, StorageError, select_study_trial
    from tuner._worker import run_enqueued_trial

    if seeds < 1:
        return 0
    try:
        _, selection = select_study_trial(study)
    except StorageError:
        return 0
    candidate = selection.get("candidate_trial")
    reference = selection.get("reference_trial")
    if not selection.get("bbc_passed") or candidate is None or reference is None:
        return 0
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    done = {
        (attr.get("of"), attr.get("seed_offset"))
        for t in trials.values()
        if t.state == TrialState.COMPLETE and (attr := t.user_attrs.get(CONFIRMATION_ATTR))
    }
    ran = 0
    for offset in range(1, seeds + 1):
        for of in (int(candidate), int(reference)):
            if (of, offset) in done:
                continue
            params = trials[of].params
            _logger.info(
                "Confirming trial %d's pick: trial %d's configuration with fresh seed %d...",
                candidate,
                of,
                offset,
            )
            result = run_enqueued_trial(
                study,
                objective,
                params,
                {CONFIRMATION_ATTR: {"of": of, "seed_offset": offset}},
                storage_url=storage_url,
                user_errors=user_errors,
                reconnect_timeout=reconnect_timeout,
            )
            if not result.completed:
                _logger.warning(
                    "A confirmation trial did not complete; export will not use it. Run the "
                    "same command again to retry."
                )
                return ran
            ran += 1
    return ran
