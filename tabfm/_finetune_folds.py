"""Fold-batched fine-tuning: the K copies of one trial's model train as one stacked network."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tabfm._device import autocast
from tabfm._errors import TabFMError
from tabfm._finetune import FoldRun, Split, _with_oom_retry, finetune, sample_episode
from tabfm._finetune_config import FinetuneConfig

if TYPE_CHECKING:
    import torch

    from tabfm._finetuned import FineTunedClassifier
    from tabfm.backends import BaseBackend

FoldData = tuple[Split, Split | None, Split]
"""``(train_real, train_synthetic, valid)`` of one fold, as :func:`finetune` takes them."""

OnEpoch = Callable[[int, dict[str, float]], None]


def finetune_folds(
    model: BaseBackend,
    folds: Sequence[FoldData],
    configs: Sequence[FinetuneConfig],
    on_epoch: Sequence[OnEpoch | None] | None = None,
) -> list[tuple[FineTunedClassifier, list[dict[str, float]]]]:
    """Fine-tune one copy of ``model`` per fold, all folds in one stacked network.

    Each step runs one forward and one backward pass for every fold (fold ``k``'s episode
    through fold ``k``'s weights) instead of one per fold: on a GPU most of a small model's
    step is kernel launches, which this shares. Every fold draws its episodes, labels and
    feature identities from its own seeded streams in the order :func:`finetune` does, its
    gradient is clipped on its own, and AdamW updates each weight elementwise, so fold ``k``'s
    result equals ``finetune(model, *folds[k], configs[k])`` to float tolerance. Validation,
    best-epoch selection and early stopping run per fold; a fold that stops keeps its best
    state while the others train on. The configs may differ only in ``seed``.

    Backends that cannot stack (:meth:`BaseBackend.stack` returns ``None``) train the folds one
    by one with :func:`finetune`, with the same results. Under CUDA out-of-memory every fold's
    context is halved together (one by one, only the fold that ran out would be).

    Args:
        model: The pre-trained backend; left unchanged.
        folds: ``(train_real, train_synthetic, valid)`` per fold.
        configs: One config per fold, equal but for ``seed``.
        on_epoch: Per fold, called as ``finetune``'s ``on_epoch``; if one raises, every fold's
            best state is restored and the exception propagates.

    Returns:
        ``(classifier, history)`` per fold, as :func:`finetune` returns them.

    Raises:
        TabFMError: On bad data, on configs that differ in more than ``seed``, or on lengths
            that do not match.
    """
    callbacks = list(on_epoch) if on_epoch is not None else [None] * len(folds)
    if not len(folds) == len(configs) == len(callbacks) or not folds:
        raise TabFMError(
            "finetune_folds needs one config (and callback) per fold, but got "
            f"{len(folds)} folds, {len(configs)} configs and {len(callbacks)} callbacks."
        )
    shared = {dataclasses.replace(config, seed=0) for config in configs}
    if len(shared) != 1:
        raise TabFMError("The folds' configs may differ only in `seed`, but they differ more.")
    runs = [
        FoldRun(model, *fold, config, callback)
        for fold, config, callback in zip(folds, configs, callbacks, strict=True)
    ]
    stacked = model.stack([run.model for run in runs])
    if stacked is None:
        return [
            finetune(model, *fold, config, on_epoch=callback)
            for fold, config, callback in zip(folds, configs, callbacks, strict=True)
        ]
    return _train_stacked(model, stacked, runs)


def _train_stacked(
    model: BaseBackend, stacked: torch.nn.Module, runs: list[FoldRun]
) -> list[tuple[FineTunedClassifier, list[dict[str, float]]]]:
    import torch

    from tabfm._stacked import unstack_state

    config = runs[0].config
    device = runs[0].device
    trainable = _stacked_trainable(stacked, runs[0])
    optimizer = torch.optim.AdamW(
        trainable, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    try:
        for run in runs:
            run.begin()
        for epoch in range(1, config.epochs + 1):
            epoch_started = time.perf_counter()
            stacked.train(True)
            losses: list[list[float]] = [[] for _ in runs]
            lr = 0.0
            for step_in_epoch in range(config.steps_per_epoch):
                lr = runs[0].set_learning_rate(optimizer, epoch, step_in_epoch)
                step_losses, size = _with_oom_retry(
                    lambda size: _stacked_step(model, stacked, trainable, optimizer, runs, size),
                    min(run.context_size for run in runs),
                    device,
                )
                for run, fold_losses, loss in zip(runs, losses, step_losses, strict=True):
                    run.context_size = size
                    fold_losses.append(loss)
            stacked.train(False)
            train_seconds = time.perf_counter() - epoch_started
            for k, run in enumerate(runs):
                if run.done:  # stopped earlier: its slice trains on, unread
                    continue
                run.model.load_state_dict(unstack_state(stacked, k))
                run.end_epoch(epoch, losses[k], lr, epoch_started, train_seconds)
            if all(run.done for run in runs):
                break
    finally:
        for run in runs:
            run.restore_best()
    return [(run.classifier(), run.history) for run in runs]


def _stacked_trainable(stacked: torch.nn.Module, run: FoldRun) -> list[torch.nn.Parameter]:
    """The stacked parameters to train: all but those of the frozen blocks (by name)."""
    frozen_ids = {id(p) for p in run.model.frozen_parameters(run.config.frozen_blocks)}
    frozen = {name for name, p in run.model.module.named_parameters() if id(p) in frozen_ids}
    trainable = []
    for name, parameter in stacked.named_parameters():
        parameter.requires_grad_(name not in frozen)
        if name not in frozen:
            trainable.append(parameter)
    return trainable


def _stacked_step(
    model: BaseBackend,
    stacked: torch.nn.Module,
    trainable: list[torch.nn.Parameter],
    optimizer: torch.optim.Optimizer,
    runs: list[FoldRun],
    context_size: int,
) -> list[float]:
    """One optimiser step of every fold; returns each fold's loss (``_train_step``'s)."""
    import torch
    import torch.nn.functional as F

    config = runs[0].config
    device = runs[0].device
    optimizer.zero_grad(set_to_none=True)
    totals = [0.0] * len(runs)
    for _ in range(config.episodes_per_step):
        episodes, targets, n_classes = [], [], []
        for run in runs:
            classes = int(run.pool.y.max()) + 1
            context, query = sample_episode(
                run.rng,
                run.pool.y,
                run.pool.is_real,
                context_size,
                config.query_fraction,
                real_queries=config.query_source == "real",
            )
            if len(query) == 0:
                raise TabFMError("No query rows can be drawn: every class needs at least 2 rows.")
            label_map = torch.from_numpy(run.rng.permutation(classes)).to(device)
            x_context, y_context, x_query, y_query = run.episode(context, query, label_map)
            episodes.append((x_context, y_context, x_query))
            targets.append(y_query)
            n_classes.append(classes)
        with autocast(device):
            logits = model.forward_stacked(
                stacked, episodes, n_classes, [run.generator for run in runs]
            )
        # Folds have separate weights, so the sum's gradient is each fold's own.
        fold_losses = [
            F.cross_entropy(fold_logits.float(), target) / config.episodes_per_step
            for fold_logits, target in zip(logits, targets, strict=True)
        ]
        torch.stack(fold_losses).sum().backward()
        for k, loss in enumerate(fold_losses):
            totals[k] += float(loss.detach())
    _clip_per_fold(trainable, len(runs), config.grad_clip)
    optimizer.step()
    return totals


def _clip_per_fold(parameters: list[torch.nn.Parameter], n_folds: int, max_norm: float) -> None:
    """``clip_grad_norm_`` of each fold's gradient on its own (its slice of every tensor)."""
    import torch

    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    squares = torch.stack([g.detach().reshape(n_folds, -1).float().square().sum(1) for g in grads])
    norms = squares.sum(0).sqrt()  # (K,)
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for grad in grads:
        grad.mul_(scale.view(-1, *[1] * (grad.dim() - 1)).to(grad.dtype))
