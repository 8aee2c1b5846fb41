"""Zero-shot TabFM against classical baselines on the shipped datasets (prints tables).

Protocol (``benchmarks/_suite.py``): each dataset stratified-subsampled to <= 1,000 rows and
<= 100 features, stratified K-fold CV, ROC-AUC (one-vs-rest macro for multiclass). Every model
sees the same folds in the same run. Then the inference time of 1,000 context + 1,000 query
rows x 30 features on CPU (and on CUDA when available).

Several weights (``--weights v2=DIR grouping=DIR``) are compared paired: each set of weights
predicts the same folds with the same seed and the same baselines, and a table gives each
set's ROC-AUC minus the first set's per dataset (mean over folds), its median over datasets
with a 95 % bootstrap interval, the two-sided Wilcoxon signed-rank p over datasets (Pratt's
zeros) and wins / ties / losses. ``--csv`` writes every fold's scores.
``--categorical-max-levels 0 3`` compares the ensemble's category shuffles the same way (one
column per value and weights; 0 = off).

Usage::

    python benchmarks/zero_shot.py [--datasets diabetes wdbc ...] [--folds 5] [--threads 1]
    python benchmarks/zero_shot.py --weights v2=runs/v2-weights grouping=runs/g-weights
    python benchmarks/zero_shot.py --datasets-dir ~/my-tables   # every CSV there (column target)
    python benchmarks/zero_shot.py --categorical-max-levels 0 3
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._suite import (  # noqa: E402
    DATASETS_DIR,
    check_weights,
    dataset_names,
    folds,
    format_table,
    load_suite,
    parse_weights,
)

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
    weights: str | None | dict[str, str | None] = None,
    fold_scores: list[dict[str, object]] | None = None,
    datasets_dir: Path = DATASETS_DIR,
    categorical_max_levels: Sequence[int] = (),
) -> list[dict[str, object]]:
    """One row per dataset: the mean ROC-AUC of every model over the folds, and TabFM's time
    per fold (all weights together). ``weights`` is one directory (column ``TabFM``) or
    ``{column: directory}``; every fold's scores are appended to ``fold_scores`` if given.
    ``names`` are CSV files of ``datasets_dir`` (all of them by default). Each value of
    ``categorical_max_levels`` gives every weights a column ``NAME levels=N`` predicting with
    that setting (none: the classifier's default, one column per weights)."""
    from tabfm import TabFMClassifier, roc_auc

    models = weights if isinstance(weights, dict) else {"TabFM": weights}
    # {column: (weights directory, classifier options)}
    variants: dict[str, tuple[str | None, dict[str, Any]]] = {
        column: (directory, {}) for column, directory in models.items()
    }
    if categorical_max_levels:
        variants = {
            f"{column} levels={n}": (directory, {"categorical_max_levels": n})
            for column, directory in models.items()
            for n in categorical_max_levels
        }
    rows: list[dict[str, object]] = []
    for dataset in load_suite(names, seed=seed, datasets_dir=datasets_dir):
        scores: dict[str, list[float]] = {name: [] for name in (*variants, *BASELINES)}
        tabfm_seconds = 0.0
        for fold, train, test in folds(dataset.y, n_folds, seed):
            X_train, X_test = dataset.X.iloc[train], dataset.X.iloc[test]
            y_train, y_test = dataset.y.iloc[train], dataset.y.iloc[test]
            for column, (directory, options) in variants.items():
                started = time.perf_counter()
                model = TabFMClassifier(
                    directory,
                    n_estimators=n_estimators,
                    device=device,
                    random_state=seed,
                    **options,
                )
                proba = model.fit(X_train, y_train).predict_proba(X_test)
                tabfm_seconds += time.perf_counter() - started
                scores[column].append(roc_auc(y_test, proba, model.classes_))
            for name in BASELINES:
                baseline = make_baseline(name, dataset.X, seed).fit(X_train, y_train)
                proba = baseline.predict_proba(X_test)
                scores[name].append(roc_auc(y_test, proba, baseline.classes_))
            if fold_scores is not None:
                fold_scores.append(
                    {"dataset": dataset.name, "fold": fold}
                    | {name: values[-1] for name, values in scores.items()}
                )
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
    for key in list(rows[0])[4:]:
        mean[key] = float(np.mean([float(row[key]) for row in rows]))  # type: ignore[arg-type]
    return mean


def paired_rows(rows: list[dict[str, object]], columns: list[str]) -> list[dict[str, object]]:
    """Each of ``columns[1:]`` minus ``columns[0]`` in ROC-AUC points (x 100), paired per dataset
    (each row is one dataset's mean over the same folds), by the benchmark's dataset-level
    statistics (:func:`bench.paired_comparison`): median over datasets with a 95 %
    percentile-bootstrap interval (2,000 resamples, seed 0), the two-sided Wilcoxon signed-rank
    p (Pratt's zeros; 1 when every difference is 0) and wins / ties / losses; and the mean."""
    from bench import paired_comparison, paired_differences

    reference = columns[0]
    scores = pd.DataFrame(
        {"dataset": index, "split": "cv", "fold": 0, "method": column,
         "normalized_roc_auc": 100 * float(row[column])}  # type: ignore[arg-type]
        for index, row in enumerate(rows)
        for column in columns
    )  # fmt: skip
    table = paired_comparison(scores, columns, reference)
    return [
        {
            "comparison": f"{compared.method} - {reference}",
            "datasets": compared.datasets,
            "mean (pp)": float(paired_differences(scores, compared.method, reference).mean()),
            "median (pp)": compared.median_diff,
            "95% CI": f"[{compared.ci_low:+.3f}, {compared.ci_high:+.3f}]",
            "Wilcoxon p": compared.wilcoxon_p,
            "wins/ties/losses": f"{compared.wins}/{compared.ties}/{compared.losses}",
        }
        for compared in table.itertuples()
    ]


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


def _datasets_problem(directory: Path, names: list[str] | None) -> str | None:
    """What is wrong with ``--datasets-dir`` / ``--datasets``, in one line, else ``None``."""
    if not directory.is_dir():
        return f"--datasets-dir: no such folder: {str(directory)!r}"
    available = dataset_names(directory)
    if not available:
        return f"--datasets-dir: no CSV files in {str(directory)!r}"
    missing = sorted(set(names or ()) - set(available))
    if missing:
        return f"--datasets: not in {str(directory)!r}: {', '.join(missing)}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=None, help="default: all shipped")
    parser.add_argument(
        "--datasets-dir",
        type=Path,
        default=DATASETS_DIR,
        help="folder of CSV datasets with a `target` column (default: the shipped datasets/)",
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-estimators", type=int, default=4)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--weights",
        nargs="+",
        default=None,
        metavar="[NAME=]DIR",
        help="weights directory (default: shipped); several are compared paired, the first as "
        "the reference",
    )
    parser.add_argument("--csv", type=Path, default=None, help="write every fold's scores here")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument(
        "--categorical-max-levels",
        nargs="+",
        type=int,
        default=[],
        metavar="N",
        help="compare the ensemble's category shuffles at these settings (0 = off; default: "
        "the classifier's default only)",
    )
    args = parser.parse_args(argv)

    import torch

    from causalmix import CausalMixError
    from tabfm import resolve_device, shipped_weights_dir

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        models = parse_weights(args.weights)
        check_weights(models)
    except ValueError as error:
        parser.error(str(error))
    problem = _datasets_problem(args.datasets_dir, args.datasets)
    if problem:
        parser.error(problem)
    bad = [n for n in args.categorical_max_levels if n < 0]
    if bad:
        parser.error(f"--categorical-max-levels must be >= 0, but got {bad[0]}")
    shipped = str(shipped_weights_dir())
    shown = {column: directory or shipped for column, directory in models.items()}
    print(f"weights: {shown}; torch threads: {torch.get_num_threads()}")
    print(f"protocol: <= 1000 rows, <= 100 features, {args.folds}-fold stratified CV, ROC-AUC\n")
    device = str(resolve_device(args.device))
    fold_scores: list[dict[str, object]] = []
    try:
        rows = evaluate_suite(
            args.datasets,
            args.folds,
            args.seed,
            args.n_estimators,
            device,
            log=lambda line: print(line, flush=True),
            weights=models,
            fold_scores=fold_scores,
            datasets_dir=args.datasets_dir,
            categorical_max_levels=args.categorical_max_levels,
        )
    except CausalMixError as error:  # a table that cannot be read: no target column, ...
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table([*rows, mean_row(rows)]))
    if args.csv is not None:
        pd.DataFrame(fold_scores).to_csv(args.csv, index=False)
    columns = list(rows[0])[4 : -1 - len(BASELINES)]  # the TabFM columns, in order
    if len(columns) > 1:
        print(f"\nPaired per dataset, ROC-AUC points against {columns[0]}:\n")
        print(format_table(paired_rows(rows, columns)))
        print("\nPaired per dataset, ROC-AUC points, each TabFM against RandomForest:\n")
        print(format_table(paired_rows(rows, ["RandomForest", *columns])))
    if not args.skip_timing:
        print("\nInference, 1,000 context + 1,000 query rows x 30 features:\n")
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        timings = [
            inference_timing(d, args.n_estimators, directory) | {"weights": column}
            for column, directory in models.items()
            for d in devices
        ]
        print(format_table(timings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
