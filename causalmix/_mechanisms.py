"""Causal mechanisms (DoWhy ``gcm``) for one node given its parents, and their cache format.

A node's mechanism depends only on the node, its parent set, the model frame and the settings,
so it is fitted once and shared by every DAG (and every later call) that gives the node the
same parents.

- Roots (any type): :class:`dowhy.gcm.EmpiricalDistribution` (resampling the real values).
- Continuous nodes: :class:`dowhy.gcm.AdditiveNoiseModel` ``X = f(parents) + N`` with the
  empirical residual distribution as ``N``.
- Discrete nodes and the target: :class:`dowhy.gcm.ClassifierFCM` (a class drawn from the
  classifier's predicted probabilities).

``f`` and the classifier are ``LinearRegression`` / ``LogisticRegression`` for
``quality="linear"``; for ``"good"`` and ``"better"`` they are the model DoWhy's automatic
assignment selects (:func:`dowhy.gcm.auto.select_model`, cross-validated over its model zoo for
that quality). Discrete parents are one-hot encoded before any model sees them.

Fitted mechanisms are cached without pickle, so that a shared cache (the PostgreSQL table
every worker reads) is no way to run code on the workers:

- Roots, and linear mechanisms (``LinearRegression`` / ``LogisticRegression``, what
  ``quality="linear"`` fits) are plain arrays (NumPy's ``.npz``, read with
  ``allow_pickle=False``): the empirical data, the coefficients, the classes. Decoding them
  costs a few hundred microseconds instead of skops' milliseconds per node.
- Any other mechanism (the models ``"good"`` and ``"better"`` select) is ``skops.io``: loading
  builds only the types in :data:`TRUSTED_TYPES` (plus the scikit-learn and NumPy types skops
  trusts by default) from their stored attributes and runs no stored code. An entry with any
  other type is refused, which the cache treats as a miss: the mechanism is fitted again.

This module imports DoWhy and scikit-learn at import time; import it lazily.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from dowhy import gcm
from dowhy.gcm.ml import ClassificationModel, PredictionModel
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression

from causalmix._quiet import global_numpy_seed, quiet

__all__ = [
    "OneHotInputClassifier",
    "OneHotInputRegressor",
    "decode_mechanism",
    "encode_mechanism",
    "fit_mechanism",
]

_HEADER = b"causalmix-mechanism-skops-v1\n"
_ARRAYS_HEADER = b"causalmix-mechanism-arrays-v1\n"

TRUSTED_TYPES = frozenset(
    (
        "causalmix._mechanisms.OneHotInputClassifier",
        "causalmix._mechanisms.OneHotInputRegressor",
        "dowhy.gcm.causal_mechanisms.AdditiveNoiseModel",
        "dowhy.gcm.causal_mechanisms.ClassifierFCM",
        "dowhy.gcm.ml.regression.InvertibleIdentityFunction",
        "dowhy.gcm.stochastic_models.EmpiricalDistribution",
        # The fitted state of the tree and neighbour models DoWhy's "good" and "better" model
        # zoos may choose: arrays that skops rebuilds without running stored code. Without
        # them every such entry was refused, so those mechanisms were fitted again each time.
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.tree._tree.Tree",
    )
)
"""The types a cached mechanism may hold beyond those skops trusts by default: what
:func:`fit_mechanism` builds."""


def fit_mechanism(
    parent_values: np.ndarray | None,
    node_values: np.ndarray,
    parent_levels: Sequence[int],
    discrete: bool,
    quality: str,
    seed: int,
) -> Any:
    """Fit the mechanism of one node.

    Args:
        parent_values: The parents' columns of the model frame in DoWhy's order (sorted
            names), or ``None`` for a root. # (n_rows, n_parents)
        node_values: The node's column: floats, or level strings if ``discrete``. # (n_rows,)
        parent_levels: Per parent, its number of levels (0 for a continuous parent).
        discrete: Whether the node is discrete.
        quality: ``"linear"``, ``"good"`` or ``"better"``.
        seed: Seeds every random choice of the fit (DoWhy's model selection folds).

    Returns:
        A fitted DoWhy causal mechanism.
    """
    with quiet(), global_numpy_seed(seed):
        if parent_values is None:
            mechanism = gcm.EmpiricalDistribution()
            mechanism.fit(node_values)
            return mechanism
        estimator = _choose_estimator(parent_values, node_values, parent_levels, discrete, quality)
        if discrete:
            levels = tuple(parent_levels)
            mechanism = gcm.ClassifierFCM(OneHotInputClassifier(estimator, levels))
        else:
            mechanism = gcm.AdditiveNoiseModel(
                OneHotInputRegressor(estimator, tuple(parent_levels))
            )
        mechanism.fit(parent_values, node_values)
        return mechanism


def encode_mechanism(mechanism: Any) -> bytes:
    """The cache bytes of a fitted mechanism: plain arrays where it is a root or linear,
    ``skops.io`` otherwise; never pickle."""
    arrays = _as_arrays(mechanism)
    if arrays is not None:
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return _ARRAYS_HEADER + buffer.getvalue()
    import skops.io

    return _HEADER + skops.io.dumps(mechanism)


def decode_mechanism(raw: bytes) -> Any:
    """A mechanism from :func:`encode_mechanism`'s bytes.

    Raises:
        ValueError: If ``raw`` is not such an entry, or holds a type outside
            :data:`TRUSTED_TYPES` (nothing of it is built then).
    """
    if raw.startswith(_ARRAYS_HEADER):
        return _from_arrays(raw[len(_ARRAYS_HEADER) :])
    import skops.io

    if not raw.startswith(_HEADER):
        raise ValueError("not a causalmix mechanism in the skops or arrays format")
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        # One parse: skops audits the types against the allowlist before building anything.
        return skops.io.loads(raw[len(_HEADER) :], trusted=sorted(TRUSTED_TYPES))
    except UntrustedTypesFoundException as e:
        # skops' message names the untrusted types.
        raise ValueError(f"a cached mechanism holds types that are not trusted: {e}") from e


_LINEAR = {"LinearRegression": LinearRegression, "LogisticRegression": LogisticRegression}
"""The estimators stored as arrays, by name: what ``predict`` / ``predict_proba`` of each
reads is ``coef_``, ``intercept_`` (and ``classes_``) and its constructor parameters."""


def _as_arrays(mechanism: Any) -> dict[str, np.ndarray] | None:
    """The arrays that rebuild ``mechanism`` exactly, or ``None`` when it is not a root or a
    linear mechanism of :func:`fit_mechanism`."""
    if type(mechanism) is gcm.EmpiricalDistribution:
        return {"kind": np.array("root"), **_data_arrays("data", mechanism.data)}
    if type(mechanism) is gcm.AdditiveNoiseModel:
        model, kind = mechanism.prediction_model, "additive_noise"
        noise = mechanism.noise_model
        if type(noise) is not gcm.EmpiricalDistribution or type(model) is not OneHotInputRegressor:
            return None
        extra = _data_arrays("noise", noise.data)
    elif type(mechanism) is gcm.ClassifierFCM:
        model, kind, extra = mechanism.classifier_model, "classifier", {}
        if type(model) is not OneHotInputClassifier:
            return None
    else:
        return None
    estimator = model.estimator
    name = type(estimator).__name__
    if _LINEAR.get(name) is not type(estimator):
        return None
    params = json.dumps(estimator.get_params(), sort_keys=True)
    fitted = {
        "coef": np.asarray(estimator.coef_),
        "intercept": np.asarray(estimator.intercept_),
        "n_features_in": np.asarray(estimator.n_features_in_),
    }
    if hasattr(estimator, "classes_"):
        fitted.update(_data_arrays("classes", np.asarray(estimator.classes_)))
    return {
        "kind": np.array(kind),
        "estimator": np.array(name),
        "params": np.array(params),
        "levels": np.asarray(model.levels, dtype=np.int64),
        **fitted,
        **extra,
    }


def _data_arrays(name: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """``values`` as a plain array; level strings (an object array) as unicode, marked."""
    values = np.asarray(values)
    if values.dtype == object:
        return {name: values.astype(str), f"{name}_is_object": np.array(True)}
    return {name: values}


def _data(arrays: Any, name: str) -> np.ndarray:
    values = arrays[name]
    return values.astype(object) if f"{name}_is_object" in arrays.files else values


def _from_arrays(data: bytes) -> Any:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        kind = str(arrays["kind"])
        if kind == "root":
            root = gcm.EmpiricalDistribution()
            root._data = _data(arrays, "data")
            return root
        name = str(arrays["estimator"])
        if name not in _LINEAR or kind not in ("additive_noise", "classifier"):
            raise ValueError(f"a cached mechanism holds an unknown kind: {kind!r}, {name!r}")
        estimator = _LINEAR[name](**json.loads(str(arrays["params"])))
        estimator.coef_ = arrays["coef"]
        estimator.intercept_ = arrays["intercept"][()]
        estimator.n_features_in_ = int(arrays["n_features_in"])
        if "classes" in arrays.files:
            estimator.classes_ = _data(arrays, "classes")
        levels = tuple(int(n) for n in arrays["levels"])
        if kind == "classifier":
            return gcm.ClassifierFCM(OneHotInputClassifier(estimator, levels))
        noise = gcm.EmpiricalDistribution()
        noise._data = _data(arrays, "noise")
        return gcm.AdditiveNoiseModel(OneHotInputRegressor(estimator, levels), noise)


def _choose_estimator(
    parent_values: np.ndarray,
    node_values: np.ndarray,
    parent_levels: Sequence[int],
    discrete: bool,
    quality: str,
) -> Any:
    linear = LogisticRegression(max_iter=1000) if discrete else LinearRegression()
    if quality == "linear":
        return linear
    from dowhy.gcm import config
    from dowhy.gcm.auto import AssignmentQuality, select_model

    chosen = AssignmentQuality.GOOD if quality == "good" else AssignmentQuality.BETTER
    saved_n_jobs = config.default_n_jobs
    # DoWhy cross-validates its candidates with n_jobs=-1 by default: one process pool per
    # node is slower than the fits themselves and competes with the caller's parallelism.
    config.default_n_jobs = 1
    try:
        model, _ = select_model(_one_hot(parent_values, parent_levels), node_values, chosen)
        return model.sklearn_model
    except (ValueError, AttributeError):
        # Too few rows per class for DoWhy's 5-fold selection (or a model without an
        # sklearn estimator): use the linear choice.
        return linear
    finally:
        config.default_n_jobs = saved_n_jobs


def _one_hot(values: np.ndarray, levels: Sequence[int]) -> np.ndarray:
    """Continuous columns as floats, discrete columns (level strings) one-hot encoded."""
    values = np.asarray(values)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    blocks = []
    for j, n_levels in enumerate(levels):
        column = values[:, j]
        if n_levels == 0:
            blocks.append(column.astype(float).reshape(-1, 1))
        else:
            indices = np.clip(column.astype(float).astype(np.int64), 0, n_levels - 1)
            blocks.append(np.eye(n_levels)[indices])
    return np.hstack(blocks)


def _shape_2d(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    return values.reshape(-1, 1) if values.ndim == 1 else values


class OneHotInputRegressor(PredictionModel):
    """A DoWhy prediction model: one-hot encodes discrete inputs, then a scikit-learn model.

    DoWhy's own wrapper switches to a target encoding above 7 categories, which needs a numeric
    target; encoding here keeps every input the same for regressors and classifiers.
    """

    def __init__(self, estimator: Any, levels: tuple[int, ...]) -> None:
        self.estimator = estimator
        self.levels = levels

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.estimator.fit(_one_hot(X, self.levels), np.asarray(Y).reshape(-1))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return _shape_2d(self.estimator.predict(_one_hot(X, self.levels)))

    def clone(self) -> OneHotInputRegressor:
        return type(self)(clone(self.estimator), self.levels)


class OneHotInputClassifier(OneHotInputRegressor, ClassificationModel):
    """The classification counterpart of :class:`OneHotInputRegressor`."""

    def predict_probabilities(self, X: np.ndarray) -> np.ndarray:
        return _shape_2d(self.estimator.predict_proba(_one_hot(X, self.levels)))

    @property
    def classes(self) -> list[str]:
        return list(self.estimator.classes_)
