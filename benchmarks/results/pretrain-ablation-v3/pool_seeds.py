"""Issue #25: one ablation pass repeated with other training seeds, pooled per dataset.

Reads the per-fold CSVs of ``benchmarks/zero_shot.py`` (the same 16 datasets and folds in each,
one training seed per file), renames each file's two TabFM columns to BASE and ARM, averages
every dataset over folds and seeds, and prints ARM minus BASE paired over datasets (the
statistics of ``zero_shot.py``), then each seed alone. From the repository root::

    python benchmarks/results/pretrain-ablation-v3/pool_seeds.py \
        benchmarks/results/pretrain-ablation-v3/zero_shot-ruletargets.csv \
        benchmarks/results/pretrain-ablation-v3/zero_shot-ruletargets_seed1.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from benchmarks._suite import format_table  # noqa: E402
from benchmarks.zero_shot import paired_rows  # noqa: E402


def load(path: str) -> pd.DataFrame:
    """One file's per-dataset means, its two TabFM columns named BASE and ARM (in file order)."""
    scores = pd.read_csv(path)
    tabfm = [column for column in scores.columns if column.startswith("TabFM")]
    if len(tabfm) != 2:
        raise SystemExit(f"{path}: expected two TabFM columns, found {tabfm}")
    scores = scores.rename(columns=dict(zip(tabfm, ["BASE", "ARM"], strict=True)))
    return scores.groupby("dataset")[["BASE", "ARM"]].mean()


def main(paths: list[str]) -> None:
    runs = [load(path) for path in paths]
    pooled = sum(runs[1:], runs[0]) / len(runs)
    for name, table in [(f"pooled over {len(runs)} seeds", pooled), *zip(paths, runs)]:
        rows = table.reset_index().to_dict("records")
        print(f"\n{name}: mean BASE {table['BASE'].mean():.4f}, ARM {table['ARM'].mean():.4f}\n")
        print(format_table(paired_rows(rows, ["BASE", "ARM"])))


if __name__ == "__main__":
    main(sys.argv[1:])
