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


def get_backend(name: str, weights: str | Path | None = None, device: str = "auto") -> BaseBackend:
    """Load the backend ``name`` with ``weights`` on ``device``.

    Raises:
        TabFMError: If the name is unknown, or the weights are missing or corrupt.
    """
    if name not in BACKENDS:
        raise TabFMError(f"Unknown backend {name!r}; known backends: {sorted(BACKENDS)}.")
    return BACKENDS[name].load(weights, device=device)
