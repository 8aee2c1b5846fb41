"""Which trial a study exports: the best one only when it beats default fine-tuning reliably.

Picking the maximum of noisy inner-CV scores overfits the inner folds (the winner's curse). So
the best completed trial is exported only if, paired fold by fold against the study's
default-fine-tuning reference trial (``reference == "default_ft"``, trial 0 of a new study), the
one-sided 95 % lower confidence bound of the mean difference in normalized ROC-AUC is above 0
(a paired t bound over the inner folds). Otherwise the export falls back to the best reference
trial and says so. Without a default-fine-tuning reference (``--no-references``, or a study
from before references) the best trial is exported and the selection says that no rule applied.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = ["CONFIDENCE", "REFERENCE_ATTR", "select_trial"]

REFERENCE_ATTR = "reference"
"""The user attribute naming a reference trial (the tuner writes it on the trials it enqueues)."""

CONFIDENCE = 0.95
"""One-sided confidence of the lower bound."""

RULE = (
    "export the best trial only if the one-sided 95% lower confidence bound of its mean paired "
    "per-fold difference in normalized ROC-AUC against the default fine-tuning reference is "
    "above 0 (paired t over the inner folds); otherwise the best reference trial"
)


def select_trial(completed: list[FrozenTrial]) -> tuple[FrozenTrial, dict[str, Any]]:
    """The trial to export among completed ones, and the record of how it was chosen.

    Args:
        completed: Completed trials with a value (at least one).

    Returns:
        ``(trial, selection)``; ``selection`` holds the rule, the candidate (best) and reference
        trial numbers, the number of paired folds, the mean difference, its lower bound, the
        one-sided p-value, whether the candidate passed, the chosen trial and a sentence.
    """
    best = max(completed, key=lambda t: (float(t.value), -t.number))  # type: ignore[arg-type]
    references = [t for t in completed if t.user_attrs.get(REFERENCE_ATTR)]
    default = next(
        (t for t in references if t.user_attrs.get(REFERENCE_ATTR) == "default_ft"), None
    )
    selection: dict[str, Any] = {"rule": RULE, "candidate_trial": best.number}
    if default is None:
        selection.update(
            applied=False,
            chosen_trial=best.number,
            summary="no default fine-tuning reference trial in the study: the best trial, "
            "without the reference comparison",
        )
        return best, selection
    selection["reference_trial"] = default.number
    if best.user_attrs.get(REFERENCE_ATTR):
        selection.update(
            applied=True,
            passed=None,
            chosen_trial=best.number,
            summary=f"the best trial is the {best.user_attrs[REFERENCE_ATTR]} reference",
        )
        return best, selection
    differences = _paired_differences(best, default)
    mean, bound, p_value = _lower_bound(differences)
    passed = bound is not None and bound > 0
    fallback = max(references, key=lambda t: (float(t.value), -t.number))  # type: ignore[arg-type]
    chosen = best if passed else fallback
    selection.update(
        applied=True,
        n_folds=len(differences),
        mean_difference=_round(mean),
        lower_bound=_round(bound),
        p_value=_round(p_value),
        passed=passed,
        chosen_trial=chosen.number,
    )
    if passed:
        selection["summary"] = (
            f"trial {best.number} beats default fine-tuning by {mean:+.3f} points "
            f"(95% lower bound {bound:+.3f}, p={p_value:.3g}, {len(differences)} folds)"
        )
    else:
        shown = "n/a" if bound is None else f"{bound:+.3f}"
        selection["summary"] = (
            f"trial {best.number} is not reliably better than default fine-tuning "
            f"(mean {mean:+.3f}, 95% lower bound {shown}, {len(differences)} folds): exporting "
            f"the best reference, {fallback.user_attrs[REFERENCE_ATTR]} (trial {fallback.number})"
        )
    return chosen, selection


def _paired_differences(trial: FrozenTrial, reference: FrozenTrial) -> list[float]:
    """Per-fold normalized ROC-AUC differences on the folds both trials evaluated."""

    def by_fold(t: FrozenTrial) -> dict[int, float]:
        values = t.user_attrs.get("fold_normalized_roc_auc") or []
        folds = t.user_attrs.get("folds_evaluated") or list(range(len(values)))
        return {int(f): float(v) for f, v in zip(folds, values)}

    a, b = by_fold(trial), by_fold(reference)
    return [a[f] - b[f] for f in sorted(set(a) & set(b))]


def _lower_bound(differences: list[float]) -> tuple[float, float | None, float | None]:
    """Mean, one-sided lower confidence bound and one-sided p-value (paired t)."""
    from scipy import stats

    n = len(differences)
    if n == 0:
        return math.nan, None, None
    mean = sum(differences) / n
    if n < 2:
        return mean, None, None
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
    if sd == 0.0:
        return mean, mean, 0.0 if mean > 0 else 1.0
    error = sd / math.sqrt(n)
    bound = mean - float(stats.t.ppf(CONFIDENCE, n - 1)) * error
    p_value = float(stats.t.sf(mean / error, n - 1))
    return mean, bound, p_value


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 6)
