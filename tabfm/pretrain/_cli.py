"""The command line of ``python -m tabfm.pretrain``: pretrain TabFM on the synthetic prior,
in resumable slices.

Example (CPU, slices of under ten minutes)::

    python -m tabfm.pretrain --steps 20000 --minutes 9 --checkpoint runs/tabfm.pt --resume
    python -m tabfm.pretrain --checkpoint runs/tabfm.pt --resume --steps 0 --export tabfm/weights
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tabfm._config import NORMS
from tabfm._errors import TabFMError
from tabfm.pretrain._config import OPTIMIZERS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tabfm.pretrain", description=__doc__)
    parser.add_argument("--steps", type=int, default=20_000, help="total schedule length")
    parser.add_argument("--minutes", type=float, default=None, help="stop this slice after M min")
    parser.add_argument("--checkpoint", type=Path, default=None, help="checkpoint file")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--export", type=Path, default=None, help="write shipped weights here")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument(
        "--optimizer",
        default="adamw",
        choices=OPTIMIZERS,
        help="adamw; muon on the blocks (+ adamw); muon_schedulefree (+ schedule-free adamw)",
    )
    parser.add_argument("--warmup-steps", type=int, default=200)
    parser.add_argument("--max-cells", type=int, default=16_384, help="cells per step")
    parser.add_argument("--max-rows", type=int, default=512)
    parser.add_argument("--max-features", type=int, default=40)
    parser.add_argument(
        "--fitted-trees",
        type=float,
        default=0.0,
        help="share of the prior's tree layers fitted to random targets (TabICL's tree SCM)",
    )
    parser.add_argument(
        "--rule-targets",
        type=float,
        default=0.0,
        help="share of the prior's tasks whose target is a logical rule of their categorical "
        "columns",
    )
    parser.add_argument(
        "--tabicl-prior",
        type=float,
        default=0.0,
        help="share of the prior's tasks drawn from TabICL's prior (needs the tabicl and "
        "pretrain extras)",
    )
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument(
        "--keep-snapshots", type=int, default=0, help="keep the last K evaluations' weights"
    )
    parser.add_argument(
        "--average-last",
        type=int,
        default=1,
        help="export the mean of the last K kept snapshots (LAWA) instead of the last weights",
    )
    parser.add_argument("--embed-dim", type=int, default=64)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument(
        "--thinking-rows", type=int, default=0, help="learned rows before the context (v3)"
    )
    parser.add_argument("--norm", default="layer", choices=NORMS, help="blocks' pre-norm")
    parser.add_argument(
        "--residual-decay", type=float, default=1.0, help="scale the stream by d**i before block i"
    )
    parser.add_argument(
        "--feature-grouping", action="store_true", help="cells see columns j+1, j+3, j+7, j+15"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--loader-workers",
        type=int,
        default=0,
        help="processes drawing the prior ahead of the steps (for a GPU; default 0)",
    )
    parser.add_argument(
        "--panel", type=Path, nargs="*", default=None, help="real CSVs to monitor (monitor only)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import torch

    from tabfm._config import TabFMConfig
    from tabfm.pretrain._checkpoint import export_weights
    from tabfm.pretrain._config import PretrainConfig
    from tabfm.pretrain._loop import pretrain

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if args.steps > 0:
            config = PretrainConfig(
                steps=args.steps,
                learning_rate=args.lr,
                optimizer=args.optimizer,
                warmup_steps=args.warmup_steps,
                max_cells=args.max_cells,
                max_rows=args.max_rows,
                max_features=args.max_features,
                fitted_tree_share=args.fitted_trees,
                rule_target_share=args.rule_targets,
                tabicl_prior_share=args.tabicl_prior,
                eval_every=args.eval_every,
                keep_snapshots=args.keep_snapshots,
                seed=args.seed,
                device=args.device,
                model=TabFMConfig(
                    embed_dim=args.embed_dim,
                    n_layers=args.layers,
                    n_heads=args.heads,
                    thinking_rows=args.thinking_rows,
                    norm=args.norm,
                    residual_decay=args.residual_decay,
                    feature_grouping=args.feature_grouping,
                ),  # fmt: skip
            )
            pretrain(
                config,
                checkpoint=args.checkpoint,
                resume=args.resume,
                minutes=args.minutes,
                panel=args.panel,
                log=lambda line: print(line, flush=True),
                loader_workers=args.loader_workers,
            )
        if args.export is not None:
            if args.checkpoint is None:
                raise TabFMError("--export needs --checkpoint, but got no checkpoint.")
            exported = export_weights(args.checkpoint, args.export, args.average_last)
            print(f"exported to {exported}", flush=True)
    except TabFMError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
