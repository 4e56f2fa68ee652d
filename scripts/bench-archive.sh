#!/usr/bin/env bash
# A Stream-Grab-shaped archive (README "All cores"): 100,000 tweets of gen_tweets.py
# --seed 1 cut into 24 hourly members 2026/01/01/HH.json.<codec> of a plain .tar, for
# bz2, zst and gz; then, rounds interleaved, median wall time of
#   tt tags ARCHIVE                                  (members decoded on all cores)
#   DECODER -dc MEMBERS... | tt tags -               (the members extracted, one decoder)
# with their outputs checked byte for byte equal. Usage: scripts/bench-archive.sh [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
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
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
echo "| members | archive MB | tt tags ARCHIVE, s | DECODER -dc \| tt tags -, s | ratio |"
echo "| --- | --- | --- | --- | --- |"
for c in bz2 zst gz; do
  case $c in bz2) dec=(bzip2 -dc) ;; zst) dec=(zstd -dcq) ;; gz) dec=(gzip -dc) ;; esac
  a=() b=()
  for _ in $(seq "$rounds"); do
    t=$(now); "$tt" tags -q "$dir/month-$c.tar" > "$dir/a.out"; a+=("$(echo "$(now) - $t" | bc)")
    t=$(now); "${dec[@]}" "$dir/$c"/2026/01/01/*."$c" | "$tt" tags -q - > "$dir/b.out"
    b+=("$(echo "$(now) - $t" | bc)")
    cmp -s "$dir/a.out" "$dir/b.out" || { echo "bench-archive.sh: $c: outputs differ" >&2; exit 1; }
  done
  ma=$(printf '%s\n' "${a[@]}" | median); mb=$(printf '%s\n' "${b[@]}" | median)
  printf '| 24 × .json.%s | %s | %.2f | %.2f | %.2fx |\n' "$c" \
    "$(( $(stat -c %s "$dir/month-$c.tar") / 1000000 ))" "$ma" "$mb" "$(echo "$mb / $ma" | bc -l)"
done
