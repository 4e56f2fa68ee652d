#!/usr/bin/env bash
# Throughput of `tt tags` on >= 200 MB of realistic Twitter v1.1 input, on one core, beside
# a bare serde_json pass over the same lines (the parsing limit). Prints the table that the
# README quotes. Inputs (built once, under target/bench-data/):
#   captures.ndjson  the two real statuses/sample captures of ../shared/data, repeated 45x
#   gen.ndjson       60,000 tweets from ../shared/bench/gen_tweets.py --seed 1
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED:-../shared}
out=target/bench-data
mkdir -p "$out"
if [ ! -s "$out/captures.ndjson" ]; then
  for _ in $(seq 45); do
    cat "$shared"/data/twitter-v1-stream-capture-2014_datasci.ndjson \
        "$shared"/data/twitter-v1-stream-capture-2016_datasci.ndjson
  done > "$out/captures.ndjson"
fi
if [ ! -s "$out/gen.ndjson" ]; then
  python3 "$shared/bench/gen_tweets.py" --count 60000 --seed 1 > "$out/gen.ndjson"
fi
cargo build --release --quiet
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "pinned to core 0 with taskset; medians of 7 interleaved runs"
taskset -c 0 cargo bench --quiet --bench tags -- "$out/captures.ndjson" "$out/gen.ndjson"

# Wall time on a shared machine drifts; instruction counts do not. Both sides counted by
# callgrind over the first 5 MB of each input.
if command -v valgrind >/dev/null; then
  bench=$(cargo bench --no-run --bench tags 2>&1 | grep -o 'target/release/deps/tags-[a-z0-9]*' | head -1) || {
    echo "bench-tags.sh: the tags benchmark does not build: cargo bench --no-run --bench tags" >&2
    exit 1
  }
  echo
  echo "| input (first 5 MB) | limit, instructions | tt tags, instructions | tt vs limit |"
  echo "| --- | --- | --- | --- |"
  for f in captures gen; do
    head -c 5000000 "$out/$f.ndjson" > "$out/$f.5mb.ndjson"
    ir() { TT_BENCH_ONE=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" "$out/$f.5mb.ndjson" 2>&1 | grep -o 'Collected : [0-9]*' | awk '{print $3}'; }
    l=$(ir limit); t=$(ir tags)
    echo "| $f | $l | $t | $(( 100 * l / t )) % |"
  done
fi
