"""The Python baseline: collections.Counter over hashtags, top 10.

  counter.py json FILE   raw v1.1 JSON: json.loads each line, the tweet's own hashtags
                         (entities, extended_tweet's for long tweets; a retweet's from
                         the original), as a Python user of the API would
  counter.py text FILE   text lines: split on spaces, words containing '#' (the classic rule)
Prints the top 10 as JSON [[tag, count], ...] (count desc, tag asc).
"""
import collections
import json
import sys

mode, path = sys.argv[1], sys.argv[2]
counts = collections.Counter()
with open(path, encoding="utf-8", errors="replace") as f:
    if mode == "json":
        for line in f:
            try:
                t = json.loads(line)
            except ValueError:
                continue
            if "text" not in t and "full_text" not in t:
                continue  # notices
            t = t.get("retweeted_status", t)
            ent = t.get("extended_tweet", {}).get("entities") or t.get("entities", {})
            for h in {h["text"].lower() for h in ent.get("hashtags", [])}:
                counts[h] += 1
    else:
        for line in f:
            for w in line.rstrip("\n").split(" "):
                if "#" in w:
                    counts[w] += 1
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
print(json.dumps(top))
