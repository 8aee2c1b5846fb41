"""``causalmix export``: write the best trial's full configuration."""

from __future__ import annotations

import argparse
import logging

from tuner._cmd_common import add_storage_arguments, output_path, positive_int, storage_from

_logger = logging.getLogger("causalmix")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export the best configuration of a study",
        description="Write the best trial's configuration, scores, dataset fingerprint, seed "
        "and package versions to a YAML or JSON file.",
    )
    add_storage_arguments(parser, study_required=True)
    parser.add_argument("--out", type=output_path, required=True, help="best.yaml or best.json")
    parser.add_argument(
        "--selection",
        choices=("bbc", "fold_t"),
        default="bbc",
        help="how the exported trial is chosen: bbc (default; BBC-CV over the trials' "
        "out-of-fold predictions) or fold_t (the former paired t over the inner folds)",
    )
    parser.add_argument(
        "--n-boot",
        type=positive_int,
        default=None,
        help="bootstrap resamples of BBC-CV (default 1000)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tuner._model import export_best

    document = export_best(
        args.study, storage_from(args), args.out, rule=args.selection, n_boot=args.n_boot
    )
    scores = document.get("scores", {})
    _logger.info(
        "Wrote %s: trial %s, normalized ROC-AUC %+.3f%% (ROC-AUC %.4f vs zero-shot %.4f).",
        args.out,
        scores.get("trial_number"),
        scores.get("best_normalized_roc_auc", float("nan")),
        scores.get("best_roc_auc", float("nan")),
        scores.get("zero_shot_roc_auc", float("nan")),
    )
    selection = document.get("selection", {})
    _logger.info("Selection: %s.", selection.get("summary"))
    _logger.info("Rule (%s): %s.", selection.get("rule"), selection.get("rule_text"))
    return 0
