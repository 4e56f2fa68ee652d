#!/usr/bin/env bash
# The Spark job against one machine, on the same files, in one run (BENCHMARKS.md, "Spark"):
#   single   tt tags FILES | tt count --time event --batch 2s
#   spark    spark-submit --master local[2] tt_archive.py ... OUT; cat OUT/part-* | tt count ...
#   classic  the classic tutorial's job over the same files (classic_batch.py)
# Input: gen_tweets.py --count N --seed 1 split into 8 files in /dev/shm. Prints each run's
# wall time, the median of R rounds (interleaved), and the Spark job's own breakdown.
# Usage: scripts/spark/bench.sh [N=300000] [R=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
n=${1:-300000} rounds=${2:-3}
cargo build --release --quiet
tt=$PWD/target/release/tt
venv=$PWD/target/spark-venv
[ -x "$venv/bin/spark-submit" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install --quiet pyspark==3.5.3; }
export PATH="$venv/bin:$PATH" PYSPARK_PYTHON="$venv/bin/python" SPARK_LOCAL_IP=127.0.0.1
dir=/dev/shm/tt-spark-bench-$n
if [ ! -f "$dir/part.07.ndjson" ]; then
  mkdir -p "$dir"
  python3 tests/fixtures/gen_tweets.py --count "$n" --seed 1 > "$dir/all"
  split -n l/8 -d --additional-suffix=.ndjson "$dir/all" "$dir/part."
  rm "$dir/all"
fi
files=("$dir"/part.*.ndjson)
submit=(spark-submit --master 'local[2]' --conf spark.driver.host=127.0.0.1
        --conf spark.driver.bindAddress=127.0.0.1 --conf spark.ui.enabled=false)
declare -A times
for r in $(seq "$rounds"); do
  t=$(now); "$tt" tags -q "${files[@]}" | "$tt" count -q --time event --batch 2s > "$dir/single.out"
  times[single]+=" $(echo "$(now) - $t" | bc)"
  rm -rf "$dir/out"
  t=$(now)
  "${submit[@]}" scripts/spark/tt_archive.py --tt "$tt" --batch 2s "${files[@]}" "$dir/out" > "$dir/spark.log" 2>&1
  t2=$(now)
  cat "$dir/out"/part-* | "$tt" count -q --time event --batch 2s > "$dir/spark.out"
  t3=$(now)
  times[spark]+=" $(echo "$t3 - $t" | bc)"
  times[spark_count]+=" $(echo "$t3 - $t2" | bc)"
  grep '^tt_archive.py:' "$dir/spark.log" >&2
  cmp "$dir/single.out" "$dir/spark.out" || { echo "bench.sh: the outputs differ" >&2; exit 1; }
  t=$(now); "${submit[@]}" scripts/spark/classic_batch.py "${files[@]}" > "$dir/classic.out" 2>/dev/null
  times[classic]+=" $(echo "$(now) - $t" | bc)"
done
single=$(echo "${times[single]}" | median)
echo "input: $n tweets, $(du -sh "$dir" | cut -f1) in 8 files; medians of $rounds, seconds"
for k in single spark spark_count classic; do
  m=$(echo "${times[$k]}" | median)
  printf '%-12s %8.2f  (%s)  %.2fx single\n' "$k" "$m" "${times[$k]# }" "$(echo "$m / $single" | bc -l)"
done
