#!/usr/bin/env bash
# One full TabFM training of issue #25 (train_v3.sh, train_v3_rules.sh, train_v3_long.sh,
# train_w80.sh): checkpoint runs/NAME/tabfm.pt, STEPS steps with Muon and 10 snapshots kept,
# evaluated every EVAL steps with the real-data panel (monitored only), plus the given
# tabfm.pretrain flags; in resumable slices of at most 10 minutes (rerun to continue). From the
# repository root; THREADS torch threads (default 2), pinned to CORE if set.
# Usage: bash train.sh NAME STEPS EVAL [tabfm.pretrain flags...]
source "$(dirname "$0")/env.sh"
NAME=$1 STEPS=$2 EVAL=$3
shift 3
PANEL="datasets/diabetes.csv datasets/banknote-authentication.csv datasets/wdbc.csv datasets/credit-approval.csv"
for slice in $(seq 1 20); do
  "${PIN[@]}" $PY -m tabfm.pretrain --steps "$STEPS" --optimizer muon --keep-snapshots 10 \
    --eval-every "$EVAL" "$@" --threads "$THREADS" --minutes 10 \
    --checkpoint runs/$NAME/tabfm.pt --resume --panel $PANEL
  step=$($PY -c "import torch; print(torch.load('runs/$NAME/tabfm.pt', weights_only=True)['step'])")
  echo "slice $slice ended at step $step"
  [ "$step" -ge "$STEPS" ] && break
done
