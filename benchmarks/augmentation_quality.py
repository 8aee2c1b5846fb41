"""How fast and how faithful is causal augmentation? (prints tables, not a test)

For each shipped dataset (subsampled by :func:`benchmarks._suite.load_suite`), a stratified
2/3 : 1/3 split: the augmenter is fitted on the training part and draws as many synthetic rows,
first with an empty cache (cold), then again with a new augmenter on the same cache (warm).
The synthetic rows are compared with two simple baselines that draw the same number of rows:

- ``marginals``: every column (the target included) resampled independently;
- ``copula``: a Gaussian copula: normal scores of every column, their correlation, then
  multivariate normal draws mapped back through each column's empirical quantiles.

Metrics (on the columns encoded as numbers: categories as level indices):

- ``corr``: mean absolute difference between the real and the synthetic correlation matrices
  (features and target), lower is better;
- ``disc``: cross-validated ROC-AUC of a gradient-boosting discriminator telling real training
  rows from synthetic ones, 0.5 is best;
- ``tstr``: ROC-AUC on the real test part of a gradient-boosting classifier trained on the
  synthetic rows only (``trtr``: trained on the real training part, for reference);
- ``ccd``: class-conditional distance, lower is better: per feature and class, the difference of
  the real and synthetic class-conditional means in units of the feature's real standard
  deviation (numeric features), or the total variation distance of the class-conditional level
  frequencies (nominal features), averaged over (feature, class) pairs; a class the synthetic
  rows lack counts 1. A relation between a feature and one class that a method loses (a feature
  that marks only the middle one of three classes) shows here, even where correlations miss it.

Usage::

    python benchmarks/augmentation_quality.py [--datasets diabetes car] [--n-bootstrap 20]
        [--n-dags 8] [--indep-test auto] [--seed 0] [--n-jobs 1] [--perf-only | --no-perf]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # also runnable as `python benchmarks/augmentation_quality.py`

from benchmarks._suite import dataset_names, folds, format_table, load_suite  # noqa: E402
from causalmix import CausalAugmenter, clear_memo, load_dataset  # noqa: E402

Encoded = tuple[np.ndarray, np.ndarray]  # (features with NaN (n, d), class codes (n,))


class Encoder:
    """Numbers for every column: numeric as is, others as level indices of the real data."""

    def __init__(self, X: pd.DataFrame, y: pd.Series) -> None:
        self.levels = {
            column: list(pd.unique(X[column].dropna()))
            for column in X.columns
            if not _is_number(X[column])
        }
        self.classes = list(pd.unique(y))

    def __call__(self, X: pd.DataFrame, y: pd.Series) -> Encoded:
        columns = []
        for column in X.columns:
            if column in self.levels:
                lookup = {level: i for i, level in enumerate(self.levels[column])}
                values = [lookup.get(v, np.nan) if pd.notna(v) else np.nan for v in X[column]]
                columns.append(np.asarray(values, dtype=float))
            else:
                columns.append(X[column].to_numpy(dtype=float, na_value=np.nan))
        lookup = {label: i for i, label in enumerate(self.classes)}
        codes = np.array([lookup[label] for label in y], dtype=np.int64)
        return np.column_stack(columns), codes


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)


def independent_marginals(real: Encoded, n: int, seed: int) -> Encoded:
    rng = np.random.default_rng(seed)
    features, codes = real
    columns = [rng.choice(features[:, j], size=n) for j in range(features.shape[1])]
    return np.column_stack(columns), rng.choice(codes, size=n)


def gaussian_copula(real: Encoded, n: int, seed: int) -> Encoded:
    rng = np.random.default_rng(seed)
    features, codes = real
    table = np.column_stack([features, codes.astype(float)])
    scores = np.empty_like(table)
    for j in range(table.shape[1]):
        column = table[:, j]
        observed = ~np.isnan(column)
        filled = np.where(observed, column, rng.choice(column[observed], size=len(column)))
        # Random tie-breaking keeps discrete columns from collapsing onto a few scores.
        order = np.lexsort((rng.random(len(filled)), filled))
        ranks = np.empty(len(filled))
        ranks[order] = np.arange(1, len(filled) + 1)
        scores[:, j] = norm.ppf(ranks / (len(filled) + 1))
    correlation = np.corrcoef(scores.T) + 1e-6 * np.eye(table.shape[1])
    draws = norm.cdf(rng.multivariate_normal(np.zeros(table.shape[1]), correlation, size=n))
    synthetic = np.empty((n, table.shape[1]))
    for j in range(table.shape[1]):
        column = table[:, j]
        observed = column[~np.isnan(column)]
        synthetic[:, j] = np.quantile(observed, draws[:, j], method="inverted_cdf")
        missing_rate = 1.0 - len(observed) / len(column)
        if j < features.shape[1]:
            synthetic[rng.random(n) < missing_rate, j] = np.nan
    return synthetic[:, :-1], synthetic[:, -1].astype(np.int64)


def correlation_distance(real: Encoded, synthetic: Encoded) -> float:
    medians = np.nanmedian(real[0], axis=0)

    def correlation(data: Encoded) -> np.ndarray:
        features = np.where(np.isnan(data[0]), medians, data[0])
        table = np.column_stack([features, data[1]])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(np.corrcoef(table.T), nan=0.0)

    difference = np.abs(correlation(real) - correlation(synthetic))
    off_diagonal = ~np.eye(len(difference), dtype=bool)
    return float(difference[off_diagonal].mean())


def class_conditional_distance(real: Encoded, synthetic: Encoded, nominal: list[bool]) -> float:
    """Mean class-conditional distance over (feature, class) pairs (module docstring)."""
    features, codes = real
    distances = []
    for j in range(features.shape[1]):
        column = features[:, j]
        scale = np.nanstd(column)
        for label in np.unique(codes):
            values = column[codes == label]
            values = values[~np.isnan(values)]
            if len(values) < 5 or (not nominal[j] and not scale > 0):
                continue
            other = synthetic[0][synthetic[1] == label, j]
            other = other[~np.isnan(other)]
            if len(other) == 0:
                distances.append(1.0)
            elif nominal[j]:
                levels = np.union1d(values, other)
                p = np.array([np.mean(values == v) for v in levels])
                q = np.array([np.mean(other == v) for v in levels])
                distances.append(0.5 * float(np.abs(p - q).sum()))
            else:
                distances.append(abs(float(values.mean() - other.mean())) / float(scale))
    return float(np.mean(distances)) if distances else float("nan")


def discriminator_auc(real: Encoded, synthetic: Encoded, seed: int) -> float:
    rows = np.vstack(
        [np.column_stack([real[0], real[1]]), np.column_stack([synthetic[0], synthetic[1]])]
    )
    is_synthetic = np.r_[np.zeros(len(real[1])), np.ones(len(synthetic[1]))]
    model = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    splitter = StratifiedKFold(5, shuffle=True, random_state=seed)
    scores = cross_val_predict(model, rows, is_synthetic, cv=splitter, method="predict_proba")
    return float(roc_auc_score(is_synthetic, scores[:, 1]))


def train_test_auc(train: Encoded, test: Encoded, n_classes: int, seed: int) -> float:
    if len(np.unique(train[1])) < 2:
        return 0.5
    model = HistGradientBoostingClassifier(max_iter=100, random_state=seed).fit(*train)
    probabilities = np.zeros((len(test[1]), n_classes))
    probabilities[:, model.classes_] = model.predict_proba(test[0])
    present = np.unique(test[1])
    if n_classes == 2:
        return float(roc_auc_score(test[1], probabilities[:, 1]))
    probabilities = probabilities[:, present]
    probabilities /= np.clip(probabilities.sum(axis=1, keepdims=True), 1e-12, None)
    return float(roc_auc_score(test[1], probabilities, multi_class="ovr", labels=present))


def evaluate(
    name: str, X: pd.DataFrame, y: pd.Series, args: argparse.Namespace
) -> tuple[dict[str, object], dict[str, object]]:
    _, train, test = next(folds(y, 3, args.seed))
    # A column observed in a handful of rows (anneal's "bc": 1 of 898) can be empty in the
    # training part; the augmenter rejects all-missing columns, so drop them from both parts.
    X = X.loc[:, X.iloc[train].notna().any()]
    X_train, y_train = X.iloc[train].reset_index(drop=True), y.iloc[train].reset_index(drop=True)
    X_test, y_test = X.iloc[test].reset_index(drop=True), y.iloc[test].reset_index(drop=True)
    settings = {
        "discovery": args.discovery,
        "indep_test": args.indep_test,
        "n_bootstrap": args.n_bootstrap,
        "n_dags": args.n_dags,
        "mechanism_quality": args.mechanism_quality,
        "random_state": args.seed,
        "n_jobs": args.n_jobs,
    }
    with tempfile.TemporaryDirectory() as cache:
        clear_memo()
        cold = CausalAugmenter(cache=cache, **settings).fit(X_train, y_train)
        X_synthetic, y_synthetic = cold.sample(len(X_train))
        started = time.perf_counter()
        CausalAugmenter(cache=cache, **settings).fit(X_train, y_train).sample(len(X_train))
        warm_seconds = time.perf_counter() - started
    timing = {
        "dataset": name,
        "rows": len(X_train),
        "nodes": len(cold.edge_probabilities_),
        "test": cold.indep_test_,
        "edges": float(np.mean(cold.n_edges_)),
        "discovery_s": cold.timings_["discovery"],
        "scm_fit_s": cold.timings_["scm_fit"],
        "sampling_s": cold.timings_["sampling"],
        "warm_total_s": warm_seconds,
    }
    encode = Encoder(X_train, y_train)
    real, held_out = encode(X_train, y_train), encode(X_test, y_test)
    candidates: dict[str, Callable[[], Encoded]] = {
        "scm": lambda: encode(X_synthetic, y_synthetic),
        "marg": lambda: independent_marginals(real, len(X_train), args.seed),
        "copula": lambda: gaussian_copula(real, len(X_train), args.seed),
    }
    quality: dict[str, object] = {"dataset": name}
    results = {key: make() for key, make in candidates.items()}
    n_classes = len(encode.classes)
    nominal = [column in encode.levels for column in X_train.columns]
    with threadpool_limits(limits=1):
        for metric, function in (
            ("ccd", lambda s: class_conditional_distance(real, s, nominal)),
            ("corr", lambda s: correlation_distance(real, s)),
            ("disc", lambda s: discriminator_auc(real, s, args.seed)),
            ("tstr", lambda s: train_test_auc(s, held_out, n_classes, args.seed)),
        ):
            for key, synthetic in results.items():
                quality[f"{metric}_{key}"] = function(synthetic)
        quality["trtr"] = train_test_auc(real, held_out, n_classes, args.seed)
    return timing, quality


_PERF_CHILD = textwrap.dedent(
    """
    import json, sys, time
    started = time.perf_counter()
    sys.path.insert(0, {root!r})
    from causalmix import CausalAugmenter, load_dataset
    X, y = load_dataset("sklearn:breast_cancer")
    augmenter = CausalAugmenter(cache={cache!r}, random_state={seed}, n_jobs={n_jobs})
    augmenter.fit(X, y).sample(len(X))
    print(json.dumps({{"seconds": time.perf_counter() - started,
                      "misses": augmenter.cache_misses_}}))
    """
)


def perf_line(args: argparse.Namespace) -> str:
    """The performance goal: sklearn:breast_cancer, 20 bootstraps, 8 DAGs, linear."""
    X, y = load_dataset("sklearn:breast_cancer")
    settings = {"random_state": args.seed, "n_jobs": args.n_jobs}
    with tempfile.TemporaryDirectory() as cache:
        clear_memo()
        started = time.perf_counter()
        cold = CausalAugmenter(cache=cache, **settings).fit(X, y)
        cold.sample(len(X))
        cold_seconds = time.perf_counter() - started
        started = time.perf_counter()
        warm = CausalAugmenter(cache=cache, **settings).fit(X, y)
        warm.sample(len(X))
        warm_seconds = time.perf_counter() - started
        child = _PERF_CHILD.format(
            root=str(REPO_ROOT), cache=cache, seed=args.seed, n_jobs=args.n_jobs
        )
        output = subprocess.run(
            [sys.executable, "-c", child], capture_output=True, text=True, check=True
        ).stdout
        other_process = json.loads(output.strip().splitlines()[-1])
    timings = ", ".join(f"{k} {v:.2f}" for k, v in cold.timings_.items())
    return (
        f"sklearn:breast_cancer ({X.shape[0]} x {X.shape[1]}), n_bootstrap=20, n_dags=8, "
        f"linear, n_jobs={args.n_jobs}: cold {cold_seconds:.1f} s ({timings}); "
        f"warm, same process {warm_seconds:.2f} s (cache misses {warm.cache_misses_}); "
        f"warm, new process {other_process['seconds']:.2f} s including imports "
        f"(cache misses {other_process['misses']}); edges per DAG {cold.n_edges_}."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=None, help="default: all shipped")
    parser.add_argument("--n-bootstrap", type=int, default=20)
    parser.add_argument("--n-dags", type=int, default=8)
    parser.add_argument("--discovery", default="pc")
    parser.add_argument("--indep-test", default="auto", help="auto, fisherz, dg, chisq, ...")
    parser.add_argument("--mechanism-quality", default="linear")
    parser.add_argument("--max-rows", type=int, default=1000)
    parser.add_argument("--max-features", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--perf-only", action="store_true", help="only the breast_cancer line")
    group.add_argument("--no-perf", action="store_true", help="skip the breast_cancer line")
    args = parser.parse_args(argv)

    if not args.no_perf:
        print(perf_line(args), flush=True)
    if args.perf_only:
        return
    names = args.datasets or dataset_names()
    timings, qualities = [], []
    for dataset in load_suite(names, args.max_rows, args.max_features, args.seed):
        timing, quality = evaluate(dataset.name, dataset.X, dataset.y, args)
        timings.append(timing)
        qualities.append(quality)
        print(f"done: {dataset.name} ({timing['discovery_s']:.1f} s discovery)", flush=True)
    print()
    print(format_table(timings, floatfmt=".2f"))
    print()
    print(format_table(qualities))
    closer = sum(q["corr_scm"] < q["corr_marg"] for q in qualities)  # type: ignore[operator]
    conditional = sum(q["ccd_scm"] < q["ccd_marg"] for q in qualities)  # type: ignore[operator]
    harder = sum(
        abs(q["disc_scm"] - 0.5) < abs(q["disc_marg"] - 0.5)  # type: ignore[operator]
        for q in qualities
    )
    print(
        f"\nSCM closer to real than independent marginals: correlations on {closer} of "
        f"{len(qualities)} datasets, class-conditional distance on {conditional}, "
        f"discriminator on {harder} of {len(qualities)}."
    )


if __name__ == "__main__":
    main()
