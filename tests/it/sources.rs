//! `tt fetch`'s network sources against fake servers that speak their real protocols
//! (tests/it/fake.rs), replaying the real payloads in tests/fixtures/data: streams pass
//! through intact; 420, 429 with Retry-After, 503, refused connections, a stall, a line cut
//! by a disconnect and a `disconnect` notice each lead to the right wait and to no broken
//! or duplicated line; refused credentials end the run; a slow reader keeps memory bounded.
//!
//! Backoff waits are scaled down with TT_FETCH_TIME_SCALE (0.002: 60 s takes 120 ms), and
//! the waits are checked on the server's clock, between the requests it received.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::fake::{chunk, hold, respond, stream_head, Fake, Req};
use crate::harness::{
    assert_ends_quietly, closed_port, data, ndjson, proc_status, signal_when_caught, stderr_of, tt,
    tt_path, KillOnDrop,
};

const TWITTER_KEYS: [(&str, &str); 4] = [
    ("TWITTER_CONSUMER_KEY", "ck-7f3a"),
    ("TWITTER_CONSUMER_SECRET", "consumer-secret-9b1d"),
    ("TWITTER_ACCESS_TOKEN", "at-42"),
    ("TWITTER_ACCESS_TOKEN_SECRET", "token-secret-c0de"),
];

/// `tt fetch ARGS` with no credentials but the ones a test gives, no proxy for loopback,
/// no credentials file, and backoff waits scaled by `scale`.
fn fetch(args: &[&str], scale: &str) -> assert_cmd::Command {
    let mut c = tt();
    c.arg("fetch").args(args);
    for k in [
        "TWITTER_CONSUMER_KEY",
        "TWITTER_CONSUMER_SECRET",
        "TWITTER_ACCESS_TOKEN",
        "TWITTER_ACCESS_TOKEN_SECRET",
        "TWITTER_BEARER_TOKEN",
        "MASTODON_ACCESS_TOKEN",
    ] {
        c.env_remove(k);
    }
    c.env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("TT_FETCH_TIME_SCALE", scale);
    c
}

fn with_twitter_keys(c: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    for (k, v) in TWITTER_KEYS {
        c.env(k, v);
    }
    c
}

fn lines_of(name: &str) -> Vec<String> {
    std::fs::read_to_string(data(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// RFC 3986 percent-encoding, as OAuth 1.0a (RFC 5849 §3.6) requires.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Checks a request's OAuth 1.0a HMAC-SHA1 signature from first principles (RFC 5849
/// §3.4), independently of the oauth1-request crate that made it.
fn verify_oauth(req: &Req) -> Result<(), String> {
    let auth = req.header("authorization").ok_or("no Authorization")?;
    let auth = auth.strip_prefix("OAuth ").ok_or("not OAuth")?;
    let mut oauth: Vec<(String, String)> = auth
        .split(',')
        .map(|kv| {
            let (k, v) = kv.trim().split_once('=').unwrap();
            let v = v.trim_matches('"');
            // OAuth encodes a space as %20 and `+` as %2B, so form decoding is exact here.
            let v = form_urlencoded::parse(format!("v={v}").as_bytes())
                .next()
                .map_or(String::new(), |(_, v)| v.into_owned());
            (k.to_owned(), v)
        })
        .collect();
    let sig_pos = oauth
        .iter()
        .position(|(k, _)| k == "oauth_signature")
        .ok_or("no signature")?;
    let (_, signature) = oauth.remove(sig_pos);
    let get = |k: &str| oauth.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("oauth_consumer_key").as_deref() != Some(TWITTER_KEYS[0].1)
        || get("oauth_token").as_deref() != Some(TWITTER_KEYS[2].1)
        || get("oauth_signature_method").as_deref() != Some("HMAC-SHA1")
    {
        return Err(format!("wrong oauth parameters: {oauth:?}"));
    }
    let ts: u64 = get("oauth_timestamp")
        .ok_or("no timestamp")?
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now.abs_diff(ts) > 300 {
        return Err(format!("timestamp {ts} is not now"));
    }
    let mut params: Vec<(String, String)> =
        form_urlencoded::parse(&req.body).into_owned().collect();
    params.extend(req.query());
    params.extend(oauth);
    let mut enc: Vec<(String, String)> = params.iter().map(|(k, v)| (pct(k), pct(v))).collect();
    enc.sort();
    let param_str = enc
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let url = format!("http://{}{}", req.header("host").unwrap(), req.path());
    let base = format!("{}&{}&{}", req.method, pct(&url), pct(&param_str));
    let key = format!("{}&{}", pct(TWITTER_KEYS[1].1), pct(TWITTER_KEYS[3].1));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(base.as_bytes());
    use base64::Engine;
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if want == signature {
        Ok(())
    } else {
        Err(format!("bad signature {signature}, want {want} for {base}"))
    }
}

/// A fake v1.1 server: every request must be a signed POST to the filter endpoint (else
/// 401, and the reason is kept in the returned list); `script` serves request `i`.
fn twitter_server(
    script: impl Fn(usize, &mut TcpStream, &AtomicBool) + Send + Sync + 'static,
) -> (Fake, Arc<Mutex<Vec<String>>>) {
    let bad = Arc::new(Mutex::new(Vec::new()));
    let b = bad.clone();
    let fake = Fake::http(move |i, req, s, stop| {
        let check = if req.method != "POST" || req.path() != "/1.1/statuses/filter.json" {
            Err(format!("unexpected {} {}", req.method, req.target))
        } else {
            verify_oauth(req)
        };
        match check {
            Ok(()) => script(i, s, stop),
            Err(e) => {
                b.lock().unwrap().push(e);
                respond(
                    s,
                    401,
                    &[],
                    br#"{"errors":[{"code":32,"message":"Could not authenticate you."}]}"#,
                );
            }
        }
    });
    (fake, bad)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Asserts the server saw request `b` at least `want` after request `a` (and not absurdly
/// later), i.e. that tt waited as the rules say.
fn assert_gap(reqs: &[Req], a: usize, b: usize, want: Duration) {
    let gap = reqs[b].at.duration_since(reqs[a].at);
    assert!(
        gap >= want && gap < want + Duration::from_secs(3),
        "requests {a} -> {b}: waited {gap:?}, want {want:?}"
    );
}

#[test]
fn twitter_stream_passes_through_signed_and_whole() {
    let statuses = lines_of("twitter-v1-stream_python-twitter.ndjson");
    let notices: Vec<String> = lines_of("twitter-v1-stream-notices_twitter4s.ndjson")
        .into_iter()
        .filter(|l| !l.contains("\"disconnect\"") && !l.contains("\"warning\""))
        .collect();
    // The stream as sent: statuses with the notices in the middle, keep-alives between.
    let mut sent: Vec<String> = statuses[..30].to_vec();
    sent.extend(notices.iter().cloned());
    sent.extend(statuses[30..].iter().cloned());
    let body = sent.clone();
    let (fake, bad) = twitter_server(move |_, s, stop| {
        stream_head(s, "application/json");
        for (i, line) in body.iter().enumerate() {
            if i % 10 == 0 {
                chunk(s, b"\r\n"); // keep-alive
            }
            // Lines split across chunks, as TCP may deliver them.
            let (a, b) = line.as_bytes().split_at(line.len() / 2);
            chunk(s, a);
            chunk(s, &[b, b"\r\n"].concat());
        }
        hold(stop, Duration::from_secs(30));
    });
    let out = with_twitter_keys(&mut fetch(
        &[
            "--endpoint",
            &fake.url,
            "--track",
            "#rust,#python",
            "--language",
            "en",
            "--limit",
            &statuses.len().to_string(),
        ],
        "1",
    ))
    .output()
    .unwrap();
    let (got, err) = succeeded(&out);
    assert!(bad.lock().unwrap().is_empty(), "{:?}", bad.lock().unwrap());
    assert_eq!(got, sent, "every object passed through as sent, in order");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(&reqs[0].body).into_owned().collect();
    assert_eq!(form["track"], "#rust,#python");
    assert_eq!(form["language"], "en");
    assert_eq!(form["stall_warnings"], "true");
    assert!(reqs[0].header("user-agent").unwrap().starts_with("tt/"));
    assert!(err.contains("limit notice: 5678"), "{err}");
    for (_, secret) in TWITTER_KEYS {
        assert!(!err.contains(secret), "a credential was printed: {err}");
    }
}

#[test]
fn twitter_reconnects_by_the_published_rules() {
    let posts: Vec<String> = lines_of("twitter-v1-stream_python-twitter.ndjson")[..6].to_vec();
    let p = posts.clone();
    let (fake, bad) = twitter_server(move |i, s, stop| {
        let line = |s: &mut TcpStream, k: usize| chunk(s, format!("{}\r\n", p[k]).as_bytes());
        match i {
            0 | 1 => respond(s, 420, &[], b"Easy there, Turbo."),
            2 => respond(s, 429, &[("Retry-After", "300")], b"Too Many Requests"),
            3 | 4 => respond(s, 503, &[], b"Service Unavailable"),
            5 => {
                // Two posts, then a hang-up in the middle of a third line.
                stream_head(s, "application/json");
                line(s, 0);
                line(s, 1);
                chunk(s, &p[2].as_bytes()[..40]);
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
            6 => {
                stream_head(s, "application/json");
                line(s, 2);
                chunk(
                    s,
                    b"{\"disconnect\":{\"code\":7,\"stream_name\":\"tt\",\"reason\":\"admin logout\"}}\r\n",
                );
                hold(stop, Duration::from_secs(30));
            }
            7 => {
                // A post, then silence: a stall.
                stream_head(s, "application/json");
                line(s, 3);
                hold(stop, Duration::from_secs(30));
            }
            _ => {
                stream_head(s, "application/json");
                line(s, 4);
                line(s, 5);
                hold(stop, Duration::from_secs(30));
            }
        }
    });
    let out = with_twitter_keys(&mut fetch(
        &[
            "twitter",
            "--endpoint",
            &fake.url,
            "--track",
            "#",
            "--stall-timeout",
            "400ms",
            "--limit",
            "6",
        ],
        "0.002",
    ))
    .output()
    .unwrap();
    let (got, err) = succeeded(&out);
    assert!(bad.lock().unwrap().is_empty(), "{:?}", bad.lock().unwrap());
    assert_eq!(
        got, posts,
        "no cut line, no duplicate, nothing lost:\n{err}"
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 9, "{err}");
    assert_gap(&reqs, 0, 1, ms(120)); // 420: 60 s (x 0.002)
    assert_gap(&reqs, 1, 2, ms(240)); // 420 again: 120 s
    assert_gap(&reqs, 2, 3, ms(600)); // 429: Retry-After 300 s beats 240 s
    assert_gap(&reqs, 3, 4, ms(10)); // 503: 5 s
    assert_gap(&reqs, 4, 5, ms(20)); // 503 again: 10 s
    assert_gap(&reqs, 7, 8, ms(400)); // the stall timeout, then at once
    for want in [
        "HTTP 420: Easy there, Turbo.; retrying in 60s",
        "HTTP 420: Easy there, Turbo.; retrying in 120s",
        "HTTP 429: Too Many Requests; retrying in 300s",
        "HTTP 503: Service Unavailable; retrying in 5s",
        "HTTP 503: Service Unavailable; retrying in 10s",
        "connection lost",
        "disconnect notice",
        "admin logout",
        "stalled: nothing received for 400ms",
        "reconnecting in 0ms",
    ] {
        assert!(err.contains(want), "stderr lacks {want:?}:\n{err}");
    }
}

#[test]
fn refused_credentials_end_the_run_with_77_and_no_retry() {
    let fake = Fake::http(|_, _, s, _| {
        respond(
            s,
            401,
            &[],
            br#"{"errors":[{"code":89,"message":"Invalid or expired token."}]}"#,
        )
    });
    let out = with_twitter_keys(&mut fetch(&["--endpoint", &fake.url], "0.001"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(77), "{err}");
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(err.contains("Invalid or expired token"), "{err}");
    assert!(
        err.contains("TWITTER_CONSUMER_KEY"),
        "names what to check: {err}"
    );
    assert_eq!(fake.requests().len(), 1, "not retried");
    for (_, secret) in TWITTER_KEYS {
        assert!(!err.contains(secret), "a credential was printed: {err}");
    }

    // Missing credentials: 78, naming each missing variable.
    let out = fetch(&["--endpoint", &fake.url], "1").output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(stderr_of(&out).contains("TWITTER_ACCESS_TOKEN_SECRET"));
}

#[test]
fn credentials_file_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let text: String = TWITTER_KEYS
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    std::fs::write(&file, text).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (fake, bad) = twitter_server(|_, s, stop| {
        stream_head(s, "application/json");
        chunk(s, b"{\"id\":1,\"text\":\"#a\"}\r\n");
        hold(stop, Duration::from_secs(30));
    });
    let args = [
        "--endpoint",
        &fake.url,
        "--credentials",
        file.to_str().unwrap(),
        "--limit",
        "1",
    ];
    let out = fetch(&args, "1").output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(stderr_of(&out).contains("chmod 600"), "{}", stderr_of(&out));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = fetch(&args, "1").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(out.stdout, b"{\"id\":1,\"text\":\"#a\"}\n");
    assert!(
        bad.lock().unwrap().is_empty(),
        "signed with the file's keys"
    );
}

#[test]
fn unreachable_source_backs_off_linearly_then_gives_up_with_69() {
    let port = closed_port();
    let t = Instant::now();
    let out = with_twitter_keys(&mut fetch(
        &[
            "--endpoint",
            &format!("http://127.0.0.1:{port}"),
            "--retries",
            "3",
        ],
        "1",
    ))
    .output()
    .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(69), "{err}");
    // 250 + 500 + 750 ms, unscaled.
    assert!(t.elapsed() >= ms(1500), "{:?}", t.elapsed());
    let refused = format!("cannot connect: 127.0.0.1:{port}: Connection refused; retrying");
    for want in [
        &refused,
        "retrying in 250ms",
        "retrying in 500ms",
        "retrying in 750ms",
        "giving up: 4 failed attempts in a row (the first and 3 retries)",
    ] {
        assert!(err.contains(want), "stderr lacks {want:?}:\n{err}");
    }
}

/// A `--duration` that passes before the source is ever reached ends in 69 with the last
/// reason, not in 0 with nothing fetched; once reached, the duration ends it with 0.
#[test]
fn a_duration_that_passes_before_the_source_is_reached_is_unavailable() {
    let port = closed_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let args = ["--endpoint", &endpoint, "--duration", "600ms"];
    let out = with_twitter_keys(&mut fetch(&args, "1")).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(69), "{err}");
    let says = format!(
        "twitter: not reached before --duration ended; last: cannot connect: \
         127.0.0.1:{port}: Connection refused"
    );
    assert!(err.contains(&says), "{err}");

    let (fake, _) = firehose(1_000_000);
    let args = ["--endpoint", &fake.url, "--duration", "300ms"];
    let out = with_twitter_keys(&mut fetch(&args, "1")).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(!out.stdout.is_empty());
}

#[test]
fn x_rules_and_stream_with_duplicates_and_in_band_disconnect() {
    // The capture ends with a line cut short (twarc was stopped mid-write): it is sent
    // too, and must be skipped.
    let sent = lines_of("twitter-v2-stream_twarc-csv.ndjson");
    let msgs: Vec<String> = sent
        .iter()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok())
        .cloned()
        .collect();
    assert_eq!(msgs.len() + 1, sent.len());
    let m = sent.clone();
    let added = Arc::new(Mutex::new(Vec::<Value>::new()));
    let a = added.clone();
    let streams = AtomicUsize::new(0);
    let extra = r#"{"data":{"id":"99","text":"late #news","created_at":"2021-04-01T16:00:00.000Z","author_id":"1","entities":{"hashtags":[{"start":5,"end":10,"tag":"news"}]}}}"#;
    let fake = Fake::http(move |_, req, s, stop| {
        assert_eq!(req.header("authorization"), Some("Bearer bearer-xyz"));
        match (req.method.as_str(), req.path()) {
            ("GET", "/2/tweets/search/stream/rules") => {
                let mut data = vec![json!({"id": "1", "value": "#old", "tag": "old"})];
                data.extend(a.lock().unwrap().iter().cloned());
                let body = json!({"data": data, "meta": {"result_count": data.len()}});
                respond(
                    s,
                    200,
                    &[("Content-Type", "application/json")],
                    body.to_string().as_bytes(),
                );
            }
            ("POST", "/2/tweets/search/stream/rules") => {
                let v: Value = serde_json::from_slice(&req.body).unwrap();
                let body = if let Some(add) = v["add"].as_array() {
                    let new: Vec<Value> = add
                        .iter()
                        .enumerate()
                        .map(|(i, r)| json!({"id": format!("10{i}"), "value": r["value"], "tag": r["tag"]}))
                        .collect();
                    a.lock().unwrap().extend(new.iter().cloned());
                    json!({"data": new, "meta": {"summary": {"created": new.len()}}})
                } else {
                    assert_eq!(v, json!({"delete": {"ids": ["1"]}}));
                    json!({"meta": {"summary": {"deleted": 1}}})
                };
                respond(
                    s,
                    200,
                    &[("Content-Type", "application/json")],
                    body.to_string().as_bytes(),
                );
            }
            ("GET", "/2/tweets/search/stream") => {
                let q = req.query();
                assert!(q["tweet.fields"].contains("note_tweet"), "{q:?}");
                assert!(q["tweet.fields"].contains("entities"), "{q:?}");
                assert!(q["expansions"].contains("referenced_tweets.id"), "{q:?}");
                stream_head(s, "application/json");
                if streams.fetch_add(1, Ordering::SeqCst) > 0 {
                    // After the reconnect: the same messages again, then a new one.
                    for l in &m {
                        chunk(s, format!("{l}\r\n").as_bytes());
                    }
                    chunk(s, format!("{extra}\r\n").as_bytes());
                    hold(stop, Duration::from_secs(30));
                    return;
                }
                for l in &m {
                    chunk(s, format!("{l}\r\n\r\n").as_bytes());
                }
                // A duplicate, then X's in-band operational disconnect.
                chunk(s, format!("{}\r\n", m[0]).as_bytes());
                chunk(
                    s,
                    br#"{"errors":[{"title":"operational-disconnect","disconnect_type":"UpstreamOperationalDisconnect","detail":"This stream has been disconnected upstream for operational reasons.","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}"#,
                );
                chunk(s, b"\r\n");
                hold(stop, Duration::from_secs(30));
            }
            _ => respond(s, 404, &[], b""),
        }
    });
    let mut c = fetch(
        &[
            "x",
            "--endpoint",
            &fake.url,
            "--rule",
            "#rust OR #rustlang",
            "--delete-rule",
            "1",
            "--rules-only",
        ],
        "0.001",
    );
    let out = c
        .env("TWITTER_BEARER_TOKEN", "bearer-xyz")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let rules = ndjson(&out.stdout);
    assert!(
        rules.iter().any(|r| r["value"] == "#rust OR #rustlang"),
        "{rules:?}"
    );

    // The stream: each message once, though one came twice and the stream was cut.
    let n = msgs.len();
    let mut c = fetch(
        &[
            "x",
            "--endpoint",
            &fake.url,
            "--limit",
            &(n + 1).to_string(),
        ],
        "0.001",
    );
    let out = c
        .env("TWITTER_BEARER_TOKEN", "bearer-xyz")
        .output()
        .unwrap();
    let (got, err) = succeeded(&out);
    let mut want = msgs.clone();
    want.push(extra.to_owned());
    assert_eq!(
        got, want,
        "the repeats are dropped, across the reconnect too:\n{err}"
    );
    assert!(err.contains("operational-disconnect"), "{err}");
    assert!(
        err.contains("skipped a message that is not a JSON object"),
        "{err}"
    );

    // And `tt tags` reads what came out.
    let tags = tt().arg("tags").write_stdin(out.stdout).output().unwrap();
    assert!(tags.status.success(), "{}", stderr_of(&tags));
    assert!(ndjson(&tags.stdout).iter().any(|t| t["tag"] == "news"));
}

#[test]
fn a_stall_is_noticed_and_keepalives_are_not_a_stall() {
    let tweet = lines_of("twitter-v1-stream_python-twitter.ndjson")[0].clone();
    let t = tweet.clone();
    let last_byte = Arc::new(Mutex::new(None::<Instant>));
    let lb = last_byte.clone();
    let (fake, _) = twitter_server(move |i, s, stop| {
        stream_head(s, "application/json");
        chunk(s, format!("{t}\r\n").as_bytes());
        if i == 0 {
            *lb.lock().unwrap() = Some(Instant::now());
            hold(stop, Duration::from_secs(30)); // silence
        } else {
            // Keep-alives every 300 ms: alive, however long no post comes.
            for _ in 0..100 {
                if stop.load(Ordering::Relaxed) || !chunk(s, b"\r\n") {
                    return;
                }
                std::thread::sleep(ms(300));
            }
        }
    });
    let out = with_twitter_keys(&mut fetch(
        &[
            "--endpoint",
            &fake.url,
            "--stall-timeout",
            "1s",
            "--duration",
            "5s",
        ],
        "1",
    ))
    .output()
    .unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    let reqs = fake.requests();
    assert_eq!(
        reqs.len(),
        2,
        "one reconnect after the stall, none for keep-alives: {err}"
    );
    let gap = reqs[1]
        .at
        .duration_since(last_byte.lock().unwrap().unwrap());
    assert!(
        gap >= ms(1000) && gap < ms(1500),
        "reconnected {gap:?} after the last byte"
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{tweet}\n{tweet}\n"),
        "one complete line per connection"
    );
    assert!(err.contains("stalled: nothing received for 1s"), "{err}");
}

/// The statuses a Mastodon SSE capture should yield: `update` events, and `status.update`
/// events for a status not seen before, each once.
fn sse_statuses(capture: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for block in capture.split("\n\n") {
        let mut event = "";
        let mut data = String::new();
        for line in block.lines() {
            if let Some(e) = line.strip_prefix("event: ") {
                event = e;
            } else if let Some(d) = line.strip_prefix("data: ") {
                data.push_str(d);
            }
        }
        if event == "update" || event == "status.update" {
            let v: Value = serde_json::from_str(&data).unwrap();
            if ids.insert(v["id"].as_str().unwrap().to_owned()) {
                out.push(data);
            }
        }
    }
    out
}

#[test]
fn mastodon_streams_server_sent_events_with_a_token() {
    let capture = std::fs::read_to_string(data("mastodon-streaming-sse_mastodon-py.txt")).unwrap();
    let want = sse_statuses(&capture);
    assert!(want.len() >= 3);
    let url = Arc::new(Mutex::new(String::new()));
    let u = url.clone();
    let fake = Fake::http(move |_, req, s, stop| match req.path() {
        "/api/v2/instance" => {
            // The streaming host is announced as a WebSocket URL, as Mastodon does.
            let ws = u.lock().unwrap().replace("http://", "ws://");
            let body = json!({"configuration": {"urls": {"streaming": ws}}});
            respond(
                s,
                200,
                &[("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            );
        }
        "/api/v1/streaming/hashtag" => {
            assert_eq!(req.header("authorization"), Some("Bearer mtok"));
            stream_head(s, "text/event-stream");
            // The capture in pieces of odd sizes, heartbeats included.
            for piece in capture.as_bytes().chunks(777) {
                chunk(s, piece);
            }
            hold(stop, Duration::from_secs(30));
        }
        _ => respond(s, 400, &[], br#"{"error":"Unknown channel requested"}"#),
    });
    *url.lock().unwrap() = fake.url.clone();
    let mut c = fetch(
        &[
            "mastodon",
            "--instance",
            &fake.url,
            "--tag",
            "#rust",
            "--limit",
            &want.len().to_string(),
        ],
        "0.001",
    );
    let out = c.env("MASTODON_ACCESS_TOKEN", "mtok").output().unwrap();
    let (got, err) = succeeded(&out);
    assert_eq!(got, want, "{err}");
    let reqs = fake.requests();
    let stream = reqs
        .iter()
        .find(|r| r.path() == "/api/v1/streaming/hashtag")
        .unwrap();
    assert_eq!(stream.query()["tag"], "rust");
    assert!(!err.contains("mtok"));
}

#[test]
fn mastodon_polls_without_a_token_by_min_id_and_honours_the_rate_limit() {
    // Five real statuses, given ids 101..105 in order.
    let statuses: Vec<String> = lines_of("mastodon-statuses_mastodon4j.ndjson")
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("content").is_some())
        .take(5)
        .enumerate()
        .map(|(i, mut v)| {
            v["id"] = json!(format!("{}", 101 + i));
            v.to_string()
        })
        .collect();
    assert_eq!(statuses.len(), 5);
    let s2 = statuses.clone();
    let fake = Fake::http(move |i, req, s, _| {
        assert_eq!(req.path(), "/api/v1/timelines/tag/rust");
        assert!(req.header("authorization").is_none());
        let page = |ids: &[usize]| {
            // Newest first, as Mastodon sends them.
            let items: Vec<&str> = ids.iter().rev().map(|&k| s2[k].as_str()).collect();
            format!("[{}]", items.join(","))
        };
        let reset = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 2)
        .to_string();
        match i {
            0 => respond(
                s,
                200,
                &[("X-RateLimit-Remaining", "299")],
                page(&[0, 1, 2]).as_bytes(),
            ),
            1 => respond(
                s,
                200,
                &[
                    ("X-RateLimit-Remaining", "0"),
                    ("X-RateLimit-Reset", &reset),
                ],
                b"[]",
            ),
            _ => respond(
                s,
                200,
                &[("X-RateLimit-Remaining", "298")],
                page(&[3, 4]).as_bytes(),
            ),
        }
    });
    let out = fetch(
        &[
            "mastodon",
            "--endpoint",
            &fake.url,
            "--tag",
            "rust",
            "--poll",
            "50ms",
            "--limit",
            "5",
        ],
        "1",
    )
    .output()
    .unwrap();
    let (got, err) = succeeded(&out);
    assert!(err.contains("polling"), "{err}");
    assert_eq!(got, statuses, "oldest first, each once");
    let reqs = fake.requests();
    assert_eq!(reqs[0].query().get("min_id"), None);
    assert_eq!(reqs[0].query()["limit"], "40");
    assert_eq!(reqs[1].query()["min_id"], "103");
    assert_eq!(reqs[2].query()["min_id"], "103");
    // Remaining 0: the next poll waits for the reset (1-2 s away), not the 50 ms poll.
    assert_gap(&reqs, 1, 2, ms(900));
}

/// A Jetstream commit event creating a post with one hashtag facet.
fn jetstream_post(did: &str, rkey: &str, time_us: i64, tag: &str) -> String {
    let text = format!("news #{tag}");
    json!({
        "did": did, "time_us": time_us, "kind": "commit",
        "commit": {
            "rev": "3lbq", "operation": "create", "collection": "app.bsky.feed.post",
            "rkey": rkey, "cid": "bafyreib",
            "record": {
                "$type": "app.bsky.feed.post", "createdAt": "2026-11-24T09:00:00.000Z",
                "langs": ["en"], "text": text,
                "facets": [{
                    "index": {"byteStart": 5, "byteEnd": 6 + tag.len()},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}]
                }]
            }
        }
    })
    .to_string()
}

#[test]
#[allow(clippy::result_large_err)] // tungstenite's handshake callback type
fn bluesky_resumes_by_cursor_without_duplicates() {
    let t0 = 1_764_000_000_000_000i64;
    let e1 = jetstream_post("did:plc:a", "r1", t0, "rust");
    let e2 = jetstream_post("did:plc:b", "r2", t0 + 1_000, "rust");
    let e3 = jetstream_post("did:plc:c", "r3", t0 + 2_000, "bsky");
    let other = [
        json!({"did": "did:plc:a", "time_us": t0 + 1, "kind": "identity", "identity": {"did": "did:plc:a"}}).to_string(),
        json!({"did": "did:plc:a", "time_us": t0 + 2, "kind": "commit", "commit": {"operation": "delete", "collection": "app.bsky.feed.post", "rkey": "r0"}}).to_string(),
        json!({"did": "did:plc:a", "time_us": t0 + 3, "kind": "commit", "commit": {"operation": "create", "collection": "app.bsky.feed.like", "rkey": "l1", "record": {}}}).to_string(),
    ];
    let uris = Arc::new(Mutex::new(Vec::<String>::new()));
    let u = uris.clone();
    let (a, b, c) = (e1.clone(), e2.clone(), e3.clone());
    let fake = Fake::raw(move |n, stream, _, stop| {
        let u = u.clone();
        let cb = move |req: &tungstenite::handshake::server::Request,
                       resp: tungstenite::handshake::server::Response| {
            u.lock().unwrap().push(req.uri().to_string());
            Ok(resp)
        };
        let mut ws = tungstenite::accept_hdr(stream, cb).unwrap();
        let mut send = |m: &str| ws.send(tungstenite::Message::text(m)).is_ok();
        if n == 0 {
            send(&a);
            for o in &other {
                send(o);
            }
            send(&b);
            let _ = ws.close(None);
            let _ = ws.flush();
        } else {
            // The replay from the rewound cursor repeats what was written.
            send(&a);
            send(&b);
            send(&c);
            hold(stop, Duration::from_secs(30));
        }
    });
    let endpoint = fake.url.replace("http://", "ws://");
    let out = fetch(
        &["bluesky", "--endpoint", &endpoint, "--limit", "3"],
        "0.001",
    )
    .output()
    .unwrap();
    let (got, err) = succeeded(&out);
    assert_eq!(got, [e1, e2, e3], "{err}");
    let uris = uris.lock().unwrap().clone();
    assert_eq!(uris.len(), 2, "{uris:?}");
    assert!(
        uris[0].contains("wantedCollections=app.bsky.feed.post"),
        "{uris:?}"
    );
    assert!(!uris[0].contains("cursor="), "live first: {uris:?}");
    assert!(
        uris[1].ends_with(&format!("cursor={}", t0 + 1_000 - 5_000_000)),
        "resumes 5 s before the newest written: {uris:?}"
    );
    let tags = tt().arg("tags").write_stdin(out.stdout).output().unwrap();
    let tags: Vec<Value> = ndjson(&tags.stdout);
    let names: Vec<&str> = tags.iter().map(|t| t["tag"].as_str().unwrap()).collect();
    assert_eq!(names, ["rust", "rust", "bsky"]);
}

/// A server that streams `total` copies of a real tweet as fast as the client takes them,
/// counting the lines it managed to send.
fn firehose(total: usize) -> (Fake, Arc<AtomicUsize>) {
    let tweet = lines_of("twitter-v1-stream_python-twitter.ndjson")[0].clone();
    let sent = Arc::new(AtomicUsize::new(0));
    let n = sent.clone();
    let (fake, _) = twitter_server(move |_, s, _| {
        stream_head(s, "application/json");
        let batch = format!("{tweet}\r\n").repeat(16);
        for _ in 0..total / 16 {
            if !chunk(s, batch.as_bytes()) {
                return;
            }
            n.fetch_add(16, Ordering::Relaxed);
        }
    });
    (fake, sent)
}

/// A run that must have succeeded: its stdout lines and its stderr.
fn succeeded(out: &std::process::Output) -> (Vec<String>, String) {
    let err = stderr_of(out);
    assert!(out.status.success(), "{err}");
    let lines = String::from_utf8(out.stdout.clone()).unwrap();
    (lines.lines().map(str::to_owned).collect(), err)
}

/// `tt fetch --endpoint FAKE ARGS` with the Twitter keys, as a child with piped output.
fn spawn_twitter_fetch(fake: &Fake, args: &[&str]) -> KillOnDrop {
    let mut cmd = Command::new(tt_path());
    cmd.args(["fetch", "--endpoint", &fake.url])
        .args(args)
        .env("NO_PROXY", "127.0.0.1")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in TWITTER_KEYS {
        cmd.env(k, v);
    }
    KillOnDrop(cmd.spawn().unwrap())
}

#[test]
fn a_slow_reader_slows_fetch_down_and_memory_stays_bounded() {
    let total = 32_000; // about 95 MB of tweets
    let (fake, sent) = firehose(total);
    let mut child = spawn_twitter_fetch(&fake, &["--limit", &total.to_string()]);
    // Nobody reads for a while: the server must be held back, and tt must not hoard.
    std::thread::sleep(Duration::from_secs(2));
    let held = sent.load(Ordering::Relaxed);
    let rss = proc_status(child.0.id(), "VmRSS");
    eprintln!("held back: {held} lines sent, rss {rss} KiB");
    assert!(
        held < total / 4,
        "the server got {held} of {total} lines out: no backpressure"
    );
    assert!(
        rss < 64 * 1024,
        "tt fetch holds {rss} KiB while its reader sleeps"
    );
    // Then read everything: all lines arrive, whole.
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut lines = 0;
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        assert!(line.ends_with("}\n"), "a broken line");
        lines += 1;
        line.clear();
    }
    assert_eq!(lines, total);
    assert!(child.0.wait().unwrap().success());
}

#[test]
fn fetch_ends_quietly_when_its_reader_goes() {
    let (fake, _) = firehose(1_000_000);
    let mut child = spawn_twitter_fetch(&fake, &[]);
    let mut out = child.0.stdout.take().unwrap();
    let mut first = [0u8; 4096];
    assert!(out.read(&mut first).unwrap() > 0);
    drop(out);
    assert_ends_quietly(&mut child.0);
}

#[test]
fn sigint_stops_a_network_fetch_cleanly() {
    let tweet = lines_of("twitter-v1-stream_python-twitter.ndjson")[1].clone();
    let (fake, _) = twitter_server(move |_, s, stop| {
        stream_head(s, "application/json");
        for _ in 0..600 {
            if stop.load(Ordering::Relaxed) || !chunk(s, format!("{tweet}\r\n").as_bytes()) {
                return;
            }
            std::thread::sleep(ms(50));
        }
    });
    let mut child = spawn_twitter_fetch(&fake, &[]);
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    for _ in 0..3 {
        out.read_line(&mut line).unwrap();
    }
    signal_when_caught(&child.0, libc::SIGINT);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    for l in line.lines().chain(rest.lines()) {
        serde_json::from_str::<Value>(l).expect("only whole lines");
    }
}
