#!/bin/bash
# #24 lever 1, multi-fidelity over the fine-tuning budget: studies that record every trial's
# learning curves (no pruner, no confirmation, so every trial runs every epoch it would run),
# one thread each, two at once (QUEUE0 on core 0, QUEUE1 on core 1, each a list of datasets
# run one after another; a rerun resumes a study to N trials); then the replay of every rule
# on every study in runs/replay and on the studies of benchmarks/trial_profile.py --study 20
# (its directory as $1, optional).
cd "$(git rev-parse --show-toplevel)"
N=${N:-12}
QUEUE0=${QUEUE0:-tic-tac-toe}
QUEUE1=${QUEUE1:-credit-approval}
mkdir -p runs/replay
study() { data=$1; core=$2
  OMP_NUM_THREADS=1 taskset -c "$core" .venv/bin/causalmix tune --data "datasets/$data.csv" \
    --study "replay-$data" --storage "sqlite:///runs/replay/$data.db" --space default \
    --n-trials "$N" --seed 0 --pruner none --confirm-seeds 0 --no-progress \
    --cache-dir runs/replay/cache-"$data" >> "runs/replay/$data.log" 2>&1; }
queue() { core=$1; shift; for data in "$@"; do study "$data" "$core"; done; }
if [ -z "$REPLAY_ONLY" ]; then
  # shellcheck disable=SC2086
  queue 0 $QUEUE0 & queue 1 $QUEUE1 & wait
fi
urls=()
for db in runs/replay/*.db; do urls+=("sqlite:///$db"); done
[ -n "$1" ] && urls+=("sqlite:///$1/profile.db")
.venv/bin/python benchmarks/pruning_replay.py --storage "${urls[@]}"
