#!/usr/bin/env bash
# Soak run (issue #6): the full pipeline from the simulator at 20,000 tweets/s for
# MINUTES (default 30), with tt serve under 4 polling clients, sampling every process's
# RSS and thread count every 10 s. Checks at the end, and prints a table:
#   - no process died and none wrote an error on stderr;
#   - no lost batch: the leaderboards' batch numbers run 1, 2, 3, ... without a gap, one
#     per 2 s, and the count stage saw the simulator's rate (posts per batch);
#   - memory flat after warm-up: each process's RSS at the end within 10 % (+2 MiB) of its
#     RSS at the first quarter of the run;
#   - the pollers got only 200s.
# Loopback only; every loop is bounded by the run's length.
# Usage: scripts/soak.sh [MINUTES] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
rate=${2:-20000}
cargo build --release --quiet
tt=$PWD/target/release/tt
port=${PORT:-5098}
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
for f in fetch tags count top.in top serve.in; do mkfifo "$work/$f.out"; done

# The share of the simulator's posts that carry a hashtag (tt count sees only those).
tagged=$($tt fetch sim --rate "$rate" --speed max --limit 200000 | $tt tags | $tt count |
  python3 -c 'import json, sys; print(sum(json.loads(l)["posts"] for l in sys.stdin) / 200000)')

# fetch outlives the sampling window; it is stopped with SIGINT after the last sample.
$tt fetch sim --rate "$rate" --duration "$((minutes * 60 + 60))s" > "$work/fetch.out" 2> "$work/fetch.err" & pids+=($!); p_fetch=$!
$tt tags < "$work/fetch.out" > "$work/tags.out" 2> "$work/tags.err" & pids+=($!); p_tags=$!
$tt count --batch 2s --state "$work/s.json" < "$work/tags.out" > "$work/count.out" 2> "$work/count.err" & pids+=($!); p_count=$!
# Copies of the batches (posts per batch) and of the leaderboards, for the checks.
tee "$work/counts.ndjson" < "$work/count.out" > "$work/top.in.out" & pids+=($!)
$tt top 10 < "$work/top.in.out" > "$work/top.out" 2> "$work/top.err" & pids+=($!); p_top=$!
tee "$work/top.ndjson" < "$work/top.out" > "$work/serve.in.out" & pids+=($!)
$tt serve --bind "127.0.0.1:$port" < "$work/serve.in.out" 2> "$work/serve.err" & pids+=($!); p_serve=$!
sleep 1

end=$((SECONDS + minutes * 60))
# Four clients polling the JSON endpoint, as open pages without event streams do.
for i in 1 2 3 4; do
  ( while [ $SECONDS -lt $end ]; do
      curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$port/api/top.json" || echo 000
      sleep 0.25
    done > "$work/poll$i.codes" ) & pids+=($!)
done

sample() { awk '/^VmRSS/ {r=$2} /^Threads/ {t=$2} END {printf "%d %d", r, t}' "/proc/$1/status" 2>/dev/null || echo "0 0"; }
echo "t fetch_rss fetch_thr tags_rss tags_thr count_rss count_thr top_rss top_thr serve_rss serve_thr" > "$work/samples"
while [ $SECONDS -lt $end ]; do
  sleep 10
  echo "$SECONDS $(sample $p_fetch) $(sample $p_tags) $(sample $p_count) $(sample $p_top) $(sample $p_serve)" >> "$work/samples"
done
kill -INT "$p_fetch"
wait "$p_fetch" || true
wait "$p_top" || true

fail=0
check() { if eval "$2"; then echo "| $1 | ok |"; else echo "| $1 | FAILED |"; fail=1; fi; }
batches=$(wc -l < "$work/top.ndjson")
gaps=$(python3 - "$work/top.ndjson" <<'PY'
import json, sys
b = [json.loads(l)["batch"] for l in open(sys.argv[1])]
print(sum(1 for x, y in zip(b, b[1:]) if y != x + 1) + (0 if b and b[0] == 1 else 1))
PY
)
posts=$(python3 - "$work/counts.ndjson" <<'PY'
import json, sys, statistics
p = [json.loads(l)["posts"] for l in open(sys.argv[1])][1:-1]
print(int(statistics.median(p)) if p else 0)
PY
)
flat=$(python3 - "$work/samples" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])][1:]
names = ["fetch", "tags", "count", "top", "serve"]
q = rows[len(rows) // 4]
last = rows[-1]
bad = []
for i, n in enumerate(names):
    a, b = int(q[1 + 2 * i]), int(last[1 + 2 * i])
    if b > a * 1.10 + 2048:
        bad.append(f"{n} {a}->{b} KiB")
print("; ".join(bad) if bad else "flat")
PY
)
# tt serve says where it serves and that its input ended: information, not errors.
errors=$(cat "$work"/*.err | grep -v -e "^tt serve: serving" -e "^tt serve: end of input" | head -5 || true)
polls=$(cat "$work"/poll*.codes | wc -l)
bad_polls=$(cat "$work"/poll*.codes | grep -vc '^200$' || true)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "run: $minutes min, tt fetch sim --rate $rate, batches of 2 s, 4 pollers every 250 ms"
echo
echo "| check | result |"
echo "| --- | --- |"
check "no error on any stderr ($(echo "$errors" | head -1))" '[ -z "$errors" ]'
check "leaderboards: $batches, batch numbers without a gap (gaps: $gaps)" '[ "$gaps" = 0 ] && [ "$batches" -ge $((minutes * 30)) ]'
want=$(python3 -c "print(int($rate * 2 * $tagged))")
check "median tagged posts per 2 s batch: $posts (rate x 2 x tagged share $tagged = $want)" '[ "$posts" -ge $((want * 95 / 100)) ]'
check "memory after warm-up (first quarter to end): $flat" '[ "$flat" = flat ]'
check "polls: $polls, not 200: $bad_polls" '[ "$bad_polls" = 0 ] && [ "$polls" -gt 0 ]'
echo
echo "RSS KiB / threads at the first quarter and at the end:"
python3 - "$work/samples" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])][1:]
names = ["fetch", "tags", "count", "top", "serve"]
q, last = rows[len(rows) // 4], rows[-1]
print("| process | quarter | end |")
print("| --- | --- | --- |")
for i, n in enumerate(names):
    print(f"| tt {n} | {q[1+2*i]} KiB, {q[2+2*i]} thr | {last[1+2*i]} KiB, {last[2+2*i]} thr |")
PY
cp "$work/samples" target/soak-samples.txt 2>/dev/null || true
rm -rf "$work"
exit $fail
