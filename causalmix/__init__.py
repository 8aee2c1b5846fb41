"""Causal data augmentation: structure discovery, DAG sampling, SCM fitting and synthesis.

Importing :mod:`causalmix` imports nothing heavy: each public name is loaded from its module on
first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from causalmix._augmenter import CLASS_BALANCES, MECHANISM_QUALITIES, CausalAugmenter
    from causalmix._cache import BaseCache, DirectoryCache, MemoryCache
    from causalmix._dag_sampling import sample_dags
    from causalmix._data import (
        MAX_CLASSES,
        SKLEARN_DATASETS,
        load_dataset,
        load_table,
        split_target,
        validate_dataset,
    )
    from causalmix._discovery import DISCOVERY_ALGORITHMS
    from causalmix._discovery_base import INDEPENDENCE_TESTS, BaseDiscovery, edge_strengths
    from causalmix._errors import CausalMixError
    from causalmix._fci import FCIDiscovery
    from causalmix._generators import (
        GENERATORS,
        BaseGenerator,
        CTGANGenerator,
        SCMGenerator,
        make_generator,
    )
    from causalmix._pc import PCDiscovery
    from causalmix._store import clear_memo

__all__ = [
    "CLASS_BALANCES",
    "DISCOVERY_ALGORITHMS",
    "GENERATORS",
    "INDEPENDENCE_TESTS",
    "MAX_CLASSES",
    "MECHANISM_QUALITIES",
    "SKLEARN_DATASETS",
    "BaseCache",
    "BaseDiscovery",
    "BaseGenerator",
    "CTGANGenerator",
    "CausalAugmenter",
    "CausalMixError",
    "DirectoryCache",
    "FCIDiscovery",
    "MemoryCache",
    "PCDiscovery",
    "SCMGenerator",
    "edge_strengths",
    "clear_memo",
    "load_dataset",
    "load_table",
    "make_generator",
    "sample_dags",
    "split_target",
    "validate_dataset",
]


# Public name -> defining module, imported on first access (`causalmix --help` stays fast).
_LAZY = {
    "BaseCache": "causalmix._cache",
    "BaseDiscovery": "causalmix._discovery_base",
    "BaseGenerator": "causalmix._generators",
    "CLASS_BALANCES": "causalmix._augmenter",
    "CTGANGenerator": "causalmix._generators",
    "CausalAugmenter": "causalmix._augmenter",
    "CausalMixError": "causalmix._errors",
    "DISCOVERY_ALGORITHMS": "causalmix._discovery",
    "DirectoryCache": "causalmix._cache",
    "FCIDiscovery": "causalmix._fci",
    "GENERATORS": "causalmix._generators",
    "INDEPENDENCE_TESTS": "causalmix._discovery_base",
    "MAX_CLASSES": "causalmix._data",
    "MECHANISM_QUALITIES": "causalmix._augmenter",
    "MemoryCache": "causalmix._cache",
    "PCDiscovery": "causalmix._pc",
    "SCMGenerator": "causalmix._generators",
    "SKLEARN_DATASETS": "causalmix._data",
    "edge_strengths": "causalmix._discovery_base",
    "clear_memo": "causalmix._store",
    "load_dataset": "causalmix._data",
    "load_table": "causalmix._data",
    "make_generator": "causalmix._generators",
    "sample_dags": "causalmix._dag_sampling",
    "split_target": "causalmix._data",
    "validate_dataset": "causalmix._data",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'causalmix' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
