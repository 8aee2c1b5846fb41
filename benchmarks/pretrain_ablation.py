"""Pretraining ablations at equal wall clock: run recipe arms side by side, print a table.

Each arm is one ``python -m tabfm.pretrain`` run with its own flags on top of the common ones,
all started together with the same torch thread count and the same ``--minutes``, so that each
gets the same share of the same machine. The table compares the arms at their last
evaluation (held-out prior loss, prior ROC-AUC, in-context probes, real-data panel), and at
the last step every arm reached, where the comparison is per step instead of per minute.

Usage::

    python benchmarks/pretrain_ablation.py --out runs/ablation --minutes 15 \\
        --arm adamw= --arm muon='--optimizer muon' -- --steps 7000 --panel datasets/diabetes.csv

A checkpoint per arm (``OUT/ARM.pt``) stays behind, so an arm can be continued with
``python -m tabfm.pretrain --checkpoint OUT/ARM.pt --resume``.

Checkpoint averaging costs no training, so its ablation reads one finished run that kept
snapshots (``--keep-snapshots K``) and evaluates the last weights against the mean of the last
k snapshots, on the same held-out prior tasks, probes and panel::

    python benchmarks/pretrain_ablation.py --lawa runs/tabfm.pt --average 1 4 10 \
        --panel datasets/diabetes.csv
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._suite import format_table  # noqa: E402

COLUMNS = (
    "step",
    "seconds",
    "prior_loss",
    "prior_auc",
    "probe_x0_gt_0",
    "probe_xor",
    "panel_mean",
)


def _arms(values: list[str]) -> dict[str, list[str]]:
    arms = {}
    for value in values:
        name, _, flags = value.partition("=")
        if not name:
            raise SystemExit(f"--arm must be NAME=FLAGS, but got {value!r}.")
        arms[name] = shlex.split(flags)
    return arms


def _row(name: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"arm": name, **{key: record.get(key, float("nan")) for key in COLUMNS}}


def lawa(checkpoint: Path, averages: list[int], panel: list[Path]) -> int:
    """Print the evaluation of the last weights and of the mean of the last k snapshots."""
    import torch

    from tabfm import PretrainConfig, load_checkpoint
    from tabfm.pretrain import checkpoint_model, evaluate

    state = load_checkpoint(checkpoint)
    config = PretrainConfig.from_dict(state["config"])
    rows = []
    for k in averages:
        metrics = evaluate(checkpoint_model(state, k), torch.device("cpu"), panel, config)
        steps = [s["step"] for s in state.get("snapshots", [])[-k:]] if k > 1 else [state["step"]]
        rows.append({"averaged": k, "steps": f"{steps[0]}-{steps[-1]}", **_row("", metrics)})
    for row in rows:
        row.pop("arm"), row.pop("step"), row.pop("seconds")
    print(f"Checkpoint averaging on {checkpoint} (same held-out tasks, probes and panel):")
    print(format_table(rows))
    return 0


def paired_prior_losses(
    checkpoints: dict[str, Path], n_batches: int, seed: int = 0
) -> list[dict[str, Any]]:
    """Each arm's held-out prior loss against the first arm's, task by task on the same tasks:
    mean difference with a 95 % bootstrap interval over tasks and the Wilcoxon p-value.

    This compares the checkpoints, not the recipes: one training run per arm says nothing of
    the run-to-run spread of a recipe.
    """
    import torch
    from scipy.stats import wilcoxon

    from tabfm import PretrainConfig, load_checkpoint
    from tabfm.pretrain import checkpoint_model, prior_task_losses

    losses = {}
    for name, path in checkpoints.items():
        state = load_checkpoint(path)
        config = PretrainConfig.from_dict(state["config"])
        model = checkpoint_model(state, 1)
        losses[name] = prior_task_losses(model, torch.device("cpu"), config, n_batches)
    names = list(losses)
    reference = losses[names[0]]
    rng = np.random.default_rng(seed)
    rows = []
    for name in names:
        diff = losses[name] - reference
        means = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(2000)]
        low, high = np.percentile(means, [2.5, 97.5])
        p = float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
        rows.append(
            {
                "arm": name,
                "tasks": len(diff),
                "prior_loss": float(losses[name].mean()),
                f"diff vs {names[0]}": float(diff.mean()),
                "95 % CI": f"[{low:+.4f}, {high:+.4f}]",
                "p (Wilcoxon)": p,
                "tasks better": int(np.sum(diff < 0)),
            }
        )
    return rows


def calibrate(argv: list[str]) -> int:
    """Print the schedule length (steps) that fits ``--minutes`` of training on this machine,
    with 15 % left for the evaluations."""
    from tabfm import PretrainConfig, TabFMConfig
    from tabfm.pretrain import seconds_per_step

    options = argparse.ArgumentParser(prog="pretrain_ablation.py --calibrate")
    options.add_argument("--calibrate", action="store_true")
    options.add_argument("--minutes", type=float, required=True)
    options.add_argument("--device", default="auto")
    options.add_argument("--loader-workers", type=int, default=0)
    options.add_argument("--calibration-steps", type=int, default=60)
    options.add_argument("--embed-dim", type=int, default=64)
    options.add_argument("--layers", type=int, default=4)
    options.add_argument("--max-cells", type=int, default=16_384)
    options.add_argument("--max-rows", type=int, default=512)
    options.add_argument("--max-features", type=int, default=40)
    options.add_argument("--heads", type=int, default=2)
    options.add_argument("--thinking-rows", type=int, default=0)
    options.add_argument("--norm", default="layer")
    options.add_argument("--residual-decay", type=float, default=1.0)
    options.add_argument("--feature-grouping", action="store_true")
    parsed = options.parse_args(argv)
    config = PretrainConfig(
        optimizer="muon",
        device=parsed.device,
        max_cells=parsed.max_cells,
        max_rows=parsed.max_rows,
        max_features=parsed.max_features,
        model=TabFMConfig(
            embed_dim=parsed.embed_dim,
            n_layers=parsed.layers,
            n_heads=parsed.heads,
            thinking_rows=parsed.thinking_rows,
            norm=parsed.norm,
            residual_decay=parsed.residual_decay,
            feature_grouping=parsed.feature_grouping,
        ),
    )
    seconds = seconds_per_step(config, parsed.calibration_steps, parsed.loader_workers)
    steps = max(1, int(0.85 * parsed.minutes * 60 / seconds))
    print(f"{seconds * 1000:.1f} ms per step -> {steps} steps", file=sys.stderr)
    print(steps)
    return 0


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "--calibrate":
        return calibrate(argv)
    if argv and argv[0] == "--lawa":
        options = argparse.ArgumentParser(prog="pretrain_ablation.py --lawa")
        options.add_argument("--lawa", type=Path, required=True)
        options.add_argument("--average", type=int, nargs="+", default=[1, 4, 10])
        options.add_argument("--panel", type=Path, nargs="*", default=[])
        parsed = options.parse_args(argv)
        return lawa(parsed.lawa, parsed.average, parsed.panel)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, required=True, help="wall clock of every arm")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every arm")
    parser.add_argument("--arm", action="append", required=True, help="NAME=FLAGS (repeat)")
    parser.add_argument("--lawa", type=Path, help="see the module docstring")
    parser.add_argument("--report-only", action="store_true", help="only print the table")
    parser.add_argument(
        "--paired",
        type=int,
        default=0,
        metavar="BATCHES",
        help="also compare every arm's last checkpoint with the first arm's on the held-out "
        "prior tasks of BATCHES batches, task by task (paired)",
    )
    args, common = parser.parse_known_args(argv)
    common = [word for word in common if word != "--"]
    arms = _arms(args.arm)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        processes = []
        for name, flags in arms.items():
            command = [
                sys.executable, "-m", "tabfm.pretrain",
                "--checkpoint", str(args.out / f"{name}.pt"), "--resume",
                "--minutes", str(args.minutes), "--threads", str(args.threads),
                *common, *flags,
            ]  # fmt: skip
            log = (args.out / f"{name}.log").open("w")
            print(shlex.join(command[1:]), flush=True)
            processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        codes = [process.wait() for process in processes]
        if any(codes):
            print(f"arms exited with {codes}; see the logs in {args.out}", file=sys.stderr)
            return 1

    from tabfm import load_checkpoint

    histories = {name: load_checkpoint(args.out / f"{name}.pt")["history"] for name in arms}
    last = [_row(name, history[-1]) for name, history in histories.items() if history]
    print(f"At equal wall clock ({args.minutes:g} min, {args.threads} thread(s) each):")
    print(format_table(last))
    common_steps = set.intersection(*({r["step"] for r in h} for h in histories.values()))
    if common_steps:
        step = max(common_steps)
        same = [
            _row(name, next(r for r in history if r["step"] == step))
            for name, history in histories.items()
        ]
        print(f"\nAt the same step ({step}):")
        print(format_table(same))
    if args.paired:
        rows = paired_prior_losses({name: args.out / f"{name}.pt" for name in arms}, args.paired)
        print(
            f"\nHeld-out prior loss per task, paired with {next(iter(arms))!r} on the same "
            f"tasks ({args.paired} batches; last checkpoints; one run per arm, so the "
            "run-to-run spread of a recipe is not in these intervals):"
        )
        print(format_table(rows, floatfmt=".4f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
