"""Pretraining TabFM on the synthetic prior, in resumable slices."""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tabfm._config import TabFMConfig
from tabfm._device import autocast, resolve_device
from tabfm._errors import TabFMError
from tabfm._prior import curriculum, sample_batch

_EVAL_SEED = 987_654  # held-out prior tasks use seeds no training step uses


@dataclass(frozen=True)
class PretrainConfig:
    """A pretraining run.

    Attributes:
        steps: Total optimiser steps (the learning-rate schedule spans them).
        learning_rate: Peak AdamW learning rate.
        min_lr_fraction: Final learning rate as a fraction of the peak (cosine decay).
        warmup_steps: Linear warm-up steps.
        weight_decay: AdamW weight decay.
        grad_clip: Gradient-norm clip.
        max_cells: Cells ``B * R * (C + 1)`` per step (the batch size adapts to the shape).
        max_rows: Most rows per prior task.
        max_features: Most features per prior task.
        curriculum_fraction: Share of the steps spent ramping from easy to full tasks.
        eval_every: Steps between evaluations (held-out prior, probes, real-data panel).
        eval_batches: Held-out prior batches per evaluation.
        seed: Seed of the prior, the identity vectors and the initial weights.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        model: The architecture.
    """

    steps: int = 20_000
    learning_rate: float = 1e-3
    min_lr_fraction: float = 0.05
    warmup_steps: int = 200
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    max_cells: int = 16_384
    max_rows: int = 512
    max_features: int = 40
    curriculum_fraction: float = 0.4
    eval_every: int = 250
    eval_batches: int = 8
    seed: int = 0
    device: str = "auto"
    model: TabFMConfig = field(default_factory=TabFMConfig)

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise TabFMError(f"`steps >= 1` must hold, but got steps={self.steps}.")
        if not self.learning_rate > 0:
            raise TabFMError(
                f"`learning_rate > 0` must hold, but got learning_rate={self.learning_rate}."
            )
        if self.max_rows < 64 or self.max_features < 1:
            raise TabFMError(
                "`max_rows >= 64` and `max_features >= 1` must hold, but got "
                f"max_rows={self.max_rows}, max_features={self.max_features}."
            )

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PretrainConfig:
        """Rebuild from :meth:`to_dict` output."""
        values = dict(data)
        values["model"] = TabFMConfig.from_dict(values["model"])
        return cls(**values)


def learning_rate_at(step: int, config: PretrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_fraction`` of the peak."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    floor = config.min_lr_fraction
    return config.learning_rate * (floor + (1 - floor) * cosine)


def pretrain(
    config: PretrainConfig,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    minutes: float | None = None,
    panel: list[Path] | None = None,
    log: Callable[[str], None] = print,
    stop_at_step: int | None = None,
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
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    step, history, elapsed = 0, [], 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history, elapsed = (
            int(state["step"]),
            list(state["history"]),
            float(state["elapsed"]),
        )
        log(f"resumed from {checkpoint} at step {step} ({elapsed / 60:.1f} min trained)")
    else:
        log(f"new model: {model.n_parameters():,} parameters, {config.model}")
    started = time.monotonic()
    deadline = started + minutes * 60 if minutes else math.inf
    losses: list[float] = []
    last_step = config.steps if stop_at_step is None else min(config.steps, stop_at_step)
    while step < last_step and time.monotonic() < deadline:
        model.train()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, config)
        loss = _train_step(model, optimizer, config, step, device)
        losses.append(loss)
        step += 1
        if step % config.eval_every == 0 or step == last_step:
            seconds = elapsed + time.monotonic() - started
            record = {"step": step, "seconds": seconds, "train_loss": float(np.mean(losses))}
            record.update(evaluate(model, device, panel, config))
            history.append(record)
            losses = []
            log(_format_record(record))
            if checkpoint:
                _save_checkpoint(checkpoint, model, optimizer, config, step, history, seconds)
    elapsed += time.monotonic() - started
    if checkpoint:
        _save_checkpoint(checkpoint, model, optimizer, config, step, history, elapsed)
    return {
        "model": model.cpu().eval(),
        "step": step,
        "config": config,
        "history": history,
        "elapsed": elapsed,
    }


def _train_step(
    model: Any, optimizer: Any, config: PretrainConfig, step: int, device: Any
) -> float:
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng([config.seed, step])
    progress = step / max(1.0, config.curriculum_fraction * config.steps / 0.4)
    batch = sample_batch(
        rng, curriculum(progress, config.max_rows, config.max_features), config.max_cells
    )
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


def evaluate(
    model: Any,
    device: Any,
    panel: list[Path] | None = None,
    config: PretrainConfig | None = None,
) -> dict[str, float]:
    """Held-out prior loss / ROC-AUC, in-context-learning probes and the real-data panel."""
    metrics = _evaluate_prior(model, device, config or PretrainConfig())
    metrics.update(probe_scores(model, device))
    if panel:
        metrics.update(_evaluate_panel(model, device, panel))
    return metrics


def _evaluate_prior(model: Any, device: Any, config: PretrainConfig) -> dict[str, float]:
    import torch
    import torch.nn.functional as F

    from tabfm._metrics import roc_auc

    losses, aucs = [], []
    model.eval()
    stage = curriculum(1.0, config.max_rows, config.max_features)
    for index in range(config.eval_batches):
        rng = np.random.default_rng([_EVAL_SEED, index])
        batch = sample_batch(rng, stage, max_cells=config.max_cells)
        x = torch.from_numpy(batch.x).to(device)
        y = torch.from_numpy(batch.y).to(device)
        with torch.inference_mode(), autocast(device):
            logits = model(x, y[:, : batch.n_context], torch.from_numpy(batch.n_classes))
        logits = logits.float()
        losses.append(
            float(F.cross_entropy(logits.flatten(0, 1), y[:, batch.n_context :].flatten()))
        )
        for task in range(len(batch.x)):
            k = int(batch.n_classes[task])
            proba = torch.softmax(logits[task, :, :k], -1).cpu().numpy()
            auc = roc_auc(batch.y[task, batch.n_context :], proba, np.arange(k))
            if not math.isnan(auc):
                aucs.append(auc)
    return {"prior_loss": float(np.mean(losses)), "prior_auc": float(np.mean(aucs))}


def probe_tasks(seed: int = 0, n_rows: int = 256) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Tasks with known answers; a model that uses its context scores ROC-AUC ~1 on them."""
    rng = np.random.default_rng([seed, 12345])
    x = rng.normal(size=(n_rows, 5)).astype(np.float32)
    weights = rng.normal(size=5)
    return {
        "probe_x0_gt_0": (x, (x[:, 0] > 0).astype(np.int64)),
        "probe_x0_lt_0": (x, (x[:, 0] < 0).astype(np.int64)),
        "probe_linear": (x, (x @ weights > 0).astype(np.int64)),
        "probe_xor": (x, (x[:, 0] * x[:, 1] > 0).astype(np.int64)),
        "probe_3_bands": (x, np.digitize(x[:, 2], [-0.5, 0.5]).astype(np.int64)),
    }


def probe_scores(model: Any, device: Any) -> dict[str, float]:
    """ROC-AUC of the model on each :func:`probe_tasks` task (half context, half query)."""
    from tabfm._classifier import predict_proba_ensemble
    from tabfm._metrics import roc_auc

    scores = {}
    for name, (x, y) in probe_tasks().items():
        half = len(y) // 2
        n_classes = int(y.max()) + 1
        proba = predict_proba_ensemble(
            model, x[:half], y[:half], x[half:], n_classes, n_estimators=1, device=device
        )
        scores[name] = roc_auc(y[half:], proba, np.arange(n_classes))
    return scores


def _evaluate_panel(model: Any, device: Any, panel: list[Path]) -> dict[str, float]:
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from tabfm._classifier import TabFMClassifier
    from tabfm._metrics import roc_auc

    scores = {}
    for path in panel:
        frame = pd.read_csv(path)
        y, X = frame["target"], frame.drop(columns=["target"])
        X_train, X_test, y_train, y_test = train_test_split(
            X,
            y,
            train_size=min(500, len(y) // 2),
            test_size=min(500, len(y) // 2),
            stratify=y,
            random_state=0,
        )
        classifier = TabFMClassifier(model, n_estimators=2, device=str(device)).fit(
            X_train, y_train
        )
        scores[f"panel_{Path(path).stem}"] = roc_auc(
            y_test, classifier.predict_proba(X_test), classifier.classes_
        )
    scores["panel_mean"] = float(np.mean(list(scores.values())))
    return scores


def _format_record(record: dict[str, float]) -> str:
    parts = [f"step {int(record['step'])}", f"{record['seconds'] / 60:.1f} min"]
    parts += [f"{k}={v:.3f}" for k, v in record.items() if k not in ("step", "seconds")]
    return " ".join(parts)


def _save_checkpoint(
    path: str | Path,
    model: Any,
    optimizer: Any,
    config: PretrainConfig,
    step: int,
    history: list[dict[str, float]],
    elapsed: float,
) -> None:
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "config": config.to_dict(),
        "step": step,
        "history": history,
        "elapsed": elapsed,
        "hardware": hardware_description(),
    }
    temporary = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)  # a slice killed mid-save never leaves a broken checkpoint


def _load_checkpoint(path: str | Path) -> dict[str, Any] | None:
    import torch

    path = Path(path)
    if not path.exists():
        return None
    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is a corrupt checkpoint
        raise TabFMError(f"The checkpoint is corrupt: {str(path)!r} ({e}).") from e
    return state


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by :func:`pretrain` (loaded with ``weights_only=True``).

    Raises:
        TabFMError: If it is missing or corrupt.
    """
    state = _load_checkpoint(path)
    if state is None:
        raise TabFMError(f"The checkpoint does not exist: {str(path)!r}.")
    return state


def hardware_description() -> str:
    """The machine in words (CPU, cores, torch threads, GPU if any)."""
    import torch

    text = f"{_cpu_name()}, {os.cpu_count()} CPU cores, torch {torch.__version__}"
    text += f", {torch.get_num_threads()} torch threads"
    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def export_weights(checkpoint: str | Path, directory: str | Path) -> Path:
    """Write a checkpoint's model as shipped weights: safetensors, JSON config, RECIPE.md.

    Returns:
        The directory.
    """
    from tabfm._model import TabFMModel
    from tabfm._weights import save_weights

    state = load_checkpoint(checkpoint)
    config = PretrainConfig.from_dict(state["config"])
    model = TabFMModel(config.model)
    model.load_state_dict(state["model"])
    history = state["history"]
    final = history[-1] if history else {}
    directory = save_weights(
        model,
        directory,
        extra={"pretrain": config.to_dict(), "step": state["step"], "final_eval": final},
    )
    (directory / "RECIPE.md").write_text(_recipe_card(model, config, state))
    return directory


def _recipe_card(model: Any, config: PretrainConfig, state: dict[str, Any]) -> str:
    history = state["history"]
    lines = [
        "# TabFM shipped weights: recipe card",
        "",
        f"- parameters: {model.n_parameters():,}",
        f"- architecture: `{config.model}`",
        f"- steps trained: {state['step']} of a {config.steps}-step schedule",
        f"- wall time: {state['elapsed'] / 60:.1f} minutes",
        f"- hardware: {state.get('hardware', 'unknown')} (exported on: {hardware_description()})",
        f"- prior: tabfm._prior (random MLP / tree SCMs), <= {config.max_rows} rows, "
        f"<= {config.max_features} features, 2-10 classes, curriculum over the first "
        f"{config.curriculum_fraction:.0%} of the schedule",
        f"- optimiser: AdamW lr {config.learning_rate:g}, weight decay {config.weight_decay:g}, "
        f"{config.warmup_steps} warm-up steps, cosine to {config.min_lr_fraction:g} x peak, "
        f"grad clip {config.grad_clip:g}, {config.max_cells} cells per step",
        "- shipped: the last step; `panel_*` columns (real datasets) were monitored only, "
        "never used to pick a checkpoint",
        "- reproduce: `python -m tabfm.pretrain --steps "
        f"{config.steps} --checkpoint CKPT --resume --export DIR` (in slices)",
        "",
        "## Evaluation history",
        "",
    ]
    if history:
        keys = list(history[-1])
        lines.append("| " + " | ".join(keys) + " |")
        lines.append("|" + "---|" * len(keys))
        shown = history[:: max(1, len(history) // 12)]
        shown += [] if shown[-1] is history[-1] else history[-1:]
        for record in shown:
            lines.append(
                "| " + " | ".join(_cell(record.get(k, float("nan"))) for k in keys) + " |"
            )
    return "\n".join(lines) + "\n"


def _cell(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}"
