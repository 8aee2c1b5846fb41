"""The augmenter's settings, declared once: defaults, domains, help lines.

:class:`CausalAugmenter` takes its defaults from :class:`AugmentationSettings` and validates
through it; the search-space registry (:mod:`search_spaces`) derives its augmentation
parameters from it. This module imports NumPy at most (for the discovery registry), so the
command line can read it while answering ``--help``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from causalmix._discovery import DISCOVERY_ALGORITHMS
from causalmix._discovery_base import INDEPENDENCE_TESTS
from causalmix._errors import CausalMixError

__all__ = [
    "CLASS_BALANCES",
    "MECHANISM_QUALITIES",
    "AugmentationSettings",
    "choices_of",
    "setting",
]

MECHANISM_QUALITIES = ("linear", "good", "better")
CLASS_BALANCES = ("match", "uniform")


def setting(
    default: Any,
    help: str,
    *,
    kind: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]] = (),
) -> Any:
    """A dataclass field declaring its domain and help line (read by the search spaces);
    ``choices`` may be a function returning the current ones (see :func:`choices_of`)."""
    metadata: dict[str, Any] = {"help": help, "kind": kind, "low": low, "high": high}
    metadata |= {"low_open": low_open, "high_open": high_open, "choices": choices}
    metadata["tunable"] = True
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class AugmentationSettings:
    """The tunable settings of :class:`~causalmix.CausalAugmenter` (see its arguments)."""

    discovery: str = setting(
        "pc",
        "structure discovery algorithm",
        kind="categorical",
        # Read when asked, so that an algorithm registered later (one line in
        # DISCOVERY_ALGORITHMS) is valid too.
        choices=lambda: tuple(DISCOVERY_ALGORITHMS),
    )
    indep_test: str = setting(
        "auto",
        "conditional independence test (auto picks by column types)",
        kind="categorical",
        choices=("auto", *INDEPENDENCE_TESTS),
    )
    alpha: float = setting(
        0.05,
        "significance level of the independence tests",
        kind="float",
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
    )
    depth: int = setting(-1, "largest conditioning set size (-1 = unlimited)", kind="int", low=-1)
    n_bootstrap: int = setting(
        20, "bootstrap resamples for edge probabilities", kind="int", low=1, high=200
    )
    n_dags: int = setting(
        8, "DAGs sampled from the edge probabilities", kind="int", low=1, high=256
    )
    mechanism_quality: str = setting(
        "linear",
        "DoWhy gcm mechanism assignment quality",
        kind="categorical",
        choices=MECHANISM_QUALITIES,
    )
    class_balance: str = setting(
        "match",
        "class mix of synthetic rows: match the data, or uniform",
        kind="categorical",
        choices=CLASS_BALANCES,
    )

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            _check(item.name, getattr(self, item.name), item.metadata)


def choices_of(declared: Any) -> tuple[Any, ...]:
    """The choices a field's metadata declares (calling them if they are computed)."""
    choices = declared["choices"]
    return tuple(choices() if callable(choices) else choices)


def _check(name: str, value: Any, declared: Any) -> None:
    if declared["kind"] == "categorical":
        choices = choices_of(declared)
        if not isinstance(value, str) or value not in choices:
            raise CausalMixError(
                f"`{name}` must be one of {list(choices)}, but got {name}={value!r}."
            )
        return
    integer = declared["kind"] == "int"
    number = isinstance(value, numbers.Integral if integer else numbers.Real)
    if not number or isinstance(value, bool) or not math.isfinite(value):
        what = "an integer" if integer else "a number"
        raise CausalMixError(f"`{name}` must be {what}, but got {name}={value!r}.")
    low, high = declared["low"], declared["high"]
    below = low is not None and (value <= low if declared["low_open"] else value < low)
    above = high is not None and (value >= high if declared["high_open"] else value > high)
    if below or above:
        left = "" if low is None else f"{low:g} {'<' if declared['low_open'] else '<='} "
        right = "" if high is None else f" {'<' if declared['high_open'] else '<='} {high:g}"
        raise CausalMixError(f"`{left}{name}{right}` must hold, but got {name}={value!r}.")
