#!/usr/bin/env bash
# Issue #25, fourth pass: schedule-free AdamW for the non-matrix weights on top of v3 (v2 +
# feature grouping). v3 against v3 + `--optimizer muon_schedulefree` (Muon keeps the blocks'
# matrices and the cosine schedule), both started together on one core (CORE, default 1), one
# thread each, 32 minutes each, with the paired prior report (pass.sh); then both last
# checkpoints exported and paired on the 16 shipped datasets by benchmarks/zero_shot.py (5 folds,
# RandomForest in the same run). From the repository root.
set -e
HERE=benchmarks/results/pretrain-ablation-v3
OUT=runs/ablation-v3-sf
BASE='v3=--feature-grouping' bash $HERE/pass.sh $OUT \
  'v3_sf=--feature-grouping --optimizer muon_schedulefree' > $HERE/schedulefree.txt 2>&1
THREADS=1 CORE=${CORE:-1}
source $HERE/env.sh
for arm in v3 v3_sf; do
  "${PIN[@]}" $PY -m tabfm.pretrain --checkpoint $OUT/$arm.pt --resume --steps 0 \
    --export runs/$arm-weights
  cp $OUT/$arm.log $HERE/schedulefree-$arm.log 2>/dev/null || true
done
"${PIN[@]}" $PY benchmarks/zero_shot.py --folds 5 --threads 1 \
  --weights v3=runs/v3-weights v3_sf=runs/v3_sf-weights --csv $HERE/zero_shot-schedulefree.csv \
  2>&1 | grep -v -e UserWarning -e warnings.warn > $HERE/zero_shot-schedulefree.txt
