#!/usr/bin/env bash
# Issue #25's shipping gate for a full training run (checkpoint runs/NAME/tabfm.pt), from the
# repository root: export its weights to runs/NAME-weights, then in one run of
# benchmarks/zero_shot.py the reference weights REF and NAME on the 16 shipped datasets (5
# folds, paired on the same folds, seed and baselines, RandomForest included) with the
# inference time per member (zero_shot-NAME.txt / .csv), then a default fine-tuning step's
# time (context 512) of both (finetune_step-NAME.txt). THREADS torch threads (default 2),
# pinned to CORE if set.
# Usage: bash gate.sh NAME REF_NAME=REF_DIR
source "$(dirname "$0")/env.sh"
HERE=benchmarks/results/pretrain-ablation-v3
NAME=$1 REF=$2
"${PIN[@]}" $PY -m tabfm.pretrain --checkpoint runs/$NAME/tabfm.pt --resume --steps 0 \
  --export runs/$NAME-weights
"${PIN[@]}" $PY benchmarks/zero_shot.py --folds 5 --threads "$THREADS" \
  --weights $REF $NAME=runs/$NAME-weights --csv $HERE/zero_shot-$NAME.csv \
  2>&1 | grep -v -e UserWarning -e warnings.warn > $HERE/zero_shot-$NAME.txt
"${PIN[@]}" $PY benchmarks/finetune_throughput.py --device cpu --backends tabfm --contexts 512 \
  --steps 10 --epochs 2 --threads "$THREADS" --weights $REF $NAME=runs/$NAME-weights \
  > $HERE/finetune_step-$NAME.txt 2>&1
