#!/usr/bin/env bash
# How benchmarks/results/bench-cpu/ (16 datasets x 5 folds) and bench-cpu-tuned/ (6 x 3) were computed,
# on the 2-core development machine, 2026-11-30, from commit 9b6e4cf (MiceProtein's augmentation
# arms from 37120ff, see the end). Three processes ran in
# parallel, one torch thread each; main-a and main-b share one protocol and were merged with
# --report-only (the command at the top of bench-cpu/summary.md).

S="--set epochs=2 --set steps_per_epoch=10 --set episodes_per_step=2 --set context_size=256 --threads 1 --seed 0"
export OMP_NUM_THREADS=1
PY=${PYTHON:-python}
$PY -m tuner bench --datasets MiceProtein sick pc1 climate-model-simulation-crashes tic-tac-toe car banknote-authentication diabetes \
  --methods zero_shot,default_ft,causalmixft,scm_only --folds 5 $S --out out/main-a > log-a.txt 2>&1 &
$PY -m tuner bench --datasets kr-vs-kp steel-plates-fault anneal wdbc cardiotocography-nsp segment credit-approval website_phishing \
  --methods zero_shot,default_ft,causalmixft,scm_only --folds 5 $S --out out/main-b > log-b.txt 2>&1 &
$PY -m tuner bench --datasets diabetes banknote-authentication car tic-tac-toe credit-approval website_phishing \
  --methods zero_shot,default_ft,causalmixft,tuned --folds 3 --trials 6 --inner-folds 2 $S --out out/tuned > log-c.txt 2>&1 &

# main-a was stopped and restarted as follows (MiceProtein's augmentation arms did not finish:
# PC with the dg test on its 78 nodes ran over 11 minutes on fold 0 without ending).
S="--set epochs=2 --set steps_per_epoch=10 --set episodes_per_step=2 --set context_size=256 --threads 1 --seed 0"
export OMP_NUM_THREADS=1
PY=${PYTHON:-python}
$PY -m tuner bench --datasets sick pc1 climate-model-simulation-crashes tic-tac-toe car banknote-authentication diabetes \
  --methods zero_shot,default_ft,causalmixft,scm_only --folds 5 $S --out out/main-a > log-a2.txt 2>&1
$PY -m tuner bench --datasets MiceProtein --methods zero_shot,default_ft --folds 5 $S --out out/main-a > log-a3.txt 2>&1

# MiceProtein's augmentation arms, once indep_test="auto" kept Fisher-z for tables wider than
# 40 nodes (from the merged directory; the same protocol), then the report over all 16 datasets:
$PY -m tuner bench --datasets MiceProtein --methods zero_shot,default_ft,causalmixft,scm_only \
  --folds 5 $S --out out/main > log-mice.txt 2>&1
$PY -m tuner bench --datasets MiceProtein sick pc1 climate-model-simulation-crashes tic-tac-toe car \
  banknote-authentication diabetes kr-vs-kp steel-plates-fault anneal wdbc cardiotocography-nsp \
  segment credit-approval website_phishing --methods zero_shot,default_ft,causalmixft,scm_only \
  --folds 5 $S --out out/main --report-only
