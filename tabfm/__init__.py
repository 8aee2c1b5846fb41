"""The built-in tabular foundation model, its pretraining and fine-tuning, and TFM backends.

Importing :mod:`tabfm` imports nothing heavy: each public name is loaded from its module on
first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tabfm._classifier import TabFMClassifier
    from tabfm._config import MAX_CLASSES, TabFMConfig
    from tabfm._device import resolve_device
    from tabfm._errors import TabFMError
    from tabfm._finetune import finetune, sample_episode
    from tabfm._finetune_config import FinetuneConfig
    from tabfm._finetuned import FineTunedClassifier
    from tabfm._metrics import normalized_roc_auc, roc_auc
    from tabfm._model import TabFMModel
    from tabfm._preprocess import TablePreprocessor
    from tabfm._pretrain import PretrainConfig, export_weights, load_checkpoint, pretrain
    from tabfm._weights import load_model, save_weights, shipped_weights_dir
    from tabfm.backends import BACKENDS, BaseBackend, get_backend
    from tabfm.backends._tabfm import TabFMBackend

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


# Public name -> defining module, imported on first access (`causalmix --help` stays fast).
_LAZY = {
    "BACKENDS": "tabfm.backends",
    "BaseBackend": "tabfm.backends",
    "FineTunedClassifier": "tabfm._finetuned",
    "FinetuneConfig": "tabfm._finetune_config",
    "MAX_CLASSES": "tabfm._config",
    "PretrainConfig": "tabfm._pretrain",
    "TabFMBackend": "tabfm.backends._tabfm",
    "TabFMClassifier": "tabfm._classifier",
    "TabFMConfig": "tabfm._config",
    "TabFMError": "tabfm._errors",
    "TabFMModel": "tabfm._model",
    "TablePreprocessor": "tabfm._preprocess",
    "export_weights": "tabfm._pretrain",
    "finetune": "tabfm._finetune",
    "get_backend": "tabfm.backends",
    "load_checkpoint": "tabfm._pretrain",
    "load_model": "tabfm._weights",
    "normalized_roc_auc": "tabfm._metrics",
    "pretrain": "tabfm._pretrain",
    "resolve_device": "tabfm._device",
    "roc_auc": "tabfm._metrics",
    "sample_episode": "tabfm._finetune",
    "save_weights": "tabfm._weights",
    "shipped_weights_dir": "tabfm._weights",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tabfm' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
