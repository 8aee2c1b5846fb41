"""One CausalMixFT training run: augment the training rows, fine-tune, return the classifier.

Shared by the tuning objective (once per inner fold), the final ``fit`` from an exported
config, and the benchmark (which also runs the other generators of
:data:`causalmix.GENERATORS` through it).
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
    from causalmix import BaseCache, BaseGenerator, CausalAugmenter
    from tabfm import BaseBackend, FinetuneConfig, FineTunedClassifier

__all__ = [
    "TrainingRun",
    "make_training_generator",
    "split_early_stopping",
    "train_causalmixft",
    "train_causalmixft_folds",
]


@dataclass
class TrainingRun:
    """What one training run produced, besides the classifier."""

    history: list[dict[str, Any]]
    augmenter: CausalAugmenter | None
    synthetic: tuple[pd.DataFrame, pd.Series] | None
    timings: dict[str, float] = field(default_factory=dict)
    generator: BaseGenerator | None = None

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
    generator: str = "scm",
    generator_params: dict[str, Any] | None = None,
    discovery_timeout: float | None = None,
) -> tuple[FineTunedClassifier, TrainingRun]:
    """Fine-tune ``backend`` on ``(X, y)`` mixed with synthetic rows (SCM rows by default).

    The generator is fitted on the training part only; an early-stopping split is held out of
    both the generator and the fine-tuning pool. The returned classifier's context is all of
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
        synthetic_only: Fine-tune on synthetic rows only (the ``scm_only`` / ``ctgan_only``
            ablations); ``synthetic_ratio`` 0 then means one synthetic row per real row.
        generator: A key of :data:`causalmix.GENERATORS`: ``"scm"`` (the config's
            augmentation settings) or another generator such as ``"ctgan"``, which takes
            ``generator_params`` and only the config's ``synthetic_ratio``.
        generator_params: Constructor arguments of a non-SCM generator (its
            ``random_state`` is always ``seed``).
        discovery_timeout: Seconds the SCM generator's structure discovery may take
            (``None``: no limit; past it :class:`causalmix.DiscoveryTimeoutError`).
    """
    from tabfm import finetune

    prepared = _prepare(
        X,
        y,
        config,
        seed=seed,
        valid_fraction=valid_fraction,
        device=device,
        cache=cache,
        synthetic_only=synthetic_only,
        generator=generator,
        generator_params=generator_params,
        discovery_timeout=discovery_timeout,
    )
    start = time.perf_counter()
    classifier, history = finetune(
        backend, *prepared.finetune_data, prepared.finetune_config, on_epoch=on_epoch
    )
    return prepared.finish(classifier, history, time.perf_counter() - start)


def train_causalmixft_folds(
    backend: BaseBackend,
    folds: list[tuple[pd.DataFrame, pd.Series, int]],
    config: dict[str, Any],
    *,
    valid_fraction: float = 0.2,
    device: str = "auto",
    cache: BaseCache | None = None,
    discovery_timeout: float | None = None,
) -> list[tuple[FineTunedClassifier, TrainingRun]]:
    """:func:`train_causalmixft` on several folds ``(X, y, seed)``, fine-tuned together.

    Each fold is augmented on its own, then :func:`tabfm.finetune_folds` trains every fold's
    copy of the model in one stacked network: each result equals the fold's own
    :func:`train_causalmixft` run to float tolerance. Each run's ``finetune`` timing is the
    joint fine-tuning time divided by the number of folds.
    """
    from tabfm import finetune_folds

    prepared = [
        _prepare(
            X,
            y,
            config,
            seed=seed,
            valid_fraction=valid_fraction,
            device=device,
            cache=cache,
            discovery_timeout=discovery_timeout,
        )
        for X, y, seed in folds
    ]
    start = time.perf_counter()
    results = finetune_folds(
        backend, [p.finetune_data for p in prepared], [p.finetune_config for p in prepared]
    )
    seconds = (time.perf_counter() - start) / len(prepared)
    return [
        p.finish(classifier, history, seconds)
        for p, (classifier, history) in zip(prepared, results, strict=True)
    ]


@dataclass
class _Prepared:
    """A training run up to fine-tuning: its splits, synthetic rows and fine-tuning config."""

    X: pd.DataFrame
    y: pd.Series
    real: tuple[pd.DataFrame, pd.Series]
    synthetic: tuple[pd.DataFrame, pd.Series] | None
    valid: tuple[pd.DataFrame, pd.Series]
    finetune_config: FinetuneConfig
    fitted: BaseGenerator | None
    synthetic_only: bool
    timings: dict[str, float]

    @property
    def finetune_data(self) -> tuple[Any, Any, Any]:
        return self.real, self.synthetic, self.valid

    def finish(
        self, classifier: FineTunedClassifier, history: list[dict[str, Any]], seconds: float
    ) -> tuple[FineTunedClassifier, TrainingRun]:
        self.timings["finetune"] = seconds
        classifier.fit(self.X, self.y)
        run = TrainingRun(
            history=history,
            augmenter=getattr(self.fitted, "augmenter_", None),
            synthetic=self.real if self.synthetic_only else self.synthetic,
            timings=self.timings,
            generator=self.fitted,
        )
        return classifier, run


def _prepare(
    X: pd.DataFrame,
    y: pd.Series,
    config: dict[str, Any],
    *,
    seed: int,
    valid_fraction: float,
    device: str,
    cache: BaseCache | None,
    synthetic_only: bool = False,
    generator: str = "scm",
    generator_params: dict[str, Any] | None = None,
    discovery_timeout: float | None = None,
) -> _Prepared:
    from search_spaces import split_config
    from tabfm import FinetuneConfig

    augmentation, synthetic_ratio, finetune_params = split_config(config)
    timings: dict[str, float] = {}
    X_fit, y_fit, X_valid, y_valid = split_early_stopping(X, y, valid_fraction, seed)

    fitted = None
    synthetic = None
    if synthetic_ratio > 0 or synthetic_only:
        ratio = synthetic_ratio if synthetic_ratio > 0 else 1.0
        fitted = make_training_generator(
            generator,
            augmentation,
            generator_params,
            cache=cache,
            seed=seed,
            discovery_timeout=discovery_timeout,
        )
        start = time.perf_counter()
        fitted.fit(X_fit, y_fit)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        synthetic = fitted.sample(max(1, round(ratio * len(X_fit))), random_state=seed)
        sample_seconds = time.perf_counter() - start
        augmenter = getattr(fitted, "augmenter_", None)
        if augmenter is not None:  # the SCM stages, as the tuner has always reported them
            timings.update(augmenter.timings_)
        else:
            timings.update(generator_fit=fit_seconds, generator_sample=sample_seconds)

    real = (X_fit, y_fit)
    if synthetic_only:
        assert synthetic is not None
        real, synthetic = synthetic, None
    return _Prepared(
        X=X,
        y=y,
        real=real,
        synthetic=synthetic,
        valid=(X_valid, y_valid),
        finetune_config=FinetuneConfig(**finetune_params, seed=seed, device=device),
        fitted=fitted,
        synthetic_only=synthetic_only,
        timings=timings,
    )


def make_training_generator(
    generator: str,
    augmentation: dict[str, Any],
    generator_params: dict[str, Any] | None,
    *,
    cache: BaseCache | None,
    seed: int,
    discovery_timeout: float | None = None,
) -> BaseGenerator:
    """The unfitted generator of one training run.

    ``"scm"`` is built from the config's augmentation settings (and shares ``cache``, with
    ``discovery_timeout``); any other generator from ``generator_params``. Both are seeded
    with ``seed``.

    Raises:
        CausalMixError: For an unknown generator or bad parameters.
    """
    from causalmix import CausalAugmenter, CausalMixError, SCMGenerator, make_generator

    if generator == SCMGenerator.name:
        if generator_params:
            raise CausalMixError(
                "The 'scm' generator takes its settings from the config, but got "
                f"generator_params={sorted(generator_params)}."
            )
        augmenter = CausalAugmenter(
            **augmentation, cache=cache, random_state=seed, discovery_timeout=discovery_timeout
        )
        return SCMGenerator(augmenter, random_state=seed)
    return make_generator(generator, **dict(generator_params or {}, random_state=seed))
