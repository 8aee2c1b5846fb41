"""Reference configurations: the points every new tuning study evaluates first.

- ``default_ft``: plain fine-tuning with the registry's defaults (``synthetic_ratio`` 0);
- ``causalmixft``: the CausalMixFT paper's configuration (the ``paper`` space).

:func:`reference_params` maps one onto a search space: the values of the parameters the space
samples (and that are active there), so that ``SearchSpace.suggest`` on a trial fixed to them
returns the reference, as far as the space allows. A value outside the space's domain moves to
the nearest allowed one (the nearest bound, grid point or numeric choice; else the first
choice), and the notes
say so; a parameter the space fixes keeps the space's value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from search_spaces._params import ParamSpec
from search_spaces._registry import default_config
from search_spaces._space import SearchSpace

__all__ = ["REFERENCE_NAMES", "reference_configs", "reference_params"]

REFERENCE_NAMES = ("default_ft", "causalmixft")
"""The references, in the order a new study evaluates them (trial 0, trial 1)."""


def reference_configs() -> dict[str, dict[str, Any]]:
    """The full flat config of each reference, by name (:data:`REFERENCE_NAMES` order)."""
    from search_spaces._loading import load_space

    return {
        "default_ft": {**default_config(), "synthetic_ratio": 0.0},
        "causalmixft": load_space("paper").fixed_config(),
    }


def reference_params(
    space: SearchSpace, config: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The sampled parameters' values that make ``space`` yield ``config``.

    Args:
        space: The study's search space.
        config: A full flat config (e.g. one of :func:`reference_configs`).

    Returns:
        ``(params, notes)``: the values for ``study.enqueue_trial``, and one note per value
        that had to move into the space's domain.
    """
    params: dict[str, Any] = {}
    notes: list[str] = []

    def draw(spec: ParamSpec) -> Any:
        if not spec.is_sampled:
            return spec.value
        wanted = config[spec.name]
        value = _nearest(spec, wanted)
        if value != wanted:
            notes.append(f"{spec.name}={wanted!r} is outside the space: {value!r} instead")
        params[spec.name] = value
        return value

    space._resolve(draw)
    return params, notes


def _nearest(spec: ParamSpec, value: Any) -> Any:
    if spec.type == "categorical":
        if value in spec.choices:
            return value
        numbers = [c for c in spec.choices if _is_number(c)]
        if numbers and _is_number(value):
            return min(numbers, key=lambda c: (abs(c - value), -c))
        return spec.choices[0]
    assert spec.low is not None and spec.high is not None
    number = min(max(float(value), spec.low), spec.high)
    if spec.step is not None:
        steps = round((number - spec.low) / spec.step)
        number = min(spec.low + steps * spec.step, spec.high)
    if spec.type == "int":
        return int(round(number))
    return value if math.isclose(number, float(value)) else number


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
