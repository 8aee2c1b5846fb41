#!/usr/bin/env bash
# TabFM v2 on the CPU: the shipped recipe with Muon on the blocks' matrices, 10 snapshots kept
# for checkpoint averaging, 2 torch threads, in resumable slices of at most 10 minutes.
REPO=${REPO:-$PWD}  # the repository root
cd "$REPO"
export PYTHONPATH=$REPO OMP_NUM_THREADS=2
PY=${PYTHON:-python}
PANEL="datasets/diabetes.csv datasets/banknote-authentication.csv datasets/wdbc.csv datasets/credit-approval.csv"
for slice in $(seq 1 12); do
  $PY -m tabfm.pretrain --steps 7000 --optimizer muon --keep-snapshots 10 --eval-every 250 \
    --threads 2 --minutes 10 --checkpoint runs/v2/tabfm.pt --resume --panel $PANEL
  step=$($PY -c "import torch; print(torch.load('runs/v2/tabfm.pt', weights_only=True)['step'])")
  echo "slice $slice ended at step $step"
  [ "$step" -ge 7000 ] && break
done
