from __future__ import annotations

import networkx as nx
import numpy as np

from causalmix import sample_dags


def _random_probabilities(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    skeleton = np.triu(rng.random((n, n)), k=1)
    forward = rng.random((n, n))
    P = skeleton * forward
    return P + (skeleton * (1 - forward)).T


def test_dags_are_acyclic_even_when_cycles_are_likely() -> None:
    n = 12
    # Every pair adjacent, each direction equally likely: almost every draw has cycles.
    P = np.full((n, n), 0.5)
    np.fill_diagonal(P, 0.0)
    for adjacency in sample_dags(P, n_dags=20, seed=0):
        assert nx.is_directed_acyclic_graph(nx.DiGraph(adjacency))
        # Breaking a cycle reverses an edge when it can, so the complete skeleton survives.
        assert adjacency.sum() == n * (n - 1) // 2


def test_dags_are_acyclic_for_random_probabilities() -> None:
    for seed in range(5):
        for adjacency in sample_dags(_random_probabilities(15, seed), n_dags=10, seed=seed):
            assert nx.is_directed_acyclic_graph(nx.DiGraph(adjacency))


def test_same_seed_same_dags_and_different_seed_differs() -> None:
    P = _random_probabilities(10, 1)
    first, again = sample_dags(P, 5, seed=3), sample_dags(P, 5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    other = sample_dags(P, 5, seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_certain_edges_always_and_impossible_edges_never_appear() -> None:
    P = np.zeros((4, 4))
    P[0, 1] = 1.0
    P[2, 3] = 0.3
    for adjacency in sample_dags(P, n_dags=50, seed=0):
        assert adjacency[0, 1] and not adjacency[1, 0]
        assert not adjacency[3, 2]
        assert adjacency[[0, 0, 1, 1], [2, 3, 2, 3]].sum() == 0


def test_edge_frequencies_follow_the_probabilities() -> None:
    P = np.zeros((3, 3))
    P[0, 1], P[1, 0] = 0.6, 0.2  # adjacent 80% of the time, 0 -> 1 in 3/4 of those
    P[1, 2] = 0.3
    dags = sample_dags(P, n_dags=4000, seed=7)
    frequency = np.mean(dags, axis=0)
    np.testing.assert_allclose(frequency[[0, 1, 1], [1, 0, 2]], [0.6, 0.2, 0.3], atol=0.03)


def test_a_cycle_of_certain_edges_loses_one_edge() -> None:
    P = np.zeros((3, 3))
    P[0, 1] = P[1, 2] = P[2, 0] = 1.0  # a certain cycle, no reverse allowed
    for adjacency in sample_dags(P, n_dags=5, seed=0):
        assert nx.is_directed_acyclic_graph(nx.DiGraph(adjacency))
        assert adjacency.sum() == 2
        assert not (adjacency & (P == 0)).any()


def test_an_acyclic_draw_is_kept_as_drawn() -> None:
    P = np.zeros((4, 4))
    P[3, 0] = P[0, 1] = P[1, 2] = P[3, 2] = 1.0
    for adjacency in sample_dags(P, n_dags=3, seed=0):
        assert np.array_equal(adjacency, P == 1.0)
