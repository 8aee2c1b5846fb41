"""The short summary printed at the end of ``causalmix tune``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

__all__ = ["note_selection", "summarize"]


def summarize(study: optuna.Study, masked_url: str, artifact_dir: str | None) -> str:
    """Best normalized ROC-AUC, best parameters, and where to look next."""
    from optuna.trial import TrialState

    from storage import CONFIRMATION_ATTR

    everything = study.get_trials(deepcopy=False)
    trials = [t for t in everything if not t.user_attrs.get(CONFIRMATION_ATTR)]
    confirmations = len(everything) - len(trials)
    counts = {
        state.name.lower(): sum(t.state == state for t in trials)
        for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    }
    lines = [
        f"Study {study.study_name!r}: {counts['complete']} complete, {counts['pruned']} pruned, "
        f"{counts['fail']} failed trials"
        + (f" (and {confirmations} confirmation trials)." if confirmations else ".")
    ]
    timed_out = sum(
        t.state == TrialState.PRUNED and "pruned_reason" in t.user_attrs for t in trials
    )
    if timed_out:
        limit = study.user_attrs.get("causalmix", {}).get("discovery_timeout")
        lines.append(
            f"{timed_out} of the pruned trials ran past the discovery time limit "
            f"({limit:g} s, --discovery-timeout): their settings are too costly for this table "
            "(user attribute pruned_reason)."
        )
    completed = [t for t in trials if t.state == TrialState.COMPLETE]
    if not completed:
        lines.append("No trial completed yet.")
        return "\n".join(lines)
    best = max(
        (t for t in completed if t.value is not None),
        key=lambda t: (float(t.value), -t.number),  # type: ignore[arg-type]
    )
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
    from storage import StorageError, is_proxy_url, select_study_trial

    try:
        _, selection = select_study_trial(study)  # confirmation trials included
    except StorageError as e:
        lines.append(f"Export cannot choose a trial yet: {e}")
    else:
        note_selection(study, selection)
        lines.append(
            f"Export would choose trial {selection['chosen_trial']}: {selection['summary']}."
        )
        lines.append(f"Rule ({selection['rule']}): {selection['rule_text']}.")
    storage_flag = f"--storage '{masked_url}'"
    lines.append("Next:")
    lines.append(f"  causalmix export --study {study.study_name} {storage_flag} --out best.yaml")
    # The dashboard reads the database itself, not the storage proxy.
    dashboard_flag = (
        "--storage DATABASE_URL_OF_THE_PROXY" if is_proxy_url(masked_url) else storage_flag
    )
    dashboard = f"  causalmix dashboard {dashboard_flag}"
    if artifact_dir:
        dashboard += f" --artifact-dir {artifact_dir}"
    lines.append(dashboard)
    return "\n".join(lines)


def note_selection(study: optuna.Study, selection: dict[str, Any]) -> None:
    """Leave the selection on the dashboard's study page (the study's note)."""
    from optuna_dashboard import save_note

    lines = [
        "## Which trial export chooses",
        "",
        f"**Trial {selection.get('chosen_trial')}**: {selection.get('summary')}.",
        "",
        f"Rule ({selection.get('rule')}): {selection.get('rule_text')}.",
    ]
    if selection.get("rule") == "bbc" and selection.get("applied"):
        lines += [
            "",
            "| estimate | 95% lower bound | B | configurations | candidate | passed |",
            "|---|---|---|---|---|---|",
            f"| {selection.get('estimate')} | {selection.get('lower_bound')} | "
            f"{selection.get('n_boot')} | {selection.get('n_configs')} | "
            f"{selection.get('candidate_trial')} | {selection.get('passed')} |",
        ]
    save_note(study, "\n".join(lines))


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
