"""The short summary printed at the end of ``causalmix tune``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

__all__ = ["summarize"]


def summarize(study: optuna.Study, masked_url: str, artifact_dir: str | None) -> str:
    """Best normalized ROC-AUC, best parameters, and where to look next."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {
        state.name.lower(): sum(t.state == state for t in trials)
        for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    }
    lines = [
        f"Study {study.study_name!r}: {counts['complete']} complete, {counts['pruned']} pruned, "
        f"{counts['fail']} failed trials."
    ]
    completed = [t for t in trials if t.state == TrialState.COMPLETE]
    if not completed:
        lines.append("No trial completed yet.")
        return "\n".join(lines)
    best = study.best_trial
    settings = study.user_attrs.get("causalmix", {})
    zero_shot = settings.get("zero_shot_roc_auc") or []
    zero_shot_mean = sum(zero_shot) / len(zero_shot) if zero_shot else float("nan")
    from storage import REFERENCE_ATTR
    from tuner._references import PORTFOLIO_ATTR

    origin = ""
    if best.user_attrs.get(REFERENCE_ATTR):
        origin = f" (the {best.user_attrs[REFERENCE_ATTR]} reference)"
    elif best.user_attrs.get(PORTFOLIO_ATTR):
        origin = f" (portfolio configuration {best.user_attrs[PORTFOLIO_ATTR]})"
    lines.append(
        f"Best trial {best.number}{origin}: normalized ROC-AUC {best.value:+.3f}% "
        f"(ROC-AUC {best.user_attrs.get('roc_auc', float('nan')):.4f} vs zero-shot "
        f"{zero_shot_mean:.4f})."
    )
    if best.params:
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(best.params.items()))
        lines.append(f"Best parameters: {shown}")
    from storage import select_trial

    _, selection = select_trial([t for t in completed if t.value is not None])
    lines.append(f"Export would choose trial {selection['chosen_trial']}: {selection['summary']}.")
    storage_flag = f"--storage '{masked_url}'"
    lines.append("Next:")
    lines.append(f"  causalmix export --study {study.study_name} {storage_flag} --out best.yaml")
    dashboard = f"  causalmix dashboard {storage_flag}"
    if artifact_dir:
        dashboard += f" --artifact-dir {artifact_dir}"
    lines.append(dashboard)
    return "\n".join(lines)


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
