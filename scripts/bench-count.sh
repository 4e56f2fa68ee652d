#!/usr/bin/env bash
# tt count throughput (tag uses per second, one core) and cost per batch against the size
# of the state (10 thousand, 1 million, 10 million distinct tags). Prints the tables the
# README quotes. Inputs (built once, under target/bench-data/): the tag uses of 60,000
# tweets from ../shared/bench/gen_tweets.py --seed 1 (one minute of stream), repeated 40
# times with each copy's times moved one minute on (3.3 M uses over 40 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/lib.sh
shared=${SHARED:-../shared}
out=target/bench-data
mkdir -p "$out"
cargo build --release --quiet
tt=target/release/tt
if [ ! -s "$out/gen.ndjson" ]; then
  python3 "$shared/bench/gen_tweets.py" --count 60000 --seed 1 > "$out/gen.ndjson"
fi
if [ ! -s "$out/uses40.ndjson" ]; then
  $tt tags --quiet "$out/gen.ndjson" > "$out/uses1.ndjson"
  python3 - "$out/uses1.ndjson" > "$out/uses40.ndjson" <<'PY'
import json, sys, datetime as dt
lines = open(sys.argv[1]).read().splitlines()
for k in range(40):
    for l in lines:
        r = json.loads(l)
        t = dt.datetime.fromisoformat(r["at"].replace("Z", "+00:00")) + dt.timedelta(minutes=k)
        r["at"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        print(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
PY
  $tt count --time event --batch 200ms "$out/uses40.ndjson" > "$out/counts-event.ndjson"
fi
uses=$(wc -l < "$out/uses40.ndjson")
batches=$(wc -l < "$out/counts-event.ndjson")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); one core (taskset -c 0); medians of 7 runs"
echo
echo "| command | input | median time | rate | peak RSS |"
echo "| --- | --- | --- | --- | --- |"
t=$(for _ in $(seq 7); do /usr/bin/time -f "%e" taskset -c 0 $tt count "$out/uses40.ndjson" 2>&1 >/dev/null | tail -1; done | median)
rss=$(/usr/bin/time -f "%M" taskset -c 0 $tt count "$out/uses40.ndjson" 2>&1 >/dev/null | tail -1)
echo "| tt count | $uses tag uses | $t s | $(python3 -c "print(f'{$uses/$t:,.0f}')") uses/s | $((rss / 1024)) MiB |"
t=$(for _ in $(seq 7); do /usr/bin/time -f "%e" taskset -c 0 $tt count --time event --batch 2s "$out/uses40.ndjson" 2>&1 >/dev/null | tail -1; done | median)
echo "| tt count --time event --batch 2s | $uses tag uses | $t s | $(python3 -c "print(f'{$uses/$t:,.0f}')") uses/s | |"
t=$(for _ in $(seq 7); do /usr/bin/time -f "%e" taskset -c 0 $tt top 10 "$out/counts-event.ndjson" 2>&1 >/dev/null | tail -1; done | median)
echo "| tt top 10 | $batches count updates (200 ms batches) | $t s | $(python3 -c "print(f'{$batches/max($t,0.005):,.0f}')") batches/s | |"
echo
echo "Cost per batch against the state's size (cargo bench --bench count):"
echo
taskset -c 0 cargo bench --quiet --bench count -- "$@"
