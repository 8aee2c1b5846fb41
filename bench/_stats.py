"""Paired statistics of the benchmark at the dataset level (Demšar, 2006): one value per
dataset, its median over datasets with an interval from resampling datasets, the Wilcoxon
signed-rank test with Pratt's handling of zero differences, Holm's correction across the
comparisons of a report, wins / ties / losses over datasets, and mean ranks with the Friedman
test and, only when Friedman rejects, Nemenyi's critical difference.

Every method runs on the same folds with the same seeds, so each comparison is paired: a
difference exists only where both methods have a result for the same (dataset, split, fold),
and a dataset's value is the mean of those differences. The folds of one dataset share its rows
and its difficulty, so they are not independent samples: testing over them (as this module did
before) overstates the evidence.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "ALPHA",
    "critical_difference",
    "holm",
    "verdict",
    "mean_ranks",
    "paired_comparison",
    "paired_differences",
    "plot_critical_difference",
    "write_critical_difference",
]

ALPHA = 0.05
"""Significance level of every test and the confidence level's complement."""

_PAIR = ["dataset", "split", "fold"]
_SCORE = "normalized_roc_auc"


def paired_differences(frame: pd.DataFrame, method: str, reference: str) -> pd.Series:
    """``method - reference`` in normalized ROC-AUC (%) per dataset: the mean over the
    (split, fold) pairs both ran. Indexed by dataset; its ``attrs["pairs"]`` is the number of
    (dataset, split, fold) pairs behind it."""
    scores = frame.pivot_table(index=_PAIR, columns="method", values=_SCORE, aggfunc="first")
    if method not in scores or reference not in scores:
        return pd.Series(dtype=float)
    per_pair = (scores[method] - scores[reference]).dropna()
    per_dataset = per_pair.groupby(level="dataset").mean()
    per_dataset.attrs["pairs"] = len(per_pair)
    return per_dataset


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN)."""
    values = np.asarray(p_values, dtype=float)
    adjusted = np.full(len(values), np.nan)
    finite = np.flatnonzero(np.isfinite(values))
    order = finite[np.argsort(values[finite], kind="mergesort")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * values[index]))
        adjusted[index] = running
    return adjusted.tolist()


def verdict(median: float, p_value: float) -> str:
    """``better`` / ``worse`` only where the (adjusted) test rejects and the median difference
    points that way; never a direction with a median of 0."""
    if not (p_value < ALPHA):
        return "not significant"
    if median > 0:
        return "better"
    if median < 0:
        return "worse"
    return "significant, but the median difference is 0: no direction claimed"


def paired_comparison(frame: pd.DataFrame, methods: list[str], reference: str) -> pd.DataFrame:
    """One row per method (other than ``reference``) compared with ``reference``, at the
    dataset level.

    Columns: ``datasets`` and ``pairs`` (the (dataset, split, fold) pairs behind them),
    ``median_diff`` (percentage points of normalized ROC-AUC, the median over datasets of each
    dataset's mean difference) with its 95 % interval ``ci_low`` / ``ci_high`` (percentile
    bootstrap over datasets, 2,000 resamples, seed 0), ``wilcoxon_p`` (two-sided signed-rank
    test over the datasets, zeros handled by Pratt's method; 1 when every difference is 0),
    ``p_holm`` (Holm across this table's rows; :func:`holm` adjusts across a whole report),
    ``wins`` / ``ties`` / ``losses`` over datasets and the :func:`verdict` at ``p_holm``.
    """
    from scipy import stats

    rows = []
    for method in methods:
        if method == reference:
            continue
        series = paired_differences(frame, method, reference)
        differences = series.to_numpy(dtype=float)
        if len(differences) == 0:
            continue
        median = float(np.median(differences))
        if np.ptp(differences) == 0 or len(differences) < 2:
            low = high = median  # a constant difference has no spread to resample
        else:
            interval = stats.bootstrap(
                (differences,),
                np.median,
                confidence_level=1 - ALPHA,
                n_resamples=2000,
                method="percentile",
                random_state=0,
            ).confidence_interval
            low, high = float(interval.low), float(interval.high)
        p = 1.0
        if np.any(differences != 0) and len(differences) >= 2:
            p = float(stats.wilcoxon(differences, zero_method="pratt").pvalue)
        rows.append(
            {
                "method": method,
                "datasets": len(differences),
                "pairs": int(series.attrs.get("pairs", len(differences))),
                "median_diff": median,
                "ci_low": low,
                "ci_high": high,
                "wilcoxon_p": p,
                "wins": int((differences > 0).sum()),
                "ties": int((differences == 0).sum()),
                "losses": int((differences < 0).sum()),
            }
        )
    table = pd.DataFrame(rows)
    if not table.empty:
        table["p_holm"] = holm(table["wilcoxon_p"].tolist())
        table["verdict"] = [verdict(m, p) for m, p in zip(table["median_diff"], table["p_holm"])]
    return table


def mean_ranks(frame: pd.DataFrame, methods: list[str]) -> tuple[pd.Series, int, float]:
    """``(ranks, n_datasets, friedman_p)``: each method's mean rank over the datasets on which
    every one of ``methods`` ran (1 = best mean normalized ROC-AUC over folds, ties averaged),
    and the Friedman test's p-value (``nan`` for fewer than 3 methods or 2 datasets)."""
    from scipy import stats

    per_dataset = frame.groupby(["dataset", "method"])[_SCORE].mean().unstack()
    present = [m for m in methods if m in per_dataset.columns]
    complete = per_dataset[present].dropna()
    ranks = complete.rank(axis=1, ascending=False, method="average")
    p = math.nan
    if len(present) >= 3 and len(complete) >= 2:
        if bool((complete.nunique(axis=1) <= 1).all()):
            p = 1.0  # every method ties on every dataset: no difference (scipy divides by 0)
        else:
            p = float(stats.friedmanchisquare(*(complete[m] for m in present)).pvalue)
    return ranks.mean(axis=0), len(complete), p


def critical_difference(n_methods: int, n_datasets: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical difference of mean ranks: ``q_alpha * sqrt(k (k + 1) / (6 N))``,
    with ``q_alpha`` the studentized range quantile divided by ``sqrt(2)``."""
    from scipy import stats

    if n_methods < 2 or n_datasets < 1:
        return math.nan
    q = float(stats.studentized_range.ppf(1 - alpha, n_methods, np.inf)) / math.sqrt(2)
    return q * math.sqrt(n_methods * (n_methods + 1) / (6 * n_datasets))


def plot_critical_difference(ranks: pd.Series, cd: float, n_datasets: int) -> bytes:
    """A critical-difference diagram (PNG bytes): methods on their mean-rank axis, the CD
    interval, and a bar joining each group of methods whose ranks differ by less than it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = ranks.sort_values()
    k = len(ordered)
    figure, axes = plt.subplots(figsize=(7.5, 1.2 + 0.32 * k))
    try:
        axes.set_xlim(0.5, k + 0.5)
        axes.set_ylim(-(k + 1.5), 1.5)
        axes.invert_xaxis()  # rank 1 (best) on the right
        axes.axis("off")
        axes.hlines(0, 1, k, color="black", linewidth=1)
        for tick in range(1, k + 1):
            axes.vlines(tick, 0, 0.15, color="black", linewidth=1)
            axes.text(tick, 0.3, str(tick), ha="center", va="bottom", fontsize=9)
        if math.isfinite(cd):
            axes.hlines(1.0, 1, 1 + cd, color="tab:red", linewidth=2)
            axes.text(1 + cd / 2, 1.15, f"CD = {cd:.2f}", ha="center", fontsize=9)
        for row, (method, rank) in enumerate(ordered.items(), start=1):
            axes.vlines(rank, 0, -row, color="grey", linewidth=0.8)
            axes.text(rank, -row, f" {method} ({rank:.2f})", va="center", fontsize=9)
        # Groups not significantly different: maximal runs within one CD of each other.
        values = ordered.to_numpy()
        groups: list[tuple[int, int]] = []
        for start in range(k):
            end = start
            while end + 1 < k and values[end + 1] - values[start] < cd:
                end += 1
            if end > start and not any(s <= start and end <= e for s, e in groups):
                groups.append((start, end))
        for level, (start, end) in enumerate(groups, start=1):
            axes.hlines(-0.35 * level, values[start], values[end], color="black", linewidth=3)
        axes.set_title(
            f"Mean rank over {n_datasets} datasets (Nemenyi, alpha = {ALPHA})", fontsize=10
        )
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def write_critical_difference(path: Path, frame: pd.DataFrame, methods: list[str]) -> str:
    """Write the diagram to ``path`` (when at least 2 methods ran on 2 datasets) and return
    the Markdown lines that describe it."""
    from bench._store import write_atomic

    ranks, n_datasets, friedman_p = mean_ranks(frame, methods)
    if len(ranks) < 2 or n_datasets < 2:
        return "(fewer than 2 methods on 2 datasets: no ranking)"
    listed = ", ".join(f"`{m}` {r:.2f}" for m, r in ranks.sort_values().items())
    friedman = "n/a (fewer than 3 methods)" if math.isnan(friedman_p) else f"{friedman_p:.3g}"
    if not friedman_p < ALPHA:
        path.unlink(missing_ok=True)  # a diagram of an earlier report would mislead
        return (
            f"Mean ranks over the {n_datasets} datasets every method ran on: {listed}. "
            f"Friedman p = {friedman}: not significant, so no post-hoc test (Nemenyi) and no "
            "critical-difference diagram; the data do not separate the methods' ranks."
        )
    cd = critical_difference(len(ranks), n_datasets)
    write_atomic(path, plot_critical_difference(ranks, cd, n_datasets))
    return (
        f"Mean ranks over the {n_datasets} datasets every method ran on: {listed}. Friedman "
        f"p = {friedman} (the ranks differ significantly). Nemenyi "
        f"critical difference at alpha = {ALPHA}: {cd:.2f}; two methods whose mean ranks "
        f"differ by less are not significantly different. Diagram: `{path.name}`."
    )
