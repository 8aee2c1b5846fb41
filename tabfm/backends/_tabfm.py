"""The built-in TabFM network as a backend."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tabfm.backends._base import BaseBackend

if TYPE_CHECKING:
    import torch

    from tabfm._classifier import TabFMClassifier
    from tabfm._model import TabFMModel


class TabFMBackend(BaseBackend):
    """The built-in TabFM network as a backend.

    Args:
        model: The network.
        device: Where it runs.
    """

    name = "tabfm"
    model: TabFMModel

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

    def native_classifier(self, n_estimators: int = 4, random_state: int = 0) -> TabFMClassifier:
        from tabfm._classifier import TabFMClassifier

        return TabFMClassifier(
            self.model,
            n_estimators=n_estimators,
            device=str(self.device),
            random_state=random_state,
        )

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
