"""What every backend is (:class:`BaseBackend`), and what the third-party ones share.

A backend wraps one pre-trained tabular foundation model behind the few operations
:func:`tabfm.finetune` and :class:`tabfm.FineTunedClassifier` need.

The backends of third-party models (TabICL, TabPFN, Mitra) subclass :class:`ExternalBackend`:
each wraps the upstream torch module and reuses the upstream scikit-learn classifier (its own
preprocessing, ensembling and inference code) for every prediction, fed with the module it
holds (Mitra's classifier cannot hold one, so that backend runs Mitra's inference steps
itself), so zero-shot prediction, per-epoch validation and the fine-tuned classifier all run
the same code on the same weights. Weights are only ever read from a local file: the upstream
download paths are never reached.
"""

from __future__ import annotations

import abc
import copy
import importlib.util
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from tabfm._errors import TabFMError
from tabfm._preprocess import TablePreprocessor

if TYPE_CHECKING:
    import pandas as pd
    import torch


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
        preprocessor_class: How DataFrames are encoded for the model.
        model: The torch module that is fine-tuned.
        device: Where the module lives.
        categorical_max_levels: Whole-number columns with 2 to this many distinct context
            values are categories whose codes :meth:`predict_proba`'s later ensemble members
            shuffle (TabFM); ``0`` (the default) for a backend that does not, so fine-tuning
            does not shuffle them either (``FinetuneConfig.category_shuffle``).
        shuffles_categories: Whether :meth:`predict_proba` shuffles category codes, so that
            ``categorical_max_levels`` may be set (:func:`tabfm.get_backend`).
    """

    name: ClassVar[str]
    shuffles_categories: ClassVar[bool] = False
    preprocessor_class: ClassVar[type[TablePreprocessor]] = TablePreprocessor
    model: torch.nn.Module
    device: torch.device
    categorical_max_levels: int = 0

    @classmethod
    @abc.abstractmethod
    def load(cls, weights: str | Path | None = None, device: str = "auto") -> BaseBackend:
        """The backend with ``weights`` (a directory; ``None`` = the model's default weights)."""

    @abc.abstractmethod
    def save(self, directory: str | Path) -> None:
        """Write the current weights so that :meth:`load` of ``directory`` restores them."""

    def native_classifier(self, n_estimators: int = 4, random_state: int = 0) -> Any | None:
        """The model's own unfitted scikit-learn classifier with the current weights, or
        ``None`` (the default) for the generic :class:`tabfm.FineTunedClassifier`.

        Use :func:`tabfm.make_classifier`, which falls back to the generic one: a backend never
        builds that itself, so that this module never imports the classifier that imports it.
        """
        return None

    def make_preprocessor(self) -> Preprocessor:
        """A fresh preprocessor turning DataFrames into the model's numeric inputs."""
        return self.preprocessor_class()

    def preprocessor_from_dict(self, data: dict[str, Any]) -> Preprocessor:
        """A preprocessor rebuilt from its ``to_dict()`` output."""
        return self.preprocessor_class.from_dict(data)

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

    def stack(self, copies: Sequence[BaseBackend]) -> torch.nn.Module | None:
        """The networks of ``copies`` (clones of this backend) as one module whose parameters
        carry a leading fold axis, for training several folds together; ``None`` (the
        default) when this backend trains folds one by one."""
        return None

    def forward_stacked(
        self,
        stacked: torch.nn.Module,
        episodes: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
        n_classes: Sequence[int],
        generators: Sequence[torch.Generator],
    ) -> list[torch.Tensor]:
        """Logits of one episode per fold through the module of :meth:`stack`: fold ``k``'s
        ``(x_context, y_context, x_query)`` goes through its own weights and gets the logits
        :meth:`forward_episode` would give it, ``(Rq_k, n_classes[k])``.

        Raises:
            NotImplementedError: If :meth:`stack` returns ``None``.
        """
        raise NotImplementedError(f"The {self.name!r} backend does not train folds together.")

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
    def module(self) -> torch.nn.Module:
        """The torch module that is fine-tuned."""
        return self.model

    def cpu_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights as contiguous CPU tensors, ready to be written to a file."""
        return {k: v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}

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

    def frozen_parameters(self, n_blocks: int) -> list[torch.nn.Parameter]:
        """The parameters that fine-tuning with ``frozen_blocks=n_blocks`` keeps fixed: the
        input encoders and the lowest ``n_blocks`` blocks. Empty for ``n_blocks=0``.

        Raises:
            TabFMError: If ``n_blocks > 0`` and the backend cannot freeze blocks.
        """
        if n_blocks == 0:
            return []
        raise TabFMError(f"The {self.name} backend cannot freeze blocks (frozen_blocks=0 only).")

    def state_dict(self) -> dict[str, torch.Tensor]:
        """A detached copy of the weights (to restore the best epoch)."""
        return {k: v.detach().clone() for k, v in self.module.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore weights taken by :meth:`state_dict`."""
        self.module.load_state_dict(state)

    def train(self, mode: bool = True) -> None:
        """Switch the module between training and evaluation mode."""
        self.module.train(mode)


def first_line(error: BaseException) -> str:
    """The first line of an upstream error's message (its type name if it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def require_package(module: str, extra: str, backend: str) -> None:
    """Raise a one-line :class:`TabFMError` unless ``module`` can be imported.

    Raises:
        TabFMError: Naming the pip command that installs the optional extra.
    """
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a dotted name whose parent package is missing
        found = False
    if not found:
        raise TabFMError(
            f"The {backend} backend needs the {module!r} package, which is not installed: "
            f"pip install 'causalmix-tuner[{extra}]'."
        )


def find_checkpoint(
    weights: str | Path,
    suffixes: Sequence[str],
    preferred: Sequence[str],
    backend: str,
) -> Path:
    """The checkpoint file that ``weights`` names: the file itself or the one in a directory.

    Args:
        weights: A checkpoint file, or a directory holding one.
        suffixes: Accepted file suffixes, e.g. ``(".ckpt",)``.
        preferred: File names picked first when a directory holds several checkpoints.
        backend: Backend name for messages.

    Raises:
        TabFMError: If the path does not exist, has the wrong suffix, or the directory holds
            no checkpoint or several without a preferred one.
    """
    expected = " or ".join(f"a {suffix} file" for suffix in suffixes)
    path = Path(weights).expanduser()
    if not path.exists():
        raise TabFMError(
            f"The {backend} weights path does not exist: {str(path)!r} (expected {expected} "
            f"or a directory holding one)."
        )
    if path.is_file():
        if path.suffix not in suffixes:
            raise TabFMError(
                f"The {backend} weights file must be {expected}, but got {str(path)!r}."
            )
        return path
    found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in suffixes)
    for name in preferred:
        if path / name in found:
            return path / name
    if not found:
        raise TabFMError(
            f"The {backend} weights directory holds no checkpoint: {str(path)!r} (expected "
            f"{expected}, e.g. {preferred[0]!r})."
        )
    if len(found) > 1:
        names = [p.name for p in found]
        raise TabFMError(
            f"The {backend} weights directory holds several checkpoints: {str(path)!r} "
            f"({names}); pass the file itself with --weights."
        )
    return found[0]


class ExternalBackend(BaseBackend):
    """A backend around a third-party model whose predictions go through its own classifier.

    Subclasses implement :meth:`_predict_context`, one run of the upstream classifier with
    the held module on encoded rows; this class handles context subsampling and maps the
    upstream class columns back to ``[0, n_classes)``.
    """

    @property
    @abc.abstractmethod
    def max_classes(self) -> int:
        """The most classes the model's head can predict."""

    @abc.abstractmethod
    def _predict_context(
        self,
        x_context: np.ndarray,
        y_context: np.ndarray,
        x_query: np.ndarray,
        n_estimators: int,
        seed: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(classes, proba)``: the upstream classifier's classes and ``(Rq, len(classes))``
        probabilities, fitted on the given context."""

    def check_n_classes(self, n_classes: int) -> None:
        """Raise :class:`TabFMError` if the model's head cannot predict ``n_classes``."""
        if not 2 <= n_classes <= self.max_classes:
            raise TabFMError(
                f"`2 <= n_classes <= {self.max_classes}` must hold for the {self.name} model, "
                f"but got n_classes={n_classes}."
            )

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
        from tabfm._classifier import _context_rows

        self.check_n_classes(n_classes)
        if n_estimators < 1 or max_context < 1:
            raise TabFMError(
                "`n_estimators >= 1` and `max_context >= 1` must hold, but got "
                f"n_estimators={n_estimators}, max_context={max_context}."
            )
        # The upstream classifier shuffles and ensembles by itself: the context keeps the
        # caller's row order (subsampled only past max_context), so that the same rows reach
        # it as when the user calls it directly.
        rows = np.sort(_context_rows(np.random.default_rng(seed), y_context, max_context))
        classes, proba = self._predict_context(
            np.asarray(x_context[rows], dtype=np.float32),
            np.asarray(y_context[rows], dtype=np.int64),
            np.asarray(x_query, dtype=np.float32),
            n_estimators,
            seed,
        )
        # A class absent from the context gets probability 0.
        out = np.zeros((len(x_query), n_classes))
        out[:, np.asarray(classes, dtype=np.int64)] = proba
        return out
