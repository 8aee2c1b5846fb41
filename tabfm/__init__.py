"""The built-in tabular foundation model, its pretraining and fine-tuning, and TFM backends."""

from tabfm._errors import TabFMError

__all__ = ["TabFMError"]
