#!/usr/bin/env bash
# TabFM v3 on the CPU: the v2 recipe (Muon on the blocks' matrices, 7,000 steps, 10 snapshots
# kept) plus feature grouping, the one element that won its ablation on real data (README,
# "Real data"). In resumable slices of at most 10 minutes: rerun to continue. THREADS torch
# threads (default 2, the issue's budget; the 2026-12-04 run used 1, pinned to core 1 with
# CORE=1, because the other core ran a benchmark).
source "$(dirname "$0")/env.sh"
PANEL="datasets/diabetes.csv datasets/banknote-authentication.csv datasets/wdbc.csv datasets/credit-approval.csv"
for slice in $(seq 1 20); do
  "${PIN[@]}" $PY -m tabfm.pretrain --steps 7000 --optimizer muon --keep-snapshots 10 \
    --eval-every 250 --feature-grouping --threads "$THREADS" --minutes 10 \
    --checkpoint runs/v3/tabfm.pt --resume --panel $PANEL
  step=$($PY -c "import torch; print(torch.load('runs/v3/tabfm.pt', weights_only=True)['step'])")
  echo "slice $slice ended at step $step"
  [ "$step" -ge 7000 ] && break
done
