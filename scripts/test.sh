#!/usr/bin/env bash
# Every test: formatting, lints, then the unit and integration tests. This is the README's
# test command, and exactly what .ci/run calls. On a fresh Debian machine it first installs
# what the tests need: /usr/bin/time (peak memory of a child), script(1) from bsdutils (a
# terminal for a command), man-db (the man pages are rendered and checked for troff
# warnings), chromium (the browser test of tt serve) and
# Java 17 (PySpark, for the Spark job's test, which installs pyspark from PyPI into
# target/spark-venv), with apt-get when run as root; and what the build needs
# (scripts/build-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -x /usr/bin/time ] || need+=(time)
command -v man >/dev/null || need+=(man-db)
# script(1) gives a command a terminal (hostile::a_command_reading_a_terminal_says_so).
command -v script >/dev/null || need+=(bsdutils)
command -v chromium >/dev/null || [ -n "${TT_CHROMIUM:-}" ] || need+=(chromium)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
scripts/build-deps.sh "${need[@]}"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# A CI checkout is built once: incremental caches would only take disk (426 MB).
[ -z "${CI:-}" ] || export CARGO_INCREMENTAL=0
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --document-private-items --quiet
cargo test --locked
scripts/spark/test.sh target/debug/tt
