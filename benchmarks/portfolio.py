"""Learn the tuning portfolio from benchmark runs, and rebuild its data file.

Two steps:

``run``
    Measures every candidate of ``benchmarks/portfolio/candidates.yaml`` and the two references
    (default fine-tuning and the paper's CausalMixFT) with ``causalmix bench`` on a suite: one
    bench directory per candidate (``causalmixft`` with the candidate's values set over the
    ``paper`` configuration), all on the same outer folds and seeds. Resumable like the bench:
    run the same command again to continue. ``--shard I/N`` runs every N-th bench, so that N
    processes can share the work.
``build``
    Reads those runs (``normalized_roc_auc`` and ``valid_roc_auc`` per dataset and fold) and
    chooses the portfolio by greedy coverage after the references
    (``search_spaces.greedy_portfolio``: per fold the member a study would pick by validation,
    on rank-normalised test scores, while a member adds more than ``--noise-z`` standard errors
    over datasets): once on all datasets (what studies enqueue), and once per dataset without
    it (leave-one-dataset-out, what ``causalmix bench`` uses on that dataset, recognised by
    name or data fingerprint). Writes ``search_spaces/portfolios/default.yaml``.

Usage::

    python benchmarks/portfolio.py run --out runs/portfolio [--shard 0/2] [--only NAME ...]
        [BENCH OPTIONS]
    python benchmarks/portfolio.py build --runs runs/portfolio [--size 4] [--noise-z 1]

The CPU budget of the shipped portfolio is the bench's (``--set epochs=2 ...``); the exact
commands are in the portfolio file's ``learned_with``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HERE = Path(__file__).resolve().parent
CANDIDATES = HERE / "portfolio" / "candidates.yaml"
OUT_FILE = HERE.parent / "search_spaces" / "portfolios" / "default.yaml"

DATASETS = (
    "banknote-authentication",
    "car",
    "credit-approval",
    "diabetes",
    "tic-tac-toe",
    "website_phishing",
    "segment",
    "climate-model-simulation-crashes",
)
"""The learning suite: the shipped datasets that a CPU run finishes quickly."""

BUDGET = (
    "--set",
    "epochs=2",
    "--set",
    "steps_per_epoch=10",
    "--set",
    "episodes_per_step=2",
    "--set",
    "context_size=256",
)
"""The CPU fine-tuning budget of the bench figures in the README."""

REFERENCE_DIR = "references"


def load_candidates(path: Path = CANDIDATES) -> dict[str, dict[str, Any]]:
    from search_spaces import load_yaml

    document = load_yaml(path.read_text())
    candidates = document.get("candidates") if isinstance(document, dict) else None
    if not isinstance(candidates, dict) or not candidates:
        raise SystemExit(f"{path}: expected a mapping `candidates: {{name: {{param: value}}}}`.")
    return candidates


def _format_value(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def bench_commands(
    out: Path, datasets: list[str], folds: int, seed: int, extra: list[str]
) -> list[list[str]]:
    """The ``causalmix bench`` command of the references and of each candidate."""
    base = [
        sys.executable,
        "-m",
        "tuner",
        "bench",
        "--datasets",
        *datasets,
        "--folds",
        str(folds),
        "--seed",
        str(seed),
        "--fixed-space",
        "paper",
        # These benches run no tuned studies (and the portfolio is what they learn).
        "--portfolio",
        "none",
        *BUDGET,
        *extra,
    ]
    commands = [
        [*base, "--methods", "zero_shot,default_ft,causalmixft", "--out", str(out / REFERENCE_DIR)]
    ]
    for name, values in load_candidates().items():
        sets = [
            item
            for key, value in values.items()
            for item in ("--set", f"{key}={_format_value(value)}")
        ]
        commands.append(
            [*base, *sets, "--methods", "zero_shot,causalmixft", "--out", str(out / name)]
        )
    return commands


def run(args: argparse.Namespace, extra: list[str]) -> int:
    index, count = (int(part) for part in args.shard.split("/"))
    commands = bench_commands(Path(args.out), args.datasets, args.folds, args.seed, extra)
    status = 0
    for number, command in enumerate(commands):
        directory = Path(command[command.index("--out") + 1])
        if number % count != index or (args.only and directory.name not in args.only):
            continue
        # One discovery / mechanism cache for all benches: candidates that share the
        # discovery settings reuse each other's graphs and SCMs on the same fold.
        directory.mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "cache").mkdir(exist_ok=True)
        link = directory / ".causalmix_cache"
        if not link.exists():
            link.symlink_to(Path("..") / "cache")
        print(" ".join(command[1:]), flush=True)
        status = max(status, subprocess.run(command, check=False).returncode)
    return status


def build(args: argparse.Namespace) -> int:
    from bench import build_portfolio_document
    from search_spaces import write_portfolio

    runs = Path(args.runs)
    document = build_portfolio_document(
        runs,
        load_candidates(),
        size=args.size,
        noise_z=args.noise_z,
        reference_dir=REFERENCE_DIR,
        command=" ".join(["python", "benchmarks/portfolio.py", *sys.argv[1:]]),
    )
    write_portfolio(document, Path(args.out))
    print(f"wrote {args.out}")
    chosen = document["configs"]
    names = [*document["references"], *document["candidates"]]
    datasets = document["learned_with"]["datasets"]
    print("mean normalized ROC-AUC (%) per dataset; * = in the portfolio, r = reference")
    print("| config | " + " | ".join(datasets) + " | mean |")
    print("|---" * (len(datasets) + 2) + "|")
    for name in names:
        row = document["scores"][name]
        mark = " r" if name in document["references"] else (" *" if name in chosen else "")
        values = [row[d] for d in datasets]
        cells = " | ".join(f"{v:+.3f}" for v in values)
        print(f"| {name}{mark} | {cells} | {sum(values) / len(values):+.3f} |")
    print("portfolio:", ", ".join(chosen) or "(empty: no candidate adds to the references)")
    for dataset, names_without in document["leave_one_dataset_out"].items():
        print(f"without {dataset}: {', '.join(names_without) or '(empty)'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="measure the candidates with causalmix bench")
    run_parser.add_argument("--out", required=True)
    run_parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    run_parser.add_argument("--folds", type=int, default=3)
    run_parser.add_argument("--seed", type=int, default=0)
    run_parser.add_argument("--shard", default="0/1", help="I/N: run every N-th bench from I")
    run_parser.add_argument("--only", nargs="+", help="run only these benches (folder names)")
    build_parser = commands.add_parser("build", help="choose the portfolio from the runs")
    build_parser.add_argument("--runs", required=True)
    build_parser.add_argument("--size", type=int, default=4)
    build_parser.add_argument(
        "--noise-z", type=float, default=1.0, help="standard errors a member must add"
    )
    build_parser.add_argument("--out", default=str(OUT_FILE))
    args, extra = parser.parse_known_args(argv)
    if args.command == "run":
        return run(args, extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return build(args)


if __name__ == "__main__":
    sys.exit(main())
