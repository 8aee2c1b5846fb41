"""The built-in tabular foundation model, its pretraining and fine-tuning, and TFM backends.

Importing :mod:`tabfm` does not import torch; the network class :class:`TabFMModel` is loaded
on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tabfm._backend import BACKENDS, BaseBackend, TabFMBackend, get_backend
from tabfm._classifier import TabFMClassifier
from tabfm._config import MAX_CLASSES, TabFMConfig
from tabfm._device import resolve_device
from tabfm._errors import TabFMError
from tabfm._finetune import finetune, sample_episode
from tabfm._finetune_config import FinetuneConfig
from tabfm._finetuned import FineTunedClassifier
from tabfm._metrics import normalized_roc_auc, roc_auc
from tabfm._preprocess import TablePreprocessor
from tabfm._pretrain import PretrainConfig, export_weights, load_checkpoint, pretrain
from tabfm._weights import load_model, save_weights, shipped_weights_dir

if TYPE_CHECKING:
    from tabfm._model import TabFMModel

__all__ = [
    "BACKENDS",
    "MAX_CLASSES",
    "BaseBackend",
    "FineTunedClassifier",
    "FinetuneConfig",
    "PretrainConfig",
    "TabFMBackend",
    "TabFMClassifier",
    "TabFMConfig",
    "TabFMError",
    "TabFMModel",
    "TablePreprocessor",
    "export_weights",
    "finetune",
    "get_backend",
    "load_checkpoint",
    "load_model",
    "normalized_roc_auc",
    "pretrain",
    "resolve_device",
    "roc_auc",
    "sample_episode",
    "save_weights",
    "shipped_weights_dir",
]


def __getattr__(name: str) -> Any:
    if name == "TabFMModel":  # imports torch, so only on first use
        from tabfm._model import TabFMModel

        return TabFMModel
    raise AttributeError(f"module 'tabfm' has no attribute {name!r}")
