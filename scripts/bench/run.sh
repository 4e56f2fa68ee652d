#!/usr/bin/env bash
# Benchmarks side by side (issue #7): tt against the classic Spark Streaming job, a shell
# pipeline and a Python Counter script, on the same machine and input, in one run.
# Installs what it needs into target/ (a Python venv with pyspark from PyPI and
# matplotlib; Java 17 must be on the machine), builds tt in release mode, generates the
# input (1,000,000 tweets by default, ~3.6 GB), runs everything, and writes
# target/bench-compare/{results.json,table.md,chart.png}. Takes about 20-30 minutes.
# Usage: scripts/bench/run.sh [--tweets N] [--seconds S] [--skip-spark]
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v java >/dev/null || { echo "needs Java 17 (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet pyspark==3.5.3 matplotlib==3.9.2
fi
cargo build --release --quiet
cd scripts/bench
exec "../../$venv/bin/python" compare.py --python "$PWD/../../$venv/bin/python" "$@"
