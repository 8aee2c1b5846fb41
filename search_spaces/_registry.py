"""The registry of tunable parameters: group, type, valid domain, default and help line.

A search space only names the parameters it samples or fixes; everything else takes its
default from here. The engines declare their parameters (:class:`causalmix.AugmentationSettings`,
:class:`tabfm.FinetuneConfig`: default, domain, help line) and this registry derives them, so
each is written once; only ``synthetic_ratio`` is declared here.

Two groups exist:

* ``"augmentation"``: the keyword arguments of :class:`causalmix.CausalAugmenter`, plus
  ``synthetic_ratio`` (synthetic rows per real row; ``0`` means plain fine-tuning).
* ``"finetune"``: the tunable fields of :class:`tabfm.FinetuneConfig`, derived from the
  dataclass (its defaults, domains and help lines are declared there, once).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from search_spaces._errors import SearchSpaceError

__all__ = [
    "GROUPS",
    "PARAMETERS",
    "Parameter",
    "check_config",
    "default_config",
    "group_config",
    "split_config",
]

Group = Literal["augmentation", "finetune"]
Kind = Literal["int", "float", "categorical"]

GROUPS: tuple[Group, ...] = ("augmentation", "finetune")
"""The parameter groups, in the order configs list them."""


@dataclass(frozen=True)
class Parameter:
    """One tunable parameter and its valid domain.

    Attributes:
        name: The keyword the engine takes (``alpha``, ``learning_rate``...).
        group: ``"augmentation"`` or ``"finetune"``.
        kind: ``"int"``, ``"float"`` or ``"categorical"``.
        default: The value used when a space neither samples nor fixes the parameter.
        help: One line for ``--help`` style listings.
        low: Lower bound of a numeric domain (``None``: unbounded).
        high: Upper bound of a numeric domain (``None``: unbounded).
        low_open: Whether ``low`` itself is excluded.
        high_open: Whether ``high`` itself is excluded.
        choices: The allowed values of a categorical parameter.
    """

    name: str
    group: Group
    kind: Kind
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] = ()

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("int", "float")

    def domain(self) -> str:
        """The valid domain in words, e.g. ``"a float in (0, 1)"`` or ``"one of pc, fci"``."""
        if self.kind == "categorical":
            return "one of " + ", ".join(str(c) for c in self.choices)
        kind = "an int" if self.kind == "int" else "a float"
        if self.low is not None and self.high is not None:
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            return f"{kind} in {left}{_number(self.low)}, {_number(self.high)}{right}"
        if self.low is not None:
            return f"{kind} {'>' if self.low_open else '>='} {_number(self.low)}"
        if self.high is not None:
            return f"{kind} {'<' if self.high_open else '<='} {_number(self.high)}"
        return kind

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not in this parameter's domain, or ``None`` when it is."""
        if self.kind == "categorical":
            if isinstance(value, bool) or value not in self.choices:
                return f"must be {self.domain()}"
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be {self.domain()} (a number, not {type(value).__name__})"
        if self.kind == "int" and not isinstance(value, int):
            return f"must be {self.domain()} (an int, not {type(value).__name__})"
        if not math.isfinite(value):
            return f"must be {self.domain()} (a finite number)"
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return f"must be {self.domain()}"
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return f"must be {self.domain()}"
        return None

    def coerce(self, value: Any) -> Any:
        """Return ``value`` as this parameter's type (an int given for a float becomes a float)."""
        if self.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _declared(group: Group) -> tuple[Parameter, ...]:
    """The tunable settings an engine declares, with its defaults, domains and help lines (one
    source of truth): :class:`causalmix.AugmentationSettings` and
    :class:`tabfm.FinetuneConfig`. Neither import loads torch or pandas."""
    from causalmix import AugmentationSettings
    from tabfm import FinetuneConfig

    declaration: type = AugmentationSettings if group == "augmentation" else FinetuneConfig

    return tuple(
        Parameter(
            item.name,
            group,
            item.metadata["kind"],
            item.default,
            item.metadata["help"],
            low=item.metadata["low"],
            high=item.metadata["high"],
            low_open=item.metadata["low_open"],
            high_open=item.metadata["high_open"],
            choices=tuple(
                item.metadata["choices"]()
                if callable(item.metadata["choices"])
                else item.metadata["choices"]
            ),
        )
        for item in dataclasses.fields(declaration)
        if item.metadata.get("tunable")
    )


_ALL = (
    # The mixing ratio is an argument of CausalAugmenter.augment (and the trial pipeline), not
    # an augmenter setting, so it is declared here.
    Parameter(
        "synthetic_ratio",
        "augmentation",
        "float",
        1.0,
        "synthetic rows per real row (0 = plain fine-tuning)",
        low=0.0,
        high=10.0,
    ),
    *_declared("augmentation"),
    *_declared("finetune"),
)

PARAMETERS: Mapping[str, Parameter] = types.MappingProxyType({p.name: p for p in _ALL})
"""Every known parameter by name, augmentation first, in a stable order."""


def unknown_parameter_message(name: object, where: str = "") -> str:
    """A message for an unknown parameter name, suggesting the closest known one."""
    known = list(PARAMETERS)
    close = difflib.get_close_matches(str(name), known, n=1) if isinstance(name, str) else []
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"Unknown parameter {name!r}{where}.{hint} Known parameters: {', '.join(known)}."


def default_config() -> dict[str, Any]:
    """Return the full flat config of registry defaults, in registry order."""
    return {name: parameter.default for name, parameter in PARAMETERS.items()}


def check_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a flat config and return it completed with defaults, in registry order.

    Args:
        config: Parameter name -> value; missing parameters take their registry default.

    Returns:
        The full flat config (ints given for float parameters become floats).

    Raises:
        SearchSpaceError: For an unknown name or a value outside its parameter's domain.
    """
    for name in config:
        if name not in PARAMETERS:
            raise SearchSpaceError(unknown_parameter_message(name))
    full = default_config()
    for name, value in config.items():
        parameter = PARAMETERS[name]
        problem = parameter.problem(value)
        if problem is not None:
            raise SearchSpaceError(f"`{name}` {problem}, but got {name}={value!r}.")
        full[name] = parameter.coerce(value)
    return full


def group_config(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Group a flat config by parameter group: ``{"augmentation": {...}, "finetune": {...}}``.

    The config is validated and completed with defaults first (see :func:`check_config`);
    ``synthetic_ratio`` stays in the ``augmentation`` group.
    """
    grouped: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
    for name, value in check_config(config).items():
        grouped[PARAMETERS[name].group][name] = value
    return grouped


def split_config(
    config: Mapping[str, Any],
) -> tuple[dict[str, Any], float, dict[str, Any]]:
    """Split a flat config into what each engine takes.

    Args:
        config: A flat config, e.g. from :meth:`SearchSpace.suggest`; missing parameters take
            their registry default.

    Returns:
        ``(augmentation_kwargs, synthetic_ratio, finetune_kwargs)``: the keyword arguments of
        :class:`causalmix.CausalAugmenter` (without ``synthetic_ratio``), the synthetic ratio,
        and the fields of :class:`tabfm.FinetuneConfig`.

    Raises:
        SearchSpaceError: For an unknown name or a value outside its parameter's domain.
    """
    grouped = group_config(config)
    augmentation = grouped["augmentation"]
    synthetic_ratio = float(augmentation.pop("synthetic_ratio"))
    return augmentation, synthetic_ratio, grouped["finetune"]
