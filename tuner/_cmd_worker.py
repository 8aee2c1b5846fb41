"""``causalmix worker``: join an existing study from another process or machine."""

from __future__ import annotations

import argparse
import logging

from tuner._cmd_common import (
    add_storage_arguments,
    directory_or_none,
    positive_float,
    positive_int,
    seed_value,
    storage_from,
)

_logger = logging.getLogger("causalmix")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="join an existing study as a worker",
        description="Run trials of a study created by `causalmix tune`; the dataset and "
        "settings are read from the study.",
    )
    add_storage_arguments(parser, study_required=True)
    parser.add_argument("--n-trials", type=positive_int, default=None, help="total trials")
    parser.add_argument("--timeout", type=positive_float, default=None, help="seconds")
    parser.add_argument(
        "--seed", type=seed_value, default=None, help="sampler seed of this worker"
    )
    parser.add_argument(
        "--artifact-dir", type=directory_or_none, default=None, help="artifact store directory"
    )
    parser.add_argument(
        "--cache-dir",
        type=directory_or_none,
        default=None,
        help="discovery/mechanism cache directory",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tuner._service import work

    result = work(
        args.study,
        storage_from(args),
        n_trials=args.n_trials,
        timeout=args.timeout,
        seed=args.seed,
        artifact_dir=args.artifact_dir,
        cache_dir=args.cache_dir,
    )
    notes = []
    if result.discarded:
        notes.append(f"{result.discarded} discarded after missing heartbeats (retried)")
    if result.reconnects:
        notes.append(f"{result.reconnects} storage outage(s) ridden out")
    _logger.info(
        "Worker done: %d complete, %d pruned, %d failed%s.",
        result.completed, result.pruned, result.failed,
        f" ({'; '.join(notes)})" if notes else "",
    )  # fmt: skip
    return 0
