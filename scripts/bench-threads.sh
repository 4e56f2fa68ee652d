#!/usr/bin/env bash
# tt tags on all cores against one (README "All cores"): -j1, -j2 (and -jN for N in
# $THREADS) on the same files, rounds interleaved, median wall time, CPU time and peak
# memory of each, and the ratio to -j1. Also what two cores can give at all here: two
# independent `tt tags -j1` run at once ("2 x -j1"), whose speed-up (2 x the -j1 time over
# theirs) no program splitting the work can beat, since nothing is shared. Inputs: 300,000 tweets of gen_tweets.py --seed 1
# (1.1 GB, in /dev/shm) and the real captures repeated (target/bench-data/captures.ndjson,
# built by scripts/bench-tags.sh). Usage: scripts/bench-threads.sh [ROUNDS=7]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/lib.sh
rounds=${1:-7}
cargo build --release --quiet
tt=$PWD/target/release/tt
gen=/dev/shm/tt-bench-gen300k.ndjson
[ -s "$gen" ] || python3 tests/fixtures/gen_tweets.py --count 300000 --seed 1 > "$gen"
inputs=("$gen")
[ -s target/bench-data/captures.ndjson ] && inputs+=(target/bench-data/captures.ndjson)
echo "| input | MB | threads | wall s (median of $rounds) | CPU s | peak MiB | speed-up vs -j1 |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for f in "${inputs[@]}"; do
  mb=$(( $(stat -c %s "$f") / 1000000 ))
  declare -A wall=() cpu=() peak=()
  pair=""
  for _ in $(seq "$rounds"); do
    for j in 1 2 ${THREADS:-}; do
      /usr/bin/time -o /tmp/tt-bench-threads.time -f "%e %U %S %M" "$tt" tags -q -j"$j" "$f" > /dev/null 2>&1
      read -r w u s m < /tmp/tt-bench-threads.time
      wall[$j]+="$w "; cpu[$j]+="$(echo "$u + $s" | bc) "; peak[$j]+="$m "
    done
    t=$(date +%s.%N)
    "$tt" tags -q -j1 "$f" > /dev/null 2>&1 & "$tt" tags -q -j1 "$f" > /dev/null 2>&1; wait
    pair+="$(echo "$(date +%s.%N) - $t" | bc) "
  done
  one=$(echo "${wall[1]}" | tr ' ' '\n' | grep . | median)
  for j in 1 2 ${THREADS:-}; do
    w=$(echo "${wall[$j]}" | tr ' ' '\n' | grep . | median)
    c=$(echo "${cpu[$j]}" | tr ' ' '\n' | grep . | median)
    m=$(echo "${peak[$j]}" | tr ' ' '\n' | grep . | median)
    printf '| %s | %s | -j%s | %.2f | %.2f | %.1f | %.2fx |\n' "$(basename "$f")" "$mb" "$j" "$w" "$c" \
      "$(echo "$m / 1024" | bc -l)" "$(echo "$one / $w" | bc -l)"
  done
  p=$(echo "$pair" | tr ' ' '\n' | grep . | median)
  printf '| %s | %s | 2 x -j1 at once | %.2f | | | %.2fx (the ceiling) |\n' "$(basename "$f")" "$mb" "$p" \
    "$(echo "2 * $one / $p" | bc -l)"
done
