#!/usr/bin/env bash
# How search_spaces/portfolios/default.yaml was learned, on the 2-core development machine,
# 2026-12-02: two processes in parallel, one torch thread each (the references and the first
# candidate ran under the runner's first version, which passed no --portfolio flag; the rest
# with `--portfolio none`; the protocol they share is the same, and `build` checks it).
export OMP_NUM_THREADS=1
PY=${PYTHON:-python}
$PY benchmarks/portfolio.py run --out runs/portfolio --threads 1 --shard 0/2 > log-0.txt 2>&1 &
$PY benchmarks/portfolio.py run --out runs/portfolio --threads 1 --shard 1/2 > log-1.txt 2>&1
wait
$PY benchmarks/portfolio.py build --runs runs/portfolio --size 4 | tee build.txt
