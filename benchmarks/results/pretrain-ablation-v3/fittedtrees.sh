#!/usr/bin/env bash
# Issue #25, fifth pass: TabICL-style tree layers in the prior (tree models fitted to random
# targets; scikit-learn's decision tree / extra trees / random forest, TabICL's XGBoost member
# left out: xgboost is not installable here) on top of v3 (v2 + feature grouping). v3 against
# v3 + `--fitted-trees 0.5` (half of the prior's tree layers fitted, half random oblivious
# trees): ablate.sh (equal wall clock on one core, the paired prior report on the default
# prior's held-out tasks for both arms, then the 16 shipped datasets). From the repository root.
bash benchmarks/results/pretrain-ablation-v3/ablate.sh fittedtrees 'v3=--feature-grouping' \
  'v3_fit=--feature-grouping --fitted-trees 0.5'
