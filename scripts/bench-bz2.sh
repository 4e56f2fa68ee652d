#!/usr/bin/env bash
# One large .bz2 file (README "All cores"): the 100,000 tweets of gen_tweets.py --seed 1
# as a single bzip2 stream (bzip2 -9, 900 kB blocks), as a day's dump is saved. Rounds
# interleaved (in turning order), median wall time of
#   tt tags -j1 FILE                 (one thread decodes)
#   tt tags FILE                     (blocks decoded on all cores)
#   bzip2 -dc FILE | tt tags -
#   lbzip2 -dc FILE | tt tags -      (parallel bzip2, where installed: apt-get install lbzip2)
# with the outputs checked byte for byte equal, and each one's ratio to `tt tags FILE`.
# Usage: scripts/bench-bz2.sh [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/lib.sh
rounds=${1:-3}
cargo build --release --quiet
tt=$PWD/target/release/tt
dir=/dev/shm/tt-bench-bz2
if [ ! -f "$dir/done" ]; then
  rm -rf "$dir"; mkdir -p "$dir"
  python3 tests/fixtures/gen_tweets.py --count 100000 --seed 1 | bzip2 -9 > "$dir/day.json.bz2"
  touch "$dir/done"
fi
f=$dir/day.json.bz2
names=("tt tags -j1 FILE" "tt tags FILE" "bzip2 -dc FILE \\| tt tags -")
cmds=("$tt tags -q -j1 $f" "$tt tags -q $f" "bzip2 -dc $f | $tt tags -q -")
if command -v lbzip2 > /dev/null; then
  names+=("lbzip2 -dc FILE \\| tt tags -")
  cmds+=("lbzip2 -dc $f | $tt tags -q -")
fi
declare -A times
n=${#cmds[@]}
for r in $(seq "$rounds"); do
  for k in $(seq 0 $((n - 1))); do
    i=$(( (k + r) % n ))
    t=$(now); bash -c "${cmds[$i]}" > "$dir/out.$i"; times[$i]+="$(echo "$(now) - $t" | bc) "
  done
  for i in $(seq 1 $((n - 1))); do
    cmp -s "$dir/out.0" "$dir/out.$i" || { echo "bench-bz2.sh: ${names[$i]}: output differs" >&2; exit 1; }
  done
done
base=$(printf '%s\n' ${times[1]} | median)
echo "| $(( $(stat -c %s "$f") / 1000000 )) MB .bz2, $rounds rounds | median wall, s | ratio to tt tags FILE |"
echo "| --- | --- | --- |"
for i in $(seq 0 $((n - 1))); do
  m=$(printf '%s\n' ${times[$i]} | median)
  printf '| `%s` | %.2f | %.2fx |\n' "${names[$i]}" "$m" "$(echo "$m / $base" | bc -l)"
done
