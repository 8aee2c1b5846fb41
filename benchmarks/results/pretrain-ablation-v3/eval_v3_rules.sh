#!/usr/bin/env bash
# Issue #25's shipping gate for v3 + rule targets (train_v3_rules.sh's checkpoint
# runs/v3r/tabfm.pt; gate.sh): the shipped v3 weights (V3, default tabfm/weights, v3 when this
# ran) against v3r on the 16 shipped datasets, then a fine-tuning step of both. From the
# repository root; THREADS torch threads (default 2), pinned to CORE if set.
bash "$(dirname "$0")/gate.sh" v3r "v3=${V3:-tabfm/weights}"
