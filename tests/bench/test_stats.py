"""The benchmark's paired statistics on constructed results with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench._stats import (
    critical_difference,
    mean_ranks,
    paired_comparison,
    plot_critical_difference,
)


def _results(scores: dict[str, list[float]], datasets: int = 4, folds: int = 3) -> pd.DataFrame:
    rows = []
    for method, values in scores.items():
        for index, value in enumerate(values):
            dataset, fold = divmod(index, folds)
            assert dataset < datasets
            rows.append(
                {"dataset": f"d{dataset}", "split": "kfold", "fold": fold, "method": method,
                 "normalized_roc_auc": value}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_an_identical_method_ties_everywhere_and_is_not_significant() -> None:
    base = list(np.linspace(-1, 1, 12))
    table = paired_comparison(
        _results({"default_ft": base, "same": base}), ["default_ft", "same"], "default_ft"
    ).set_index("method")
    row = table.loc["same"]
    assert row["median_diff"] == row["ci_low"] == row["ci_high"] == 0.0
    assert (row["wins"], row["ties"], row["losses"]) == (0, 4, 0)  # over the 4 datasets
    assert row["datasets"] == 4 and row["pairs"] == 12
    assert row["wilcoxon_p"] == 1.0 and row["verdict"] == "not significant"


def test_a_consistent_gain_is_significant_with_an_interval_around_it() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=36)
    gain = base + 0.5 + rng.normal(scale=0.05, size=36)
    noise = base + rng.normal(scale=0.5, size=36)
    frame = _results(
        {"default_ft": list(base), "better": list(gain), "noisy": list(noise)}, datasets=12
    )
    table = paired_comparison(frame, ["default_ft", "better", "noisy"], "default_ft")
    table = table.set_index("method")
    better = table.loc["better"]
    assert better["wins"] == 12 and better["losses"] == 0 and better["datasets"] == 12
    assert better["ci_low"] <= better["median_diff"] <= better["ci_high"]
    assert 0.4 < better["ci_low"] and better["ci_high"] < 0.6
    assert better["wilcoxon_p"] < 0.01 and better["verdict"] == "better"
    assert better["p_holm"] == pytest.approx(min(1.0, 2 * better["wilcoxon_p"]))
    per_dataset = (gain - base).reshape(12, 3).mean(axis=1)
    assert better["median_diff"] == pytest.approx(np.median(per_dataset))
    assert table.loc["noisy", "verdict"] == "not significant"


def test_folds_of_one_dataset_are_not_independent_evidence() -> None:
    # 4 datasets x 5 folds: a gain on every fold of 3 datasets, a loss on every fold of one.
    # Over the 20 folds the old per-fold test called this significant (p < 0.05); with one
    # value per dataset, 4 datasets cannot be.
    base = [0.0] * 20
    method = [0.3] * 15 + [-0.1] * 5
    frame = _results({"default_ft": base, "m": method}, datasets=4, folds=5)
    row = paired_comparison(frame, ["default_ft", "m"], "default_ft").iloc[0]
    assert row["datasets"] == 4 and (row["wins"], row["losses"]) == (3, 1)
    assert row["wilcoxon_p"] > 0.05 and row["verdict"] == "not significant"


def test_ties_count_through_pratt_and_a_zero_median_never_reads_better() -> None:
    # 10 datasets: 6 exact ties, 4 gains. Dropping the ties (the old test) tested only the 4.
    base = [0.0] * 10
    method = [0.0] * 6 + [1.0, 2.0, 3.0, 4.0]
    frame = _results({"default_ft": base, "m": method}, datasets=10, folds=1)
    row = paired_comparison(frame, ["default_ft", "m"], "default_ft").iloc[0]
    assert row["median_diff"] == 0.0 and row["ties"] == 6
    assert "better" not in row["verdict"]
    from scipy import stats

    expected = stats.wilcoxon(np.asarray(method), zero_method="pratt").pvalue
    assert row["wilcoxon_p"] == pytest.approx(expected)


def test_holm_adjusts_step_down_and_keeps_order() -> None:
    from bench._stats import holm

    adjusted = holm([0.01, 0.04, 0.03, float("nan")])
    assert adjusted[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(adjusted[3])


def test_no_nemenyi_diagram_without_a_significant_friedman(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bench._stats import write_critical_difference

    rng = np.random.default_rng(1)
    frame = _results({m: list(rng.normal(size=12)) for m in ("a", "b", "c")}, datasets=4, folds=3)
    path = tmp_path / "cd.png"
    text = write_critical_difference(path, frame, ["a", "b", "c"])
    assert not path.exists() and "no post-hoc test" in text


def test_only_pairs_where_both_methods_ran_count() -> None:
    frame = _results({"default_ft": [0.0] * 12, "partial": [1.0] * 6})
    row = paired_comparison(frame, ["default_ft", "partial"], "default_ft").iloc[0]
    assert row["pairs"] == 6 and row["datasets"] == 2 and row["wins"] == 2


def test_mean_ranks_friedman_and_the_critical_difference() -> None:
    frame = _results({"a": [3.0] * 12, "b": [2.0] * 12, "c": [1.0] * 12}, datasets=4, folds=3)
    ranks, n_datasets, p = mean_ranks(frame, ["a", "b", "c"])
    assert dict(ranks) == {"a": 1.0, "b": 2.0, "c": 3.0} and n_datasets == 4
    assert p < 0.05
    # Demsar (2006), table 5: q_0.05 = 2.343 for k = 3; CD = q * sqrt(k (k + 1) / (6 N)).
    assert critical_difference(3, 4) == pytest.approx(2.343 * math.sqrt(12 / 24), abs=1e-3)
    png = plot_critical_difference(ranks, critical_difference(3, 4), 4)
    assert png.startswith(b"\x89PNG")


def test_methods_that_tie_everywhere_get_friedman_p_one_without_a_warning() -> None:
    import warnings

    frame = _results({"a": [0.0] * 12, "b": [0.0] * 12, "c": [0.0] * 12}, datasets=4, folds=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's statistic would divide 0 by 0
        _, _, p = mean_ranks(frame, ["a", "b", "c"])
    assert p == 1.0
