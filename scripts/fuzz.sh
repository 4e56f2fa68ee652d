#!/usr/bin/env bash
# Fuzzes tt's input parsers with cargo-fuzz (libFuzzer), each target for SECONDS (default
# 600), two at a time, seeded from the test fixtures. Needs `cargo install cargo-fuzz`.
# Runs on the stable toolchain with --sanitizer none (Rust's own checks, debug assertions
# on: a panic, overflow or out-of-bounds index is a crash). Prints one line per target.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
corpus=target/fuzz-corpus
mkdir -p "$corpus"/{post_line,hashtags,state_load,update_form,bunzip,bunzip_split}
# Seeds: real post lines, the conformance texts, a real state file, classic forms, and
# real post lines compressed by bzip2.
if [ ! -e "$corpus/.seeded" ]; then
  i=0
  for f in tests/fixtures/data/*.ndjson; do
    head -n 40 "$f" | while IFS= read -r line; do
      i=$((i + 1)); printf '%s' "$line" > "$corpus/post_line/$(basename "$f").$i"
    done
  done
  python3 - "$corpus/hashtags" <<'PY'
import json, sys
for i, l in enumerate(open("tests/fixtures/twitter-text/hashtag-cases.jsonl")):
    open(f"{sys.argv[1]}/case{i}", "w").write(json.loads(l)["text"])
PY
  cargo build --quiet
  d=$(mktemp -d)
  target/debug/tt tags tests/fixtures/data/twitter-v1-rest_twitter4s.ndjson \
    | target/debug/tt count --state "$d/s.json" --distinct users > /dev/null
  cp "$d/s.json" "$corpus/state_load/state"
  printf '%s' "label=%5B%27%23rust%27%2C+%27%23python%27%5D&data=%5B12%2C+7%5D" > "$corpus/update_form/classic"
  printf '%s' "label=['#a', \"#it's\"]&data=[1, 2.5]&token=x" > "$corpus/update_form/plain"
  for f in tests/fixtures/data/*.ndjson; do head -c 20000 "$f" | bzip2 -1 > "$corpus/bunzip/$(basename "$f").bz2"; done
  # Several blocks (100 kB each at -1) and two streams, within the 64 KiB inputs.
  for f in tests/fixtures/data/*.ndjson; do
    b=$(basename "$f")
    head -c 250000 "$f" | bzip2 -1 | head -c 65536 > "$corpus/bunzip_split/$b.bz2"
    cat "$corpus/bunzip/$b.bz2" "$corpus/bunzip/$b.bz2" > "$corpus/bunzip_split/$b.2.bz2"
  done
  touch "$corpus/.seeded"
fi
cargo fuzz build -s none >/dev/null 2>&1
run() {
  local t=$1
  if cargo fuzz run -s none "$t" "$corpus/$t" -- -max_total_time="$secs" -max_len=65536 -timeout=10 \
      > "target/fuzz-$t.log" 2>&1; then
    echo "$t: no crash in ${secs}s, $(grep -o 'Done [0-9]* runs' "target/fuzz-$t.log" | grep -o '[0-9]*') runs, corpus $(ls "$corpus/$t" | wc -l) inputs"
  else
    echo "$t: CRASH, see target/fuzz-$t.log and fuzz/artifacts/$t/"
    return 1
  fi
}
status=0
run post_line & a=$!; run hashtags & b=$!
wait $a || status=1; wait $b || status=1
run state_load & a=$!; run update_form & b=$!
wait $a || status=1; wait $b || status=1
run bunzip & a=$!; run bunzip_split & b=$!
wait $a || status=1; wait $b || status=1
exit $status
