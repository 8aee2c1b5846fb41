"""``causalmix fit``: train the final model from an exported configuration."""

from __future__ import annotations

import argparse
import logging

from tuner._cmd_common import column_name, output_path

_logger = logging.getLogger("causalmix")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="train the final model from an exported config",
        description="Augment and fine-tune on the full dataset with the configuration and seed "
        "of an exported study, then save the model (safetensors + JSON).",
    )
    parser.add_argument("--config", required=True, help="best.yaml / best.json from export")
    parser.add_argument("--data", required=True, help="CSV / Parquet path or sklearn:NAME")
    parser.add_argument("--target", type=column_name, default="target")
    parser.add_argument("--out", type=output_path, required=True, help="model directory")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tuner._model import fit

    fit(args.config, args.data, args.target, out=args.out, device=args.device)
    _logger.info("Saved the model to %s.", args.out)
    return 0
