"""DuckDB or chDB (ClickHouse) counting the hashtags of a raw v1.1 JSON file, written the
way their users write it (only the columns needed declared); prints the top 10 as JSON.
Their counts differ slightly from tt's: they count entity occurrences and ignore
`extended_tweet`. Usage: python sql.py duckdb|chdb FILE [THREADS]"""
import json
import sys

engine, path = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
if engine == "duckdb":
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    rows = con.execute(f"""
        SELECT lower(h.text) AS tag, count(*) AS n FROM (
          SELECT unnest(CASE WHEN len(retweeted_status.entities.hashtags) > 0
                         THEN retweeted_status.entities.hashtags ELSE entities.hashtags END) AS h
          FROM read_ndjson('{path}', columns={{
             'entities': 'STRUCT(hashtags STRUCT(text VARCHAR)[])',
             'retweeted_status': 'STRUCT(entities STRUCT(hashtags STRUCT(text VARCHAR)[]))'}},
             ignore_errors=true, maximum_object_size=16777216)
        ) GROUP BY tag ORDER BY n DESC, tag LIMIT 10""").fetchall()
else:
    import chdb

    out = chdb.query(f"""
        SELECT lower(tupleElement(h, 'text')) AS tag, count() AS n
        FROM file('{path}', 'JSONEachRow', 'entities Tuple(hashtags Array(Tuple(text String))),
                  retweeted_status Tuple(entities Tuple(hashtags Array(Tuple(text String))))')
        ARRAY JOIN if(length(retweeted_status.entities.hashtags) > 0,
                      retweeted_status.entities.hashtags, entities.hashtags) AS h
        GROUP BY tag ORDER BY n DESC, tag LIMIT 10
        SETTINGS input_format_skip_unknown_fields=1, input_format_allow_errors_ratio=1,
                 max_threads={threads}""", "JSONCompact")
    rows = [tuple(r) for r in json.loads(out.bytes())["data"]]
print(json.dumps([[t, int(n)] for t, n in rows], ensure_ascii=False))
