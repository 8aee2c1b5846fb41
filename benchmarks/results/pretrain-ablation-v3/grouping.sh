#!/usr/bin/env bash
# Issue #25, third pass: v2 against feature grouping alone (the first pass's leader, which costs
# no steps, unlike the thinking rows that sank the second pass), both arms started together, one
# torch thread each, 32 minutes of wall clock each, on one core (CORE, default 1) of the 2-core
# machine: about 16 core-minutes per arm, the budget of the first two passes. Then the paired
# per-task comparison on 128 held-out prior batches. Resumable: rerunning continues each arm
# from its checkpoint for another --minutes.
export OMP_NUM_THREADS=1 PYTHONPATH=$PWD
CORE=${CORE:-1}
PANEL="datasets/diabetes.csv datasets/banknote-authentication.csv datasets/wdbc.csv datasets/credit-approval.csv"
ARMS=(--arm v2= --arm grouping='--feature-grouping')
taskset -c $CORE python benchmarks/pretrain_ablation.py --out runs/ablation-v3-grouping --minutes 32 \
  --threads 1 "${ARMS[@]}" -- --steps 7000 --eval-every 250 --optimizer muon --panel $PANEL
taskset -c $CORE python benchmarks/pretrain_ablation.py --out runs/ablation-v3-grouping --minutes 32 \
  --threads 1 "${ARMS[@]}" --report-only --paired 128 \
  -- --steps 7000 --eval-every 250 --optimizer muon --panel $PANEL
