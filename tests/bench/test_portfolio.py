"""Learning the portfolio from benchmark folders (bench._portfolio)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench import BenchError, build_portfolio_document
from search_spaces import load_portfolio, write_portfolio

PROTOCOL = {"split": "kfold", "folds": 2, "seed": 0, "target": "target", "max_rows": 1000}

# Mean normalized ROC-AUC per dataset (two folds each, +-0.1 around the mean).
MEANS = {
    "default_ft": {"a": 0.0, "b": 0.0, "c": 0.0},
    "causalmixft": {"a": 0.1, "b": 0.0, "c": 0.0},
    "x": {"a": 1.0, "b": -1.0, "c": 0.0},
    "z": {"a": 0.0, "b": 0.9, "c": 0.0},
}


def _bench(
    directory: Path, methods: dict[str, str], protocol: dict | None = None, drop: int = 0
) -> None:
    rows = [
        {
            "dataset": dataset,
            "split": "kfold",
            "fold": fold,
            "method": method,
            "normalized_roc_auc": MEANS[config][dataset] + (0.1 if fold else -0.1),
            "data_fingerprint": f"fp-{dataset}",
        }
        for method, config in methods.items()
        for dataset in MEANS[config]
        for fold in (0, 1)
    ]
    rows += [{**row, "method": "zero_shot", "normalized_roc_auc": 0.0} for row in rows[:6]]
    directory.mkdir(parents=True)
    (directory / "bench.json").write_text(json.dumps(protocol or PROTOCOL))
    pd.DataFrame(rows[drop:]).to_csv(directory / "results.csv", index=False)


def _suite(runs: Path) -> None:
    _bench(runs / "references", {"default_ft": "default_ft", "causalmixft": "causalmixft"})
    _bench(runs / "x", {"causalmixft": "x"})
    _bench(runs / "z", {"causalmixft": "z"})


CANDIDATES = {"x": {"learning_rate": 1e-3}, "z": {"synthetic_ratio": 2.0}}


def test_the_portfolio_is_learned_after_the_references_and_without_each_dataset(
    tmp_path: Path,
) -> None:
    _suite(tmp_path)
    document = build_portfolio_document(tmp_path, CANDIDATES, size=2, command="build it")
    assert document["scores"]["x"] == {"a": 1.0, "b": -1.0, "c": 0.0}
    assert document["scores"]["causalmixft"]["a"] == pytest.approx(0.1)
    # After the references (a: 0.1), x raises a to 1.0 (+0.3 on the mean), z raises b to 0.9.
    assert document["configs"] == ["x", "z"]
    assert document["leave_one_dataset_out"] == {"a": ["z"], "b": ["x"], "c": ["x", "z"]}
    assert document["learned_with"]["datasets"] == ["a", "b", "c"]
    assert document["learned_with"]["folds"] == 2
    assert document["learned_with"]["command"] == "build it"
    write_portfolio(document, tmp_path / "p.yaml")
    assert load_portfolio(tmp_path / "p.yaml").without("a").configs == ("z",)


def test_benchmarks_with_another_protocol_are_refused(tmp_path: Path) -> None:
    _suite(tmp_path)
    _bench(tmp_path / "y", {"causalmixft": "x"}, protocol={**PROTOCOL, "seed": 1})
    with pytest.raises(BenchError, match="has another protocol"):
        build_portfolio_document(tmp_path, {**CANDIDATES, "y": {}}, size=2)


def test_unpaired_or_missing_runs_are_refused(tmp_path: Path) -> None:
    _suite(tmp_path)
    _bench(tmp_path / "y", {"causalmixft": "x"}, drop=1)
    with pytest.raises(BenchError, match=r"\['y'\] are not on the same \(dataset, fold\) pairs"):
        build_portfolio_document(tmp_path, {**CANDIDATES, "y": {}}, size=2)
    with pytest.raises(BenchError, match="Cannot read the benchmark in"):
        build_portfolio_document(tmp_path, {**CANDIDATES, "missing": {}}, size=2)
