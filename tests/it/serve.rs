//! `tt serve`: the endpoints, the security rules of RELIABILITY.md 23, the classic
//! tutorial's endpoints, event streams, and the page in a real headless Chromium.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::browser::Page;
use crate::harness::{proc_status, tt, tt_path, KillOnDrop};

/// A running `tt serve` on a free port, fed through its stdin.
struct Served {
    child: KillOnDrop,
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
}

fn serve(args: &[&str]) -> Served {
    serve_at(&["--bind", "127.0.0.1:0"], args)
}

/// [`serve`] listening where `at` says.
fn serve_at(at: &[&str], args: &[&str]) -> Served {
    let mut child = Command::new(tt_path())
        .arg("serve")
        .args(at)
        .args(args)
        .env_remove("TT_SERVE_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let addr = url
        .parse()
        .unwrap_or_else(|_| panic!("no address in {line:?}"));
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || for _ in err.lines() {});
    Served {
        child: KillOnDrop(child),
        stdin,
        addr,
    }
}

impl Served {
    fn feed(&mut self, leaderboard: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{leaderboard}").unwrap();
        stdin.flush().unwrap();
    }

    fn close_input(&mut self) {
        self.stdin = None;
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A response: status, headers (lower-case names), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.0 == name)
            .map(|h| h.1.as_str())
    }
}

/// One request over a fresh connection. Host (unless given), Connection: close and
/// Content-Length are added.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|h| h.0.eq_ignore_ascii_case("host")) {
        req += &format!("Host: {addr}\r\n");
    }
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += &format!(
        "Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap_or("")
        .split(' ')
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    http(addr, "GET", path, &[], b"")
}

/// Waits until `f` holds, for up to 10 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

const HOSTILE: [&str; 3] = [
    "</script><img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "a\u{2028}b",
];

fn hostile_leaderboard() -> String {
    let top: Vec<serde_json::Value> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({"rank": i + 1, "tag": t, "text": t, "count": 10 - i, "trend": 0}))
        .collect();
    serde_json::json!({"batch": 1, "end": "2026-11-24T10:00:02Z", "posts": 5, "by": "count", "top": top}).to_string()
}

/// RELIABILITY 23: hostile labels never reach the page as markup; the API returns them
/// JSON-escaped with the right headers; wrong methods, hosts and paths are refused.
#[test]
fn hostile_labels_and_requests() {
    let mut s = serve(&[]);
    s.feed(&hostile_leaderboard());
    eventually("the leaderboard", || {
        get(s.addr, "/api/top.json").body.contains("onerror")
    });
    let page = get(s.addr, "/");
    assert_eq!(page.status, 200);
    for h in HOSTILE {
        assert!(!page.body.contains(h), "the page contains {h:?}");
    }
    let csp = page
        .header("content-security-policy")
        .expect("CSP on the page");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let api = get(s.addr, "/api/top.json");
    assert_eq!(api.header("content-type"), Some("application/json"));
    assert_eq!(api.header("x-content-type-options"), Some("nosniff"));
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(
        v["top"][0]["text"], HOSTILE[0],
        "labels come back intact, as JSON strings"
    );
    assert_eq!(http(s.addr, "POST", "/api/top.json", &[], b"x").status, 405);
    assert_eq!(
        http(s.addr, "GET", "/", &[("Host", "evil.example")], b"").status,
        421
    );
    assert_eq!(get(s.addr, "/../../etc/passwd").status, 404);
    assert_eq!(get(s.addr, "/nope").status, 404);
    let big = vec![b'a'; 70 * 1024];
    assert_eq!(
        http(
            s.addr,
            "POST",
            "/updateData",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &big
        )
        .status,
        413
    );
}

/// The classic Spark job's POST, exactly as it sends it (requests.post(url, data={...})
/// with str(list) values), read back from /refreshData, /api/top.json and the events.
#[test]
fn classic_update_data_and_refresh_data() {
    let s = serve(&[]);
    let form =
        "label=%5B%27%23rust%27%2C+%27%23python%27%2C+%22%23it%27s%22%5D&data=%5B12%2C+7%2C+3%5D";
    let r = http(
        s.addr,
        "POST",
        "/updateData",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!((r.status, r.body.as_str()), (201, "success"));
    let refresh = get(s.addr, "/refreshData");
    let v: serde_json::Value = serde_json::from_str(&refresh.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"sLabel": ["#rust", "#python", "#it's"], "sData": [12, 7, 3]})
    );
    let top: serde_json::Value = serde_json::from_str(&get(s.addr, "/api/top.json").body).unwrap();
    assert_eq!(top["top"][2]["text"], "it's");
    // Anything but two lists of literals is refused, and nothing is evaluated.
    for bad in [
        "label=__import__('os')&data=[1]",
        "label=['a']&data=[1,2]",
        "label=[1]&data=['a']",
    ] {
        let r = http(
            s.addr,
            "POST",
            "/updateData",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            bad.as_bytes(),
        );
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
}

/// Cross-site request forgery: a page of another origin posting to the chart is refused;
/// the chart's own page, and clients that are no browser page, are not.
#[test]
fn cross_site_posts_and_ambiguous_requests_are_refused() {
    let s = serve(&[]);
    let own = format!("http://{}", s.addr);
    let own_page = format!("{own}/");
    let own_tls = format!("https://{}", s.addr);
    let form = b"label=%5B%27%23a%27%5D&data=%5B1%5D";
    let ct = ("Content-Type", "application/x-www-form-urlencoded");
    // (headers, status)
    let cases: &[(&[(&str, &str)], u16)] = &[
        (&[ct], 201),
        (&[ct, ("Origin", &own)], 201),
        (&[ct, ("Origin", &own_tls)], 201),
        (&[ct, ("Referer", &own_page)], 201),
        (
            &[ct, ("Sec-Fetch-Site", "same-origin"), ("Origin", &own)],
            201,
        ),
        (&[ct, ("Origin", "http://evil.example")], 403),
        (&[ct, ("Origin", "null")], 403),
        (&[ct, ("Referer", "http://evil.example/page")], 403),
        (&[ct, ("Sec-Fetch-Site", "cross-site")], 403),
        (
            &[ct, ("Sec-Fetch-Site", "same-site"), ("Origin", &own)],
            403,
        ),
        (&[ct, ("Host", "127.0.0.1"), ("Host", "evil.example")], 400),
        (&[ct, ("Content-Length", "5")], 400),
    ];
    for &(headers, status) in cases {
        let r = http(s.addr, "POST", "/updateData", headers, form);
        assert_eq!(r.status, status, "{headers:?}: {}", r.body);
    }
    let r = http(
        s.addr,
        "GET",
        "/api/top.json",
        &[("Host", &s.addr.to_string()), ("Host", "evil.example")],
        b"",
    );
    assert_eq!(r.status, 400, "two Host headers on a GET: {}", r.body);
}

#[test]
fn tokens_guard_post_and_non_loopback_binds() {
    let out = tt()
        .args(["serve", "--bind", "0.0.0.0:0"])
        .env_remove("TT_SERVE_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("set a token"));
    let s = serve(&["--token", "s3cret"]);
    let form = b"label=['#a']&data=[1]";
    let ct = ("Content-Type", "application/x-www-form-urlencoded");
    assert_eq!(http(s.addr, "POST", "/updateData", &[ct], form).status, 401);
    assert_eq!(
        http(
            s.addr,
            "POST",
            "/updateData",
            &[ct, ("Authorization", "Bearer wrong!")],
            form
        )
        .status,
        401
    );
    assert_eq!(
        http(
            s.addr,
            "POST",
            "/updateData",
            &[ct, ("Authorization", "Bearer s3cret")],
            form
        )
        .status,
        201
    );
    assert_eq!(
        http(
            s.addr,
            "POST",
            "/updateData",
            &[ct],
            b"label=['#a']&data=[1]&token=s3cret"
        )
        .status,
        201
    );
}

/// `--port N` is loopback's port N, as Flask's `port=` and `python -m http.server N` are
/// (0: a free one, printed); with --bind it is a usage error.
#[test]
fn a_port_alone_listens_on_loopback() {
    let s = serve_at(&["--port", "0"], &[]);
    assert!(
        s.addr.ip().is_loopback() && s.addr.port() != 0,
        "{}",
        s.addr
    );
    assert_eq!(get(s.addr, "/").status, 200);
    let out = tt()
        .args(["serve", "--port", "8080", "--bind", "127.0.0.1:8081"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

/// An address already taken (the chart of an earlier run, on the default port) ends with
/// 69 and says how to choose another port.
#[test]
fn an_address_in_use_is_unavailable_and_says_how_to_pick_another() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = tt().args(["serve", "--port", &port]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{err}");
    let says = format!("tt serve: cannot listen on 127.0.0.1:{port}: Address already in use");
    assert!(err.contains(&says), "{err}");
    assert!(err.contains("--port 0 on any free one"), "{err}");
}

/// New leaderboards reach an open event stream; the input ending does not stop serving.
#[test]
fn events_stream_and_serving_after_input_ends() {
    let mut s = serve(&[]);
    let mut es = TcpStream::connect(s.addr).unwrap();
    es.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(es, "GET /events HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr).unwrap();
    let mut r = BufReader::new(es);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
    }
    for b in 1..=3 {
        s.feed(&format!("{{\"batch\":{b},\"end\":\"2026-11-24T10:00:0{b}Z\",\"by\":\"count\",\"top\":[{{\"rank\":1,\"tag\":\"x\",\"text\":\"X\",\"count\":{b},\"trend\":0}}]}}"));
        line.clear();
        r.read_line(&mut line).unwrap();
        assert!(
            line.starts_with("data: {") && line.contains(&format!("\"batch\":{b}")),
            "{line}"
        );
        line.clear();
        r.read_line(&mut line).unwrap(); // the blank line ending the event
    }
    s.close_input();
    std::thread::sleep(Duration::from_millis(200));
    let top: serde_json::Value = serde_json::from_str(&get(s.addr, "/api/top.json").body).unwrap();
    assert_eq!(top["batch"], 3, "the last leaderboard is still served");
    let history: serde_json::Value =
        serde_json::from_str(&get(s.addr, "/api/history.json").body).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 3);
    assert!(s.child.0.try_wait().unwrap().is_none(), "still running");
}

// ---------------------------------------------------------------------------------------
fn leaderboard(batch: u64, tags: &[(&str, u64)]) -> String {
    let top: Vec<serde_json::Value> = tags
        .iter()
        .enumerate()
        .map(|(i, (t, c))| serde_json::json!({"rank": i + 1, "tag": t.to_lowercase(), "text": t, "count": c, "trend": 0}))
        .collect();
    serde_json::json!({"batch": batch, "end": format!("2026-11-24T10:00:{:02}Z", batch * 2), "posts": 100, "by": "count", "top": top}).to_string()
}

/// The page in real headless Chromium while a pipeline feeds it: the leaders are in the DOM,
/// they change live when new batches arrive, the classic POST shows up, hostile labels
/// stay text, and a screenshot is saved.
#[test]
fn the_page_in_headless_chromium() {
    let mut s = serve(&[]);
    s.feed(&leaderboard(1, &[("Rust", 30), ("Python", 20), ("Go", 10)]));
    eventually("the first leaderboard", || {
        get(s.addr, "/api/top.json").body.contains("Rust")
    });
    let mut page = Page::open(&s.url("/"));
    let rows = page.wait_first("#Rust");
    assert_eq!(
        rows,
        [
            ["1", "#Rust", "30"],
            ["2", "#Python", "20"],
            ["3", "#Go", "10"]
        ]
    );
    let status = page.eval("document.getElementById('status').textContent");
    assert!(status.as_str().unwrap().starts_with("Batch 1"), "{status}");
    // New batches reach the open page live (server-sent events, no reload).
    s.feed(&leaderboard(2, &[("Python", 50), ("Rust", 31), ("Zig", 5)]));
    assert_eq!(page.wait_first("#Python")[0], ["1", "#Python", "50"]);
    assert_eq!(page.eval("document.body.dataset.received"), "2");
    assert_eq!(
        page.eval("document.getElementById('mode').textContent"),
        "live (server-sent events)"
    );
    // The classic tutorial's POST shows on the page.
    let form = b"label=['#spark', '#flask']&data=[9, 4]";
    let r = http(
        s.addr,
        "POST",
        "/updateData",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form,
    );
    assert_eq!(r.status, 201);
    assert_eq!(page.wait_first("#spark")[1], ["2", "#flask", "4"]);
    // Hostile labels stay text: no element is injected and the title is unchanged.
    s.feed(&hostile_leaderboard());
    let rows = page.wait_first(&format!("#{}", HOSTILE[0]));
    assert_eq!(rows.len(), 3);
    assert_eq!(
        page.eval("document.querySelectorAll('img, svg, script:not([src])').length"),
        0
    );
    assert_eq!(page.eval("document.title"), "tt: trending hashtags");
    // A screenshot of the live page, for people to look at.
    s.feed(&leaderboard(
        3,
        &[
            ("Rust", 40),
            ("Python", 35),
            ("Go", 12),
            ("Zig", 9),
            ("Haskell", 4),
        ],
    ));
    page.wait_first("#Rust");
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tt-serve.png");
    page.screenshot(&shot);
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    println!("screenshot: {}", shot.display());
}

/// RELIABILITY.md 24, second half: hundreds of idle connections and a 1 MiB header line do
/// not stop the server answering, and once they go, threads come back and memory does not
/// grow with a second round.
#[test]
fn idle_and_oversized_clients_cannot_stop_it_serving() {
    let mut s = serve(&[]);
    s.feed(&leaderboard(1, &[("rust", 3)]));
    eventually("the first leaderboard", || {
        get(s.addr, "/api/top.json").body.contains("rust")
    });
    let pid = s.child.0.id();
    std::thread::sleep(Duration::from_millis(200));
    let (threads0, rss0) = (proc_status(pid, "Threads"), proc_status(pid, "VmRSS"));

    // 256 connections that send nothing, and one that sends a 1 MiB header line; twice.
    let round = || {
        let idle: Vec<TcpStream> = (0..256)
            .map(|_| TcpStream::connect(s.addr).unwrap())
            .collect();
        let addr = s.addr;
        let big = std::thread::spawn(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let _ = c.write_all(b"GET / HTTP/1.1\r\nX-Big: ");
            let _ = c.write_all(&vec![b'a'; 1 << 20]);
            let mut reply = Vec::new();
            let _ = c.read_to_end(&mut reply);
            String::from_utf8_lossy(&reply).into_owned()
        });
        std::thread::sleep(Duration::from_millis(300));
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let r = get(s.addr, "/api/top.json");
            times.push(t.elapsed());
            assert_eq!(r.status, 200);
            assert!(r.body.contains("rust"));
        }
        times.sort();
        assert!(
            times[2] < Duration::from_millis(100),
            "a normal GET beside 256 idle clients took {:?} (median)",
            times[2]
        );
        let during = proc_status(pid, "Threads");
        assert!(
            during < threads0 + 300,
            "threads: {threads0} before, {during} during"
        );
        let big = big.join().unwrap();
        assert!(
            big.is_empty() || big.starts_with("HTTP/1.1 431"),
            "the 1 MiB head: {big:?}"
        );
        drop(idle);
        eventually("threads back to their baseline", || {
            proc_status(pid, "Threads") <= threads0
        });
        proc_status(pid, "VmRSS")
    };
    // What the allocator keeps after the first round (its per-thread arenas) is reused by
    // the second: memory does not grow with the connections served.
    let (rss1, rss2) = (round(), round());
    println!("RSS {rss0} KiB before, {rss1} KiB after a round, {rss2} KiB after a second");
    assert!(
        rss1 < rss0 + 16 * 1024 && rss2 < rss1 + 2 * 1024,
        "RSS {rss0} KiB before, {rss1} KiB after a round, {rss2} KiB after a second"
    );
}

#[test]
fn connections_over_the_limit_get_503_at_once() {
    let s = serve(&["--max-connections", "8"]);
    let idle: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(s.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let r = get(s.addr, "/api/top.json");
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(t.elapsed() < Duration::from_secs(2));
    drop(idle);
    eventually("served again once the idle clients left", || {
        get(s.addr, "/api/top.json").status == 200
    });
    // A head over 16 KiB that ends: 431, and a chunked body: 411.
    let long = "a".repeat(20 * 1024);
    let r = http(s.addr, "GET", "/", &[("X-Long", &long)], b"");
    assert_eq!(r.status, 431);
    let r = http(
        s.addr,
        "POST",
        "/updateData",
        &[("Transfer-Encoding", "chunked")],
        b"",
    );
    assert_eq!(r.status, 411);
    // Keep-alive: two pipelined requests get two answers; then, idle, the client is
    // closed after 5 s.
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let req = format!("GET /api/top.json HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr);
    c.write_all(format!("{req}{req}").as_bytes()).unwrap();
    let t = Instant::now();
    let mut all = String::new();
    c.read_to_string(&mut all).unwrap();
    assert_eq!(all.matches("HTTP/1.1 200").count(), 2, "{all}");
    let idle = t.elapsed();
    assert!(
        idle >= Duration::from_millis(4500) && idle < Duration::from_secs(8),
        "{idle:?}"
    );
}
