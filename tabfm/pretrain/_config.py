"""The configuration of a pretraining run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tabfm._config import TabFMConfig
from tabfm._errors import TabFMError

OPTIMIZERS = ("adamw", "muon", "muon_schedulefree")


@dataclass(frozen=True)
class PretrainConfig:
    """A pretraining run.

    Attributes:
        steps: Total optimiser steps (the learning-rate schedule spans them).
        learning_rate: Peak learning rate (of AdamW, and of Muon, whose updates are scaled to
            AdamW's size).
        optimizer: ``"adamw"`` for every weight, or ``"muon"``: Muon on the 2-D weights inside
            the transformer blocks (attention and MLP matrices), AdamW on the rest (embeddings,
            decoder, biases, norm gains); ``"muon_schedulefree"``: the same with schedule-free
            AdamW (Defazio et al. 2024, the ``schedulefree`` package) on the rest, at a constant
            learning rate after ``warmup_steps``, while Muon keeps the cosine schedule.
        min_lr_fraction: Final learning rate as a fraction of the peak (cosine decay).
        warmup_steps: Linear warm-up steps.
        weight_decay: AdamW weight decay.
        grad_clip: Gradient-norm clip.
        max_cells: Cells ``B * R * (C + 1)`` per step (the batch size adapts to the shape).
        max_rows: Most rows per prior task.
        max_features: Most features per prior task.
        curriculum_fraction: Share of the steps spent ramping from easy to full tasks.
        fitted_tree_share: Share of the prior's tree layers that are tree models fitted to
            random targets (TabICL's tree SCM, ``tabfm._prior``) instead of random oblivious
            trees; training only: the held-out prior tasks of the evaluations stay the default
            prior's, so that runs with different shares are compared on the same tasks.
        rule_target_share: Share of the prior's tasks whose target is a logical rule over
            their categorical columns (``tabfm._prior._rule_classes``); training only, like
            ``fitted_tree_share``.
        tabicl_prior_share: Share of the prior's tasks drawn from TabICL's own prior
            (``tabicl.prior``, which needs the packages tabicl and xgboost) at the same shape;
            training only, like ``fitted_tree_share``.
        eval_every: Steps between evaluations (held-out prior, probes, real-data panel).
        eval_batches: Held-out prior batches per evaluation.
        keep_snapshots: Model weights of the last this many evaluations kept in the checkpoint,
            for checkpoint averaging (LAWA) at export (0: none).
        seed: Seed of the prior, the identity vectors and the initial weights.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        model: The architecture.
    """

    steps: int = 20_000
    learning_rate: float = 1e-3
    optimizer: str = "adamw"
    min_lr_fraction: float = 0.05
    warmup_steps: int = 200
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    max_cells: int = 16_384
    max_rows: int = 512
    max_features: int = 40
    curriculum_fraction: float = 0.4
    fitted_tree_share: float = 0.0
    rule_target_share: float = 0.0
    tabicl_prior_share: float = 0.0
    eval_every: int = 250
    eval_batches: int = 8
    keep_snapshots: int = 0
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
        if self.optimizer not in OPTIMIZERS:
            raise TabFMError(
                f"Unknown optimizer {self.optimizer!r}; choose one of {list(OPTIMIZERS)}."
            )
        for name in ("fitted_tree_share", "rule_target_share", "tabicl_prior_share"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise TabFMError(f"`0 <= {name} <= 1` must hold, but got {name}={share}.")
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
