#!/usr/bin/env bash
# The Spark job's check, run by scripts/test.sh after the cargo tests: PySpark from PyPI
# in a venv (target/spark-venv), `local[2]` bound to 127.0.0.1. Inputs split into several
# files (simulator output dealt into files whose times overlap; the real captures in
# tests/fixtures sorted by time and cut in three, with an empty file, a notices-only file
# and corrupt lines among them), given out of order; then `cat OUTDIR/part-* | tt count
# --time event` must equal, byte for byte, one `tt tags ... | tt count --time event` over
# the posts in time order, for all-time, --window,
# --half-life and --distinct users counts. A file that fails to decompress must fail the
# job with its name. Usage: scripts/spark/test.sh [TT_BINARY] (default target/debug/tt).
set -euo pipefail
cd "$(dirname "$0")/../.."
tt=$(realpath "${1:-target/debug/tt}")
venv=$PWD/target/spark-venv
if [ ! -x "$venv/bin/spark-submit" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet pyspark==3.5.3
fi
command -v java >/dev/null || { echo "scripts/spark/test.sh: Spark needs Java 17 (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
export PATH="$venv/bin:$PATH" PYSPARK_PYTHON="$venv/bin/python" SPARK_LOCAL_IP=127.0.0.1
job=(spark-submit --master 'local[2]' --conf spark.driver.host=127.0.0.1
     --conf spark.driver.bindAddress=127.0.0.1 --conf spark.ui.enabled=false
     scripts/spark/tt_archive.py --tt "$tt")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "scripts/spark/test.sh: FAIL: $*" >&2; exit 1; }

# Simulator output dealt round-robin into three files whose times overlap (two samples of
# one hour, say), one of them bzip2'd and one read through Spark (a file:// URI): the job
# must equal one machine on the posts in time order, where one machine reading the files
# one after the other drops what it reads after its slot closed (checked below).
python3 tests/fixtures/gen_tweets.py --count 20000 --seed 3 > "$work/gen.ndjson"
for i in 0 1 2; do
  awk -v i=$i 'NR % 3 == i' "$work/gen.ndjson" > "$work/gen.0$i.ndjson"
done
bzip2 "$work/gen.01.ndjson"
# The real captures, in time order, split in three and given out of order; plus an empty file, a notices-only
# file and corrupt lines.
python3 - "$work" tests/fixtures/data/twitter-v1-*.ndjson <<'EOF'
import json, sys
from datetime import datetime
work, files = sys.argv[1], sys.argv[2:]
posts = []
for f in files:
    for line in open(f, encoding="utf-8"):
        try:
            o = json.loads(line)
            t = datetime.strptime(o["created_at"], "%a %b %d %H:%M:%S %z %Y")
        except (ValueError, KeyError, TypeError):
            continue
        posts.append((t, line if line.endswith("\n") else line + "\n"))
posts.sort(key=lambda p: p[0])
third = len(posts) // 3
for i, part in enumerate([posts[:third], posts[third:2 * third], posts[2 * third:]]):
    with open(f"{work}/real.{i}.ndjson", "w", encoding="utf-8") as out:
        for j, (_, line) in enumerate(part):
            out.write(line)
            if i == 1 and j % 50 == 7:
                out.write('{"created_at": "broken\n')
EOF
: > "$work/real.3.empty.ndjson"
cp tests/fixtures/data/twitter-v1-stream-notices_twitter4s.ndjson "$work/real.4.notices.ndjson"

# check NAME BATCH SINGLE_INPUTS -- SPARK_INPUTS: one Spark job, then four counting modes.
check() {
  local name=$1 batch=$2; shift 2
  local single=() spark=()
  while [ "$1" != "--" ]; do single+=("$1"); shift; done
  shift
  spark=("$@")
  "${job[@]}" --batch "$batch" --distinct users "${spark[@]}" "$work/$name.out" \
    > "$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; fail "$name: the Spark job failed"; }
  grep '^tt_archive.py: ' "$work/$name.log" >&2
  "$tt" tags -q "${single[@]}" > "$work/$name.uses"
  local n=0
  for mode in "" "--window $((batch_s * 3))s" "--half-life $((batch_s * 2))s" "--distinct users"; do
    # shellcheck disable=SC2086 # the mode is words
    "$tt" count -q --time event --batch "$batch" $mode "$work/$name.uses" > "$work/single"
    # shellcheck disable=SC2086
    cat "$work/$name.out"/part-* | "$tt" count -q --time event --batch "$batch" $mode > "$work/spark"
    [ -s "$work/single" ] || fail "$name [$mode]: the single run wrote nothing"
    cmp -s "$work/single" "$work/spark" || {
      diff <(head -c 2000 "$work/single") <(head -c 2000 "$work/spark") >&2 || true
      fail "$name [count $mode]: the Spark job's counts differ from one machine's"
    }
    n=$((n + $(wc -l < "$work/single")))
  done
  echo "scripts/spark/test.sh: $name: Spark equals one machine in 4 counting modes ($n count updates)" >&2
}

batch_s=2
check gen 2s "$work"/gen.ndjson -- \
  "file://$work/gen.02.ndjson" "$work"/gen.00.ndjson "$work"/gen.01.ndjson.bz2
"$tt" tags -q "$work"/gen.0{0,1,2}.ndjson* | "$tt" count --time event --batch 2s 2>&1 >/dev/null |
  grep -q "late use(s) dropped" || fail "gen: one machine reading the overlapping files in turn dropped no late use"
batch_s=3600
check real 1h "$work"/real.{0,1,2}.ndjson -- \
  "$work"/real.4.notices.ndjson "$work"/real.2.ndjson "$work"/real.3.empty.ndjson \
  "$work"/real.0.ndjson "$work"/real.1.ndjson
# The corrupt lines are reported and summed up, and the job still finished.
want=$("$tt" tags "$work/real.1.ndjson" 2>&1 >/dev/null | sed -n 's/.* \([0-9]*\) bad lines* skipped.*/\1/p')
[ -n "$want" ] && grep -q "; $want bad line(s) skipped" "$work/real.log" ||
  fail "real: the job's summary does not count the $want bad lines"

# A file that fails to decompress fails the job, naming the file.
head -c 5000 "$work/gen.01.ndjson.bz2" > "$work/cut.ndjson.bz2"
if "${job[@]}" --batch 2s "$work/gen.00.ndjson" "$work/cut.ndjson.bz2" "$work/cut.out" \
  > "$work/cut.log" 2>&1; then
  fail "a truncated .bz2 did not fail the job"
fi
grep -q "^tt_archive.py: $work/cut.ndjson.bz2: tt tags exited [1-9][0-9]*, .*cut.ndjson.bz2" "$work/cut.log" || {
  tail -5 "$work/cut.log" >&2
  fail "the failed job does not name the file and tt's exit status"
}
echo "scripts/spark/test.sh: ok" >&2
