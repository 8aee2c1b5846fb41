#!/usr/bin/env bash
# Issue #25, seventh pass: targets that are logical rules of the observed categorical columns
# (`--rule-targets 0.25`: a quarter of the prior's tasks take their target from a random
# decision tree over level subsets of their coded columns, or for two classes an OR of
# conjunctions of `column == level` literals; `tabfm/_prior.py::_rule_classes`). The real-data
# gap to RandomForest sits on such tables (car, tic-tac-toe, kr-vs-kp, anneal), and no other
# element of the prior makes the target an exact rule of observed codes. v3 against
# v3 + `--rule-targets 0.25`: ablate.sh (equal wall clock on one core, the paired prior report
# on the default prior's held-out tasks for both arms, then the 16 shipped datasets). From the
# repository root.
bash benchmarks/results/pretrain-ablation-v3/ablate.sh ruletargets 'v3=--feature-grouping' \
  'v3_rule=--feature-grouping --rule-targets 0.25'
