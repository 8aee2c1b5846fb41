"""``causalmix tune``: create or resume a study and run it."""

from __future__ import annotations

import argparse
import logging

from tuner._cmd_common import (
    add_storage_arguments,
    column_name,
    directory_or_none,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    seed_value,
    storage_from,
)
from tuner._defaults import (
    DEFAULT_ARTIFACT_DIR,
    DEFAULT_CONFIRM_SEEDS,
    DEFAULT_DISCOVERY_TIMEOUT,
    DEFAULT_N_FOLDS,
    DEFAULT_N_TRIALS,
    DEFAULT_PORTFOLIO,
    DEFAULT_SPACE,
    PRUNERS,
)

_logger = logging.getLogger("causalmix")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="tune causal augmentation + fine-tuning on a dataset",
        description="Create (or resume) an Optuna study and run it until it has --n-trials "
        "finished trials (a total: resuming a study continues to that count).",
    )
    parser.add_argument("--data", required=True, help="CSV / Parquet path or sklearn:NAME")
    parser.add_argument(
        "--target", type=column_name, default="target", help="target column (default: target)"
    )
    add_storage_arguments(parser, study_required=True)
    parser.add_argument(
        "--space",
        default=DEFAULT_SPACE,
        help=f"space name or YAML path (default: {DEFAULT_SPACE})",
    )
    parser.add_argument(
        "--n-trials",
        type=positive_int,
        default=DEFAULT_N_TRIALS,
        help=f"total trials (default: {DEFAULT_N_TRIALS})",
    )
    parser.add_argument("--timeout", type=positive_float, default=None, help="seconds")
    parser.add_argument("--seed", type=seed_value, default=0)
    parser.add_argument(
        "--n-folds",
        type=positive_int,
        default=DEFAULT_N_FOLDS,
        help=f"inner CV folds (default: {DEFAULT_N_FOLDS})",
    )
    parser.add_argument("--pruner", default="auto", choices=PRUNERS)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument(
        "--fold-batching",
        action="store_true",
        help="fine-tune a trial's inner folds together as one stacked network (same results, "
        "fewer GPU kernel launches; the pruner then cannot stop a trial after its first folds)",
    )
    parser.add_argument(
        "--discovery-timeout",
        type=non_negative_float,
        default=DEFAULT_DISCOVERY_TIMEOUT,
        help="seconds a fold's structure discovery may take before the trial is pruned; 0: no "
        f"limit (default: {DEFAULT_DISCOVERY_TIMEOUT:g})",
    )
    parser.add_argument("--backend", default="tabfm", help="foundation model backend")
    parser.add_argument("--weights", default=None, help="local weights for the backend")
    parser.add_argument(
        "--categorical-max-levels",
        type=non_negative_int,
        default=None,
        help="whole-number columns with 2 to this many distinct values are categories whose "
        "codes TabFM's ensemble and fine-tuning shuffle; 0: none (default: the backend's, 3)",
    )
    parser.add_argument(
        "--artifact-dir",
        type=directory_or_none,
        default=DEFAULT_ARTIFACT_DIR,
        help="artifact store directory",
    )
    parser.add_argument(
        "--cache-dir",
        type=directory_or_none,
        default=None,
        help="discovery/mechanism cache directory",
    )
    parser.add_argument("--workers", type=positive_int, default=1, help="local worker processes")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--no-references",
        action="store_true",
        help="a new study does not start with the reference trials (default fine-tuning, "
        "then the paper's CausalMixFT configuration)",
    )
    parser.add_argument(
        "--portfolio",
        default=DEFAULT_PORTFOLIO,
        help="configurations a new study evaluates after the references: a shipped "
        f"portfolio's name, a YAML path, or none (default: {DEFAULT_PORTFOLIO})",
    )
    parser.add_argument(
        "--confirm-seeds",
        type=non_negative_int,
        default=DEFAULT_CONFIRM_SEEDS,
        help="when the best trial passes BBC-CV, run it and default fine-tuning again with "
        "this many fresh fine-tuning seeds so that export can confirm it; 0: no confirmation "
        f"(default: {DEFAULT_CONFIRM_SEEDS})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from storage import mask_url, resolve_storage_url
    from tuner._service import tune
    from tuner._summary import summarize

    storage = storage_from(args)
    study = tune(
        args.data,
        args.target,
        study_name=args.study,
        storage=storage,
        space=args.space,
        n_trials=args.n_trials,
        timeout=args.timeout,
        seed=args.seed,
        n_folds=args.n_folds,
        pruner=args.pruner,
        device=args.device,
        fold_batching=args.fold_batching,
        discovery_timeout=args.discovery_timeout or None,
        backend=args.backend,
        weights=args.weights,
        categorical_max_levels=args.categorical_max_levels,
        artifact_dir=args.artifact_dir,
        cache_dir=args.cache_dir,
        workers=args.workers,
        progress=not args.no_progress and not args.quiet,
        references=not args.no_references,
        portfolio=args.portfolio,
        confirm_seeds=args.confirm_seeds,
    )
    print(summarize(study, mask_url(resolve_storage_url(storage)), args.artifact_dir))
    return 0
