#!/usr/bin/env bash
# Installs tt (cargo install) and runs the main job on bundled real tweets: hashtags
# (tt tags), counted per day of the tweets' own time with trend scores (tt count), and the
# leaders of the last day, by count and by trend (tt top).
# (The live pipeline from `tt fetch` into the browser chart of `tt serve` takes its place
# once those land.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo install --locked --quiet --path .
export PATH="$HOME/.cargo/bin:$PATH"
input=tests/fixtures/data/twitter-v1-rest_rtweet.ndjson.gz
echo "tt tags $input | tt count --time event --batch 1d | tt top 10 --format table | tail" >&2
tt tags "$input" | tt count --quiet --time event --batch 1d > /tmp/tt-demo-counts.ndjson
tt top 10 --format table /tmp/tt-demo-counts.ndjson | tail -13
echo "the last day with trending tags (far above their own baseline that day):" >&2
tt top 5 --by trend --format table /tmp/tt-demo-counts.ndjson | awk 'BEGIN { RS = "" } /\n *1  #/ { last = $0 } END { print last }'
