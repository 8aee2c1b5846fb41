#!/usr/bin/env bash
# Issue #25, second pass: v2 against the two leading elements together (feature grouping + 16
# thinking rows), both arms started together, one torch thread each, 32 minutes of wall clock
# each, on one core of the 2-core machine (the other ran a bench process): about 16 core-minutes
# per arm, the first pass's budget. Then the paired per-task comparison on 128 held-out prior
# batches. Resumable: rerunning continues each arm from its checkpoint for another --minutes.
export OMP_NUM_THREADS=1 PYTHONPATH=$PWD
PANEL="datasets/diabetes.csv datasets/banknote-authentication.csv datasets/wdbc.csv datasets/credit-approval.csv"
ARMS=(--arm v2= --arm grouping_thinking16='--feature-grouping --thinking-rows 16')
taskset -c 1 python benchmarks/pretrain_ablation.py --out runs/ablation-v3-combined --minutes 32 \
  --threads 1 "${ARMS[@]}" -- --steps 7000 --eval-every 250 --optimizer muon --panel $PANEL
taskset -c 1 python benchmarks/pretrain_ablation.py --out runs/ablation-v3-combined --minutes 32 \
  --threads 1 "${ARMS[@]}" --report-only --paired 128 \
  -- --steps 7000 --eval-every 250 --optimizer muon --panel $PANEL
