#!/usr/bin/env bash
# Issue #25's shipping gate for v3 + TabICL's prior (train_v3_tabicl.sh's checkpoint
# runs/v3_tabicl/tabfm.pt; gate.sh): the shipped v3 weights (V3, default tabfm/weights) against
# v3_tabicl on the 16 shipped datasets, then a fine-tuning step of both. From the repository
# root; THREADS torch threads (default 2), pinned to CORE if set.
bash "$(dirname "$0")/gate.sh" v3_tabicl "v3=${V3:-tabfm/weights}"
