#!/usr/bin/env bash
# RELIABILITY 11, long run: SIGKILL a running `tt count --batch 20ms --state` at random
# moments ITERATIONS times (default 300): the state always loads, batch numbers never go
# back, at most one temp file exists, and finishing the file gives exact counts.
# (The same test runs 100 kills in CI. Debug build: its input is sized so that kills land
# mid-file at that speed.)
set -euo pipefail
cd "$(dirname "$0")/.."
TT_KILL_ITERATIONS=${1:-300} cargo test --quiet --test it -- \
  count::kill_9_at_random_moments_loses_and_doubles_nothing --exact --nocapture 2>&1 \
  | grep -E "kills|test result|panicked"
