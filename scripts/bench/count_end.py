#!/usr/bin/env python3
"""How long `tt count` takes from the end of its input to its exit: the update of every
tag it writes at the end of a saved stream, which the pipeline waits for with one core
idle (BENCHMARKS.md, "The pipeline's tail"). Each binary's `tt count -q` gets USES whole
on a pipe, is left a second to read it all, then its input is closed; the median of the
rounds (interleaved across the binaries) is printed for each.

Usage: scripts/bench/count_end.py USES ROUNDS TT_BINARY...
USES: `tt tags` output, e.g. one use of each of the 37,353 tags of the benchmark file.
"""
import statistics
import subprocess
import sys
import time

uses_path, rounds, binaries = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
data = open(uses_path, "rb").read()
ms = {b: [] for b in binaries}
for _ in range(rounds):
    for b in binaries:
        p = subprocess.Popen([b, "count", "-q"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        p.stdin.write(data)
        p.stdin.flush()
        time.sleep(1.0)
        t = time.monotonic()
        p.stdin.close()
        if p.wait(timeout=60) != 0:
            sys.exit(f"{b}: tt count failed")
        ms[b].append((time.monotonic() - t) * 1000)
for b in binaries:
    print(f"{b}: median {statistics.median(ms[b]):.1f} ms from end of input to exit "
          f"({min(ms[b]):.1f}-{max(ms[b]):.1f}, {rounds} rounds)")
