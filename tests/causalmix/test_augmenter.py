from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causalmix import CausalAugmenter, CausalMixError, DirectoryCache, load_dataset
from causalmix._store import clear_memo

REPO_ROOT = Path(__file__).resolve().parents[2]
FAST: dict[str, Any] = {"n_bootstrap": 3, "n_dags": 3, "max_discovery_rows": 300}


def _mixed(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 10, n)
    age = np.clip((income - 20) / 1.5 + rng.normal(0, 5, n), 18, 90).round().astype(np.int64)
    owner = income + rng.normal(0, 5, n) > 52
    region = np.where(income > 55, "north", rng.choice(["south", "east"], n))
    X = pd.DataFrame(
        {
            "income": income,
            "age": age,
            "owner": owner,
            "region": pd.Series(region, dtype="str"),
            "tier": pd.Categorical(rng.choice(["lo", "hi"], n), categories=["lo", "mid", "hi"]),
            "version": np.full(n, 2),
        }
    )
    X.loc[rng.random(n) < 0.15, "income"] = np.nan
    y = pd.Series(np.where(owner & (income > 50), "yes", "no"), name="bought")
    return X, y


def _check_schema(real: pd.DataFrame, real_y: pd.Series, X: pd.DataFrame, y: pd.Series) -> None:
    assert list(X.columns) == list(real.columns)
    assert X.dtypes.to_dict() == real.dtypes.to_dict()
    assert y.dtype == real_y.dtype and y.name == real_y.name
    assert set(y) <= set(real_y)
    for column in real.columns:
        values, observed = X[column].dropna(), real[column].dropna()
        if isinstance(real[column].dtype, pd.CategoricalDtype):
            assert list(X[column].cat.categories) == list(real[column].cat.categories)
        if pd.api.types.is_numeric_dtype(real[column]) and not pd.api.types.is_bool_dtype(
            real[column]
        ):
            assert values.min() >= observed.min() and values.max() <= observed.max(), column
        else:
            assert set(values) <= set(observed), column


def test_sample_keeps_schema_types_ranges_and_class_balance() -> None:
    X, y = _mixed()
    augmenter = CausalAugmenter(**FAST).fit(X, y)
    X_synthetic, y_synthetic = augmenter.sample(400)
    _check_schema(X, y, X_synthetic, y_synthetic)
    assert (X_synthetic["version"] == 2).all()
    assert X_synthetic.index.equals(pd.RangeIndex(400))
    real_share = y.value_counts(normalize=True)
    synthetic_share = y_synthetic.value_counts(normalize=True)
    assert (synthetic_share - real_share).abs().max() <= 1 / 400 + 1e-12
    assert abs(X_synthetic["income"].isna().mean() - X["income"].isna().mean()) < 0.07


@pytest.mark.parametrize("name", ["credit-approval", "anneal", "sick"])
def test_shipped_datasets_with_categoricals_and_missing_values(
    name: str, datasets_dir: Path
) -> None:
    X, y = load_dataset(datasets_dir / f"{name}.csv")
    augmenter = CausalAugmenter(n_bootstrap=2, n_dags=2, max_discovery_rows=300)
    X_synthetic, y_synthetic = augmenter.fit(X, y).sample(len(X) // 2)
    _check_schema(X, y, X_synthetic, y_synthetic)
    assert set(y_synthetic) == set(y)
    real_missing = X.isna().mean()
    synthetic_missing = X_synthetic.isna().mean()
    assert (synthetic_missing - real_missing).abs().max() < 0.1
    assert all(nx.is_directed_acyclic_graph(dag) for dag in augmenter.dags_)


def test_uniform_class_balance_and_every_class_appears(datasets_dir: Path) -> None:
    X, y = load_dataset(datasets_dir / "anneal.csv")  # 5 classes, the rarest 8 of 898 rows
    augmenter = CausalAugmenter(class_balance="uniform", **FAST).fit(X, y)
    _, y_synthetic = augmenter.sample(50)
    counts = y_synthetic.value_counts()
    assert set(counts.index) == set(y) and counts.max() - counts.min() <= 1
    augmenter.set_params(class_balance="match")
    _, y_few = augmenter.sample(y.nunique())
    assert set(y_few) == set(y)  # rare classes included although "match" rounds them to 0


def test_same_seed_gives_identical_output_without_the_memo() -> None:
    X, y = _mixed()
    clear_memo()
    first = CausalAugmenter(random_state=5, **FAST).fit(X, y)
    clear_memo()
    second = CausalAugmenter(random_state=5, **FAST).fit(X, y)
    pd.testing.assert_frame_equal(first.edge_probabilities_, second.edge_probabilities_)
    assert [sorted(d.edges) for d in first.dags_] == [sorted(d.edges) for d in second.dags_]
    for a, b in zip(first.sample(100), second.sample(100)):
        assert a.equals(b)
    X_other, _ = first.sample(100, random_state=6)
    assert not X_other.equals(first.sample(100)[0])


def test_rows_are_spread_evenly_over_the_dags(monkeypatch: pytest.MonkeyPatch) -> None:
    import causalmix._scm as scm_module

    sizes: list[int] = []
    original = scm_module.draw_class_balanced

    def recording(*args: Any, **kwargs: Any) -> pd.DataFrame:
        frame = original(*args, **kwargs)
        sizes.append(len(frame))
        return frame

    monkeypatch.setattr(scm_module, "draw_class_balanced", recording)
    X, y = _mixed()
    CausalAugmenter(n_bootstrap=2, n_dags=4).fit(X, y).sample(103)
    assert sorted(sizes) == [25, 26, 26, 26]


def test_augment_appends_synthetic_rows_after_the_real_ones() -> None:
    X, y = _mixed()
    augmenter = CausalAugmenter(**FAST)
    X_mixed, y_mixed = augmenter.augment(X, y, synthetic_ratio=0.5)
    assert len(X_mixed) == len(y_mixed) == 300
    pd.testing.assert_frame_equal(X_mixed.iloc[:200], X)
    assert y_mixed.iloc[:200].equals(y)
    assert X_mixed.dtypes.to_dict() == X.dtypes.to_dict()


def test_ratio_zero_returns_the_real_data_without_fitting() -> None:
    X, y = _mixed()
    augmenter = CausalAugmenter(**FAST)
    X_same, y_same = augmenter.augment(X, y, synthetic_ratio=0)
    pd.testing.assert_frame_equal(X_same, X)
    assert y_same.equals(y)
    assert not hasattr(augmenter, "scms_")


def test_sample_zero_rows_keeps_columns_and_dtypes() -> None:
    X, y = _mixed()
    X_none, y_none = CausalAugmenter(**FAST).fit(X, y).sample(0)
    assert len(X_none) == 0 and list(X_none.columns) == list(X.columns)
    assert X_none.dtypes.to_dict() == X.dtypes.to_dict() and y_none.dtype == y.dtype


def test_fitted_attributes() -> None:
    X, y = _mixed()
    augmenter = CausalAugmenter(**FAST).fit(X, y)
    nodes = ["income", "age", "owner", "region", "tier", "bought"]  # "version" is constant
    assert list(augmenter.edge_probabilities_.index) == nodes
    assert len(augmenter.dags_) == len(augmenter.scms_) == len(augmenter.n_edges_) == 3
    for dag, scm, n_edges in zip(augmenter.dags_, augmenter.scms_, augmenter.n_edges_):
        assert sorted(dag.nodes) == sorted(nodes) and dag.number_of_edges() == n_edges
        assert sorted(scm.graph.edges) == sorted(dag.edges)
    assert set(augmenter.timings_) == {"preprocessing", "discovery", "dag_sampling", "scm_fit"}
    augmenter.sample(10)
    assert augmenter.timings_["sampling"] >= 0


def test_a_new_augmenter_with_the_same_data_hits_the_caches() -> None:
    X, y = _mixed(seed=1)
    first = CausalAugmenter(random_state=3, **FAST).fit(X, y)
    assert first.cache_misses_["discovery"] == 3
    second = CausalAugmenter(random_state=3, **FAST).fit(X, y)
    assert second.cache_misses_ == {"discovery": 0, "mechanisms": 0}
    assert second.cache_hits_["discovery"] == 3
    assert second.cache_hits_["mechanisms"] == len(X.columns) * 3  # 5 nodes + target, 3 DAGs
    pd.testing.assert_frame_equal(first.edge_probabilities_, second.edge_probabilities_)
    assert first.sample(50)[0].equals(second.sample(50)[0])
    other_seed = CausalAugmenter(random_state=4, **FAST).fit(X, y)
    assert other_seed.cache_misses_["discovery"] == 3


_CHILD = textwrap.dedent(
    """
    import json, sys
    import pandas as pd
    sys.path.insert(0, {root!r})
    from tests.causalmix.test_augmenter import FAST, _mixed
    from causalmix import CausalAugmenter
    X, y = _mixed(seed=2)
    augmenter = CausalAugmenter(cache={cache!r}, **FAST).fit(X, y)
    augmenter.sample(60)[0].to_pickle({out!r})
    print(json.dumps(augmenter.cache_misses_))
    """
)


@pytest.mark.slow
def test_a_second_process_reuses_a_directory_cache(tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "child.pkl"
    child = _CHILD.format(root=str(REPO_ROOT), cache=str(cache), out=str(out))
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True, timeout=300
    )
    assert json.loads(result.stdout.strip().splitlines()[-1])["discovery"] == 3
    clear_memo()
    X, y = _mixed(seed=2)
    augmenter = CausalAugmenter(cache=DirectoryCache(cache), **FAST).fit(X, y)
    assert augmenter.cache_misses_ == {"discovery": 0, "mechanisms": 0}
    assert augmenter.sample(60)[0].equals(pd.read_pickle(out))


def test_unreadable_cache_entries_are_recomputed(tmp_path: Path) -> None:
    X, y = _mixed(seed=3)
    CausalAugmenter(cache=tmp_path, **FAST).fit(X, y)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            path.write_bytes(b"garbage")
    clear_memo()
    augmenter = CausalAugmenter(cache=tmp_path, **FAST).fit(X, y)
    assert augmenter.cache_hits_["discovery"] == 0
    assert augmenter.cache_misses_["discovery"] == 3 and augmenter.cache_misses_["mechanisms"] > 0
    assert len(augmenter.sample(10)[0]) == 10
    clear_memo()  # the recomputed values were written back over the garbage
    repaired = CausalAugmenter(cache=tmp_path, **FAST).fit(X, y)
    assert repaired.cache_misses_ == {"discovery": 0, "mechanisms": 0}


@pytest.mark.slow
@pytest.mark.parametrize("quality", ["good", "better"])
def test_dowhy_automatic_mechanisms(quality: str) -> None:
    X, y = _mixed(n=120)
    X = X[["income", "owner"]]
    augmenter = CausalAugmenter(mechanism_quality=quality, n_bootstrap=2, n_dags=1)
    X_synthetic, y_synthetic = augmenter.fit(X, y).sample(40)
    _check_schema(X, y, X_synthetic, y_synthetic)


def test_good_quality_selects_a_nonlinear_model_for_a_nonlinear_mechanism() -> None:
    from sklearn.linear_model import LinearRegression

    from causalmix._mechanisms import fit_mechanism
    from causalmix._scm import single_threaded

    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 300)
    z = x**2 + rng.normal(0, 0.1, 300)
    with single_threaded():
        mechanism = fit_mechanism(x.reshape(-1, 1), z, [0], False, "good", seed=0)
    assert not isinstance(mechanism.prediction_model.estimator, LinearRegression)
    linear = fit_mechanism(x.reshape(-1, 1), z, [0], discrete=False, quality="linear", seed=0)
    assert isinstance(linear.prediction_model.estimator, LinearRegression)


def test_estimator_api() -> None:
    from sklearn.base import clone

    augmenter = CausalAugmenter(alpha=0.01, n_dags=2)
    assert clone(augmenter).get_params() == augmenter.get_params()
    assert repr(augmenter) == "CausalAugmenter(alpha=0.01, n_dags=2)"
    with pytest.raises(CausalMixError, match="not fitted"):
        augmenter.sample(5)
    with pytest.raises(CausalMixError, match="bogus"):
        augmenter.set_params(bogus=1)


def test_third_party_output_is_silenced(capfd: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=400), rng.normal(size=400)
    c = a + b + 0.5 * rng.normal(size=400)
    d = c + 0.5 * rng.normal(size=400)
    X = pd.DataFrame({"a": a, "b": b, "c": c, "d": d})
    y = pd.Series(np.where(d + rng.normal(size=400) > 0, "up", "down"), name="move")
    # FCI prints its visible directed edges (c --> d after the collider a -> c <- b).
    augmenter = CausalAugmenter(discovery="fci", n_bootstrap=2, n_dags=2).fit(X, y)
    augmenter.sample(20)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.slow
def test_parallel_discovery_gives_the_same_probabilities() -> None:
    X, y = _mixed(seed=4)
    clear_memo()
    serial = CausalAugmenter(n_bootstrap=4, n_dags=1).fit(X, y)
    clear_memo()
    parallel = CausalAugmenter(n_bootstrap=4, n_dags=1, n_jobs=2).fit(X, y)
    assert parallel.cache_misses_["discovery"] == 4
    pd.testing.assert_frame_equal(serial.edge_probabilities_, parallel.edge_probabilities_)


def test_importing_causalmix_leaves_heavy_libraries_unloaded() -> None:
    code = (
        "import sys, causalmix; "
        "heavy = [m for m in ('dowhy', 'causallearn', 'sklearn', 'torch', 'optuna', 'tuner') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert result.stdout.strip() == "[]"
