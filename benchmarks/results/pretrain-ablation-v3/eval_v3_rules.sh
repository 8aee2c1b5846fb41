#!/usr/bin/env bash
# Issue #25's shipping gate for v3 + rule targets (train_v3_rules.sh's checkpoint
# runs/v3r/tabfm.pt), from the repository root: export the weights, then in one run of
# benchmarks/zero_shot.py the shipped v3 weights (tabfm/weights when this ran) and v3r on the 16
# shipped datasets (5 folds, paired on the same folds, seed and baselines, RandomForest
# included) with the inference time per member, then a default fine-tuning step's time
# (context 512) of both. THREADS torch threads (default 2), pinned to CORE if set.
source "$(dirname "$0")/env.sh"
HERE=benchmarks/results/pretrain-ablation-v3
V3=${V3:-tabfm/weights}
"${PIN[@]}" $PY -m tabfm.pretrain --checkpoint runs/v3r/tabfm.pt --resume --steps 0 \
  --export runs/v3r-weights
"${PIN[@]}" $PY benchmarks/zero_shot.py --folds 5 --threads "$THREADS" \
  --weights v3=$V3 v3r=runs/v3r-weights --csv $HERE/zero_shot-v3r.csv \
  2>&1 | grep -v -e UserWarning -e warnings.warn > $HERE/zero_shot-v3r.txt
"${PIN[@]}" $PY benchmarks/finetune_throughput.py --device cpu --backends tabfm --contexts 512 \
  --steps 10 --epochs 2 --threads "$THREADS" --weights v3=$V3 v3r=runs/v3r-weights \
  > $HERE/finetune_step-v3r.txt 2>&1
