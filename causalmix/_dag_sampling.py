"""Drawing DAGs from a probabilistic adjacency matrix."""

from __future__ import annotations

import numpy as np

__all__ = ["sample_dags"]


def sample_dags(probabilities: np.ndarray, n_dags: int, seed: int) -> list[np.ndarray]:
    """Draw acyclic graphs from edge probabilities.

    For each pair of nodes, the adjacency is drawn with probability ``P[i, j] + P[j, i]`` (the
    skeleton strength) and, if drawn, oriented ``i -> j`` with probability
    ``P[i, j] / (P[i, j] + P[j, i])``. If the drawn graph has a cycle, the nodes are put in an
    order that goes against as little edge strength as possible (the greedy feedback-arc-set
    order of Eades, Lin and Smyth, weighting each drawn edge by its ``P``); every edge going
    backwards in that order is reversed when its reverse has positive probability, and dropped
    otherwise. An acyclic draw is kept exactly as drawn (the order is then a topological one),
    and the result is always a DAG that keeps the drawn adjacencies whenever ``P`` allows.

    Args:
        probabilities: ``P[i, j]`` is the strength of ``i -> j``, with
            ``P[i, j] + P[j, i] <= 1``. # (n_nodes, n_nodes)
        n_dags: Number of DAGs to draw.
        seed: The ``k``-th DAG depends only on ``seed``, ``k`` and ``P``.

    Returns:
        ``n_dags`` boolean adjacency matrices, ``A[i, j]`` for ``i -> j``. # (n_nodes, n_nodes)
    """
    return [_sample_dag(probabilities, np.random.default_rng([seed, k])) for k in range(n_dags)]


def _sample_dag(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n_nodes = probabilities.shape[0]
    skeleton = np.triu(probabilities + probabilities.T, k=1)
    keep = rng.random((n_nodes, n_nodes)) < skeleton
    forward = rng.random((n_nodes, n_nodes)) * skeleton < probabilities
    upper = keep & forward
    lower = keep & ~forward
    adjacency = upper | lower.T
    position = np.empty(n_nodes, dtype=np.int64)
    position[_greedy_order(adjacency, probabilities)] = np.arange(n_nodes)
    backwards = adjacency & (position[:, None] > position[None, :])
    adjacency &= ~backwards
    adjacency |= backwards.T & (probabilities > 0)
    return adjacency


def _greedy_order(adjacency: np.ndarray, probabilities: np.ndarray) -> list[int]:
    """Eades-Lin-Smyth: peel sinks to the back and sources to the front; when neither is left,
    move the node with the largest (outgoing - incoming) strength to the front."""
    weights = np.where(adjacency, probabilities, 0.0)
    remaining = np.ones(len(adjacency), dtype=bool)
    front: list[int] = []
    back: list[int] = []
    while remaining.any():
        peeled = True
        while peeled:
            peeled = False
            inside = adjacency & remaining[None, :] & remaining[:, None]
            sinks = np.flatnonzero(remaining & ~inside.any(axis=1))
            if sinks.size:
                back[:0] = sinks.tolist()
                remaining[sinks] = False
                peeled = True
                continue
            sources = np.flatnonzero(remaining & ~inside.any(axis=0))
            if sources.size:
                front.extend(sources.tolist())
                remaining[sources] = False
                peeled = True
        if remaining.any():
            inside_weights = weights * remaining[None, :] * remaining[:, None]
            score = inside_weights.sum(axis=1) - inside_weights.sum(axis=0)
            score[~remaining] = -np.inf
            best = int(np.argmax(score))
            front.append(best)
            remaining[best] = False
    return front + back
