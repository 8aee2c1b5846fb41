"""The settings of a tuning study, stored in the study so that any worker can rebuild it."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tabfm._device import is_device_name
from tuner._defaults import DEFAULT_DISCOVERY_TIMEOUT, PRUNERS
from tuner._errors import TunerError

__all__ = ["FORMAT_VERSION", "PRUNERS", "StudySettings", "dataset_fingerprint"]

FORMAT_VERSION = 1
"""Version of the settings stored in ``study.user_attrs["causalmix"]``."""


@dataclass
class StudySettings:
    """Everything a worker needs to evaluate trials of a study.

    Attributes:
        data: Dataset address (a path or ``sklearn:NAME``), as given to ``tune``.
        target: Target column.
        space: The search space as a dict (``SearchSpace.to_dict()``).
        seed: Seed of every random choice (folds, samplers, augmentation, fine-tuning).
        n_folds: Inner cross-validation folds per trial.
        valid_fraction: Share of each fold's training rows held out for early stopping.
        pruner: ``auto`` (Wilcoxon with >= 5 folds, else median), ``wilcoxon``, ``median``,
            ``forgiving`` (early-stopping cross-validation: stop once the running mean is
            below the incumbent's worst fold), ``hyperband`` (Optuna's Hyperband over the
            fine-tuning budget, one epoch the unit, judged after every epoch) or ``none``.
        backend: Foundation-model backend name.
        weights: Local weights path for the backend (``None`` = its shipped/default weights).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        fold_batching: Fine-tune a trial's inner folds together, as one network with stacked
            weights (:func:`tabfm.finetune_folds`; backends that cannot stack train them one by
            one). Same results to float tolerance, fewer kernel launches; but the pruner then
            sees every fold at once, so it cannot stop a trial after its first folds.
        discovery_timeout: Seconds a fold's structure discovery may take (``None``: no
            limit); past it the trial is pruned, with the reason in its user attribute
            ``pruned_reason``.
        categorical_max_levels: Whole-number columns with 2 to this many distinct context
            values are categories whose codes the ensemble and fine-tuning shuffle (``0``:
            none; ``None``: the backend's default, 3 for TabFM). TabFM only.
        dataset_fingerprint: SHA-256 of the dataset, checked by every worker.
        n_rows / n_features / classes: Facts about the dataset, for exports and summaries.
        zero_shot_roc_auc: Per-fold ROC-AUC of the pre-trained model on the device the study
            first ran on (``zero_shot_device``).
        zero_shot_device: That device, in words (``BaseBackend.device_name``).
        zero_shot_by_device: The per-fold baseline on every device the study ran on: a trial
            is normalized against the zero-shot model on its own device (bf16 on a GPU and
            fp32 on a CPU differ), so a study resumed elsewhere computes its own.
    """

    data: str
    target: str
    space: dict[str, Any]
    seed: int = 0
    n_folds: int = 3
    valid_fraction: float = 0.2
    pruner: str = "auto"
    backend: str = "tabfm"
    weights: str | None = None
    device: str = "auto"
    fold_batching: bool = False
    discovery_timeout: float | None = DEFAULT_DISCOVERY_TIMEOUT
    categorical_max_levels: int | None = None
    dataset_fingerprint: str = ""
    n_rows: int = 0
    n_features: int = 0
    classes: list[Any] = field(default_factory=list)
    zero_shot_roc_auc: list[float] = field(default_factory=list)
    zero_shot_device: str = ""
    zero_shot_by_device: dict[str, list[float]] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.n_folds < 2:
            raise TunerError(f"`n_folds >= 2` must hold, but got n_folds={self.n_folds}.")
        if not 0.0 < self.valid_fraction < 0.5:
            raise TunerError(
                "`0 < valid_fraction < 0.5` must hold, but got "
                f"valid_fraction={self.valid_fraction}."
            )
        if self.pruner not in PRUNERS:
            raise TunerError(f"Unknown pruner {self.pruner!r}; choose one of {list(PRUNERS)}.")
        timeout = self.discovery_timeout
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not np.isfinite(timeout)
            or timeout <= 0
        ):
            raise TunerError(
                "`discovery_timeout` must be a number of seconds > 0 or None, but got "
                f"discovery_timeout={timeout!r}."
            )
        if self.categorical_max_levels is not None:
            from tabfm._classifier import check_categorical_max_levels

            check_categorical_max_levels(self.categorical_max_levels)
        if not is_device_name(self.device):
            raise TunerError(
                f"Unknown device {self.device!r}; choose one of ['auto', 'cpu', 'cuda'] or "
                "'cuda:N'."
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> StudySettings:
        version = values.get("format_version")
        if version != FORMAT_VERSION:
            raise TunerError(
                f"The study was written by an incompatible version (settings format "
                f"{version!r}, this version reads {FORMAT_VERSION})."
            )
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def resolved_pruner(self) -> str:
        if self.pruner == "auto":
            # The Wilcoxon signed-rank test cannot reach p < 0.1 with fewer than 5 paired
            # folds, so it would never prune; a median pruner does.
            return "wilcoxon" if self.n_folds >= 5 else "median"
        return self.pruner


def dataset_fingerprint(X: pd.DataFrame, y: pd.Series) -> str:
    """A SHA-256 of the dataset's column names, dtypes and values (row order included)."""
    digest = hashlib.sha256()
    for name, dtype in zip(X.columns, X.dtypes):
        digest.update(f"{name}\x00{dtype}\x00".encode())
    digest.update(f"target\x00{y.dtype}\x00".encode())
    digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    digest.update(
        pd.util.hash_pandas_object(y.astype(str), index=False).to_numpy(np.uint64).tobytes()
    )
    return digest.hexdigest()
