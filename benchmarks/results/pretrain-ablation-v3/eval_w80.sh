#!/usr/bin/env bash
# Issue #25's shipping gate for the 80-wide v3 (train_w80.sh's checkpoint runs/w80/tabfm.pt;
# gate.sh): the shipped v3 weights (V3, default tabfm/weights, v3 when this ran) against w80 on
# the 16 shipped datasets, then a fine-tuning step of both. From the repository root; THREADS
# torch threads (default 2), pinned to CORE if set.
bash "$(dirname "$0")/gate.sh" w80 "v3=${V3:-tabfm/weights}"
