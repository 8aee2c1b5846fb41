#!/usr/bin/env bash
# The v3 recipe (train_v3.sh: Muon, feature grouping, seed 0) with the rest of issue #25's
# training budget (<= 120 minutes on 2 threads): a 12,000-step schedule instead of 7,000, on two
# torch threads. Same resumable slices of at most 10 minutes: rerun to continue. The shipped v3
# used 85 minutes of one thread; its prior loss was still falling at the end of its schedule.
source "$(dirname "$0")/env.sh"
PANEL="datasets/diabetes.csv datasets/banknote-authentication.csv datasets/wdbc.csv datasets/credit-approval.csv"
for slice in $(seq 1 20); do
  "${PIN[@]}" $PY -m tabfm.pretrain --steps 12000 --optimizer muon --keep-snapshots 10 \
    --eval-every 500 --feature-grouping --threads "$THREADS" --minutes 10 \
    --checkpoint runs/v3long/tabfm.pt --resume --panel $PANEL
  step=$($PY -c "import torch; print(torch.load('runs/v3long/tabfm.pt', weights_only=True)['step'])")
  echo "slice $slice ended at step $step"
  [ "$step" -ge 12000 ] && break
done
