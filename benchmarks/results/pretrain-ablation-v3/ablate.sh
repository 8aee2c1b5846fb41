#!/usr/bin/env bash
# One ablation pass against v3 and its check on real data (issue #25): pass.sh (BASE and ARM
# started together on one core, CORE, default 1, one thread each, 32 minutes each, then the
# paired prior report), then both last checkpoints exported and paired on the 16 shipped
# datasets by benchmarks/zero_shot.py (5 folds, RandomForest in the same run). From the
# repository root.
# Usage: bash ablate.sh NAME 'BASE=flags' 'ARM=flags'
#   writes NAME.txt (prior report), NAME-<arm>.log, zero_shot-NAME.txt / .csv here
set -e
HERE=benchmarks/results/pretrain-ablation-v3
NAME=$1 BASE_ARM=$2 ARM=$3
OUT=runs/ablation-v3-$NAME
BASE=$BASE_ARM bash $HERE/pass.sh $OUT "$ARM" > $HERE/$NAME.txt 2>&1
THREADS=1 CORE=${CORE:-1}
source $HERE/env.sh
arms=("${BASE_ARM%%=*}" "${ARM%%=*}")
weights=()
for arm in "${arms[@]}"; do
  "${PIN[@]}" $PY -m tabfm.pretrain --checkpoint $OUT/$arm.pt --resume --steps 0 \
    --export runs/$NAME-$arm-weights
  cp $OUT/$arm.log $HERE/$NAME-$arm.log 2>/dev/null || true
  weights+=("$arm=runs/$NAME-$arm-weights")
done
"${PIN[@]}" $PY benchmarks/zero_shot.py --folds 5 --threads 1 --weights "${weights[@]}" \
  --csv $HERE/zero_shot-$NAME.csv \
  2>&1 | grep -v -e UserWarning -e warnings.warn > $HERE/zero_shot-$NAME.txt
