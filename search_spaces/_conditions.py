"""Conditions under which a parameter of a search space is active (the ``when:`` key).

A ``when`` mapping names earlier parameters of the same space; all its entries must hold (AND):

* a list: the parameter's value is one of the listed values (``discovery: [pc]``);
* a plain value: the parameter's value equals it (``discovery: pc``);
* a mapping of operators to operands, all of which must hold (``synthetic_ratio: {gt: 0}``):
  ``eq``, ``ne``, ``in``, ``not_in`` (a list), and, for numeric parameters, ``gt``, ``ge``,
  ``lt``, ``le``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from search_spaces._errors import SearchSpaceError
from search_spaces._registry import PARAMETERS

__all__ = [
    "COMPARISONS",
    "OPERATORS",
    "Condition",
    "check_operands",
    "conditions_to_dict",
    "parse_conditions",
]

COMPARISONS: Mapping[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
"""Numeric comparison operators."""

OPERATORS: tuple[str, ...] = ("eq", "ne", "in", "not_in", *COMPARISONS)
"""Every operator a condition mapping accepts."""

_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class Condition:
    """``param <op> value``; for ``in`` / ``not_in`` the value is a tuple."""

    param: str
    op: str
    value: Any

    def holds(self, actual: Any) -> bool:
        """Whether the condition holds when ``param`` has the value ``actual``."""
        if self.op == "in":
            return bool(actual in self.value)
        if self.op == "not_in":
            return bool(actual not in self.value)
        if self.op == "eq":
            return bool(actual == self.value)
        if self.op == "ne":
            return bool(actual != self.value)
        return COMPARISONS[self.op](actual, self.value)

    def describe(self) -> str:
        return f"{self.param} {self.op} {self.value!r}"


def parse_conditions(raw: Any, *, where: str) -> tuple[Condition, ...]:
    """Parse a ``when`` mapping into conditions (checked against the registry domains).

    Args:
        raw: The value of the ``when`` key.
        where: Names the owning parameter in error messages, e.g. ``"`indep_test.when`"``.

    Raises:
        SearchSpaceError: For a malformed condition or an operand outside the domain of the
            parameter it tests. Whether the tested parameter exists in the space, and comes
            earlier, is checked by the space.
    """
    if not isinstance(raw, Mapping) or not raw:
        raise SearchSpaceError(
            f"{where} must be a non-empty mapping of parameter name -> condition, but got {raw!r}."
        )
    conditions: list[Condition] = []
    for param, spec in raw.items():
        if not isinstance(param, str):
            raise SearchSpaceError(f"{where} keys must be parameter names, but got {param!r}.")
        if isinstance(spec, list):
            conditions.append(Condition(param, "in", _operand_list(spec, f"{where}.{param}")))
        elif isinstance(spec, Mapping):
            if not spec:
                raise SearchSpaceError(
                    f"{where}.{param} must name at least one operator "
                    f"({', '.join(OPERATORS)}), but got an empty mapping."
                )
            for op, operand in spec.items():
                conditions.append(_parse_operator(param, op, operand, f"{where}.{param}"))
        elif isinstance(spec, _SCALARS):
            conditions.append(Condition(param, "eq", spec))
        else:
            raise SearchSpaceError(
                f"{where}.{param} must be a value, a list of values or a mapping of operators "
                f"({', '.join(OPERATORS)}), but got {spec!r}."
            )
    return tuple(conditions)


def _operand_list(values: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(values, list) or not values:
        raise SearchSpaceError(f"{where} must be a non-empty list of values, but got {values!r}.")
    for value in values:
        if not isinstance(value, _SCALARS):
            raise SearchSpaceError(f"{where} values must be plain values, but got {value!r}.")
    return tuple(values)


def _parse_operator(param: str, op: Any, operand: Any, where: str) -> Condition:
    if op not in OPERATORS:
        raise SearchSpaceError(
            f"Unknown operator {op!r} in {where}; allowed operators: {', '.join(OPERATORS)}."
        )
    if op in ("in", "not_in"):
        return Condition(param, op, _operand_list(operand, f"{where}.{op}"))
    if op in COMPARISONS and (isinstance(operand, bool) or not isinstance(operand, (int, float))):
        raise SearchSpaceError(
            f"{where}.{op} compares numbers, so its operand must be a number, but got {operand!r}."
        )
    if not isinstance(operand, _SCALARS):
        raise SearchSpaceError(f"{where}.{op} must be a plain value, but got {operand!r}.")
    return Condition(param, op, operand)


def check_operands(condition: Condition, where: str) -> None:
    """Check a condition's operands against the registry domain of the parameter it tests."""
    parameter = PARAMETERS[condition.param]
    if condition.op in COMPARISONS:
        if not parameter.is_numeric:
            raise SearchSpaceError(
                f"{where}.{condition.param}.{condition.op} is a numeric comparison, but "
                f"`{condition.param}` is categorical ({parameter.domain()}); use a list of "
                f"values or eq/ne/in/not_in."
            )
        return
    operands = condition.value if isinstance(condition.value, tuple) else (condition.value,)
    for operand in operands:
        problem = parameter.problem(operand)
        if problem is not None:
            raise SearchSpaceError(
                f"{where}.{condition.param} tests for {operand!r}, but `{condition.param}` "
                f"{problem}."
            )


def conditions_to_dict(conditions: tuple[Condition, ...]) -> dict[str, Any]:
    """The ``when`` mapping that :func:`parse_conditions` turns back into ``conditions``."""
    by_param: dict[str, list[Condition]] = {}
    for condition in conditions:
        by_param.setdefault(condition.param, []).append(condition)
    when: dict[str, Any] = {}
    for param, group in by_param.items():
        if len(group) == 1 and group[0].op == "in":
            when[param] = list(group[0].value)
        elif len(group) == 1 and group[0].op == "eq":
            when[param] = group[0].value
        else:
            when[param] = {
                c.op: list(c.value) if isinstance(c.value, tuple) else c.value for c in group
            }
    return when
