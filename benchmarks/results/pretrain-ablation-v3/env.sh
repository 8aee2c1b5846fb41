# Sourced by train_v3.sh and eval_v3.sh: run from the repository root (REPO, default $PWD) with
# THREADS torch threads (default 2); "${PIN[@]}" prefixes a command with taskset when CORE is set.
REPO=${REPO:-$PWD}  # the repository root
cd "$REPO"
THREADS=${THREADS:-2}
export PYTHONPATH=$REPO OMP_NUM_THREADS=$THREADS
PY=${PYTHON:-python}
PIN=()
[ -n "${CORE:-}" ] && PIN=(taskset -c "$CORE")
