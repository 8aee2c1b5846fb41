"""``causalmix predict``: predict with a saved model."""

from __future__ import annotations

import argparse
import logging

from tuner._cmd_common import output_path

_logger = logging.getLogger("causalmix")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict with a model saved by `fit`",
        description="Write one row per input row: the predicted label and class probabilities.",
    )
    parser.add_argument("--model", required=True, help="model directory written by `fit`")
    parser.add_argument("--data", required=True, help="CSV / Parquet path")
    parser.add_argument("--out", type=output_path, required=True, help="predictions CSV")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tuner._model import predict

    result = predict(args.model, args.data, args.out)
    _logger.info("Wrote %d predictions to %s.", len(result), args.out)
    return 0
