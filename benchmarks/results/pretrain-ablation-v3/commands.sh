#!/usr/bin/env bash
# Issue #25: each v3 element alone on top of the shipped v2 recipe (Muon, 7,000-step schedule),
# all five arms started together, one torch thread each, 50 minutes of wall clock each on the
# 2-core machine (about 20 core-minutes per arm, the budget of the Muon-vs-AdamW ablation).
# Resumable: rerunning continues every arm from its checkpoint for another --minutes.
export OMP_NUM_THREADS=1 PYTHONPATH=$PWD
PANEL="datasets/diabetes.csv datasets/banknote-authentication.csv datasets/wdbc.csv datasets/credit-approval.csv"
python benchmarks/pretrain_ablation.py --out runs/ablation-v3 --minutes 50 --threads 1 \
  --arm v2= --arm thinking16='--thinking-rows 16' \
  --arm rms_decay='--norm rms --residual-decay 0.95' --arm grouping='--feature-grouping' \
  --arm layers5='--layers 5' \
  -- --steps 7000 --eval-every 250 --optimizer muon --panel $PANEL
