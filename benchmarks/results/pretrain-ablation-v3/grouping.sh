#!/usr/bin/env bash
# Issue #25, third pass: v2 against feature grouping alone (the first pass's leader, which costs
# no steps, unlike the thinking rows that sank the second pass), on one core (CORE, default 1;
# it ran with CORE=0): about 16 core-minutes per arm, the budget of the first two passes. See
# pass.sh.
bash "$(dirname "$0")/pass.sh" runs/ablation-v3-grouping 'grouping=--feature-grouping'
