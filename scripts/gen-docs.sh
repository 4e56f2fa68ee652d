#!/usr/bin/env bash
# Regenerates man/*.1 from the clap definitions (the test in tests/it/docs.rs checks them).
set -euo pipefail
cd "$(dirname "$0")/.."
TT_BLESS=1 cargo test --quiet --test it -- docs::man_pages_match_the_cli
