"""Foundation-model backends: the plug-in point of the fine-tuning engine.

A backend wraps one pre-trained tabular foundation model (the built-in TabFM; later TabICL,
TabPFN, Mitra, ...) behind the few operations :func:`tabfm.finetune` and
:class:`tabfm.FineTunedClassifier` need. Adding a backend is one subclass of
:class:`BaseBackend` and one entry in :data:`BACKENDS`.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from tabfm._errors import TabFMError

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from tabfm._classifier import TabFMClassifier
    from tabfm._model import TabFMModel


class Preprocessor(Protocol):
    """What a backend's preprocessor does: learn a schema on real rows, encode any rows."""

    columns: list[str]

    def fit(self, X: pd.DataFrame) -> Any: ...

    def transform(self, X: pd.DataFrame) -> np.ndarray: ...

    def to_dict(self) -> dict[str, Any]: ...


class BaseBackend(abc.ABC):
    """One pre-trained TFM, as seen by the fine-tuning engine.

    A backend owns a torch module on ``device``. The engine encodes DataFrames once with
    :meth:`make_preprocessor`, then trains through :meth:`forward_episode` (context rows with
    labels plus query rows -> query logits) and evaluates through :meth:`predict_proba`.

    Attributes:
        name: Registry name, stored with saved models.
        device: Where the module lives.
    """

    name: ClassVar[str]
    device: torch.device

    @classmethod
    @abc.abstractmethod
    def load(cls, weights: str | Path | None = None, device: str = "auto") -> BaseBackend:
        """The backend with ``weights`` (a directory; ``None`` = the model's default weights)."""

    @abc.abstractmethod
    def save(self, directory: str | Path) -> None:
        """Write the current weights so that :meth:`load` of ``directory`` restores them."""

    @abc.abstractmethod
    def make_classifier(self, n_estimators: int = 4, random_state: int = 0) -> Any:
        """An unfitted scikit-learn classifier predicting zero-shot with the current weights."""

    @abc.abstractmethod
    def make_preprocessor(self) -> Preprocessor:
        """A fresh preprocessor turning DataFrames into the model's numeric inputs."""

    @abc.abstractmethod
    def preprocessor_from_dict(self, data: dict[str, Any]) -> Preprocessor:
        """A preprocessor rebuilt from its ``to_dict()`` output."""

    @abc.abstractmethod
    def forward_episode(
        self,
        x_context: torch.Tensor,
        y_context: torch.Tensor,
        x_query: torch.Tensor,
        n_classes: int,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Logits of the query rows of one training episode (gradients flow).

        Args:
            x_context: ``(Rc, C)`` encoded context rows on :attr:`device`.
            y_context: ``(Rc,)`` labels in ``[0, n_classes)``.
            x_query: ``(Rq, C)`` encoded query rows.
            n_classes: Number of classes.
            generator: Source of any randomness of the forward pass.

        Returns:
            ``(Rq, n_classes)`` logits.
        """

    @abc.abstractmethod
    def predict_proba(
        self,
        x_context: np.ndarray,
        y_context: np.ndarray,
        x_query: np.ndarray,
        n_classes: int,
        n_estimators: int = 4,
        max_context: int = 2048,
        seed: int = 0,
    ) -> np.ndarray:
        """``(Rq, n_classes)`` probabilities of encoded query rows given encoded context rows."""

    @property
    @abc.abstractmethod
    def module(self) -> torch.nn.Module:
        """The torch module that is fine-tuned."""

    @property
    def device_name(self) -> str:
        """The device in words, e.g. ``"cpu"`` or ``"cuda:0 (NVIDIA H100 80GB HBM3)"``."""
        import torch

        if self.device.type != "cuda":
            return str(self.device)
        index = self.device.index if self.device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"

    def clone(self) -> BaseBackend:
        """An independent copy (fine-tuning works on one, leaving the original unchanged)."""
        return copy.deepcopy(self)

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        """The trainable parameters."""
        return self.module.parameters()

    def state_dict(self) -> dict[str, torch.Tensor]:
        """A detached copy of the weights (to restore the best epoch)."""
        return {k: v.detach().clone() for k, v in self.module.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore weights taken by :meth:`state_dict`."""
        self.module.load_state_dict(state)

    def train(self, mode: bool = True) -> None:
        """Switch the module between training and evaluation mode."""
        self.module.train(mode)


class TabFMBackend(BaseBackend):
    """The built-in TabFM network as a backend.

    Args:
        model: The network.
        device: Where it runs.
    """

    name = "tabfm"

    def __init__(self, model: TabFMModel, device: torch.device) -> None:
        self.model = model.to(device)
        self.device = device

    @classmethod
    def load(cls, weights: str | Path | None = None, device: str = "auto") -> TabFMBackend:
        from tabfm._device import resolve_device
        from tabfm._weights import load_model

        return cls(load_model(weights), resolve_device(device))

    def save(self, directory: str | Path) -> None:
        from tabfm._weights import save_weights

        save_weights(self.model, directory)

    @property
    def module(self) -> torch.nn.Module:
        return self.model

    def make_classifier(self, n_estimators: int = 4, random_state: int = 0) -> TabFMClassifier:
        from tabfm._classifier import TabFMClassifier

        return TabFMClassifier(
            self.model,
            n_estimators=n_estimators,
            device=str(self.device),
            random_state=random_state,
        )

    def make_preprocessor(self) -> Preprocessor:
        from tabfm._preprocess import TablePreprocessor

        return TablePreprocessor()

    def preprocessor_from_dict(self, data: dict[str, Any]) -> Preprocessor:
        from tabfm._preprocess import TablePreprocessor

        return TablePreprocessor.from_dict(data)

    def forward_episode(
        self,
        x_context: torch.Tensor,
        y_context: torch.Tensor,
        x_query: torch.Tensor,
        n_classes: int,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        import torch

        x = torch.cat([x_context, x_query])[None]  # (1, Rc + Rq, C)
        logits = self.model(x, y_context[None], n_classes=n_classes, generator=generator)
        return logits[0, :, :n_classes]

    def predict_proba(
        self,
        x_context: np.ndarray,
        y_context: np.ndarray,
        x_query: np.ndarray,
        n_classes: int,
        n_estimators: int = 4,
        max_context: int = 2048,
        seed: int = 0,
    ) -> np.ndarray:
        from tabfm._classifier import predict_proba_ensemble

        return predict_proba_ensemble(
            self.model,
            x_context,
            y_context,
            x_query,
            n_classes,
            n_estimators=n_estimators,
            max_context=max_context,
            seed=seed,
            device=self.device,
        )


# The third-party backends import their packages (tabicl, tabpfn, autogluon) only when loaded.
from tabfm._backend_mitra import MitraBackend  # noqa: E402 - they subclass BaseBackend
from tabfm._backend_tabicl import TabICLBackend  # noqa: E402
from tabfm._backend_tabpfn import TabPFNBackend  # noqa: E402

BACKENDS: dict[str, type[BaseBackend]] = {
    "tabfm": TabFMBackend,
    "tabicl": TabICLBackend,
    "tabpfn": TabPFNBackend,
    "mitra": MitraBackend,
}
"""Registered backends by name; a new backend adds one line here."""


def get_backend(name: str, weights: str | Path | None = None, device: str = "auto") -> BaseBackend:
    """Load the backend ``name`` with ``weights`` on ``device``.

    Raises:
        TabFMError: If the name is unknown, or the weights are missing or corrupt.
    """
    if name not in BACKENDS:
        raise TabFMError(f"Unknown backend {name!r}; known backends: {sorted(BACKENDS)}.")
    return BACKENDS[name].load(weights, device=device)
