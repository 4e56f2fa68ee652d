#!/usr/bin/env bash
# Agreement of `tt tags` with Twitter's own entities.hashtags, tweet by tweet, over every
# v1.1 and v2 file in a data directory (default ../shared/data): prints the table that the
# README quotes. Same tags, same order, same code-point indices counts as agreement.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(realpath "${1:-../shared/data}")
TT_AGREEMENT_DATA="$dir" cargo test --release --quiet --test it -- \
  tags::agrees_with_twitter_entities --exact --nocapture 2>&1 | grep '|'
