#!/usr/bin/env python3
"""Joins the tables of scripts/bench-memory.sh (target/bench-memory/MODE.md) into one:
peak RSS and snapshot size (MiB) of each mode at a few stream times, as in the README.

    python3 scripts/bench-memory-table.py [DIR]
"""
import pathlib
import sys

HOURS = ["1.0 h", "2.0 h", "4.0 h", "8.0 h", "12.0 h", "16.0 h", "20.0 h", "24.0 h"]
MODES = [("window", "--window 1h"), ("decay", "--half-life 1h"),
         ("max-tags", "--max-tags 1000000"), ("all-time", "all-time, exact")]


def rows(path):
    out = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0].endswith(" h"):
            out[cells[0]] = cells
    return out


def main():
    d = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-memory")
    tables = {m: rows(d / f"{m}.md") for m, _ in MODES if (d / f"{m}.md").exists()}
    head = "| stream time |" + "".join(f" {label}: tags held, peak RSS, snapshot |" for m, label in MODES if m in tables)
    print(head)
    print("|---:|" + "---:|" * len(tables))
    for h in HOURS:
        cells = []
        for m, _ in MODES:
            if m not in tables:
                continue
            r = tables[m].get(h)
            cells.append(f" {int(r[1]):,} tags, {r[4]} MiB, {r[5]} MiB |" if r else " (not run) |")
        print(f"| {h} |" + "".join(cells))


if __name__ == "__main__":
    main()
