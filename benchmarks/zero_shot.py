"""Zero-shot TabFM against classical baselines on the shipped datasets (prints tables).

Protocol (``benchmarks/_suite.py``): each dataset stratified-subsampled to <= 1,000 rows and
<= 100 features, stratified K-fold CV, ROC-AUC (one-vs-rest macro for multiclass). Every model
sees the same folds in the same run. Then the inference time of 1,000 context + 1,000 query
rows x 30 features on CPU (and on CUDA when available).

Usage::

    python benchmarks/zero_shot.py [--datasets diabetes wdbc ...] [--folds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._suite import folds, format_table, load_suite  # noqa: E402

BASELINES = ("LogisticRegression", "RandomForest", "HistGradientBoosting", "kNN")


def _categorical_columns(X: pd.DataFrame) -> list[str]:
    return [
        c
        for c in X.columns
        if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])
    ]


def make_baseline(name: str, X: pd.DataFrame, seed: int) -> Any:
    """A scikit-learn pipeline: imputation, encoding (one-hot or ordinal), the model."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )

    categorical = _categorical_columns(X)
    numeric = [c for c in X.columns if c not in categorical]
    to_text = FunctionTransformer(_as_text)
    if name in ("LogisticRegression", "kNN"):
        encode = make_pipeline(
            to_text,
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
        scale = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    else:
        encode = make_pipeline(
            to_text,
            SimpleImputer(strategy="most_frequent"),
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
        )
        scale = SimpleImputer(strategy="median")
    columns = ColumnTransformer(
        [("numeric", scale, numeric), ("categorical", encode, categorical)],
        sparse_threshold=0.0,
    )
    model: Any
    if name == "LogisticRegression":
        model = LogisticRegression(max_iter=2000)
    elif name == "RandomForest":
        model = RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1)
    elif name == "HistGradientBoosting":
        model = HistGradientBoostingClassifier(random_state=seed)
    else:
        model = KNeighborsClassifier(n_neighbors=15, weights="distance")
    return make_pipeline(columns, model)


def _as_text(X: Any) -> pd.DataFrame:
    """Categorical columns as object strings, NaN kept, for the imputer and encoders."""
    frame = pd.DataFrame(X).astype("object")
    return frame.astype(str).where(frame.notna(), np.nan)


def evaluate_suite(
    names: list[str] | None,
    n_folds: int,
    seed: int,
    n_estimators: int,
    device: str,
    log: Callable[[str], None],
    weights: str | None = None,
) -> list[dict[str, object]]:
    """One row per dataset: the mean ROC-AUC of every model over the folds, and TabFM's time."""
    from tabfm import TabFMClassifier, roc_auc

    rows: list[dict[str, object]] = []
    for dataset in load_suite(names, seed=seed):
        scores: dict[str, list[float]] = {name: [] for name in ("TabFM", *BASELINES)}
        tabfm_seconds = 0.0
        for _, train, test in folds(dataset.y, n_folds, seed):
            X_train, X_test = dataset.X.iloc[train], dataset.X.iloc[test]
            y_train, y_test = dataset.y.iloc[train], dataset.y.iloc[test]
            started = time.perf_counter()
            model = TabFMClassifier(
                weights, n_estimators=n_estimators, device=device, random_state=seed
            )
            proba = model.fit(X_train, y_train).predict_proba(X_test)
            tabfm_seconds += time.perf_counter() - started
            scores["TabFM"].append(roc_auc(y_test, proba, model.classes_))
            for name in BASELINES:
                baseline = make_baseline(name, dataset.X, seed).fit(X_train, y_train)
                proba = baseline.predict_proba(X_test)
                scores[name].append(roc_auc(y_test, proba, baseline.classes_))
        row: dict[str, object] = {
            "dataset": dataset.name,
            "rows": len(dataset.y),
            "features": dataset.X.shape[1],
            "classes": int(dataset.y.nunique()),
        }
        row.update({name: float(np.nanmean(values)) for name, values in scores.items()})
        row["TabFM s/fold"] = tabfm_seconds / n_folds
        rows.append(row)
        log(format_table([row]).splitlines()[-1])
    return rows


def mean_row(rows: list[dict[str, object]]) -> dict[str, object]:
    """The column means of the model scores."""
    mean: dict[str, object] = {"dataset": "**mean**", "rows": "", "features": "", "classes": ""}
    for key in ("TabFM", *BASELINES, "TabFM s/fold"):
        mean[key] = float(np.mean([float(row[key]) for row in rows]))  # type: ignore[arg-type]
    return mean


def inference_timing(
    device: str, n_estimators: int, weights: str | None = None, repeats: int = 3
) -> dict[str, object]:
    """Seconds to predict 1,000 query rows from 1,000 context rows x 30 features."""
    from tabfm import TabFMClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 30))
    y = (X[:, :3].sum(axis=1) > 0).astype(int)
    model = TabFMClassifier(weights, n_estimators=n_estimators, device=device)
    model.fit(X[:1000], y[:1000])
    model.predict_proba(X[1000:1010])  # warm-up (kernels, allocator)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict_proba(X[1000:])
        if device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return {
        "device": device,
        "n_estimators": n_estimators,
        "seconds (best of 3)": min(times),
        "seconds per member": min(times) / n_estimators,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=None, help="default: all shipped")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-estimators", type=int, default=4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--weights", default=None, help="weights directory (default: shipped)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from tabfm import resolve_device, shipped_weights_dir

    if args.threads:
        torch.set_num_threads(args.threads)
    weights = args.weights or shipped_weights_dir()
    print(f"weights: {weights}; torch threads: {torch.get_num_threads()}")
    print(f"protocol: <= 1000 rows, <= 100 features, {args.folds}-fold stratified CV, ROC-AUC\n")
    device = str(resolve_device(args.device))
    rows = evaluate_suite(
        args.datasets,
        args.folds,
        args.seed,
        args.n_estimators,
        device,
        log=lambda line: print(line, flush=True),
        weights=args.weights,
    )
    print(format_table([*rows, mean_row(rows)]))
    if not args.skip_timing:
        print("\nInference, 1,000 context + 1,000 query rows x 30 features:\n")
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        timings = [inference_timing(d, args.n_estimators, args.weights) for d in devices]
        print(format_table(timings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
