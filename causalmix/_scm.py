"""Assembling fitted DoWhy SCMs from cached per-node mechanisms, and drawing class-balanced
rows from them.

This module imports DoWhy at import time; import it lazily.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version

import networkx as nx
import numpy as np
import pandas as pd
from dowhy import gcm
from dowhy.gcm.causal_models import PARENTS_DURING_FIT
from threadpoolctl import threadpool_limits

from causalmix._codec import DISCRETE, TableCodec
from causalmix._mechanisms import decode_mechanism, encode_mechanism, fit_mechanism
from causalmix._quiet import global_numpy_seed, quiet
from causalmix._store import ObjectStore, content_key

__all__ = ["SCMBuilder", "draw_class_balanced", "single_threaded"]

_POOL_GROWTH = 4
_POOL_ROUNDS = 3
_MAX_POOL_ROWS = 200_000


class SCMBuilder:
    """Builds one fitted :class:`dowhy.gcm.StructuralCausalModel` per DAG.

    Args:
        codec: The table's model view (frame, node kinds and levels).
        store: Where fitted mechanisms are cached.
        quality: The mechanism quality.
        seed: Seeds the mechanism fits.
    """

    def __init__(self, codec: TableCodec, store: ObjectStore, quality: str, seed: int) -> None:
        self.codec = codec
        self.store = store
        self.quality = quality
        self.seed = seed
        self._frame_digest = _frame_digest(codec.frame)
        self._levels = {
            spec.node: len(spec.categories) if spec.kind == DISCRETE else 0
            for spec in codec.node_specs
        }

    def build(self, dag: nx.DiGraph) -> gcm.StructuralCausalModel:
        scm = gcm.StructuralCausalModel(nx.DiGraph(dag))
        for node in self.codec.nodes:
            # DoWhy feeds a mechanism its parents in sorted order; fit them in that order.
            parents = sorted(scm.graph.predecessors(node))
            scm.set_causal_mechanism(node, self._mechanism(node, parents))
            scm.graph.nodes[node][PARENTS_DURING_FIT] = parents
        return scm

    def _mechanism(self, node: str, parents: list[str]) -> object:
        key = content_key(
            "mechanism",
            data=self._frame_digest,
            node=node,
            parents=parents,
            quality=self.quality,
            seed=self.seed,
            dowhy=_version("dowhy"),
            sklearn=_version("scikit-learn"),
            encoding="skops-v1",
        )
        frame = self.codec.frame

        def fit() -> object:
            return fit_mechanism(
                frame[parents].to_numpy(dtype=object) if parents else None,
                frame[node].to_numpy(dtype=object if self._levels[node] else float),
                [self._levels[p] for p in parents],
                discrete=self._levels[node] > 0,
                quality=self.quality,
                seed=int(key[-8:], 16),
            )

        return self.store.get_or_compute(
            "mechanisms", key, fit, encode_mechanism, decode_mechanism
        )


def draw_class_balanced(
    scm: gcm.StructuralCausalModel,
    target: str,
    class_counts: np.ndarray,
    seed: int,
) -> pd.DataFrame:
    """Draw rows with exactly ``class_counts[c]`` rows of class ``c`` (level string ``str(c)``).

    Rows are drawn from the SCM in growing pools and kept per class until every quota is met
    (rejection sampling: each kept row follows the SCM's distribution given its class). A
    class still short after the last pool (a class the mechanisms almost never produce) is
    completed with interventional samples ``do(target = c)``, whose target descendants follow
    the class but whose ancestors follow their marginals.
    """
    need = np.asarray(class_counts, dtype=np.int64).copy()
    parts: list[pd.DataFrame] = []
    pool_rows = max(2 * int(need.sum()), 64)
    with quiet(), global_numpy_seed(seed):
        for _ in range(_POOL_ROUNDS):
            if need.sum() == 0:
                break
            pool = gcm.draw_samples(scm, pool_rows)
            labels = pool[target].to_numpy(dtype=object)
            for code in np.flatnonzero(need):
                rows = np.flatnonzero(labels == str(code))[: need[code]]
                parts.append(pool.iloc[rows])
                need[code] -= len(rows)
            pool_rows = min(pool_rows * _POOL_GROWTH, _MAX_POOL_ROWS)
        for code in np.flatnonzero(need):
            label = str(code)
            parts.append(
                gcm.interventional_samples(
                    scm,
                    {target: lambda _, label=label: label},
                    num_samples_to_draw=int(need[code]),
                )
            )
    if not parts:
        return pd.DataFrame(columns=list(scm.graph.nodes))
    return pd.concat(parts, ignore_index=True)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run BLAS and OpenMP (scikit-learn's gradient boosting) on one thread in the block.

    Per-node models are small: threads buy nothing, and on a busy machine OpenMP's spinning
    workers made one HistGradientBoosting fit on 300 rows take 10 s instead of 0.1 s
    (measured). The tuner parallelises across trials instead.
    """
    with threadpool_limits(limits=1):
        yield


def _frame_digest(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    digest.update(repr(list(frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@functools.cache
def _version(package: str) -> str:
    # Read once per process: importlib.metadata parses the package's METADATA on every call
    # (3 ms per cached mechanism, more than reading the mechanism back).
    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover - installed from a source tree
        return "unknown"
