"""Causal data augmentation: structure discovery, DAG sampling, SCM fitting and synthesis."""

from causalmix._cache import BaseCache, DirectoryCache, MemoryCache
from causalmix._data import (
    MAX_CLASSES,
    SKLEARN_DATASETS,
    load_dataset,
    load_table,
    validate_dataset,
)
from causalmix._errors import CausalMixError

__all__ = [
    "MAX_CLASSES",
    "SKLEARN_DATASETS",
    "BaseCache",
    "CausalMixError",
    "DirectoryCache",
    "MemoryCache",
    "load_dataset",
    "load_table",
    "validate_dataset",
]
