"""tt on Apache Spark: partial batches per input file, merged per slot, in slot order.

Each input file is one Spark task, which runs `tt tags FILE | tt combine --batch B` on
its executor: no Python touches the posts (piping lines through Python cost more than
`tt tags` itself). The partial batches are merged per slot (`reduceByKey`), sorted by
slot (`sortByKey`) and written to OUTDIR, so that

    cat OUTDIR/part-* | tt count --time event --batch B [count options]

gives byte for byte what one machine gives:

    tt tags INPUT... | tt count --time event --batch B [count options]

for time-ordered inputs, in any counting mode (all time, --window, --half-life,
--distinct users). The merge is by slot, so the order of the files does not matter: the
result is that of the files' posts in time order. (A single run reading files whose times
overlap drops the uses it reads after their slot closed; the job counts them.)

Usage:
    spark-submit --master 'local[2]' scripts/spark/tt_archive.py --tt PATH_TO_TT \
        --batch 2s [--lateness D] [--distinct users] [--no-retweets] [--keep-case] \
        [--out-partitions N] INPUT... OUTDIR

INPUT: files tt tags reads (NDJSON, .gz, .bz2, .zst, .xz, .tar archives), one task
each: give the files of a directory (a shell glob), not the directory, to use every
core. Paths the executors can read (local mode, shared storage); a URI such as
hdfs://... or s3a://... is read through Spark (sc.binaryFiles: each file is held in the
executor's memory once). --tt: the tt binary on the executors; one shipped with
`spark-submit --files /path/to/tt` is found by its file name.

Bad lines are reported by the tasks and summed up at the end; a file tt cannot read
(for example one that fails to decompress) fails the job with the file's name and tt's
message, exit status 1.
"""
import argparse
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="tt_archive.py",
        description="Count hashtags of saved streams on Apache Spark with tt: "
        "partial batches per file, merged per slot, for tt count --time event.",
    )
    ap.add_argument("--tt", required=True, help="the tt binary (path on the executors, "
                    "or the name of one shipped with --files)")
    ap.add_argument("--batch", required=True, help="slot length, as for tt count (2s, 1m)")
    ap.add_argument("--lateness", help="as tt combine --lateness (default: one batch)")
    ap.add_argument("--distinct", choices=["users"], help="keep authors for "
                    "tt count --distinct users")
    ap.add_argument("--no-retweets", action="store_true", help="as tt tags --no-retweets")
    ap.add_argument("--keep-case", action="store_true", help="as tt tags --keep-case")
    ap.add_argument("--out-partitions", type=int, default=1, metavar="N",
                    help="part files to write, in slot order across them (default 1)")
    ap.add_argument("paths", nargs="+", metavar="INPUT... OUTDIR")
    a = ap.parse_args(argv)
    if len(a.paths) < 2:
        ap.error("give at least one INPUT and the OUTDIR")
    a.inputs, a.outdir = a.paths[:-1], a.paths[-1]
    return a


FAILED = "tt_archive: failed: "


def tt_binary(path):
    """The tt binary on this executor: the path itself, or a file shipped with --files."""
    if os.path.isfile(path):
        return path
    from pyspark import SparkFiles

    shipped = SparkFiles.get(os.path.basename(path))
    if not os.path.isfile(shipped):
        raise RuntimeError(f"{FAILED}no tt binary at {path} on this executor "
                           "(ship it with spark-submit --files)")
    os.chmod(shipped, os.stat(shipped).st_mode | stat.S_IXUSR)
    return shipped


def combine_file(item, opts):
    """One task: `tt tags FILE | tt combine` on the executor. Yields (slot, partial) pairs
    and one ("report", {...}) pair with what tt said on stderr."""
    name, data = item
    tt = tt_binary(opts["tt"])
    with tempfile.TemporaryDirectory(prefix="tt-task-") as tmp:
        path = name
        if data is not None:
            # Read through Spark: keep the file name, whose extension says the codec.
            path = os.path.join(tmp, os.path.basename(name.rstrip("/")) or "input")
            with open(path, "wb") as f:
                f.write(data)
        started = time.monotonic()
        tags_err = open(os.path.join(tmp, "tags.err"), "w+b")
        comb_err = open(os.path.join(tmp, "combine.err"), "w+b")
        tags = subprocess.Popen([tt, "tags", *opts["tags_args"], path],
                                stdout=subprocess.PIPE, stderr=tags_err)
        comb = subprocess.Popen([tt, "combine", *opts["combine_args"]], stdin=tags.stdout,
                                stdout=subprocess.PIPE, stderr=comb_err)
        tags.stdout.close()
        partials = comb.stdout.read().decode("utf-8").splitlines()
        comb.wait()
        tags.wait()
        said = []
        for f in (tags_err, comb_err):
            f.seek(0)
            text = f.read().decode("utf-8", "replace")
            if data is not None:
                text = text.replace(path, name)
            said += [line for line in text.splitlines() if line]
        if tags.returncode != 0 or comb.returncode != 0:
            raise RuntimeError(f"{FAILED}{name}: tt tags exited {tags.returncode}, "
                               f"tt combine {comb.returncode}: " + " / ".join(said[-5:]))
    for line in partials:
        p = json.loads(line)
        yield p["slot"], p
    yield "report", {"file": name, "said": said, "seconds": time.monotonic() - started,
                     "partials": len(partials)}


class ListParam:
    """An accumulator of lists (pyspark's AccumulatorParam protocol)."""

    def zero(self, value):
        return []

    def addInPlace(self, a, b):
        return a + b


def merge(a, b):
    """Two partial batches of one slot: uses and posts add up, authors unite."""
    uses = {}
    for key, text, n in a["uses"] + b["uses"]:
        uses[(key, text)] = uses.get((key, text), 0) + n
    out = {"slot": a["slot"], "batch_ms": a["batch_ms"], "posts": a["posts"] + b["posts"],
           "uses": sorted([k, t, n] for (k, t), n in uses.items())}
    if "users" in a or "users" in b:
        users = {}
        for key, who in a.get("users", []) + b.get("users", []):
            users.setdefault(key, set()).update(who)
        out["users"] = sorted([k, sorted(w)] for k, w in users.items())
    return out


def inputs_of(sc, paths):
    """(name, bytes or None) per input: local paths are read by tt on the executor,
    URIs through Spark."""
    local, remote = [], []
    for p in paths:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", p) and not p.startswith("file://"):
            remote.append(p)
        else:
            local.append((p[len("file://"):] if p.startswith("file://") else p, None))
    rdd = sc.parallelize(local, max(1, len(local)))
    for uri in remote:
        rdd = rdd.union(sc.binaryFiles(uri))
    return rdd


def main(argv):
    a = parse_args(argv)
    tags_args = ["--no-retweets"] * a.no_retweets + ["--keep-case"] * a.keep_case
    combine_args = ["--batch", a.batch]
    if a.lateness:
        combine_args += ["--lateness", a.lateness]
    if a.distinct:
        combine_args += ["--distinct", a.distinct]
    opts = {"tt": a.tt, "tags_args": tags_args, "combine_args": combine_args}
    # Fail before starting Spark on what the driver can check.
    for p in a.inputs:
        if "://" not in p and not os.path.exists(p):
            sys.exit(f"tt_archive.py: {p}: no such file")
    if os.path.exists(a.outdir):
        sys.exit(f"tt_archive.py: {a.outdir} exists: give a new output directory")

    t0 = time.monotonic()
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("tt_archive").getOrCreate()
    sc: SparkContext = spark.sparkContext
    sc.setLogLevel("ERROR")
    t_start = time.monotonic() - t0

    t1 = time.monotonic()
    # What each task's tt said, gathered without a second job over the input.
    reports = sc.accumulator([], ListParam())

    def task(item):
        for key, value in combine_file(item, opts):
            if key == "report":
                reports.add([value])
            else:
                yield key, value

    try:
        merged = (inputs_of(sc, a.inputs).flatMap(task)
                  .reduceByKey(merge, numPartitions=sc.defaultParallelism)
                  # One output partition needs no sampling job; more are range-partitioned.
                  .sortByKey(numPartitions=a.out_partitions))
        merged.map(lambda kv: json.dumps(kv[1], ensure_ascii=False,
                                         separators=(",", ":"))).saveAsTextFile(a.outdir)
    except Exception as e:  # noqa: BLE001 - a task's failure arrives as a Java exception
        text = str(e)
        m = re.search(re.escape(FAILED) + r"(.*)", text)
        print(f"tt_archive.py: {m.group(1) if m else text.splitlines()[0]}", file=sys.stderr)
        spark.stop()
        return 1
    said = reports.value
    t_job = time.monotonic() - t1
    slots = sum(1 for f in os.listdir(a.outdir) if f.startswith("part-")
                for _ in open(os.path.join(a.outdir, f))) if "://" not in a.outdir else None
    spark.stop()

    bad = late = 0
    first_bad = None
    for r in sorted(said, key=lambda r: r["file"]):
        for line in r["said"]:
            print(line, file=sys.stderr)
            m = re.search(r"(\d+) bad lines? skipped \(first at ([^)]*)\)", line)
            if m:
                bad += int(m.group(1))
                first_bad = first_bad or m.group(2)
            m = re.search(r"(\d+) late use\(s\) dropped", line)
            if m:
                late += int(m.group(1))
    task_s = sum(r["seconds"] for r in said)
    summary = (f"tt_archive.py: {len(said)} file(s), {sum(r['partials'] for r in said)} "
               f"partial batch(es)")
    if slots is not None:
        summary += f" merged into {slots} slot(s)"
    summary += f" in {a.outdir}"
    if bad:
        summary += f"; {bad} bad line(s) skipped (first at {first_bad})"
    if late:
        summary += f"; {late} late use(s) dropped"
    summary += (f"; Spark start {t_start:.1f} s, tasks and merge {t_job:.1f} s "
                f"(tt in the tasks: {task_s:.1f} s)")
    print(summary, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
