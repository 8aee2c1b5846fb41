#!/usr/bin/env bash
# The CUDA check of the project, in one go (about 9 minutes on one H200):
#   1. the GPU-marked tests, then the fine-tuning and tuner tests with the device set to CUDA
#      (CAUSALMIX_TEST_DEVICE=cuda);
#   2. fine-tuning steps/s and peak memory at context 512, 1024 and 2048
#      (benchmarks/finetune_throughput.py: TabFM, plus TabICL/TabPFN on tiny checkpoints where
#      their packages are installed);
#   3. the warm-vs-cold trial profile (benchmarks/trial_profile.py);
#   4. `tune --workers K` for K = 1, 2, 4, 8, a fixed number of trials each, with trials per
#      hour and GPU utilisation (benchmarks/trial_profile.py --skip-profile).
# Two more parts run only when named (the issue "On a GPU: time to a tuned model"):
#   batching: fine-tuning the 3 inner folds together vs one by one, seconds and operators per
#      step (benchmarks/fold_batching.py, 1-4 min);
#   study: the 20-trial `default` study on diabetes, folds one by one and together, with wall
#      time and GPU utilisation (benchmarks/trial_profile.py --study 20, up to 9 min).
# Each part has its own time limit, so a hang in one still leaves the others' figures; the
# limits add up to 9 minutes with the setup (on an H200 the 4-trial K = 8 run may not fit: then
# run the `workers` part alone). Name parts to run only those. Logs go to $OUT
# (default ./gpu_check_out). Run from the repository root, in an environment where the project
# is importable (pip install -e . or PYTHONPATH=$PWD).
#
#   bash benchmarks/gpu_check.sh                     # on the GPU machine: every part
#   bash benchmarks/gpu_check.sh workers             # one part
#   GPU_CHECK_SMOKE=1 bash benchmarks/gpu_check.sh   # tiny settings, any machine (CPU too)
set -u
OUT=${OUT:-$PWD/gpu_check_out}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
section() { echo; echo "=== $1 ($(date +%T))"; }

if [ "${GPU_CHECK_SMOKE:-0}" = 1 ]; then
  DEVICE=cpu TEST_LIMIT=60 TESTS=(tests/tabfm/test_finetune.py -k "cuda or oom")
  CONTEXTS=(64 128) STEPS=2 WORKERS=1,2 THROUGHPUT_TRIALS=2 SPACE=fast
  BATCHING=(--repeats 1 --set epochs=1 --set steps_per_epoch=2 --set context_size=64) STUDY=2
else
  DEVICE=cuda TEST_LIMIT=150 TESTS=(tests/tabfm/test_finetune.py tests/tabfm/test_finetune_folds.py tests/tuner)
  CONTEXTS=(512 1024 2048) STEPS=10 WORKERS=1,2,4,8 THROUGHPUT_TRIALS=4 SPACE=default
  BATCHING=(--repeats 3) STUDY=20
fi

PARTS=${*:-tests throughput profile workers}
wants() { [[ " $PARTS " == *" $1 "* ]]; }

section "machine"
{ nvidia-smi 2>&1 || echo "no nvidia-smi"; "$PYTHON" -c "
import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda,
'available', torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"; nproc; } \
  2>&1 | tee "$OUT/machine.txt"

wants tests && section "tests: GPU-marked, then fine-tuning and tuner tests on $DEVICE" && {
  CAUSALMIX_TEST_DEVICE=$DEVICE timeout 45 "$PYTHON" -m pytest -p no:cacheprovider -q -rs \
    -m gpu tests
  echo "gpu-marked tests: exit $?"
  CAUSALMIX_TEST_DEVICE=$DEVICE timeout "$TEST_LIMIT" "$PYTHON" -m pytest -p no:cacheprovider \
    -q -rfEs --durations=10 "${TESTS[@]}"
  echo "fine-tuning and tuner tests on $DEVICE: exit $? (124: stopped at ${TEST_LIMIT}s)"
} 2>&1 | tee "$OUT/tests.log"

wants throughput && section "fine-tuning throughput" && timeout 45 \
  "$PYTHON" benchmarks/finetune_throughput.py --device "$DEVICE" --contexts "${CONTEXTS[@]}" \
  --steps "$STEPS" 2>&1 | tee "$OUT/throughput.log"

wants profile && section "trial profile: cold / warm / warm-repeat / no cache" && timeout 110 \
  "$PYTHON" benchmarks/trial_profile.py --data datasets/diabetes.csv --device "$DEVICE" \
  --space "$SPACE" --n-folds 2 --trials 1 2>&1 | tee "$OUT/profile.log"

wants workers && section "tune --workers K: trials per hour, GPU utilisation" && timeout 180 \
  "$PYTHON" benchmarks/trial_profile.py --data datasets/diabetes.csv --device "$DEVICE" \
  --space "$SPACE" --n-folds 2 --skip-profile --workers "$WORKERS" \
  --throughput-trials "$THROUGHPUT_TRIALS" 2>&1 | tee "$OUT/workers.log"

wants batching && section "fold-batched fine-tuning vs one by one" && timeout 240 \
  "$PYTHON" benchmarks/fold_batching.py --device "$DEVICE" "${BATCHING[@]}" \
  2>&1 | grep -v USDT | tee "$OUT/batching.log"

wants study && section "a $STUDY-trial study, folds one by one and together" && timeout 540 \
  "$PYTHON" benchmarks/trial_profile.py --data datasets/diabetes.csv --device "$DEVICE" \
  --space "$SPACE" --skip-profile --study "$STUDY" --pruners median --fold-batching on,off \
  2>&1 | tee "$OUT/study.log"

section "done"
