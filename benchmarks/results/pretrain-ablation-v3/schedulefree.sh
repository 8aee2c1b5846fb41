#!/usr/bin/env bash
# Issue #25, fourth pass: schedule-free AdamW for the non-matrix weights on top of v3 (v2 +
# feature grouping). v3 against v3 + `--optimizer muon_schedulefree` (Muon keeps the blocks'
# matrices and the cosine schedule): ablate.sh (equal wall clock on one core, the paired prior
# report, then the 16 shipped datasets). From the repository root. (Run on 2026-12-04 as the
# same steps written out, with the weights exported to runs/v3-weights and runs/v3_sf-weights.)
bash benchmarks/results/pretrain-ablation-v3/ablate.sh schedulefree 'v3=--feature-grouping' \
  'v3_sf=--feature-grouping --optimizer muon_schedulefree'
