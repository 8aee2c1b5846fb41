#!/usr/bin/env bash
# Issue #25, fifth pass: TabICL-style tree layers in the prior (tree models fitted to random
# targets; scikit-learn's decision tree / extra trees / random forest, TabICL's XGBoost member
# left out: xgboost is not installable here) on top of v3 (v2 + feature grouping). v3 against
# v3 + `--fitted-trees 0.5` (half of the prior's tree layers fitted, half random oblivious trees),
# both started together on one core (CORE, default 1), one thread each, 32 minutes each, with the
# paired prior report (pass.sh; the held-out prior tasks are the default prior's for both arms);
# then both last checkpoints exported and paired on the 16 shipped datasets by
# benchmarks/zero_shot.py (5 folds, RandomForest in the same run). From the repository root.
set -e
HERE=benchmarks/results/pretrain-ablation-v3
OUT=runs/ablation-v3-fit
BASE='v3=--feature-grouping' bash $HERE/pass.sh $OUT \
  'v3_fit=--feature-grouping --fitted-trees 0.5' > $HERE/fittedtrees.txt 2>&1
THREADS=1 CORE=${CORE:-1}
source $HERE/env.sh
for arm in v3 v3_fit; do
  "${PIN[@]}" $PY -m tabfm.pretrain --checkpoint $OUT/$arm.pt --resume --steps 0 \
    --export runs/fit-$arm-weights
  cp $OUT/$arm.log $HERE/fittedtrees-$arm.log 2>/dev/null || true
done
"${PIN[@]}" $PY benchmarks/zero_shot.py --folds 5 --threads 1 \
  --weights v3=runs/fit-v3-weights v3_fit=runs/fit-v3_fit-weights \
  --csv $HERE/zero_shot-fittedtrees.csv \
  2>&1 | grep -v -e UserWarning -e warnings.warn > $HERE/zero_shot-fittedtrees.txt
