#!/usr/bin/env bash
# tt against DuckDB and chDB (ClickHouse) on the same raw v1.1 JSON, in one run, rounds
# interleaved (BENCHMARKS.md, "Against DuckDB and chDB"): the median wall time of
#   tt tags F | tt count | tt top 10
#   DuckDB (PyPI duckdb), read_ndjson with the hashtag columns declared, 2 threads
#   chDB (PyPI chdb), file(F, JSONEachRow) with the same columns, 2 threads
#   Python, json.loads + collections.Counter (scripts/bench/counter.py json F)
# and their top 10s. Input: 300,000 tweets of gen_tweets.py --seed 1 (1.1 GB, /dev/shm).
# Installs duckdb and chdb into target/sql-venv. Usage: scripts/bench/sql.sh [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
rounds=${1:-5}
cargo build --release --quiet
tt=$PWD/target/release/tt
venv=target/sql-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install --quiet duckdb==2.0.1 chdb==4.4.0; }
f=/dev/shm/tt-bench-gen300k.ndjson
[ -s "$f" ] || python3 tests/fixtures/gen_tweets.py --count 300000 --seed 1 > "$f"
declare -A wall=()
for _ in $(seq "$rounds"); do
  t=$(now); "$tt" tags -q "$f" | "$tt" count -q | "$tt" top 10 -q > /tmp/tt-sql-tt.out
  wall[tt]+="$(echo "$(now) - $t" | bc) "
  for e in duckdb chdb; do
    t=$(now); "$venv/bin/python" scripts/bench/sql.py "$e" "$f" 2 > "/tmp/tt-sql-$e.out"
    wall[$e]+="$(echo "$(now) - $t" | bc) "
  done
  t=$(now); python3 scripts/bench/counter.py json "$f" > /tmp/tt-sql-python.out
  wall[python]+="$(echo "$(now) - $t" | bc) "
done
one=$(echo "${wall[tt]}" | tr ' ' '\n' | grep . | median)
# Besides the ratio of the medians, the median of each round's own ratio: a round's
# commands run minutes apart at most, so the machine's drift (its speed moves by a third
# within minutes) cancels more within a round than across the run.
paired() { paste -d' ' <(echo "${wall[$1]}" | tr ' ' '\n' | grep .) <(echo "${wall[tt]}" | tr ' ' '\n' | grep .) |
  awk '{printf "%.6f\n", $1 / $2}' | median; }
echo "| command | wall s (median of $rounds) | vs tt | vs tt, median of the rounds' ratios |"
echo "| --- | --- | --- | --- |"
for k in tt duckdb chdb python; do
  m=$(echo "${wall[$k]}" | tr ' ' '\n' | grep . | median)
  printf '| %s | %.2f | %.2fx | %.2fx |\n' "$k" "$m" "$(echo "$m / $one" | bc -l)" "$(paired "$k")"
done
echo "tt top 10:     $(python3 -c "import json,sys; print([[l['tag'],l['count']] for l in json.loads(open('/tmp/tt-sql-tt.out').read().splitlines()[-1])['top']])")"
echo "DuckDB top 10: $(cat /tmp/tt-sql-duckdb.out)"
echo "chDB top 10:   $(cat /tmp/tt-sql-chdb.out)"
echo "Python top 10: $(cat /tmp/tt-sql-python.out)"
