#!/bin/bash
# default_ft with the category shuffles (the new default) against ../finetune-levers/base (the
# same command before them, 2026-12-04, TabFM v3): the datasets with whole-number columns of
# <= 3 levels (tic-tac-toe, car, credit-approval's binary codes) and diabetes, which has none
# and so must reproduce its earlier scores exactly. One thread per process, two at once.
# NAME=finetune-inference-only was run at 760cdc7 (shuffles at prediction only); NAME=finetune
# with the training episodes shuffled too (FinetuneConfig.category_shuffle, the default).
cd "$(git rev-parse --show-toplevel)"
NAME=${NAME:-finetune}
C="--methods zero_shot,default_ft --folds 3 --split kfold --device cpu --seed 0 --backend tabfm --threads 1 --max-rows 1000 --max-features 100 --portfolio none"
run() { name=$1 core=$2; shift 2
  OMP_NUM_THREADS=1 PYTHONPATH=$PWD taskset -c "$core" .venv/bin/python -m tuner bench \
    --out runs/cs-ft-$NAME/$name --datasets "$@" $C > runs/cs-ft-$NAME/$name.log 2>&1; }
mkdir -p runs/cs-ft-$NAME
run a 0 tic-tac-toe car & run b 1 credit-approval diabetes & wait
mkdir -p benchmarks/results/category-shuffles/$NAME
cat runs/cs-ft-$NAME/a/results.csv > benchmarks/results/category-shuffles/$NAME/results.csv
tail -n +2 runs/cs-ft-$NAME/b/results.csv >> benchmarks/results/category-shuffles/$NAME/results.csv
