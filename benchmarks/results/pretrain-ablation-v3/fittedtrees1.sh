#!/usr/bin/env bash
# Issue #25, sixth pass: the fifth pass (fittedtrees.sh) at the full dose, every tree layer of
# the prior fitted to random targets (`--fitted-trees 1`; the prior's SCMs without tree layers,
# about half, are unchanged). ablate.sh: equal wall clock on one core, the paired prior report,
# then the 16 shipped datasets. From the repository root.
bash benchmarks/results/pretrain-ablation-v3/ablate.sh fittedtrees1 'v3=--feature-grouping' \
  'v3_fit1=--feature-grouping --fitted-trees 1'
