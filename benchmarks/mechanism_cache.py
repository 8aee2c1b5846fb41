"""How long an augmenter takes to fit its SCMs from a filled cache (what every later trial pays).

For each dataset and mechanism quality, one process fits a :class:`causalmix.CausalAugmenter`
with an empty directory cache (``cold``), then ``--repeats`` fresh processes fit the same
augmenter again from the filled cache (``warm``: discovery and mechanisms are read back, not
computed). It prints the cold and the median warm fit time, the warm cache hits and misses
(a miss on a warm fit is a cached entry that could not be read back), and the cache's size.

Run it on two checkouts to compare them (``PYTHONPATH=<checkout> python ...``).

Example:
    python benchmarks/mechanism_cache.py --data datasets/diabetes.csv --quality linear,good
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _suite import format_table  # noqa: E402

_FIT = """
import json, sys, time
import dowhy.gcm, sklearn.linear_model  # imported before the clock starts: not the cache's cost
from causalmix import CausalAugmenter, load_dataset

args = json.loads(sys.argv[1])
X, y = load_dataset(args["data"])
augmenter = CausalAugmenter(
    mechanism_quality=args["quality"], n_dags=args["n_dags"], n_bootstrap=args["n_bootstrap"],
    cache=args["cache"], random_state=0, n_jobs=1,
)
start = time.perf_counter()
augmenter.fit(X.iloc[: args["rows"]], y.iloc[: args["rows"]])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "hits": augmenter.cache_hits_,
                  "misses": augmenter.cache_misses_}))
"""


def _fit(arguments: dict[str, object]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", _FIT, json.dumps(arguments)],
        check=True,
        capture_output=True,
        text=True,
    )
    document: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return document


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["datasets/diabetes.csv"])
    parser.add_argument("--quality", default="linear,good", help="comma-separated qualities")
    parser.add_argument("--n-dags", type=int, default=5)
    parser.add_argument("--n-bootstrap", type=int, default=5)
    parser.add_argument("--rows", type=int, default=500, help="first rows of each table")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for data in args.data:
        for quality in args.quality.split(","):
            with tempfile.TemporaryDirectory() as scratch:
                arguments = {
                    "data": data, "quality": quality, "n_dags": args.n_dags,
                    "n_bootstrap": args.n_bootstrap, "rows": args.rows, "cache": scratch,
                }  # fmt: skip
                cold = _fit(arguments)
                warm = [_fit(arguments) for _ in range(args.repeats)]
                hits, misses = warm[-1]["hits"], warm[-1]["misses"]
                rows.append(
                    {
                        "dataset": Path(data).stem,
                        "quality": quality,
                        "cold fit (s)": round(float(str(cold["seconds"])), 2),
                        "warm fit, median (s)": round(
                            statistics.median(float(str(w["seconds"])) for w in warm), 3
                        ),
                        "warm hits": json.dumps(hits),
                        "warm misses": json.dumps(misses),
                        "cache (KiB)": round(_size(Path(scratch)) / 1024),
                    }
                )
    print(format_table(rows))


if __name__ == "__main__":
    main()
