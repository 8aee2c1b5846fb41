"""Foundation-model backends: the plug-in point of the fine-tuning engine.

Each backend is one module of this package; :data:`BACKENDS` names it by ``module:Class`` and
imports it on first use, so this registry never imports a plug-in (nor torch, nor a
third-party package) when it is itself imported. Adding a backend is one module with a
:class:`BaseBackend` subclass and one line in ``_PLUGINS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from tabfm._errors import TabFMError
from tabfm.backends._base import BaseBackend, ExternalBackend, Preprocessor

__all__ = ["BACKENDS", "BaseBackend", "ExternalBackend", "Preprocessor", "get_backend"]

_PLUGINS = {
    "tabfm": "tabfm.backends._tabfm:TabFMBackend",
    "tabicl": "tabfm.backends._tabicl:TabICLBackend",
    "tabpfn": "tabfm.backends._tabpfn:TabPFNBackend",
    "mitra": "tabfm.backends._mitra:MitraBackend",
}


class _Registry(Mapping[str, type[BaseBackend]]):
    """Backend classes by name, each imported from its module on first access."""

    def __init__(self, plugins: Mapping[str, str]) -> None:
        self._plugins = dict(plugins)

    def __getitem__(self, name: str) -> type[BaseBackend]:
        module, _, attribute = self._plugins[name].partition(":")
        backend: type[BaseBackend] = getattr(importlib.import_module(module), attribute)
        return backend

    def __iter__(self) -> Iterator[str]:
        return iter(self._plugins)

    def __len__(self) -> int:
        return len(self._plugins)


BACKENDS: Mapping[str, type[BaseBackend]] = _Registry(_PLUGINS)
"""Registered backends by name; a new backend adds one line to ``_PLUGINS``."""


def get_backend(
    name: str,
    weights: str | Path | None = None,
    device: str = "auto",
    *,
    categorical_max_levels: int | None = None,
) -> BaseBackend:
    """Load the backend ``name`` with ``weights`` on ``device``.

    Args:
        name: A registered backend.
        weights: Its weights (``None``: its default).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        categorical_max_levels: Whole-number columns with 2 to this many distinct context
            values are categories that the ensemble and fine-tuning shuffle (``0``: none);
            ``None`` keeps the backend's default. Only for backends that shuffle categories
            (:attr:`BaseBackend.shuffles_categories`: TabFM).

    Raises:
        TabFMError: If the name is unknown, the weights are missing or corrupt, or
            ``categorical_max_levels`` is not a whole number ``>= 0`` or is given to a backend
            that does not shuffle categories.
    """
    if name not in BACKENDS:
        raise TabFMError(f"Unknown backend {name!r}; known backends: {sorted(BACKENDS)}.")
    backend_class = BACKENDS[name]
    if categorical_max_levels is not None:
        from tabfm._classifier import check_categorical_max_levels

        check_categorical_max_levels(categorical_max_levels)
        if not backend_class.shuffles_categories:
            raise TabFMError(
                f"Backend {name!r} does not shuffle categories, so it takes no "
                f"categorical_max_levels, but got categorical_max_levels={categorical_max_levels}."
            )
    backend = backend_class.load(weights, device=device)
    if categorical_max_levels is not None:
        backend.categorical_max_levels = int(categorical_max_levels)
    return backend
