"""Zero-shot vs fine-tuned TabFM vs fine-tuned with CausalMix synthetic rows (prints tables).

Protocol (``benchmarks/_suite.py``): each dataset stratified-subsampled to <= 1,000 rows and
<= 100 features, stratified K-fold CV. In every training fold a stratified validation split
is carved off for early stopping; fine-tuning draws episodes from the rest, plus (third arm)
as many synthetic rows as real ones from ``causalmix.CausalAugmenter`` fitted on the same
rows (synthetic ratio 1). Every classifier then predicts the test fold with the whole training
fold as context. Scores are ROC-AUC and the normalized ROC-AUC against zero-shot,
``100 * (auc / auc_zero_shot - 1)`` (:func:`tabfm.normalized_roc_auc`), per dataset (mean
over folds) and summarised by the median and interquartile range over datasets.

Usage::

    python benchmarks/finetune.py [--datasets diabetes wdbc ...] [--folds 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._suite import folds, format_table, load_suite  # noqa: E402

ARMS = ("zero-shot", "finetune", "finetune+causalmix")
# The FinetuneConfig settings of the README's fine-tuning figures (the engine's defaults before
# they became the search spaces' defaults); the other fields take FinetuneConfig's defaults.
MEASURED_CONFIG = {"learning_rate": 3e-5, "steps_per_epoch": 8, "episodes_per_step": 2}


@dataclasses.dataclass
class ArmResult:
    """One arm on one fold."""

    roc_auc: float
    seconds: float = 0.0
    augment_seconds: float = 0.0
    steps_per_second: float = float("nan")
    peak_memory_mb: float = float("nan")
    epochs_run: int = 0
    best_epoch: int = 0


def run_fold(
    backend: Any,
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    config: Any,
    augmenter_params: dict[str, Any],
    valid_fraction: float,
    seed: int,
    arms: tuple[str, ...],
) -> dict[str, ArmResult]:
    """All arms on one fold."""
    from sklearn.model_selection import train_test_split

    from tabfm import finetune, make_classifier, roc_auc

    results: dict[str, ArmResult] = {}
    # Fine-tuning randomness follows the fold; every arm predicts with the same ensemble
    # permutations (random_state 0, the default of both classifiers), so the comparison is
    # paired and ensemble noise does not pass for a fine-tuning effect.
    config = dataclasses.replace(config, seed=seed)
    zero_shot = make_classifier(backend, random_state=0).fit(X_train, y_train)
    results["zero-shot"] = ArmResult(
        roc_auc(y_test, zero_shot.predict_proba(X_test), zero_shot.classes_)
    )
    fit_rows, valid_rows = train_test_split(
        np.arange(len(y_train)), test_size=valid_fraction, stratify=y_train, random_state=seed
    )
    X_fit, y_fit = X_train.iloc[fit_rows], y_train.iloc[fit_rows]
    valid = (X_train.iloc[valid_rows], y_train.iloc[valid_rows])
    for arm in arms[1:]:
        synthetic, augment_seconds = None, 0.0
        if arm == "finetune+causalmix":
            from causalmix import CausalAugmenter

            started = time.perf_counter()
            augmenter = CausalAugmenter(**augmenter_params, random_state=seed).fit(X_fit, y_fit)
            synthetic = augmenter.sample(len(X_fit))  # synthetic ratio 1
            augment_seconds = time.perf_counter() - started
        started = time.perf_counter()
        classifier, history = finetune(backend, (X_fit, y_fit), synthetic, valid, config)
        seconds = time.perf_counter() - started
        classifier.fit(X_train, y_train)
        trained = [record for record in history if record["epoch"] > 0]
        results[arm] = ArmResult(
            roc_auc(y_test, classifier.predict_proba(X_test), classifier.classes_),
            seconds=seconds,
            augment_seconds=augment_seconds,
            steps_per_second=float(np.mean([r["steps_per_second"] for r in trained])),
            peak_memory_mb=float(max(r.get("peak_memory_mb", float("nan")) for r in history)),
            epochs_run=len(trained),
            best_epoch=int(history[-1]["best_epoch"]),
        )
    return results


def summarise(per_dataset: dict[str, dict[str, list[ArmResult]]], arms: tuple[str, ...]) -> str:
    """The per-dataset table, then the median / IQR of the normalized ROC-AUC per arm."""
    from tabfm import normalized_roc_auc

    rows: list[dict[str, object]] = []
    normalized: dict[str, list[float]] = {arm: [] for arm in arms[1:]}
    for name, results in per_dataset.items():
        row: dict[str, object] = {"dataset": name}
        zero = [r.roc_auc for r in results["zero-shot"]]
        row["AUC zero-shot"] = float(np.mean(zero))
        for arm in arms[1:]:
            aucs = [r.roc_auc for r in results[arm]]
            norm = float(
                np.mean([normalized_roc_auc(a, z) for a, z in zip(aucs, zero, strict=True)])
            )
            normalized[arm].append(norm)
            row[f"AUC {arm}"] = float(np.mean(aucs))
            row[f"norm {arm}"] = norm
            row[f"s/run {arm}"] = float(np.mean([r.seconds for r in results[arm]]))
        if "finetune+causalmix" in arms:
            row["s/augment"] = float(np.mean([r.augment_seconds for r in results[arms[-1]]]))
        row["best epoch (ft)"] = "/".join(str(r.best_epoch) for r in results[arms[1]])
        rows.append(row)
    summary = []
    for arm in arms[1:]:
        values = np.asarray(normalized[arm])
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        all_runs = [r for results in per_dataset.values() for r in results[arm]]
        summary.append(
            {
                "arm": arm,
                "median normalized ROC-AUC": float(median),
                "IQR": f"[{q1:.2f}, {q3:.2f}]",
                "mean": float(values.mean()),
                "datasets improved": f"{int((values > 0).sum())}/{len(values)}",
                "s per fine-tuning run": float(np.mean([r.seconds for r in all_runs])),
                "steps/s": float(np.nanmean([r.steps_per_second for r in all_runs])),
                "peak GPU MB": float(np.nanmax([r.peak_memory_mb for r in all_runs] + [np.nan]))
                if any(np.isfinite(r.peak_memory_mb) for r in all_runs)
                else "n/a (CPU)",
            }
        )
    return format_table(rows, ".2f") + "\n\n" + format_table(summary, ".2f")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=None, help="default: all shipped")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--valid-fraction", type=float, default=0.2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--weights", default=None, help="weights directory (default: shipped)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--no-causalmix", action="store_true", help="skip the third arm")
    parser.add_argument("--n-bootstrap", type=int, default=10, help="CausalAugmenter resamples")
    parser.add_argument("--n-dags", type=int, default=4, help="CausalAugmenter DAGs")
    parser.add_argument(
        "--config",
        default=json.dumps(MEASURED_CONFIG),
        help="FinetuneConfig overrides as JSON (default: the settings the README's figures "
        "were measured with), e.g. '{\"epochs\": 3}'",
    )
    args = parser.parse_args(argv)

    import torch

    from tabfm import FinetuneConfig, get_backend

    if args.threads:
        torch.set_num_threads(args.threads)
    config = FinetuneConfig(
        **{"device": args.device, "seed": args.seed, **json.loads(args.config)}
    )
    backend = get_backend("tabfm", weights=args.weights, device=args.device)
    arms = ARMS[:2] if args.no_causalmix else ARMS
    augmenter_params = {"n_bootstrap": args.n_bootstrap, "n_dags": args.n_dags}
    print(f"device: {backend.device_name}; torch threads: {torch.get_num_threads()}")
    print(f"FinetuneConfig: {config.to_dict()}")
    if not args.no_causalmix:
        print(f"CausalAugmenter: {augmenter_params} (other parameters default), ratio 1")
    print()
    per_dataset: dict[str, dict[str, list[ArmResult]]] = {}
    for dataset in load_suite(args.datasets, seed=args.seed):
        results: dict[str, list[ArmResult]] = {arm: [] for arm in arms}
        for fold, train, test in folds(dataset.y, args.folds, args.seed):
            fold_results = run_fold(
                backend,
                dataset.X.iloc[train].reset_index(drop=True),
                dataset.y.iloc[train].reset_index(drop=True),
                dataset.X.iloc[test].reset_index(drop=True),
                dataset.y.iloc[test].reset_index(drop=True),
                config,
                augmenter_params,
                args.valid_fraction,
                args.seed + fold,
                arms,
            )
            for arm, result in fold_results.items():
                results[arm].append(result)
        per_dataset[dataset.name] = results
        line = " ".join(f"{arm}={np.mean([r.roc_auc for r in results[arm]]):.3f}" for arm in arms)
        print(f"{dataset.name}: {line}", flush=True)
    print()
    print(summarise(per_dataset, arms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
