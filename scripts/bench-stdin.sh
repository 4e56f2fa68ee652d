#!/usr/bin/env bash
# Standard input from programs other than tt: two builds of tt at the end of the same
# pipelines, interleaved round by round (in alternating order), median wall times and
# the median of the rounds' ratios, outputs checked equal. For changes to how tt reads a
# pipe (io.rs, `Stdin`). Input: 100,000 tweets of gen_tweets.py --seed 1 (360 MB) in
# /dev/shm, whole and as one .zst and one .gz.
#   scripts/bench-stdin.sh OLD_TT NEW_TT [ROUNDS=7]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/lib.sh
old=$1 new=$2 rounds=${3:-7}
dir=/dev/shm/tt-bench-stdin
if [ ! -f "$dir/done" ]; then
  rm -rf "$dir"; mkdir -p "$dir"
  python3 tests/fixtures/gen_tweets.py --count 100000 --seed 1 > "$dir/all.ndjson"
  zstd -q -c "$dir/all.ndjson" > "$dir/all.ndjson.zst"
  gzip -c "$dir/all.ndjson" > "$dir/all.ndjson.gz"
  touch "$dir/done"
fi
echo "| pipeline | old, s | new, s | old/new (median of rounds) |"
echo "| --- | --- | --- | --- |"
while IFS='@' read -r name cmd; do
  o=() w=()
  run() { # TT: appends its wall time to o or w
    local t; t=$(now); bash -c "${cmd//TT/$1}" > "$dir/$2.out"
    t=$(echo "$(now) - $t" | bc); if [ "$2" = old ]; then o+=("$t"); else w+=("$t"); fi
  }
  # The order alternates: this machine's speed drifts within minutes.
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then run "$old" old; run "$new" new; else run "$new" new; run "$old" old; fi
    cmp -s "$dir/old.out" "$dir/new.out" || { echo "bench-stdin.sh: $name: outputs differ" >&2; exit 1; }
  done
  r=$(paste -d' ' <(printf '%s\n' "${o[@]}") <(printf '%s\n' "${w[@]}") |
    awk '{printf "%.6f\n", $1 / $2}' | median)
  printf '| %s | %.2f | %.2f | %.2fx |\n' "${name//|/\\|}" "$(printf '%s\n' "${o[@]}" | median)" \
    "$(printf '%s\n' "${w[@]}" | median)" "$r"
done <<LIST
zstd -dcq F.zst | tt tags -@zstd -dcq $dir/all.ndjson.zst | TT tags -q -
gzip -dc F.gz | tt tags -@gzip -dc $dir/all.ndjson.gz | TT tags -q -
cat F | tt tags -@cat $dir/all.ndjson | TT tags -q -
cat F | tt tags -j1 -@cat $dir/all.ndjson | TT tags -q -j1 -
tt tags F | tt count (tt to tt: unchanged)@TT tags -q $dir/all.ndjson | TT count -q --time event --batch 2s
LIST
