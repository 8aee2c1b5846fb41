#!/usr/bin/env bash
# Issue #25, ninth pass: weights on 18 tables that were never used to choose a TabFM element,
# the classification CSVs of the project's staging folder that are not shipped in datasets/
# (copied to runs/heldout/ by the first command; not in the repository). Same protocol as the
# gate (<= 1,000 rows, 5 folds, RandomForest and the other baselines in each run). From the
# repository root on the 2-core AMD EPYC machine, 2026-12-05.
mkdir -p runs/heldout
for f in ../shared/datasets/*.csv; do [ -e "datasets/$(basename "$f")" ] || cp "$f" runs/heldout/; done
H=benchmarks/results/pretrain-ablation-v3
run() {  # NAME THREADS CORE WEIGHTS...
  local name=$1 threads=$2 core=$3; shift 3
  OMP_NUM_THREADS=$threads PYTHONPATH=$PWD taskset -c "$core" python benchmarks/zero_shot.py \
    --folds 5 --threads "$threads" --datasets-dir runs/heldout --skip-timing --weights "$@" \
    --csv $H/heldout-$name.csv 2>&1 | grep -v -e UserWarning -e warnings.warn > $H/heldout-$name.txt
}
# the seed-1 pair of ruletargets_seed1.sh (core 0, while train_v3_rules.sh had core 1)
run ruletargets_seed1 1 0 v3=runs/ruletargets_seed1-v3-weights \
  v3_rule=runs/ruletargets_seed1-v3_rule-weights
# the gate's pair (core 0, while eval_v3_rules.sh had core 1)
run v3r 1 0 v3=tabfm/weights v3r=runs/v3r-weights
# the shipped v3 against v2 (both cores, nothing else running)
run v3 2 0,1 v2=benchmarks/results/pretrain-ablation/weights-v2 v3=tabfm/weights
# tenth pass (2026-12-05): the 12,000-step v3 of train_v3_long.sh against the shipped v3 (both
# cores, nothing else running)
run v3long 2 0,1 v3=tabfm/weights v3long=runs/v3long-weights
# tenth pass: the 80-wide v3 of train_w80.sh against the shipped v3 (core 0, while eval_w80.sh
# had core 1)
run w80 1 0 v3=tabfm/weights w80=runs/w80-weights
