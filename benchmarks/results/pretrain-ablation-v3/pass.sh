#!/usr/bin/env bash
# One ablation pass of issue #25: v2 (or BASE, name=flags) against ARM (name=flags), both arms
# started together, one torch thread each, 32 minutes of wall clock each, pinned to one core
# (CORE, default 1), then the paired per-task comparison on 128 held-out prior batches. Resumable: rerunning continues
# each arm from its checkpoint for another --minutes.
# Usage: bash pass.sh OUT ARM    e.g. bash pass.sh runs/ablation-v3-grouping grouping=--feature-grouping
export OMP_NUM_THREADS=1 PYTHONPATH=$PWD
OUT=$1 ARM=$2 CORE=${CORE:-1} BASE=${BASE:-v2=}
PANEL="datasets/diabetes.csv datasets/banknote-authentication.csv datasets/wdbc.csv datasets/credit-approval.csv"
COMMON=(--out "$OUT" --minutes 32 --threads 1 --arm "$BASE" --arm "$ARM")
taskset -c "$CORE" python benchmarks/pretrain_ablation.py "${COMMON[@]}" \
  -- --steps 7000 --eval-every 250 --optimizer muon --panel $PANEL
taskset -c "$CORE" python benchmarks/pretrain_ablation.py "${COMMON[@]}" --report-only --paired 128 \
  -- --steps 7000 --eval-every 250 --optimizer muon --panel $PANEL
