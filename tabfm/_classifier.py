"""The scikit-learn style zero-shot classifier around the TabFM network."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from tabfm._device import autocast, resolve_device
from tabfm._errors import TabFMError
from tabfm._preprocess import TablePreprocessor
from tabfm._sklearn import TableClassifierMixin, context_frame, query_frame

if TYPE_CHECKING:
    import torch

    from tabfm._model import TabFMModel

_MAX_CELLS_PER_PASS = 600_000  # rows x columns per forward pass; bounds activation memory
# Whole-number columns with at most this many distinct context values are read as categories by
# the ensemble members after the first: TabPFN's rule (fewer than 4 distinct values), the best
# of 3, 5, 10 and 30 on the shipped datasets (benchmarks/results/category-shuffles/).
CATEGORICAL_MAX_LEVELS = 3


class TabFMClassifier(TableClassifierMixin, ClassifierMixin, BaseEstimator):
    """Zero-shot in-context classification with a pre-trained TabFM network.

    ``fit`` only validates and stores the training rows (the context); ``predict_proba`` runs
    the network once per ensemble member, each with its own permutation of features and class
    labels (and its own feature / context subsample when the table exceeds the model). Members
    after the first also see the low-cardinality columns as categories in a random code order
    (see ``categorical_max_levels``), as the pretraining prior presents categories.

    Args:
        weights: A weights directory (or its ``model.safetensors``), an in-memory
            :class:`~tabfm.TabFMModel`, or ``None`` for the shipped weights.
        n_estimators: Ensemble members averaged in probability space.
        device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        max_context: Most context rows per member; larger training sets are subsampled
            (stratified, a different subsample per member).
        random_state: Seed of the permutations and subsamples.
        categorical_max_levels: A column whose context values are whole numbers with 2 to this
            many distinct values (integer-coded categories such as a board cell coded 0 / 1 /
            2, binary flags, or string categories with that few levels) is read as
            categorical: ensemble members after the first replace its values by category codes
            in a random order (a value the context lacks becomes missing). Member 0 always
            sees the columns as given; ``0`` turns the shuffles off.
    """

    def __init__(
        self,
        weights: str | Path | TabFMModel | None = None,
        n_estimators: int = 4,
        device: str = "auto",
        max_context: int = 2048,
        random_state: int = 0,
        categorical_max_levels: int = CATEGORICAL_MAX_LEVELS,
    ) -> None:
        self.weights = weights
        self.n_estimators = n_estimators
        self.device = device
        self.max_context = max_context
        self.random_state = random_state
        self.categorical_max_levels = categorical_max_levels

    def fit(self, X: Any, y: Any) -> TabFMClassifier:
        """Validate and store the context rows.

        Raises:
            TabFMError: On bad data (see :class:`TablePreprocessor` and the target checks) or
                bad parameters.
        """
        self._check_params()
        frame, classes, codes = context_frame(X, y)
        self.preprocessor_ = TablePreprocessor().fit(frame)
        self.x_context_ = self.preprocessor_.transform(frame)
        self.y_context_ = codes
        self.classes_ = classes
        self.n_features_in_ = frame.shape[1]
        self.feature_names_in_ = np.asarray(self.preprocessor_.columns, dtype=object)
        self.model_ = self._load_model()
        self.device_ = resolve_device(self.device)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n_rows, n_classes)`` class probabilities, columns in ``classes_`` order.

        Raises:
            TabFMError: If ``X`` does not have the columns seen in ``fit``.
        """
        check_is_fitted(self, "model_")
        frame = query_frame(X, self.preprocessor_.columns, self)
        x_query = self.preprocessor_.transform(frame)
        return predict_proba_ensemble(
            self.model_,
            self.x_context_,
            self.y_context_,
            x_query,
            n_classes=len(self.classes_),
            n_estimators=self.n_estimators,
            max_context=self.max_context,
            seed=self.random_state,
            device=self.device_,
            categorical_max_levels=self.categorical_max_levels,
        )

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])

    def _check_params(self) -> None:
        for name in ("n_estimators", "max_context"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise TabFMError(f"`{name} >= 1` must hold, but got {name}={value!r}.")
        check_categorical_max_levels(self.categorical_max_levels)
        resolve_device(self.device)

    def _load_model(self) -> TabFMModel:
        from tabfm._model import TabFMModel
        from tabfm._weights import load_model

        if isinstance(self.weights, TabFMModel):
            return self.weights
        return load_model(self.weights)


def check_categorical_max_levels(value: Any) -> None:
    """Raise :class:`TabFMError` unless ``value`` is a whole number ``>= 0``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise TabFMError(
            f"`categorical_max_levels >= 0` must hold, but got categorical_max_levels={value!r}."
        )


def predict_proba_ensemble(
    model: TabFMModel,
    x_context: np.ndarray,
    y_context: np.ndarray,
    x_query: np.ndarray,
    n_classes: int,
    n_estimators: int = 4,
    max_context: int = 2048,
    seed: int = 0,
    device: torch.device | str = "cpu",
    categorical_max_levels: int = CATEGORICAL_MAX_LEVELS,
) -> np.ndarray:
    """Average the member predictions of an in-context ensemble.

    Args:
        model: The network (left in eval mode on ``device``).
        x_context: ``(Rc, C)`` encoded context rows.
        y_context: ``(Rc,)`` labels in ``[0, n_classes)``.
        x_query: ``(Rq, C)`` encoded query rows.
        n_classes: Number of classes.
        n_estimators: Ensemble members.
        max_context: Most context rows per member.
        seed: Seed of permutations and subsamples.
        device: Where to run.
        categorical_max_levels: Members after the first see whole-number columns with 2 to
            this many distinct context values as categories in a random code order (0: off).

    Returns:
        ``(Rq, n_classes)`` probabilities.
    """
    import torch

    device = torch.device(device)
    model.to(device).eval()
    levels = level_columns(x_context, categorical_max_levels)
    total = np.zeros((len(x_query), n_classes))
    for member in range(n_estimators):
        rng = np.random.default_rng([seed, member])
        rows = _context_rows(rng, y_context, max_context)
        columns = rng.permutation(x_context.shape[1])[: model.config.max_features]
        # Member 0 keeps the original label order; the others shuffle it.
        label_map = np.arange(n_classes) if member == 0 else rng.permutation(n_classes)
        context, query = x_context, x_query
        if member > 0 and levels:
            # A stream of its own, so that the draws above do not depend on the shuffles.
            codes = np.random.default_rng([seed, member, 1])
            orders = {column: codes.permutation(len(d)) for column, d in levels.items()}
            context = recode_levels(x_context, levels, orders)
            query = recode_levels(x_query, levels, orders)
        proba = _predict_member(
            model,
            context[np.ix_(rows, columns)],
            label_map[y_context[rows]],
            query[:, columns],
            n_classes,
            feature_seed=int(rng.integers(2**31)),
            device=device,
        )
        total += proba[:, label_map]
    return total / n_estimators


def level_columns(x_context: np.ndarray, max_levels: int) -> dict[int, np.ndarray]:
    """``{column: its sorted distinct values}`` for the columns of ``x_context`` whose observed
    values are whole numbers with 2 to ``max_levels`` distinct values (none for 0)."""
    if max_levels < 2:
        return {}
    found = {}
    for column in range(x_context.shape[1]):
        values = x_context[:, column]
        distinct = np.unique(values[np.isfinite(values)])
        if 2 <= len(distinct) <= max_levels and np.all(distinct == np.round(distinct)):
            found[column] = distinct
    return found


def recode_levels(
    x: np.ndarray, levels: dict[int, np.ndarray], orders: dict[int, np.ndarray]
) -> np.ndarray:
    """A copy of ``x`` in which each column of ``levels`` holds category codes: its value
    ``levels[column][i]`` becomes ``orders[column][i]``; a value not in ``levels[column]``
    becomes missing, a missing one stays missing."""
    out = x.copy()
    for column, distinct in levels.items():
        values = x[:, column]
        index = np.clip(np.searchsorted(distinct, values), 0, len(distinct) - 1)
        known = np.isfinite(values) & (distinct[index] == values)
        out[:, column] = np.where(known, orders[column][index], np.nan)
    return out


def _context_rows(rng: np.random.Generator, y: np.ndarray, max_context: int) -> np.ndarray:
    """A stratified subsample of at most ``max_context`` rows, every class kept."""
    if len(y) <= max_context:
        return rng.permutation(len(y))
    order = rng.permutation(len(y))
    first = order[np.unique(y[order], return_index=True)[1]]
    rest = np.setdiff1d(order, first, assume_unique=True)
    # Proportional draw of the remaining rows keeps the class balance of y.
    rest = rest[np.argsort(rng.random(len(rest)))][: max(0, max_context - len(first))]
    return rng.permutation(np.concatenate([first, rest]))


def _predict_member(
    model: TabFMModel,
    x_context: np.ndarray,
    y_context: np.ndarray,
    x_query: np.ndarray,
    n_classes: int,
    feature_seed: int,
    device: torch.device,
) -> np.ndarray:
    import torch

    n_context, n_columns = x_context.shape
    chunk = max(256, _MAX_CELLS_PER_PASS // (n_columns + 1) - n_context)
    context = torch.from_numpy(np.ascontiguousarray(x_context)).float()
    labels = torch.from_numpy(y_context).long()[None].to(device)
    out = []
    with torch.inference_mode(), autocast(device):
        for start in range(0, len(x_query), chunk):
            query = torch.from_numpy(np.ascontiguousarray(x_query[start : start + chunk])).float()
            x = torch.cat([context, query])[None].to(device)
            logits = model(x, labels, n_classes=n_classes, feature_seed=feature_seed)
            out.append(torch.softmax(logits[0, :, :n_classes].float(), dim=-1).cpu().numpy())
    return np.concatenate(out).astype(np.float64)
