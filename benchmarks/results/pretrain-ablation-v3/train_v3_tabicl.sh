#!/usr/bin/env bash
# The v3 recipe with half of the prior's tasks from TabICL's prior (`--tabicl-prior 0.5`, the
# eleventh pass's arm; needs `pip install xgboost`), trained in full: 7,000 steps, resumable
# 10-minute slices (rerun to continue). THREADS torch threads (default 2); the 2026-12-05 run
# used 1, pinned to core 0 with CORE=0, started beside the eleventh pass (on core 1) before its
# result was known.
bash "$(dirname "$0")/train.sh" v3_tabicl 7000 250 --feature-grouping --tabicl-prior 0.5
