"""Fold-batched fine-tuning against folds one by one: wall clock and operator counts.

Fine-tunes the shipped TabFM on the ``--folds`` stratified inner folds of a shipped dataset
(real rows only: the fine-tuning cost does not depend on where the rows come from), once with
:func:`tabfm.finetune` per fold and once with :func:`tabfm.finetune_folds`, at the
fine-tuning defaults (the ``default`` space's) unless ``--set`` changes them. It prints, per
mode:

- ``seconds``: wall clock of fine-tuning all folds (validation included), median of
  ``--repeats``;
- ``ops_per_step``: torch operators dispatched per optimiser step for all folds together
  (forward, backward and optimiser), from the profiler: ``(ops(3) - ops(1)) / 2`` over two
  runs of 1 and 3 steps, so validation and set-up cancel out. On a GPU each
  operator is at least one kernel launch, which is what bounds a small model's step there;
- ``max_abs_diff``: the largest difference of a validation ROC-AUC or training loss between
  the modes (float noise; it must stay near 1e-6).

Example (the CPU figures of the README)::

    OMP_NUM_THREADS=1 python benchmarks/fold_batching.py --data datasets/diabetes.csv
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._suite import early_stopping_splits, format_table  # noqa: E402


def _folds(data: str, n_folds: int, seed: int) -> list[Any]:
    from causalmix import load_dataset

    X, y = load_dataset(data)
    return [
        ((X.iloc[fit], y.iloc[fit]), None, (X.iloc[valid], y.iloc[valid]))
        for fit, valid in early_stopping_splits(y, n_folds, seed)
    ]


def _runner(batched: bool, backend: Any, folds: list[Any]) -> Callable[[list[Any]], list[Any]]:
    from tabfm import finetune, finetune_folds

    def run(configs: list[Any]) -> list[Any]:
        if batched:
            return [history for _, history in finetune_folds(backend, folds, configs)]
        return [finetune(backend, f[0], f[1], f[2], c)[1] for f, c in zip(folds, configs)]

    return run


def _count_ops(run: Callable[[list[Any]], list[Any]], configs: list[Any]) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        run(configs)
    return sum(1 for event in profiler.events() if event.name.startswith("aten::"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "datasets" / "diabetes.csv"))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--set", action="append", default=[], help="a FinetuneConfig field, KEY=VALUE"
    )
    args = parser.parse_args()

    import torch

    from tabfm import FinetuneConfig, get_backend

    torch.set_num_threads(args.threads)
    changes: dict[str, Any] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        changes[key] = type(getattr(FinetuneConfig(), key))(value)
    backend = get_backend("tabfm", device=args.device)
    folds = _folds(args.data, args.folds, seed=0)

    def configs(**extra: Any) -> list[Any]:
        settings = {**changes, **extra, "device": args.device}
        return [FinetuneConfig(**settings, seed=k) for k in range(args.folds)]

    rows, histories = [], {}
    for batched in (False, True):
        run = _runner(batched, backend, folds)
        run(configs(epochs=1, steps_per_epoch=1))  # warm-up
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            histories[batched] = run(configs())
            seconds.append(time.perf_counter() - start)
        # One validation member: validation cancels out of the difference, and fewer
        # profiled operators keep the profiler quick.
        short = _count_ops(run, configs(epochs=1, steps_per_epoch=1, eval_estimators=1))
        long = _count_ops(run, configs(epochs=1, steps_per_epoch=3, eval_estimators=1))
        rows.append(
            {
                "mode": "together" if batched else "one by one",
                "folds": args.folds,
                "seconds": statistics.median(seconds),
                "ops_per_step": (long - short) / 2,
            }
        )
    differences = [
        abs(a[key] - b[key])
        for alone, together in zip(histories[False], histories[True])
        for a, b in zip(alone, together)
        for key in ("valid_roc_auc", "train_loss")
        if np.isfinite(a[key])
    ]
    for row in rows:
        row["max_abs_diff"] = float(max(differences))
    config = configs()[0]
    print(
        f"{Path(args.data).stem}, {args.folds} folds, {args.device}, {args.threads} thread(s), "
        f"context {config.context_size}, {config.epochs} x {config.steps_per_epoch} steps of "
        f"{config.episodes_per_step} episodes"
    )
    print(format_table(rows, floatfmt=".3g"))


if __name__ == "__main__":
    main()
