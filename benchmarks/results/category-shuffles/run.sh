#!/bin/bash
# The ensemble's category shuffles (categorical_max_levels) against none, zero-shot, paired:
# the 16 shipped datasets (core 0) and 18 tables never used for a choice (core 1; the staging
# folder's classification CSVs not shipped, copied to runs/heldout/ as in
# ../pretrain-ablation-v3/heldout.sh). One torch thread each, RandomForest in each run.
# SEED=1 repeats it with other subsamples, folds and ensemble draws (files *-seed1.*).
cd "$(git rev-parse --show-toplevel)"
R=benchmarks/results/category-shuffles
SEED=${SEED:-0}; S=$([ "$SEED" = 0 ] || echo "-seed$SEED")
mkdir -p runs/heldout
for f in ../shared/datasets/*.csv; do [ -e "datasets/$(basename "$f")" ] || cp "$f" runs/heldout/; done
run() {  # NAME CORE [ARGS...]
  local name=$1 core=$2; shift 2
  OMP_NUM_THREADS=1 PYTHONPATH=$PWD taskset -c "$core" .venv/bin/python benchmarks/zero_shot.py \
    --folds 5 --threads 1 --skip-timing --categorical-max-levels 0 3 --seed "$SEED" --csv $R/$name$S.csv "$@" \
    2>&1 | grep -v -e UserWarning -e warnings.warn > $R/$name$S.txt
}
run shipped 0 & run heldout 1 --datasets-dir runs/heldout & wait
