"""The benchmark's report: ``summary.md`` (per-method statistics) and ``normalized_auc.png``."""

from __future__ import annotations

import datetime
import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench._stats import (
    ALPHA,
    holm,
    mean_ranks,
    paired_comparison,
    verdict,
    write_critical_difference,
)
from bench._store import ECE_BINS, write_atomic

__all__ = ["REFERENCE", "hardware", "method_table", "plot_normalized_auc", "write_summary"]

REFERENCE = {
    "default_ft": "+0.10",
    "causalmixft": "+0.12",
    "ctgan": "-0.01",
    "tabebm": "-0.04",
}
"""Median normalized ROC-AUC of the reference study (Mitra, 33 TabArena datasets, 10 folds)."""

_VERSIONED = (
    "causalmix-tuner",
    "torch",
    "optuna",
    "causal-learn",
    "dowhy",
    "ctgan",
    "scikit-learn",
    "numpy",
    "pandas",
)


def hardware(device: str) -> str:
    """The machine in words: CPU model and cores, GPU (if any), and the device used."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = "none"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = ", ".join(
                torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
            )
    except ImportError:
        pass
    return f"CPU: {cpu} ({os.cpu_count()} logical cores); GPU: {gpu}; device used: {device}"


def _versions() -> str:
    parts = [f"python {platform.python_version()}"]
    for name in _VERSIONED:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(parts)


CD_FILE = "critical_difference.png"
"""The critical-difference diagram, next to ``summary.md``."""


def _mean_ranks(frame: pd.DataFrame) -> pd.Series:
    """Mean over datasets of each method's rank (1 = best mean normalized ROC-AUC)."""
    per_dataset = frame.groupby(["dataset", "method"])["normalized_roc_auc"].mean().unstack()
    ranks = per_dataset.rank(axis=1, ascending=False, method="average")
    return ranks.mean(axis=0)


def method_table(frame: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Per-method statistics of the runs in ``frame`` (one row per method that ran)."""
    ranks = _mean_ranks(frame) if len(frame) else pd.Series(dtype=float)
    rows = []
    for method in methods:
        runs = frame[frame["method"] == method]
        if runs.empty:
            continue
        normalized = runs["normalized_roc_auc"].astype(float).dropna()
        q25, median, q75 = (
            np.quantile(normalized, [0.25, 0.5, 0.75]) if len(normalized) else (np.nan,) * 3
        )
        gap = runs["valid_test_gap"].astype(float)
        signed = (runs["valid_roc_auc"].astype(float) - runs["test_roc_auc"].astype(float)) * 100
        rows.append(
            {
                "method": method,
                "runs": len(runs),
                "datasets": runs["dataset"].nunique(),
                "median_norm_auc": float(median),
                "q25": float(q25),
                "q75": float(q75),
                "iqr": float(q75 - q25),
                "mean_rank": float(ranks.get(method, np.nan)),
                # Fine-tuned runs whose best epoch was 0: the pre-trained weights were kept.
                "kept_pretrained": (
                    float((runs["best_epoch"] == 0).mean())
                    if "best_epoch" in runs and runs["best_epoch"].notna().any()
                    else np.nan
                ),
                "median_test_auc": float(runs["test_roc_auc"].astype(float).median()),
                "median_ece": float(runs["ece"].astype(float).median()),
                "median_gap_pp": float(gap.median()),
                "median_signed_gap_pp": float(signed.median()),
                "median_log_loss": float(runs["log_loss"].astype(float).median()),
                "mean_wall_s": float(runs["wall_seconds"].astype(float).mean()),
            }
        )
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame, floatfmt: str = ".3f") -> str:
    if table.empty:
        return "(no runs)"
    headers = [str(c) for c in table.columns]

    def cell(value: Any) -> str:
        if isinstance(value, (float, np.floating)):
            return "nan" if np.isnan(value) else format(float(value), floatfmt)
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def _goals(table: pd.DataFrame) -> list[str]:
    stats = table.set_index("method")
    lines = []
    fine_tuned = stats.drop(index="zero_shot", errors="ignore")

    def has(*names: str) -> bool:
        return all(n in stats.index for n in names)

    if has("tuned") and len(fine_tuned) > 1:
        best_median = fine_tuned["median_norm_auc"].idxmax()
        best_rank = stats["mean_rank"].idxmin()
        lines.append(
            f"- `tuned` has the best median normalized ROC-AUC: "
            f"{'met' if best_median == 'tuned' else 'not met'} (best: `{best_median}`, "
            f"{fine_tuned.loc[best_median, 'median_norm_auc']:+.3f}; `tuned` "
            f"{stats.loc['tuned', 'median_norm_auc']:+.3f})."
        )
        lines.append(
            f"- `tuned` has the best mean rank: {'met' if best_rank == 'tuned' else 'not met'} "
            f"(best: `{best_rank}`, {stats.loc[best_rank, 'mean_rank']:.2f}; `tuned` "
            f"{stats.loc['tuned', 'mean_rank']:.2f})."
        )
    if has("causalmixft", "default_ft"):
        a, b = (
            stats.loc["causalmixft", "median_norm_auc"],
            stats.loc["default_ft", "median_norm_auc"],
        )
        lines.append(
            f"- `causalmixft` beats `default_ft` (median): {'met' if a > b else 'not met'} "
            f"({a:+.3f} vs {b:+.3f})."
        )
    if has("tuned", "default_ft"):
        a, b = stats.loc["tuned", "iqr"], stats.loc["default_ft", "iqr"]
        lines.append(
            f"- IQR of `tuned` no wider than `default_ft`'s: {'met' if a <= b else 'not met'} "
            f"({a:.3f} vs {b:.3f})."
        )
    return lines or ["- (not enough methods ran to check the goals)"]


def _comparisons(frame: pd.DataFrame, methods: list[str]) -> list[str]:
    lines = []
    tables = {}
    for reference in ("default_ft", "zero_shot"):
        table = paired_comparison(frame, methods, reference) if len(frame) else pd.DataFrame()
        if not table.empty:
            tables[reference] = table
    # Holm across every comparison of the report; A against B and B against A are one
    # hypothesis (the same test), counted once.
    raw: dict[frozenset[str], float] = {}
    for reference, table in tables.items():
        for method, p in zip(table["method"], table["wilcoxon_p"]):
            raw[frozenset((method, reference))] = float(p)
    adjusted = dict(zip(raw, holm(list(raw.values()))))
    for reference, table in tables.items():
        table["p_holm"] = [adjusted[frozenset((m, reference))] for m in table["method"]]
        table["verdict"] = [verdict(m, p) for m, p in zip(table["median_diff"], table["p_holm"])]
    for reference, table in tables.items():
        table["median_diff"] = [
            f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]"
            for m, lo, hi in zip(table["median_diff"], table["ci_low"], table["ci_high"])
        ]
        table["wilcoxon_p"] = [f"{p:.3g}" for p in table["wilcoxon_p"]]
        table["p_holm"] = [f"{p:.3g}" for p in table["p_holm"]]
        table["W/T/L"] = [
            f"{w}/{t}/{lo}" for w, t, lo in zip(table["wins"], table["ties"], table["losses"])
        ]
        shown = table[
            ["method", "datasets", "pairs", "median_diff", "wilcoxon_p", "p_holm", "W/T/L",
             "verdict"]
        ]  # fmt: skip
        shown = shown.rename(
            columns={
                "median_diff": "median diff [95 % CI] (pp)",
                "wilcoxon_p": "p",
                "p_holm": "p (Holm)",
            }
        )
        lines += ["", f"Against `{reference}`:", "", _markdown(shown)]
    return lines or ["", "(no pairs)"]


def comparisons_markdown(frame: pd.DataFrame, methods: list[str]) -> str:
    """The paired comparisons of ``summary.md`` (dataset level, Holm across all of them) and
    the Friedman test, as Markdown, for a ``results.csv`` frame (e.g. a stored benchmark's)."""
    _, n_datasets, friedman_p = mean_ranks(frame, methods)
    if friedman_p != friedman_p:  # NaN: fewer than 3 methods or 2 datasets
        friedman = "Friedman: no test (fewer than 3 methods or 2 datasets)."
    else:
        friedman = (
            f"Friedman over the {n_datasets} datasets every method ran on: p = "
            f"{friedman_p:.3g} ({'significant' if friedman_p < ALPHA else 'not significant'})."
        )
    return "\n".join([*_comparisons(frame, methods), "", friedman]).strip() + "\n"


def _per_dataset(frame: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    table = frame.groupby(["dataset", "method"])["normalized_roc_auc"].mean().unstack()
    table = table[[m for m in methods if m in table.columns]]
    table.insert(0, "dataset", table.index)
    zero = frame[frame["method"] == "zero_shot"].groupby("dataset")["test_roc_auc"].mean()
    table.insert(1, "zero_shot_auc", zero.reindex(table.index).to_numpy())
    return table.reset_index(drop=True)


def write_summary(
    path: Path,
    frame: pd.DataFrame,
    methods: list[str],
    *,
    command: str,
    device: str,
    protocol: dict[str, Any],
    failures: list[str],
) -> Summary:
    """Write ``summary.md`` for the runs in ``frame``; return its text and its overview."""
    table = method_table(frame, methods)
    shown = table.rename(
        columns={
            "median_norm_auc": "median norm. ROC-AUC (%)",
            "q25": "q25",
            "q75": "q75",
            "iqr": "IQR",
            "mean_rank": "mean rank",
            "kept_pretrained": "share kept pre-trained",
            "median_test_auc": "median test ROC-AUC",
            "median_ece": "median ECE",
            "median_gap_pp": "median abs(val-test) (pp)",
            "median_signed_gap_pp": "median val-test (pp)",
            "median_log_loss": "median log loss",
            "mean_wall_s": "mean wall (s)",
        }
    )
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    protocol_lines = [f"- {key}: {value}" for key, value in protocol.items()]
    overview = [
        "# CausalMix benchmark",
        "",
        f"- Command: `{command}`",
        f"- Hardware: {hardware(device)}",
        f"- Versions: {_versions()}",
        f"- Written: {now}; {len(frame)} runs on {frame['dataset'].nunique()} datasets"
        + (f"; {len(failures)} failed runs (see below)" if failures else ""),
        "",
        "## Per method",
        "",
        _markdown(shown),
        "",
        "## Paired differences",
        "",
        "At the dataset level (Demšar 2006): per dataset, the mean over the (split, fold) pairs "
        "on which both methods ran of the method's normalized ROC-AUC minus the reference's, in "
        "percentage points. Median over datasets with a 95 % interval from resampling datasets "
        "(percentile, 2,000 resamples); p: two-sided Wilcoxon signed-rank test over datasets, "
        "zero differences kept (Pratt); p (Holm): corrected across every comparison below (a "
        "comparison and its mirror once); wins / ties / losses over datasets. A difference with "
        f"p (Holm) >= {ALPHA} is not significant, and no direction is claimed for a median of 0.",
        *_comparisons(frame, methods),
    ]
    lines = [
        *overview,
        "",
        "## Mean ranks and critical difference",
        "",
        write_critical_difference(path.parent / CD_FILE, frame, methods),
        "",
        "## Goals",
        "",
        *(_goals(table) if not table.empty else ["- (no runs)"]),
        "",
        "## Mean normalized ROC-AUC (%) per dataset (mean over folds)",
        "",
        _markdown(_per_dataset(frame, methods)) if len(frame) else "(no runs)",
        "",
        "## Definitions",
        "",
        "- **Normalized ROC-AUC** (%): `100 * (auc_method / auc_zero_shot - 1)` against "
        "`zero_shot` on the same outer fold (so `zero_shot` is 0 by definition). ROC-AUC is "
        "binary on the second class, one-vs-rest macro average for multiclass. Medians and "
        "quartiles are over runs (dataset x fold).",
        "- **Mean rank**: per dataset, methods ranked by their mean normalized ROC-AUC over "
        "folds (1 = best, ties averaged), then averaged over the datasets the method ran on.",
        f"- **ECE**: top-label expected calibration error, {ECE_BINS} equal-width confidence "
        "bins, on the outer test fold.",
        "- **Validation-test gap**: per run `|valid_roc_auc - test_roc_auc| * 100` in "
        "percentage points of ROC-AUC (median per method; the signed column is "
        "`valid - test`, positive = the validation score was optimistic). The validation "
        "score is the early-stopping split's ROC-AUC at the restored best epoch for "
        "fine-tuned methods (for `tuned`: of the final refit), and the zero-shot model's "
        "ROC-AUC on the same split (context = the other training rows, scored like "
        "fine-tuning's epoch 0) for `zero_shot`. Test scores use a 4-member ensemble, "
        "validation scores fine-tuning's 1-member one, so part of every gap is ensemble "
        "noise common to all methods. For `scm_only` and `ctgan_only` the validation "
        "predictions use the synthetic rows as context (they are the fine-tuning pool), "
        "while test predictions use the real training rows: their gap mostly measures how "
        "far the synthetic rows are from the real ones.",
        "- **Log loss**: mean negative log-probability of the true class on the test fold.",
        "",
        "## Protocol",
        "",
        *protocol_lines,
        "",
        "## Reference figures (study: Mitra fine-tuned on 33 TabArena datasets, 10 folds)",
        "",
        "Median normalized ROC-AUC: default fine-tuning +0.10, CausalMixFT +0.12, CTGAN -0.01, "
        "TabEBM -0.04, purely synthetic generators negative; median validation-test gap 0.67 "
        "with plain fine-tuning, 0.30 with CausalMixFT. Those are a different model, datasets "
        "and budget: compare directions, not values.",
    ]
    if failures:
        lines += ["", "## Failed runs (retried by the next invocation)", ""]
        lines += [f"- {failure}" for failure in failures]
    text = "\n".join(lines) + "\n"
    write_atomic(path, text)
    return Summary(text, "\n".join(overview))


@dataclass(frozen=True)
class Summary:
    """``summary.md``'s text, and its overview (header and per-method table) for a terminal."""

    text: str
    overview: str


def plot_normalized_auc(path: Path, frame: pd.DataFrame, methods: list[str], title: str) -> None:
    """A box plot of the normalized ROC-AUC per method (one point per run), as a PNG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [m for m in methods if (frame["method"] == m).any()]
    values = [frame.loc[frame["method"] == m, "normalized_roc_auc"].dropna().to_numpy(float)
              for m in present]  # fmt: skip
    figure, axes = plt.subplots(figsize=(1.3 * max(len(present), 3) + 1.5, 4.2))
    try:
        axes.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
        if present:
            axes.boxplot(values, tick_labels=present, showfliers=False)
            rng = np.random.default_rng(0)  # jitter only; fixed so the picture is stable
            for i, v in enumerate(values, start=1):
                axes.scatter(i + rng.uniform(-0.12, 0.12, len(v)), v, s=8, alpha=0.5)
        axes.set_ylabel("normalized ROC-AUC vs zero-shot (%)")
        axes.set_title(title, fontsize=10)
        axes.tick_params(axis="x", labelrotation=20)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=120)
    finally:
        plt.close(figure)
    write_atomic(path, buffer.getvalue())
