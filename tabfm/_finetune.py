"""The fine-tuning engine: episodic training of a backend on real (+ synthetic) rows."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabfm._classifier import level_columns, recode_levels
from tabfm._device import autocast, resolve_device
from tabfm._errors import TabFMError
from tabfm._finetune_config import FinetuneConfig
from tabfm._metrics import delong_z, roc_auc
from tabfm._preprocess import as_frame, encode_target

if TYPE_CHECKING:
    import torch

    from tabfm._finetuned import FineTunedClassifier
    from tabfm.backends import BaseBackend

_logger = logging.getLogger(__name__)

Split = tuple[pd.DataFrame, pd.Series]
_MIN_CONTEXT = 16  # out-of-memory halving stops here
_EVAL_CONTEXT = 2048  # context rows when predicting the validation rows
DELONG_Z = 1.645
"""One-sided 5 % critical value of the ``delong`` rule (see ``FinetuneConfig.min_delta_rule``)."""


@dataclass
class _Pool:
    """The encoded training pool: real rows first, then synthetic rows."""

    x: np.ndarray  # (N, C) float32
    y: np.ndarray  # (N,) int64 class codes
    is_real: np.ndarray  # (N,) bool


def finetune(
    model: BaseBackend,
    train_real: Split,
    train_synthetic: Split | None,
    valid: Split,
    config: FinetuneConfig | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[FineTunedClassifier, list[dict[str, float]]]:
    """Fine-tune a copy of ``model`` on episodes drawn from real and synthetic rows.

    Every step draws ``episodes_per_step`` episodes: a stratified context/query split of at
    most ``context_size`` pool rows, with at least one query row per class (real rows only
    when ``query_source="real"``), a fresh label permutation and fresh feature identities.
    The loss is the cross-entropy on the query labels. After each epoch the model predicts
    ``valid`` with the real training rows as context; the pre-trained weights are evaluated
    first (epoch 0) and are the initial best, and the best state is restored at the end, so
    the result is never worse than the pre-trained model on ``valid``.

    Args:
        model: The pre-trained backend; it is left unchanged (a clone is fine-tuned).
        train_real: ``(X, y)`` real training rows; they are also the inference context.
        train_synthetic: ``(X, y)`` synthetic rows with the same columns, or ``None`` / empty.
        valid: ``(X, y)`` validation rows (at least two classes).
        config: Training settings (defaults: :class:`FinetuneConfig`).
        on_epoch: Called as ``on_epoch(epoch, metrics)`` after every validation, epoch 0
            included; if it raises, the best state is restored and the exception propagates.

    Returns:
        ``(classifier, history)``: a :class:`FineTunedClassifier` fitted on ``train_real``
        (``n_estimators=4``, ``random_state=0``, as :class:`TabFMClassifier`), and
        one dict per validation with ``epoch``, ``train_loss``, ``valid_roc_auc``,
        ``valid_log_loss``, ``valid_delong_z`` (against epoch 0), ``seconds``, ``lr``,
        ``context_size``, ``steps``,
        ``steps_per_second``, ``best_epoch`` and (on CUDA) ``peak_memory_mb``.

    Raises:
        TabFMError: On bad data or config.
    """
    run = FoldRun(model, train_real, train_synthetic, valid, config, on_epoch)
    config = run.config
    optimizer = run.make_optimizer()
    try:
        run.begin()
        for epoch in range(1, config.epochs + 1):
            epoch_started = time.perf_counter()
            run.model.train(True)
            losses, lr = [], 0.0
            for step_in_epoch in range(config.steps_per_epoch):
                lr = run.set_learning_rate(optimizer, epoch, step_in_epoch)
                loss, run.context_size = _with_oom_retry(
                    lambda size: _train_step(run, optimizer, size),
                    run.context_size,
                    run.device,
                )
                losses.append(loss)
            run.end_epoch(epoch, losses, lr, epoch_started, time.perf_counter() - epoch_started)
            if run.done:
                break
    finally:
        run.restore_best()
    return run.classifier(), run.history


class FoldRun:
    """One fine-tuning run's data, validation and best-epoch bookkeeping.

    :func:`finetune` drives one; the fold-batched engine drives several with one stacked
    network, so that both select, stop and report in exactly the same way. The random streams
    (``rng`` for episodes, ``generator`` for feature identities) are seeded with
    ``config.seed`` and consumed in the same order by both engines.
    """

    def __init__(
        self,
        model: BaseBackend,
        train_real: Split,
        train_synthetic: Split | None,
        valid: Split,
        config: FinetuneConfig | None,
        on_epoch: Callable[[int, dict[str, float]], None] | None,
    ) -> None:
        import torch

        config = config or FinetuneConfig()
        if not isinstance(config, FinetuneConfig):
            raise TabFMError(f"config must be a FinetuneConfig, but got {type(config).__name__}.")
        self.config = config
        self.on_epoch = on_epoch
        self.device = device = resolve_device(config.device)
        self.model = model = model.clone()
        model.module.to(device)
        model.device = device
        X_real, y_real = _split(train_real, "train_real")
        self.X_real, self.y_real = X_real, y_real
        preprocessor = model.make_preprocessor()
        preprocessor.fit(X_real)
        classes, codes_real = encode_target(y_real)
        self.n_classes = len(classes)
        self.pool = _build_pool(preprocessor, classes, codes_real, X_real, train_synthetic)
        X_valid, y_valid = _split(valid, "valid")
        self.x_valid = preprocessor.transform(X_valid)
        self.codes_valid = _codes(classes, y_valid, "valid")
        if len(np.unique(self.codes_valid)) < 2:
            raise TabFMError(f"valid must hold at least 2 classes, but got {np.unique(y_valid)}.")
        self.rng = np.random.default_rng(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.context_size, self.eval_context = config.context_size, _EVAL_CONTEXT
        self.real_context = self.pool.x[self.pool.is_real], self.pool.y[self.pool.is_real]
        # The columns the backend's ensemble reads as categories (none: no shuffles, no draws).
        self.levels = (
            level_columns(self.real_context[0], model.categorical_max_levels)
            if config.category_shuffle > 0
            else {}
        )
        self.pool_tensors = (
            torch.from_numpy(self.pool.x).to(device),
            torch.from_numpy(self.pool.y).to(device),
        )
        self.pretrained_proba: np.ndarray | None = None
        self.history: list[dict[str, float]] = []
        self.best_score, self.best_state, self.best_epoch = -math.inf, model.state_dict(), 0
        self.stale = 0
        self.done = False
        self.min_delta = _min_delta(config, self.codes_valid, self.n_classes)

    def episode(
        self, context: np.ndarray, query: np.ndarray, label_map: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x_context, y_context, x_query, y_query)`` of one episode on the device, labels
        through ``label_map``; the rows as they are or (with chance
        ``config.category_shuffle``) with the backend's category columns recoded in a fresh
        random order, as the ensemble's later members see them at prediction."""
        import torch

        x, y = self.pool_tensors
        context_t = torch.from_numpy(context).to(x.device)
        query_t = torch.from_numpy(query).to(x.device)
        if not self.levels or self.rng.random() >= self.config.category_shuffle:
            x_context, x_query = x[context_t], x[query_t]
        else:
            orders = {column: self.rng.permutation(len(d)) for column, d in self.levels.items()}
            rows = np.concatenate([context, query])
            recoded = torch.from_numpy(recode_levels(self.pool.x[rows], self.levels, orders))
            x_context, x_query = recoded.to(x.device).split([len(context), len(query)])
        return x_context, label_map[y[context_t]], x_query, label_map[y[query_t]]

    def trainable(self) -> list[torch.nn.Parameter]:
        """The parameters fine-tuning updates (all but ``frozen_blocks``); the frozen ones get
        ``requires_grad=False``, so the backward pass stops above them."""
        frozen = {id(p) for p in self.model.frozen_parameters(self.config.frozen_blocks)}
        trainable = []
        for parameter in self.model.parameters():
            parameter.requires_grad_(id(parameter) not in frozen)
            if id(parameter) not in frozen:
                trainable.append(parameter)
        return trainable

    def make_optimizer(self) -> torch.optim.Optimizer:
        import torch

        return torch.optim.AdamW(
            self.trainable(), lr=self.config.learning_rate, weight_decay=self.config.weight_decay
        )

    def set_learning_rate(
        self, optimizer: torch.optim.Optimizer, epoch: int, step_in_epoch: int
    ) -> float:
        config = self.config
        step = (epoch - 1) * config.steps_per_epoch + step_in_epoch
        lr = _learning_rate(step, config.epochs * config.steps_per_epoch, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def validate(self, epoch: int, extra: dict[str, float]) -> dict[str, float]:
        """Predict the validation rows with the real training rows as context."""
        config = self.config
        proba, self.eval_context = _with_oom_retry(
            lambda size: self.model.predict_proba(
                self.real_context[0],
                self.real_context[1],
                self.x_valid,
                self.n_classes,
                n_estimators=config.eval_estimators,
                max_context=size,
                seed=config.seed,
            ),
            self.eval_context,
            self.device,
        )
        finite = bool(np.isfinite(proba).all())  # a diverged network predicts NaN
        if epoch == 0:
            self.pretrained_proba = proba
        z = math.nan
        if finite and self.pretrained_proba is not None:
            z = delong_z(self.codes_valid, proba, self.pretrained_proba)
        codes = self.codes_valid
        return {
            "epoch": epoch,
            **extra,
            "valid_roc_auc": roc_auc(codes, proba, np.arange(self.n_classes))
            if finite
            else math.nan,
            "valid_log_loss": _log_loss(codes, proba) if finite else math.inf,
            "valid_delong_z": z,  # against the pre-trained weights (epoch 0), same rows
            "context_size": self.context_size,
        }

    def begin(self) -> None:
        """Validate the pre-trained weights (epoch 0, the initial best)."""
        import torch

        self.started = time.perf_counter()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self.model.train(False)
        record = self.validate(0, {"train_loss": math.nan, "lr": 0.0, "steps": 0})
        self.best_score, self.best_state = _score(record, self.config), self.model.state_dict()
        record.update(seconds=time.perf_counter() - self.started, steps_per_second=math.nan)
        record["best_epoch"] = self.best_epoch
        _add_memory(record, self.device)
        self.history.append(record)
        if self.on_epoch is not None:
            self.on_epoch(0, dict(record))

    def end_epoch(
        self,
        epoch: int,
        losses: list[float],
        lr: float,
        epoch_started: float,
        train_seconds: float,
    ) -> None:
        """Validate, keep the best state, report, and set :attr:`done` when training stops."""
        config = self.config
        self.model.train(False)
        record = self.validate(
            epoch,
            {"train_loss": float(np.mean(losses)), "lr": lr, "steps": epoch * len(losses)},
        )
        score = _score(record, config)
        if score > self.best_score + self.min_delta and _has_evidence(record, config):
            self.best_score, self.best_state = score, self.model.state_dict()
            self.best_epoch, self.stale = epoch, 0
        else:
            self.stale += 1
        record["seconds"] = time.perf_counter() - epoch_started
        record["steps_per_second"] = config.steps_per_epoch / max(train_seconds, 1e-9)
        record["best_epoch"] = self.best_epoch
        _add_memory(record, self.device)
        self.history.append(record)
        if self.on_epoch is not None:
            self.on_epoch(epoch, dict(record))
        if config.patience and self.stale >= config.patience:
            self.done = True
        elif not all(math.isfinite(loss) for loss in losses):
            _logger.warning("Fine-tuning diverged at epoch %d; stopping.", epoch)
            self.done = True

    def restore_best(self) -> None:
        self.model.load_state_dict(self.best_state)
        self.model.train(False)

    def classifier(self) -> FineTunedClassifier:
        """The fine-tuned classifier, fitted on the real training rows."""
        from tabfm._finetuned import FineTunedClassifier

        # The ensemble seed stays at the classifiers' default (0), not the training seed, so
        # that a fine-tuned and a zero-shot classifier predict with the same permutations.
        return FineTunedClassifier(self.model, config=self.config).fit(self.X_real, self.y_real)


def _split(split: Any, name: str) -> tuple[pd.DataFrame, pd.Series]:
    if not isinstance(split, tuple) or len(split) != 2:
        raise TabFMError(f"{name} must be an (X, y) tuple, but got {type(split).__name__}.")
    X, y = as_frame(split[0], f"{name} X"), pd.Series(np.asarray(split[1]))
    if len(X) != len(y):
        raise TabFMError(f"{name} X and y must have as many rows, but got {len(X)} and {len(y)}.")
    return X, y


def _codes(classes: np.ndarray, y: pd.Series, name: str) -> np.ndarray:
    labels = y.to_numpy()
    unknown = ~np.isin(labels, classes)
    if unknown.any():
        absent = sorted(set(labels[unknown].tolist()))[:5]
        raise TabFMError(f"{name} has labels absent from train_real: {absent}.")
    return np.searchsorted(classes, labels).astype(np.int64)


def _build_pool(
    preprocessor: Any,
    classes: np.ndarray,
    codes_real: np.ndarray,
    X_real: pd.DataFrame,
    train_synthetic: Split | None,
) -> _Pool:
    x_parts, y_parts = [preprocessor.transform(X_real)], [codes_real]
    if train_synthetic is not None and len(train_synthetic[0]) > 0:
        X_syn, y_syn = _split(train_synthetic, "train_synthetic")
        x_parts.append(preprocessor.transform(X_syn))
        y_parts.append(_codes(classes, y_syn, "train_synthetic"))
    is_real = np.zeros(sum(len(p) for p in y_parts), dtype=bool)
    is_real[: len(codes_real)] = True
    return _Pool(np.concatenate(x_parts).astype(np.float32), np.concatenate(y_parts), is_real)


def sample_episode(
    rng: np.random.Generator,
    y: np.ndarray,
    is_real: np.ndarray,
    context_size: int,
    query_fraction: float,
    real_queries: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(context, query)`` of one stratified episode.

    Queries are drawn per class in proportion to the class (at least one per class that has
    a second row left for the context), from real rows only when ``real_queries``; the context
    is drawn from the remaining rows, keeping every class.
    """
    n_rows = min(len(y), context_size)
    n_query = max(1, int(round(n_rows * query_fraction)))
    eligible = is_real if real_queries else np.ones(len(y), dtype=bool)
    query_parts = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        candidates = members[eligible[members]]
        if len(candidates) == 0 or len(members) < 2:
            continue
        wanted = max(1, int(round(n_query * len(members) / len(y))))
        # Leave at least one row of the class for the context.
        take = min(wanted, len(candidates), len(members) - 1)
        query_parts.append(rng.choice(candidates, size=take, replace=False))
    query = np.concatenate(query_parts) if query_parts else np.empty(0, dtype=np.int64)
    rest = np.setdiff1d(np.arange(len(y)), query)
    n_context = max(1, n_rows - len(query))
    context = _stratified_subset(rng, y, rest, n_context)
    return rng.permutation(context), rng.permutation(query)


def _stratified_subset(
    rng: np.random.Generator, y: np.ndarray, rows: np.ndarray, size: int
) -> np.ndarray:
    if len(rows) <= size:
        return rows
    shuffled = rows[rng.permutation(len(rows))]
    first = shuffled[np.unique(y[shuffled], return_index=True)[1]]
    others = np.setdiff1d(shuffled, first)
    others = others[rng.permutation(len(others))][: max(0, size - len(first))]
    return np.concatenate([first, others])


def _train_step(run: FoldRun, optimizer: torch.optim.Optimizer, context_size: int) -> float:
    import torch
    import torch.nn.functional as F

    model, pool, config, rng = run.model, run.pool, run.config, run.rng
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    device = model.device
    n_classes = int(pool.y.max()) + 1
    for _ in range(config.episodes_per_step):
        context, query = sample_episode(
            rng,
            pool.y,
            pool.is_real,
            context_size,
            config.query_fraction,
            real_queries=config.query_source == "real",
        )
        if len(query) == 0:
            raise TabFMError("No query rows can be drawn: every class needs at least 2 rows.")
        # A fresh label permutation per episode keeps the model label-symmetric.
        label_map = torch.from_numpy(rng.permutation(n_classes)).to(device)
        x_context, y_context, x_query, y_query = run.episode(context, query, label_map)
        with autocast(device):
            logits = model.forward_episode(
                x_context, y_context, x_query, n_classes, generator=run.generator
            )
        loss = F.cross_entropy(logits.float(), y_query) / config.episodes_per_step
        loss.backward()
        total += float(loss.detach())
    torch.nn.utils.clip_grad_norm_(list(model.parameters()), config.grad_clip)
    optimizer.step()
    return total


def _with_oom_retry(
    run: Callable[[int], Any], context_size: int, device: torch.device
) -> tuple[Any, int]:
    """Run ``run(context_size)``; on CUDA out-of-memory halve the context and retry."""
    import torch

    while True:
        try:
            return run(context_size), context_size
        except torch.OutOfMemoryError:
            if device.type != "cuda" or context_size // 2 < _MIN_CONTEXT:
                raise
            torch.cuda.empty_cache()
            _logger.warning(
                "CUDA out of memory with context_size=%d; retrying with %d.",
                context_size,
                context_size // 2,
            )
            context_size //= 2


def _learning_rate(step: int, total_steps: int, config: FinetuneConfig) -> float:
    warmup = int(config.warmup_fraction * total_steps)
    if step < warmup:
        return config.learning_rate * (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    return config.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


def _min_delta(config: FinetuneConfig, codes: np.ndarray, n_classes: int) -> float:
    """The improvement threshold of best-epoch selection (see ``FinetuneConfig``)."""
    if config.min_delta_rule != "resolution" or config.metric != "roc_auc":
        return config.min_delta
    counts = np.bincount(codes, minlength=n_classes).astype(float)
    pairs = counts * (len(codes) - counts)
    pairs = pairs[pairs > 0]
    if len(pairs) == 0:
        return config.min_delta
    step = 1.0 / pairs.max() if n_classes == 2 else 1.0 / pairs.max() / n_classes
    return max(config.min_delta, float(step))


def _has_evidence(record: dict[str, float], config: FinetuneConfig) -> bool:
    """Under the ``delong`` rule, whether the epoch beats the pre-trained weights on the
    validation rows by a paired DeLong z above :data:`DELONG_Z`."""
    if config.min_delta_rule != "delong" or config.metric != "roc_auc":
        return True
    return bool(record["valid_delong_z"] > DELONG_Z)


def _score(record: dict[str, float], config: FinetuneConfig) -> float:
    """Higher is better; NaN (undefined AUC) never counts as an improvement."""
    value = record["valid_roc_auc"] if config.metric == "roc_auc" else -record["valid_log_loss"]
    return -math.inf if math.isnan(value) else value


def _log_loss(codes: np.ndarray, proba: np.ndarray) -> float:
    picked = proba[np.arange(len(codes)), codes]
    return float(-np.mean(np.log(np.clip(picked, 1e-15, 1.0))))


def _add_memory(record: dict[str, float], device: torch.device) -> None:
    import torch

    if device.type == "cuda":
        record["peak_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
