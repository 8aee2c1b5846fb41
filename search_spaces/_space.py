"""Declarative search spaces.

A space is a YAML (or JSON) mapping with three keys::

    name: default                     # optional in a file (defaults to the file name)
    description: One line for humans. # optional
    params:                           # required; names come from search_spaces.PARAMETERS
      epochs: 4                       # a plain value fixes the parameter
      synthetic_ratio: {type: float, low: 0.0, high: 4.0}
      learning_rate: {type: float, low: 1.0e-6, high: 1.0e-3, log: true}
      n_dags: {type: int, low: 1, high: 32, log: true}
      steps_per_epoch: {type: int, low: 10, high: 50, step: 10}
      discovery:
        type: categorical
        choices: [pc, fci]
        when: {synthetic_ratio: {gt: 0}}   # sampled only when augmentation is on
      indep_test:
        type: categorical
        choices: [auto, fisherz]
        when: {discovery: [pc]}            # one of the listed values
      depth: {value: 2, when: {discovery: fci}}   # fixed, but only when the condition holds

Entries:

* a plain value: fixed;
* ``{type: float|int, low, high, log: false, step: null}``: ``low < high``; ``log: true`` needs
  ``low > 0`` and no ``step``; ``high - low`` must be a multiple of ``step``;
* ``{type: categorical, choices: [...]}``: distinct values, each in the parameter's domain (a
  numeric parameter may be categorical too, e.g. ``choices: [0.5, 1.0, 2.0]``);
* ``{value: v}``: fixed, the form to use with ``when``.

Every bound, choice and fixed value must lie in the registry domain of its parameter. YAML 1.1
reads ``1e-6`` as a string: write ``1.0e-6``.

``when`` (see :mod:`search_spaces._conditions`) names parameters declared *earlier* in the same
space, so sampling follows file order and conditions cannot form a cycle. A parameter is active
when every parameter it tests is active and every condition holds; an inactive parameter is not
sampled and takes its registry default. Parameters the space does not name take their registry
default too, so :meth:`SearchSpace.suggest` always returns the full flat config.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from search_spaces._conditions import check_operands
from search_spaces._errors import SearchSpaceError
from search_spaces._params import ParamSpec, parse_param
from search_spaces._registry import PARAMETERS, default_config, unknown_parameter_message

if TYPE_CHECKING:
    from optuna.trial import BaseTrial

__all__ = ["SearchSpace"]

_TOP_LEVEL_KEYS = ("name", "description", "params")


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space; build it with :meth:`from_dict` or :func:`load_space`.

    Attributes:
        name: The space's name (stored with the study).
        description: One line for humans.
        params: The entries in declaration order (the order in which they are sampled).
    """

    name: str
    description: str
    params: tuple[ParamSpec, ...]

    @classmethod
    def from_dict(
        cls, data: Any, *, default_name: str | None = None, source: str | None = None
    ) -> SearchSpace:
        """Build and validate a space from its dict form (a parsed YAML / JSON document).

        Args:
            data: The mapping with ``name``, ``description`` and ``params``.
            default_name: The name to use when ``data`` has none (a file's stem).
            source: Where ``data`` came from (a path), for error messages.

        Raises:
            SearchSpaceError: Naming the space, the offending key or value and what is allowed.
        """
        label = repr(data.get("name", default_name)) if isinstance(data, Mapping) else "?"
        where = f"Search space {label}" + (f" ({source})" if source else "")
        try:
            return cls._parse(data, default_name)
        except SearchSpaceError as e:
            raise SearchSpaceError(f"{where}: {e}") from e

    @classmethod
    def _parse(cls, data: Any, default_name: str | None) -> SearchSpace:
        if not isinstance(data, Mapping):
            raise SearchSpaceError(
                f"A search space must be a mapping with keys {', '.join(_TOP_LEVEL_KEYS)}, "
                f"but got a {type(data).__name__}."
            )
        for key in data:
            if key not in _TOP_LEVEL_KEYS:
                raise SearchSpaceError(
                    f"Unknown top-level key {key!r}; allowed keys: {', '.join(_TOP_LEVEL_KEYS)}."
                )
        name = data.get("name", default_name)
        if not isinstance(name, str) or not name.strip():
            raise SearchSpaceError(f"`name` must be a non-empty string, but got name={name!r}.")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise SearchSpaceError(
                f"`description` must be a string, but got description={description!r}."
            )
        if "params" not in data:
            raise SearchSpaceError("The key `params` is missing (a mapping name -> entry).")
        raw_params = data["params"]
        if not isinstance(raw_params, Mapping):
            raise SearchSpaceError(
                f"`params` must be a mapping of parameter name -> entry, but got {raw_params!r}."
            )
        for param_name in raw_params:
            if param_name not in PARAMETERS:
                raise SearchSpaceError(unknown_parameter_message(param_name, " in `params`"))
        specs = tuple(parse_param(param_name, raw) for param_name, raw in raw_params.items())
        _check_conditions(specs)
        return cls(name=name, description=description, params=specs)

    def to_dict(self) -> dict[str, Any]:
        """The dict form (JSON and YAML safe) that :meth:`from_dict` turns back into ``self``.

        The order of ``params`` matters (conditions test earlier parameters): serialise with
        ``yaml.safe_dump(..., sort_keys=False)`` and never ``json.dumps(..., sort_keys=True)``.
        """
        return {
            "name": self.name,
            "description": self.description,
            "params": {spec.name: spec.to_dict() for spec in self.params},
        }

    @property
    def sampled(self) -> tuple[str, ...]:
        """Names of the parameters this space samples (possibly only under conditions)."""
        return tuple(spec.name for spec in self.params if spec.is_sampled)

    @property
    def is_fixed(self) -> bool:
        """Whether the space samples nothing (one configuration, e.g. ``paper``)."""
        return not self.sampled

    def largest(self, name: str) -> Any:
        """The largest value parameter ``name`` can take in this space: its upper bound, its
        largest choice or its fixed value, and its default where the space leaves it out or
        sets it only under a condition (e.g. the most ``epochs`` a trial can run).

        Raises:
            SearchSpaceError: If ``name`` is not a parameter.
        """
        defaults = default_config()
        if name not in defaults:
            raise SearchSpaceError(f"Unknown parameter {name!r}.")
        values = []
        for spec in self.params:
            if spec.name != name:
                continue
            if spec.type == "fixed":
                values.append(spec.value)
            elif spec.type == "categorical":
                values.extend(spec.choices)
            else:
                values.append(spec.high)
            if spec.when:
                values.append(defaults[name])
        return max(values) if values else defaults[name]

    def suggest(self, trial: BaseTrial) -> dict[str, Any]:
        """Sample a configuration with ``trial.suggest_*`` calls.

        Args:
            trial: An Optuna trial (``Trial``, ``FixedTrial``...).

        Returns:
            The full flat config, in registry order: sampled and fixed values of active
            parameters, registry defaults for inactive and unnamed ones.
        """
        return self._resolve(lambda spec: spec.draw(trial))

    def fixed_config(self) -> dict[str, Any]:
        """The full flat config of a space that samples nothing.

        Raises:
            SearchSpaceError: If the space samples a parameter.
        """
        if self.sampled:
            raise SearchSpaceError(
                f"Search space {self.name!r} samples {', '.join(self.sampled)}, so it has no "
                "single fixed config; use suggest(trial) or a space such as 'paper'."
            )
        return self._resolve(lambda spec: spec.value)

    def _resolve(self, draw: Callable[[ParamSpec], Any]) -> dict[str, Any]:
        config = default_config()
        active: dict[str, bool] = {}
        for spec in self.params:
            is_active = all(active[c.param] and c.holds(config[c.param]) for c in spec.when)
            active[spec.name] = is_active
            if is_active:
                config[spec.name] = draw(spec)
        return config


def _check_conditions(specs: tuple[ParamSpec, ...]) -> None:
    """References must name earlier parameters of the space; operands must fit their domain."""
    declared = [spec.name for spec in specs]
    for spec in specs:
        where = f"`{spec.name}.when`"
        for condition in spec.when:
            if condition.param not in PARAMETERS:
                raise SearchSpaceError(unknown_parameter_message(condition.param, f" in {where}"))
            if condition.param not in declared:
                close = difflib.get_close_matches(condition.param, declared, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise SearchSpaceError(
                    f"{where} tests {condition.param!r}, which this space does not declare (it "
                    f"would always be its default {PARAMETERS[condition.param].default!r}).{hint} "
                    f"Declared parameters: {', '.join(declared)}."
                )
    cycle = _find_cycle(specs)
    if cycle:
        raise SearchSpaceError(
            f"The `when` conditions form a cycle (each tests the next): {' -> '.join(cycle)}."
        )
    for index, spec in enumerate(specs):
        earlier = declared[:index]
        for condition in spec.when:
            if condition.param not in earlier:
                raise SearchSpaceError(
                    f"`{spec.name}.when` tests {condition.param!r}, which is declared after "
                    f"{spec.name!r}; declare {condition.param!r} first (conditions may only "
                    "test earlier parameters)."
                )
            check_operands(condition, f"`{spec.name}.when`")


def _find_cycle(specs: tuple[ParamSpec, ...]) -> list[str]:
    """A cycle of the "is tested by" graph as ``[a, b, a]``, or ``[]`` when there is none."""
    edges = {spec.name: [c.param for c in spec.when] for spec in specs}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for parent in edges.get(node, []):
            if state.get(parent) == 1:
                return [*path[path.index(parent) :], parent]
            if parent not in state:
                found = visit(parent)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for spec in specs:
        if spec.name not in state:
            found = visit(spec.name)
            if found:
                return found
    return []
