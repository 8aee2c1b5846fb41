#!/usr/bin/env bash
# Issue #25, eighth pass: as ruletargets.sh, at twice the dose: v3 against v3 +
# `--rule-targets 0.5` (half of the prior's tasks take a logical rule of their categorical
# columns as target). From the repository root.
bash benchmarks/results/pretrain-ablation-v3/ablate.sh ruletargets05 'v3=--feature-grouping' \
  'v3_rule05=--feature-grouping --rule-targets 0.5'
