#!/usr/bin/env bash
# Checks that two builds of tt write byte-identical output on the benchmark inputs: every
# format of `tt tags`, `tt count` in every counting mode, `tt top` in every format and
# ranking, and `tt fetch sim`. For refactors that must not change behaviour:
#
#   cp target/release/tt /tmp/tt-before      # before the change
#   ...change, cargo build --release...
#   scripts/same-output.sh /tmp/tt-before target/release/tt
#
# Inputs are those of scripts/bench-tags.sh (built under target/bench-data/ if missing);
# TT_SAME_LINES (default 200000) cuts each to its first lines to keep a run under a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1")
new=$(realpath "$2")
shared=${SHARED:-../shared}
data=target/bench-data
lines=${TT_SAME_LINES:-200000}
mkdir -p "$data"
if [ ! -s "$data/gen.ndjson" ]; then
  python3 "$shared/bench/gen_tweets.py" --count 60000 --seed 1 > "$data/gen.ndjson"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -n "$lines" "$data/gen.ndjson" > "$work/gen.ndjson"
inputs=("$work/gen.ndjson")
if [ -s "$data/captures.ndjson" ]; then
  head -n "$lines" "$data/captures.ndjson" > "$work/captures.ndjson"
  inputs+=("$work/captures.ndjson")
fi
for f in tests/fixtures/data/*.ndjson; do inputs+=("$f"); done

fails=0
checks=0
# same NAME CMD...: runs CMD with $TT set to each build, in a fresh directory each, and
# compares stdout and stderr.
same() {
  local name=$1
  shift
  for side in old new; do
    local tt=$old
    [ "$side" = new ] && tt=$new
    rm -rf "$work/$side" && mkdir "$work/$side"
    (cd "$work/$side" && TT=$tt bash -c "$*" > "$work/$side.out" 2> "$work/$side.err") || echo "exit $?" >> "$work/$side.out"
  done
  checks=$((checks + 1))
  if ! cmp -s "$work/old.out" "$work/new.out"; then
    echo "DIFFERENT stdout: $name"
    diff <(head -c 2000 "$work/old.out") <(head -c 2000 "$work/new.out") | head -10 || true
    fails=$((fails + 1))
  elif ! cmp -s "$work/old.err" "$work/new.err"; then
    echo "DIFFERENT stderr: $name"
    diff "$work/old.err" "$work/new.err" | head -10 || true
    fails=$((fails + 1))
  fi
}

for f in "${inputs[@]}"; do
  n=$(basename "$f")
  for fmt in "" "--format csv" "--with-indices" "--keep-case" "--no-retweets" "--input text"; do
    same "tags $fmt $n" "\$TT tags $fmt '$f'"
  done
done
uses=$work/uses.ndjson
$new tags --quiet "$work/gen.ndjson" > "$uses"
cat "$uses" > "$work/uses-all.ndjson"
for f in "${inputs[@]:1}"; do $new tags --quiet "$f" >> "$work/uses-all.ndjson"; done
for u in "$uses" "$work/uses-all.ndjson"; do
  n=$(basename "$u")
  for mode in "" "--window 1m" "--half-life 30s" "--distinct users" "--window 30s --distinct users" \
      "--half-life 1m --distinct users" "--baseline 10s --min-support 3"; do
    # Without --time event the one batch ends at the wall clock: that field differs.
    same "count $mode $n" "\$TT count $mode '$u' | sed -E 's/\"end\":\"[^\"]*\"/\"end\":0/'"
    same "count --time event --batch 2s $mode $n" "\$TT count --time event --batch 2s $mode '$u'"
    same "count --time event --batch 1s --lateness 5s $mode $n" "\$TT count --time event --batch 1s --lateness 5s $mode '$u'"
    # The snapshot holds hash sets in hash order: it is checked through tt top and a resume.
    same "count --state, event $mode $n" "\$TT count --time event --batch 2s --state s.json $mode '$u' && \$TT count --time event --batch 2s --state s.json $mode '$u' && \$TT top 5 --state s.json"
  done
done
for mode in "" "--distinct users" "--half-life 10s" "--window 10s --distinct users"; do
  $new count --time event --batch 2s $mode "$uses" > "$work/counts.ndjson"
  cp "$work/counts.ndjson" "$work/counts-$(echo "$mode" | tr -dc a-z).ndjson"
  for by in count trend users; do
    for fmt in ndjson csv table; do
      same "top 10 --by $by --format $fmt ($mode)" "\$TT top 10 --by $by --format $fmt '$work/counts-$(echo "$mode" | tr -dc a-z).ndjson'"
    done
  done
done
same "fetch sim" "\$TT fetch sim --seed 7 --rate 5000 --speed max --limit 20000 --start 2026-01-01T00:00:00Z"
same "fetch replay" "\$TT fetch replay --speed max '$work/gen.ndjson' | head -c 100000"
same "bad lines" "printf '%s\n' '{\"tag\":' '[1]' 'x' '{\"text\":\"#a\"}' | \$TT tags; printf '%s\n' '{\"tag\":' 'x' '{\"tag\":\"a\",\"text\":\"A\",\"id\":null,\"at\":null,\"user\":null,\"rt\":false}' | \$TT count | sed -E 's/\"end\":\"[^\"]*\"/\"end\":0/'"

echo "$((checks - fails)) passed, $fails failed"
[ "$fails" = 0 ]
