#!/usr/bin/env bash
# Two reports a newcomer can open (tt report), written to target/report-demo/:
#   captures.html  the real tweets bundled in tests/fixtures/data (v1.1 stream and REST
#                  captures, 2009-2021), counted per day by their own times;
#   sim.html       two hours of the built-in simulator at 200 tweets/s, a planted burst
#                  every 10 minutes, counted in 10 s batches with a 10 min half-life.
# Usage: scripts/report-demo.sh   (then open target/report-demo/*.html in a browser)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
tt=target/release/tt
out=target/report-demo
mkdir -p "$out"
# The captures are not in time order: a lateness of 20 years keeps every day open to
# the end, so none of them is late.
"$tt" tags -q tests/fixtures/data/twitter-v1-*.ndjson* |
  "$tt" count -q --time event --batch 1d --lateness 7300d |
  "$tt" report --period 30d -o "$out/captures.html"
"$tt" fetch sim --rate 200 --speed max --start 2026-01-01T00:00:00Z --limit 1440000 \
    --burst-every 10m --burst-len 3m |
  "$tt" tags -q |
  "$tt" count -q --time event --batch 10s --half-life 10m |
  "$tt" report -o "$out/sim.html"
echo "open $out/captures.html and $out/sim.html in a browser (they need no network)"
