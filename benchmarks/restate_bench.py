"""Restate a stored benchmark's paired statistics at the dataset level (from its results.csv).

``causalmix bench --report-only`` rebuilds a summary from the per-run files of a benchmark's
output folder; the folders under ``benchmarks/results/`` keep only ``results.csv``. This prints
(and writes next to it, as ``dataset-level.md``) the comparisons ``summary.md`` makes today: one
value per dataset, Wilcoxon with Pratt's zeros, Holm across the comparisons, the Friedman test.

Usage::

    python benchmarks/restate_bench.py benchmarks/results/bench-cpu [...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import comparisons_markdown  # noqa: E402

ORDER = ("zero_shot", "default_ft", "causalmixft", "scm_only", "ctgan", "ctgan_only", "tuned")


def kept_table(frame: pd.DataFrame, methods: list[str]) -> str:
    """Per fine-tuned method: the share of runs that kept the pre-trained weights (best epoch
    0), and of the runs that left them, how many scored below zero-shot on the test fold."""
    lines = [
        "| method | runs | kept pre-trained | left them | of those, worse on test | share |",
        "|---|---|---|---|---|---|",
    ]
    for method in methods:
        runs = frame[(frame["method"] == method) & frame["best_epoch"].notna()]
        if method == "zero_shot" or runs.empty:
            continue
        left = runs[runs["best_epoch"] > 0]
        worse = int((left["normalized_roc_auc"] < 0).sum())
        share = worse / len(left) if len(left) else float("nan")
        lines.append(
            f"| {method} | {len(runs)} | {1 - len(left) / len(runs):.3f} | {len(left)} | "
            f"{worse} | {share:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for folder in args.folders:
        frame = pd.read_csv(folder / "results.csv")
        methods = [m for m in ORDER if m in set(frame["method"])]
        text = f"# {folder.name}: paired statistics at the dataset level\n\n"
        text += comparisons_markdown(frame, methods)
        text += "\nFine-tuned runs that left the pre-trained weights:\n\n"
        text += kept_table(frame, methods)
        (folder / "dataset-level.md").write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
