#!/usr/bin/env bash
# Issue #25, eleventh pass: TabICL's own prior (`tabicl.prior`, its MLP / tree SCM mix with
# XGBoost tree layers among others; xgboost became installable on this machine on 2026-12-05)
# mixed with ours: v3 (`--feature-grouping`) against v3 + `--tabicl-prior 0.5` (half of the
# tasks from TabICL's prior at the same shape), through ablate.sh (equal wall clock on one core,
# the paired prior report on the default prior's held-out tasks for both arms, then the 16
# shipped datasets). Needs `pip install xgboost` beside the dev install. From the repository root.
bash benchmarks/results/pretrain-ablation-v3/ablate.sh tabiclprior 'v3=--feature-grouping' \
  'v3_tabicl=--feature-grouping --tabicl-prior 0.5'
