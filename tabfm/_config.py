"""The architecture configuration of the built-in TabFM model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tabfm._errors import TabFMError

MAX_CLASSES = 10
"""Output width of the decoder: the most target classes the model can predict."""

NORMS = ("layer", "rms")
"""Pre-norms a block can use."""

GROUP_OFFSETS = (1, 3, 7, 15)
"""Column offsets whose values a cell sees under ``feature_grouping`` (TabICL v2)."""


@dataclass(frozen=True)
class TabFMConfig:
    """Size and shape of a :class:`~tabfm.TabFMModel`.

    Attributes:
        embed_dim: Width ``E`` of every cell token.
        n_layers: Number of (feature attention, row attention, MLP) blocks.
        n_heads: Attention heads; must divide ``embed_dim``.
        mlp_ratio: Hidden width of the per-token MLP as a multiple of ``embed_dim``.
        feature_id_dim: Width of the random per-feature identity vectors (TabPFN v2 style),
            projected to ``embed_dim``; 0 disables them.
        max_classes: Decoder width (the most classes a task may have).
        max_features: The most feature columns one forward pass sees; wider tables are
            feature-subsampled per ensemble member by the classifier.
        thinking_rows: Learned rows prepended to the context rows (every row attends to
            them; the speed-run's "thinking rows"); 0 disables them.
        norm: Pre-norm of every block: ``"layer"`` (LayerNorm) or ``"rms"`` (RMSNorm).
        residual_decay: Before block ``i`` the residual stream is scaled by
            ``residual_decay ** i`` (the speed-run's 0.95); 1.0 disables it.
        feature_grouping: Whether each cell also sees the scaled values of columns
            ``j + 1, j + 3, j + 7, j + 15`` (mod the column count) of its row, through one
            shared linear map (TabICL v2's feature grouping).

    The last four default to the v2 recipe (off), so weights saved before they existed load
    unchanged.
    """

    embed_dim: int = 64
    n_layers: int = 4
    n_heads: int = 2
    mlp_ratio: int = 2
    feature_id_dim: int = 16
    max_classes: int = MAX_CLASSES
    max_features: int = 100
    thinking_rows: int = 0
    norm: str = "layer"
    residual_decay: float = 1.0
    feature_grouping: bool = False

    def __post_init__(self) -> None:
        positives = ("embed_dim", "n_layers", "n_heads", "mlp_ratio", "max_features")
        for name in positives:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise TabFMError(f"`{name} >= 1` must hold, but got {name}={value!r}.")
        if self.embed_dim % self.n_heads:
            raise TabFMError(
                "`embed_dim % n_heads == 0` must hold, but got "
                f"embed_dim={self.embed_dim}, n_heads={self.n_heads}."
            )
        if not isinstance(self.feature_id_dim, int) or self.feature_id_dim < 0:
            raise TabFMError(
                f"`feature_id_dim >= 0` must hold, but got feature_id_dim={self.feature_id_dim!r}."
            )
        if not isinstance(self.max_classes, int) or not 2 <= self.max_classes <= MAX_CLASSES:
            raise TabFMError(
                f"`2 <= max_classes <= {MAX_CLASSES}` must hold, but got "
                f"max_classes={self.max_classes!r}."
            )

        if not isinstance(self.thinking_rows, int) or self.thinking_rows < 0:
            raise TabFMError(
                f"`thinking_rows >= 0` must hold, but got thinking_rows={self.thinking_rows!r}."
            )
        if self.norm not in NORMS:
            raise TabFMError(f"`norm` must be one of {list(NORMS)}, but got norm={self.norm!r}.")
        if not 0.0 < float(self.residual_decay) <= 1.0:
            raise TabFMError(
                "`0 < residual_decay <= 1` must hold, but got "
                f"residual_decay={self.residual_decay!r}."
            )

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TabFMConfig:
        """Rebuild a config from :meth:`to_dict` output.

        Raises:
            TabFMError: If ``data`` has unknown keys or invalid values.
        """
        if not isinstance(data, dict):
            raise TabFMError(
                f"A TabFM config must be a JSON object, but got {type(data).__name__}."
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TabFMError(f"Unknown TabFM config keys: {unknown}.")
        return cls(**data)
