"""Declarative search spaces for tuning causal augmentation and fine-tuning.

The space format is documented in :mod:`search_spaces._space`; the known parameters, their
domains and their defaults live in :data:`PARAMETERS`.
"""

from search_spaces._conditions import Condition
from search_spaces._errors import SearchSpaceError
from search_spaces._loading import SPACE_SUFFIXES, list_spaces, load_space, load_yaml
from search_spaces._params import ParamSpec
from search_spaces._portfolio import (
    Portfolio,
    greedy_portfolio,
    list_portfolios,
    load_portfolio,
    write_portfolio,
)
from search_spaces._references import REFERENCE_NAMES, reference_configs, reference_params
from search_spaces._registry import (
    GROUPS,
    PARAMETERS,
    Parameter,
    check_config,
    default_config,
    group_config,
    split_config,
)
from search_spaces._space import SearchSpace

__all__ = [
    "GROUPS",
    "PARAMETERS",
    "REFERENCE_NAMES",
    "SPACE_SUFFIXES",
    "Condition",
    "ParamSpec",
    "Parameter",
    "Portfolio",
    "SearchSpace",
    "SearchSpaceError",
    "check_config",
    "default_config",
    "greedy_portfolio",
    "group_config",
    "list_portfolios",
    "list_spaces",
    "load_portfolio",
    "load_space",
    "load_yaml",
    "reference_configs",
    "reference_params",
    "split_config",
    "write_portfolio",
]
