#!/usr/bin/env bash
# 16 datasets x 5 folds, v2 weights, best-epoch rule of #23 (absolute, 4 validation members).
S="--set epochs=2 --set steps_per_epoch=10 --set episodes_per_step=2 --set context_size=256 --threads 1 --seed 0"
export OMP_NUM_THREADS=1
PY="env PYTHONPATH=/work/runs/bench-v2/src /work/main/.venv/bin/python"
M=zero_shot,default_ft,causalmixft,scm_only
$PY -m tuner bench --datasets MiceProtein steel-plates-fault wdbc cardiotocography-nsp tic-tac-toe \
  --methods $M --folds 5 $S --out out/main-a > log-a.txt 2>&1 &
$PY -m tuner bench --datasets kr-vs-kp anneal sick pc1 climate-model-simulation-crashes segment diabetes credit-approval car banknote-authentication website_phishing \
  --methods $M --folds 5 $S --out out/main-b > log-b.txt 2>&1 &
wait
