#!/usr/bin/env bash
# Fuzzes tt's input parsers with cargo-fuzz (libFuzzer), each target for SECONDS (default
# 600), two at a time, seeded from the test fixtures. Needs `cargo install cargo-fuzz`.
# Runs on the stable toolchain with --sanitizer none (Rust's own checks, debug assertions
# on: a panic, overflow or out-of-bounds index is a crash). Prints one line per target.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
corpus=target/fuzz-corpus
mkdir -p "$corpus"/{post_line,hashtags,state_load,update_form,bunzip,bunzip_split,archive}
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
  # Zero bytes after the end: padding to tt, refused by the library.
  for f in "$corpus"/bunzip/*.bz2; do cat "$f" <(head -c 100 /dev/zero) > "$f.padded"; done
  # Several blocks (100 kB each at -1) and two streams, within the 64 KiB inputs.
  for f in tests/fixtures/data/*.ndjson; do
    b=$(basename "$f")
    head -c 250000 "$f" | bzip2 -1 | head -c 65536 > "$corpus/bunzip_split/$b.bz2"
    cat "$corpus/bunzip/$b.bz2" "$corpus/bunzip/$b.bz2" > "$corpus/bunzip_split/$b.2.bz2"
  done
  # Archives and compressed files of a few real lines: the first byte picks the name the
  # target gives them (fuzz/fuzz_targets/archive.rs) and, by its higher bits, members
  # packed or not, one thread or two, and JSON or text names.
  python3 - "$corpus/archive" <<'PY'
import bz2, gzip, io, lzma, subprocess, sys, tarfile, zipfile
out = sys.argv[1]
lines = open("tests/fixtures/data/twitter-v1-stream_python-twitter.ndjson", "rb").read().split(b"\n")
a, b = b"\n".join(lines[:3]) + b"\n", b"\n".join(lines[3:5]) + b"\n"
zst = subprocess.run(["zstd", "-qc"], input=a, capture_output=True, check=True).stdout
def tar(members, fmt=tarfile.GNU_FORMAT):
    f = io.BytesIO()
    with tarfile.open(fileobj=f, mode="w", format=fmt) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return f.getvalue()
def zip_of(members, method=zipfile.ZIP_DEFLATED):
    f = io.BytesIO()
    with zipfile.ZipFile(f, "w", method) as z:
        for name, data in members:
            z.writestr(name, data)
    return f.getvalue()
month = tar([("00.json.bz2", bz2.compress(a)), ("01.json", b), ("02.json.gz", gzip.compress(a)),
             ("03.json.zst", zst), ("04.json.xz", lzma.compress(b)), ("README", b"x")])
seeds = {  # the name's index in the target's NAMES: its seeds
    0: [month, tar([("a/00.json", a)], tarfile.PAX_FORMAT)],
    1: [zip_of([("00.json", a), ("01.json.gz", gzip.compress(b))])]
       + [zip_of([("00.json", a)], m) for m in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, zipfile.ZIP_STORED)],
    2: [gzip.compress(month)], 3: [bz2.compress(month)], 4: [gzip.compress(a) + gzip.compress(b)],
    5: [zst], 6: [lzma.compress(a)], 7: [a, b"\xff\xfe{\x00"],
}
# Compressed files that decompress to more than lines: a tar, twice-compressed, UTF-16.
seeds[4] += [gzip.compress(tar([("a.json", a)])), gzip.compress(gzip.compress(a))]
seeds[6] += [lzma.compress(a.decode().encode("utf-16"))]
# zstd frames of a declared size (decoded into one buffer), of lines and of gzip data.
sized = lambda d: subprocess.run(["zstd", "-qc", f"--stream-size={len(d)}"], input=d,
                                 capture_output=True, check=True).stdout
seeds[5] += [sized(a), sized(gzip.compress(a))]
n = 0
for pick, datas in seeds.items():
    for data in datas:
        for bits in (0, 0x08, 0x18):
            open(f"{out}/seed{n}", "wb").write(bytes([pick | bits]) + data)
            n += 1
PY
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
run archive || status=1
exit $status
