#!/usr/bin/env bash
# Issue #25's shipping gate for the 12,000-step v3 (train_v3_long.sh's checkpoint
# runs/v3long/tabfm.pt; gate.sh): the shipped v3 weights (V3, default tabfm/weights, v3 when this
# ran) against v3long on the 16 shipped datasets, then a fine-tuning step of both. From the
# repository root; THREADS torch threads (default 2), pinned to CORE if set.
bash "$(dirname "$0")/gate.sh" v3long "v3=${V3:-tabfm/weights}"
