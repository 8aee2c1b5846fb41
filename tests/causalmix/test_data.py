from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalmix import CausalMixError, load_dataset, load_table, validate_dataset


def _frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.choice(["x", "y", "z"], size=n),
            "target": rng.choice(["yes", "no"], size=n),
        }
    )


def test_load_shipped_csv(datasets_dir: Path) -> None:
    X, y = load_dataset(datasets_dir / "diabetes.csv", "target")
    assert X.shape == (768, 8)
    assert set(y.unique()) == {"tested_positive", "tested_negative"}


@pytest.mark.parametrize("name, n_classes", [("breast_cancer", 2), ("iris", 3), ("wine", 3)])
def test_load_sklearn(name: str, n_classes: int) -> None:
    X, y = load_dataset(f"sklearn:{name}")
    assert y.nunique() == n_classes
    assert "target" not in X.columns


def test_parquet_and_tsv_round_trip(tmp_path: Path) -> None:
    frame = _frame()
    frame.to_parquet(tmp_path / "d.parquet")
    frame.to_csv(tmp_path / "d.tsv", sep="\t", index=False)
    for name in ("d.parquet", "d.tsv"):
        X, y = load_dataset(tmp_path / name)
        assert list(X.columns) == ["a", "b"]
        assert len(y) == len(frame)


def test_missing_target_rows_are_dropped() -> None:
    frame = _frame()
    frame.loc[[0, 5], "target"] = None
    X, y = validate_dataset(frame.drop(columns="target"), frame["target"])
    assert len(X) == len(y) == len(frame) - 2
    assert not y.isna().any()


def _write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "mutate, target, fragment",
    [
        (lambda f: f, "tagret", "'tagret' not found"),
        (lambda f: f.assign(target="yes"), "target", "single class ('yes')"),
        (lambda f: f.assign(target=np.arange(len(f)) % 12), "target", "has 12 classes"),
        (lambda f: f.assign(a=np.nan), "target", "'a' holds only missing values"),
        (
            lambda f: f.assign(a=np.where(np.arange(len(f)) == 3, np.inf, 1.0)),
            "target",
            "infinite",
        ),
        (lambda f: f.head(1), "target", "1 labelled row(s)"),
    ],
)
def test_bad_datasets_name_the_problem(
    tmp_path: Path, mutate: object, target: str, fragment: str
) -> None:
    path = _write(tmp_path, mutate(_frame()))  # type: ignore[operator]
    with pytest.raises(CausalMixError, match=None) as info:
        load_dataset(path, target)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_misspelt_target_suggests_the_column(tmp_path: Path) -> None:
    with pytest.raises(CausalMixError, match="Did you mean 'target'"):
        load_dataset(_write(tmp_path, _frame()), "tagret")


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(CausalMixError, match="does not exist: 'nope.csv'"):
        load_table("nope.csv")
    binary = tmp_path / "blob.csv"
    binary.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(CausalMixError, match="not a readable table"):
        load_table(binary)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CausalMixError, match="empty"):
        load_table(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b,target\n")
    with pytest.raises(CausalMixError, match="no rows"):
        load_table(header_only)
    with pytest.raises(CausalMixError, match="Unknown scikit-learn dataset: 'sklearn:titanic'"):
        load_table("sklearn:titanic")


def test_unhashable_values_are_refused() -> None:
    frame = _frame()
    X = frame.drop(columns="target").astype({"b": object})
    X.at[2, "b"] = ["a", "list"]
    with pytest.raises(CausalMixError, match="unhashable values such as \\['a', 'list'\\]"):
        validate_dataset(X, frame["target"])
