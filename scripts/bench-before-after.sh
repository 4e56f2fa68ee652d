#!/usr/bin/env bash
# Wall time of two builds of tt on the same commands, interleaved run by run on one core
# (taskset -c 0), medians of N runs: for changes that must not cost speed.
#   scripts/bench-before-after.sh OLD_TT NEW_TT [N]
# Inputs: target/bench-data/{captures,gen}.ndjson (scripts/bench-tags.sh builds them) and
# the tag uses of gen.ndjson.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/lib.sh
old=$1 new=$2 n=${3:-7}
d=target/bench-data
uses=$(mktemp)
trap 'rm -f "$uses"' EXIT
"$new" tags --quiet "$d/gen.ndjson" > "$uses"
echo "| command | old, median s | new, median s | new/old |"
echo "| --- | --- | --- | --- |"
while IFS='@' read -r name cmd; do
  : > /tmp/ba.old; : > /tmp/ba.new
  for _ in $(seq "$n"); do
    for side in old new; do
      tt=$old; [ "$side" = new ] && tt=$new
      /usr/bin/time -f "%e" -a -o /tmp/ba.$side taskset -c 0 bash -c "${cmd//TT/$tt}" > /dev/null
    done
  done
  o=$(median < /tmp/ba.old); w=$(median < /tmp/ba.new)
  echo "| $name | $o | $w | $(python3 -c "print(f'{$w/$o:.2f}')") |"
done <<LIST
tt tags captures.ndjson@TT tags $d/captures.ndjson
tt tags gen.ndjson@TT tags $d/gen.ndjson
tt count (all time)@TT count $uses
tt count --time event --batch 2s@TT count --time event --batch 2s $uses
tt count --time event --batch 2s --window 1m --distinct users@TT count --time event --batch 2s --window 1m --distinct users $uses
tt count --time event --batch 200ms | tt top 10 --by trend@TT count --time event --batch 200ms $uses | TT top 10 --by trend
LIST
