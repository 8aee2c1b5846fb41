"""Fine-tuning throughput and peak memory per backend and context size (prints a table).

For each backend and each context size, fine-tunes on a synthetic 30-feature binary table of
``2 * context`` rows for ``--epochs`` epochs of ``--steps`` optimizer steps (one episode per
step) and reports the optimizer steps per second of the last epoch (the first one pays for
warm-up: CUDA context, kernel selection, allocator growth) and the peak memory of the run
(``torch.cuda.max_memory_allocated`` on CUDA; not measured on the CPU).

``tabfm`` is the shipped model, or each of ``--weights [NAME=]DIR`` (rows ``tabfm[NAME]``: to
hold a new recipe's step time against the shipped one's on the same machine). ``tabicl`` and
``tabpfn`` use the tiny randomly initialised checkpoints of the test suite (1 layer, 16-dim
embeddings), so their figures measure the adapters and the engine around a small network, not
the released models. They run only where their packages are installed; a missing one is listed
and skipped.

Usage::

    python benchmarks/finetune_throughput.py --device cuda --contexts 512 1024 2048
    python benchmarks/finetune_throughput.py --device cpu --contexts 128 --steps 2  # smoke test
    python benchmarks/finetune_throughput.py --backends tabfm --weights v2=tabfm/weights v3=DIR
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._suite import check_weights, format_table, parse_weights  # noqa: E402


def _table(n_rows: int, n_features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    weights = rng.normal(size=n_features)
    y = (X @ weights + rng.normal(scale=0.5, size=n_rows) > 0).astype(int)
    return X, y


def _backend(name: str, device: str, folder: Path, weights: str | None = None) -> Any:
    from tabfm import get_backend

    if name == "tabfm":
        return get_backend("tabfm", weights=weights, device=device)
    if name == "tabicl":
        from tests.tabfm.backends.test_tabicl import DEFAULT_CHECKPOINT, write_tiny_checkpoint
    else:
        from tests.tabfm.backends.test_tabpfn import DEFAULT_CHECKPOINT, write_tiny_checkpoint
    tiny = write_tiny_checkpoint(folder / name / DEFAULT_CHECKPOINT)
    return get_backend(name, weights=tiny, device=device)


def measure(
    name: str,
    context: int,
    args: argparse.Namespace,
    folder: Path,
    weights: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Steps per second (last epoch) and peak memory for one backend at one context size."""
    from tabfm import FinetuneConfig, finetune

    X, y = _table(2 * context + 200, args.features, seed=0)
    train, valid = (X[:-200], y[:-200]), (X[-200:], y[-200:])
    config = FinetuneConfig(
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        episodes_per_step=1,
        context_size=context,
        patience=0,  # never stop early: every epoch is timed
        eval_estimators=1,
        device=args.device,
        seed=0,
    )
    backend = _backend(name, args.device, folder, weights)
    started = time.perf_counter()
    _, history = finetune(backend, train, None, valid, config)
    last = history[-1]
    return {
        "backend": label or name,
        "device": backend.device_name,
        "context": context,
        "context_used": int(last.get("context_size", context)),
        "steps_per_s": float(last["steps_per_second"]),
        "peak_memory_mb": float(last.get("peak_memory_mb", float("nan"))),
        "wall_s": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backends", nargs="+", default=["tabfm", "tabicl", "tabpfn"])
    parser.add_argument("--contexts", nargs="+", type=int, default=[512, 1024, 2048])
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10, help="optimizer steps per epoch")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    parser.add_argument(
        "--weights",
        nargs="+",
        default=None,
        metavar="[NAME=]DIR",
        help="tabfm weights to time (default: the shipped ones); several run in turn",
    )
    args = parser.parse_args()
    try:
        tabfm_weights = parse_weights(args.weights, prefix="tabfm")
        check_weights(tabfm_weights)
    except ValueError as error:
        parser.error(str(error))

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backends:
            if name != "tabfm" and importlib.util.find_spec(name) is None:
                print(f"skipped {name}: the package is not installed (pip install '.[{name}]')")
                continue
            runs = list(tabfm_weights.items()) if name == "tabfm" else [(name, None)]
            for context in args.contexts:
                for label, weights in runs:
                    rows.append(measure(name, context, args, Path(tmp), weights, label))
                    print(format_table(rows[-1:], floatfmt=".2f"), flush=True)
    print(f"\n{args.features} features, {args.steps} steps x {args.epochs} epochs, 1 episode/step")
    print(format_table(rows, floatfmt=".2f"))


if __name__ == "__main__":
    main()
