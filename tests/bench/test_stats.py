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
    assert (row["wins"], row["ties"], row["losses"]) == (0, 12, 0)
    assert row["wilcoxon_p"] == 1.0 and row["verdict"] == "not significant"


def test_a_consistent_gain_is_significant_with_an_interval_around_it() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=12)
    gain = base + 0.5 + rng.normal(scale=0.05, size=12)
    noise = base + rng.normal(scale=0.5, size=12)
    frame = _results({"default_ft": list(base), "better": list(gain), "noisy": list(noise)})
    table = paired_comparison(frame, ["default_ft", "better", "noisy"], "default_ft")
    table = table.set_index("method")
    better = table.loc["better"]
    assert better["wins"] == 12 and better["losses"] == 0
    assert better["ci_low"] <= better["median_diff"] <= better["ci_high"]
    assert 0.4 < better["ci_low"] and better["ci_high"] < 0.6
    assert better["wilcoxon_p"] < 0.01 and better["verdict"] == "better"
    differences = gain - base
    assert better["median_diff"] == pytest.approx(np.median(differences))
    assert table.loc["noisy", "verdict"] == "not significant"


def test_only_pairs_where_both_methods_ran_count() -> None:
    frame = _results({"default_ft": [0.0] * 12, "partial": [1.0] * 6})
    row = paired_comparison(frame, ["default_ft", "partial"], "default_ft").iloc[0]
    assert row["pairs"] == 6 and row["wins"] == 6


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
