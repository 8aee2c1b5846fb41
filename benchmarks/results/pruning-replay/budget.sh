#!/bin/bash
# #24 lever 1, multi-fidelity over the fine-tuning budget: studies that record every trial's
# learning curves (no pruner, no confirmation, so every trial runs every epoch it would run),
# one thread each, two at once; then the replay of every rule on them and on the studies of
# benchmarks/trial_profile.py --study 20 (its directory as $1, optional).
cd "$(git rev-parse --show-toplevel)"
N=${N:-12}
mkdir -p runs/replay
study() { data=$1; core=$2
  OMP_NUM_THREADS=1 taskset -c "$core" .venv/bin/causalmix tune --data "datasets/$data.csv" \
    --study "replay-$data" --storage "sqlite:///runs/replay/$data.db" --space default \
    --n-trials "$N" --seed 0 --pruner none --confirm-seeds 0 --no-progress \
    --cache-dir runs/replay/cache-"$data" > "runs/replay/$data.log" 2>&1; }
if [ -z "$REPLAY_ONLY" ]; then
  study tic-tac-toe 0 & study credit-approval 1 & wait
fi
urls=(sqlite:///runs/replay/tic-tac-toe.db sqlite:///runs/replay/credit-approval.db)
[ -n "$1" ] && urls+=("sqlite:///$1/profile.db")
.venv/bin/python benchmarks/pruning_replay.py --storage "${urls[@]}"
