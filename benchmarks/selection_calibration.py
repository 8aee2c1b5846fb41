"""Calibration of the export's selection rules on simulated studies with a known truth.

See :mod:`bench._calibration` for the generative model and the rules. Prints, per scenario,
the share of studies in which each rule exported a configuration other than default
fine-tuning (a false positive when all are null) and the share that exported the one
configuration with a true gain (power).

Usage::

    python benchmarks/selection_calibration.py [--studies 200] [--n-boot 500]
        [--out benchmarks/results/selection-calibration]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import Scenario, simulate_rule_rates  # noqa: E402
from benchmarks._suite import format_table  # noqa: E402

# Correlations and seed SDs span what benchmarks/selection_noise.py measured on shipped datasets
# (README, "Selection"): credit-approval-like (0.998, seed SD ~0.1) to tic-tac-toe-like (0.9,
# seed SD ~1).
SCENARIOS = {
    "a: 20 null, 500 rows, corr 0.97, no seed noise": Scenario(500),
    "a: 20 null, 500 rows, corr 0.97, seed SD 0.5": Scenario(500, seed_sd=0.5),
    "a: 20 null, 500 rows, corr 0.998, seed SD 0.1": Scenario(500, correlation=0.998, seed_sd=0.1),
    "a: 20 null, 500 rows, corr 0.9, seed SD 1.0": Scenario(500, correlation=0.9, seed_sd=1.0),
    "a: 20 null, 958 rows, corr 0.93, seed SD 3.0": Scenario(958, correlation=0.93, seed_sd=3.0),
    "b: +1 %, 700 rows, corr 0.998, seed SD 0.1": Scenario(
        700, gain=1.0, correlation=0.998, seed_sd=0.1
    ),
    "b: +1 %, 700 rows, corr 0.97, seed SD 0.5": Scenario(700, gain=1.0, seed_sd=0.5),
    "c: +0.5 %, 700 rows, corr 0.998, seed SD 0.1": Scenario(
        700, gain=0.5, correlation=0.998, seed_sd=0.1
    ),
    "c: +0.5 %, 700 rows, corr 0.97, seed SD 0.5": Scenario(700, gain=0.5, seed_sd=0.5),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--n-boot", type=int, default=500)
    parser.add_argument("--only", nargs="*", default=None, help="scenario name prefixes")
    parser.add_argument(
        "--confirm-seeds",
        type=int,
        default=None,
        help="fresh seeds of bbc+confirm (default: tune's)",
    )
    parser.add_argument("--out", default="benchmarks/results/selection-calibration")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Resumable, and --only adds to the table: rows are kept by scenario, in SCENARIOS' order.
    stored = out / "rates.json"
    done = (
        {row["scenario"]: row for row in json.loads(stored.read_text())} if stored.exists() else {}
    )
    for name, scenario in SCENARIOS.items():
        if args.only is not None and not any(name.startswith(p) for p in args.only):
            continue
        if args.only is None and name in done:
            continue
        started = time.perf_counter()
        extra = {} if args.confirm_seeds is None else {"confirm_seeds": args.confirm_seeds}
        outcome = simulate_rule_rates(scenario, args.studies, n_boot=args.n_boot, **extra)
        null = scenario.gain == 0
        row: dict[str, object] = {"scenario": name, "studies": args.studies}
        for rule, share in outcome.exported.items():
            row[rule] = share if null else outcome.exported_true[rule]
        row["measures"] = "false positives" if null else "power"
        done[name] = row
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
        rows = [done[n] for n in SCENARIOS if n in done]
        stored.write_text(json.dumps(rows, indent=1) + "\n")
    rows = [done[n] for n in SCENARIOS if n in done]
    table = format_table(rows)
    print(table)
    (out / "rates.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
