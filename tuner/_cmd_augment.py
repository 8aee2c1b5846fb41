"""``causalmix augment``: write a table with causally synthesised rows appended."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from search_spaces import PARAMETERS
from tuner._cmd_common import column_name, directory_or_none, output_path, positive_int, seed_value

if TYPE_CHECKING:
    from causalmix import CausalAugmenter

_logger = logging.getLogger("causalmix")

AUGMENTER_OPTIONS = (
    "discovery",
    "indep_test",
    "alpha",
    "depth",
    "n_bootstrap",
    "n_dags",
    "mechanism_quality",
    "class_balance",
)
"""The CausalAugmenter settings the verb exposes as options."""

_CSV_SUFFIXES = (".csv",)
_PARQUET_SUFFIXES = (".parquet", ".pq")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "augment",
        help="append SCM-synthesised rows to a table",
        description="Discover causal structure among the features and the target, fit one "
        "structural causal model per sampled DAG, and write the real rows followed by "
        "synthetic ones (CSV or Parquet, chosen by the --out suffix).",
    )
    parser.add_argument("--data", required=True, help="CSV / TSV / Parquet path or sklearn:NAME")
    parser.add_argument(
        "--target", type=column_name, default="target", help="target column (default: target)"
    )
    parser.add_argument(
        "--synthetic-ratio",
        type=float,
        required=True,
        help="synthetic rows per real row (0 writes the real rows only)",
    )
    parser.add_argument(
        "--out", type=output_path, required=True, help="output file: .csv, .parquet or .pq"
    )
    # The augmenter's settings, with the defaults, choices and help of the parameter registry
    # (which the tests hold equal to CausalAugmenter's own).
    for name in AUGMENTER_OPTIONS:
        parameter = PARAMETERS[name]
        kinds = {"int": int, "float": float}
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=kinds.get(parameter.kind, str),
            default=parameter.default,
            choices=parameter.choices or None,
            help=f"{parameter.help} (default: {parameter.default})",
        )
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--cache-dir",
        type=directory_or_none,
        default=None,
        help="directory cache shared across runs and processes",
    )
    parser.add_argument(
        "--n-jobs", type=positive_int, default=None, help="processes for discovery (default: 1)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from causalmix import CausalAugmenter, load_table, split_target
    from tuner._errors import TunerError

    out = Path(args.out).expanduser()
    suffix = out.suffix.lower()
    if suffix not in _CSV_SUFFIXES + _PARQUET_SUFFIXES:
        raise TunerError(f"`--out` must end in .csv, .parquet or .pq, but got --out={args.out!r}.")
    augmenter = CausalAugmenter(
        **{name: getattr(args, name) for name in AUGMENTER_OPTIONS},
        cache=args.cache_dir,
        random_state=args.seed,
        n_jobs=args.n_jobs,
    )
    frame = load_table(args.data)
    X, y = split_target(frame, args.target, args.data)
    X_mixed, y_mixed = augmenter.augment(X, y, synthetic_ratio=args.synthetic_ratio)
    table = X_mixed.copy()
    table.insert(list(frame.columns).index(args.target), args.target, y_mixed)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix in _PARQUET_SUFFIXES:
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
    _logger.info(_summary(args, len(X), len(table) - len(X), augmenter, out))
    return 0


def _summary(
    args: argparse.Namespace,
    n_real: int,
    n_synthetic: int,
    augmenter: CausalAugmenter,
    out: Path,
) -> str:
    text = (
        f"Wrote {n_real + n_synthetic} rows ({n_real} real + {n_synthetic} synthetic, "
        f"ratio {args.synthetic_ratio:g}) to {out}."
    )
    if not hasattr(augmenter, "scms_"):
        return text + " No synthetic rows were requested, so nothing was fitted."
    edges, timings = augmenter.n_edges_, augmenter.timings_
    hits, misses = augmenter.cache_hits_, augmenter.cache_misses_
    return (
        f"{text} Discovery: {args.discovery} with {augmenter.indep_test_} "
        f"over {args.n_bootstrap} bootstraps in {timings['discovery']:.1f} s; "
        f"{len(edges)} DAGs with {min(edges)}-{max(edges)} edges "
        f"(mean {sum(edges) / len(edges):.1f}), sampled in {timings['dag_sampling']:.2f} s; "
        f"{args.mechanism_quality} mechanisms fitted in {timings['scm_fit']:.1f} s; "
        f"rows drawn in {timings['sampling']:.1f} s. Cache hits: "
        f"discovery {hits['discovery']}/{hits['discovery'] + misses['discovery']}, "
        f"mechanisms {hits['mechanisms']}/{hits['mechanisms'] + misses['mechanisms']}."
    )
