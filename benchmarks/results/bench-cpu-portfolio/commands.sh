#!/usr/bin/env bash
# How benchmarks/results/bench-cpu-portfolio/ (tuned with references + the leave-one-dataset-out
# portfolio, 6 datasets x 3 folds) was computed on the 2-core development machine, 2026-12-02,
# from commit 848d152: two processes in parallel, one torch thread each, the same protocol;
# merged with --report-only.
S="--set epochs=2 --set steps_per_epoch=10 --set episodes_per_step=2 --set context_size=256 --threads 1 --seed 0"
export OMP_NUM_THREADS=1
PY=${PYTHON:-python}
M="--methods zero_shot,default_ft,causalmixft,tuned --folds 3 --trials 10 --inner-folds 2"
$PY -m tuner bench --datasets tic-tac-toe car diabetes $M $S --out out/tuned-a > log-a.txt 2>&1 &
$PY -m tuner bench --datasets credit-approval website_phishing banknote-authentication $M $S \
  --out out/tuned-b > log-b.txt 2>&1
wait
mkdir -p out/tuned/runs && cp out/tuned-a/runs/* out/tuned-b/runs/* out/tuned/runs/
cp out/tuned-a/bench.json out/tuned/
$PY -m tuner bench --datasets tic-tac-toe car diabetes credit-approval website_phishing \
  banknote-authentication $M $S --out out/tuned --report-only
