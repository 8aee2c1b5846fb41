"""The tuning objective: mean normalized ROC-AUC of CausalMixFT over K inner folds."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from storage._selection import FOLD_SCORES_ATTR, FOLDS_ATTR
from tuner._pipeline import TrainingRun, train_causalmixft, train_causalmixft_folds
from tuner._references import note_reference
from tuner._settings import StudySettings

if TYPE_CHECKING:
    import optuna
    from optuna.artifacts import FileSystemArtifactStore

    from causalmix import BaseCache
    from search_spaces import SearchSpace
    from tabfm import BaseBackend, FineTunedClassifier

__all__ = [
    "EPOCH_SECONDS_ATTR",
    "VALID_CURVE_ATTR",
    "Fold",
    "Objective",
    "ZeroShot",
    "epoch_value",
    "fold_ids",
    "make_folds",
    "oof_proba",
    "zero_shot_scores",
]

_logger = logging.getLogger(__name__)

SEED_STRIDE = 1000
"""A confirmation trial with ``seed_offset`` k trains each fold with seed ``seed + fold + k *
SEED_STRIDE`` (no other trial's fold uses those)."""

VALID_CURVE_ATTR = "fold_valid_roc_auc_curve"
"""Per fold id, the early-stopping split's ROC-AUC after each epoch (epoch 0 first)."""

EPOCH_SECONDS_ATTR = "fold_epoch_seconds"
"""Per fold id, the seconds of each epoch (epoch 0: validating the pre-trained weights)."""


def epoch_value(finished: Sequence[float], curve: Sequence[float | None]) -> float:
    """What a trial reports after an epoch to a pruner over the fine-tuning budget: the mean,
    over the folds taken so far, of the finished folds' normalized test scores (``finished``)
    and the current fold's best early-stopping gain, in %, of its ``curve`` so far (the
    early-stopping ROC-AUC after each epoch, epoch 0 = the pre-trained weights first; no gain
    where epoch 0 was not scored). ``benchmarks/pruning_replay.py`` replays the same."""
    base = curve[0] if curve else None
    gain = 0.0
    if base:
        best = max((a for a in curve if a is not None), default=base)
        gain = 100.0 * (best / base - 1.0)
    return (sum(finished) + gain) / (len(finished) + 1)


class _BudgetStop(Exception):
    """Raised from a fold's epoch callback when the pruner over the fine-tuning budget stops
    the trial (caught by the objective, which then prunes the trial)."""


class _EpochReporter:
    """Reports a trial's progress after every training epoch, for a pruner over the
    fine-tuning budget (Hyperband): :func:`epoch_value` at step ``position * stride + epoch``.

    Args:
        trial: The trial.
        stride: Steps per fold: the most epochs the space allows.
        finished: The normalized test scores of the folds finished so far (filled by the
            objective as folds finish).
        stop: Whether the trial may be stopped (references only report).
        last_step: The step of the last fold's last epoch: never stopped there, since nothing
            is left to save.
    """

    def __init__(
        self,
        trial: optuna.Trial,
        stride: int,
        finished: dict[int, float],
        stop: bool,
        last_step: int,
    ) -> None:
        self.trial = trial
        self.stride = stride
        self.finished = finished
        self.stop = stop
        self.last_step = last_step
        self.position = 0
        self.curve: list[float | None] = []

    def start_fold(self, position: int) -> None:
        self.position, self.curve = position, []

    def __call__(self, epoch: int, metrics: dict[str, Any]) -> None:
        self.curve.append(_finite(metrics.get("valid_roc_auc"), digits=12))
        if epoch == 0:
            return
        value = epoch_value(list(self.finished.values()), self.curve)
        step = self.position * self.stride + epoch
        self.trial.report(value, step)
        if self.stop and step < self.last_step and self.trial.should_prune():
            raise _BudgetStop(f"epoch {epoch} of fold {self.position + 1}")


def _finite(value: Any, digits: int = 6) -> float | None:
    """``value`` rounded, or ``None`` where it is missing or not finite (JSON has no NaN)."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


@dataclass(frozen=True)
class Fold:
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    test_index: np.ndarray
    """Positions of the held-out rows in the study's row order (for the OOF predictions)."""


def make_folds(X: pd.DataFrame, y: pd.Series, n_folds: int, seed: int) -> list[Fold]:
    """Stratified inner folds of the training data, seeded."""
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds = []
    for train, test in splitter.split(np.zeros(len(y)), y):
        folds.append(
            Fold(
                X.iloc[train].reset_index(drop=True),
                y.iloc[train].reset_index(drop=True),
                X.iloc[test].reset_index(drop=True),
                y.iloc[test].reset_index(drop=True),
                np.asarray(test),
            )
        )
    return folds


def fold_ids(folds: list[Fold]) -> np.ndarray:
    """``(n,)`` the inner fold whose held-out part holds each row (study row order)."""
    ids = np.full(sum(len(f.test_index) for f in folds), -1, dtype=np.int64)
    for number, fold in enumerate(folds):
        ids[fold.test_index] = number
    return ids


def oof_proba(folds: list[Fold], n_classes: int, probas: dict[int, np.ndarray]) -> np.ndarray:
    """The OOF probability matrix ``(n, n_classes)`` from per-fold held-out probabilities;
    rows of folds missing from ``probas`` are NaN."""
    oof = np.full((sum(len(f.test_index) for f in folds), n_classes), np.nan)
    for number, proba in probas.items():
        oof[folds[number].test_index] = proba
    return oof


@dataclass(frozen=True)
class ZeroShot:
    """The pre-trained model on the inner folds.

    Attributes:
        scores: ROC-AUC per fold (context = the fold's training rows).
        oof: ``(n, n_classes)`` its held-out probabilities, study row order.
        labels: ``(n,)`` each row's class as an index into the columns of ``oof``.
    """

    scores: list[float]
    oof: np.ndarray
    labels: np.ndarray


def zero_shot_scores(backend: BaseBackend, folds: list[Fold]) -> ZeroShot:
    """Evaluate the pre-trained model on each fold (context = the fold's training rows)."""
    from tabfm import make_classifier, roc_auc

    scores = []
    probas = {}
    classes = np.asarray([])
    labels = np.full(sum(len(f.test_index) for f in folds), -1, dtype=np.int64)
    for number, fold in enumerate(folds):
        classifier = make_classifier(backend).fit(fold.X_train, fold.y_train)
        proba = classifier.predict_proba(fold.X_test)
        classes = np.asarray(classifier.classes_)
        scores.append(float(roc_auc(fold.y_test, proba, classes)))
        probas[number] = np.asarray(proba, dtype=np.float64)
        lookup = {label: index for index, label in enumerate(classes.tolist())}
        labels[fold.test_index] = [lookup[v] for v in fold.y_test.tolist()]
    return ZeroShot(scores, oof_proba(folds, len(classes), probas), labels)


class Objective:
    """Evaluates one trial: CausalMixFT on each inner fold, normalized against zero-shot.

    Per fold, the sampled augmentation is fitted on the fold's training rows (minus an
    early-stopping split), the model is fine-tuned, and the held-out fold is scored. The
    normalized ROC-AUC is reported after each fold so that the pruner can stop a hopeless trial
    early; the trial's value is the mean over folds.
    """

    def __init__(
        self,
        settings: StudySettings,
        space: SearchSpace,
        folds: list[Fold],
        backend: BaseBackend,
        *,
        baseline: list[float],
        cache: BaseCache | None = None,
        artifact_store: FileSystemArtifactStore | None = None,
    ) -> None:
        if len(baseline) != len(folds):
            raise ValueError("zero-shot scores must be computed for every fold first")
        self.settings = settings
        self.baseline = list(baseline)
        self.space = space
        self.folds = folds
        self.backend = backend
        self.cache = cache
        self.artifact_store = artifact_store

    def __call__(self, trial: optuna.Trial) -> float:
        import optuna

        from causalmix import DiscoveryTimeoutError
        from storage import CONFIRMATION_ATTR, REFERENCE_ATTR
        from tabfm import normalized_roc_auc, roc_auc

        settings = self.settings
        note_reference(trial)
        # A confirmation trial reruns a configuration with fresh fine-tuning seeds, on every
        # fold (never pruned).
        confirmation = trial.user_attrs.get(CONFIRMATION_ATTR) or {}
        reference = bool(trial.user_attrs.get(REFERENCE_ATTR))
        seed_offset = SEED_STRIDE * int(confirmation.get("seed_offset", 0))
        config = self.space.suggest(trial)
        trial.set_user_attr("config", config)
        timings: dict[str, float] = defaultdict(float)
        fold_auc: dict[int, float] = {}
        fold_normalized: dict[int, float] = {}
        n_edges: list[float] = []
        n_synthetic = 0
        histories: dict[int, list[dict[str, Any]]] = {}
        probas: dict[int, np.ndarray] = {}
        n_classes = 0
        wilcoxon = settings.resolved_pruner == "wilcoxon"
        # Hyperband judges every epoch (one epoch the unit of budget); the fold-level reports
        # below are then left out, so that the steps stay one scale. Folds trained together
        # have no epochs of their own to judge, and a confirmation is never compared: they
        # report nothing.
        per_epoch = settings.resolved_pruner == "hyperband"
        reporter = None
        if per_epoch and not settings.fold_batching and not confirmation:
            stride = int(self.space.largest("epochs"))
            last_step = (len(self.folds) - 1) * stride + int(config["epochs"])
            reporter = _EpochReporter(
                trial, stride, fold_normalized, stop=not reference, last_step=last_step
            )
        # The Wilcoxon pruner pairs folds by id, so the order can change per trial (a pruned
        # trial has then not always seen the same folds); the median pruner compares running
        # means step by step, which only means something when every trial takes the folds in
        # the same order.
        if wilcoxon:
            order = np.random.default_rng(settings.seed + trial.number).permutation(
                len(self.folds)
            )
        else:
            order = np.arange(len(self.folds))
        # The OOF predictions are written once, when the trial completes or is pruned; a trial
        # that fails (or a worker killed mid-trial) leaves none.
        keep_predictions = False
        try:
            trained = self._train(order.tolist(), config, seed_offset, reporter)
            for step, (fold_index, (classifier, run)) in enumerate(trained):
                fold = self.folds[fold_index]
                for stage, seconds in run.timings.items():
                    timings[stage] += seconds
                start = time.perf_counter()
                proba = classifier.predict_proba(fold.X_test)
                auc = float(roc_auc(fold.y_test, proba, classifier.classes_))
                probas[fold_index] = np.asarray(proba, dtype=np.float64)
                n_classes = len(classifier.classes_)
                timings["evaluation"] += time.perf_counter() - start
                fold_auc[fold_index] = auc
                fold_normalized[fold_index] = float(
                    normalized_roc_auc(auc, self.baseline[fold_index])
                )
                histories[fold_index] = run.history
                n_synthetic += run.n_synthetic
                if run.augmenter is not None:
                    n_edges.extend(float(n) for n in run.augmenter.n_edges_)
                    if step == 0:
                        timings["storage"] += self._upload_artifacts(trial, run)
                if per_epoch:
                    continue  # judged after every epoch instead
                self._report(trial, step, fold_index, fold_normalized)
                # References are what selection compares every pick with: never cut short;
                # and trials whose folds trained together have nothing left to save.
                cut = step + 1 < len(self.folds) and not settings.fold_batching
                if cut and not confirmation and not reference and trial.should_prune():
                    trial.set_user_attr("pruned_after_folds", step + 1)
                    if wilcoxon:
                        # Optuna's advice for the Wilcoxon pruner: end the trial with the mean
                        # of the folds it saw, so that the sampler learns from it. Selection
                        # leaves such a trial out: it has not seen every row.
                        break
                    keep_predictions = True
                    raise optuna.TrialPruned(f"pruned after {step + 1} of {len(self.folds)} folds")
            keep_predictions = True
        except _BudgetStop as stop:
            # Stopped mid-fold: the folds finished keep their predictions; selection leaves
            # the trial out, since it has not predicted every row.
            trial.set_user_attr("pruned_after_folds", len(fold_normalized))
            trial.set_user_attr("pruned_at", str(stop))
            keep_predictions = True
            raise optuna.TrialPruned(f"pruned at {stop}") from None
        except DiscoveryTimeoutError as error:
            # Valid settings, too costly for this table: pruned (not failed) so that the
            # sampler learns to avoid them, and the worker goes on.
            reason = f"{error} (the study's discovery_timeout)"
            _logger.warning("Trial %d pruned: %s", trial.number, reason)
            trial.set_user_attr("pruned_reason", reason)
            trial.set_user_attr("pruned_after_folds", len(fold_normalized))
            keep_predictions = True
            raise optuna.TrialPruned(reason) from None
        finally:
            start = time.perf_counter()
            self._record(
                trial, timings, fold_auc, fold_normalized, n_edges, n_synthetic, histories
            )
            if keep_predictions and probas:
                from storage import save_trial_oof

                save_trial_oof(trial, oof_proba(self.folds, n_classes, probas))
            timings["storage"] += time.perf_counter() - start
            trial.set_user_attr("timings", {k: round(v, 4) for k, v in timings.items()})
        return float(np.mean(list(fold_normalized.values())))

    def _train(
        self,
        order: list[int],
        config: dict[str, Any],
        seed_offset: int,
        reporter: _EpochReporter | None = None,
    ) -> Iterator[tuple[int, tuple[FineTunedClassifier, TrainingRun]]]:
        """Train the folds in ``order``: one by one (each as it is needed, so that a pruned
        trial trains no more; ``reporter`` hears every epoch), or all together under
        ``fold_batching``."""
        settings = self.settings
        seeds = [settings.seed + fold_index + seed_offset for fold_index in order]
        if settings.fold_batching:
            folds = [
                (self.folds[fold_index].X_train, self.folds[fold_index].y_train, seed)
                for fold_index, seed in zip(order, seeds, strict=True)
            ]
            results = train_causalmixft_folds(
                self.backend,
                folds,
                config,
                valid_fraction=settings.valid_fraction,
                device=settings.device,
                cache=self.cache,
                discovery_timeout=settings.discovery_timeout,
            )
            yield from zip(order, results, strict=True)
            return
        for position, (fold_index, seed) in enumerate(zip(order, seeds, strict=True)):
            fold = self.folds[fold_index]
            if reporter is not None:
                reporter.start_fold(position)
            yield (
                fold_index,
                train_causalmixft(
                    self.backend,
                    fold.X_train,
                    fold.y_train,
                    config,
                    seed=seed,
                    valid_fraction=settings.valid_fraction,
                    device=settings.device,
                    cache=self.cache,
                    discovery_timeout=settings.discovery_timeout,
                    on_epoch=reporter,
                ),
            )

    def _report(
        self, trial: optuna.Trial, step: int, fold_index: int, normalized: dict[int, float]
    ) -> None:
        if self.settings.resolved_pruner == "wilcoxon":
            # The Wilcoxon pruner pairs per-instance values across trials: step = fold id.
            trial.report(normalized[fold_index], fold_index)
        else:
            trial.report(float(np.mean(list(normalized.values()))), step)

    def _record(
        self,
        trial: optuna.Trial,
        timings: dict[str, float],
        fold_auc: dict[int, float],
        fold_normalized: dict[int, float],
        n_edges: list[float],
        n_synthetic: int,
        histories: dict[int, list[dict[str, Any]]],
    ) -> None:
        folds = sorted(fold_auc)
        trial.set_user_attr("fold_roc_auc", [round(fold_auc[f], 6) for f in folds])
        trial.set_user_attr(FOLD_SCORES_ATTR, [round(fold_normalized[f], 6) for f in folds])
        trial.set_user_attr(FOLDS_ATTR, folds)
        if fold_auc:
            trial.set_user_attr("roc_auc", round(float(np.mean(list(fold_auc.values()))), 6))
        trial.set_user_attr("n_edges_mean", round(float(np.mean(n_edges)), 3) if n_edges else 0.0)
        trial.set_user_attr("n_synthetic_rows", n_synthetic)
        trial.set_user_attr("device", self.backend.device_name)
        # The baseline this trial was normalized against (the zero-shot model on its device).
        trial.set_user_attr("zero_shot_fold_roc_auc", [round(v, 6) for v in self.baseline])
        trial.set_user_attr(
            "epochs_run", {str(f): max(0, len(h) - 1) for f, h in sorted(histories.items())}
        )
        # The learning curves, epoch 0 (the pre-trained weights) first: what a pruner over the
        # fine-tuning budget sees (benchmarks/pruning_replay.py replays them), and what the
        # dashboard shows for a trial that stopped early or never left epoch 0.
        trial.set_user_attr(
            VALID_CURVE_ATTR,
            {str(f): [_finite(r.get("valid_roc_auc")) for r in h] for f, h in histories.items()},
        )
        trial.set_user_attr(
            EPOCH_SECONDS_ATTR,
            {str(f): [_finite(r.get("seconds"), 3) for r in h] for f, h in histories.items()},
        )

    def _upload_artifacts(self, trial: optuna.Trial, run: Any) -> float:
        if self.artifact_store is None:
            return 0.0
        from storage import csv_preview, dag_png, edge_probability_png, upload_trial_artifact

        start = time.perf_counter()
        augmenter = run.augmenter
        P = augmenter.edge_probabilities_
        upload_trial_artifact(
            self.artifact_store,
            trial,
            "edge_probabilities.png",
            edge_probability_png(P),
            "image/png",
        )
        upload_trial_artifact(
            self.artifact_store,
            trial,
            "dag_0.png",
            dag_png(augmenter.dags_[0], P, target=self.settings.target),
            "image/png",
        )
        X_syn, y_syn = run.synthetic
        preview = X_syn.assign(**{self.settings.target: y_syn.to_numpy()})
        upload_trial_artifact(
            self.artifact_store, trial, "synthetic_preview.csv", csv_preview(preview), "text/csv"
        )
        return time.perf_counter() - start
