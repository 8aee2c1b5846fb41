"""``causalmix bench``: every (dataset, outer fold, method), resumable, with a summary and a plot.

The benchmark reproduces the CausalMixFT study's experiment on any suite of classification
tables: per outer fold, ``zero_shot`` runs first (every other method is normalized against it
on the same fold), then each requested method (see :mod:`bench._methods`). Finished runs
are stored one by one (see :mod:`bench._store`), so an interrupted benchmark continues
where it stopped. The output directory holds:

- ``results.csv``: one row per run;
- ``summary.md``: per-method statistics, paired differences with intervals and p-values, mean
  ranks, the goals, definitions and the protocol;
- ``normalized_auc.png``: a box plot of the normalized ROC-AUC per method;
- ``critical_difference.png``: the mean ranks with Nemenyi's critical difference;
- ``bench.json``: the protocol (a resumed benchmark must use the same);
- ``runs/``: one JSON file per finished run; ``tuned/``: each study's training rows and best
  config; ``studies.db`` (unless ``storage`` is given) and ``.causalmix_cache``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench._config import (
    BASELINE,
    BenchConfig,
    BenchResult,
    check_ctgan,
    check_protocol,
    ctgan_params,
    load_bench_portfolio,
    protocol,
)
from bench._errors import BenchError
from bench._methods import FoldData, MethodContext, run_method
from bench._report import Summary
from bench._store import (
    RunKey,
    RunStore,
    expected_calibration_error,
    multiclass_log_loss,
    write_atomic,
)
from bench._suite import (
    MIN_CLASS_ROWS,
    BenchDataset,
    OuterFold,
    load_suite,
    make_splits,
    resolve_sources,
)
from tuner._errors import TunerError

__all__ = ["run_bench"]

_logger = logging.getLogger("causalmix")


def run_bench(config: BenchConfig) -> BenchResult:
    """Run (or resume) a benchmark and write its results, summary and plot.

    Raises:
        BenchError: For bad settings, or a resumed benchmark with other settings or data.
        CausalMixError / SearchSpaceError / StorageError / TabFMError: For bad data, spaces,
            storage URLs or weights.
    """
    from causalmix import DirectoryCache
    from storage import resolve_storage_url
    from tabfm import get_backend

    out = Path(config.out).expanduser().resolve()
    sources = resolve_sources(config.datasets, config.data_dir)
    current = protocol(config)
    check_ctgan(config)
    storage = resolve_storage_url(config.storage or f"sqlite:///{out / 'studies.db'}")
    suite = load_suite(
        sources,
        config.target,
        max_rows=config.max_rows,
        max_features=config.max_features,
        seed=config.seed,
    )
    folds = {
        dataset.name: make_splits(
            dataset,
            config.split,
            config.folds,
            config.seed,
            max(MIN_CLASS_ROWS, config.inner_folds + 2),
        )
        for dataset in suite
    }
    out.mkdir(parents=True, exist_ok=True)
    check_protocol(out, current)
    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)
    tuned_space_path = out / "tuned_space.json"
    write_atomic(tuned_space_path, json.dumps(current["tuned_space"], indent=1) + "\n")
    store = RunStore(out)
    backend = get_backend(
        config.backend,
        weights=config.weights,
        device=config.device,
        categorical_max_levels=config.categorical_max_levels,
    )
    cache_dir = out / ".causalmix_cache"
    context = MethodContext(
        backend=backend,
        fixed_config=current["fixed_config"],
        ctgan_params=ctgan_params(config) | {"device": _ctgan_device(config.device)},
        valid_fraction=config.valid_fraction,
        device=config.device,
        cache=DirectoryCache(cache_dir),
        cache_dir=str(cache_dir),
        target=config.target,
        tuned_space=str(tuned_space_path),
        trials=config.trials,
        inner_folds=config.inner_folds,
        storage=storage,
        work_dir=out,
        backend_name=config.backend,
        weights=config.weights,
        categorical_max_levels=config.categorical_max_levels,
        portfolio=load_bench_portfolio(config),
    )
    runner = _Runner(config, store, context)
    if config.report_only:
        store.write_csv()
    pairs = [(dataset, fold) for dataset in suite for fold in folds[dataset.name]]
    if config.shard is not None:
        index, count = config.shard
        pairs = pairs[index - 1 :: count]
    try:
        for dataset, fold in pairs:
            if not config.report_only:
                runner.run_fold(dataset, fold)
    finally:
        summary = _report(config, store, suite, backend.device_name, runner.failures)
    return BenchResult(
        out, runner.computed, runner.skipped, runner.failures, summary.text, summary.overview
    )


def _ctgan_device(device: str) -> str:
    return "cpu" if device == "cpu" else "auto"


class _Runner:
    """Runs the missing (fold, method) pairs and stores them."""

    def __init__(self, config: BenchConfig, store: RunStore, context: MethodContext) -> None:
        self.config = config
        self.store = store
        self.context = context
        self.computed: list[RunKey] = []
        self.skipped: list[RunKey] = []
        self.failures: list[str] = []

    def run_fold(self, dataset: BenchDataset, fold: OuterFold) -> None:
        from tuner._settings import dataset_fingerprint

        config = self.config
        X, y = dataset.X, dataset.y
        data = FoldData(
            dataset=dataset.name,
            split=config.split,
            fold=fold.fold,
            seed=config.seed + fold.fold,
            X_train=X.iloc[fold.train].reset_index(drop=True),
            y_train=y.iloc[fold.train].reset_index(drop=True),
            X_test=X.iloc[fold.test].reset_index(drop=True),
            y_test=y.iloc[fold.test].reset_index(drop=True),
            dataset_fingerprint=dataset.fingerprint,
        )
        fingerprint = dataset_fingerprint(data.X_train, data.y_train)[:16]
        for method in config.run_methods:
            key: RunKey = (dataset.name, config.split, fold.fold, method)
            stored = self.store.get(key)
            if stored is not None:
                if stored.get("data_fingerprint") != fingerprint:
                    raise BenchError(
                        f"The training rows of {dataset.name!r} fold {fold.fold} differ from "
                        f"the stored run's (fingerprint {fingerprint} != "
                        f"{stored.get('data_fingerprint')}); use a new --out."
                    )
                self.skipped.append(key)
                continue
            baseline = self.store.get((dataset.name, config.split, fold.fold, BASELINE))
            if method != BASELINE and baseline is None:
                continue  # the baseline failed: nothing to normalize against
            self._run(key, data, fold, fingerprint, baseline)

    def _run(
        self,
        key: RunKey,
        data: FoldData,
        fold: OuterFold,
        fingerprint: str,
        baseline: dict[str, Any] | None,
    ) -> None:
        from tabfm import normalized_roc_auc, roc_auc

        method = key[3]
        _logger.info(
            "[%s fold %d] %s: training on %d rows...", data.dataset, data.fold, method,
            len(data.y_train),
        )  # fmt: skip
        start = time.perf_counter()
        try:
            output = run_method(method, self.context, data)
        except (KeyboardInterrupt, BenchError, TunerError):
            raise
        except Exception as e:  # noqa: BLE001 - one failed run must not stop the benchmark
            reason = " ".join(str(e).split())[:300] or type(e).__name__
            line = f"{data.dataset} fold {data.fold} {method}: {type(e).__name__}: {reason}"
            _logger.warning("Run failed (it will be retried next time): %s", line)
            _logger.debug("Traceback of the failed run:", exc_info=True)
            self.failures.append(line)
            return
        seconds = time.perf_counter() - start
        auc = float(roc_auc(data.y_test, output.proba, output.classes))
        reference = auc if baseline is None else float(baseline["test_roc_auc"])
        predicted = output.classes[np.argmax(output.proba, axis=1)]
        record: dict[str, Any] = {
            "dataset": data.dataset,
            "split": data.split,
            "fold": data.fold,
            "method": method,
            "test_roc_auc": auc,
            "normalized_roc_auc": float(normalized_roc_auc(auc, reference)),
            "valid_roc_auc": output.valid_roc_auc,
            "valid_test_gap": abs(output.valid_roc_auc - auc) * 100.0,
            "log_loss": multiclass_log_loss(data.y_test, output.proba, output.classes),
            "ece": expected_calibration_error(data.y_test, output.proba, output.classes),
            "accuracy": float(np.mean(predicted == data.y_test.to_numpy())),
            "wall_seconds": round(seconds, 3),
            "device": self.context.backend.device_name,
            "n_train": len(data.y_train),
            "n_test": len(data.y_test),
            "seed": data.seed,
            "domain": fold.description,
            "dropped_classes": ";".join(fold.dropped_classes),
            "data_fingerprint": fingerprint,
            "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
            **output.extra,
        }
        self.store.put(record)
        self.computed.append(key)
        _logger.info(
            "[%s fold %d] %s: ROC-AUC %.4f (%+.2f%% vs zero-shot), ECE %.3f, %.1f s",
            data.dataset, data.fold, method, auc, record["normalized_roc_auc"], record["ece"],
            seconds,
        )  # fmt: skip


def _report(
    config: BenchConfig,
    store: RunStore,
    suite: list[BenchDataset],
    device: str,
    failures: list[str],
) -> Summary:
    from bench._report import plot_normalized_auc, write_summary

    out = Path(config.out).expanduser().resolve()
    frame = store.frame()
    names = {d.name for d in suite}
    frame = frame[
        (frame["split"] == config.split)
        & frame["dataset"].isin(names)
        & frame["method"].isin(config.run_methods)
    ]
    summary_protocol = {
        "datasets": ", ".join(d.name for d in suite),
        "split": config.split,
        "outer folds": 2 if config.split.startswith("shift:") else config.folds,
        "methods": ", ".join(config.run_methods),
        "fixed configuration": f"space `{config.fixed_space}`"
        + (f" with {config.overrides}" if config.overrides else ""),
        "tuned": f"space `{config.space}`, {config.trials} trials, {config.inner_folds} inner "
        "folds, on the outer training rows only",
        "ctgan": f"{config.ctgan_epochs} epochs, batch size {config.ctgan_batch_size}",
        "rows / features per dataset at most": f"{config.max_rows} / {config.max_features}",
        "early-stopping split": f"{config.valid_fraction:g} of each training part",
        "seed": config.seed,
    }
    command = config.command or f"run_bench({_short_repr(config)})"
    summary = write_summary(
        out / "summary.md",
        frame,
        config.run_methods,
        command=command,
        device=device,
        protocol=summary_protocol,
        failures=failures,
    )
    if len(frame):
        title = (
            f"{frame['dataset'].nunique()} datasets, split {config.split}, "
            f"{len(frame)} runs ({device})"
        )
        plot_normalized_auc(out / "normalized_auc.png", frame, config.run_methods, title)
    return summary


def _short_repr(config: BenchConfig) -> str:
    defaults = BenchConfig(out=config.out)
    changed = [
        f"{f.name}={getattr(config, f.name)!r}"
        for f in dataclasses.fields(config)
        if f.name != "command" and getattr(config, f.name) != getattr(defaults, f.name)
    ]
    return ", ".join(changed)
