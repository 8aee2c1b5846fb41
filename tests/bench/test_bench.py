"""``causalmix bench``: a tiny end-to-end run, resuming, the shift split, metrics and errors."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from bench import BenchConfig, run_bench
from bench._errors import BenchError
from bench._methods import METHODS
from bench._report import method_table
from bench._store import expected_calibration_error, multiclass_log_loss
from bench._suite import BenchDataset, make_splits, resolve_sources, shift_splits
from tabfm import TabFMError
from tests.conftest import require_ctgan
from tests.tuner.conftest import FIXED_TINY
from tuner._cli import main

HAS_CTGAN = importlib.util.find_spec("ctgan") is not None
ALL_METHODS = tuple(m for m in METHODS if HAS_CTGAN or not m.startswith("ctgan"))


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised one-layer TabFM: a real model, just cheap."""
    import torch

    from tabfm import TabFMConfig, TabFMModel, save_weights

    torch.manual_seed(0)
    model = TabFMModel(TabFMConfig(embed_dim=16, n_layers=1, n_heads=2, feature_id_dim=4))
    return save_weights(model, tmp_path_factory.mktemp("weights"))


@pytest.fixture
def suite_dir(tmp_path: Path, datasets_dir: Path) -> Path:
    """Two 120-row samples of shipped datasets: numeric (diabetes) and mixed (credit)."""
    directory = tmp_path / "suite"
    directory.mkdir()
    for name in ("diabetes", "credit-approval"):
        frame = pd.read_csv(datasets_dir / f"{name}.csv")
        rng = np.random.default_rng(0)
        keep = np.concatenate(
            [
                rng.choice(np.flatnonzero(frame["target"] == label), size=60, replace=False)
                for label in sorted(frame["target"].unique())
            ]
        )
        frame.iloc[np.sort(keep)].to_csv(directory / f"{name}.csv", index=False)
    return directory


@pytest.fixture
def fixed_space(tmp_path: Path) -> Path:
    path = tmp_path / "fixed.yaml"
    path.write_text(FIXED_TINY)
    return path


def _cheap_flags(weights: Path, fixed: Path, tuned: Path) -> list[str]:
    return [
        "--weights", str(weights), "--fixed-space", str(fixed), "--space", str(tuned),
        "--trials", "2", "--inner-folds", "2", "--ctgan-epochs", "1",
        "--ctgan-batch-size", "20", "--device", "cpu", "--threads", "1",
    ]  # fmt: skip


def _mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted((out / "runs").glob("*.json"))}


@pytest.mark.slow
@pytest.mark.parametrize("split", ["kfold", "shift:plas"])
def test_a_fine_tuned_model_identical_to_zero_shot_scores_exactly_zero(
    split: str, tmp_path: Path, suite_dir: Path, tiny_weights: Path
) -> None:
    # A learning rate this small never gains min_delta, so every run keeps the pre-trained
    # weights (best epoch 0): the same model as zero_shot, which must score exactly 0.
    fixed = tmp_path / "keep.yaml"
    fixed.write_text(FIXED_TINY.replace("  epochs: 1\n", "  epochs: 1\n  learning_rate: 1e-12\n"))
    (suite_dir / "credit-approval.csv").unlink()  # shift:plas is a diabetes feature
    out = tmp_path / "bench"
    code = main(
        ["bench", "--data-dir", str(suite_dir), "--out", str(out), "--folds", "3",
         "--split", split, "--methods", "zero_shot,default_ft,causalmixft",
         "--weights", str(tiny_weights), "--fixed-space", str(fixed), "--device", "cpu",
         "--threads", "1"]
    )  # fmt: skip
    assert code == 0
    results = pd.read_csv(out / "results.csv")
    fine_tuned = results[results["method"] != "zero_shot"]
    assert len(fine_tuned) >= 4 and (fine_tuned["best_epoch"] == 0).all()
    assert (fine_tuned["normalized_roc_auc"] == 0.0).all(), fine_tuned["normalized_roc_auc"]


def test_ctgan_methods_are_in_the_tiny_bench_where_ctgan_is_installed() -> None:
    require_ctgan()
    assert {"ctgan", "ctgan_only"} <= set(ALL_METHODS)


@pytest.mark.slow
def test_tiny_bench_writes_sane_results_and_resumes_without_recomputing(
    tmp_path: Path, suite_dir: Path, tiny_weights: Path, fixed_space: Path, tiny_space: Path
) -> None:
    out = tmp_path / "bench"
    flags = _cheap_flags(tiny_weights, fixed_space, tiny_space)
    code = main(
        ["bench", "--data-dir", str(suite_dir), "--out", str(out), "--folds", "2",
         "--methods", ",".join(ALL_METHODS), *flags]
    )  # fmt: skip
    assert code == 0  # 1 would mean a failed run

    results = pd.read_csv(out / "results.csv")
    assert len(results) == 2 * 2 * len(ALL_METHODS)
    assert not results.duplicated(["dataset", "split", "fold", "method"]).any()
    assert set(results["dataset"]) == {"diabetes", "credit-approval"}
    assert set(results["method"]) == set(ALL_METHODS) and set(results["fold"]) == {0, 1}
    assert results["test_roc_auc"].between(0, 1).all()
    assert results["valid_roc_auc"].between(0, 1).all()
    assert results["ece"].between(0, 1).all() and (results["log_loss"] > 0).all()
    assert (results["wall_seconds"] > 0).all() and set(results["device"]) == {"cpu"}
    assert (results["n_train"] + results["n_test"] == 120).all()
    gap = (results["valid_roc_auc"] - results["test_roc_auc"]).abs() * 100
    assert np.allclose(results["valid_test_gap"], gap)
    # Normalized against zero_shot on the same fold, which is 0 by definition.
    zero = results[results["method"] == "zero_shot"].set_index(["dataset", "fold"])
    assert (zero["normalized_roc_auc"] == 0).all()
    for row in results.itertuples():
        reference = zero.loc[(row.dataset, row.fold), "test_roc_auc"]
        assert row.normalized_roc_auc == pytest.approx(100 * (row.test_roc_auc / reference - 1))
    by_method = results.groupby("method")["n_synthetic"]
    assert by_method.min()["zero_shot"] == 0 and by_method.max()["default_ft"] == 0
    synthetic = [m for m in ("causalmixft", "scm_only", "ctgan", "ctgan_only") if m in by_method]
    assert all(by_method.min()[m] > 0 for m in synthetic)
    tuned = results[results["method"] == "tuned"]
    assert (tuned["n_trials"] == 2).all() and tuned["tuned_cv_normalized_roc_auc"].notna().all()
    assert set(tuned["tuned_synthetic_ratio"]) <= {0.0, 0.5}
    assert set(tuned["tuned_selection_rule"]) == {"bbc"}
    assert tuned["tuned_exported_trial"].notna().all() and tuned["tuned_fallback"].notna().all()
    assert (out / "tuned" / "diabetes-kfold-fold0" / "best.yaml").is_file()

    summary = (out / "summary.md").read_text()
    assert "causalmix bench --data-dir" in summary and "Hardware: CPU:" in summary
    assert "Validation-test gap" in summary and "15 equal-width" in summary
    table = method_table(results, list(ALL_METHODS)).set_index("method")
    for method in ALL_METHODS:
        runs = results.loc[results["method"] == method, "normalized_roc_auc"]
        assert table.loc[method, "median_norm_auc"] == pytest.approx(runs.median())
        assert f"| {method} | 4 | 2 | {runs.median():.3f} |" in summary
    png = (out / "normalized_auc.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5_000
    # Paired statistics against both references, and the ranks with their diagram.
    assert "Against `default_ft`:" in summary and "Against `zero_shot`:" in summary
    header = "| method | datasets | pairs | median diff [95 % CI] (pp) | p | p (Holm) | W/T/L |"
    assert header in summary and "At the dataset level" in summary
    # The post-hoc diagram only after a significant Friedman test.
    if "Nemenyi critical difference" in summary:
        assert (out / "critical_difference.png").read_bytes().startswith(b"\x89PNG")
    else:
        assert "no post-hoc test" in summary and not (out / "critical_difference.png").exists()

    # Resuming: nothing is recomputed, nothing is rewritten.
    before, csv_before = _mtimes(out), (out / "results.csv").read_bytes()
    config = BenchConfig(
        out=str(out), data_dir=str(suite_dir), methods=ALL_METHODS, folds=2,
        weights=str(tiny_weights), fixed_space=str(fixed_space), space=str(tiny_space),
        trials=2, inner_folds=2, ctgan_epochs=1, ctgan_batch_size=20, device="cpu",
    )  # fmt: skip
    again = run_bench(config)
    assert again.computed == [] and len(again.skipped) == len(results)
    assert _mtimes(out) == before and (out / "results.csv").read_bytes() == csv_before

    # An interrupted benchmark continues with exactly the missing runs.
    missing = out / "runs" / "credit-approval__kfold__fold1__causalmixft.json"
    missing.unlink()
    resumed = run_bench(config)
    assert resumed.computed == [("credit-approval", "kfold", 1, "causalmixft")]
    assert len(pd.read_csv(out / "results.csv")) == len(results)

    # --report-only computes nothing: it reports the runs that are there.
    missing.unlink()
    reported = run_bench(dataclasses.replace(config, report_only=True))
    assert reported.computed == [] and not missing.exists()
    assert len(pd.read_csv(out / "results.csv")) == len(results) - 1


def test_a_resumed_benchmark_must_keep_its_protocol(
    tmp_path: Path, suite_dir: Path, tiny_weights: Path
) -> None:
    common = {"out": str(tmp_path / "b"), "data_dir": str(suite_dir), "methods": ("zero_shot",)}
    first = run_bench(BenchConfig(**common, weights=str(tiny_weights), folds=2))
    assert len(first.computed) == 4 and first.failures == []
    with pytest.raises(BenchError, match="different folds"):
        run_bench(BenchConfig(**common, weights=str(tiny_weights), folds=3))
    levels = BenchConfig(**common, weights=str(tiny_weights), folds=2, categorical_max_levels=0)
    with pytest.raises(BenchError, match="different categorical_max_levels"):
        run_bench(levels)
    with pytest.raises(TabFMError, match="categorical_max_levels=-1"):
        BenchConfig(**common, categorical_max_levels=-1)


def test_a_parameter_added_since_a_benchmark_started_resumes_at_its_default(
    tmp_path: Path,
) -> None:
    import json

    from bench._config import check_protocol
    from search_spaces import default_config

    current = {"folds": 3, "fixed_config": default_config()}
    older = {"folds": 3, "fixed_config": {**default_config()}}
    del older["fixed_config"]["frozen_blocks"]  # written before the parameter existed
    (tmp_path / "bench.json").write_text(json.dumps(older))
    check_protocol(tmp_path, current)  # the stored runs used the default: same protocol
    changed = {"folds": 3, "fixed_config": {**default_config(), "frozen_blocks": 2}}
    with pytest.raises(BenchError, match="different fixed_config"):
        check_protocol(tmp_path, changed)


def test_shards_compute_disjoint_pairs_whose_union_is_the_whole_benchmark(
    tmp_path: Path, suite_dir: Path, tiny_weights: Path
) -> None:
    common = {"data_dir": str(suite_dir), "methods": ("zero_shot",), "weights": str(tiny_weights)}
    whole = run_bench(BenchConfig(**common, out=str(tmp_path / "whole"), folds=3))
    shards = [
        run_bench(BenchConfig(**common, out=str(tmp_path / f"s{i}"), folds=3, shard=(i, 2)))
        for i in (1, 2)
    ]
    first, second = (set(shard.computed) for shard in shards)
    assert first and second and not first & second
    assert first | second == set(whole.computed) and len(whole.computed) == 6
    # A shard changes nothing about the runs it computes.
    merged = tmp_path / "merged"
    (merged / "runs").mkdir(parents=True)
    for i in (1, 2):
        for path in (tmp_path / f"s{i}" / "runs").glob("*.json"):
            (merged / "runs" / path.name).write_bytes(path.read_bytes())
    (merged / "bench.json").write_bytes((tmp_path / "s1" / "bench.json").read_bytes())
    run_bench(BenchConfig(**common, out=str(merged), folds=3, report_only=True))
    columns = ["dataset", "fold", "test_roc_auc"]
    expected = pd.read_csv(tmp_path / "whole" / "results.csv")[columns]
    got = pd.read_csv(merged / "results.csv")[columns]
    pd.testing.assert_frame_equal(
        got.sort_values(columns[:2], ignore_index=True),
        expected.sort_values(columns[:2], ignore_index=True),
    )
    with pytest.raises(BenchError, match="3/2"):
        BenchConfig(**common, out=str(tmp_path / "x"), shard=(3, 2))


def test_shift_split_separates_the_domains(datasets_dir: Path) -> None:
    frame = pd.read_csv(datasets_dir / "diabetes.csv")
    frame.loc[:9, "plas"] = np.nan
    dataset = BenchDataset("diabetes", "", frame.drop(columns="target"), frame["target"])
    folds = make_splits(dataset, "shift:plas", n_folds=5, seed=0)
    assert [f.fold for f in folds] == [0, 1]
    plas = frame["plas"]
    median = plas.median()
    low, high = folds[0].train, folds[0].test
    assert (plas.iloc[low] <= median).all() and (plas.iloc[high] > median).all()
    assert set(low).isdisjoint(high) and len(low) + len(high) == plas.notna().sum()
    assert np.array_equal(folds[1].train, high) and np.array_equal(folds[1].test, low)
    assert f"plas <= {median:g}" in folds[0].description


def test_shift_split_of_categories_balances_two_groups() -> None:
    # Missing categories (None in an object column, as pandas 2 and 3 both read them) belong
    # to neither domain.
    values = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 25 + ["d"] * 5 + [None] * 3, name="c")
    folds = shift_splits(values)
    train, test = set(values.iloc[folds[0].train]), set(values.iloc[folds[0].test])
    assert train.isdisjoint(test) and train | test == {"a", "b", "c", "d"}
    assert sorted([len(folds[0].train), len(folds[0].test)]) == [55, 55]


def test_shift_split_of_a_constant_column_is_an_error() -> None:
    with pytest.raises(BenchError, match="'x' cannot be split"):
        shift_splits(pd.Series([1.0] * 20, name="x"))


def test_shift_bench_trains_on_one_domain_and_tests_on_the_other(
    tmp_path: Path, suite_dir: Path, tiny_weights: Path
) -> None:
    out = tmp_path / "shift"
    frame = pd.read_csv(suite_dir / "diabetes.csv")
    only = tmp_path / "one"
    only.mkdir()
    frame.to_csv(only / "diabetes.csv", index=False)
    result = run_bench(
        BenchConfig(
            out=str(out), data_dir=str(only), methods=("zero_shot",), split="shift:plas",
            weights=str(tiny_weights),
        )
    )  # fmt: skip
    results = pd.read_csv(out / "results.csv")
    assert list(results["fold"]) == [0, 1] and set(results["split"]) == {"shift:plas"}
    below = int((frame["plas"] <= frame["plas"].median()).sum())
    assert list(results["n_train"]) == [below, len(frame) - below]
    assert results["domain"].str.startswith("train plas").all()
    assert len(result.computed) == 2


def test_ece_and_log_loss_match_their_definitions() -> None:
    classes = np.array(["a", "b"])
    y = np.array(["a", "a", "b", "b"])
    perfect = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert expected_calibration_error(y, perfect, classes) == 0.0
    # Confidence 0.9 everywhere, half right: ECE = |0.5 - 0.9| = 0.4.
    overconfident = np.array([[0.9, 0.1], [0.1, 0.9], [0.1, 0.9], [0.9, 0.1]])
    assert expected_calibration_error(y, overconfident, classes) == pytest.approx(0.4)
    # Two bins: {0.55, 0.55} all right -> 0.45 off; {0.95, 0.95} half right -> 0.45 off.
    mixed = np.array([[0.55, 0.45], [0.55, 0.45], [0.95, 0.05], [0.05, 0.95]])
    y_mixed = np.array(["a", "a", "b", "b"])
    assert expected_calibration_error(y_mixed, mixed, classes) == pytest.approx(0.45)
    assert multiclass_log_loss(y, overconfident, classes) == pytest.approx(
        log_loss(y, overconfident, labels=classes)
    )


def test_cli_user_errors_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (["--datasets", "diabetis"], "Did you mean 'diabetes'?"),
        (["--datasets", "diabetes", "--methods", "zero_shot,magic"], "magic"),
        (["--datasets", "diabetes", "--split", "shift:nope"], "'nope' is not a feature"),
        (["--datasets", "diabetes", "--split", "random"], "split='random'"),
        (["--datasets", "diabetes", "--set", "epochs=0"], "epochs=0"),
        # 1e-6 is a number (not "a str"), so the domain check is what refuses it.
        (["--datasets", "diabetes", "--set", "learning_rate=-1e-6"], "learning_rate=-1e-06"),
        (["--datasets", "diabetes", "--fixed-space", "default"], "samples"),
        (["--datasets", "diabetes", "--shard", "3/2"], "'3/2'"),
        (["--datasets", "diabetes", "--shard", "one"], "'one'"),
    ]
    for arguments, message in cases:
        code = main(["bench", *arguments, "--out", str(tmp_path / "x")])
        err = capsys.readouterr().err.strip()
        assert code == 2, arguments
        assert err.startswith("causalmix bench: error:") and "\n" not in err
        assert message in err, err


def test_resolve_sources_finds_shipped_names_and_directories(
    tmp_path: Path, suite_dir: Path
) -> None:
    names = resolve_sources(["diabetes", "sklearn:iris"], None)
    assert names[0][0] == "diabetes" and names[0][1].endswith("datasets/diabetes.csv")
    assert names[1] == ("sklearn:iris", "sklearn:iris")
    assert [n for n, _ in resolve_sources(None, str(suite_dir))] == ["credit-approval", "diabetes"]
    with pytest.raises(BenchError, match="no .csv or .parquet"):
        resolve_sources(None, str(tmp_path))
    with pytest.raises(BenchError, match="exactly one"):
        resolve_sources(["diabetes"], str(suite_dir))


def test_bench_json_records_the_resolved_protocol(
    tmp_path: Path, suite_dir: Path, tiny_weights: Path
) -> None:
    out = tmp_path / "p"
    run_bench(
        BenchConfig(
            out=str(out), data_dir=str(suite_dir), methods=("zero_shot",), folds=2,
            weights=str(tiny_weights), overrides={"epochs": 2},
        )
    )  # fmt: skip
    protocol = json.loads((out / "bench.json").read_text())
    assert protocol["fixed_config"]["epochs"] == 2
    assert protocol["fixed_config"]["n_bootstrap"] == 20  # the paper space's own value
    assert protocol["tuned_space"]["params"]["epochs"] == 2
    assert protocol["folds"] == 2 and protocol["split"] == "kfold"


def test_method_table_ranks_and_goals_follow_their_definitions() -> None:
    from bench._report import _goals

    rows = []
    values = {  # normalized ROC-AUC per (dataset, method), two folds each
        ("a", "zero_shot"): (0.0, 0.0), ("a", "default_ft"): (1.0, 3.0),
        ("a", "causalmixft"): (2.0, 4.0), ("a", "tuned"): (5.0, 5.0),
        ("b", "zero_shot"): (0.0, 0.0), ("b", "default_ft"): (-1.0, 1.0),
        ("b", "causalmixft"): (-2.0, -2.0), ("b", "tuned"): (0.5, 0.5),
    }  # fmt: skip
    for (dataset, method), pair in values.items():
        for fold, value in enumerate(pair):
            rows.append(
                {"dataset": dataset, "fold": fold, "method": method,
                 "normalized_roc_auc": value, "test_roc_auc": 0.8, "valid_roc_auc": 0.9,
                 "valid_test_gap": 10.0, "ece": 0.1, "log_loss": 0.5, "wall_seconds": 1.0}
            )  # fmt: skip
    table = method_table(pd.DataFrame(rows), ["zero_shot", "default_ft", "causalmixft", "tuned"])
    stats = table.set_index("method")
    # Dataset a ranks tuned 1, causalmixft 2, default_ft 3, zero_shot 4; dataset b ranks
    # tuned 1, default_ft and zero_shot tied 2.5, causalmixft 4.
    assert stats["mean_rank"].to_dict() == {
        "zero_shot": 3.25, "default_ft": 2.75, "causalmixft": 3.0, "tuned": 1.0
    }  # fmt: skip
    assert stats.loc["default_ft", "median_norm_auc"] == pytest.approx(1.0)
    assert stats.loc["default_ft", "iqr"] == pytest.approx(1.5 - 0.5)  # quartiles of -1 1 1 3
    assert stats.loc["tuned", "median_gap_pp"] == 10.0
    assert stats.loc["tuned", "median_signed_gap_pp"] == pytest.approx(10.0)
    lines = "\n".join(_goals(table))
    assert "best median normalized ROC-AUC: met" in lines
    assert "best mean rank: met" in lines
    assert "`causalmixft` beats `default_ft` (median): not met (+0.000 vs +1.000)" in lines
    assert "no wider than `default_ft`'s: not met (4.500 vs 1.000)" in lines


def test_bench_is_a_cli_verb_with_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--datasets", "--data-dir", "--methods", "--folds", "--out", "--trials",
                 "--device", "--storage", "--split", "--set", "--fixed-space"):  # fmt: skip
        assert flag in text


def test_zero_shot_validation_is_scored_like_fine_tunings_epoch_0(
    tmp_path: Path, suite_dir: Path, tiny_weights: Path
) -> None:
    from bench._methods import FoldData, MethodContext, run_method
    from causalmix import load_dataset
    from tabfm import FinetuneConfig, finetune, get_backend
    from tuner._pipeline import split_early_stopping

    X, y = load_dataset(suite_dir / "diabetes.csv")
    backend = get_backend("tabfm", weights=str(tiny_weights), device="cpu")
    data = FoldData("d", "kfold", 0, 3, X.iloc[:90], y.iloc[:90], X.iloc[90:], y.iloc[90:])
    context = MethodContext(
        backend=backend, fixed_config={}, ctgan_params={}, valid_fraction=0.2, device="cpu",
        cache=None, cache_dir=str(tmp_path), target="target", tuned_space="tiny", trials=1,
        inner_folds=2, storage="sqlite://", work_dir=tmp_path,
    )  # fmt: skip
    output = run_method("zero_shot", context, data)
    X_fit, y_fit, X_valid, y_valid = split_early_stopping(data.X_train, data.y_train, 0.2, 3)
    _, history = finetune(
        backend, (X_fit, y_fit), None, (X_valid, y_valid),
        FinetuneConfig(epochs=1, steps_per_epoch=1, seed=3, device="cpu"),
    )  # fmt: skip
    assert output.valid_roc_auc == pytest.approx(history[0]["valid_roc_auc"])
    assert output.proba.shape == (len(data.y_test), 2)


def test_without_ctgan_the_default_methods_skip_it_and_asking_for_it_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from bench._cmd_bench import _methods

    monkeypatch.setitem(sys.modules, "ctgan", None)  # `import ctgan` now raises ImportError
    assert _methods(None) == ("zero_shot", "default_ft", "causalmixft", "scm_only", "tuned")
    code = main(["bench", "--datasets", "diabetes", "--methods", "ctgan", "--out", str(tmp_path)])
    assert code == 2 and "optional `ctgan` package" in capsys.readouterr().err


def test_every_fold_carries_the_whole_datasets_fingerprint(
    suite_dir: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tuned method gives it to Portfolio.without, which recognises a portfolio's learning
    # dataset under another name by it; it is the fingerprint of the table as loaded, the same
    # whatever max_rows keeps.
    from bench import _run
    from causalmix import load_dataset
    from tuner._settings import dataset_fingerprint

    seen: dict[tuple[str, int], str] = {}

    def record(self, key, data, fold, fingerprint, baseline) -> None:  # type: ignore[no-untyped-def]
        seen[(data.dataset, data.fold)] = data.dataset_fingerprint

    monkeypatch.setattr(_run._Runner, "_run", record)
    common = {"data_dir": str(suite_dir), "methods": ("zero_shot",), "folds": 2}
    run_bench(BenchConfig(**common, out=str(suite_dir / "o1"), weights=str(tiny_weights)))
    expected = {
        name: dataset_fingerprint(*load_dataset(str(suite_dir / f"{name}.csv"), "target"))
        for name in ("diabetes", "credit-approval")
    }
    assert seen == {(name, fold): expected[name] for name in expected for fold in (0, 1)}
    seen.clear()
    run_bench(
        BenchConfig(**common, out=str(suite_dir / "o2"), weights=str(tiny_weights), max_rows=60)
    )
    assert set(seen.values()) == set(expected.values())


@pytest.mark.slow
def test_tuned_runs_on_a_fold_whose_training_rows_miss_a_column_entirely(
    tmp_path: Path, suite_dir: Path, tiny_weights: Path, fixed_space: Path, tiny_space: Path
) -> None:
    # Like anneal's mostly-missing columns: one observed value, so on the fold that tests that
    # row the training rows hold none. The tuner refuses an empty column; the bench gives the
    # study the other columns (the run used to fail on such folds).
    frame = pd.read_csv(suite_dir / "diabetes.csv")
    frame.insert(0, "rare", np.nan)
    frame.loc[0, "rare"] = 1.0
    only = tmp_path / "only"
    only.mkdir()
    frame.to_csv(only / "diabetes.csv", index=False)
    out = tmp_path / "bench"
    flags = _cheap_flags(tiny_weights, fixed_space, tiny_space)
    code = main(
        ["bench", "--data-dir", str(only), "--out", str(out), "--folds", "2",
         "--methods", "zero_shot,tuned", *flags]
    )  # fmt: skip
    assert code == 0
    results = pd.read_csv(out / "results.csv")
    assert len(results[results["method"] == "tuned"]) == 2
