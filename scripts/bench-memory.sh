#!/usr/bin/env bash
# tt count's memory and state size over a day of stream time at 6,000 posts/s with a
# growing vocabulary, for each way of counting (benches/memory.rs has the details). Writes
# one table per mode to target/bench-memory/MODE.md and prints them.
#
#   scripts/bench-memory.sh                    # window decay max-tags all-time, 24 h each
#   scripts/bench-memory.sh window --hours 6   # one mode, other options passed on
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-memory
mkdir -p "$out"
modes=(window decay max-tags all-time)
extra=()
if [[ $# -gt 0 && $1 != --* ]]; then
    modes=("$1")
    shift
fi
extra=("$@")
cargo bench --bench memory --no-run 2>&1 | tail -1 >&2
for mode in "${modes[@]}"; do
    cargo bench -q --bench memory -- "$mode" "${extra[@]}" > "$out/$mode.md"
    cat "$out/$mode.md"
    echo
done
python3 scripts/bench-memory-table.py "$out"
