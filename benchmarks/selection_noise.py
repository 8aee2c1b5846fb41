"""How noisy is a configuration's out-of-fold score? Inputs for the selection's calibration.

For each dataset: stratified 3-fold CV (seed 0, the tuner's inner folds), an early-stopping
split carved off each training part as the objective does, and fine-tuning at the benchmark's
CPU budget (2 epochs x 10 steps x 2 episodes, 256-row context). Arms: the zero-shot model,
default fine-tuning (lr 1e-4) with fine-tuning seeds 0 and 1, and lr 1e-3 with seeds 0 and 1.
Every arm's OOF probabilities are pooled over the folds. Printed per pair: the correlation of
the OOF probabilities (every column), the difference in normalized ROC-AUC (the objective's
score: per-fold AUC normalized against zero-shot, averaged over folds) and its row SD over 500
bootstrap resamples of the rows stratified by fold and class (what BBC-CV resamples).
"Seed" pairs are one configuration under two seeds: their difference is pure seed noise.

Usage::

    python benchmarks/selection_noise.py [--datasets tic-tac-toe credit-approval ...]
        [--out benchmarks/results/selection-noise] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._suite import folds, format_table, load_suite  # noqa: E402

BUDGET: dict[str, Any] = {
    "epochs": 2,
    "steps_per_epoch": 10,
    "episodes_per_step": 2,
    "context_size": 256,
}
ARMS = {
    "default s0": (1e-4, 0),
    "default s1": (1e-4, 1),
    "lr1e-3 s0": (1e-3, 0),
    "lr1e-3 s1": (1e-3, 1),
}
PAIRS = (
    ("default s0", "zero-shot", "config"),
    ("lr1e-3 s0", "default s0", "config"),
    ("default s1", "default s0", "seed"),
    ("lr1e-3 s1", "lr1e-3 s0", "seed"),
)
DEFAULT_DATASETS = ("tic-tac-toe", "credit-approval", "diabetes", "car", "wdbc", "segment")


def oof_predictions(name: str, X: Any, y: Any, seed: int = 0) -> dict[str, Any]:
    """Every arm's OOF probabilities on one dataset, with labels and fold ids."""
    from sklearn.model_selection import train_test_split

    from tabfm import FinetuneConfig, finetune, get_backend, make_classifier

    backend = get_backend("tabfm", device="cpu")
    n = len(y)
    classes = np.unique(y)
    labels = np.searchsorted(classes, np.asarray(y))
    fold_of = np.empty(n, dtype=np.int64)
    oof = {arm: np.full((n, len(classes)), np.nan) for arm in ["zero-shot", *ARMS]}
    seconds = 0.0
    for number, train, test in folds(y, 3, seed):
        fold_of[test] = number
        X_train, y_train = (
            X.iloc[train].reset_index(drop=True),
            y.iloc[train].reset_index(drop=True),
        )
        X_test = X.iloc[test].reset_index(drop=True)
        zero_shot = make_classifier(backend).fit(X_train, y_train)
        oof["zero-shot"][test] = zero_shot.predict_proba(X_test)
        for arm, (learning_rate, seed_offset) in ARMS.items():
            run_seed = seed + number + 1000 * seed_offset
            fit_rows, valid_rows = train_test_split(
                np.arange(len(y_train)), test_size=0.2, stratify=y_train, random_state=run_seed
            )
            config = FinetuneConfig(
                **BUDGET, learning_rate=learning_rate, seed=run_seed, device="cpu"
            )
            started = time.perf_counter()
            classifier, _ = finetune(
                backend,
                (X_train.iloc[fit_rows], y_train.iloc[fit_rows]),
                None,
                (X_train.iloc[valid_rows], y_train.iloc[valid_rows]),
                config,
            )
            seconds += time.perf_counter() - started
            classifier.fit(X_train, y_train)
            oof[arm][test] = classifier.predict_proba(X_test)
    print(f"{name}: {len(ARMS)} arms x 3 folds fine-tuned in {seconds:.0f} s", flush=True)
    return {"labels": labels, "folds": fold_of, "oof": oof}


def pair_rows(name: str, data: dict[str, Any], n_boot: int = 500) -> list[dict[str, object]]:
    from storage import fold_auc, normalized_score, stratified_bootstrap_counts

    labels, fold_of, oof = data["labels"], data["folds"], data["oof"]
    counts = stratified_bootstrap_counts(fold_of * (labels.max() + 1) + labels, n_boot, 0)
    full = np.ones((1, len(labels)))
    base_full = fold_auc(oof["zero-shot"], labels, fold_of, full)
    base_boot = fold_auc(oof["zero-shot"], labels, fold_of, counts)

    def score(arm: str, weights: np.ndarray, base: np.ndarray) -> np.ndarray:
        return normalized_score(fold_auc(oof[arm], labels, fold_of, weights), base)

    rows: list[dict[str, object]] = []
    for a, b, kind in PAIRS:
        difference = score(a, full, base_full)[0] - score(b, full, base_full)[0]
        boot = score(a, counts, base_boot) - score(b, counts, base_boot)
        rows.append(
            {
                "dataset": f"{name} ({len(labels)})",
                "pair": f"{a} vs {b}",
                "kind": kind,
                "correlation": float(np.corrcoef(oof[a].ravel(), oof[b].ravel())[0, 1]),
                "difference": float(difference),
                "row SD": float(np.std(boot, ddof=1)),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS))
    parser.add_argument("--out", default="benchmarks/results/selection-noise")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-rows", type=int, default=1000)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    for dataset in load_suite(args.datasets, max_rows=args.max_rows):
        cached = out / f"{dataset.name}.npz"
        if cached.exists():  # resumable: one file per finished dataset
            stored = np.load(cached)
            data = {
                "labels": stored["labels"],
                "folds": stored["folds"],
                "oof": {k[4:]: stored[k] for k in stored.files if k.startswith("oof:")},
            }
        else:
            data = oof_predictions(dataset.name, dataset.X, dataset.y)
            arrays = {f"oof:{k}": v.astype(np.float32) for k, v in data["oof"].items()}
            np.savez_compressed(cached, labels=data["labels"], folds=data["folds"], **arrays)
        rows.extend(pair_rows(dataset.name, data))
    table = format_table(rows)
    print(table)
    (out / "pairs.md").write_text(table + "\n")
    (out / "pairs.json").write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
