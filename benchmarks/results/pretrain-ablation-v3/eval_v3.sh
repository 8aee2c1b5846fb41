#!/usr/bin/env bash
# Issue #25's shipping gate for v3 (train_v3.sh's checkpoint runs/v3/tabfm.pt), from the
# repository root: export the weights, then in one run of benchmarks/zero_shot.py the v2
# weights and v3 on the 16 shipped datasets (5 folds, paired on the same folds, seed and
# baselines, RandomForest included) with the inference time per member, then a default
# fine-tuning step's time (context 512) of both. THREADS torch threads (default 2), pinned to
# CORE if set.
source "$(dirname "$0")/env.sh"
HERE=benchmarks/results/pretrain-ablation-v3
V2=benchmarks/results/pretrain-ablation/weights-v2  # tabfm/weights when this ran
"${PIN[@]}" $PY -m tabfm.pretrain --checkpoint runs/v3/tabfm.pt --resume --steps 0 \
  --export runs/v3-weights
"${PIN[@]}" $PY benchmarks/zero_shot.py --folds 5 --threads "$THREADS" \
  --weights v2=$V2 v3=runs/v3-weights --csv $HERE/zero_shot-v3.csv \
  2>&1 | grep -v -e UserWarning -e warnings.warn > $HERE/zero_shot-v3.txt
"${PIN[@]}" $PY benchmarks/finetune_throughput.py --device cpu --backends tabfm --contexts 512 \
  --steps 10 --epochs 2 --threads "$THREADS" --weights v2=$V2 v3=runs/v3-weights \
  > $HERE/finetune_step-v3.txt 2>&1
