#!/usr/bin/env bash
# Issue #25's shipping gate for v3 (train_v3.sh's checkpoint runs/v3/tabfm.pt; gate.sh): v2's
# weights (tabfm/weights when this ran, kept in pretrain-ablation/weights-v2) against v3 on the
# 16 shipped datasets, then a fine-tuning step of both. From the repository root; THREADS torch
# threads (default 2), pinned to CORE if set.
bash "$(dirname "$0")/gate.sh" v3 v2=benchmarks/results/pretrain-ablation/weights-v2
