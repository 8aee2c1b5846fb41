"""The pretraining loop: its configuration, learning-rate schedule and steps."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tabfm._device import autocast, resolve_device
from tabfm._errors import TabFMError
from tabfm._prior import PriorBatch, curriculum, sample_batch
from tabfm.pretrain._checkpoint import _load_checkpoint, _save_checkpoint
from tabfm.pretrain._config import PretrainConfig
from tabfm.pretrain._evaluation import _format_record, evaluate


def learning_rate_at(step: int, config: PretrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_fraction`` of the peak."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    floor = config.min_lr_fraction
    return config.learning_rate * (floor + (1 - floor) * cosine)


class Optimizers:
    """One or more torch optimisers stepped together (AdamW alone, or Muon beside AdamW).

    A schedule-free optimiser (``schedulefree``) keeps its constant learning rate (``set_lr``
    leaves it alone) and holds the model's weights at its training point between ``train()``
    and ``eval()``: the loop evaluates, snapshots and saves in ``eval()`` mode, where the
    weights are its averaged iterate.
    """

    def __init__(self, optimizers: list[Any]) -> None:
        self.optimizers = optimizers

    def _schedule_free(self) -> list[Any]:
        return [o for o in self.optimizers if hasattr(o, "train") and hasattr(o, "eval")]

    def set_lr(self, lr: float) -> None:
        scheduled = [o for o in self.optimizers if o not in self._schedule_free()]
        for optimizer in scheduled:
            for group in optimizer.param_groups:
                group["lr"] = lr

    def train(self) -> None:
        """Weights at the training point (before steps)."""
        for optimizer in self._schedule_free():
            optimizer.train()

    def eval(self) -> None:
        """Weights at the evaluation point (before evaluating, snapshotting or saving)."""
        for optimizer in self._schedule_free():
            optimizer.eval()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for optimizer in self.optimizers:
            optimizer.step()

    def state_dict(self) -> Any:
        states = [optimizer.state_dict() for optimizer in self.optimizers]
        return states[0] if len(states) == 1 else states  # one: the format of older checkpoints

    def load_state_dict(self, state: Any) -> None:
        states = state if isinstance(state, list) else [state]
        for optimizer, item in zip(self.optimizers, states, strict=True):
            optimizer.load_state_dict(item)


def make_optimizer(model: Any, config: PretrainConfig) -> Optimizers:
    """AdamW on every weight, or Muon on the blocks' 2-D weights and AdamW (or schedule-free
    AdamW, ``muon_schedulefree``) on the rest. Returned in ``eval()`` mode, like a loaded
    checkpoint's weights: call ``train()`` before stepping."""
    import torch

    if config.optimizer == "adamw":
        return Optimizers(
            [
                torch.optim.AdamW(
                    model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
                )
            ]
        )
    matrices = [
        p for name, p in model.named_parameters() if name.startswith("blocks.") and p.ndim == 2
    ]
    chosen = {id(p) for p in matrices}
    rest = [p for p in model.parameters() if id(p) not in chosen]
    return Optimizers(
        [
            # Updates scaled to AdamW's RMS, so that one learning rate and schedule serve both.
            torch.optim.Muon(
                matrices,
                lr=config.learning_rate,
                weight_decay=config.weight_decay,
                adjust_lr_fn="match_rms_adamw",
            ),
            _rest_optimizer(rest, config),
        ]
    )


def _rest_optimizer(parameters: list[Any], config: PretrainConfig) -> Any:
    import torch

    if config.optimizer != "muon_schedulefree":
        return torch.optim.AdamW(
            parameters, lr=config.learning_rate, weight_decay=config.weight_decay
        )
    try:
        import schedulefree
    except ImportError as error:
        raise TabFMError(
            "optimizer 'muon_schedulefree' needs the schedulefree package: "
            "pip install 'causalmix-tuner[pretrain]'."
        ) from error
    # Its own linear warm-up and no decay: the schedule is what it replaces.
    return schedulefree.AdamWScheduleFree(
        parameters,
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_steps,
    )


def pretrain(
    config: PretrainConfig,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    minutes: float | None = None,
    panel: list[Path] | None = None,
    log: Callable[[str], None] = print,
    stop_at_step: int | None = None,
    loader_workers: int = 0,
) -> dict[str, Any]:
    """Train (or continue training) a TabFM model on the prior.

    Args:
        config: The run; when resuming, the checkpoint's config is used instead.
        checkpoint: Where to save (every ``eval_every`` steps and at the end) and resume from.
        resume: Continue from ``checkpoint`` if it exists.
        minutes: Stop this slice after this much wall time (the run resumes later).
        panel: Real CSV datasets (target column ``target``) evaluated zero-shot as training goes
            (monitoring only).
        log: Where progress lines go.
        stop_at_step: Also stop this slice once this step is reached.
        loader_workers: Processes that draw the prior tasks ahead of the training steps (0:
            this process draws them). On a GPU, drawing is the bottleneck; the tasks are the
            same either way.

    Returns:
        The final state: ``{"model": TabFMModel, "step", "config", "history", "elapsed"}``.
    """
    import torch

    from tabfm._model import TabFMModel

    state = _load_checkpoint(checkpoint) if resume and checkpoint else None
    if state is not None:
        config = PretrainConfig.from_dict(state["config"])
    torch.manual_seed(config.seed)
    device = resolve_device(config.device)
    model = TabFMModel(config.model).to(device)
    optimizer = make_optimizer(model, config)
    step, history, elapsed = 0, [], 0.0
    snapshots: list[dict[str, Any]] = []
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history, elapsed = (
            int(state["step"]),
            list(state["history"]),
            float(state["elapsed"]),
        )
        snapshots = list(state.get("snapshots", []))
        log(f"resumed from {checkpoint} at step {step} ({elapsed / 60:.1f} min trained)")
    else:
        log(f"new model: {model.n_parameters():,} parameters, {config.model}")
    started = time.monotonic()
    deadline = started + minutes * 60 if minutes else math.inf
    losses: list[float] = []
    last_step = config.steps if stop_at_step is None else min(config.steps, stop_at_step)
    batches = _batches(config, step, last_step, loader_workers)
    optimizer.train()
    while step < last_step and time.monotonic() < deadline:
        model.train()
        optimizer.set_lr(learning_rate_at(step, config))
        loss = _train_step(model, optimizer, config, step, device, next(batches))
        losses.append(loss)
        step += 1
        if step % config.eval_every == 0 or step == last_step:
            seconds = elapsed + time.monotonic() - started
            record = {"step": step, "seconds": seconds, "train_loss": float(np.mean(losses))}
            optimizer.eval()
            record.update(evaluate(model, device, panel, config))
            history.append(record)
            losses = []
            log(_format_record(record))
            if config.keep_snapshots:
                weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                snapshots = [*snapshots, {"step": step, "model": weights}]
                snapshots = snapshots[-config.keep_snapshots :]
            if checkpoint:
                _save_checkpoint(
                    checkpoint, model, optimizer, config, step, history, seconds, snapshots
                )
            optimizer.train()
    optimizer.eval()
    elapsed += time.monotonic() - started
    if checkpoint:
        _save_checkpoint(checkpoint, model, optimizer, config, step, history, elapsed, snapshots)
    return {
        "model": model.cpu().eval(),
        "step": step,
        "config": config,
        "history": history,
        "elapsed": elapsed,
    }


def seconds_per_step(
    config: PretrainConfig, n_steps: int = 60, loader_workers: int = 0, warmup: int = 10
) -> float:
    """The wall time of one training step of ``config`` on this machine (the prior drawn by
    ``loader_workers``), measured over ``n_steps`` after ``warmup`` steps on a throwaway model;
    for sizing a schedule to a time budget."""
    import torch

    from tabfm._model import TabFMModel

    device = resolve_device(config.device)
    model = TabFMModel(config.model).to(device).train()
    optimizer = make_optimizer(model, config)
    optimizer.set_lr(config.learning_rate)
    optimizer.train()
    batches = _batches(config, 0, warmup + n_steps, loader_workers)
    started = 0.0
    for step in range(warmup + n_steps):
        if step == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            started = time.monotonic()
        _train_step(model, optimizer, config, step, device, next(batches))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.monotonic() - started) / n_steps


def step_batch(config: PretrainConfig, step: int) -> PriorBatch:
    """The prior tasks of training step ``step``: a function of the seed and the step only, so
    that where they are drawn (this process or a loader worker) changes nothing."""
    rng = np.random.default_rng([config.seed, step])
    progress = step / max(1.0, config.curriculum_fraction * config.steps / 0.4)
    return sample_batch(
        rng,
        curriculum(
            progress,
            config.max_rows,
            config.max_features,
            config.fitted_tree_share,
            config.rule_target_share,
            config.tabicl_prior_share,
        ),
        config.max_cells,
    )


class _StepBatches:
    """A map-style dataset of step batches, for a ``torch.utils.data.DataLoader``."""

    def __init__(self, config: PretrainConfig, start: int, stop: int) -> None:
        self.config, self.start, self.stop = config, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, index: int) -> PriorBatch:
        return step_batch(self.config, self.start + index)


def _as_is(batch: Any) -> Any:
    """No collation: with ``batch_size=None`` each item is one step's whole batch."""
    return batch


def _batches(config: PretrainConfig, start: int, stop: int, workers: int) -> Iterator[PriorBatch]:
    """Step batches ``start .. stop - 1`` in order, drawn here or by ``workers`` processes
    (which keep a GPU fed: drawing the prior is CPU work)."""
    if workers == 0:
        return (step_batch(config, step) for step in range(start, stop))
    from torch.utils.data import DataLoader

    dataset: Any = _StepBatches(config, start, stop)  # map-style: __len__, __getitem__
    loader: DataLoader[PriorBatch] = DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        prefetch_factor=4,
        collate_fn=_as_is,
    )
    return iter(loader)


def _train_step(
    model: Any, optimizer: Any, config: PretrainConfig, step: int, device: Any, batch: PriorBatch
) -> float:
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(batch.x).to(device)
    y = torch.from_numpy(batch.y).to(device)
    n_classes = torch.from_numpy(batch.n_classes).to(device)
    generator = torch.Generator(device=device).manual_seed(config.seed * 1_000_003 + step)
    with autocast(device):
        logits = model(x, y[:, : batch.n_context], n_classes=n_classes, generator=generator)
    loss = F.cross_entropy(logits.flatten(0, 1), y[:, batch.n_context :].flatten())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    return float(loss.detach())
