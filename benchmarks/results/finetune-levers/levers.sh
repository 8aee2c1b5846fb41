#!/bin/bash
# #24 lever quality check: default_ft at the default recipe vs cheaper recipes, paired.
cd "$(git rev-parse --show-toplevel)"
D="diabetes credit-approval tic-tac-toe car climate-model-simulation-crashes wdbc"
C="--methods zero_shot,default_ft --folds 3 --split kfold --device cpu --seed 0 --backend tabfm --threads 1 --max-rows 1000 --max-features 100 --portfolio none"
run() { name=$1; shift; [ -f runs/levers/$name/summary.md ] && return
  OMP_NUM_THREADS=1 PYTHONPATH="$(git rev-parse --show-toplevel)" taskset -c 0 python -m tuner bench --out runs/levers/$name --datasets $D $C "$@" > runs/levers/$name.log 2>&1; }
mkdir -p runs/levers
run base
run ep2 --set episodes_per_step=2
run ctx256 --set context_size=256
run ep2-ctx256 --set episodes_per_step=2 --set context_size=256
echo done > runs/levers/DONE
