from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from causalmix import (
    DISCOVERY_ALGORITHMS,
    BaseDiscovery,
    CausalAugmenter,
    CausalMixError,
    DiscoveryTimeoutError,
    FCIDiscovery,
    PCDiscovery,
    edge_strengths,
)
from causalmix._deadline import deadline
from causalmix._discovery import edge_probabilities, find_aliases
from causalmix._discovery_base import ARROW, CIRCLE, TAIL
from causalmix._store import ObjectStore


def _chain(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """X -> Y -> Z -> target, and W independent of everything."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 1.5 * x + rng.normal(size=n)
    z = -1.2 * y + rng.normal(size=n) * 1.5
    w = rng.normal(size=n)
    target = pd.Series(np.where(z + rng.normal(size=n) > 0, "high", "low"), name="label")
    return pd.DataFrame({"X": x, "Y": y, "Z": z, "W": w}), target


def _marks(n: int, edges: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Edges as (i, j, mark at i, mark at j)."""
    marks = np.zeros((n, n), dtype=np.int8)
    for i, j, at_i, at_j in edges:
        marks[i, j], marks[j, i] = at_i, at_j
    return marks


def test_edge_strengths_count_every_mark_combination() -> None:
    cases = {
        (TAIL, ARROW): (1.0, 0.0),  # i --> j
        (CIRCLE, ARROW): (1.0, 0.0),  # i o-> j
        (TAIL, CIRCLE): (1.0, 0.0),  # i --o j
        (ARROW, TAIL): (0.0, 1.0),  # i <-- j
        (ARROW, CIRCLE): (0.0, 1.0),  # i <-o j
        (TAIL, TAIL): (0.5, 0.5),  # i --- j
        (ARROW, ARROW): (0.5, 0.5),  # i <-> j
        (CIRCLE, CIRCLE): (0.5, 0.5),  # i o-o j
    }
    for (at_i, at_j), (forward, backward) in cases.items():
        strengths = edge_strengths(_marks(3, [(0, 2, at_i, at_j)]))
        assert (strengths[0, 2], strengths[2, 0]) == (forward, backward), (at_i, at_j)
        assert strengths[[0, 1, 1, 2], [1, 0, 2, 1]].sum() == 0.0


def test_planted_chain_skeleton_is_recovered() -> None:
    X, y = _chain()
    augmenter = CausalAugmenter(n_bootstrap=10, n_dags=2, random_state=1).fit(X, y)
    P = augmenter.edge_probabilities_
    skeleton = P + P.T
    assert list(P.index) == ["X", "Y", "Z", "W", "label"]
    for a, b in [("X", "Y"), ("Y", "Z"), ("Z", "label")]:
        assert skeleton.loc[a, b] >= 0.8, (a, b, skeleton.loc[a, b])
    for a, b in [("X", "Z"), ("X", "W"), ("Y", "W"), ("Z", "W"), ("X", "label"), ("W", "label")]:
        assert skeleton.loc[a, b] <= 0.2, (a, b, skeleton.loc[a, b])
    assert ((P.to_numpy() >= 0) & (P.to_numpy() <= 1)).all()
    assert np.all(skeleton.to_numpy() <= 1.0 + 1e-12)


@pytest.mark.parametrize("name", sorted(DISCOVERY_ALGORITHMS))
def test_each_algorithm_gives_probabilities_in_unit_interval(name: str) -> None:
    X, y = _chain(n=300)
    P = CausalAugmenter(discovery=name, n_bootstrap=4, n_dags=1).fit(X, y).edge_probabilities_
    values = P.to_numpy()
    assert values.min() >= 0.0 and values.max() <= 1.0
    assert np.all(np.diag(values) == 0.0)
    assert (values + values.T).max() <= 1.0 + 1e-12
    assert values.sum() > 0


def test_fast_fisherz_matches_causal_learn() -> None:
    from causallearn.utils.cit import CIT

    rng = np.random.default_rng(3)
    data = rng.normal(size=(200, 6))
    data[:, 1] += data[:, 0]
    data[:, 2] += data[:, 1] - data[:, 3]
    reference, ours = CIT(data, "fisherz"), CIT(data, PCDiscovery("fisherz").ci_test_name())
    for _ in range(300):
        k = int(rng.integers(0, 4))
        v = [int(i) for i in rng.choice(6, size=k + 2, replace=False)]
        assert abs(reference(v[0], v[1], v[2:]) - ours(v[0], v[1], v[2:])) < 1e-9


def test_pc_with_fast_fisherz_matches_causal_learn_graph() -> None:
    from causallearn.search.ConstraintBased.PC import pc

    X, y = _chain(n=400)
    data = np.column_stack([X.to_numpy(), (y == "high").to_numpy(dtype=float)])
    reference = pc(data, 0.05, "fisherz", show_progress=False).G.graph
    assert np.array_equal(PCDiscovery("fisherz").discover(data), reference)


def test_duplicated_columns_do_not_crash_and_become_children() -> None:
    X, y = _chain(n=300)
    X["Y_copy"] = X["Y"]
    X["Y_scaled"] = 3.0 * X["Y"] - 1.0
    augmenter = CausalAugmenter(n_bootstrap=3, n_dags=2).fit(X, y)
    P = augmenter.edge_probabilities_
    assert P.loc["Y", "Y_copy"] == 1.0 and P.loc["Y", "Y_scaled"] == 1.0
    assert P["Y_copy"].drop("Y").sum() == 0.0 and P.loc["Y_copy"].sum() == 0.0
    for dag in augmenter.dags_:
        assert list(dag.predecessors("Y_copy")) == ["Y"]
    X_synthetic, _ = augmenter.sample(50)
    np.testing.assert_allclose(X_synthetic["Y_copy"], X_synthetic["Y"], atol=1e-6)


def test_find_aliases_prefers_the_target_and_detects_relabelling() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 3, size=100).astype(float)
    relabelled = np.array([2.0, 0.0, 1.0])[codes.astype(int)]
    other = rng.normal(size=100)
    matrix = np.column_stack([relabelled, other, codes])
    aliases = find_aliases(matrix, np.array([True, False, True]), first=2)
    assert aliases == {0: 2}


def test_singular_fisherz_sub_matrix_does_not_raise() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=200), rng.normal(size=200)
    # a + b is collinear with (a, b) without duplicating either: the full matrix is singular.
    data = np.column_stack([a, b, a + b, rng.normal(size=200)])
    for algorithm in (PCDiscovery("fisherz"), FCIDiscovery("fisherz")):
        marks = algorithm.discover(data)
        assert marks.shape == (4, 4)


@pytest.mark.parametrize("test", ["chisq", "gsq"])
def test_tiny_categorical_data_with_contingency_tests(test: str) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "colour": rng.choice(["red", "green"], size=12),
            "size": rng.choice(["s", "m", "l"], size=12),
            "rare": ["x"] * 11 + ["y"],  # constant in most resamples
        }
    )
    y = pd.Series(rng.choice(["a", "b"], size=12), name="class")
    augmenter = CausalAugmenter(indep_test=test, n_bootstrap=5, n_dags=2).fit(X, y)
    assert augmenter.indep_test_ == test
    X_synthetic, y_synthetic = augmenter.sample(12)
    assert set(X_synthetic["size"].dropna()) <= {"s", "m", "l"}
    assert set(y_synthetic) == {"a", "b"}


def test_chisq_bins_continuous_columns() -> None:
    X, y = _chain(n=300)
    augmenter = CausalAugmenter(indep_test="gsq", n_bootstrap=3, n_dags=1).fit(X, y)
    skeleton = augmenter.edge_probabilities_ + augmenter.edge_probabilities_.T
    assert skeleton.loc["X", "Y"] >= 0.6


def test_auto_test_follows_the_column_types() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.integers(0, 3, 80), "b": rng.choice(["u", "v"], 80)})
    y = pd.Series(rng.integers(0, 2, 80), name="t")
    assert CausalAugmenter(n_bootstrap=2, n_dags=1).fit(X, y).indep_test_ == "chisq"
    X["c"] = rng.normal(size=80)  # continuous next to a three-level nominal column
    assert CausalAugmenter(n_bootstrap=2, n_dags=1).fit(X, y).indep_test_ == "dg"
    binary = X.drop(columns="a")  # continuous and binary only: Fisher-z is exact
    assert CausalAugmenter(n_bootstrap=2, n_dags=1).fit(binary, y).indep_test_ == "fisherz"
    three = pd.Series(rng.integers(0, 3, 80), name="t")  # a three-class target
    assert CausalAugmenter(n_bootstrap=2, n_dags=1).fit(binary, three).indep_test_ == "dg"

    from causalmix._discovery import DG_MAX_NODES, resolve_indep_test

    wide = np.zeros(DG_MAX_NODES + 1, bool)
    wide[-1] = True  # a wide table with a multi-class target keeps Fisher-z (PC's cost)
    levels = np.full(len(wide), 8)
    assert resolve_indep_test("auto", wide, levels) == "fisherz"
    assert resolve_indep_test("auto", wide[1:], levels[1:]) == "dg"
    assert resolve_indep_test("dg", wide, levels) == "dg"  # asked for explicitly


def test_kci_runs_on_a_small_problem() -> None:
    X, y = _chain(n=60)
    augmenter = CausalAugmenter(indep_test="kci", n_bootstrap=1, n_dags=1, depth=1).fit(
        X[["X", "Y"]], y
    )
    assert augmenter.edge_probabilities_.shape == (3, 3)


def test_larger_n_bootstrap_reuses_cached_runs() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(100, 3))
    data[:, 1] += data[:, 0]
    store = ObjectStore(None)
    algorithm = PCDiscovery("fisherz", alpha=0.05)
    first = edge_probabilities(
        algorithm, data, {}, n_bootstrap=3, max_rows=80, seed=11, store=store
    )
    second = edge_probabilities(
        algorithm, data, {}, n_bootstrap=5, max_rows=80, seed=11, store=store
    )
    assert store.hits["discovery"] == 3 and store.misses["discovery"] == 3 + 2
    assert first.shape == second.shape == (3, 3)


class _RecordingDiscovery(BaseDiscovery):
    """A plug-in that records what it is given and links every pair it sees."""

    name = "recording"
    shapes: list[tuple[int, int]] = []

    def _run(self, data: np.ndarray) -> np.ndarray:
        type(self).shapes.append(data.shape)
        marks = np.full((data.shape[1], data.shape[1]), -1, dtype=np.int8)  # i --- j
        np.fill_diagonal(marks, 0)
        return marks


def test_a_new_algorithm_is_one_class_and_one_registry_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(DISCOVERY_ALGORITHMS, "recording", _RecordingDiscovery)
    _RecordingDiscovery.shapes = []
    X, y = _chain(n=500)
    augmenter = CausalAugmenter(discovery="recording", n_bootstrap=3, max_discovery_rows=120)
    P = augmenter.fit(X, y).edge_probabilities_.to_numpy()
    assert _RecordingDiscovery.shapes == [(120, 5)] * 3  # rows capped, target included
    expected = np.full((5, 5), 0.5)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_array_equal(P, expected)


def test_kci_resamples_are_capped() -> None:
    from causalmix._discovery import KCI_MAX_ROWS

    _RecordingDiscovery.shapes = []
    data = np.random.default_rng(0).normal(size=(1000, 3))
    edge_probabilities(
        _RecordingDiscovery("kci"),
        data,
        {},
        n_bootstrap=2,
        max_rows=2000,
        seed=0,
        store=ObjectStore(None),
    )
    assert _RecordingDiscovery.shapes == [(KCI_MAX_ROWS, 3)] * 2


class _SlowDiscovery(BaseDiscovery):
    """A plug-in whose every run takes 0.3 s and finds nothing."""

    name = "slow"

    def _run(self, data: np.ndarray) -> np.ndarray:
        time.sleep(0.3)
        return np.zeros((data.shape[1], data.shape[1]), dtype=np.int8)


def test_discovery_past_its_time_limit_stops_and_keeps_the_finished_resamples() -> None:
    data = np.random.default_rng(0).normal(size=(60, 3))
    store = ObjectStore(None)
    common = dict(n_bootstrap=6, max_rows=60, seed=0, store=store)
    with pytest.raises(DiscoveryTimeoutError, match=r"time limit of 0.5 s with [12] of 6") as e:
        edge_probabilities(_SlowDiscovery(), data, {}, timeout=0.5, **common)  # type: ignore[arg-type]
    assert "slow with the 'fisherz' test, 3 nodes" in str(e.value)
    done = int(str(e.value).split(" with ")[-1].split(" of ")[0])
    # A retry without a limit reuses the finished resamples and computes only the rest.
    edge_probabilities(_SlowDiscovery(), data, {}, **common)  # type: ignore[arg-type]
    assert store.hits["discovery"] == done
    assert store.misses["discovery"] == 6 + 6 - done


@pytest.mark.parametrize("algorithm", [PCDiscovery, FCIDiscovery])
@pytest.mark.parametrize("test", ["fisherz", "dg"])
def test_causalmix_tests_stop_a_running_discovery_at_its_deadline(
    algorithm: type[BaseDiscovery], test: str
) -> None:
    """The deadline is checked inside each independence test, not only between resamples."""
    X, y = _chain()
    data = np.column_stack([X.to_numpy(), (y == "high").to_numpy(float)])
    discrete = np.array([False] * 4 + [True])
    assert algorithm(test).discover(data, discrete).any()  # no deadline: runs to the end
    with deadline(time.time() - 1.0), pytest.raises(DiscoveryTimeoutError):
        algorithm(test).discover(data, discrete)
    assert algorithm(test).discover(data, discrete).any()  # the deadline ended with its block


def test_the_augmenter_raises_past_its_discovery_timeout() -> None:
    X, y = _chain(n=300, seed=17)  # data no other test discovers on (runs are memoized)
    with pytest.raises(DiscoveryTimeoutError, match="pc with the 'fisherz' test"):
        CausalAugmenter(n_bootstrap=3, discovery_timeout=1e-9).fit(X, y)
    assert CausalAugmenter(n_bootstrap=3, discovery_timeout=60).fit(X, y).dags_


@pytest.mark.parametrize("value", [0, -1.0, float("inf"), float("nan"), "10", True])
def test_a_bad_discovery_timeout_is_one_clear_error(value: object) -> None:
    X, y = _chain(n=100)
    with pytest.raises(CausalMixError, match=r"`discovery_timeout` must be .* but got"):
        CausalAugmenter(discovery_timeout=value).fit(X, y)  # type: ignore[arg-type]
