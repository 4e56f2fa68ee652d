#!/usr/bin/env bash
# bzip2 decoding per core: a member the size of the Stream-Grab-shaped archive's hourly
# ones (4,167 tweets of gen_tweets.py --seed 1, 15 MB, bzip2 -9 as the `bzip2` tool writes
# it) decoded on one core (taskset -c 0), N interleaved rounds, median user time of
#   bzip2 -dc MEMBER > /dev/null             (bzip2 1.0.8's own decoder)
#   tt tags -j1 MEMBER > /dev/null           (tt's decoder, and tagging the posts)
#   tt tags -j1 PLAIN > /dev/null            (tagging the same posts alone)
# so that tt's decoding alone is the difference of the last two.
# Usage: scripts/bench-bunzip.sh [ROUNDS=7]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/lib.sh
rounds=${1:-7}
cargo build --release --quiet
tt=$PWD/target/release/tt
dir=/dev/shm/tt-bench-bunzip
if [ ! -f "$dir/done" ]; then
  rm -rf "$dir"; mkdir -p "$dir"
  python3 tests/fixtures/gen_tweets.py --count 4167 --seed 1 > "$dir/member.json"
  bzip2 -9 -k "$dir/member.json"
  touch "$dir/done"
fi
: > "$dir/t.bzip2"; : > "$dir/t.tt"; : > "$dir/t.plain"
for _ in $(seq "$rounds"); do
  /usr/bin/time -a -o "$dir/t.bzip2" -f %U taskset -c 0 bzip2 -dc "$dir/member.json.bz2" > /dev/null
  /usr/bin/time -a -o "$dir/t.tt" -f %U taskset -c 0 "$tt" tags -j1 -q "$dir/member.json.bz2" > /dev/null
  /usr/bin/time -a -o "$dir/t.plain" -f %U taskset -c 0 "$tt" tags -j1 -q "$dir/member.json" > /dev/null
done
b=$(median < "$dir/t.bzip2"); t=$(median < "$dir/t.tt"); p=$(median < "$dir/t.plain")
mb=$(( $(stat -c %s "$dir/member.json") / 1000000 ))
echo "| one core, median user s of $rounds | bzip2 -dc | tt tags -j1 .bz2 | tt tags -j1 plain | tt decoding alone |"
echo "| --- | --- | --- | --- | --- |"
python3 -c "
b, t, p, mb = $b, $t, $p, $mb
d = max(t - p, 0.001)
print(f'| {mb} MB member | {b:.2f} ({mb / b:.0f} MB/s) | {t:.2f} | {p:.2f} | {d:.2f} ({mb / d:.0f} MB/s, {b / d:.1f}x bzip2) |')"
