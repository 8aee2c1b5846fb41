"""The causal augmentation estimator: discovery -> DAG sampling -> SCM fitting -> synthesis."""

from __future__ import annotations

import dataclasses
import inspect
import numbers
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from causalmix._cache import BaseCache, DirectoryCache
from causalmix._codec import TableCodec
from causalmix._dag_sampling import sample_dags
from causalmix._data import MIN_ROWS, validate_dataset
from causalmix._discovery import (
    DISCOVERY_ALGORITHMS,
    edge_probabilities,
    find_aliases,
    resolve_indep_test,
)
from causalmix._errors import CausalMixError
from causalmix._settings import AugmentationSettings
from causalmix._store import ObjectStore

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["CausalAugmenter"]

_DEFAULTS = AugmentationSettings()


class CausalAugmenter:
    """Synthesise rows of a classification table from structural causal models.

    ``fit`` discovers structure among the features and the target (PC or FCI over bootstrap
    resamples -> edge probabilities), draws ``n_dags`` DAGs from it and fits one DoWhy SCM per
    DAG; ``sample`` draws rows from the SCMs, spread evenly over them. Discovery runs and
    fitted node mechanisms are cached by content, so a new augmenter with the same data and
    settings (the tuner builds one per trial) reuses them.

    Args:
        discovery: A key of :data:`~causalmix.DISCOVERY_ALGORITHMS` (``"pc"``, ``"fci"``).
        indep_test: ``"auto"`` (``chisq`` when every node is discrete; ``dg`` when continuous
            nodes meet a nominal node of more than two levels, a multi-class target say, in a
            table of at most 40 nodes; else ``fisherz``), ``"fisherz"``, ``"dg"`` (degenerate
            Gaussian: one-hot nominal nodes in a Gaussian likelihood-ratio test), ``"chisq"``,
            ``"gsq"`` or ``"kci"``.
        alpha: Significance level of the independence tests, in ``(0, 1)``.
        depth: Largest conditioning-set size; -1 for no limit.
        n_bootstrap: Bootstrap resamples behind the edge probabilities (>= 1).
        n_dags: DAGs drawn from the edge probabilities (>= 1).
        mechanism_quality: ``"linear"`` (linear / logistic regression, fast), ``"good"`` or
            ``"better"`` (the model DoWhy's automatic assignment selects at that quality).
        max_discovery_rows: Rows per discovery resample at most (>= 10).
        class_balance: ``"match"`` the real class frequencies, or ``"uniform"``.
        cache: ``None`` (this process only), a directory path (a
            :class:`~causalmix.DirectoryCache`) or any :class:`~causalmix.BaseCache`.
        random_state: Seed of every random choice (>= 0).
        n_jobs: Processes for the discovery resamples not yet cached (joblib semantics;
            ``None`` is 1).
        discovery_timeout: Seconds that discovery (the resamples not yet cached) may take,
            ``> 0``; past it ``fit`` raises :class:`~causalmix.DiscoveryTimeoutError` and the
            resamples that finished stay cached. ``None``: no limit.

    It follows the scikit-learn estimator contract (``get_params`` / ``set_params``, so
    :func:`sklearn.base.clone` works) without importing scikit-learn until ``fit``.

    Attributes:
        edge_probabilities_: ``P[i, j]``, the strength of ``i -> j`` in ``[0, 1]``, as a
            nodes x nodes frame. Nodes are the non-constant feature columns and the target
            (named after ``y.name``, or ``"target"``), as strings.
        dags_: The sampled DAGs (:class:`networkx.DiGraph` over the node names).
        scms_: The fitted :class:`dowhy.gcm.StructuralCausalModel`, one per DAG. Their
            mechanisms are shared with the cache: do not refit them in place.
        n_edges_: Number of edges of each DAG.
        indep_test_: The independence test used (``"auto"`` resolved).
        timings_: Seconds spent in ``"preprocessing"``, ``"discovery"``, ``"dag_sampling"``,
            ``"scm_fit"``, and ``"sampling"`` (the last ``sample`` call).
        cache_hits_: Cache hits of the last fit, by kind (``"discovery"`` runs,
            ``"mechanisms"``); ``cache_misses_`` counts what had to be computed.
    """

    def __init__(
        self,
        discovery: str = _DEFAULTS.discovery,
        indep_test: str = _DEFAULTS.indep_test,
        alpha: float = _DEFAULTS.alpha,
        depth: int = _DEFAULTS.depth,
        n_bootstrap: int = _DEFAULTS.n_bootstrap,
        n_dags: int = _DEFAULTS.n_dags,
        mechanism_quality: str = _DEFAULTS.mechanism_quality,
        max_discovery_rows: int = 2000,
        class_balance: str = _DEFAULTS.class_balance,
        cache: str | os.PathLike[str] | BaseCache | None = None,
        random_state: int = 0,
        n_jobs: int | None = None,
        discovery_timeout: float | None = None,
    ) -> None:
        self.discovery = discovery
        self.indep_test = indep_test
        self.alpha = alpha
        self.depth = depth
        self.n_bootstrap = n_bootstrap
        self.n_dags = n_dags
        self.mechanism_quality = mechanism_quality
        self.max_discovery_rows = max_discovery_rows
        self.class_balance = class_balance
        self.cache = cache
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.discovery_timeout = discovery_timeout

    def fit(self, X: pd.DataFrame, y: pd.Series) -> CausalAugmenter:
        """Discover the structure of ``(X, y)`` and fit one SCM per sampled DAG.

        Raises:
            CausalMixError: For a bad parameter or bad data (see
                :func:`~causalmix.validate_dataset`).
        """
        from causalmix._scm import SCMBuilder, single_threaded

        self._validate_params()
        X, y = _validate_data(X, y)
        target = _target_name(X, y)
        seed = int(self.random_state)
        started = time.perf_counter()
        codec = TableCodec(X, y, target, seed)
        store = ObjectStore(_as_cache(self.cache))
        timings = {"preprocessing": time.perf_counter() - started}

        started = time.perf_counter()
        n_levels = np.array([np.unique(column).size for column in codec.matrix.T])
        test = resolve_indep_test(self.indep_test, codec.discrete, n_levels)
        algorithm = DISCOVERY_ALGORITHMS[self.discovery](
            indep_test=test, alpha=float(self.alpha), depth=int(self.depth)
        )
        target_index = len(codec.nodes) - 1
        probabilities = edge_probabilities(
            algorithm,
            codec.discovery_matrix(test),
            find_aliases(codec.matrix, codec.discrete, first=target_index),
            n_bootstrap=int(self.n_bootstrap),
            max_rows=int(self.max_discovery_rows),
            seed=seed,
            store=store,
            n_jobs=self.n_jobs,
            discrete=codec.discrete,
            timeout=None if self.discovery_timeout is None else float(self.discovery_timeout),
        )
        timings["discovery"] = time.perf_counter() - started

        started = time.perf_counter()
        dags = [
            _as_digraph(adjacency, codec.nodes)
            for adjacency in sample_dags(probabilities, int(self.n_dags), seed)
        ]
        timings["dag_sampling"] = time.perf_counter() - started

        started = time.perf_counter()
        builder = SCMBuilder(codec, store, self.mechanism_quality, seed)
        with single_threaded():
            scms = [builder.build(dag) for dag in dags]
        timings["scm_fit"] = time.perf_counter() - started

        self._codec = codec
        self.edge_probabilities_ = pd.DataFrame(
            probabilities, index=codec.nodes, columns=codec.nodes
        )
        self.dags_ = dags
        self.scms_ = scms
        self.n_edges_ = [dag.number_of_edges() for dag in dags]
        self.indep_test_ = test
        self.timings_ = timings
        self.cache_hits_ = {kind: store.hits.get(kind, 0) for kind in ("discovery", "mechanisms")}
        self.cache_misses_ = {
            kind: store.misses.get(kind, 0) for kind in ("discovery", "mechanisms")
        }
        return self

    def sample(self, n: int, random_state: int | None = None) -> tuple[pd.DataFrame, pd.Series]:
        """Draw ``n`` synthetic rows.

        The rows have the input's columns, order and dtypes, numeric values within the real
        range, only real target labels, the class balance of ``class_balance`` (every class
        appears when ``n`` is at least the number of classes), and each column's real
        missing-value rate. They are spread evenly over the DAGs and shuffled.

        Args:
            n: Number of rows (>= 0).
            random_state: Seed of this draw; ``None`` uses the augmenter's ``random_state``.

        Returns:
            ``(X, y)`` with a fresh ``RangeIndex``.
        """
        from causalmix._scm import draw_class_balanced, single_threaded

        self._check_is_fitted()
        _check_int("n", n, minimum=0)
        if random_state is not None:
            _check_int("random_state", random_state, minimum=0)
        seed = int(self.random_state if random_state is None else random_state)
        started = time.perf_counter()
        codec = self._codec
        rng = np.random.default_rng([seed, 0x5A3])
        labels = rng.permutation(np.repeat(np.arange(codec.n_classes), self._class_counts(n)))
        parts = []
        chunks = np.array_split(labels, len(self.scms_))
        with single_threaded():
            for k, (scm, chunk) in enumerate(zip(self.scms_, chunks)):
                counts = np.bincount(chunk, minlength=codec.n_classes)
                dag_seed = int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
                parts.append(draw_class_balanced(scm, codec.target.node, counts, dag_seed))
        internal = pd.concat(parts, ignore_index=True)[codec.nodes]
        internal = internal.iloc[rng.permutation(len(internal))].reset_index(drop=True)
        X, y = codec.decode(internal, rng)
        self.timings_["sampling"] = time.perf_counter() - started
        return X, y

    def augment(
        self, X: pd.DataFrame, y: pd.Series, synthetic_ratio: float
    ) -> tuple[pd.DataFrame, pd.Series]:
        """Fit on ``(X, y)`` and append ``round(synthetic_ratio * len(X))`` synthetic rows.

        Args:
            X: Features.
            y: Target.
            synthetic_ratio: Synthetic rows per real row (>= 0). A ratio giving 0 rows
                returns the (validated) real data without fitting.

        Returns:
            ``(X, y)``: the real rows first, then the synthetic ones, with a ``RangeIndex``.
        """
        if (
            not isinstance(synthetic_ratio, numbers.Real)
            or isinstance(synthetic_ratio, bool)
            or not np.isfinite(synthetic_ratio)
            or synthetic_ratio < 0
        ):
            raise CausalMixError(
                f"`synthetic_ratio >= 0` must hold, but got synthetic_ratio={synthetic_ratio!r}."
            )
        self._validate_params()
        X, y = _validate_data(X, y)
        n_synthetic = round(float(synthetic_ratio) * len(X))
        if n_synthetic == 0:
            return X, y
        X_synthetic, y_synthetic = self.fit(X, y).sample(n_synthetic)
        return (
            pd.concat([X, X_synthetic], ignore_index=True),
            pd.concat([y, y_synthetic], ignore_index=True),
        )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters (scikit-learn's estimator API)."""
        return {name: getattr(self, name) for name in _parameter_names()}

    def set_params(self, **params: Any) -> CausalAugmenter:
        """Set constructor parameters (scikit-learn's estimator API); validated in ``fit``."""
        unknown = sorted(set(params) - set(_parameter_names()))
        if unknown:
            raise CausalMixError(
                f"Unknown parameter(s) {unknown}; expected some of {_parameter_names()}."
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if value is not defaults[name].default and value != defaults[name].default
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "scms_"):
            raise CausalMixError(
                f"This {type(self).__name__} is not fitted yet; call fit() or augment() first."
            )

    def _class_counts(self, n: int) -> np.ndarray:
        frequencies = np.bincount(self._codec.class_codes, minlength=self._codec.n_classes)
        if self.class_balance == "uniform":
            frequencies = np.ones_like(frequencies)
        return apportion(n, frequencies / frequencies.sum())

    def _validate_params(self) -> None:
        # The declared settings check themselves (one-line CausalMixError naming the value).
        AugmentationSettings(
            **{item.name: getattr(self, item.name) for item in dataclasses.fields(_DEFAULTS)}
        )
        _check_int("max_discovery_rows", self.max_discovery_rows, minimum=MIN_ROWS)
        _check_int("random_state", self.random_state, minimum=0)
        if self.n_jobs is not None:
            _check_int("n_jobs", self.n_jobs, minimum=None)
            if self.n_jobs == 0:
                raise CausalMixError("`n_jobs != 0` must hold, but got n_jobs=0.")
        timeout = self.discovery_timeout
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, numbers.Real)
            or not np.isfinite(timeout)
            or timeout <= 0
        ):
            raise CausalMixError(
                "`discovery_timeout` must be a number of seconds > 0 or None, but got "
                f"discovery_timeout={timeout!r}."
            )
        _as_cache(self.cache)


def apportion(n: int, proportions: np.ndarray) -> np.ndarray:
    """Split ``n`` into integer counts close to ``n * proportions`` (largest remainders).

    When ``n`` is at least the number of classes, every class gets at least one row (taken
    from the largest counts).
    """
    exact = n * np.asarray(proportions, dtype=float)
    counts = np.floor(exact).astype(np.int64)
    remainder = n - int(counts.sum())
    order = np.lexsort((np.arange(len(exact)), -(exact - counts)))
    counts[order[:remainder]] += 1
    if n >= len(counts):
        for code in np.flatnonzero(counts == 0):
            counts[int(np.argmax(counts))] -= 1
            counts[code] = 1
    return counts


def _validate_data(X: Any, y: Any) -> tuple[pd.DataFrame, pd.Series]:
    if y is None:
        raise CausalMixError("The target `y` is required, but got y=None.")
    return validate_dataset(X, y)


def _target_name(X: pd.DataFrame, y: pd.Series) -> str:
    target = "target" if y.name is None else str(y.name)
    names = [str(c) for c in X.columns]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise CausalMixError(f"Column names must be distinct as strings, but got {clashes}.")
    if target in names:
        raise CausalMixError(
            f"The target name {target!r} is also the name of a feature column; rename one."
        )
    return target


def _as_cache(cache: Any) -> BaseCache | None:
    if cache is None or isinstance(cache, BaseCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return DirectoryCache(cache)
    raise CausalMixError(
        f"`cache` must be None, a directory path or a BaseCache, but got cache={cache!r}."
    )


def _parameter_names() -> list[str]:
    parameters = inspect.signature(CausalAugmenter.__init__).parameters
    return [name for name in parameters if name != "self"]


def _as_digraph(adjacency: np.ndarray, nodes: list[str]) -> nx.DiGraph:
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((nodes[i], nodes[j]) for i, j in zip(*np.nonzero(adjacency)))
    return graph


def _check_int(name: str, value: Any, minimum: int | None) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise CausalMixError(f"`{name}` must be an integer, but got {name}={value!r}.")
    if minimum is not None and value < minimum:
        raise CausalMixError(f"`{name} >= {minimum}` must hold, but got {name}={value!r}.")
