"""The table and the chart of scripts/bench/compare.py's results."""
import json
import os
import sys


def f(x, unit="", nd=0):
    if x is None:
        return "n/a"
    if isinstance(x, float) and x != x:
        return "n/a"
    return f"{x:,.{nd}f}{unit}"


def top_of(r):
    """A batch command's final top 10 as [(tag, count)], from tt top, uniq -c or JSON."""
    out = r["stdout"].strip()
    if not out:
        return []
    if out.startswith("["):
        return [(t, c) for t, c in json.loads(out)]
    if out.startswith("{"):
        lb = json.loads(out.splitlines()[-1])
        return [(("#" + e["text"]), e["count"]) for e in lb["top"]]
    rows = []
    for line in out.splitlines():
        c, t = line.split(None, 1)
        rows.append((t, int(c)))
    return rows


def write(res, out_dir):
    b, st = res["batch"], res["stream"]
    m = res["machine"]
    lines = []
    p = lines.append
    p(f"machine: {m['cores']} cores, {m['cpu']}; {m['tt']}; {m['java']}; Python {m['python']}")
    p(f"input: {res['tweets']:,} generated v1.1 tweets (gen_tweets.py --seed 1) and their texts")
    p("")
    p("| contender | input | throughput (tweets/s) | wall (s) | wall / tt's on raw JSON | peak RSS (MiB) | first output (s) |")
    p("| --- | --- | --- | --- | --- | --- | --- |")
    base = b.get("tt raw", {}).get("wall_s")
    rows = [("tt tags \\| count \\| top", "raw JSON", "tt raw"),
            ("tt fetch replay \\| tags \\| count \\| top", "raw JSON", "tt replay"),
            ("tt tags \\| count \\| top", "real captures, repeated", "tt captures"),
            ("tt tags --input text \\| count \\| top", "text lines", "tt text"),
            ("grep -o \\| sort \\| uniq -c \\| sort -rn \\| head", "text lines", "shell text"),
            ("Python json.loads + Counter", "raw JSON", "python raw"),
            ("Python json.loads + Counter", "real captures, repeated", "python captures"),
            ("Python split + Counter", "text lines", "python text"),
            ("DuckDB read_ndjson, all cores", "raw JSON", "duckdb raw"),
            ("chDB JSONEachRow, all cores", "raw JSON", "chdb raw")]
    for name, inp, key in rows:
        r = b.get(key)
        if r:
            ratio = f"{r['wall_s'] / base:.2f}×" if base and inp == "raw JSON" else ""
            p(f"| {name} | {inp} | {f(r['tweets_per_s'])} | {f(r['wall_s'], nd=2)} | {ratio} | {f(r['peak_rss_mib'], nd=1)} | {f(r['first_output_s'], nd=3)} |")
    sm = st.get("spark max")
    if sm:
        p(f"| Spark Streaming job (local[2]) | text lines over a socket | {f(sm['throughput'])} | | | {f(sm['peak_rss_mib'], nd=1)} | {f(sm['first_output_s'], nd=1)} |")
    p("")
    p("Streaming, the same text feed at fixed rates, 2 s batches:")
    p("")
    p("| contender | sustainable rate (tweets/s) | p50 / p99 latency at 5,000/s | p50 / p99 at 20,000/s | s between leaderboards at 5,000/s | peak RSS at 20,000/s (MiB) | first leaderboard (s) |")
    p("| --- | --- | --- | --- | --- | --- | --- |")
    for who in ["tt", "spark"]:
        if f"{who} 5000" not in st:
            continue
        a, c = st[f"{who} 5000"], st[f"{who} 20000"]
        sus = st.get(f"{who} sustainable")
        runs = st.get(f"{who} runs", [])
        more = ""
        if runs and runs[-1].get("feeder_limited"):
            more = f" or more (the Python feeder tops out at {runs[-1]['achieved']:,.0f}/s)"
        elif runs and not runs[-1]["keeps_up"]:
            more = f" (misses at {runs[-1]['rate']:,})"
        if sus is None and runs:
            sus_text = f"none tried kept up{more}"
            more = ""
        else:
            sus_text = f(sus)
        p(f"| {'tt' if who == 'tt' else 'Spark job'} | {sus_text}{more} | {f(a['p50_s'], nd=2)} / {f(a['p99_s'], nd=2)} s"
          f"{'' if a['keeps_up'] else ' (falls behind)'} | {f(c['p50_s'], nd=2)} / {f(c['p99_s'], nd=2)} s"
          f"{'' if c['keeps_up'] else ' (falls behind)'} | {f(a.get('interval_s'), nd=2)} | {f(c['peak_rss_mib'], nd=1)} | {f(c['first_output_s'], nd=2)} |")
    if res.get("stages"):
        p("")
        p("Where tt's time goes: each stage alone over the raw file (CPU seconds, input size):")
        p("")
        p("| stage | CPU s | wall s | input MB | tweets/s of CPU |")
        p("| --- | --- | --- | --- | --- |")
        for name, r in res["stages"].items():
            p(f"| {name} | {r['cpu_s']:.2f} | {r['wall_s']:.2f} | {r['bytes_in'] / 1e6:,.0f} | {res['tweets'] / max(r['cpu_s'], 1e-9):,.0f} |")
    archive = read_archive(os.path.join(out_dir, "archive.tsv"))
    if archive:
        p("")
        p("A Stream-Grab-shaped archive (scripts/bench-archive.sh: a .tar of 24 hourly members, "
          "100,000 tweets), median wall s:")
        p("")
        p("| members | tt tags ARCHIVE | DECODER -dc members \\| tt tags - | ratio |")
        p("| --- | --- | --- | --- |")
        for r in archive:
            p(f"| .json.{r['codec']} | {r['tt_s']:.2f} | {r['pipe_s']:.2f} | {r['pipe_s'] / r['tt_s']:.2f}× |")
    p("")
    p("Final top 10 (tag, count) of each batch run:")
    p("")
    for key in ["tt raw", "python raw", "duckdb raw", "chdb raw", "tt text", "shell text", "python text"]:
        if key in b:
            p(f"- {key}: " + ", ".join(f"{t} {c}" for t, c in top_of(b[key])))
    if sm and sm.get("top"):
        p("- spark text: " + ", ".join(f"{t} {c}" for t, c in sm["top"]))
    # Agreement, like with like: the same rule on the same input must give the same top 10.
    def norm(rows):
        return [(t.lstrip("#").lower(), c) for t, c in rows]
    groups = {
        "real extraction on raw JSON (tt, Python)": [b.get("tt raw"), b.get("python raw")],
        "the classic '#' in word rule on text (shell, Python, Spark)": [b.get("shell text"), b.get("python text")],
        # Their SQL counts entity occurrences and ignores extended_tweet (sql.py): the
        # same rule as each other, not quite tt's.
        "entity occurrences in SQL (DuckDB, chDB)": [b.get("duckdb raw"), b.get("chdb raw")],
    }
    tops = {k: [norm(top_of(r)) for r in v if r] for k, v in groups.items()}
    if sm and sm.get("top"):
        tops["the classic '#' in word rule on text (shell, Python, Spark)"].append(norm(sm["top"]))
    p("")
    for k, v in tops.items():
        same = len(v) > 1 and all(x == v[0] for x in v)
        res.setdefault("agreement", {})[k] = same
        p(f"Agreement, {k}: {'identical top 10' if same else 'DIFFERENT'}")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out_dir, "table.md"), "w") as fh:
        fh.write(text + "\n")
    chart(res, os.path.join(out_dir, "chart.png"))


def read_archive(path):
    """scripts/bench-archive.sh's medians (codec, tt_s, pipe_s), or [] when it did not run."""
    try:
        with open(path) as fh:
            rows = [line.split("\t") for line in fh.read().splitlines()[1:] if line]
    except OSError:
        return []
    return [{"codec": c, "tt_s": float(a), "pipe_s": float(b)} for c, a, b in rows]


def chart(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no matplotlib: no chart)", file=sys.stderr)
        return
    b, st = res["batch"], res["stream"]
    archive = read_archive(os.path.join(os.path.dirname(path), "archive.tsv"))
    fig, ax = plt.subplots(1, 4 if archive else 3, figsize=(20 if archive else 15, 4.8))
    names, vals = [], []
    for label, key in [("tt raw", "tt raw"), ("duckdb raw", "duckdb raw"), ("chdb raw", "chdb raw"),
                       ("python raw", "python raw"), ("tt text", "tt text"),
                       ("shell text", "shell text"), ("python text", "python text")]:
        if key in b:
            names.append(label)
            vals.append(b[key]["tweets_per_s"])
    if st.get("spark max") and st["spark max"].get("throughput"):
        names.append("spark text")
        vals.append(st["spark max"]["throughput"])
    ax[0].barh(names, vals, color="#3b7dd8")
    ax[0].set_xscale("log")
    ax[0].set_title("throughput, tweets/s (log)")
    for i, v in enumerate(vals):
        ax[0].text(v, i, f" {v:,.0f}", va="center", fontsize=8)
    groups, p50, p99 = [], [], []
    for who in ["tt", "spark"]:
        for rate in [5000, 20000]:
            r = st.get(f"{who} {rate}")
            if r:
                groups.append(f"{who} @{rate // 1000}k/s")
                p50.append(r["p50_s"])
                p99.append(r["p99_s"])
    x = range(len(groups))
    ax[1].bar([i - 0.2 for i in x], p50, 0.4, label="p50")
    ax[1].bar([i + 0.2 for i in x], p99, 0.4, label="p99")
    for i, v in enumerate(p50):
        if v != v:  # NaN: no leaderboard ever included the tweets sent at that rate
            ax[1].text(i, 0.05, "fell behind,\nno latency", ha="center", fontsize=8)
    ax[1].set_xticks(list(x), groups, rotation=15)
    ax[1].set_title("latency to the leaderboard, s (2 s batches)")
    ax[1].legend()
    mem_names, mem = [], []
    for label, key in [("tt raw", "tt raw"), ("duckdb raw", "duckdb raw"), ("chdb raw", "chdb raw"),
                       ("shell text", "shell text"), ("python raw", "python raw")]:
        if key in b:
            mem_names.append(label)
            mem.append(b[key]["peak_rss_mib"])
    for who in ["tt", "spark"]:
        r = st.get(f"{who} 20000")
        if r:
            mem_names.append(f"{who} stream")
            mem.append(r["peak_rss_mib"])
    ax[2].barh(mem_names, mem, color="#d8843b")
    ax[2].set_title("peak memory of the process tree, MiB")
    for i, v in enumerate(mem):
        ax[2].text(v, i, f" {v:,.0f}", va="center", fontsize=8)
    if archive:
        # scripts/bench-archive.sh's rows: tt reading the .tar against the members piped
        # through their decoder, per codec.
        codecs = [r["codec"] for r in archive]
        x = range(len(codecs))
        ax[3].bar([i - 0.2 for i in x], [r["tt_s"] for r in archive], 0.4, label="tt tags ARCHIVE")
        ax[3].bar([i + 0.2 for i in x], [r["pipe_s"] for r in archive], 0.4,
                  label="DECODER -dc members | tt tags -")
        for i, r in enumerate(archive):
            ax[3].text(i, max(r["tt_s"], r["pipe_s"]), f"{r['pipe_s'] / r['tt_s']:.2f}×",
                       ha="center", va="bottom", fontsize=8)
        ax[3].set_xticks(list(x), [f".tar of .json.{c}" for c in codecs])
        ax[3].set_yscale("log")
        ax[3].set_title("Stream-Grab-shaped archive, wall s (log)")
        ax[3].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"chart: {path}", file=sys.stderr)


if __name__ == "__main__":
    d = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "target", "bench-compare")
    write(json.load(open(os.path.join(d, "results.json"))), d)
