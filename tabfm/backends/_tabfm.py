"""The built-in TabFM network as a backend."""

from __future__ import annotations

from collections.abc import Sequence
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
        categorical_max_levels: The ensemble's category shuffles
            (:class:`tabfm.TabFMClassifier`'s parameter of that name); the default when
            ``None``.
    """

    name = "tabfm"
    shuffles_categories = True
    model: TabFMModel

    def __init__(
        self, model: TabFMModel, device: torch.device, categorical_max_levels: int | None = None
    ) -> None:
        from tabfm._classifier import CATEGORICAL_MAX_LEVELS, check_categorical_max_levels

        if categorical_max_levels is None:
            categorical_max_levels = CATEGORICAL_MAX_LEVELS
        check_categorical_max_levels(categorical_max_levels)
        self.model = model.to(device)
        self.device = device
        self.categorical_max_levels = categorical_max_levels

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
            categorical_max_levels=self.categorical_max_levels,
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

    def stack(self, copies: Sequence[BaseBackend]) -> torch.nn.Module:
        from tabfm._stacked import stack_modules

        return stack_modules([copy.module for copy in copies])

    def forward_stacked(
        self,
        stacked: torch.nn.Module,
        episodes: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
        n_classes: Sequence[int],
        generators: Sequence[torch.Generator],
    ) -> list[torch.Tensor]:
        import torch

        # Fold k's rows: its context, then its queries, then zero padding to the longest
        # episode; padded context labels and padding rows are never attended to.
        lengths = [len(y_context) for _, y_context, _ in episodes]
        queries = [len(x_query) for _, _, x_query in episodes]
        rows = max(c + q for c, q in zip(lengths, queries, strict=True))
        first_x = episodes[0][0]
        x = first_x.new_zeros((len(episodes), rows, first_x.shape[1]))  # (K, R, C)
        y = torch.zeros((len(episodes), max(lengths)), dtype=torch.long, device=first_x.device)
        for k, (x_context, y_context, x_query) in enumerate(episodes):
            x[k, : lengths[k]] = x_context
            x[k, lengths[k] : lengths[k] + queries[k]] = x_query
            y[k, : lengths[k]] = y_context
        feature_ids = None
        if self.model.feature_id_embed is not None:
            # One draw per fold from its own generator, as forward_episode draws them.
            feature_ids = torch.cat(
                [
                    self.model.draw_feature_ids(1, x.shape[2], x.device, None, generator)
                    for generator in generators
                ]
            )
        device = x.device
        logits = stacked(
            x,
            y,
            n_classes=torch.tensor(list(n_classes), device=device),
            context_lengths=torch.tensor(lengths, device=device),
            feature_ids=feature_ids,
        )  # (K, R - min(lengths), max_classes)
        start = min(lengths)
        return [
            logits[k, lengths[k] - start : lengths[k] - start + queries[k], : n_classes[k]]
            for k in range(len(episodes))
        ]

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
            categorical_max_levels=self.categorical_max_levels,
        )
