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
            # Validation follows test here: the pick is then the best on test.
            "valid_roc_auc": 0.8 + (MEANS[config][dataset] + (0.1 if fold else -0.1)) / 100,
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
FINGERPRINTS = {d: d * 64 for d in ("a", "b", "c")}


def test_the_portfolio_is_learned_after_the_references_and_without_each_dataset(
    tmp_path: Path,
) -> None:
    _suite(tmp_path)
    document = build_portfolio_document(
        tmp_path, CANDIDATES, size=2, command="build it", noise_z=0, fingerprints=FINGERPRINTS
    )
    assert document["scores"]["x"] == {"a": 1.0, "b": -1.0, "c": 0.0}
    assert document["scores"]["causalmixft"]["a"] == pytest.approx(0.1)
    # Test ranks per fold among (default_ft, causalmixft, x, z), 0..1: a: 1/6, 2/3, 1, 1/6;
    # b: .5, .5, 0, 1; c: all tie at .5. The references' validation picks give (2/3, .5, .5);
    # z adds (0, .5, 0), x adds (1/3, 0, 0): z first, then x.
    assert document["configs"] == ["z", "x"]
    assert document["leave_one_dataset_out"] == {"a": ["z"], "b": ["x"], "c": ["z", "x"]}
    learned = document["learned_with"]
    assert learned["datasets"] == ["a", "b", "c"]
    assert learned["folds"] == 2 and learned["noise_z"] == 0
    assert learned["command"] == "build it"
    assert learned["fingerprints"] == {d: d * 16 for d in ("a", "b", "c")}
    write_portfolio(document, tmp_path / "p.yaml")
    portfolio = load_portfolio(tmp_path / "p.yaml")
    assert portfolio.without("a").configs == ("z",)
    assert portfolio.without("renamed-a", "a" * 64).configs == ("z",)


def test_members_that_add_less_than_the_noise_are_left_out(tmp_path: Path) -> None:
    # Each candidate gains on one dataset of three: a mean gain of one standard error.
    _suite(tmp_path)
    document = build_portfolio_document(tmp_path, CANDIDATES, size=2, fingerprints=FINGERPRINTS)
    assert document["configs"] == [] and document["learned_with"]["noise_z"] == 1.0


def test_learning_datasets_need_a_fingerprint(tmp_path: Path) -> None:
    # Without fingerprints given, they are those of the shipped datasets of these names.
    _suite(tmp_path)
    with pytest.raises(BenchError, match="Unknown dataset name='a'"):
        build_portfolio_document(tmp_path, CANDIDATES, size=2)


def test_the_fingerprint_of_a_shipped_dataset_is_the_studys() -> None:
    from bench._portfolio import shipped_fingerprints
    from bench._suite import SHIPPED_DATASETS_DIR
    from causalmix import load_dataset
    from tuner._settings import dataset_fingerprint

    (fingerprint,) = shipped_fingerprints(["diabetes"], "target").values()
    loaded = load_dataset(str(SHIPPED_DATASETS_DIR / "diabetes.csv"), "target")
    assert fingerprint == dataset_fingerprint(*loaded)


def test_benchmarks_with_another_protocol_are_refused(tmp_path: Path) -> None:
    _suite(tmp_path)
    _bench(tmp_path / "y", {"causalmixft": "x"}, protocol={**PROTOCOL, "seed": 1})
    with pytest.raises(BenchError, match="has another protocol"):
        build_portfolio_document(
            tmp_path, {**CANDIDATES, "y": {}}, size=2, fingerprints=FINGERPRINTS
        )


def test_unpaired_or_missing_runs_are_refused(tmp_path: Path) -> None:
    _suite(tmp_path)
    _bench(tmp_path / "y", {"causalmixft": "x"}, drop=1)
    with pytest.raises(BenchError, match=r"\['y'\] are not on the same \(dataset, fold\) pairs"):
        build_portfolio_document(
            tmp_path, {**CANDIDATES, "y": {}}, size=2, fingerprints=FINGERPRINTS
        )
    with pytest.raises(BenchError, match="Cannot read the benchmark in"):
        build_portfolio_document(
            tmp_path, {**CANDIDATES, "missing": {}}, size=2, fingerprints=FINGERPRINTS
        )
