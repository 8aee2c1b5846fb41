#!/usr/bin/env bash
# The portfolio's learning runs under the shipped v2 weights (2c90ed7), two processes.
export OMP_NUM_THREADS=1
PY="env PYTHONPATH=/work/runs/bench-v2/src /work/main/.venv/bin/python"
$PY /work/runs/bench-v2/src/benchmarks/portfolio.py run --out /work/runs/portfolio-v2/runs --shard 0/2 --threads 1 > log-0.txt 2>&1 &
$PY /work/runs/bench-v2/src/benchmarks/portfolio.py run --out /work/runs/portfolio-v2/runs --shard 1/2 --threads 1 > log-1.txt 2>&1 &
wait
python benchmarks/portfolio.py build --runs /work/runs/portfolio-v2/runs --size 4   # noise_z 1 (default)
