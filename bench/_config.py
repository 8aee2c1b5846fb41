"""The benchmark's settings (:class:`BenchConfig`), its protocol file, and what a run returns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import _defaults as defaults
from bench._errors import BenchError
from bench._methods import CTGAN_METHODS, METHODS
from bench._store import (
    RunKey,
    write_atomic,
)
from bench._suite import (
    parse_split,
)

if TYPE_CHECKING:
    from search_spaces import Portfolio

__all__ = [
    "BASELINE",
    "PROTOCOL_FILE",
    "BenchConfig",
    "BenchResult",
    "check_ctgan",
    "check_protocol",
    "ctgan_params",
    "load_bench_portfolio",
    "protocol",
]

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
        portfolio: Portfolio of each tuned study (a shipped name, a YAML path or ``"none"``);
            on a dataset it was learned on, the one learned without that dataset.
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
        categorical_max_levels: Whole-number columns with 2 to this many distinct values are
            categories whose codes the backend's ensemble and fine-tuning shuffle (``0``:
            none; ``None``: the backend's default; TabFM only).
        storage: Storage URL of the studies (default: ``sqlite:///OUT/studies.db``).
        max_rows: Rows per dataset at most (stratified subsample).
        max_features: Features per dataset at most (seeded random subset).
        valid_fraction: Share of each training part held out for early stopping.
        threads: Torch CPU threads for this process (``None``: torch's default). One thread
            is often fastest on a shared machine.
        command: The command line, for the summary.
        shard: ``(i, n)``: compute only every n-th (dataset, outer fold) pair, starting at the
            i-th (1-based), so that n processes or machines share one benchmark; each writes
            its own ``out``, and ``--report-only`` reports their merged ``runs/``. ``None``:
            every pair. Not part of the protocol: shards of one benchmark share it.
        report_only: Compute nothing: rewrite ``results.csv``, ``summary.md`` and the plots
            from the runs stored in ``out`` (for example after copying in the run files of
            benchmarks with the same protocol that ran in parallel).
    """

    out: str
    datasets: list[str] | None = None
    data_dir: str | None = None
    methods: tuple[str, ...] = tuple(METHODS)
    folds: int = defaults.FOLDS
    split: str = defaults.SPLIT
    trials: int = defaults.TRIALS
    inner_folds: int = defaults.INNER_FOLDS
    space: str = defaults.TUNED_SPACE
    portfolio: str = defaults.PORTFOLIO
    fixed_space: str = defaults.FIXED_SPACE
    overrides: dict[str, Any] = field(default_factory=dict)
    ctgan_epochs: int = defaults.CTGAN_EPOCHS
    ctgan_batch_size: int = defaults.CTGAN_BATCH_SIZE
    target: str = "target"
    seed: int = 0
    device: str = "auto"
    backend: str = "tabfm"
    weights: str | None = None
    categorical_max_levels: int | None = None
    storage: str | None = None
    max_rows: int = defaults.MAX_ROWS
    max_features: int = defaults.MAX_FEATURES
    valid_fraction: float = 0.2
    threads: int | None = None
    command: str | None = None
    shard: tuple[int, int] | None = None
    report_only: bool = False

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
        if self.categorical_max_levels is not None:
            from tabfm._classifier import check_categorical_max_levels

            check_categorical_max_levels(self.categorical_max_levels)
        if not 0.0 < self.valid_fraction < 0.5:
            raise BenchError(
                "`0 < valid_fraction < 0.5` must hold, but got "
                f"valid_fraction={self.valid_fraction}."
            )
        if self.threads is not None and (
            not isinstance(self.threads, int) or isinstance(self.threads, bool) or self.threads < 1
        ):
            raise BenchError(f"`threads >= 1` must hold, but got threads={self.threads!r}.")
        if self.shard is not None:
            index, count = self.shard
            if not 1 <= index <= count:
                raise BenchError(
                    f"`1 <= i <= n` must hold for shard i/n, but got {index}/{count}."
                )
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


def load_bench_portfolio(config: BenchConfig) -> Portfolio | None:
    """The tuned studies' portfolio (``None`` for ``"none"``)."""
    from search_spaces import load_portfolio

    return None if config.portfolio == "none" else load_portfolio(config.portfolio)


def _portfolio_protocol(config: BenchConfig) -> dict[str, Any] | None:
    portfolio = load_bench_portfolio(config)
    if portfolio is None:
        return None
    return {
        "name": portfolio.name,
        "configs": dict(portfolio.full_configs()),
        "leave_one_dataset_out": portfolio.leave_one_dataset_out,
    }


def ctgan_params(config: BenchConfig) -> dict[str, Any]:
    return {"epochs": config.ctgan_epochs, "batch_size": config.ctgan_batch_size}


def _weights_sha256(config: BenchConfig) -> str | None:
    if config.backend != "tabfm":
        return None  # other backends' weights are not one file
    from tabfm import weights_sha256

    return weights_sha256(config.weights)


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
        # The weights' content: a path or a default says nothing when the file changes.
        "weights_sha256": _weights_sha256(config),
        # Absent from protocols written before it existed: None there, the default.
        "categorical_max_levels": config.categorical_max_levels,
        "fixed_space": config.fixed_space,
        "fixed_config": _fixed_config(config),
        "tuned_space": _tuned_space(config),
        "trials": config.trials,
        "inner_folds": config.inner_folds,
        "portfolio": _portfolio_protocol(config),
        "ctgan": ctgan_params(config),
    }
    return json.loads(json.dumps(values))


def check_protocol(out: Path, current: dict[str, Any]) -> None:
    path = out / PROTOCOL_FILE
    if not path.exists():
        write_atomic(path, json.dumps(current, indent=1) + "\n")
        return
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BenchError(f"The benchmark protocol file is unreadable: {str(path)!r} ({e}).") from e
    if isinstance(stored.get("fixed_config"), dict):
        # A parameter added since the benchmark started runs at its default, which is what the
        # stored runs used: absent from the stored config means that default.
        from search_spaces import default_config

        stored["fixed_config"] = {**default_config(), **stored["fixed_config"]}
    changed = sorted(k for k in set(stored) | set(current) if stored.get(k) != current.get(k))
    if changed:
        raise BenchError(
            f"The benchmark in {str(out)!r} was run with a different {', '.join(changed)}; "
            "resume it with the same settings or choose a new --out."
        )


def check_ctgan(config: BenchConfig) -> None:
    if not any(m in CTGAN_METHODS for m in config.methods):
        return
    try:
        import ctgan  # noqa: F401
    except ImportError as e:
        raise BenchError(
            f"Methods {[m for m in config.methods if m in CTGAN_METHODS]} need the optional "
            f"`ctgan` package ({e}); install it or leave those methods out."
        ) from e
