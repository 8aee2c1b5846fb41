#!/usr/bin/env bash
# Issue #25, ninth pass: the full v3 training (train_v3.sh: the v2 recipe + feature grouping,
# 7,000 steps, Muon, 10 snapshots kept, same seed) with rule targets at the dose the seventh
# pass found (`--rule-targets 0.25`), for the shipping gate against the shipped v3
# (eval_v3_rules.sh). In resumable slices of at most 10 minutes: rerun to continue. THREADS torch
# threads (default 2); the 2026-12-05 run used 1, pinned to core 1 (CORE=1), like v3's.
bash "$(dirname "$0")/train.sh" v3r 7000 250 --feature-grouping --rule-targets 0.25
