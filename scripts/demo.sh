#!/usr/bin/env bash
# Installs tt (cargo install --path .) and its man pages, and runs the main job: the classic trending-hashtags
# pipeline, fed by the built-in stream simulator (no network, no account needed), into the
# live chart. Open the URL it prints; stop with Ctrl-C.
#
#   tt fetch sim | tt tags | tt count --batch 2s --state STATE | tt top 10 | tt serve
#
# Environment: TT_DEMO_BIND (default 127.0.0.1:5001), TT_DEMO_STATE (default a file in
# ${TMPDIR:-/tmp}/tt-demo/), TT_DEMO_BY (count or trend; default count).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-deps.sh
cargo install --locked --quiet --path .
export PATH="$HOME/.cargo/bin:$PATH"
# man finds pages in ../share/man beside a directory on PATH: `man tt-fetch` works after this.
tt man --dir "$HOME/.cargo/share/man/man1"
bind=${TT_DEMO_BIND:-127.0.0.1:5001}
state=${TT_DEMO_STATE:-${TMPDIR:-/tmp}/tt-demo/state.json}
mkdir -p "$(dirname "$state")"
echo "tt demo: open http://$bind/ (Ctrl-C stops; counts resume from $state)" >&2
tt fetch sim \
  | tt tags \
  | tt count --batch 2s --state "$state" \
  | tt top 10 --by "${TT_DEMO_BY:-count}" \
  | tt serve --bind "$bind"
