"""The TabICL backend (``pip install 'causalmix-tuner[tabicl]'``).

Weights are an upstream TabICL checkpoint, a ``.ckpt`` file holding ``{"config": dict,
"state_dict": tensors}`` as written by ``torch.save``. It is read with
``torch.load(weights_only=True)``: tensors and plain containers only, no pickled code. With
``weights=None`` the checkpoint is looked up in the Hugging Face cache (repository
``jingang/TabICL``), without any network access.

Predictions go through :class:`tabicl.TabICLClassifier` (its imputation, scaling,
power-transform, outlier clipping, feature / class shuffles and logit averaging) fed with the
module this backend holds. Training episodes call the module's training forward on rows
prepared the way TabICL prepares its ``"none"`` ensemble members (mean imputation, z-scores
clipped at +-100, soft outlier clipping at 4 standard deviations, constant columns dropped),
with a fresh feature order per episode.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tabfm._errors import TabFMError
from tabfm._preprocess import CATEGORICAL, TablePreprocessor
from tabfm.backends._base import (
    ExternalBackend,
    find_checkpoint,
    first_line,
    require_package,
)

if TYPE_CHECKING:
    import pandas as pd
    import torch

HF_REPO = "jingang/TabICL"
DEFAULT_CHECKPOINT = "tabicl-classifier-v2-20260212.ckpt"
KNOWN_CHECKPOINTS = (
    DEFAULT_CHECKPOINT,
    "tabicl-classifier-v1.1-20250506.ckpt",
    "tabicl-classifier-v1-20250208.ckpt",
)
_OUTLIER_THRESHOLD = 4.0  # TabICLClassifier's default outlier_threshold
_SCALE_CLIP = 100.0  # TabICL's CustomStandardScaler clip
_EPS = 1e-6


class TabICLPreprocessor(TablePreprocessor):
    """DataFrame -> numbers as :class:`tabicl.TabICLClassifier` encodes them.

    Categories get ordinal codes in sorted order, and a missing or unseen category is -1
    (TabICL's ``OrdinalEncoder`` settings); numbers stay as they are, missing numbers stay
    NaN (the classifier and the episodes impute them with context means). As in TabICL's
    ``ColumnTransformer``, the encoded categorical columns come first, then the others in
    their original order (feature order matters to TabICL's row attention). Unlike TabICL,
    which drops boolean columns, booleans are kept, as 0/1 among the others.
    """

    def fit(self, X: pd.DataFrame) -> TabICLPreprocessor:
        super().fit(X)
        self.categories = {name: sorted(values) for name, values in self.categories.items()}
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """``(n_rows, n_columns)`` float32 codes, categorical columns first."""
        out = super().transform(X)
        categorical = [i for i, kind in enumerate(self.kinds) if kind == CATEGORICAL]
        others = [i for i, kind in enumerate(self.kinds) if kind != CATEGORICAL]
        codes = out[:, categorical]
        codes[np.isnan(codes)] = -1.0
        return np.concatenate([codes, out[:, others]], axis=1)


class TabICLBackend(ExternalBackend):
    """TabICL (Qu et al., 2025) as a backend.

    Args:
        model: The ``tabicl`` ``TabICL`` module.
        config: Its constructor arguments (saved with the weights).
        device: Where it runs.
        checkpoint_name: File name used when saving.
    """

    name = "tabicl"
    preprocessor_class = TabICLPreprocessor

    def __init__(
        self,
        model: torch.nn.Module,
        config: dict[str, Any],
        device: torch.device,
        checkpoint_name: str = DEFAULT_CHECKPOINT,
    ) -> None:
        self.model = model.to(device)
        self.config = dict(config)
        self.device = device
        self.checkpoint_name = checkpoint_name

    @classmethod
    def load(cls, weights: str | Path | None = None, device: str = "auto") -> TabICLBackend:
        """Load a TabICL checkpoint from a local ``.ckpt`` file or a directory holding one.

        Raises:
            TabFMError: If ``tabicl`` is not installed, or the checkpoint is missing or not a
                TabICL checkpoint.
        """
        require_package("tabicl", "tabicl", "TabICL")

        import torch
        from tabicl._model.tabicl import TabICL

        from tabfm._device import resolve_device

        resolved = resolve_device(device)
        path = _checkpoint_path(weights)
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any reading failure means a corrupt file
            raise TabFMError(
                f"The TabICL checkpoint cannot be read: {str(path)!r} ({first_line(e)})."
            ) from e
        if not isinstance(checkpoint, dict) or not {"config", "state_dict"} <= set(checkpoint):
            raise TabFMError(
                f"Not a TabICL checkpoint (no 'config' and 'state_dict'): {str(path)!r}."
            )
        config = checkpoint["config"]
        try:
            model = TabICL(**config)
            model.load_state_dict(checkpoint["state_dict"])
        except (TypeError, ValueError, RuntimeError, AssertionError) as e:
            raise TabFMError(
                f"The TabICL checkpoint does not match its config: {str(path)!r} "
                f"({first_line(e)})."
            ) from e
        if int(config.get("max_classes", 10)) <= 0:
            raise TabFMError(f"The TabICL checkpoint is a regressor, not a classifier: {path}.")
        return cls(model.eval(), config, resolved, checkpoint_name=path.name)

    def save(self, directory: str | Path) -> None:
        """Write an upstream-format checkpoint ``directory/<checkpoint_name>``."""
        import torch

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = self.cpu_state_dict()
        torch.save({"config": self.config, "state_dict": state}, directory / self.checkpoint_name)

    @property
    def max_classes(self) -> int:
        return int(self.config.get("max_classes", 10))

    def forward_episode(
        self,
        x_context: torch.Tensor,
        y_context: torch.Tensor,
        x_query: torch.Tensor,
        n_classes: int,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        import torch

        self.check_n_classes(n_classes)
        x = normalize_episode(x_context, x_query)  # (Rc + Rq, C')
        order = torch.randperm(x.shape[1], generator=generator).to(x.device)
        # The module's training forward: (B, T, H) rows, (B, Rc) float labels.
        logits = self.model(x[:, order][None], y_context.float()[None])  # (1, Rq, max_classes)
        return logits[0, :, :n_classes]

    def _predict_context(
        self,
        x_context: np.ndarray,
        y_context: np.ndarray,
        x_query: np.ndarray,
        n_estimators: int,
        seed: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        classifier = _held_module_classifier(self, n_estimators, seed)
        proba = classifier.fit(x_context, y_context).predict_proba(x_query)
        return np.asarray(classifier.classes_), np.asarray(proba, dtype=np.float64)


def _checkpoint_path(weights: str | Path | None) -> Path:
    if weights is not None:
        return find_checkpoint(weights, (".ckpt",), KNOWN_CHECKPOINTS, "TabICL")
    from huggingface_hub import try_to_load_from_cache

    # Reads the local cache only; never contacts the Hub.
    cached = try_to_load_from_cache(HF_REPO, DEFAULT_CHECKPOINT)
    if not isinstance(cached, str):
        raise TabFMError(
            f"No TabICL weights given and {DEFAULT_CHECKPOINT!r} is not in the Hugging Face "
            f"cache (repo {HF_REPO!r}); pass --weights PATH to a TabICL .ckpt file."
        )
    return Path(cached)


def _held_module_classifier(backend: TabICLBackend, n_estimators: int, seed: int) -> Any:
    """A ``TabICLClassifier`` that uses ``backend.model`` instead of loading a checkpoint."""
    from tabicl import TabICLClassifier

    class HeldModuleClassifier(TabICLClassifier):
        def _load_model(self) -> None:
            self.model_ = backend.model
            self.model_config_ = backend.config
            self.model_path_ = None
            self.model_.eval()

    return HeldModuleClassifier(
        n_estimators=n_estimators,
        device=backend.device,
        random_state=seed,
        allow_auto_download=False,
        verbose=False,
    )


def normalize_episode(x_context: torch.Tensor, x_query: torch.Tensor) -> torch.Tensor:
    """Context and query rows prepared as TabICL prepares an ensemble member, in torch.

    Statistics come from the context rows: NaN is imputed with the column mean, columns that
    are constant on the context are dropped (all-constant keeps the first), values become
    z-scores clipped to +-100, and values beyond 4 robust standard deviations are softly
    clipped (TabICL's ``OutlierRemover``).

    Args:
        x_context: ``(Rc, C)`` encoded context rows.
        x_query: ``(Rq, C)`` encoded query rows.

    Returns:
        ``(Rc + Rq, C')`` float32 rows, context first.
    """
    import torch

    x = torch.cat([x_context, x_query]).float()  # (R, C)
    n_context = len(x_context)
    finite = torch.isfinite(x)
    context_finite = finite[:n_context]
    counts = context_finite.sum(0).clamp(min=1)
    means = torch.where(context_finite, x[:n_context], 0.0).sum(0) / counts
    x = torch.where(finite, x, means)
    context = x[:n_context]
    keep = context.amax(0) > context.amin(0)
    if not bool(keep.any()):
        keep[0] = True
    x = x[:, keep]
    context = x[:n_context]
    mean, std = context.mean(0), context.std(0, unbiased=False) + _EPS
    x = ((x - mean) / std).clamp(-_SCALE_CLIP, _SCALE_CLIP)
    lower, upper = _outlier_bounds(x[:n_context])
    x = torch.maximum(-torch.log1p(x.abs()) + lower, x)
    return torch.minimum(torch.log1p(x.abs()) + upper, x)


def _outlier_bounds(context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """TabICL's two-stage bounds: mean +- 4 std, recomputed without the first outliers."""
    import torch

    def mean_std(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        present = ~torch.isnan(values)
        count = present.sum(0)
        mean = torch.where(present, values, 0.0).sum(0) / count.clamp(min=1)
        squares = torch.where(present, (values - mean) ** 2, 0.0).sum(0)
        std = (squares / (count - 1).clamp(min=1)).sqrt()
        return mean, std.clamp(min=_EPS)

    mean, std = mean_std(context)
    outlier = (context - mean).abs() > _OUTLIER_THRESHOLD * std
    mean, std = mean_std(torch.where(outlier, torch.nan, context))
    return mean - _OUTLIER_THRESHOLD * std, mean + _OUTLIER_THRESHOLD * std
