#!/usr/bin/env python3
"""tt against the classic Spark Streaming job, a shell pipeline, a Python script, DuckDB and
chDB, on the same machine, the same input, in one run (issues #7 and #16). Run through scripts/bench/run.sh,
which installs what this needs; it writes target/bench-compare/results.json, prints the
table, and draws target/bench-compare/chart.png.

Measures, for each contender that can do it:
  throughput   tweets/s over a whole input file (batch), or over the socket until the
               final counts include every tweet (Spark)
  sustainable  the highest fixed feed rate (text lines) at which 2 s batches keep up:
               the backlog does not grow and every tweet is counted soon after the feed ends
  latency      at fixed rates: time from a tweet's send to the first leaderboard that
               includes it, p50 and p99 over every tweet
  memory       peak RSS of the whole process tree, sampled every 50 ms
  first output time from launch to the first output line
and prints each final top 10, to check they agree.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TT = os.path.join(ROOT, "target", "release", "tt")
OUT = os.path.join(ROOT, "target", "bench-compare")
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Process trees: peak memory, first output


def tree_rss_kib(root):
    """RSS of `root` and all its descendants, in KiB (from /proc)."""
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Sampler(threading.Thread):
    """Samples a process tree's RSS every 50 ms; `peak` is the largest sum seen."""

    def __init__(self, pid, every=0.05):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop, self.every = pid, 0, False, every

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, tree_rss_kib(self.pid))
            time.sleep(self.every)


def run_batch(name, cmd, tweets, timeout=3600):
    """Runs a shell command over a whole file: wall time, peak tree RSS, first output,
    and its stdout (the top 10)."""
    log(f"  {name}: {cmd}")
    t0 = time.time()
    # stderr to a file: a pipe read only at the end would fill and stall the command.
    errf = open(os.path.join(OUT, "stderr.txt"), "w+b")
    p = subprocess.Popen(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=errf,
                         start_new_session=True)
    s = Sampler(p.pid)
    s.start()
    first, chunks = None, []
    while True:
        b = p.stdout.read1(65536) if hasattr(p.stdout, "read1") else p.stdout.read(65536)
        if not b:
            break
        if first is None:
            first = time.time() - t0
        chunks.append(b)
    p.wait(timeout=timeout)
    wall = time.time() - t0
    s.stop = True
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    errf.close()
    if p.returncode != 0:
        raise SystemExit(f"{name} failed ({p.returncode}): {err[-2000:]}")
    return {"name": name, "cmd": cmd, "wall_s": wall, "tweets_per_s": tweets / wall,
            "stderr_tail": err[-500:],
            "peak_rss_mib": s.peak / 1024, "first_output_s": first,
            "stdout": b"".join(chunks).decode(errors="replace")}


# ---------------------------------------------------------------------------------------
# Fixed-rate feeds


class Feeder:
    """Writes lines to `sink` (a file object) at `rate` lines/s in 10 ms ticks, recording
    when each tick's first line went out."""

    def __init__(self, lines, rate, sink):
        self.lines, self.rate, self.sink = lines, rate, sink
        self.sent_at = []  # (first index of the tick, time)
        self.started = self.done_at = None

    def run(self, n):
        t0 = self.started = time.time()
        i = 0
        while i < n:
            due = t0 + i / self.rate
            now = time.time()
            if now < due:
                time.sleep(due - now)
            k = min(n, int((time.time() - t0) * self.rate) + 1)
            k = max(k, i + 1)
            block = "".join(self.lines[j % len(self.lines)] for j in range(i, k))
            self.sent_at.append((i, time.time()))
            try:
                self.sink.write(block.encode())
                self.sink.flush()
            except (BrokenPipeError, OSError):
                break
            i = k
        self.done_at = time.time()
        return i

    def achieved(self, n):
        """The rate the feed really had (a Python feeder has its own limit)."""
        return n / max(1e-9, self.done_at - self.started)

    def send_time(self, idx):
        """When tweet `idx` was sent (its tick's time)."""
        lo, hi = 0, len(self.sent_at) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.sent_at[mid][0] <= idx:
                lo = mid
            else:
                hi = mid - 1
        return self.sent_at[lo][1]


def latencies(feeder, outputs, n, start=0):
    """outputs: [(time, cumulative tweets included)], in order. The latency of tweet i is
    the first output time with cumulative > i, minus its send time; for tweets from
    `start` on (the ones before are the warm-up)."""
    lat, j = [], 0
    outs = [(t, c) for t, c in outputs if c > 0]
    for i in range(start, n, max(1, (n - start) // 20000)):  # up to 20,000 tweets
        while j < len(outs) and outs[j][1] <= i:
            j += 1
        if j == len(outs):
            return lat, False  # never counted
        lat.append(outs[j][0] - feeder.send_time(i))
    return lat, True


def intervals(outputs):
    """Median seconds between leaderboards in the second half of a run: 2 when batches
    close on time, more when each takes longer than a batch to process."""
    t = [o[0] for o in outputs]
    gaps = [b - a for a, b in zip(t, t[1:])][len(t) // 2:]
    return statistics.median(gaps) if gaps else None


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def verdict(lat, complete):
    """Keeps up: everything counted, and the latency at the end no more than one batch
    (2 s) above the latency at the start (the backlog does not grow)."""
    if not complete or len(lat) < 8:
        return False
    q = len(lat) // 4
    return statistics.median(lat[-q:]) <= statistics.median(lat[q:2 * q]) + 2.0


def tt_stream(lines, rate, seconds, warm=2):
    """tt tags --input text | tt count --batch 2s | tt top 10, fed at `rate` lines/s."""
    cmd = f"{TT} tags --input text | {TT} count --batch 2s | {TT} top 10"
    p = subprocess.Popen(["bash", "-c", cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         start_new_session=True)
    s = Sampler(p.pid, 0.2)  # long runs: sample less, to load the machine less
    s.start()
    outputs, first = [], []
    t_launch = time.time()

    def reader():
        total = 0
        for line in p.stdout:
            now = time.time()
            first.append(now)
            total += json.loads(line)["posts"]
            outputs.append((now, total))
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    f = Feeder(lines, rate, p.stdin)
    n = f.run(int(rate * (warm + seconds)))
    time.sleep(5)  # two more batches close
    p.stdin.close()
    th.join(timeout=30)
    p.wait(timeout=30)
    s.stop = True
    lat, complete = latencies(f, outputs, n, int(rate * warm))
    return {"rate": rate, "sent": n, "achieved": f.achieved(n), "complete": complete,
            "interval_s": intervals(outputs),
            "keeps_up": verdict(lat, complete), "p50_s": pct(lat, 50), "p99_s": pct(lat, 99),
            "peak_rss_mib": s.peak / 1024,
            "first_output_s": (first[0] - t_launch) if first else None}


def spark_stream(lines, rate, seconds, python, work, drain=30, warm=20):
    """The Spark job, fed over a localhost socket at `rate` lines/s (rate 0: as fast as
    possible). Returns latencies, throughput and memory."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    ckpt = os.path.join(work, f"checkpoint-{port}")
    shutil.rmtree(ckpt, ignore_errors=True)
    env = dict(os.environ, PYSPARK_PYTHON=python, PYSPARK_DRIVER_PYTHON=python)
    t_launch = time.time()
    p = subprocess.Popen([python, os.path.join(HERE, "spark_job.py"), str(port), ckpt],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                         start_new_session=True)
    s = Sampler(p.pid, 0.2)
    s.start()
    outputs, tops, counts = [], [], {}
    first_top = []

    def reader():
        total = 0
        for line in p.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            if m["kind"] == "count":
                counts[m["batch"]] = m["n"]
            else:
                total += counts.get(m["batch"], 0)
                outputs.append((m["t"], total))
                tops.append(m["top"])
                first_top.append(m["t"])
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    srv.settimeout(120)
    conn, _ = srv.accept()
    sink = conn.makefile("wb")
    # A warm-up first (the JVM compiles, Spark plans its first jobs), not measured.
    n_total = len(lines) if rate == 0 else int(rate * (warm + seconds))
    f = Feeder(lines, rate if rate else 1e12, sink)
    t_feed = time.time()
    n = f.run(n_total)
    # Wait until the counts include every tweet (or give up after `drain` quiet seconds
    # past what the rate would need).
    deadline = time.time() + drain + (0 if rate else 3600)
    while time.time() < deadline and not (outputs and outputs[-1][1] >= n):
        time.sleep(0.2)
    done = outputs[-1][0] if outputs and outputs[-1][1] >= n else None
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    s.stop = True
    conn.close()
    srv.close()
    shutil.rmtree(ckpt, ignore_errors=True)
    lat, complete = latencies(f, outputs, n, 0 if rate == 0 else int(rate * warm))
    return {"rate": rate, "sent": n, "achieved": f.achieved(n), "complete": complete,
            "interval_s": intervals(outputs),
            "keeps_up": verdict(lat, complete), "p50_s": pct(lat, 50), "p99_s": pct(lat, 99),
            "peak_rss_mib": s.peak / 1024,
            "first_output_s": (first_top[0] - t_launch) if first_top else None,
            "throughput": (n / (done - t_feed)) if done else None,
            "top": tops[-1] if tops else None}


def search(trial, rates):
    """The highest rate in `rates` (ascending) that keeps up, stopping at the first miss."""
    best, runs = None, []
    for r in rates:
        res = trial(r)
        runs.append(res)
        log(f"    {r:>9,.0f}/s (fed at {res['achieved']:,.0f}/s): keeps up {res['keeps_up']}, "
            f"p50 {res['p50_s']:.2f} s, p99 {res['p99_s']:.2f} s")
        if res["achieved"] < 0.95 * r:
            res["feeder_limited"] = True
            break  # the feeder, not the contender, set the pace: this rate was not tried
        if not res["keeps_up"]:
            break
        best = r
    return best, runs


# ---------------------------------------------------------------------------------------


def prepare(n):
    os.makedirs(OUT, exist_ok=True)
    gen = os.path.join(SHARED, "bench", "gen_tweets.py")
    raw, text = os.path.join(OUT, f"raw-{n}.jsonl"), os.path.join(OUT, f"text-{n}.txt")
    for path, extra in [(raw, []), (text, ["--text-only"])]:
        if not os.path.exists(path):
            log(f"generating {path}")
            with open(path + ".part", "wb") as f:
                subprocess.run([sys.executable, gen, "--count", str(n), "--seed", "1"] + extra,
                               stdout=f, check=True)
            os.rename(path + ".part", path)
    # The real stream captures, repeated to about n tweets.
    caps = os.path.join(OUT, f"captures-{n}.jsonl")
    if not os.path.exists(caps):
        src = [os.path.join(SHARED, "data", f) for f in sorted(os.listdir(os.path.join(SHARED, "data")))
               if f.startswith("twitter-v1-stream") and f.endswith(".ndjson")]
        body = b"".join(open(f, "rb").read() for f in src)
        per = body.count(b"\n")
        with open(caps, "wb") as f:
            for _ in range(max(1, n // per)):
                f.write(body)
    # Text lines that carry a hashtag by both rules: the latency feed (every line counts
    # for both tt and Spark, so "how many were counted" tells which were).
    tagged = os.path.join(OUT, f"tagged-{n}.txt")
    if not os.path.exists(tagged):
        ids = set()
        out = subprocess.run([TT, "tags", "--input", "text", text], stdout=subprocess.PIPE,
                             check=True).stdout
        for line in out.splitlines():
            ids.add(json.loads(line)["id"])
        with open(text, encoding="utf-8") as f, open(tagged, "w", encoding="utf-8") as g:
            for i, line in enumerate(f, 1):
                if str(i) in ids or i in ids:
                    if "#" in line:
                        g.write(line)
    return raw, text, caps, tagged


def count_tweets(path):
    out = subprocess.run(["bash", "-c", f"grep -c -e '\"text\"' -e '\"full_text\"' {path}"],
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    return int(out or 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tweets", type=int, default=1_000_000)
    ap.add_argument("--python", default=sys.executable, help="a Python with pyspark")
    ap.add_argument("--seconds", type=float, default=20, help="length of each rate trial")
    ap.add_argument("--skip-spark", action="store_true")
    a = ap.parse_args()
    raw, text, caps, tagged = prepare(a.tweets)
    # The inputs in RAM (/dev/shm): this VM keeps only ~3.5 GB of page cache, less than the
    # 3.6 GB raw file, so from disk every contender would be timed reading the disk.
    shm = "/dev/shm/tt-bench"
    os.makedirs(shm, exist_ok=True)
    for path in (raw, text, caps):
        dst = os.path.join(shm, os.path.basename(path))
        if not os.path.exists(dst):
            shutil.copyfile(path, dst)
    raw, text, caps = (os.path.join(shm, os.path.basename(p)) for p in (raw, text, caps))
    n = a.tweets
    ncaps = count_tweets(caps)
    lines = open(tagged, encoding="utf-8").readlines()
    res = {"machine": machine(), "tweets": n, "batch": {}, "stream": {}}

    log("batch throughput")
    b = res["batch"]
    b["tt raw"] = run_batch("tt raw", f"{TT} tags {raw} | {TT} count | {TT} top 10", n)
    b["tt replay"] = run_batch(
        "tt replay", f"{TT} fetch replay {raw} --speed max | {TT} tags | {TT} count | {TT} top 10", n)
    b["tt captures"] = run_batch("tt captures", f"{TT} tags {caps} | {TT} count | {TT} top 10", ncaps)
    b["tt text"] = run_batch(
        "tt text", f"{TT} tags --input text {text} | {TT} count | {TT} top 10", n)
    b["shell text"] = run_batch(
        "shell text",
        f"LC_ALL=C grep -oE '[^ ]*#[^ ]*' {text} | LC_ALL=C sort | uniq -c | sort -rn | head", n)
    b["python raw"] = run_batch("python raw", f"{sys.executable} {HERE}/counter.py json {raw}", n)
    b["python captures"] = run_batch(
        "python captures", f"{sys.executable} {HERE}/counter.py json {caps}", ncaps)
    b["python text"] = run_batch("python text", f"{sys.executable} {HERE}/counter.py text {text}", n)
    # What researchers reach for on a saved stream: SQL engines reading the raw JSON
    # themselves, the query written as their users write it (scripts/bench/sql.py).
    for engine in ["duckdb", "chdb"]:
        b[f"{engine} raw"] = run_batch(
            f"{engine} raw", f"{a.python} {HERE}/sql.py {engine} {raw} {os.cpu_count()}", n)
    # Time to first output of a streaming pipeline (the first tag line).
    b["tt first line"] = run_batch("tt first line", f"{TT} fetch replay {raw} --speed max --limit 1000 | {TT} tags", 1000)

    # Where the pipeline's time goes: each stage alone over a file, CPU seconds.
    uses, counts = os.path.join(OUT, "uses.ndjson"), os.path.join(OUT, "counts.ndjson")
    res["stages"] = {}
    for name, cmd in [("tt tags", f"{TT} tags {raw} > {uses}"),
                      ("tt count", f"{TT} count {uses} > {counts}"),
                      ("tt top 10", f"{TT} top 10 {counts} > /dev/null")]:
        t = time.time()
        r0 = os.times()
        subprocess.run(["bash", "-c", cmd], check=True)
        r1 = os.times()
        res["stages"][name] = {"wall_s": time.time() - t,
                               "cpu_s": (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system),
                               "bytes_in": os.path.getsize({"tt tags": raw, "tt count": uses, "tt top 10": counts}[name])}
        log(f"  stage {name}: {res['stages'][name]}")
    os.remove(uses)

    log("streaming, tt (text feed, --batch 2s)")
    st = res["stream"]
    best, runs = search(lambda r: tt_stream(lines, r, a.seconds),
                        [50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000])
    st["tt sustainable"] = best
    st["tt runs"] = runs
    st["tt 5000"] = tt_stream(lines, 5000, a.seconds)
    st["tt 20000"] = tt_stream(lines, 20000, a.seconds)
    log(f"    5,000/s: p50 {st['tt 5000']['p50_s']:.2f} s, p99 {st['tt 5000']['p99_s']:.2f} s; "
        f"20,000/s: p50 {st['tt 20000']['p50_s']:.2f} s, p99 {st['tt 20000']['p99_s']:.2f} s")
    if not a.skip_spark:
        work = os.path.join(OUT, "spark")
        os.makedirs(work, exist_ok=True)
        log("streaming, Spark (same feed)")
        trial = lambda r: spark_stream(lines, r, a.seconds * 1.5, a.python, work)
        best, runs = search(trial, [500, 1_000, 2_500, 5_000, 10_000, 20_000, 40_000])
        st["spark sustainable"] = best
        st["spark runs"] = runs
        # The fixed-rate runs of the search are the latency runs when it got that far.
        by_rate = {r["rate"]: r for r in runs}
        st["spark 5000"] = by_rate.get(5000) or trial(5000)
        st["spark 20000"] = by_rate.get(20000) or trial(20000)
        log("throughput, Spark (the text file as fast as it takes it)")
        st["spark max"] = spark_stream(open(text, encoding="utf-8").readlines(), 0, 0, a.python, work)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
    shutil.rmtree(shm, ignore_errors=True)
    report(res)


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    java = subprocess.run(["java", "-version"], stderr=subprocess.PIPE, text=True).stderr.splitlines()
    tt = subprocess.run([TT, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    return {"cores": os.cpu_count(), "cpu": cpu, "java": java[0] if java else "?",
            "python": sys.version.split()[0], "tt": tt}


def report(res):
    from report import write
    write(res, OUT)


if __name__ == "__main__":
    main()
