#!/usr/bin/env bash
# Benchmarks side by side (issues #7 and #16): tt against the classic Spark Streaming job,
# a shell pipeline, a Python Counter script, DuckDB and chDB, on the same machine and
# input, in one run, after tt on a Stream-Grab-shaped archive (scripts/bench-archive.sh).
# Installs what it needs into target/ (a Python venv with pyspark, duckdb and chdb from
# PyPI and matplotlib; Java 17 must be on the machine), builds tt in release mode,
# generates the input (1,000,000 tweets by default, ~3.6 GB), runs everything, and writes
# target/bench-compare/{results.json,archive.tsv,table.md,chart.png}. Took 20 min 14 s
# here (2026-11-29). Usage: scripts/bench/run.sh [--tweets N] [--seconds S] [--skip-spark]
# [--skip-archive]
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v java >/dev/null || { echo "needs Java 17 (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
venv=target/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import pyspark, matplotlib, duckdb, chdb' 2>/dev/null ||
  "$venv/bin/pip" install --quiet pyspark==3.5.3 matplotlib==3.9.2 duckdb==2.0.1 chdb==4.4.0
cargo build --release --quiet
args=()
archive=1
for a in "$@"; do
  if [ "$a" = --skip-archive ]; then archive=0; else args+=("$a"); fi
done
rm -f target/bench-compare/archive.tsv
[ "$archive" = 0 ] || scripts/bench-archive.sh 3
cd scripts/bench
exec "../../$venv/bin/python" compare.py --python "$PWD/../../$venv/bin/python" "${args[@]}"
