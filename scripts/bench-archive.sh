#!/usr/bin/env bash
# A Stream-Grab-shaped archive (README "All cores"): 100,000 tweets of gen_tweets.py
# --seed 1 cut into 24 hourly members 2026/01/01/HH.json.<codec> of a plain .tar, for
# bz2, zst and gz; then, rounds interleaved (in alternating order), median wall time of
#   tt tags ARCHIVE                                  (members decoded on all cores)
#   DECODER -dc MEMBERS... | tt tags -               (the members extracted, one decoder)
# with their outputs checked byte for byte equal. Then the whole count on the same
# archive against DuckDB and chDB (scripts/bench/sql.py, target/sql-venv as sql.sh makes
# it), which read neither .tar nor (DuckDB) .bz2: they get the members extracted, as a
# glob, which is how their users would have to feed them:
#   tt tags ARCHIVE | tt count | tt top 10
#   DuckDB / chDB on DIR/*.json.CODEC, 2 threads
# The first table's medians also go to target/bench-compare/archive.tsv, for the chart of
# scripts/bench/run.sh. Usage: scripts/bench-archive.sh [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/lib.sh
rounds=${1:-3}
cargo build --release --quiet
tt=$PWD/target/release/tt
dir=/dev/shm/tt-bench-archive
if [ ! -f "$dir/done" ]; then
  rm -rf "$dir"; mkdir -p "$dir/plain/2026/01/01"
  python3 tests/fixtures/gen_tweets.py --count 100000 --seed 1 > "$dir/all.ndjson"
  split -n l/24 -d -a 2 --additional-suffix=.json "$dir/all.ndjson" "$dir/plain/2026/01/01/"
  for c in bz2 zst gz; do
    mkdir -p "$dir/$c/2026/01/01"
    for f in "$dir"/plain/2026/01/01/*.json; do echo "$f"; done |
      xargs -P "$(nproc)" -I{} sh -c "
        case $c in bz2) bzip2 -c {} ;; zst) zstd -q -c {} ;; gz) gzip -c {} ;; esac \
          > $dir/$c/2026/01/01/\$(basename {}).$c"
    tar --sort=name -C "$dir/$c" -cf "$dir/month-$c.tar" 2026
  done
  touch "$dir/done"
fi
mkdir -p target/bench-compare
tsv=target/bench-compare/archive.tsv
printf 'codec\ttt_s\tpipe_s\n' > "$tsv.part"
echo "| members | archive MB | tt tags ARCHIVE, s | DECODER -dc \| tt tags -, s | ratio | median of the rounds' ratios |"
echo "| --- | --- | --- | --- | --- | --- |"
for c in bz2 zst gz; do
  case $c in bz2) dec=(bzip2 -dc) ;; zst) dec=(zstd -dcq) ;; gz) dec=(gzip -dc) ;; esac
  a=() b=()
  archive() { t=$(now); "$tt" tags -q "$dir/month-$c.tar" > "$dir/a.out"; a+=("$(echo "$(now) - $t" | bc)"); }
  pipe() {
    t=$(now); "${dec[@]}" "$dir/$c"/2026/01/01/*."$c" | "$tt" tags -q - > "$dir/b.out"
    b+=("$(echo "$(now) - $t" | bc)")
  }
  # The order alternates round by round: this machine's speed drifts within minutes, and
  # a fixed order would hand the drift to one side.
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then archive; pipe; else pipe; archive; fi
    cmp -s "$dir/a.out" "$dir/b.out" || { echo "bench-archive.sh: $c: outputs differ" >&2; exit 1; }
  done
  ma=$(printf '%s\n' "${a[@]}" | median); mb=$(printf '%s\n' "${b[@]}" | median)
  # Each round's two commands run back to back: their ratio is less touched by the
  # machine's drift than the ratio of the run's medians.
  mr=$(paste -d' ' <(printf '%s\n' "${b[@]}") <(printf '%s\n' "${a[@]}") |
    awk '{printf "%.6f\n", $1 / $2}' | median)
  printf '| 24 × .json.%s | %s | %.2f | %.2f | %.2fx | %.2fx |\n' "$c" \
    "$(( $(stat -c %s "$dir/month-$c.tar") / 1000000 ))" "$ma" "$mb" "$(echo "$mb / $ma" | bc -l)" "$mr"
  printf '%s\t%s\t%s\n' "$c" "$ma" "$mb" >> "$tsv.part"
done
mv "$tsv.part" "$tsv"
echo
venv=target/sql-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install --quiet duckdb==2.0.1 chdb==4.4.0; }
echo "| members | tt tags ARCHIVE \| tt count \| tt top 10, s | DuckDB on the members, s | chDB on the members, s |"
echo "| --- | --- | --- | --- |"
engine() { # ENGINE CODEC GLOB: the median wall time (and ratio to tt's), or why it cannot
  local t times=()
  for _ in $(seq "$rounds"); do
    t=$(now)
    "$venv/bin/python" scripts/bench/sql.py "$1" "$3" 2 > "$dir/$1.top" 2> "$dir/$1.err" ||
      { echo "cannot read .json.$2 ($(grep -o 'Unsupported compression method\|[A-Za-z ]*Error[^.]*' "$dir/$1.err" | head -1))"; return; }
    times+=("$(echo "$(now) - $t" | bc)")
    # With ignore_errors, a file it cannot decode may give no rows rather than an error.
    [ "$(cat "$dir/$1.top")" != "[]" ] || { echo "cannot read .json.$2 (no rows)"; return; }
  done
  local m; m=$(printf '%s\n' "${times[@]}" | median)
  printf '%.2f (%.2fx)' "$m" "$(echo "$m / $ma" | bc -l)"
}
for c in bz2 zst gz; do
  a=()
  for _ in $(seq "$rounds"); do
    t=$(now); "$tt" tags -q "$dir/month-$c.tar" | "$tt" count -q | "$tt" top 10 -q > "$dir/tt.top"
    a+=("$(echo "$(now) - $t" | bc)")
  done
  ma=$(printf '%s\n' "${a[@]}" | median)
  glob="$dir/$c/2026/01/01/*.json.$c"
  printf '| 24 × .json.%s | %.2f | %s | %s |\n' "$c" "$ma" "$(engine duckdb "$c" "$glob")" \
    "$(engine chdb "$c" "$glob")"
done
echo
echo "top 10 (gz): tt $(python3 -c 'import json,sys; print(json.dumps([[l["tag"], l["count"]] for l in json.load(sys.stdin)["top"]], ensure_ascii=False))' < "$dir/tt.top")"
echo "             DuckDB $(cat "$dir/duckdb.top")"
echo "             chDB $(cat "$dir/chdb.top")"
