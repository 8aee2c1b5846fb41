#!/usr/bin/env bash
# Issue #25, second pass: v2 against the two leading elements together (feature grouping + 16
# thinking rows), on core 1 of the 2-core machine (the other ran a bench process): about 16
# core-minutes per arm, the first pass's budget. See pass.sh.
bash "$(dirname "$0")/pass.sh" runs/ablation-v3-combined \
  'grouping_thinking16=--feature-grouping --thinking-rows 16'
