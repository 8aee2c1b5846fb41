"""The built-in TabFM network as a backend."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tabfm._errors import TabFMError
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

    def frozen_parameters(self, n_blocks: int) -> list[torch.nn.Parameter]:
        if n_blocks == 0:
            return []
        model = self.model
        if not 0 <= n_blocks <= len(model.blocks):
            raise TabFMError(
                f"`0 <= frozen_blocks <= {len(model.blocks)}` must hold for this model, but got "
                f"frozen_blocks={n_blocks}."
            )
        # Below the first block: the cell, feature-identity, grouping and label encoders and
        # the thinking rows; everything the frozen blocks see is then fixed too.
        below = [
            module
            for module in (model.cell_embed, model.feature_id_embed, model.group_embed,
                           model.label_embed)
            if module is not None
        ]  # fmt: skip
        frozen = [p for module in below for p in module.parameters()]
        if model.thinking is not None:
            frozen.append(model.thinking)
        return frozen + [p for block in model.blocks[:n_blocks] for p in block.parameters()]

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
