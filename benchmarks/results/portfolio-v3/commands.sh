#!/usr/bin/env bash
# The portfolio's learning runs under the v3 weights (2026-12-04), one process, one thread, on
# core 0 of the 2-core AMD EPYC machine (core 1 ran a `causalmix bench` process): 72 minutes.
# Run from a checkout whose tabfm/weights are v3 (any commit from this one on).
export OMP_NUM_THREADS=1
taskset -c 0 python benchmarks/portfolio.py run --out runs/portfolio-v3/runs --threads 1 > log-0.txt 2>&1
python benchmarks/portfolio.py build --runs runs/portfolio-v3/runs --size 4   # noise_z 1 (default)
