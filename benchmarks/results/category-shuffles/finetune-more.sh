#!/bin/bash
# default_ft before (the commit before the shuffles, 652d43d, in a git worktree) and after (this
# checkout) on four more shipped datasets with whole-number columns of <= 3 levels, same
# command, folds and seeds; one thread per process, the two arms side by side.
cd "$(git rev-parse --show-toplevel)"
OLD=${OLD:-/tmp/wt-old}
[ -d "$OLD" ] || git worktree add "$OLD" 652d43d
D="website_phishing kr-vs-kp sick anneal"
C="--methods zero_shot,default_ft --folds 3 --split kfold --device cpu --seed 0 --backend tabfm --threads 1 --max-rows 1000 --max-features 100 --portfolio none"
run() { name=$1 core=$2 code=$3
  (cd "$code" && OMP_NUM_THREADS=1 PYTHONPATH="$code" taskset -c "$core" \
    "$OLDPWD/.venv/bin/python" -m tuner bench --datasets $D $C \
    --out "$OLDPWD/runs/cs-more/$name" \
    > "$OLDPWD/runs/cs-more/$name.log" 2>&1); }
mkdir -p runs/cs-more
run before 0 "$OLD" & run after 1 "$PWD" & wait
R=benchmarks/results/category-shuffles/finetune-more
mkdir -p $R && cp runs/cs-more/before/results.csv $R/before.csv && cp runs/cs-more/after/results.csv $R/after.csv
