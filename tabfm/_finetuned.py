"""The classifier returned by fine-tuning: a backend with fine-tuned weights plus a context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from tabfm._classifier import check_categorical_max_levels
from tabfm._errors import TabFMError
from tabfm._finetune_config import FinetuneConfig
from tabfm._sklearn import TableClassifierMixin, context_frame, query_frame
from tabfm.backends import BaseBackend, get_backend

SAVED_CONFIG = "finetuned.json"
SAVED_CONTEXT = "context.safetensors"
BACKEND_DIR = "backend"


def make_classifier(backend: BaseBackend, n_estimators: int = 4, random_state: int = 0) -> Any:
    """An unfitted scikit-learn classifier predicting zero-shot with ``backend``'s weights.

    The backend's own classifier where it has one (:meth:`BaseBackend.native_classifier`, e.g.
    :class:`tabfm.TabFMClassifier`), otherwise :class:`FineTunedClassifier`: the classifier
    fine-tuning returns (same preprocessing, same ensemble), so that a zero-shot score and a
    fine-tuned score differ only by the weights.
    """
    native = backend.native_classifier(n_estimators=n_estimators, random_state=random_state)
    if native is not None:
        return native
    return FineTunedClassifier(backend, n_estimators=n_estimators, random_state=random_state)


class FineTunedClassifier(TableClassifierMixin, ClassifierMixin, BaseEstimator):
    """In-context classification with fine-tuned weights (scikit-learn contract).

    ``fit(X, y)`` sets a new context (the fine-tuned weights stay); ``predict_proba`` runs the
    backend's ensemble on it.

    Args:
        backend: The fine-tuned backend.
        config: The fine-tuning settings that produced it (saved alongside).
        n_estimators: Ensemble members per prediction.
        max_context: Most context rows per member.
        random_state: Seed of the ensemble permutations.
    """

    def __init__(
        self,
        backend: BaseBackend,
        config: FinetuneConfig | None = None,
        n_estimators: int = 4,
        max_context: int = 2048,
        random_state: int = 0,
    ) -> None:
        self.backend = backend
        self.config = config
        self.n_estimators = n_estimators
        self.max_context = max_context
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> FineTunedClassifier:
        """Validate and store ``(X, y)`` as the context.

        Raises:
            TabFMError: On bad data.
        """
        if not isinstance(self.backend, BaseBackend):
            raise TabFMError(
                f"backend must be a BaseBackend, but got {type(self.backend).__name__}."
            )
        frame, classes, codes = context_frame(X, y)
        preprocessor = self.backend.make_preprocessor()
        preprocessor.fit(frame)
        self._set_context(preprocessor, preprocessor.transform(frame), codes, classes)
        return self

    def _set_context(
        self, preprocessor: Any, x_context: np.ndarray, codes: np.ndarray, classes: np.ndarray
    ) -> None:
        self.preprocessor_ = preprocessor
        self.x_context_ = x_context.astype(np.float32)
        self.y_context_ = codes.astype(np.int64)
        self.classes_ = classes
        self.n_features_in_ = len(preprocessor.columns)
        self.feature_names_in_ = np.asarray(preprocessor.columns, dtype=object)

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n_rows, n_classes)`` probabilities, columns in ``classes_`` order.

        Raises:
            TabFMError: If ``X`` does not have the columns seen in ``fit``.
        """
        check_is_fitted(self, "x_context_")
        frame = query_frame(X, self.preprocessor_.columns, self)
        return self.backend.predict_proba(
            self.x_context_,
            self.y_context_,
            self.preprocessor_.transform(frame),
            len(self.classes_),
            n_estimators=self.n_estimators,
            max_context=self.max_context,
            seed=self.random_state,
        )

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)  # first: it says NotFittedError before classes_ exists
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])

    def save(self, directory: str | Path) -> Path:
        """Write the weights, the context and a JSON config into ``directory`` (no pickle).

        Files: ``backend/`` (the backend's weights), ``context.safetensors`` (encoded context
        rows and labels) and ``finetuned.json`` (backend name, classes, column schema,
        FinetuneConfig, ensemble settings, the backend's category shuffles).

        Returns:
            The directory.
        """
        import torch
        from safetensors.torch import save_file

        check_is_fitted(self, "x_context_")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.backend.save(directory / BACKEND_DIR)
        save_file(
            {
                "x": torch.from_numpy(np.ascontiguousarray(self.x_context_)),
                "y": torch.from_numpy(np.ascontiguousarray(self.y_context_)),
            },
            str(directory / SAVED_CONTEXT),
        )
        document = {
            "backend": self.backend.name,
            "classes": self.classes_.tolist(),
            "classes_dtype": str(self.classes_.dtype),
            "preprocessor": self.preprocessor_.to_dict(),
            "finetune_config": None if self.config is None else self.config.to_dict(),
            "n_estimators": self.n_estimators,
            "max_context": self.max_context,
            "random_state": self.random_state,
            "categorical_max_levels": self.backend.categorical_max_levels,
        }
        (directory / SAVED_CONFIG).write_text(json.dumps(document, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> FineTunedClassifier:
        """Load a classifier written by :meth:`save`.

        Raises:
            TabFMError: If a file is missing or corrupt (the message names it).
        """
        directory = Path(directory)
        config_path = directory / SAVED_CONFIG
        document = _read_json(config_path)
        try:
            backend = get_backend(
                document["backend"], weights=directory / BACKEND_DIR, device=device
            )
            config = document["finetune_config"]
            classifier = cls(
                backend,
                config=None if config is None else FinetuneConfig.from_dict(config),
                n_estimators=int(document["n_estimators"]),
                max_context=int(document["max_context"]),
                random_state=int(document["random_state"]),
            )
            # Saved before the category shuffles existed: none, as it then predicted.
            levels = document.get("categorical_max_levels", 0)
            check_categorical_max_levels(levels)
            backend.categorical_max_levels = levels
            preprocessor = backend.preprocessor_from_dict(document["preprocessor"])
            classes = np.asarray(document["classes"], dtype=document["classes_dtype"])
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, TabFMError) and str(directory) in str(e):
                raise
            raise TabFMError(f"The saved config is corrupt: {str(config_path)!r} ({e!r}).") from e
        x_context, y_context = _read_context(directory / SAVED_CONTEXT)
        if x_context.shape[1] != len(preprocessor.columns) or len(x_context) != len(y_context):
            raise TabFMError(
                f"The saved context does not match its config: {str(directory / SAVED_CONTEXT)!r}."
            )
        classifier._set_context(preprocessor, x_context, y_context, classes)
        return classifier


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TabFMError(f"The saved config file is missing: {str(path)!r}.")
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TabFMError(f"The saved config file is corrupt: {str(path)!r} ({e}).") from e
    if not isinstance(document, dict):
        raise TabFMError(f"The saved config file is not a JSON object: {str(path)!r}.")
    return document


def _read_context(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise TabFMError(f"The saved context file is missing: {str(path)!r}.")
    try:
        tensors = load_file(str(path))
        return tensors["x"].numpy(), tensors["y"].numpy()
    except (SafetensorError, OSError, KeyError, ValueError) as e:
        raise TabFMError(
            f"The saved context file is corrupt: {str(path)!r} ({e}).".replace("\n", " ")
        ) from e
