"""Causal data augmentation: structure discovery, DAG sampling, SCM fitting and synthesis.

Importing :mod:`causalmix` imports nothing heavy: each public name is loaded from its module on
first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from causalmix._augmenter import CausalAugmenter
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
    from causalmix._discovery import DG_MAX_NODES, DISCOVERY_ALGORITHMS
    from causalmix._discovery_base import INDEPENDENCE_TESTS, BaseDiscovery, edge_strengths
    from causalmix._errors import CausalMixError, DiscoveryTimeoutError
    from causalmix._fci import FCIDiscovery
    from causalmix._generators import (
        GENERATORS,
        BaseGenerator,
        CTGANGenerator,
        SCMGenerator,
        make_generator,
    )
    from causalmix._pc import PCDiscovery
    from causalmix._settings import CLASS_BALANCES, MECHANISM_QUALITIES, AugmentationSettings
    from causalmix._store import clear_memo

__all__ = [
    "CLASS_BALANCES",
    "AugmentationSettings",
    "DG_MAX_NODES",
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
    "DiscoveryTimeoutError",
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


# Each public name is imported from its module on first access (`causalmix --help` stays fast).
__getattr__, _, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "_augmenter": ["CausalAugmenter"],
        "_settings": ["AugmentationSettings", "CLASS_BALANCES", "MECHANISM_QUALITIES"],
        "_cache": ["BaseCache", "DirectoryCache", "MemoryCache"],
        "_dag_sampling": ["sample_dags"],
        "_data": [
            "MAX_CLASSES",
            "SKLEARN_DATASETS",
            "load_dataset",
            "load_table",
            "split_target",
            "validate_dataset",
        ],
        "_discovery": ["DG_MAX_NODES", "DISCOVERY_ALGORITHMS"],
        "_discovery_base": ["BaseDiscovery", "INDEPENDENCE_TESTS", "edge_strengths"],
        "_errors": ["CausalMixError", "DiscoveryTimeoutError"],
        "_fci": ["FCIDiscovery"],
        "_generators": [
            "BaseGenerator",
            "CTGANGenerator",
            "GENERATORS",
            "SCMGenerator",
            "make_generator",
        ],
        "_pc": ["PCDiscovery"],
        "_store": ["clear_memo"],
    },
)


def __dir__() -> list[str]:
    return sorted(__all__)
