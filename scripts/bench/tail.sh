#!/usr/bin/env bash
# Where the pipeline's wall time goes after `tt tags` has exited (BENCHMARKS.md, "Against
# DuckDB and chDB"): `tt tags F | tt count | tt top 10` on the 1.1 GB benchmark file, with
# a timestamp taken as each stage exits; prints the medians of the whole pipeline, of
# `tt count` after `tt tags` (its all-time update of every tag, sorted and written) and of
# `tt top` after `tt count` (reading and ranking that update). Each binary given is run in
# turn, rounds interleaved, so two builds compare in one run.
# Usage: scripts/bench/tail.sh [ROUNDS=9] [TT_BINARY...] (default: target/release/tt)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
rounds=${1:-9}
shift || true
if [ $# -eq 0 ]; then
  cargo build --release --quiet
  set -- "$PWD/target/release/tt"
fi
f=/dev/shm/tt-bench-gen300k.ndjson
[ -s "$f" ] || python3 tests/fixtures/gen_tweets.py --count 300000 --seed 1 > "$f"
ms() { echo $(( ($2 - $1) / 1000000 )); }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
declare -A all=() count=() top=()
for _ in $(seq "$rounds"); do
  for tt in "$@"; do
    start=$(date +%s%N)
    { "$tt" tags -q "$f"; date +%s%N > "$t/tags"; } |
      { "$tt" count -q; date +%s%N > "$t/count"; } |
      { "$tt" top 10 -q > /dev/null; date +%s%N > "$t/top"; }
    all[$tt]+="$(ms "$start" "$(cat "$t/top")") "
    count[$tt]+="$(ms "$(cat "$t/tags")" "$(cat "$t/count")") "
    top[$tt]+="$(ms "$(cat "$t/count")" "$(cat "$t/top")") "
  done
done
echo "| binary | pipeline ms | tt count after tt tags ms | tt top after tt count ms |"
echo "| --- | --- | --- | --- |"
for tt in "$@"; do
  echo "| $tt | $(echo "${all[$tt]}" | median) | $(echo "${count[$tt]}" | median) | $(echo "${top[$tt]}" | median) |"
done
echo "(medians of $rounds interleaved rounds)"
