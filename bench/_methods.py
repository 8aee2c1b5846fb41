"""The benchmark's methods: what each one trains on an outer training part.

Every method gets the same outer training rows, the same seed (so the same early-stopping
split) and the same fine-tuning settings (the fixed configuration), and returns test-set
probabilities plus its validation ROC-AUC:

- ``zero_shot``: the pre-trained model with the training rows as context. Validation: the
  zero-shot model on the early-stopping split (context = the rest of the training rows),
  scored as fine-tuning scores its epoch 0 (same seed and validation ensemble size).
- ``default_ft``: fine-tuning on real rows only (the fixed config with ``synthetic_ratio = 0``).
- ``causalmixft``: the fixed config (``paper`` by default): real + SCM rows.
- ``scm_only``: fine-tuning on SCM rows only.
- ``ctgan``: real + CTGAN rows at the fixed config's synthetic ratio.
- ``ctgan_only``: fine-tuning on CTGAN rows only.
- ``tuned``: an Optuna study (``tuner.tune``) on the outer training rows only, then a refit
  of the best configuration on them (what ``tuner.fit`` does); the outer test rows are never
  seen before scoring. The study starts with the references and the portfolio, the one learned
  without this dataset where the portfolio was learned on it.

For every fine-tuned method the validation ROC-AUC is the early-stopping split's ROC-AUC at
the best epoch (the one restored). Fine-tuning predicts that split with its pool's real rows
as context; for ``scm_only`` and ``ctgan_only`` the pool is the synthetic rows, so their
validation context is synthetic while their test context is the real training rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from causalmix import BaseCache
    from search_spaces import Portfolio
    from tabfm import BaseBackend
    from tuner._pipeline import TrainingRun

__all__ = ["METHODS", "FoldData", "MethodContext", "MethodOutput", "run_method"]

_logger = logging.getLogger("causalmix")


@dataclass(frozen=True)
class FoldData:
    """The rows of one outer fold of one dataset.

    Attributes:
        dataset: Dataset name.
        split: The split (``kfold`` or ``shift:COLUMN``).
        fold: Fold number.
        seed: Seed of every method on this fold.
        dataset_fingerprint: The whole dataset's fingerprint (:class:`BenchDataset`).
    """

    dataset: str
    split: str
    fold: int
    seed: int
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    dataset_fingerprint: str = ""


@dataclass
class MethodContext:
    """What the methods share during one benchmark.

    Attributes:
        backend: The pre-trained model (never modified).
        fixed_config: Full flat config of the fixed methods.
        ctgan_params: Constructor arguments of :class:`causalmix.CTGANGenerator`.
        valid_fraction: Share of the training rows held out for early stopping.
        device: Fine-tuning device.
        cache: Discovery / mechanism cache (shared by the SCM methods and the studies).
        cache_dir: Its directory, for the studies.
        target: Target column name (for the studies' data files).
        tuned_space: Search space path of ``tuned``.
        trials: Trials of each study.
        inner_folds: Inner folds of each study.
        storage: Storage URL of the studies.
        work_dir: Where the studies' data files and exports go.
        backend_name: Backend name (for the studies).
        weights: Backend weights (for the studies).
        categorical_max_levels: The backend's category shuffles (for the studies; ``None``:
            its default).
        portfolio: The studies' portfolio (``None``: none); each study gets the one learned
            without its dataset.
    """

    backend: BaseBackend
    fixed_config: dict[str, Any]
    ctgan_params: dict[str, Any]
    valid_fraction: float
    device: str
    cache: BaseCache | None
    cache_dir: str
    target: str
    tuned_space: str
    trials: int
    inner_folds: int
    storage: str
    work_dir: Path
    backend_name: str = "tabfm"
    weights: str | None = None
    categorical_max_levels: int | None = None
    portfolio: Portfolio | None = None


@dataclass
class MethodOutput:
    """What one method produced on one fold.

    Attributes:
        proba: Test probabilities. # (n_test, n_classes)
        classes: Class labels of the columns of ``proba``.
        valid_roc_auc: ROC-AUC on the early-stopping split (see the module docstring).
        extra: Further facts for ``results.csv`` (``n_synthetic``, ``best_epoch``...).
    """

    proba: np.ndarray
    classes: np.ndarray
    valid_roc_auc: float
    extra: dict[str, Any] = field(default_factory=dict)


def _zero_shot(context: MethodContext, data: FoldData) -> MethodOutput:
    from tabfm import FinetuneConfig, make_classifier, roc_auc
    from tuner._pipeline import split_early_stopping

    backend = context.backend
    # The prediction context of every fine-tuned method: the classifier tabfm.finetune returns
    # predicts with make_classifier's ensemble (its defaults), so a run that kept the
    # pre-trained weights predicts exactly these probabilities and scores exactly 0.
    classifier = make_classifier(backend).fit(data.X_train, data.y_train)
    proba = classifier.predict_proba(data.X_test)
    X_fit, y_fit, X_valid, y_valid = split_early_stopping(
        data.X_train, data.y_train, context.valid_fraction, data.seed
    )
    # Scored exactly as fine-tuning scores its epoch 0 (the pre-trained weights): the same
    # context rows, seed and ensemble size, so that the validation scores of all methods
    # are comparable.
    estimators = context.fixed_config.get("eval_estimators", FinetuneConfig().eval_estimators)
    on_fit = make_classifier(backend, n_estimators=estimators, random_state=data.seed)
    on_fit.fit(X_fit, y_fit)
    valid = float(roc_auc(y_valid, on_fit.predict_proba(X_valid), on_fit.classes_))
    return MethodOutput(proba, np.asarray(classifier.classes_), valid, {"n_synthetic": 0})


def _fine_tuned(
    context: MethodContext,
    data: FoldData,
    config: dict[str, Any],
    *,
    generator: str = "scm",
    synthetic_only: bool = False,
) -> MethodOutput:
    from tuner._pipeline import train_causalmixft

    params = context.ctgan_params if generator == "ctgan" else None
    classifier, run = train_causalmixft(
        context.backend,
        data.X_train,
        data.y_train,
        config,
        seed=data.seed,
        valid_fraction=context.valid_fraction,
        device=context.device,
        cache=context.cache if generator == "scm" else None,
        synthetic_only=synthetic_only,
        generator=generator,
        generator_params=params,
    )
    proba = classifier.predict_proba(data.X_test)
    return MethodOutput(proba, np.asarray(classifier.classes_), *_run_facts(run))


def _run_facts(run: TrainingRun) -> tuple[float, dict[str, Any]]:
    best = int(run.history[-1]["best_epoch"]) if run.history else 0
    valid = float(run.history[best]["valid_roc_auc"]) if run.history else float("nan")
    extra = {
        "n_synthetic": run.n_synthetic,
        "best_epoch": best,
        "epochs_run": max(0, len(run.history) - 1),
        "generator_seconds": round(sum(v for k, v in run.timings.items() if k != "finetune"), 3),
        "finetune_seconds": round(run.timings.get("finetune", 0.0), 3),
    }
    return valid, extra


def _default_ft(context: MethodContext, data: FoldData) -> MethodOutput:
    return _fine_tuned(context, data, dict(context.fixed_config, synthetic_ratio=0.0))


def _causalmixft(context: MethodContext, data: FoldData) -> MethodOutput:
    return _fine_tuned(context, data, context.fixed_config)


def _scm_only(context: MethodContext, data: FoldData) -> MethodOutput:
    return _fine_tuned(context, data, context.fixed_config, synthetic_only=True)


def _ctgan(context: MethodContext, data: FoldData) -> MethodOutput:
    return _fine_tuned(context, data, context.fixed_config, generator="ctgan")


def _ctgan_only(context: MethodContext, data: FoldData) -> MethodOutput:
    return _fine_tuned(context, data, context.fixed_config, generator="ctgan", synthetic_only=True)


def _tuned(context: MethodContext, data: FoldData) -> MethodOutput:
    from search_spaces import GROUPS
    from storage import CONFIRMATION_ATTR
    from tuner import export_best, tune
    from tuner._pipeline import train_causalmixft

    tag = f"{data.dataset}-{data.split.replace(':', '_')}-fold{data.fold}"
    directory = context.work_dir / "tuned" / _safe(tag)
    directory.mkdir(parents=True, exist_ok=True)
    train_file = directory / "train.parquet"
    # Only the outer training rows ever reach the study. A column with no observed value in
    # them (anneal's mostly-missing columns, on some folds) carries nothing, and the tuner
    # refuses it as bad input: the study gets the other columns; the refit below sees every
    # column, as the other methods do.
    empty = [c for c in data.X_train.columns if data.X_train[c].isna().all()]
    if empty:
        _logger.info("The tuned study of %s leaves out empty column(s) %s.", tag, empty)
    study_rows = data.X_train.drop(columns=empty)
    study_rows.assign(**{context.target: data.y_train.to_numpy()}).to_parquet(
        train_file, index=False
    )
    study_name = f"bench-{tag}"
    study = tune(
        str(train_file),
        context.target,
        study_name=study_name,
        storage=context.storage,
        space=context.tuned_space,
        n_trials=context.trials,
        seed=data.seed,
        n_folds=context.inner_folds,
        device=context.device,
        backend=context.backend_name,
        weights=context.weights,
        categorical_max_levels=context.categorical_max_levels,
        artifact_dir=None,
        cache_dir=context.cache_dir,
        workers=1,
        progress=False,
        valid_fraction=context.valid_fraction,
        # Never the portfolio learned on this dataset (by name or data): its benefit would be
        # claimed on its own training data.
        portfolio=(
            None
            if context.portfolio is None
            else context.portfolio.without(data.dataset, data.dataset_fingerprint or None)
        ),
    )
    document = export_best(study_name, context.storage, directory / "best.yaml")
    selection = document.get("selection", {})
    flat: dict[str, Any] = {}
    for group in GROUPS:
        flat.update(document["config"].get(group, {}))
    # The refit of `tuner.fit` (same config, seed and split), kept in-process so that the
    # early-stopping history (the validation score) is available.
    classifier, run = train_causalmixft(
        context.backend,
        data.X_train,
        data.y_train,
        flat,
        seed=int(document.get("seed", data.seed)),
        valid_fraction=context.valid_fraction,
        device=context.device,
        cache=context.cache,
    )
    proba = classifier.predict_proba(data.X_test)
    valid, extra = _run_facts(run)
    extra.update(
        n_trials=sum(not t.user_attrs.get(CONFIRMATION_ATTR) for t in study.trials),
        # The exported trial's inner-CV score: the best trial, or default fine-tuning when the
        # best one did not beat it reliably (storage._selection).
        tuned_cv_normalized_roc_auc=round(float(document["scores"]["best_normalized_roc_auc"]), 6),
        tuned_selection=selection.get("summary"),
        # The selection's outcome, so that results.csv says when a study fell back.
        tuned_selection_rule=selection.get("rule"),
        tuned_selection_passed=selection.get("passed"),
        tuned_selection_estimate=selection.get("estimate"),
        tuned_selection_bound=selection.get("lower_bound"),
        tuned_candidate_trial=selection.get("candidate_trial"),
        tuned_exported_trial=selection.get("chosen_trial"),
        tuned_fallback=selection.get("chosen_trial") != selection.get("candidate_trial"),
        tuned_synthetic_ratio=flat.get("synthetic_ratio"),
        study=study_name,
    )
    return MethodOutput(proba, np.asarray(classifier.classes_), valid, extra)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


METHODS: dict[str, Callable[[MethodContext, FoldData], MethodOutput]] = {
    "zero_shot": _zero_shot,
    "default_ft": _default_ft,
    "causalmixft": _causalmixft,
    "scm_only": _scm_only,
    "ctgan": _ctgan,
    "ctgan_only": _ctgan_only,
    "tuned": _tuned,
}
"""The benchmark's methods by name, in report order (``zero_shot`` is the baseline)."""

CTGAN_METHODS = ("ctgan", "ctgan_only")


def run_method(name: str, context: MethodContext, data: FoldData) -> MethodOutput:
    """Run one method on one fold."""
    return METHODS[name](context, data)
