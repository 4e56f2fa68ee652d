#!/usr/bin/env bash
# Load on tt serve (loopback only, bounded): wrk with 32 connections for 10 s on the JSON
# endpoint while a leaderboard arrives every 500 ms, then the server's memory and thread
# count before, right after, and 10 s after the load. Prints the table the README quotes.
# Needs Debian's wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
tt=$PWD/target/release/tt
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
port=${PORT:-5097}
work=$(mktemp -d)
trap 'kill $feeder $server 2>/dev/null || true; rm -rf "$work"' EXIT
mkfifo "$work/in"
$tt serve --bind "127.0.0.1:$port" < "$work/in" 2> "$work/serve.err" &
server=$!
# A leaderboard every 500 ms, from the simulator through the real pipeline.
( $tt fetch sim --rate 2000 | $tt tags | $tt count --batch 500ms | $tt top 10 > "$work/in" ) &
feeder=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/top.json" | grep -q '"top"' && break; sleep 0.2; done
sample() { awk '/^VmRSS/ {r=$2} /^Threads/ {t=$2} END {printf "%d KiB, %d threads", r, t}' "/proc/$server/status"; }
before=$(sample)
wrk -t1 -c32 -d10s --latency "http://127.0.0.1:$port/api/top.json" > "$work/wrk.txt"
after=$(sample)
sleep 10
later=$(sample)
rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
total=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
errors=$(awk '/Socket errors|Non-2xx/ {print}' "$work/wrk.txt" | tr '\n' ' ')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "| what | figure |"
echo "| --- | --- |"
echo "| wrk -t1 -c32 -d10s on /api/top.json, leaderboards every 500 ms | $rps requests/s ($total requests) |"
echo "| latency p50 / p99 | $p50 / $p99 |"
echo "| socket errors, non-2xx | ${errors:-none} |"
echo "| tt serve before the load | $before |"
echo "| right after the load | $after |"
echo "| 10 s after the load | $later |"
