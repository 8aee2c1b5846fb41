"""Replay early-stopping rules on finished studies: how many fold fits each would have saved.

Every study's trials that saw every inner fold (references, portfolio and sampled trials; no
confirmation reruns) are replayed in trial-number order, folds in the order the objective takes
them without the Wilcoxon pruner (fold 0 first). A rule decides after each fold but the last
whether the trial would have stopped there; references are never stopped (as in the
objective). Rules:

- ``forgiving`` (Bergman et al., AutoML 2024): stop when the running mean is below the worst
  fold of the best earlier trial (``--pruner forgiving``);
- ``aggressive``: stop when the running mean is below that trial's mean (their other rule,
  shown for contrast).

Per rule it prints the share of fold fits saved and how often the study's best trial by mean
(of those that saw every fold), or the trial the study's selection exported, would have been
stopped. A replay only sees trials that finished every fold, so it understates what a rule
saves on trials that the study's own pruner stopped.

Example:
    python benchmarks/pruning_replay.py --storage sqlite:///out/bench/studies.db
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _suite import format_table  # noqa: E402

FOLDS_ATTR = "fold_normalized_roc_auc"


@dataclasses.dataclass(frozen=True)
class Trial:
    number: int
    folds: list[float]
    reference: bool

    @property
    def mean(self) -> float:
        return sum(self.folds) / len(self.folds)


@dataclasses.dataclass
class Replay:
    fits: int = 0
    saved: int = 0
    stopped: set[int] = dataclasses.field(default_factory=set)


def stop_step(folds: list[float], incumbent: list[float] | None, rule: str) -> int | None:
    """The fold (0-based) after which ``rule`` stops a trial with these fold scores, or None."""
    from tuner import early_stop

    for step in range(len(folds) - 1):
        if early_stop(sum(folds[: step + 1]) / (step + 1), incumbent, rule):
            return step
    return None


def replay(trials: list[Trial], rule: str) -> Replay:
    """Replay ``rule`` over one study's full trials, in order."""
    incumbent: Trial | None = None
    result = Replay()
    for trial in trials:
        result.fits += len(trial.folds)
        step = None
        if not trial.reference:
            step = stop_step(trial.folds, None if incumbent is None else incumbent.folds, rule)
        if step is not None:
            result.saved += len(trial.folds) - (step + 1)
            result.stopped.add(trial.number)
            continue  # a stopped trial never becomes the incumbent
        if incumbent is None or trial.mean > incumbent.mean:
            incumbent = trial
    return result


def _study_trials(study: Any) -> list[Trial]:
    from optuna.trial import TrialState

    from storage import CONFIRMATION_ATTR, REFERENCE_ATTR

    n_folds = max((len(t.user_attrs.get(FOLDS_ATTR) or []) for t in study.trials), default=0)
    trials = []
    for trial in study.trials:
        folds = trial.user_attrs.get(FOLDS_ATTR) or []
        if trial.state != TrialState.COMPLETE or trial.user_attrs.get(CONFIRMATION_ATTR):
            continue
        if len(folds) == n_folds >= 2:
            reference = bool(trial.user_attrs.get(REFERENCE_ATTR))
            trials.append(Trial(trial.number, [float(f) for f in folds], reference))
    return trials


def main(argv: list[str] | None = None) -> None:
    import optuna

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", nargs="+", required=True, help="study database URLs")
    parser.add_argument("--exported", nargs="*", default=[], help="best.yaml files (optional)")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    exported: dict[str, int] = {}
    for path in args.exported:
        import yaml

        document = yaml.safe_load(Path(path).read_text())
        chosen = (document.get("selection") or {}).get("chosen_trial")
        if chosen is not None:
            exported[str(document.get("study"))] = int(chosen)
    studies = []
    for url in args.storage:
        for summary in optuna.get_all_study_summaries(url):
            study = optuna.load_study(study_name=summary.study_name, storage=url)
            trials = _study_trials(study)
            if len(trials) >= 3:
                studies.append((summary.study_name, trials))
    rows = []
    for rule in ("forgiving", "aggressive"):
        fits = saved = best_stopped = exported_stopped = n_exported = 0
        for name, trials in studies:
            result = replay(trials, rule)
            fits, saved = fits + result.fits, saved + result.saved
            best = max(trials, key=lambda t: t.mean)
            best_stopped += best.number in result.stopped
            if name in exported:
                n_exported += 1
                exported_stopped += exported[name] in result.stopped
        rows.append(
            {
                "rule": rule,
                "studies": len(studies),
                "fold fits": fits,
                "share saved": round(saved / max(fits, 1), 3),
                "best trial stopped": f"{best_stopped} of {len(studies)}",
                "exported trial stopped": f"{exported_stopped} of {n_exported}",
            }
        )
    print(format_table(rows))


if __name__ == "__main__":
    main()
