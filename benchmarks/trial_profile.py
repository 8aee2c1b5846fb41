"""Per-stage time of tuning trials: first (cold) trial, later (warm) trials, no cache.

Every phase runs in a fresh process (so an in-process memo cannot help) against one SQLite
study directory:

1. ``cold``: the first trial of a new study, empty discovery / mechanism cache;
2. ``warm``: later trials of the same study (new parameters, same cache);
3. ``warm-repeat``: the cold trial again (a new study, same seed, so the same parameters), in a
   new process with the filled cache;
4. ``no-cache``: the cold trial again with caching disabled.

Per trial it prints the stages recorded by the objective (discovery, SCM fitting, sampling,
fine-tuning, evaluation, storage) and the share of wall time outside fine-tuning and evaluation.
With ``--study 20 --pruners median,forgiving,hyperband`` it times whole studies (the goal of
the issue "Time to a tuned model": 20 trials of the ``default`` space on diabetes), one per
pruner, and
prints the trials completed and pruned, the fold fits and what each study exported
(``--fold-batching off,on``: each with the inner folds fine-tuned one by one and together).
With ``--workers 1,2,4`` it also runs ``tune --workers K`` and prints trials per hour; where
``nvidia-smi`` exists it samples GPU utilisation and memory every 0.5 s meanwhile (mean and
peak over the run).

Example:
    python benchmarks/trial_profile.py --data datasets/diabetes.csv --space default --trials 4
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _suite import format_table  # noqa: E402

STAGES = ("discovery", "scm_fit", "sampling", "finetune", "evaluation", "storage")

_RUN = """
import json, sys, tuner
tuner.tune(**json.loads(sys.argv[1]))
"""


def _run(arguments: dict[str, Any]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(arguments)], check=True, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


class _GpuMonitor:
    """Samples ``nvidia-smi`` (utilisation %, memory MiB) every 0.5 s while in use."""

    def __enter__(self) -> _GpuMonitor:
        import shutil

        self.samples: list[tuple[float, float]] = []
        self._process = None
        if shutil.which("nvidia-smi"):
            self._process = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                 "--format=csv,noheader,nounits", "-lms", "500"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        output, _ = self._process.communicate()
        for line in output.splitlines():
            parts = [p.strip() for p in line.split(",")]
            try:
                self.samples.append((float(parts[0]), float(parts[1])))
            except (ValueError, IndexError):
                continue

    def summary(self) -> dict[str, float]:
        if not self.samples:
            return {"gpu_util_mean": float("nan"), "gpu_mem_peak_mib": float("nan")}
        return {
            "gpu_util_mean": sum(u for u, _ in self.samples) / len(self.samples),
            "gpu_mem_peak_mib": max(m for _, m in self.samples),
        }


def _trial_rows(storage: str, study_name: str, phase: str, numbers: list[int]) -> list[dict]:
    import optuna

    study = optuna.load_study(study_name=study_name, storage=storage)
    rows = []
    for trial in study.trials:
        start, end = trial.datetime_start, trial.datetime_complete
        if trial.number not in numbers or start is None or end is None:
            continue
        wall = (end - start).total_seconds()
        timings = trial.user_attrs.get("timings", {})
        row: dict[str, Any] = {"phase": phase, "trial": trial.number, "wall_s": wall}
        for stage in STAGES:
            row[stage] = float(timings.get(stage, 0.0))
        outside = wall - row["finetune"] - row["evaluation"]
        row["other_share"] = outside / wall if wall > 0 else float("nan")
        row["device"] = trial.user_attrs.get("device", "?")
        rows.append(row)
    return rows


def _profile(args: argparse.Namespace, common: dict[str, Any], cache: str, storage: str) -> None:
    """The cold / warm / warm-repeat / no-cache phases (module docstring), printed."""
    import optuna

    # With the same seed and space, the first trial of every study samples the same
    # parameters, so "repeat" and "nocache" rerun exactly the cold trial.
    _run({**common, "study_name": "profile", "n_trials": 1, "cache_dir": cache})
    _run({**common, "study_name": "profile", "n_trials": 1 + args.trials, "cache_dir": cache})
    _run({**common, "study_name": "repeat", "n_trials": 1, "cache_dir": cache})
    _run({**common, "study_name": "nocache", "n_trials": 1, "cache_dir": "none"})
    cold = optuna.load_study(study_name="profile", storage=storage).trials[0]
    for name in ("repeat", "nocache"):
        params = optuna.load_study(study_name=name, storage=storage).trials[0].params
        if params != cold.params:
            print(f"warning: study {name!r} sampled {params}, not {cold.params}")
    rows = _trial_rows(storage, "profile", "cold", [0])
    rows += _trial_rows(storage, "profile", "warm", list(range(1, 1 + args.trials)))
    rows += _trial_rows(storage, "repeat", "warm-repeat", [0])
    rows += _trial_rows(storage, "nocache", "no-cache", [0])
    print(f"data={args.data} space={args.space} folds={args.n_folds} params={cold.params}")
    print(format_table(rows, floatfmt=".2f"))
    repeat = next(r for r in rows if r["phase"] == "warm-repeat")
    nocache = next(r for r in rows if r["phase"] == "no-cache")
    warm = [r for r in rows if r["phase"] == "warm"]
    print(
        f"\nwarm-repeat vs no-cache speed-up: {nocache['wall_s'] / repeat['wall_s']:.2f}x; "
        f"median share outside fine-tuning+evaluation (warm): "
        f"{sorted(r['other_share'] for r in warm)[len(warm) // 2]:.1%}"
    )


def _whole_studies(args: argparse.Namespace, common: dict[str, Any], directory: Path) -> None:
    """``--study N``: one whole study per pruner (references, confirmation and export
    included), each with its own empty cache, as a user's first study: wall time, trials,
    fold fits and what was exported."""
    import optuna

    import tuner

    rows = []
    runs = [
        (pruner, batching)
        for pruner in args.pruners.split(",")
        for batching in args.fold_batching.split(",")
    ]
    for pruner, batching in runs:
        name = f"study_{pruner}_{batching}"
        with _GpuMonitor() as monitor:
            seconds = _run(
                {
                    **common, "study_name": name, "n_trials": args.study, "pruner": pruner,
                    "cache_dir": str(directory / f"cache_{name}"), "workers": args.study_workers,
                    "fold_batching": batching == "on",
                }
            )  # fmt: skip
        study = optuna.load_study(study_name=name, storage=common["storage"])
        states = [t.state.name for t in study.trials]
        document = tuner.export_best(name, common["storage"], directory / f"{name}.yaml")
        selection = document.get("selection", {})
        rows.append(
            {
                "pruner": pruner,
                "fold_batching": batching,
                "workers": args.study_workers,
                "wall_min": seconds / 60,
                "complete": states.count("COMPLETE"),
                "pruned": states.count("PRUNED"),
                "fold_fits": sum(len(t.user_attrs.get("fold_roc_auc", [])) for t in study.trials),
                "exported_trial": selection.get("chosen_trial"),
                "passed": selection.get("passed"),
                "estimate": selection.get("estimate"),
                **monitor.summary(),
            }
        )
        print(format_table(rows[-1:], floatfmt=".2f"), flush=True)
    print()
    print(format_table(rows, floatfmt=".2f"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="datasets/diabetes.csv")
    parser.add_argument("--target", default="target")
    parser.add_argument("--space", default="default")
    parser.add_argument("--trials", type=int, default=4, help="trials in the warm phase")
    parser.add_argument("--n-folds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", default="", help="e.g. 1,2,4,8: trials/hour per K")
    parser.add_argument("--throughput-trials", type=int, default=8)
    parser.add_argument(
        "--skip-profile", action="store_true", help="only the --workers / --study runs"
    )
    parser.add_argument(
        "--study", type=int, default=0, help="N: time a whole N-trial study per --pruners"
    )
    parser.add_argument("--pruners", default="median,forgiving", help="for --study")
    parser.add_argument("--study-workers", type=int, default=1, help="for --study")
    parser.add_argument(
        "--fold-batching", default="off", help="for --study: off, on or off,on (each pruner)"
    )
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="trial_profile_"))
    storage = f"sqlite:///{directory / 'profile.db'}"
    common = {
        "data": str(Path(args.data).resolve()), "target": args.target, "space": args.space,
        "n_folds": args.n_folds, "device": args.device, "seed": args.seed,
        "storage": storage, "artifact_dir": str(directory / "artifacts"), "pruner": "none",
    }  # fmt: skip
    cache = str(directory / "cache")
    if not args.skip_profile:
        _profile(args, common, cache, storage)
    if args.workers:
        throughput = []
        for workers in [int(k) for k in args.workers.split(",")]:
            name = f"throughput_{workers}"
            with _GpuMonitor() as monitor:
                seconds = _run(
                    {
                        **common, "study_name": name, "n_trials": args.throughput_trials,
                        "cache_dir": cache, "workers": workers,
                    }
                )  # fmt: skip
            throughput.append(
                {
                    "workers": workers,
                    "trials": args.throughput_trials,
                    "wall_s": seconds,
                    "trials_per_hour": 3600 * args.throughput_trials / seconds,
                    **monitor.summary(),
                }
            )
            print(format_table(throughput[-1:], floatfmt=".1f"), flush=True)
        print()
        print(format_table(throughput, floatfmt=".1f"))
    if args.study:
        _whole_studies(args, common, directory)
    print(f"\n(study files in {directory})")


if __name__ == "__main__":
    main()
