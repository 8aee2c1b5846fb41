"""The typed configuration of the fine-tuning engine."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from tabfm._errors import TabFMError

QUERY_SOURCES = ("real", "mixed")
METRICS = ("roc_auc", "log_loss")
_FLOAT_FIELDS = (
    "learning_rate",
    "weight_decay",
    "warmup_fraction",
    "grad_clip",
    "query_fraction",
    "min_delta",
)


@dataclass(frozen=True)
class FinetuneConfig:
    """How :func:`tabfm.finetune` trains.

    The defaults suit small tables (hundreds of rows) and a CPU: about a minute per run for
    the built-in model on a 1,000-row table (see ``benchmarks/finetune.py``).

    Attributes:
        learning_rate: Peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_fraction: Share of all steps spent warming up linearly, in ``[0, 1)``; then
            cosine decay to zero.
        grad_clip: Gradient-norm clip (``> 0``).
        epochs: Epochs; each ends with a validation.
        steps_per_epoch: Optimiser steps per epoch.
        episodes_per_step: Episodes (context/query splits) averaged per step.
        context_size: Most rows (context + query) in one episode.
        query_fraction: Share of an episode's rows used as queries, in ``(0, 1)``.
        query_source: ``"real"``: queries are real rows only (synthetic rows only ever serve as
            context); ``"mixed"``: queries come from the whole pool.
        patience: Epochs without validation improvement before stopping (``0`` = never stop).
        metric: Validation metric choosing the best epoch: ``"roc_auc"`` or ``"log_loss"``.
        min_delta: Smallest gain of the metric that counts as an improvement (``>= 0``); on
            small validation splits, smaller gains are noise, and taking them trades the
            pre-trained weights for a model that is as likely to be worse on new rows.
        eval_estimators: Ensemble members used for validation predictions.
        seed: Seed of the episodes and per-episode permutations.
        device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    """

    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    grad_clip: float = 1.0
    epochs: int = 5
    steps_per_epoch: int = 8
    episodes_per_step: int = 2
    context_size: int = 512
    query_fraction: float = 0.3
    query_source: str = "real"
    patience: int = 3
    metric: str = "roc_auc"
    min_delta: float = 1e-3
    eval_estimators: int = 1
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TabFMError(f"`{name}` must be a number, but got {name}={value!r}.")
        _require(self.learning_rate > 0, "learning_rate > 0", "learning_rate", self.learning_rate)
        _require(self.weight_decay >= 0, "weight_decay >= 0", "weight_decay", self.weight_decay)
        _require(
            0 <= self.warmup_fraction < 1,
            "0 <= warmup_fraction < 1",
            "warmup_fraction",
            self.warmup_fraction,
        )
        _require(self.grad_clip > 0, "grad_clip > 0", "grad_clip", self.grad_clip)
        for name in ("epochs", "steps_per_epoch", "episodes_per_step", "eval_estimators"):
            value = getattr(self, name)
            _require(_is_int(value) and value >= 1, f"{name} >= 1", name, value)
        _require(
            _is_int(self.context_size) and self.context_size >= 8,
            "context_size >= 8",
            "context_size",
            self.context_size,
        )
        _require(
            0 < self.query_fraction < 1,
            "0 < query_fraction < 1",
            "query_fraction",
            self.query_fraction,
        )
        _require(
            self.query_source in QUERY_SOURCES,
            f"query_source in {QUERY_SOURCES}",
            "query_source",
            self.query_source,
        )
        _require(
            _is_int(self.patience) and self.patience >= 0,
            "patience >= 0",
            "patience",
            self.patience,
        )
        _require(self.metric in METRICS, f"metric in {METRICS}", "metric", self.metric)
        _require(self.min_delta >= 0, "min_delta >= 0", "min_delta", self.min_delta)
        _require(_is_int(self.seed), "seed is an int", "seed", self.seed)
        device = self.device
        valid_device = isinstance(device, str) and (
            device in ("auto", "cpu", "cuda")
            or (device.startswith("cuda:") and device[5:].isdigit())
        )
        _require(valid_device, "device in ('auto', 'cpu', 'cuda', 'cuda:N')", "device", device)

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FinetuneConfig:
        """Rebuild from :meth:`to_dict` output.

        Raises:
            TabFMError: On unknown keys or invalid values.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TabFMError(f"Unknown FinetuneConfig keys: {unknown}.")
        return cls(**data)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(condition: Any, text: str, name: str, value: Any) -> None:
    is_nan = isinstance(value, float) and math.isnan(value)
    if is_nan or not condition:
        raise TabFMError(f"`{text}` must hold, but got {name}={value!r}.")
