#!/usr/bin/env bash
# TabFM v3 on the CPU: the v2 recipe (Muon on the blocks' matrices, 7,000 steps, 10 snapshots
# kept) plus feature grouping, the one element that won its ablation on real data (README,
# "Real data"). In resumable slices of at most 10 minutes: rerun to continue. THREADS torch
# threads (default 2, the issue's budget; the 2026-12-04 run used 1, pinned to core 1 with
# CORE=1, because the other core ran a benchmark).
bash "$(dirname "$0")/train.sh" v3 7000 250 --feature-grouping
