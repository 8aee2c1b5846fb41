#!/usr/bin/env bash
# TabFM pretraining on one GPU in one go (about 9 minutes on one H200), then its zero-shot
# evaluation, with the weights returned under $OUT:
#   1. calibration: the step time of this machine (bf16 autocast, the prior drawn by loader
#      workers), so that the cosine schedule ends inside TRAIN_MINUTES;
#   2. training: the CPU recipe (Muon on the blocks' matrices, AdamW on the rest, 10 snapshots
#      kept for checkpoint averaging, the architecture flags in RECIPE) for TRAIN_MINUTES
#      (default 6), in one slice;
#   3. export of the weights ($OUT/weights, with the recipe card), averaging the last
#      AVERAGE_LAST snapshots (default 1: the last weights);
#   4. `benchmarks/zero_shot.py --folds 5` on every shipped dataset with those weights and the
#      shipped ones, paired on the same folds, RandomForest and the other baselines in the same
#      run ($OUT/zero_shot.txt).
# Run from the repository root where the project is importable (pip install -e . or
# PYTHONPATH=$PWD). Ship the weights only if their mean ROC-AUC beats the shipped model's in
# that run.
#
#   bash benchmarks/gpu_pretrain.sh                       # on the GPU machine
#   GPU_PRETRAIN_SMOKE=1 bash benchmarks/gpu_pretrain.sh  # tiny settings, any machine (CPU too)
set -u
OUT=${OUT:-$PWD/gpu_pretrain_out}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
section() { echo; echo "=== $1 ($(date +%T))"; }
PANEL="datasets/diabetes.csv datasets/banknote-authentication.csv datasets/wdbc.csv datasets/credit-approval.csv"

if [ "${GPU_PRETRAIN_SMOKE:-0}" = 1 ]; then
  DEVICE=cpu TRAIN_MINUTES=${TRAIN_MINUTES:-0.15} WORKERS=1 CALIBRATION_STEPS=4
  MODEL="--embed-dim 16 --layers 1 --max-cells 2048 --max-rows 96 --max-features 6"
  EVAL="--datasets diabetes --folds 2 --skip-timing" EVAL_EVERY=4 PANEL="datasets/diabetes.csv"
else
  DEVICE=cuda TRAIN_MINUTES=${TRAIN_MINUTES:-6} WORKERS=$(( $(nproc) - 2 )) CALIBRATION_STEPS=60
  MODEL="" EVAL="--folds 5" EVAL_EVERY=250
fi
AVERAGE_LAST=${AVERAGE_LAST:-1}
# The architecture flags of the recipe on top of v2's: feature grouping, the one element that
# won its ablation (benchmarks/results/pretrain-ablation-v3/README.md: +1.73 ROC-AUC points on
# the 16 shipped datasets, 15 of 16, at equal wall clock); RECIPE="" trains the v2 architecture.
RECIPE=${RECIPE---feature-grouping}

section "machine"
{ nvidia-smi 2>&1 || echo "no nvidia-smi"; "$PYTHON" -c "
import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; nproc; } \
  2>&1 | tee "$OUT/machine.txt"

section "calibration: $CALIBRATION_STEPS steps on $DEVICE with $WORKERS loader workers"
STEPS=$("$PYTHON" benchmarks/pretrain_ablation.py --calibrate --device "$DEVICE" \
  --loader-workers "$WORKERS" --calibration-steps "$CALIBRATION_STEPS" \
  --minutes "$TRAIN_MINUTES" $MODEL $RECIPE 2> "$OUT/calibration.log")
echo "schedule: $STEPS steps in $TRAIN_MINUTES minutes" | tee -a "$OUT/calibration.log"

section "training"
"$PYTHON" -m tabfm.pretrain --steps "$STEPS" --optimizer muon --keep-snapshots 10 \
  --eval-every "$EVAL_EVERY" --device "$DEVICE" --loader-workers "$WORKERS" \
  --minutes "$TRAIN_MINUTES" --checkpoint "$OUT/tabfm.pt" --panel $PANEL $MODEL $RECIPE \
  --export "$OUT/weights" --average-last "$AVERAGE_LAST" 2>&1 | tee "$OUT/train.log"

section "zero-shot evaluation"
"$PYTHON" benchmarks/zero_shot.py --weights shipped=tabfm/weights new="$OUT/weights" \
  --device "$DEVICE" $EVAL \
  2>&1 | tee "$OUT/zero_shot.txt"

section "done"
