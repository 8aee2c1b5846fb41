"""One CausalMixFT training run: augment the training rows, fine-tune, return the classifier.

Shared by the tuning objective (once per inner fold), the final ``fit`` from an exported
config, and the benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

if TYPE_CHECKING:
    from causalmix import BaseCache, CausalAugmenter
    from tabfm import BaseBackend, FineTunedClassifier

__all__ = ["TrainingRun", "split_early_stopping", "train_causalmixft"]


@dataclass
class TrainingRun:
    """What one training run produced, besides the classifier."""

    history: list[dict[str, Any]]
    augmenter: CausalAugmenter | None
    synthetic: tuple[pd.DataFrame, pd.Series] | None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_synthetic(self) -> int:
        return 0 if self.synthetic is None else len(self.synthetic[0])


def split_early_stopping(
    X: pd.DataFrame, y: pd.Series, valid_fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    """Carve a stratified early-stopping split off the training rows.

    Returns:
        ``(X_fit, y_fit, X_valid, y_valid)``.
    """
    fit_index, valid_index = train_test_split(
        np.arange(len(X)), test_size=valid_fraction, stratify=y, random_state=seed
    )
    return (
        X.iloc[fit_index].reset_index(drop=True),
        y.iloc[fit_index].reset_index(drop=True),
        X.iloc[valid_index].reset_index(drop=True),
        y.iloc[valid_index].reset_index(drop=True),
    )


def train_causalmixft(
    backend: BaseBackend,
    X: pd.DataFrame,
    y: pd.Series,
    config: dict[str, Any],
    *,
    seed: int,
    valid_fraction: float = 0.2,
    device: str = "auto",
    cache: BaseCache | None = None,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    synthetic_only: bool = False,
) -> tuple[FineTunedClassifier, TrainingRun]:
    """Fine-tune ``backend`` on ``(X, y)`` mixed with SCM synthetic rows.

    The SCMs are fitted on the training part only; an early-stopping split is held out of
    both the SCMs and the fine-tuning pool. The returned classifier's context is all of
    ``(X, y)`` (real rows only).

    Args:
        backend: The pre-trained foundation model (left unchanged).
        X: Real training features.
        y: Real training target.
        config: A full flat configuration (see :func:`search_spaces.split_config`).
        seed: Seed of the split, the augmentation and the fine-tuning.
        valid_fraction: Share of rows held out for early stopping.
        device: Fine-tuning device.
        cache: Discovery / mechanism cache shared across runs.
        on_epoch: Called with ``(epoch, metrics)`` after each validation; may raise to stop.
        synthetic_only: Fine-tune on synthetic rows only (the ``scm_only`` ablation).
    """
    from causalmix import CausalAugmenter
    from search_spaces import split_config
    from tabfm import FinetuneConfig, finetune

    augmentation, synthetic_ratio, finetune_params = split_config(config)
    timings: dict[str, float] = {}
    X_fit, y_fit, X_valid, y_valid = split_early_stopping(X, y, valid_fraction, seed)

    augmenter = None
    synthetic = None
    if synthetic_ratio > 0 or synthetic_only:
        ratio = synthetic_ratio if synthetic_ratio > 0 else 1.0
        # A column that is entirely missing in this split (a sparse column of a small fold)
        # carries nothing to learn: the SCMs skip it and its synthetic values stay missing.
        empty = [c for c in X_fit.columns if X_fit[c].isna().all()]
        augmenter = CausalAugmenter(**augmentation, cache=cache, random_state=seed)
        augmenter.fit(X_fit.drop(columns=empty), y_fit)
        X_syn, y_syn = augmenter.sample(max(1, round(ratio * len(X_fit))), random_state=seed)
        for column in empty:
            X_syn[column] = pd.Series(np.nan, index=X_syn.index).astype(X_fit[column].dtype)
        synthetic = (X_syn[list(X_fit.columns)], y_syn)
        timings.update(augmenter.timings_)

    real = (X_fit, y_fit)
    if synthetic_only:
        assert synthetic is not None
        real, synthetic = synthetic, None
    start = time.perf_counter()
    finetune_config = FinetuneConfig(**finetune_params, seed=seed, device=device)
    classifier, history = finetune(
        backend, real, synthetic, (X_valid, y_valid), finetune_config, on_epoch=on_epoch
    )
    timings["finetune"] = time.perf_counter() - start
    classifier.fit(X, y)
    run = TrainingRun(history=history, augmenter=augmenter, synthetic=synthetic, timings=timings)
    if synthetic_only:
        run.synthetic = real
    return classifier, run
