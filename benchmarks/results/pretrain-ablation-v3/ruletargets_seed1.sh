#!/usr/bin/env bash
# Issue #25, ninth pass: the seventh pass (ruletargets.sh, v3 against v3 + `--rule-targets
# 0.25`) again with a second training seed for both arms (`--seed 1`: other initial weights
# and other prior draws), to see whether its 11 / 5 on the 16 shipped datasets replicates.
# The 2026-12-05 run used core 0 (CORE=0) while train_v3_rules.sh had core 1. From the
# repository root.
bash benchmarks/results/pretrain-ablation-v3/ablate.sh ruletargets_seed1 \
  'v3=--feature-grouping --seed 1' 'v3_rule=--feature-grouping --rule-targets 0.25 --seed 1'
