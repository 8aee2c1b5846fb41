"""The CPU budgets of a TabFM architecture against a reference one (prints a table).

Two costs decide whether a recipe can ship as the CPU default:

- inference: seconds for one ensemble member to predict 1,000 query rows from 1,000 context
  rows x 30 features (``benchmarks/zero_shot.py``'s timing); budget 2.6 s;
- fine-tuning: seconds per optimizer step at the search spaces' default fine-tuning settings
  (context 512, 4 episodes per step) on a 30-feature table; budget 1.5x the reference's.

Each weights folder (``NAME=DIR``, the first is the reference) is timed ``--repeats`` times,
interleaved with the others, so that a change in the machine's load hits every candidate alike;
the table reports the best time of each. Only the architecture matters for these costs, so a
checkpoint exported after a short ablation run times like the fully trained model.

Usage::

    python -m tabfm.pretrain --checkpoint runs/ablation-v3/grouping.pt --resume --steps 0 \\
        --export runs/w/grouping
    OMP_NUM_THREADS=2 python benchmarks/model_budget.py --threads 2 \\
        v2=tabfm/weights grouping=runs/w/grouping
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._suite import format_table  # noqa: E402
from benchmarks.zero_shot import inference_timing  # noqa: E402

INFERENCE_BUDGET_S = 2.6
STEP_BUDGET_RATIO = 1.5


def step_seconds(weights: str, steps: int, features: int = 30) -> float:
    """Seconds per fine-tuning step at the default settings (best epoch of two)."""
    from search_spaces import default_config
    from tabfm import FinetuneConfig, finetune, get_backend

    defaults = default_config()
    context = int(defaults["context_size"])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2 * context + 200, features)).astype(np.float32)
    y = (X @ rng.normal(size=features) > 0).astype(int)
    config = FinetuneConfig(
        epochs=2,
        steps_per_epoch=steps,
        episodes_per_step=int(defaults["episodes_per_step"]),
        context_size=context,
        patience=0,
        eval_estimators=1,
        device="cpu",
        seed=0,
    )
    backend = get_backend("tabfm", weights=weights, device="cpu")
    _, history = finetune(backend, (X[:-200], y[:-200]), None, (X[-200:], y[-200:]), config)
    rates = [r["steps_per_second"] for r in history if np.isfinite(r["steps_per_second"])]
    return 1.0 / max(rates)


def _weights(text: str) -> tuple[str, str]:
    name, separator, path = text.partition("=")
    if not separator or not name or not Path(path).is_dir():
        raise argparse.ArgumentTypeError(f"expected NAME=DIR with an existing DIR, got {text!r}")
    return name, path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "weights", nargs="+", type=_weights, help="NAME=DIR; the first is the reference"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8, help="fine-tuning steps per epoch")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    inference: dict[str, list[float]] = {name: [] for name, _ in args.weights}
    steps: dict[str, list[float]] = {name: [] for name, _ in args.weights}
    for _ in range(args.repeats):
        for name, path in args.weights:
            timing = inference_timing("cpu", 1, path)
            seconds = timing["seconds per member"]
            assert isinstance(seconds, float)
            inference[name].append(seconds)
            steps[name].append(step_seconds(path, args.steps))
            print(f"{name}: {inference[name][-1]:.3f} s/member, {steps[name][-1]:.3f} s/step",
                  flush=True)  # fmt: skip
    reference = args.weights[0][0]
    rows: list[dict[str, Any]] = []
    for name, _ in args.weights:
        member, step = min(inference[name]), min(steps[name])
        ratio = step / min(steps[reference])
        rows.append(
            {
                "weights": name,
                "s per member (1000+1000 x 30)": member,
                "inference budget": "met" if member <= INFERENCE_BUDGET_S else "NOT met",
                "s per fine-tuning step": step,
                f"x {reference}": ratio,
                "step budget": "met" if ratio <= STEP_BUDGET_RATIO else "NOT met",
            }
        )
    print(f"\ntorch threads: {args.threads}; best of {args.repeats}, interleaved; at "
          f"{time.strftime('%Y-%m-%d %H:%M')}")  # fmt: skip
    print(format_table(rows, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
