#!/usr/bin/env bash
# Installs tt (cargo install) and runs the main job on bundled real tweets: the hashtags of
# a saved Twitter stream, then the ten most used, counted with standard tools.
# (The live pipeline into the browser chart takes its place once `tt fetch`, `count`, `top`
# and `serve` land.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo install --locked --quiet --path .
export PATH="$HOME/.cargo/bin:$PATH"
input=tests/fixtures/data/twitter-v1-rest_rtweet.ndjson.gz
echo "tt tags $input | head -3" >&2
tt tags "$input" | head -3
echo >&2
echo "the 10 most used hashtags in $input (tt tags, then sort | uniq -c):" >&2
tt tags "$input" | grep -o '"tag":"[^"]*"' | cut -d'"' -f4 | sort | uniq -c | sort -rn | head -10
