"""Causal data augmentation: structure discovery, DAG sampling, SCM fitting and synthesis."""

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
    "load_dataset",
    "load_table",
    "make_generator",
    "sample_dags",
    "split_target",
    "validate_dataset",
]
