"""The built-in tabular foundation model, its pretraining and fine-tuning, and TFM backends.

Importing :mod:`tabfm` imports nothing heavy: each public name is loaded from its module on
first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from tabfm._classifier import TabFMClassifier
    from tabfm._config import MAX_CLASSES, TabFMConfig
    from tabfm._device import resolve_device
    from tabfm._errors import TabFMError
    from tabfm._finetune import finetune, sample_episode
    from tabfm._finetune_config import FinetuneConfig
    from tabfm._finetune_folds import finetune_folds
    from tabfm._finetuned import FineTunedClassifier, make_classifier
    from tabfm._metrics import delong_z, normalized_roc_auc, roc_auc
    from tabfm._model import TabFMModel
    from tabfm._preprocess import TablePreprocessor
    from tabfm._weights import load_model, save_weights, shipped_weights_dir, weights_sha256
    from tabfm.backends import BACKENDS, BaseBackend, get_backend
    from tabfm.backends._tabfm import TabFMBackend
    from tabfm.pretrain import PretrainConfig, export_weights, load_checkpoint, pretrain

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
    "finetune_folds",
    "get_backend",
    "load_checkpoint",
    "load_model",
    "make_classifier",
    "delong_z",
    "normalized_roc_auc",
    "pretrain",
    "resolve_device",
    "roc_auc",
    "sample_episode",
    "save_weights",
    "shipped_weights_dir",
    "weights_sha256",
]


# Each public name is imported from its module on first access (`causalmix --help` stays fast).
__getattr__, _, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "_classifier": ["TabFMClassifier"],
        "_config": ["MAX_CLASSES", "TabFMConfig"],
        "_device": ["resolve_device"],
        "_errors": ["TabFMError"],
        "_finetune": ["finetune", "sample_episode"],
        "_finetune_folds": ["finetune_folds"],
        "_finetune_config": ["FinetuneConfig"],
        "_finetuned": ["FineTunedClassifier", "make_classifier"],
        "_metrics": ["delong_z", "normalized_roc_auc", "roc_auc"],
        "_model": ["TabFMModel"],
        "_preprocess": ["TablePreprocessor"],
        "pretrain": ["PretrainConfig", "export_weights", "load_checkpoint", "pretrain"],
        "_weights": ["load_model", "save_weights", "shipped_weights_dir", "weights_sha256"],
        "backends": ["BACKENDS", "BaseBackend", "get_backend"],
        "backends._tabfm": ["TabFMBackend"],
    },
)


def __dir__() -> list[str]:
    return sorted(__all__)
