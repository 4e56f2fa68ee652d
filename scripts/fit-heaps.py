#!/usr/bin/env python3
"""Fits Heaps' law, V(n) = K * n^beta (distinct tags V after n tag uses), to saved streams.

    tt tags -q capture.ndjson | python3 scripts/fit-heaps.py
    python3 scripts/fit-heaps.py uses1.ndjson uses2.ndjson

Least squares on log V against log n, for n >= 10 (the first uses are all new). Prints n,
V, K and beta. The
simulator's growing vocabulary (`tt fetch sim --vocabulary growing`, src/sim.rs
CAPTURE_FIT) uses the fit to ../shared/data/twitter-v1-stream-capture-2014_datasci.ndjson.
"""
import json
import math
import sys


def fit(lines):
    seen, points = set(), []
    for n, line in enumerate(lines, 1):
        seen.add(json.loads(line)["tag"])
        points.append((n, len(seen)))
    use = points[9:]
    if len(use) < 2:
        sys.exit("fit-heaps: fewer than 11 tag uses: nothing to fit")
    xs = [math.log(n) for n, _ in use]
    ys = [math.log(v) for _, v in use]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    beta = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    k = math.exp(my - beta * mx)
    return len(points), len(seen), k, beta


def main():
    sources = [(p, open(p, encoding="utf-8")) for p in sys.argv[1:]] or [("<stdin>", sys.stdin)]
    for name, f in sources:
        n, v, k, beta = fit(f)
        print(f"{name}: {n} uses, {v} distinct tags: K = {k:.3f}, beta = {beta:.3f}")


if __name__ == "__main__":
    main()
