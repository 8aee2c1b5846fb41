"""One entry of a search space's ``params`` mapping: a fixed value or a distribution."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from search_spaces._conditions import Condition, conditions_to_dict, parse_conditions
from search_spaces._errors import SearchSpaceError
from search_spaces._registry import PARAMETERS, Parameter

if TYPE_CHECKING:
    from optuna.trial import BaseTrial

__all__ = ["ParamSpec", "parse_param"]

SpecType = Literal["fixed", "int", "float", "categorical"]

_KEYS: Mapping[str, tuple[str, ...]] = {
    "fixed": ("value", "when"),
    "int": ("type", "low", "high", "log", "step", "when"),
    "float": ("type", "low", "high", "log", "step", "when"),
    "categorical": ("type", "choices", "when"),
}
_SAMPLED_TYPES = ("float", "int", "categorical")


@dataclass(frozen=True)
class ParamSpec:
    """How a space sets one parameter.

    Attributes:
        name: The registry name of the parameter.
        type: ``"fixed"`` (``value``), ``"int"`` / ``"float"`` (``low``, ``high``, ``log``,
            ``step``) or ``"categorical"`` (``choices``).
        when: Conditions that must all hold for the parameter to be active; an inactive
            parameter takes its registry default.
    """

    name: str
    type: SpecType
    value: Any = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    when: tuple[Condition, ...] = ()

    @property
    def is_sampled(self) -> bool:
        return self.type != "fixed"

    def draw(self, trial: BaseTrial) -> Any:
        """The value for this trial: the fixed value, or a ``trial.suggest_*`` call."""
        if self.type == "fixed":
            return self.value
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        assert self.low is not None and self.high is not None
        if self.type == "int":
            return trial.suggest_int(
                self.name,
                int(self.low),
                int(self.high),
                step=1 if self.step is None else int(self.step),
                log=self.log,
            )
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def to_dict(self) -> Any:
        """The space-file form of this entry (a plain value for an unconditional fixed one)."""
        entry: dict[str, Any]
        if self.type == "fixed":
            if not self.when:
                return self.value
            entry = {"value": self.value}
        elif self.type == "categorical":
            entry = {"type": "categorical", "choices": list(self.choices)}
        else:
            entry = {"type": self.type, "low": self.low, "high": self.high}
            if self.log:
                entry["log"] = True
            if self.step is not None:
                entry["step"] = self.step
        if self.when:
            entry["when"] = conditions_to_dict(self.when)
        return entry


def parse_param(name: str, raw: Any) -> ParamSpec:
    """Parse and validate one ``params`` entry against the registry.

    Raises:
        SearchSpaceError: Naming the parameter, the offending key or value, and what is allowed.
    """
    parameter = PARAMETERS[name]
    if not isinstance(raw, Mapping):
        return ParamSpec(name, "fixed", value=_fixed_value(parameter, raw))
    spec_type: Any = "fixed" if "value" in raw else raw.get("type")
    allowed_types = _allowed_types(parameter)
    if spec_type is None:
        raise SearchSpaceError(
            f"`{name}` needs a `type` (one of {', '.join(allowed_types)}) or a `value`, "
            f"but got keys {sorted(map(str, raw))}."
        )
    if spec_type != "fixed" and spec_type not in allowed_types:
        raise SearchSpaceError(
            f"`{name}.type` must be one of {', '.join(allowed_types)} for {name} "
            f"({parameter.domain()}), but got type={spec_type!r}."
        )
    for key in raw:
        if key not in _KEYS[spec_type]:
            raise SearchSpaceError(
                f"Unknown key {key!r} in `{name}` (type {spec_type}); allowed keys: "
                f"{', '.join(_KEYS[spec_type])}."
            )
    when = parse_conditions(raw["when"], where=f"`{name}.when`") if "when" in raw else ()
    if spec_type == "fixed":
        return ParamSpec(name, "fixed", value=_fixed_value(parameter, raw["value"]), when=when)
    if spec_type == "categorical":
        return ParamSpec(name, "categorical", choices=_choices(parameter, raw), when=when)
    return _numeric(parameter, spec_type, raw, when)


def _allowed_types(parameter: Parameter) -> tuple[str, ...]:
    if parameter.kind == "categorical":
        return ("categorical",)
    return (parameter.kind, "categorical")


def _fixed_value(parameter: Parameter, value: Any) -> Any:
    if isinstance(value, (list, Mapping)) or value is None:
        raise SearchSpaceError(
            f"`{parameter.name}` must be a plain value ({parameter.domain()}) or a mapping with "
            f"`type` or `value`, but got {parameter.name}={value!r}."
        )
    _check_domain(parameter, value, parameter.name)
    return parameter.coerce(value)


def _check_domain(parameter: Parameter, value: Any, key: str) -> None:
    problem = parameter.problem(value)
    if problem is not None:
        hint = ""
        if isinstance(value, str) and parameter.is_numeric and _looks_numeric(value):
            hint = " (YAML reads 1e-6 as a string: write 1.0e-6)"
        raise SearchSpaceError(f"`{key}` {problem}, but got {key}={value!r}{hint}.")


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _choices(parameter: Parameter, raw: Mapping[str, Any]) -> tuple[Any, ...]:
    name = parameter.name
    choices = raw.get("choices")
    if not isinstance(choices, list) or not choices:
        raise SearchSpaceError(
            f"`{name}.choices` must be a non-empty list of values ({parameter.domain()}), "
            f"but got choices={choices!r}."
        )
    for choice in choices:
        _check_domain(parameter, choice, f"{name}.choices")
    coerced = tuple(parameter.coerce(choice) for choice in choices)
    if len(set(coerced)) != len(coerced):
        raise SearchSpaceError(
            f"`{name}.choices` must not repeat a value, but got choices={choices!r}."
        )
    return coerced


def _numeric(
    parameter: Parameter, spec_type: Literal["int", "float"], raw: Mapping[str, Any], when: Any
) -> ParamSpec:
    name = parameter.name
    bounds = {}
    for key in ("low", "high"):
        if key not in raw:
            raise SearchSpaceError(
                f"`{name}` (type {spec_type}) needs `low` and `high`, but `{key}` is missing."
            )
        _check_domain(parameter, raw[key], f"{name}.{key}")
        bounds[key] = parameter.coerce(raw[key])
    low, high = bounds["low"], bounds["high"]
    if low >= high:
        raise SearchSpaceError(
            f"`{name}.low < {name}.high` must hold (use a plain value to fix a parameter), "
            f"but got low={low!r}, high={high!r}."
        )
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise SearchSpaceError(f"`{name}.log` must be true or false, but got log={log!r}.")
    if log and low <= 0:
        raise SearchSpaceError(
            f"`{name}.low > 0` must hold on a log scale, but got low={low!r}, log=true."
        )
    step = raw.get("step")
    if step is not None:
        _check_step(name, spec_type, low, high, log, step)
        step = float(step) if spec_type == "float" else step
    return ParamSpec(name, spec_type, low=low, high=high, log=log, step=step, when=when)


def _check_step(name: str, spec_type: str, low: float, high: float, log: bool, step: Any) -> None:
    number = int if spec_type == "int" else (int, float)
    if isinstance(step, bool) or not isinstance(step, number) or step <= 0:
        raise SearchSpaceError(
            f"`{name}.step` must be a positive {spec_type}, but got step={step!r}."
        )
    if log:
        raise SearchSpaceError(
            f"`{name}` cannot combine `step` and `log: true`, but got step={step!r}, log=true."
        )
    n_steps = (high - low) / step
    if not math.isclose(n_steps, round(n_steps), rel_tol=0, abs_tol=1e-9):
        raise SearchSpaceError(
            f"`{name}.high - {name}.low` must be a multiple of `{name}.step`, but got "
            f"low={low!r}, high={high!r}, step={step!r}."
        )
