//! `tt report`: the page of a saved stream's trends, opened from disk in headless Chromium.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::browser::Page;
use crate::harness::{fixture, ndjson, stderr_of, tt};

/// A tag to try the page with: markup, a script end, a bidi override, a line separator.
const HOSTILE: &str = "</script><img src=x onerror=window.pwned=1>\u{202e}evil\u{2028}x";

/// `gen_tweets.py --count 100000 --seed 3` through tt tags and tt count --time event
/// --batch 2s: (the count updates, the planted bursts' first `at` in ms).
fn planted_stream(dir: &Path) -> (Vec<u8>, HashMap<String, i64>) {
    let gen = Command::new("python3")
        .arg(fixture("gen_tweets.py"))
        .args(["--count", "100000", "--seed", "3"])
        .output()
        .unwrap();
    assert!(gen.status.success());
    let raw = dir.join("raw.ndjson");
    std::fs::write(&raw, &gen.stdout).unwrap();
    let uses = tt().args(["tags", "-q"]).arg(&raw).output().unwrap();
    let mut first = HashMap::new();
    for u in ndjson(&uses.stdout) {
        let tag = u["tag"].as_str().unwrap();
        if [
            "worldcupfinal",
            "earthquakealert",
            "newalbumfriday",
            "serverdown",
        ]
        .contains(&tag)
        {
            let at = tt::time::parse_rfc3339(u["at"].as_str().unwrap()).unwrap();
            let e = first.entry(tag.to_string()).or_insert(at);
            *e = (*e).min(at);
        }
    }
    let counts = tt()
        .args(["count", "-q", "--time", "event", "--batch", "2s"])
        .write_stdin(uses.stdout)
        .output()
        .unwrap();
    assert!(counts.status.success(), "{}", stderr_of(&counts));
    (counts.stdout, first)
}

#[test]
fn the_report_page_from_disk_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (mut updates, planted) = planted_stream(dir.path());
    // One more batch, with a hostile tag that bursts mildly (below the planted ones).
    let last = ndjson(&updates).last().unwrap().clone();
    let end = tt::time::parse_rfc3339(last["end"].as_str().unwrap()).unwrap() + 2000;
    let extra = serde_json::json!({
        "batch": last["batch"].as_u64().unwrap() + 1,
        "end": tt::time::format_rfc3339(end),
        "posts": 9, "tags": 1, "counting": "total",
        "counts": [{"tag": HOSTILE, "text": HOSTILE, "count": 9, "delta": 9, "uses": 9, "trend": 2.5}],
    });
    updates.extend_from_slice(format!("{extra}\n").as_bytes());
    let html = dir.path().join("report.html");
    let out = tt()
        .args(["report", "-o"])
        .arg(&html)
        .write_stdin(updates)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty(), "the page goes to -o, not stdout");
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        !text.contains("<img src=x"),
        "the hostile tag is escaped in the data"
    );

    let mut page = Page::open("about:blank");
    page.call("Network.enable", serde_json::json!({}));
    page.call("Runtime.enable", serde_json::json!({}));
    page.call("Log.enable", serde_json::json!({}));
    let url = format!("file://{}", html.display());
    page.call("Page.navigate", serde_json::json!({ "url": url }));
    let t = Instant::now();
    while page.eval("document.body && document.body.dataset.ready") != "true" {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the page never got ready; events: {:?}",
            page.events
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The bursts table: the four planted bursts first, each starting within 3 batches
    // (6 s) of its first use; the hostile tag is there as text.
    let rows: Vec<Vec<String>> = serde_json::from_value(page.eval(
        "[...document.querySelectorAll('#bursts tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))",
    ))
    .unwrap();
    let top4: Vec<String> = rows[..4].iter().map(|r| r[0].to_lowercase()).collect();
    let mut want: Vec<&String> = planted.keys().collect();
    want.sort();
    let mut got: Vec<String> = top4
        .iter()
        .map(|t| t.trim_start_matches('#').to_string())
        .collect();
    got.sort();
    assert_eq!(got.iter().collect::<Vec<_>>(), want, "rows: {rows:?}");
    for r in &rows[..4] {
        let tag = r[0].trim_start_matches('#').to_lowercase();
        let start = tt::time::parse_rfc3339(&r[1]).unwrap();
        let first = planted[&tag];
        let off = (start - first).abs();
        assert!(
            off <= 6000,
            "{tag}: burst starts {off} ms from its first use"
        );
    }
    assert!(
        rows.iter().any(|r| r[0] == format!("#{HOSTILE}")),
        "the hostile tag as text: {rows:?}"
    );
    assert_eq!(page.eval("document.querySelectorAll('img').length"), 0);
    assert_eq!(page.eval("typeof window.pwned"), "undefined");
    // Selecting a burst marks it; typing a tag adds its line.
    let lines = |page: &mut Page| page.eval("Chart.getChart('timeline').data.datasets.length");
    let before = lines(&mut page).as_u64().unwrap();
    page.eval("document.querySelector('#bursts tbody tr:last-child').click()");
    assert_eq!(
        page.eval(
            "document.querySelector('#bursts tbody tr:last-child').getAttribute('aria-selected')"
        ),
        "true"
    );
    assert_eq!(
        lines(&mut page).as_u64().unwrap(),
        before + 1,
        "its line was added"
    );
    // Leaders per period and the summary are there.
    let leaders = page.eval("document.querySelectorAll('#leaders tbody tr').length");
    assert!(leaders.as_u64().unwrap() >= 1);
    let summary = page.eval("document.getElementById('summary').textContent");
    assert!(summary.as_str().unwrap().contains("Batches"), "{summary}");

    // No console error, no request but the page itself.
    let mut bad = Vec::new();
    for e in &page.events {
        let method = e["method"].as_str().unwrap_or("");
        let params = &e["params"];
        match method {
            "Runtime.exceptionThrown" => bad.push(e.clone()),
            "Runtime.consoleAPICalled" if params["type"] == "error" => bad.push(e.clone()),
            "Log.entryAdded" if params["entry"]["level"] == "error" => bad.push(e.clone()),
            "Network.requestWillBeSent" => {
                let u = params["request"]["url"].as_str().unwrap_or("");
                if u != url && !u.starts_with("data:") {
                    bad.push(e.clone());
                }
            }
            _ => {}
        }
    }
    assert!(bad.is_empty(), "console errors or requests: {bad:?}");
    if let Ok(path) = std::env::var("TT_REPORT_SCREENSHOT") {
        page.screenshot(Path::new(&path));
    }
}

/// Bad input is named and skipped; no update at all is an error (exit 65), not an empty page.
#[test]
fn bad_and_missing_input() {
    let out = tt().arg("report").write_stdin("").output().unwrap();
    assert_eq!(out.status.code(), Some(65));
    assert!(
        stderr_of(&out).contains("no count update read"),
        "{}",
        stderr_of(&out)
    );
    let good = r#"{"batch":1,"end":"2026-01-01T00:00:02Z","posts":1,"tags":1,"counting":"total","counts":[{"tag":"a","text":"a","count":1,"delta":1,"uses":1,"trend":0}]}"#;
    let back = r#"{"batch":2,"end":"2025-01-01T00:00:02Z","posts":1,"tags":1,"counting":"total","counts":[]}"#;
    let out = tt()
        .arg("report")
        .write_stdin(format!("{good}\n[1]\n{back}\n"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("<stdin>:2: not a count update from tt count (an array"),
        "{err}"
    );
    assert!(
        err.contains("<stdin>:3: batch 2 ends at 2025-01-01T00:00:02Z, not after"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("<!doctype html>"));
}
