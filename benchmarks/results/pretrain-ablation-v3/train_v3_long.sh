#!/usr/bin/env bash
# The v3 recipe (train_v3.sh: Muon, feature grouping, seed 0) with the rest of issue #25's
# training budget (<= 120 minutes on 2 threads): a 12,000-step schedule instead of 7,000, on two
# torch threads. Same resumable slices of at most 10 minutes: rerun to continue. The shipped v3
# used 85 minutes of one thread; its prior loss was still falling at the end of its schedule.
bash "$(dirname "$0")/train.sh" v3long 12000 500 --feature-grouping
