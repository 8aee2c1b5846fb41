"""Which trial a study exports: the best one only when tuning beats default fine-tuning reliably.

Picking the maximum of noisy inner-CV scores overstates it (the winner's curse), so the best
trial is exported only when there is evidence that "tune, then pick" gains over the study's
default-fine-tuning reference trial (``reference == "default_ft"``, trial 0 of a new study).

Two rules (``rule=``):

- ``"bbc"`` (the default): BBC-CV (:mod:`storage._bbc`) over every eligible trial's
  out-of-fold predictions (:mod:`storage._predictions`): B bootstrap resamples of the rows,
  stratified by fold and class; in each, the trial with the best in-bag score is picked and its
  out-of-bag score minus the reference's recorded. The mean of those differences is the
  bias-corrected gain, their 5 % quantile the one-sided 95 % lower bound. The best trial (on
  all rows) is exported when the bound is above 0, the reference otherwise. Both references
  compete like any trial, so neither is exported untested.
- ``"fold_t"``: the former rule, a one-sided paired t bound over the inner-fold means of the
  best trial against the reference (1-2 degrees of freedom at 2-3 folds, and biased upward by
  the pick: kept for comparison, see the README's calibration table).

Eligible trials are completed trials that saw every inner fold (a trial the Wilcoxon pruner cut
short is stored COMPLETE with a partial mean, and does not compete). Without an eligible
default reference nothing can be tested: the best eligible trial is exported and the selection
says so plainly. A study from before OOF predictions were kept falls back to ``fold_t``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from storage._errors import StorageError

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from storage._predictions import StudyRows

__all__ = [
    "CONFIDENCE",
    "CONFIRMATION_ATTR",
    "DEFAULT_N_BOOT",
    "FOLDS_ATTR",
    "FOLD_SCORES_ATTR",
    "REFERENCE_ATTR",
    "SELECTION_RULES",
    "eligible_trials",
    "select_trial",
]

FOLD_SCORES_ATTR = "fold_normalized_roc_auc"
"""The user attribute holding a trial's normalized ROC-AUC per inner fold (the tuner's objective
writes it; selection, confirmation and the early-stopping pruner read it)."""

FOLDS_ATTR = "folds_evaluated"
"""The user attribute naming the inner folds of :data:`FOLD_SCORES_ATTR`, in the same order (a
pruned trial evaluated only some)."""

REFERENCE_ATTR = "reference"
"""The user attribute naming a reference trial (the tuner writes it on the trials it enqueues)."""

CONFIRMATION_ATTR = "confirmation"
"""The user attribute of a confirmation trial: ``{"of": trial number, "seed_offset": k}``, the
configuration of trial ``of`` run again with fresh fine-tuning seeds (the tuner's
``confirm_seeds``). Confirmation trials never compete; they only confirm."""

CONFIDENCE = 0.95
"""One-sided confidence of the lower bound."""

DEFAULT_N_BOOT = 1000
"""Bootstrap resamples of BBC-CV."""

SELECTION_RULES = ("bbc", "fold_t")
"""The selection rules; the first is the default."""

RULES = {
    "bbc": (
        "BBC-CV: in each of B bootstrap resamples of the rows (stratified by fold and class) the "
        "trial with the best in-bag score is picked and its out-of-bag normalized ROC-AUC minus "
        "default fine-tuning's is recorded; the best trial is exported only if a one-sided 95% "
        "lower bound of that bias-corrected gain is above 0 (the normal bound, and then the same "
        "comparison rerun with fresh fine-tuning seeds, when tune ran them; else the 5% "
        "quantile), otherwise default fine-tuning"
    ),
    "fold_t": (
        "export the best trial only if the one-sided 95% lower confidence bound of its mean "
        "paired per-fold difference in normalized ROC-AUC against the default fine-tuning "
        "reference is above 0 (paired t over the inner folds); otherwise default fine-tuning"
    ),
}


def _key(trial: FrozenTrial) -> tuple[float, int]:
    return (float(trial.value), -trial.number)  # type: ignore[arg-type]


def eligible_trials(completed: list[FrozenTrial], n_folds: int | None) -> list[FrozenTrial]:
    """Completed trials that saw every inner fold (all of them when ``n_folds`` is unknown)."""
    if n_folds is None:
        return list(completed)
    eligible = []
    for trial in completed:
        folds = trial.user_attrs.get(FOLDS_ATTR)
        if folds is None or len(folds) >= n_folds:
            eligible.append(trial)
    return eligible


def select_trial(
    completed: list[FrozenTrial],
    *,
    rows: StudyRows | None = None,
    rule: str = "bbc",
    n_folds: int | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
) -> tuple[FrozenTrial, dict[str, Any]]:
    """The trial to export among completed ones, and the record of how it was chosen.

    Args:
        completed: Completed trials with a value (at least one).
        rows: The study's rows and zero-shot OOF predictions (``bbc`` needs them).
        rule: ``"bbc"`` or ``"fold_t"``.
        n_folds: The study's inner folds; trials that saw fewer do not compete.
        n_boot: BBC-CV resamples.
        seed: Seed of the resamples.

    Returns:
        ``(trial, selection)``; ``selection`` holds the rule and its sentence, the candidate
        (best) and reference trial numbers, the statistic and its bound, whether the candidate
        passed, the chosen trial and a one-line summary.

    Raises:
        StorageError: For an unknown rule, or when no completed trial saw every fold.
    """
    if rule not in SELECTION_RULES:
        raise StorageError(
            f"Unknown selection rule {rule!r}; choose from {', '.join(SELECTION_RULES)}."
        )
    confirmations = [t for t in completed if t.user_attrs.get(CONFIRMATION_ATTR)]
    pool = eligible_trials(
        [t for t in completed if not t.user_attrs.get(CONFIRMATION_ATTR)], n_folds
    )
    if not pool:
        raise StorageError(
            f"No completed trial saw all {n_folds} inner folds ({len(completed)} completed "
            "with fewer): run more trials."
        )
    best = max(pool, key=_key)
    default = next((t for t in pool if t.user_attrs.get(REFERENCE_ATTR) == "default_ft"), None)
    left_out = len(completed) - len(confirmations) - len(pool)
    selection: dict[str, Any] = {"rule": rule, "rule_text": RULES[rule]}
    if left_out:
        selection["left_out_partial_trials"] = left_out
    if default is None:
        selection.update(
            applied=False,
            candidate_trial=best.number,
            chosen_trial=best.number,
            passed=None,
            summary=f"UNTESTED: no default fine-tuning reference trial with every fold in the "
            f"study, so trial {best.number} is exported for its inner-CV score alone, which "
            "overstates it",
        )
        return best, selection
    selection["reference_trial"] = default.number
    if rule == "bbc":
        usable = _with_predictions(pool, rows)
        if usable is not None and default.number in usable:
            return _select_bbc(
                pool, usable, default, rows, selection, confirmations, n_boot=n_boot, seed=seed
            )
        selection["rule"] = "fold_t"
        selection["rule_text"] = RULES["fold_t"]
        selection["note"] = (
            "the study has no out-of-fold predictions (created before they were kept), so the "
            "fold-t rule applied"
        )
    return _select_fold_t(pool, best, default, selection)


def _with_predictions(
    pool: list[FrozenTrial], rows: StudyRows | None
) -> dict[int, np.ndarray] | None:
    """Trial number -> its OOF probabilities, for the trials with a prediction on every row
    (each decoded once); ``None`` for a study without rows or zero-shot predictions."""
    from storage._predictions import trial_oof

    if rows is None or not rows.zero_shot:
        return None
    usable = {}
    for trial in pool:
        proba = trial_oof(trial)
        if proba is not None and len(proba) == rows.n_rows and not np.isnan(proba).any():
            usable[trial.number] = proba
    return usable


def _select_bbc(
    pool: list[FrozenTrial],
    predictions: dict[int, np.ndarray],
    default: FrozenTrial,
    rows: StudyRows | None,
    selection: dict[str, Any],
    confirmations: list[FrozenTrial],
    *,
    n_boot: int,
    seed: int,
) -> tuple[FrozenTrial, dict[str, Any]]:
    from storage._bbc import bbc_gain

    assert rows is not None
    # The reference first: ties between in-bag scores then go to it.
    others = (t for t in pool if t is not default and t.number in predictions)
    ordered = [default] + sorted(others, key=lambda t: t.number)
    device = default.user_attrs.get("device")
    zero_shot = rows.zero_shot.get(device) if device else None
    if zero_shot is None:
        zero_shot = next(iter(rows.zero_shot.values()))
    result = bbc_gain(
        [predictions[t.number] for t in ordered],
        0,
        zero_shot,
        rows.labels,
        rows.folds,
        n_boot=n_boot,
        seed=seed,
        confidence=CONFIDENCE,
    )
    picked = ordered[result.picked]

    def above_zero(value: float) -> bool:
        return bool(np.isfinite(value) and value > 0.0)

    # With confirmation runs the pick needs the rescaled bound and the fresh seeds' bound above
    # 0; without them, the stricter percentile bound (calibrated in the README).
    bbc_passed = above_zero(result.rescaled_bound) and picked is not default
    confirmation = None
    if bbc_passed:
        confirmation = _confirm(picked, default, confirmations, rows, zero_shot, n_boot, seed)
    if confirmation is not None:
        bound, bound_kind = result.rescaled_bound, "rescaled"
        passed = bool(confirmation["passed"])
    else:
        bound, bound_kind = result.percentile_bound, "percentile"
        passed = above_zero(bound) and picked is not default
    chosen = picked if passed else default
    apparent = float(result.scores[result.picked] - result.scores[0])
    selection.update(
        applied=True,
        candidate_trial=picked.number,
        n_configs=len(ordered),
        n_boot=result.n_boot,
        seed=seed,
        apparent_gain=_round(apparent),
        estimate=_round(result.estimate),
        lower_bound=_round(bound),
        bound_kind=bound_kind,
        percentile_bound=_round(result.percentile_bound),
        rescaled_bound=_round(result.rescaled_bound),
        candidate_pick_share=_round(float(result.pick_share[result.picked])),
        passed=passed if picked is not default else None,
        chosen_trial=chosen.number,
        bbc_passed=bbc_passed,
        confirmation=confirmation,
    )
    stats = (
        f"bias-corrected gain {result.estimate:+.3f} points, 95% lower bound "
        f"{bound:+.3f}, B={result.n_boot}, {len(ordered)} configurations"
    )
    if picked is default:
        selection["summary"] = (
            f"default fine-tuning (trial {default.number}) scores best on all rows; exporting it "
            f"({stats})"
        )
    elif passed:
        selection["summary"] = (
            f"trial {picked.number} beats default fine-tuning: apparent gain {apparent:+.3f}, "
            f"{stats}"
        )
        if confirmation is None:
            selection["summary"] += " (percentile bound; not confirmed with a fresh seed)"
        else:
            selection["summary"] += (
                f"; confirmed with {len(confirmation['seed_offsets'])} fresh seed(s): "
                f"{confirmation['estimate']:+.3f}, 95% lower bound "
                f"{confirmation['lower_bound']:+.3f}"
            )
    elif confirmation is not None:
        selection["summary"] = (
            f"trial {picked.number} passed BBC-CV ({stats}) but not the fresh-seed "
            f"confirmation ({confirmation['estimate']:+.3f}, 95% lower bound "
            f"{confirmation['lower_bound']:+.3f}): exporting default fine-tuning "
            f"(trial {default.number})"
        )
    else:
        selection["summary"] = (
            f"trial {picked.number} (apparent gain {apparent:+.3f}) is not reliably better than "
            f"default fine-tuning ({stats}): exporting default fine-tuning "
            f"(trial {default.number})"
        )
    return chosen, selection


def _confirm(
    picked: FrozenTrial,
    default: FrozenTrial,
    confirmations: list[FrozenTrial],
    rows: StudyRows,
    zero_shot: np.ndarray,
    n_boot: int,
    seed: int,
) -> dict[str, Any] | None:
    """The fresh-seed check of a pick: ``None`` when no confirmation trials exist.

    Rows cannot show a fine-tuning seed's luck (a lucky seed is better on every row), and the
    pick favours lucky seeds. The picked configuration and default fine-tuning were run again
    with the same fresh seeds; :func:`storage.confirm_gain` bounds the pick's gain on those
    runs over both the rows and the seeds: passed when the bound is above 0.
    """
    from storage._bbc import confirm_gain
    from storage._predictions import trial_oof

    def runs(of: int) -> dict[int, np.ndarray]:
        found = {}
        for trial in confirmations:
            attr = trial.user_attrs[CONFIRMATION_ATTR]
            proba = trial_oof(trial)
            if attr.get("of") == of and proba is not None and not np.isnan(proba).any():
                found[int(attr.get("seed_offset", 0))] = proba
        return found

    mine, theirs = runs(picked.number), runs(default.number)
    offsets = sorted(set(mine) & set(theirs))
    if not offsets:
        return None
    result = confirm_gain(
        [mine[k] for k in offsets],
        [theirs[k] for k in offsets],
        zero_shot,
        rows.labels,
        rows.folds,
        n_boot=n_boot,
        seed=seed + 1,
        confidence=CONFIDENCE,
    )
    bound = result.lower_bound
    return {
        "seed_offsets": offsets,
        "estimate": _round(result.estimate),
        "lower_bound": _round(bound),
        "row_se": _round(result.row_se),
        "seed_sd": _round(result.seed_sd),
        "passed": bool(np.isfinite(bound) and bound > 0.0),
    }


def _select_fold_t(
    pool: list[FrozenTrial],
    best: FrozenTrial,
    default: FrozenTrial,
    selection: dict[str, Any],
) -> tuple[FrozenTrial, dict[str, Any]]:
    selection["candidate_trial"] = best.number
    if best is default:
        selection.update(
            applied=True,
            passed=None,
            chosen_trial=best.number,
            summary=f"default fine-tuning (trial {best.number}) scores best; exporting it",
        )
        return best, selection
    differences = _paired_differences(best, default)
    mean, bound, p_value = _lower_bound(differences)
    passed = bound is not None and bound > 0
    chosen = best if passed else default
    selection.update(
        applied=True,
        n_folds=len(differences),
        mean_difference=_round(mean),
        lower_bound=_round(bound),
        p_value=_round(p_value),
        passed=passed,
        chosen_trial=chosen.number,
    )
    shown = "undefined" if bound is None else f"{bound:+.3f}"
    if passed:
        selection["summary"] = (
            f"trial {best.number} beats default fine-tuning by {mean:+.3f} points "
            f"(95% lower bound {shown}, p={p_value:.3g}, {len(differences)} folds)"
        )
    else:
        selection["summary"] = (
            f"trial {best.number} is not reliably better than default fine-tuning "
            f"(mean {mean:+.3f}, 95% lower bound {shown}, {len(differences)} folds): exporting "
            f"default fine-tuning (trial {default.number})"
        )
    return chosen, selection


def _paired_differences(trial: FrozenTrial, reference: FrozenTrial) -> list[float]:
    """Per-fold normalized ROC-AUC differences on the folds both trials evaluated."""

    def by_fold(t: FrozenTrial) -> dict[int, float]:
        values = t.user_attrs.get(FOLD_SCORES_ATTR) or []
        folds = t.user_attrs.get(FOLDS_ATTR) or list(range(len(values)))
        return {int(f): float(v) for f, v in zip(folds, values)}

    a, b = by_fold(trial), by_fold(reference)
    return [a[f] - b[f] for f in sorted(set(a) & set(b))]


def _lower_bound(differences: list[float]) -> tuple[float, float | None, float | None]:
    """Mean, one-sided lower confidence bound and one-sided p-value (paired t).

    With fewer than two differences, or no spread among them, the t statistic is undefined:
    bound and p-value are ``None`` and the candidate does not pass.
    """
    from scipy import stats

    n = len(differences)
    if n == 0:
        return math.nan, None, None
    mean = sum(differences) / n
    if n < 2:
        return mean, None, None
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
    if sd <= 1e-9 * max(1.0, abs(mean)):  # no spread, up to float rounding
        return mean, None, None
    error = sd / math.sqrt(n)
    bound = mean - float(stats.t.ppf(CONFIDENCE, n - 1)) * error
    p_value = float(stats.t.sf(mean / error, n - 1))
    return mean, bound, p_value


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 6)
