#!/usr/bin/env bash
# Width (issue #25's last architectural element): the v3 recipe (train_v3.sh: 7,000 steps, Muon,
# feature grouping, seed 0) with embed_dim 80 instead of 64, the widest model within the CPU
# budgets (model_budget.py, 2 threads: a fine-tuning step 1.32x v2's, budget 1.5x; embed_dim 96
# is 1.59x). Same steps as v3, so it gets more compute than v3, not less (train_v3_long.sh showed
# that more steps of the 64-wide model do not change the real-data score). Resumable slices of at
# most 10 minutes: rerun to continue.
bash "$(dirname "$0")/train.sh" w80 7000 500 --feature-grouping --embed-dim 80
