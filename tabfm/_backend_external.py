"""What the backends of third-party foundation models (TabICL, TabPFN, Mitra) share.

Each such backend wraps the upstream torch module and reuses the upstream scikit-learn
classifier (its own preprocessing, ensembling and inference code) for every prediction, fed
with the module it holds (Mitra's classifier cannot hold one, so that backend runs Mitra's
inference steps itself), so zero-shot prediction, per-epoch validation and the fine-tuned
classifier all run the same code on the same weights. Weights are only ever read from a
local file: the upstream download paths are never reached.
"""

from __future__ import annotations

import abc
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tabfm._backend import BaseBackend
from tabfm._errors import TabFMError

if TYPE_CHECKING:
    from tabfm._finetuned import FineTunedClassifier


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

    def make_classifier(self, n_estimators: int = 4, random_state: int = 0) -> Any:
        """An unfitted classifier predicting zero-shot with the current weights.

        It is the classifier fine-tuning returns (same preprocessing, same ensemble), so a
        zero-shot score and a fine-tuned score differ only by the weights.
        """
        return self._classifier(n_estimators, random_state)

    def _classifier(self, n_estimators: int, random_state: int) -> FineTunedClassifier:
        from tabfm._finetuned import FineTunedClassifier

        return FineTunedClassifier(self, n_estimators=n_estimators, random_state=random_state)

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
