"""What a fine-tuning step costs on this machine, and what each cheaper recipe saves.

The levers of the issue "Time to a tuned model" that change how much work a trial does: one
fold of ``--data`` (the first of 3 stratified outer folds, seed 0; 20 % of its training rows
held out for validation, as a trial does) is fine-tuned for ``--epochs`` epochs with patience
off, once per recipe: the default (:class:`tabfm.FinetuneConfig`), then each ``--lever``
(``NAME=KEY:VALUE[,KEY:VALUE]``). The table gives the wall time, the share spent in training
steps, the speed-up over the default and the validation ROC-AUC after the last epoch (one
fold: a sanity check, not a quality measure; `causalmix bench` pairs the quality cost).

``--ops`` adds where the default recipe's time goes: PyTorch's profiler over one epoch, self
CPU time grouped into attention, matrix products, copies and the rest; and the training step
under ``torch.autocast("cpu", dtype=torch.bfloat16)`` against float32.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/finetune_levers.py --data datasets/diabetes.csv --ops
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _suite import early_stopping_splits, format_table  # noqa: E402

DEFAULT_LEVERS = (
    "episodes2=episodes_per_step:2",
    "context256=context_size:256",
    "episodes2+context256=episodes_per_step:2,context_size:256",
    "eval1=eval_estimators:1",
)

_OP_GROUPS = (
    ("attention", ("attention",)),
    ("matrix products", ("aten::mm", "aten::addmm", "aten::bmm", "aten::linear")),
    ("copies", ("aten::copy_", "aten::cat", "aten::clone", "aten::contiguous")),
)


def _parse_lever(text: str) -> tuple[str, dict[str, Any]]:
    from search_spaces import check_config, load_yaml

    name, _, settings = text.partition("=")
    if not name or not settings:
        raise SystemExit(f"error: a lever is NAME=KEY:VALUE[,KEY:VALUE], got {text!r}")
    values: dict[str, Any] = {}
    for item in settings.split(","):
        key, _, value = item.partition(":")
        values[key] = load_yaml(value)  # as `causalmix bench --set` reads a value
    check_config(values)
    return name, values


def _fold(path: str, target: str) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    from causalmix import load_dataset
    from tabfm import TablePreprocessor

    X, target_values = load_dataset(path, target=target)
    _, y = np.unique(target_values.to_numpy(), return_inverse=True)
    fit, valid = early_stopping_splits(y, n_folds=3, seed=0)[0]
    prep = TablePreprocessor().fit(X.iloc[fit])
    return (
        (prep.transform(X.iloc[fit]), y[fit]),
        (prep.transform(X.iloc[valid]), y[valid]),
    )


def _time(model: Any, fold: Any, settings: dict[str, Any], epochs: int) -> dict[str, float]:
    from tabfm import FinetuneConfig, finetune

    config = FinetuneConfig(epochs=epochs, patience=0, device="cpu", **settings)
    start = time.perf_counter()
    _, history = finetune(model, fold[0], None, fold[1], config)
    seconds = time.perf_counter() - start
    train = sum(config.steps_per_epoch / record["steps_per_second"] for record in history[1:])
    return {"seconds": seconds, "train": train, "auc": history[-1]["valid_roc_auc"]}


def _op_shares(model: Any, fold: Any) -> list[dict[str, object]]:
    from torch.profiler import ProfilerActivity, profile

    from tabfm import FinetuneConfig, finetune

    config = FinetuneConfig(epochs=1, patience=0, device="cpu")
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        finetune(model, fold[0], None, fold[1], config)
    totals = {name: 0.0 for name, _ in _OP_GROUPS} | {"rest": 0.0}
    for event in profiler.key_averages():
        group = next(
            (name for name, keys in _OP_GROUPS if any(key in event.key for key in keys)), "rest"
        )
        totals[group] += event.self_cpu_time_total
    whole = sum(totals.values())
    return [{"ops": name, "share": value / whole} for name, value in totals.items()]


def _autocast_step(model: Any, fold: Any, steps: int) -> list[dict[str, object]]:
    """Seconds per training step (one episode of the default context) in float32 and bf16."""
    import torch

    from tabfm import FinetuneConfig, sample_episode

    network = model.model
    x, y = (torch.as_tensor(a) for a in fold[0])
    config = FinetuneConfig()
    context, query = sample_episode(
        np.random.default_rng(0),
        y.numpy(),
        np.ones(len(y), dtype=bool),
        config.context_size,
        config.query_fraction,
        real_queries=True,
    )
    optimizer = torch.optim.AdamW(network.parameters(), lr=0.0)  # weights stay as loaded
    rows = []
    for label, dtype in (("float32", None), ("bfloat16 autocast", torch.bfloat16)):
        times = []
        for i in range(steps + 2):
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype is not None):
                logits = network(
                    torch.cat([x[context], x[query]])[None].float(),
                    y[context][None],
                    int(y.max()) + 1,
                    feature_seed=0,
                )
            loss = torch.nn.functional.cross_entropy(logits[0].float(), y[query].long())
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if i >= 2:  # the first steps warm up the allocator
                times.append(time.perf_counter() - start)
        rows.append({"step": label, "seconds": float(np.median(times))})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="datasets/diabetes.csv")
    parser.add_argument("--target", default="target")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lever", action="append", help="NAME=KEY:VALUE[,KEY:VALUE]")
    parser.add_argument("--ops", action="store_true", help="profile the default recipe's ops")
    parser.add_argument("--autocast-steps", type=int, default=10)
    args = parser.parse_args(argv)
    levers = [_parse_lever(text) for text in (args.lever or DEFAULT_LEVERS)]

    import torch

    from tabfm import get_backend

    model = get_backend("tabfm", device="cpu")
    fold = _fold(args.data, args.target)
    print(
        f"{Path(args.data).stem}: {len(fold[0][1])} training and {len(fold[1][1])} validation "
        f"rows, {fold[0][0].shape[1]} features; {args.epochs} epochs, patience off; "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    )
    base = _time(model, fold, {}, args.epochs)
    rows: list[dict[str, object]] = []
    for name, settings in [("default", {}), *levers]:
        result = base if name == "default" else _time(model, fold, settings, args.epochs)
        rows.append(
            {
                "recipe": name,
                "seconds": result["seconds"],
                "speed-up": base["seconds"] / result["seconds"],
                "train share": result["train"] / result["seconds"],
                "valid ROC-AUC": result["auc"],
            }
        )
    print(format_table(rows, floatfmt=".3f"))
    if args.ops:
        print()
        print(format_table(_op_shares(model, fold), floatfmt=".3f"))
        print()
        print(format_table(_autocast_step(model, fold, args.autocast_steps), floatfmt=".4f"))


if __name__ == "__main__":
    main()
