"""Checkpoints of a pretraining run, and the shipped weights (with their recipe card) exported
from one."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from tabfm._errors import TabFMError
from tabfm.pretrain._config import PretrainConfig


def _save_checkpoint(
    path: str | Path,
    model: Any,
    optimizer: Any,
    config: PretrainConfig,
    step: int,
    history: list[dict[str, float]],
    elapsed: float,
    snapshots: list[dict[str, Any]] | None = None,
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
        "snapshots": snapshots or [],
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


def checkpoint_model(state: dict[str, Any], average_last: int = 1) -> Any:
    """The model of a checkpoint: its last weights, or the mean of the last ``average_last``
    evaluation snapshots (LAWA; the run must have kept that many, see ``keep_snapshots``).

    Raises:
        TabFMError: If the checkpoint holds fewer snapshots than asked for.
    """
    import torch

    from tabfm._model import TabFMModel

    config = PretrainConfig.from_dict(state["config"])
    model = TabFMModel(config.model)
    if average_last <= 1:
        model.load_state_dict(state["model"])
        return model
    snapshots = state.get("snapshots", [])[-average_last:]
    if len(snapshots) < average_last:
        raise TabFMError(
            f"Averaging the last {average_last} checkpoints needs as many snapshots, but the "
            f"checkpoint keeps {len(snapshots)} (train with --keep-snapshots {average_last})."
        )
    model.load_state_dict(
        {
            name: torch.stack([s["model"][name].float() for s in snapshots]).mean(0).to(tensor)
            for name, tensor in state["model"].items()
        }
    )
    return model


def export_weights(checkpoint: str | Path, directory: str | Path, average_last: int = 1) -> Path:
    """Write a checkpoint's model as shipped weights: safetensors, JSON config, RECIPE.md.

    Args:
        checkpoint: A pretraining checkpoint.
        directory: Where the weights go.
        average_last: Ship the mean of the last this many evaluation snapshots (LAWA)
            instead of the last weights.

    Returns:
        The directory.
    """
    from tabfm._weights import save_weights

    state = load_checkpoint(checkpoint)
    config = PretrainConfig.from_dict(state["config"])
    model = checkpoint_model(state, average_last)
    history = state["history"]
    final = history[-1] if history else {}
    averaged = [s["step"] for s in state.get("snapshots", [])[-average_last:]]
    directory = save_weights(
        model,
        directory,
        extra={
            "pretrain": config.to_dict(),
            "step": state["step"],
            "final_eval": final,
            "averaged_steps": averaged if average_last > 1 else [],
        },
    )
    (directory / "RECIPE.md").write_text(_recipe_card(model, config, state, average_last))
    return directory


def _recipe_card(
    model: Any, config: PretrainConfig, state: dict[str, Any], average_last: int = 1
) -> str:
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
        f"{config.curriculum_fraction:.0%} of the schedule"
        + (
            f", {config.fitted_tree_share:.0%} of tree layers fitted to random targets"
            if config.fitted_tree_share
            else ""
        )
        + (
            f", {config.rule_target_share:.0%} of tasks with a logical rule of their "
            "categorical columns as target"
            if config.rule_target_share
            else ""
        )
        + (
            f", {config.tabicl_prior_share:.0%} of tasks from TabICL's prior (tabicl.prior)"
            if config.tabicl_prior_share
            else ""
        ),
        f"- optimiser: {_optimizer_words(config)} lr {config.learning_rate:g}, weight decay "
        f"{config.weight_decay:g}, "
        f"{config.warmup_steps} warm-up steps, cosine to {config.min_lr_fraction:g} x peak, "
        f"grad clip {config.grad_clip:g}, {config.max_cells} cells per step",
        f"- shipped: {_shipped_words(state, average_last)}; `panel_*` columns (real datasets) "
        "were monitored only, never used to pick a checkpoint",
        "- reproduce: `python -m tabfm.pretrain --steps "
        f"{config.steps}{_recipe_flags(config, average_last)} --checkpoint CKPT --resume "
        "--export DIR` (in slices)",
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


_PRIOR_FLAGS = {
    "learning_rate": "--lr",
    "warmup_steps": "--warmup-steps",
    "max_cells": "--max-cells",
    "max_rows": "--max-rows",
    "max_features": "--max-features",
    "fitted_tree_share": "--fitted-trees",
    "rule_target_share": "--rule-targets",
    "tabicl_prior_share": "--tabicl-prior",
    "seed": "--seed",
}
_MODEL_FLAGS = {
    "embed_dim": "--embed-dim",
    "n_layers": "--layers",
    "n_heads": "--heads",
    "thinking_rows": "--thinking-rows",
    "norm": "--norm",
    "residual_decay": "--residual-decay",
    "feature_grouping": "--feature-grouping",
}


def _recipe_flags(config: PretrainConfig, average_last: int) -> str:
    """The ``python -m tabfm.pretrain`` flags that rebuild ``config``: every setting (of the
    prior, the schedule and the architecture) that differs from the CLI's default, which is the
    dataclasses' default."""
    flags = f" --optimizer {config.optimizer}" if config.optimizer != "adamw" else ""
    if config.keep_snapshots:
        flags += f" --keep-snapshots {config.keep_snapshots}"
    if average_last > 1:
        flags += f" --average-last {average_last}"
    for settings, names in ((config, _PRIOR_FLAGS), (config.model, _MODEL_FLAGS)):
        default = type(settings)()
        for attribute, flag in names.items():
            value = getattr(settings, attribute)
            if value == getattr(default, attribute):
                continue
            if isinstance(value, bool):
                flags += f" {flag}"  # a switch, on (its default is off)
            else:
                flags += f" {flag} {value:g}" if isinstance(value, float) else f" {flag} {value}"
    return flags


def _shipped_words(state: dict[str, Any], average_last: int) -> str:
    if average_last <= 1:
        return "the last step"
    steps = [s["step"] for s in state["snapshots"][-average_last:]]
    return f"the mean of the weights at steps {', '.join(map(str, steps))} (LAWA)"


def _optimizer_words(config: PretrainConfig) -> str:
    if config.optimizer == "muon":
        return "Muon (blocks' 2-D weights, updates at AdamW's RMS) + AdamW (the rest),"
    if config.optimizer == "muon_schedulefree":
        return (
            "Muon (blocks' 2-D weights, updates at AdamW's RMS) + schedule-free AdamW (the rest, "
            "constant lr after warm-up; the schedule below is Muon's),"
        )
    return "AdamW"


def _cell(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}"
