"""Pretraining TabFM on the synthetic prior, in resumable slices (``python -m tabfm.pretrain``).

The loop and its configuration (:mod:`._loop`), the evaluations it logs (:mod:`._evaluation`),
checkpoints and the export of the shipped weights (:mod:`._checkpoint`), the command line
(:mod:`._cli`).
"""

from __future__ import annotations

from tabfm.pretrain._checkpoint import checkpoint_model, export_weights, load_checkpoint
from tabfm.pretrain._cli import main
from tabfm.pretrain._config import PretrainConfig
from tabfm.pretrain._evaluation import evaluate, prior_task_losses
from tabfm.pretrain._loop import learning_rate_at, pretrain, seconds_per_step

__all__ = [
    "PretrainConfig",
    "checkpoint_model",
    "evaluate",
    "export_weights",
    "learning_rate_at",
    "load_checkpoint",
    "main",
    "pretrain",
    "prior_task_losses",
    "seconds_per_step",
]
