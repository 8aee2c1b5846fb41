"""Replay early-stopping rules on finished studies: how many fold fits each would have saved.

Every study's trials that saw every inner fold (references, portfolio and sampled trials; no
confirmation reruns) are replayed in trial-number order, folds in the order the objective takes
them without the Wilcoxon pruner (fold 0 first). A rule decides after each fold but the last
whether the trial would have stopped there; references are never stopped (as in the
objective). Rules:

- ``forgiving`` (Bergman et al., AutoML 2024): stop when the running mean is below the worst
  fold of the best earlier trial (``--pruner forgiving``);
- ``aggressive``: stop when the running mean is below that trial's mean (their other rule,
  shown for contrast);
- ``still``: stop when every fold so far kept the pre-trained weights (scored exactly 0: its
  early stopping never found an epoch better than epoch 0), however the other trials did;
- ``sha-2``, ``sha-3``, ``hyperband-3`` (multi-fidelity over the fine-tuning budget, with
  Optuna's own ``SuccessiveHalvingPruner`` / ``HyperbandPruner`` at reduction factor 2 or 3,
  minimum resource one epoch): where the trials recorded their learning curves
  (``fold_valid_roc_auc_curve``), each is replayed as if it had reported after every training
  epoch, at step ``fold * stride + epoch`` (``--stride``: the space's most epochs), the mean of
  its finished folds' test scores and the current fold's best early-stopping score so far
  (normalized against the pre-trained weights on the same rows, epoch 0). References report
  (their values enter the rungs) but are never stopped.

Per rule it prints the share of fold fits saved (and of fine-tuning seconds, where epochs were
timed), how often the study's best trial by mean (of those that saw every fold), or the trial
the study's selection exported, would have been stopped, and the mean loss of the best trial
left (points of normalized ROC-AUC, over the studies). A replay only sees trials that finished
every fold, so it understates what a rule saves on trials that the study's own pruner stopped.

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

BUDGET_RULES = ("sha-2", "sha-3", "hyperband-3")


@dataclasses.dataclass(frozen=True)
class Trial:
    number: int
    folds: list[float]
    reference: bool
    curves: list[list[float | None]] | None = None
    """Per fold, in the order taken: the early-stopping ROC-AUC after each epoch (0 first)."""
    seconds: list[list[float]] | None = None
    """Per fold: the seconds of each epoch."""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def still(self) -> bool:
        """Whether the trial kept the pre-trained weights on every fold."""
        return all(f == 0.0 for f in self.folds)

    @property
    def mean(self) -> float:
        return sum(self.folds) / len(self.folds)

    def seconds_after(self, fold: int, epoch: int = -1) -> float:
        """Seconds of the trial after ``epoch`` of ``fold`` (-1: from the fold's start):
        the rest of that fold and every later fold."""
        assert self.seconds is not None
        rest = self.seconds[fold][epoch + 1 :]
        return sum(rest) + sum(sum(later) for later in self.seconds[fold + 1 :])


@dataclasses.dataclass
class Replay:
    fits: int = 0
    saved: int = 0
    seconds: float = 0.0
    seconds_saved: float = 0.0
    stopped: set[int] = dataclasses.field(default_factory=set)


def stop_step(folds: list[float], incumbent: list[float] | None, rule: str) -> int | None:
    """The fold (0-based) after which ``rule`` stops a trial with these fold scores, or None."""
    from tuner import early_stop

    for step in range(len(folds) - 1):
        if rule == "still":
            if all(f == 0.0 for f in folds[: step + 1]):
                return step
            continue
        if early_stop(sum(folds[: step + 1]) / (step + 1), incumbent, rule):
            return step
    return None


def replay(trials: list[Trial], rule: str) -> Replay:
    """Replay ``rule`` over one study's full trials, in order."""
    incumbent: Trial | None = None
    result = Replay()
    for trial in trials:
        result.fits += len(trial.folds)
        if trial.seconds is not None:
            result.seconds += trial.seconds_after(0)
        step = None
        if not trial.reference:
            step = stop_step(trial.folds, None if incumbent is None else incumbent.folds, rule)
        if step is not None:
            result.saved += len(trial.folds) - (step + 1)
            if trial.seconds is not None:
                result.seconds_saved += trial.seconds_after(step + 1)
            result.stopped.add(trial.number)
            continue  # a stopped trial never becomes the incumbent
        if incumbent is None or trial.mean > incumbent.mean:
            incumbent = trial
    return result


def _pruner(rule: str, max_resource: int) -> Any:
    import optuna

    kind, factor = rule.rsplit("-", 1)
    if kind == "sha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=int(factor))
    return optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=max_resource, reduction_factor=int(factor)
    )


def _valid_gain(curve: list[float | None], epoch: int) -> float:
    """Normalized ROC-AUC (%) of the best early-stopping score up to ``epoch`` against epoch
    0 (the pre-trained weights on the same rows); 0 where epoch 0 was not scored."""
    from tuner import epoch_value

    return epoch_value([], curve[: epoch + 1])


def replay_budget(trials: list[Trial], rule: str, stride: int) -> Replay:
    """Replay a multi-fidelity pruner over the fine-tuning budget (one of ``BUDGET_RULES``)
    on one study's trials, in order, with Optuna's own pruner on an in-memory study."""
    import optuna

    from tuner import epoch_value

    if any(t.curves is None or t.seconds is None for t in trials):
        raise ValueError("every trial needs its learning curves (fold_valid_roc_auc_curve)")
    pruner = _pruner(rule, stride * max(len(t.folds) for t in trials))
    study = optuna.create_study(direction="maximize", pruner=pruner, study_name="replay")
    result = Replay()
    for trial in trials:
        assert trial.curves is not None
        n_folds = len(trial.folds)
        result.fits += n_folds
        result.seconds += trial.seconds_after(0)
        live = study.ask()
        stopped = None
        for fold, curve in enumerate(trial.curves):
            for epoch in range(1, len(curve)):
                # What the objective reports under --pruner hyperband.
                value = epoch_value(trial.folds[:fold], curve[: epoch + 1])
                live.report(value, fold * stride + epoch)
                # A reference reports (its values enter the rungs) but is never stopped.
                if live.should_prune() and not trial.reference:
                    stopped = (fold, epoch)
                    break
            if stopped is not None:
                break
        if stopped is None:
            study.tell(live, trial.mean)
            continue
        fold, epoch = stopped
        study.tell(live, state=optuna.trial.TrialState.PRUNED)
        result.stopped.add(trial.number)
        result.saved += n_folds - (fold + 1)
        result.seconds_saved += trial.seconds_after(fold, epoch)
    return result


def signal_rows(name: str, trials: list[Trial]) -> dict[str, Any]:
    """How well what a pruner sees early predicts a trial's mean over every fold: Spearman's
    rho, over the study's trials, of the mean with fold 0's best early-stopping gain after
    epoch 1, after its last epoch, and with fold 0's test score (what the fold rules see)."""
    from scipy.stats import spearmanr

    means = [t.mean for t in trials]

    def rho(values: list[float]) -> float:
        if len(set(values)) < 2 or len(set(means)) < 2:
            return float("nan")
        return round(float(spearmanr(values, means).statistic), 2)

    curves = [t.curves[0] for t in trials if t.curves is not None]
    timed = len(curves) == len(trials)
    return {
        "study": name,
        "trials": len(trials),
        "rho epoch 1": rho([_valid_gain(c, 1) for c in curves]) if timed else "",
        "rho fold 0's last epoch": rho([_valid_gain(c, len(c) - 1) for c in curves])
        if timed
        else "",
        "rho fold 0 test": rho([t.folds[0] for t in trials]),
    }


def still_rows(name: str, trials: list[Trial]) -> dict[str, Any]:
    """The trials that kept the pre-trained weights on every fold: how many, their share of the
    study's fine-tuning seconds, their learning rates against those of the trials that moved,
    and whether the study's best trial (by mean) is one of them."""
    still = [t for t in trials if t.still]
    moved = [t for t in trials if not t.still]
    timed = all(t.seconds is not None for t in trials)
    total = sum(t.seconds_after(0) for t in trials) if timed else 0.0

    def rates(group: list[Trial], most: int | None = None) -> str:
        values = sorted(t.params["learning_rate"] for t in group if "learning_rate" in t.params)
        return " ".join(f"{v:.1e}" for v in values[:most])

    best = max(trials, key=lambda t: t.mean)
    return {
        "study": name,
        "trials": len(trials),
        "still": len(still),
        "share of seconds": round(sum(t.seconds_after(0) for t in still) / total, 3)
        if total
        else "",
        "best is still": best.still,
        "still: learning rates": rates(still),
        "moved: lowest learning rates": rates(moved, most=3),
    }


def _curves(trial: Any, n_folds: int) -> tuple[list[list[float | None]], list[list[float]]] | None:
    """A trial's learning curves and epoch seconds, folds in the order the objective takes
    them without the Wilcoxon pruner (fold 0 first); ``None`` where they were not recorded."""
    from tuner import EPOCH_SECONDS_ATTR, VALID_CURVE_ATTR

    curves = trial.user_attrs.get(VALID_CURVE_ATTR)
    seconds = trial.user_attrs.get(EPOCH_SECONDS_ATTR)
    keys = [str(k) for k in range(n_folds)]
    if not curves or not seconds or any(k not in curves or k not in seconds for k in keys):
        return None
    return (
        [list(curves[k]) for k in keys],
        [[float(v or 0.0) for v in seconds[k]] for k in keys],
    )


def _study_trials(study: Any) -> list[Trial]:
    from optuna.trial import TrialState

    from storage import CONFIRMATION_ATTR, REFERENCE_ATTR
    from tuner import FOLD_SCORES_ATTR

    n_folds = max((len(t.user_attrs.get(FOLD_SCORES_ATTR) or []) for t in study.trials), default=0)
    trials = []
    for trial in study.trials:
        folds = trial.user_attrs.get(FOLD_SCORES_ATTR) or []
        if trial.state != TrialState.COMPLETE or trial.user_attrs.get(CONFIRMATION_ATTR):
            continue
        if len(folds) == n_folds >= 2:
            reference = bool(trial.user_attrs.get(REFERENCE_ATTR))
            recorded = _curves(trial, n_folds)
            curves, seconds = recorded if recorded is not None else (None, None)
            trials.append(
                Trial(
                    trial.number,
                    [float(f) for f in folds],
                    reference,
                    curves,
                    seconds,
                    dict(trial.params),
                )
            )
    return trials


def main(argv: list[str] | None = None) -> None:
    import optuna

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", nargs="+", required=True, help="study database URLs")
    parser.add_argument("--exported", nargs="*", default=[], help="best.yaml files (optional)")
    parser.add_argument(
        "--stride", type=int, default=8, help="steps per fold for the budget rules (most epochs)"
    )
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
    timed = [(n, t) for n, t in studies if all(trial.curves is not None for trial in t)]
    rows = []
    for rule in ("forgiving", "aggressive", "still", *BUDGET_RULES):
        budget = rule in BUDGET_RULES
        fits = saved = best_stopped = exported_stopped = n_exported = 0
        seconds = seconds_saved = loss = 0.0
        replayed = timed if budget else studies
        for name, trials in replayed:
            result = replay_budget(trials, rule, args.stride) if budget else replay(trials, rule)
            fits, saved = fits + result.fits, saved + result.saved
            seconds, seconds_saved = seconds + result.seconds, seconds_saved + result.seconds_saved
            best = max(trials, key=lambda t: t.mean)
            best_stopped += best.number in result.stopped
            left = [t.mean for t in trials if t.number not in result.stopped]
            loss += best.mean - max(left)
            if name in exported:
                n_exported += 1
                exported_stopped += exported[name] in result.stopped
        rows.append(
            {
                "rule": rule,
                "studies": len(replayed),
                "fold fits": fits,
                "share saved": round(saved / max(fits, 1), 3),
                "seconds saved": round(seconds_saved / seconds, 3) if seconds else "",
                "best trial stopped": f"{best_stopped} of {len(replayed)}",
                "best left, loss (pp)": round(loss / max(len(replayed), 1), 3),
                "exported trial stopped": f"{exported_stopped} of {n_exported}",
            }
        )
    print(format_table(rows))
    print()
    print(format_table([signal_rows(name, trials) for name, trials in studies]))
    print()
    print(format_table([still_rows(name, trials) for name, trials in studies]))


if __name__ == "__main__":
    main()
