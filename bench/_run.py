"""``causalmix bench``: every (dataset, outer fold, method), resumable, with a summary and a plot.

The benchmark reproduces the CausalMixFT study's experiment on any suite of classification
tables: per outer fold, ``zero_shot`` runs first (every other method is normalized against it
on the same fold), then each requested method (see :mod:`bench._methods`). Finished runs
are stored one by one (see :mod:`bench._store`), so an interrupted benchmark continues
where it stopped. The output directory holds:

- ``results.csv``: one row per run;
- ``summary.md``: per-method statistics, the goals, definitions and the protocol;
- ``normalized_auc.png``: a box plot of the normalized ROC-AUC per method;
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench._errors import BenchError
from bench._methods import CTGAN_METHODS, METHODS, FoldData, MethodContext, run_method
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
    parse_split,
    resolve_sources,
)
from tuner._errors import TunerError

__all__ = ["BenchConfig", "BenchResult", "run_bench"]

_logger = logging.getLogger("causalmix")

PROTOCOL_FILE = "bench.json"
BASELINE = "zero_shot"


@dataclass
class BenchConfig:
    """Everything a benchmark needs (the CLI flags of ``causalmix bench``).

    Attributes:
        out: Output directory (created; an existing one is resumed).
        datasets: Shipped dataset names (``datasets/NAME.csv``) or ``sklearn:NAME``.
        data_dir: A directory of CSV / Parquet tables instead (each with a ``target`` column).
        methods: Methods to run (``zero_shot`` always runs: it is the baseline).
        folds: Outer folds of a ``kfold`` split (a shift split always has 2).
        split: ``"kfold"`` or ``"shift:COLUMN"``.
        trials: Trials of each ``tuned`` study.
        inner_folds: Inner cross-validation folds of each study.
        space: Search space of ``tuned`` (a shipped name or a YAML path).
        fixed_space: A space that samples nothing: the configuration of the fixed methods
            (``default_ft`` takes it with ``synthetic_ratio = 0``).
        overrides: Parameter values fixed in both the fixed configuration and the tuned space
            (e.g. a smaller fine-tuning budget on CPU).
        ctgan_epochs: CTGAN training epochs.
        ctgan_batch_size: CTGAN batch size (a multiple of 10).
        target: Target column.
        seed: Seed of the subsampling, the outer folds and (plus the fold number) every method.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        backend: Foundation-model backend.
        weights: Local weights of the backend.
        storage: Storage URL of the studies (default: ``sqlite:///OUT/studies.db``).
        max_rows: Rows per dataset at most (stratified subsample).
        max_features: Features per dataset at most (seeded random subset).
        valid_fraction: Share of each training part held out for early stopping.
        threads: Torch CPU threads for this process (``None``: torch's default). One thread
            is often fastest on a shared machine.
        command: The command line, for the summary.
    """

    out: str
    datasets: list[str] | None = None
    data_dir: str | None = None
    methods: tuple[str, ...] = tuple(METHODS)
    folds: int = 5
    split: str = "kfold"
    trials: int = 20
    inner_folds: int = 3
    space: str = "default"
    fixed_space: str = "paper"
    overrides: dict[str, Any] = field(default_factory=dict)
    ctgan_epochs: int = 300
    ctgan_batch_size: int = 500
    target: str = "target"
    seed: int = 0
    device: str = "auto"
    backend: str = "tabfm"
    weights: str | None = None
    storage: str | None = None
    max_rows: int = 1000
    max_features: int = 100
    valid_fraction: float = 0.2
    threads: int | None = None
    command: str | None = None

    def __post_init__(self) -> None:
        self.methods = tuple(self.methods)
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise BenchError(
                f"Unknown or no methods: methods={list(self.methods)!r}; choose from "
                f"{', '.join(METHODS)}."
            )
        for name, minimum in (
            ("folds", 2),
            ("trials", 1),
            ("inner_folds", 2),
            ("ctgan_epochs", 1),
            ("ctgan_batch_size", 10),
            ("max_rows", 20),
            ("max_features", 1),
            ("seed", 0),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise BenchError(f"`{name} >= {minimum}` must hold, but got {name}={value!r}.")
        if not 0.0 < self.valid_fraction < 0.5:
            raise BenchError(
                "`0 < valid_fraction < 0.5` must hold, but got "
                f"valid_fraction={self.valid_fraction}."
            )
        if self.threads is not None and (
            not isinstance(self.threads, int) or isinstance(self.threads, bool) or self.threads < 1
        ):
            raise BenchError(f"`threads >= 1` must hold, but got threads={self.threads!r}.")
        parse_split(self.split)

    @property
    def run_methods(self) -> list[str]:
        """The methods in report order, the baseline first."""
        return [m for m in METHODS if m == BASELINE or m in self.methods]


@dataclass
class BenchResult:
    """What one invocation did.

    Attributes:
        out: The output directory.
        computed: Runs computed by this invocation.
        skipped: Runs found finished and not recomputed.
        failures: One line per run that failed (retried by the next invocation).
        summary: The text of ``summary.md``.
        overview: Its header and per-method table, for a terminal.
    """

    out: Path
    computed: list[RunKey]
    skipped: list[RunKey]
    failures: list[str]
    summary: str
    overview: str


def _fixed_config(config: BenchConfig) -> dict[str, Any]:
    from search_spaces import check_config, load_space

    fixed = load_space(config.fixed_space).fixed_config()
    return check_config(fixed | config.overrides)


def _tuned_space(config: BenchConfig) -> dict[str, Any]:
    from search_spaces import SearchSpace, check_config, load_space

    check_config(config.overrides)
    document = load_space(config.space).to_dict()
    for name, value in config.overrides.items():
        document["params"][name] = value
    return SearchSpace.from_dict(document).to_dict()


def _ctgan_params(config: BenchConfig) -> dict[str, Any]:
    return {"epochs": config.ctgan_epochs, "batch_size": config.ctgan_batch_size}


def protocol(config: BenchConfig) -> dict[str, Any]:
    """What the results depend on; a resumed benchmark must not change it."""
    values: dict[str, Any] = {
        "split": config.split,
        "folds": 2 if config.split.startswith("shift:") else config.folds,
        "seed": config.seed,
        "target": config.target,
        "max_rows": config.max_rows,
        "max_features": config.max_features,
        "valid_fraction": config.valid_fraction,
        "backend": config.backend,
        "weights": str(Path(config.weights).resolve()) if config.weights else None,
        "fixed_space": config.fixed_space,
        "fixed_config": _fixed_config(config),
        "tuned_space": _tuned_space(config),
        "trials": config.trials,
        "inner_folds": config.inner_folds,
        "ctgan": _ctgan_params(config),
    }
    return json.loads(json.dumps(values))


def _check_protocol(out: Path, current: dict[str, Any]) -> None:
    path = out / PROTOCOL_FILE
    if not path.exists():
        write_atomic(path, json.dumps(current, indent=1) + "\n")
        return
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BenchError(f"The benchmark protocol file is unreadable: {str(path)!r} ({e}).") from e
    changed = sorted(k for k in set(stored) | set(current) if stored.get(k) != current.get(k))
    if changed:
        raise BenchError(
            f"The benchmark in {str(out)!r} was run with a different {', '.join(changed)}; "
            "resume it with the same settings or choose a new --out."
        )


def _check_ctgan(config: BenchConfig) -> None:
    if not any(m in CTGAN_METHODS for m in config.methods):
        return
    try:
        import ctgan  # noqa: F401
    except ImportError as e:
        raise BenchError(
            f"Methods {[m for m in config.methods if m in CTGAN_METHODS]} need the optional "
            f"`ctgan` package ({e}); install it or leave those methods out."
        ) from e


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
    _check_ctgan(config)
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
    _check_protocol(out, current)
    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)
    tuned_space_path = out / "tuned_space.json"
    write_atomic(tuned_space_path, json.dumps(current["tuned_space"], indent=1) + "\n")
    store = RunStore(out)
    backend = get_backend(config.backend, weights=config.weights, device=config.device)
    cache_dir = out / ".causalmix_cache"
    context = MethodContext(
        backend=backend,
        fixed_config=current["fixed_config"],
        ctgan_params=_ctgan_params(config) | {"device": _ctgan_device(config.device)},
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
    )
    runner = _Runner(config, store, context)
    try:
        for dataset in suite:
            for fold in folds[dataset.name]:
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
