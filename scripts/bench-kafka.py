#!/usr/bin/env python3
"""Kafka through librdkafka's mock cluster (in one process on 127.0.0.1, as the tests use):
records per second published and consumed, and the latency from `tt publish` to the
`tt count --batch 2s` line that counts a record, at 20,000 posts/s.

    python3 scripts/bench-kafka.py [--runs 5] [--seconds 30] [--rate 20000]

Builds `tt` and the `kafka_mock` example in release mode. Inputs (made once, under
target/bench-data/): 200,000 simulated posts (`tt fetch sim --speed max`, 115 MB) and their
tag uses. Throughputs are medians of --runs runs, each into a topic of its own (4
partitions). Latency: the simulator at --rate posts/s goes through `tt tags` into
`tt publish`; every 50 ms this script puts a probe use (a tag of its own) into the same
`tt publish` input and notes the time; `tt count` reads the topic with --batch 2s, and a
probe's latency is the time from writing it to reading the first count line that holds
its tag. Prints markdown tables (also written to target/bench-kafka.md).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TT = os.path.join(ROOT, "target/release/tt")
MOCK = os.path.join(ROOT, "target/release/examples/kafka_mock")
DATA = os.path.join(ROOT, "target/bench-data")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def timed(cmd, stdout=subprocess.DEVNULL):
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, check=False)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.decode()}")
    return dt, p.stderr.decode()


def lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--rate", type=int, default=20000)
    a = ap.parse_args()

    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    sh(["cargo", "build", "--release", "--quiet", "--example", "kafka_mock"], cwd=ROOT)
    os.makedirs(DATA, exist_ok=True)
    posts = os.path.join(DATA, "kafka-posts.ndjson")
    uses = os.path.join(DATA, "kafka-uses.ndjson")
    if not os.path.exists(uses):
        with open(posts, "wb") as f:
            sh([TT, "fetch", "sim", "--speed", "max", "--start", "2026-01-01T00:00:00Z",
                "--rate", "2000", "--limit", "200000"], stdout=f)
        with open(uses, "wb") as f:
            sh([TT, "tags", "-q", posts], stdout=f)
    n_posts, n_uses = lines(posts), lines(uses)
    mb = os.path.getsize(posts) / 1e6

    topics = [f"{t}{i}:4" for t in ("uses", "posts", "tagged") for i in range(a.runs)]
    mock = subprocess.Popen([MOCK, "1", *topics, "lat:4"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    brokers = mock.stdout.readline().strip()
    url = lambda t: f"kafka://{brokers}/{t}"
    out = []
    say = lambda s="": (print(s), out.append(s))
    cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": ")
    say(f"machine: {os.cpu_count()} cores, {cpu}; medians of {a.runs} runs; "
        f"mock cluster of 1 broker, topics of 4 partitions")
    say()
    say("| command | records | median time | records/s | ratio to the file |")
    say("| --- | --- | --- | --- | --- |")

    def row(name, n, what, t, base=None):
        ratio = f"{base / t:.2f}x" if base else ""
        say(f"| `{name}` | {n:,} {what} | {t:.2f} s | {n / t:,.0f} | {ratio} |")

    pub_uses, pub_posts, msgs = [], [], 0
    for i in range(a.runs):
        t, err = timed([TT, "publish", url(f"uses{i}"), uses])
        pub_uses.append(t)
        msgs = int(err.split(" in ")[1].split(" ")[0])
        pub_posts.append(timed([TT, "publish", url(f"posts{i}"), posts])[0])
    file_count = statistics.median(timed([TT, "count", uses])[0] for _ in range(a.runs))
    file_tags = statistics.median(timed([TT, "tags", "-j1", posts])[0] for _ in range(a.runs))
    kafka_count = statistics.median(
        timed([TT, "count", url(f"uses{i}"), "--until-end"])[0] for i in range(a.runs))
    kafka_tags = statistics.median(
        timed([TT, "tags", url(f"posts{i}"), "--until-end"])[0] for i in range(a.runs))
    # The middle stage of the deployment: a group member from topic to topic.
    kafka_tags_to = statistics.median(
        timed([TT, "tags", url(f"posts{i}"), "--group", f"bench{i}", "--to", url(f"tagged{i}"),
               "--until-end"])[0] for i in range(a.runs))
    row("tt publish URL uses", n_uses, f"tag uses ({msgs:,} messages)",
        statistics.median(pub_uses))
    row("tt publish URL posts", n_posts, f"posts ({mb:,.0f} MB)", statistics.median(pub_posts))
    row("tt count URL --until-end", n_uses, "tag uses", kafka_count, file_count)
    row("tt count FILE", n_uses, "tag uses", file_count)
    row("tt tags URL --until-end", n_posts, "posts", kafka_tags, file_tags)
    row("tt tags -j1 FILE", n_posts, "posts", file_tags)
    row("tt tags URL --group G --to URL2 --until-end", n_posts, "posts", kafka_tags_to, file_tags)
    say()

    # Latency at --rate posts/s.
    count = subprocess.Popen([TT, "count", url("lat"), "--batch", "2s", "--from", "latest"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen = {}

    def read_counts():
        for line in count.stdout:
            now = time.monotonic()
            for c in json.loads(line)["counts"]:
                if c["tag"].startswith("zzprobe"):
                    seen.setdefault(c["tag"], now)

    reader = threading.Thread(target=read_counts, daemon=True)
    reader.start()
    time.sleep(2)  # the consumer has its partitions
    sim = subprocess.Popen([TT, "fetch", "sim", "--rate", str(a.rate), "--limit",
                            str(a.rate * a.seconds)], stdout=subprocess.PIPE)
    tags = subprocess.Popen([TT, "tags", "-q"], stdin=sim.stdout, stdout=subprocess.PIPE)
    sim.stdout.close()
    pub = subprocess.Popen([TT, "publish", url("lat"), "-q"], stdin=subprocess.PIPE)
    sent = {}
    started = next_probe = time.monotonic()
    k = 0
    for line in tags.stdout:
        pub.stdin.write(line)
        now = time.monotonic()
        if now >= next_probe:
            tag = f"zzprobe{k}"
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            pub.stdin.write((json.dumps({"tag": tag, "text": tag, "id": f"probe{k}", "at": at,
                                         "user": "probe", "rt": False}) + "\n").encode())
            pub.stdin.flush()
            sent[tag] = time.monotonic()
            k += 1
            next_probe = now + 0.05
    took = time.monotonic() - started  # the simulator waits when the pipeline falls behind
    pub.stdin.close()
    pub.wait()
    deadline = time.monotonic() + 10
    while len(seen) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.1)
    count.terminate()
    mock.stdin.close()
    mock.wait()
    lat = sorted(seen[t] - s for t, s in sent.items() if t in seen)
    lost = len(sent) - len(lat)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    say(f"Latency from `tt publish` to the `tt count --batch 2s` line: `tt fetch sim --rate "
        f"{a.rate}` for {a.seconds} s through `tt tags` and `tt publish`, a probe every 50 ms "
        f"({len(sent)} probes, {lost} not seen; a batch holds 2 s, so a record waits 1 s "
        f"for its batch to close on average)")
    say()
    say("| posts/s achieved | median | p90 | p99 | max |")
    say("| --- | --- | --- | --- | --- |")
    achieved = a.rate * a.seconds / took
    say(f"| {achieved:,.0f} | {q(0.5):.2f} s | {q(0.9):.2f} s | {q(0.99):.2f} s | {lat[-1]:.2f} s |")
    with open(os.path.join(ROOT, "target/bench-kafka.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
