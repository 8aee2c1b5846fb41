"""``causalmix bench``: run the CausalMixFT study's experiment on a suite of datasets.

The benchmark registers its own verb: ``pyproject.toml`` names this module in the entry-point
group ``causalmix.verbs``, which the CLI (``tuner._cli``) loads, so that the tuning service
never imports the benchmark.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from typing import Any

from bench import _defaults as defaults
from bench._errors import BenchError
from tuner._cmd_common import column_name, non_negative_int, positive_int, seed_value

USER_ERRORS: tuple[type[Exception], ...] = (BenchError,)
"""Bad input to this verb: the CLI prints one line and exits 2."""

_logger = logging.getLogger("causalmix")

_METHOD_NAMES = (
    "zero_shot",
    "default_ft",
    "causalmixft",
    "scm_only",
    "ctgan",
    "ctgan_only",
    "tuned",
)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _override(text: str) -> tuple[str, Any]:
    import yaml

    from search_spaces import load_yaml

    name, separator, raw = text.partition("=")
    if not separator or not name.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = load_yaml(raw)
    except yaml.YAMLError:
        value = raw
    return name.strip(), value


def _shard(text: str) -> tuple[int, int]:
    index, separator, count = text.partition("/")
    try:
        pair = (int(index), int(count))
    except ValueError:
        pair = (0, 0)
    if not separator or not 1 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"expected I/N with 1 <= I <= N, got {text!r}")
    return pair


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark zero-shot, fine-tuning, CausalMixFT, CTGAN and tuning on datasets",
        description="Run every (dataset, outer fold, method) and write results.csv, summary.md "
        "and normalized_auc.png into --out. Runs are resumable: run the same command again "
        "to continue an interrupted benchmark; finished runs are never recomputed.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--datasets",
        nargs="+",
        metavar="NAMES",
        help="shipped dataset names (datasets/NAME.csv) or sklearn:NAME, comma- or "
        "space-separated",
    )
    source.add_argument("--data-dir", help="a directory of CSV / Parquet tables")
    parser.add_argument("--out", required=True, help="output directory (resumed if it exists)")
    parser.add_argument(
        "--methods",
        default=None,
        help=f"comma-separated methods: {', '.join(_METHOD_NAMES)} (default: all; the ctgan "
        "ones only when the optional ctgan package is installed); zero_shot always runs (it "
        "is the baseline)",
    )
    parser.add_argument(
        "--folds",
        type=positive_int,
        default=defaults.FOLDS,
        help=f"outer folds (default {defaults.FOLDS})",
    )
    parser.add_argument(
        "--split",
        default=defaults.SPLIT,
        help="kfold, or shift:COLUMN to train on one domain of COLUMN (below / above its "
        "median, or two groups of its categories) and test on the other",
    )
    parser.add_argument(
        "--trials",
        type=positive_int,
        default=defaults.TRIALS,
        help=f"trials of each tuned study (default {defaults.TRIALS})",
    )
    parser.add_argument(
        "--inner-folds",
        type=positive_int,
        default=defaults.INNER_FOLDS,
        help=f"inner folds of each tuned study (default {defaults.INNER_FOLDS})",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument(
        "--storage",
        default=None,
        help="storage URL of the tuned studies (default: sqlite:///OUT/studies.db)",
    )
    parser.add_argument("--seed", type=seed_value, default=0)
    parser.add_argument(
        "--target", type=column_name, default="target", help="target column (default: target)"
    )
    advanced = parser.add_argument_group("advanced")
    advanced.add_argument("--space", default=defaults.TUNED_SPACE, help="search space of `tuned`")
    advanced.add_argument(
        "--portfolio",
        default=defaults.PORTFOLIO,
        help="portfolio of each tuned study: a shipped name, a YAML path or none; on a dataset "
        f"it was learned on, the one learned without it (default: {defaults.PORTFOLIO})",
    )
    advanced.add_argument(
        "--fixed-space",
        default=defaults.FIXED_SPACE,
        help="a space that samples nothing: the configuration of default_ft (with "
        "synthetic_ratio 0), causalmixft, scm_only, ctgan and ctgan_only (default: paper)",
    )
    advanced.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=_override,
        default=[],
        metavar="KEY=VALUE",
        help="fix a parameter in the fixed configuration and the tuned space (repeatable), "
        "e.g. --set epochs=2 for a CPU budget",
    )
    advanced.add_argument("--ctgan-epochs", type=positive_int, default=defaults.CTGAN_EPOCHS)
    advanced.add_argument(
        "--ctgan-batch-size", type=positive_int, default=defaults.CTGAN_BATCH_SIZE
    )
    advanced.add_argument("--backend", default="tabfm", help="foundation model backend")
    advanced.add_argument("--weights", default=None, help="local weights for the backend")
    advanced.add_argument(
        "--categorical-max-levels",
        type=non_negative_int,
        default=None,
        help="whole-number columns with 2 to this many distinct values are categories whose "
        "codes TabFM's ensemble and fine-tuning shuffle; 0: none (default: the backend's, 3)",
    )
    advanced.add_argument(
        "--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's)"
    )
    advanced.add_argument("--max-rows", type=positive_int, default=defaults.MAX_ROWS)
    advanced.add_argument("--max-features", type=positive_int, default=defaults.MAX_FEATURES)
    advanced.add_argument(
        "--shard",
        type=_shard,
        default=None,
        metavar="I/N",
        help="compute only every N-th (dataset, outer fold) pair, starting at the I-th, so "
        "that N processes share one benchmark (each with its own --out; merge their runs/ "
        "and report with --report-only)",
    )
    advanced.add_argument(
        "--report-only",
        action="store_true",
        help="compute nothing: rewrite results.csv, summary.md and the plots from the runs "
        "stored in --out (e.g. after copying in the runs of parallel benchmarks with the same "
        "settings)",
    )
    parser.set_defaults(func=run)


def _methods(text: str | None) -> tuple[str, ...]:
    if text is not None:
        return tuple(_names(text))
    import importlib.util

    if importlib.util.find_spec("ctgan") is not None:
        return _METHOD_NAMES
    _logger.warning("The optional ctgan package is not installed: skipping ctgan, ctgan_only.")
    return tuple(m for m in _METHOD_NAMES if not m.startswith("ctgan"))


def _command_line(args: argparse.Namespace) -> str:
    """The invocation, rebuilt from the parsed flags (stable, and free of global options)."""
    words = ["causalmix", "bench"]
    for name, value in vars(args).items():
        if name in ("func", "command", "verbose", "quiet") or value is None:
            continue
        flag = "--" + ("set" if name == "overrides" else name.replace("_", "-"))
        if isinstance(value, bool):
            words += [flag] if value else []
        elif name == "shard":
            words += [flag, f"{value[0]}/{value[1]}"]
        elif name == "overrides":
            words += [w for key, v in value for w in (flag, f"{key}={v}")]
        elif isinstance(value, list):
            words += [flag, *map(str, value)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    from bench import BenchConfig, run_bench

    datasets = None
    if args.datasets is not None:
        datasets = [name for text in args.datasets for name in _names(text)]
    config = BenchConfig(
        out=args.out,
        datasets=datasets,
        data_dir=args.data_dir,
        methods=_methods(args.methods),
        folds=args.folds,
        split=args.split,
        trials=args.trials,
        inner_folds=args.inner_folds,
        space=args.space,
        portfolio=args.portfolio,
        fixed_space=args.fixed_space,
        overrides=dict(args.overrides),
        ctgan_epochs=args.ctgan_epochs,
        ctgan_batch_size=args.ctgan_batch_size,
        target=args.target,
        seed=args.seed,
        device=args.device,
        backend=args.backend,
        weights=args.weights,
        categorical_max_levels=args.categorical_max_levels,
        storage=args.storage,
        max_rows=args.max_rows,
        max_features=args.max_features,
        threads=args.threads,
        command=_command_line(args),
        shard=args.shard,
        report_only=args.report_only,
    )
    result = run_bench(config)
    _logger.info(
        "%d runs computed, %d already finished, %d failed; wrote %s",
        len(result.computed), len(result.skipped), len(result.failures), result.out,
    )  # fmt: skip
    print(result.overview)
    return 1 if result.failures else 0
