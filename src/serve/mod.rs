//! The live chart: an embedded HTTP server (tiny_http) with the page, its assets, JSON
//! endpoints, server-sent events and the classic tutorial's endpoints.
//!
//! Safe by default:
//! * labels never enter HTML on the server: the page is static, data arrives as JSON and
//!   the page sets text with `textContent` or draws it on a canvas; every response has
//!   `nosniff`, the page a Content-Security-Policy without inline scripts or styles;
//! * the `Host` header must name this server (DNS-rebinding defence) on a loopback bind;
//! * request bodies over [`MAX_BODY`] are refused (413); `POST` needs the token whenever
//!   one is set, and a token must be set to bind anywhere but loopback;
//! * connections, threads, time and head size are bounded by the [`gate`] in front of
//!   tiny_http; a fixed number of worker threads handle requests, and at most [`MAX_SSE`]
//!   event streams are open at once (more get 503 and the page falls back to polling).
//!
//! Nothing is read from the filesystem: the assets are compiled in.

pub mod gate;
pub mod pylist;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tiny_http::{Header, Method, Request, Response, StatusCode};

use crate::record::{By, Leader, Leaderboard, Num};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");
const CHART_JS: &str = include_str!("assets/chart.umd.min.js");
const CHART_LICENSE: &str = include_str!("assets/LICENSE-chart.js.txt");

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// Most event streams open at once.
pub const MAX_SSE: usize = 32;
/// Request-handling threads.
pub const WORKERS: usize = 4;
/// A comment line on every event stream this often, so proxies and clients see it alive.
const HEARTBEAT: Duration = Duration::from_secs(15);

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The leaderboards seen so far.
#[derive(Default)]
struct Board {
    /// Increases with every new leaderboard.
    version: u64,
    history: VecDeque<Arc<str>>,
    /// The classic `/refreshData` view of the latest leaderboard.
    labels: Vec<String>,
    values: Vec<f64>,
}

/// The state shared by the input reader and the request handlers.
pub struct Hub {
    board: Mutex<Board>,
    changed: Condvar,
    keep: usize,
}

impl Hub {
    pub fn new(keep: usize) -> Arc<Hub> {
        Arc::new(Hub {
            board: Mutex::new(Board::default()),
            changed: Condvar::new(),
            keep: keep.max(1),
        })
    }

    /// Adds a leaderboard (`tt top` output).
    pub fn push(&self, lb: &Leaderboard) {
        let labels = lb.top.iter().map(|t| format!("#{}", t.text)).collect();
        let values = lb.top.iter().map(|t| t.count).collect();
        // Re-serialized: what goes out is always one line of valid JSON.
        let line: Arc<str> = Arc::from(serde_json::to_string(lb).expect("serializable"));
        let mut b = self.board.lock().unwrap_or_else(|p| p.into_inner());
        b.version += 1;
        b.history.push_back(line);
        while b.history.len() > self.keep {
            b.history.pop_front();
        }
        b.labels = labels;
        b.values = values;
        drop(b);
        self.changed.notify_all();
    }

    fn latest(&self) -> (u64, Option<Arc<str>>) {
        let b = self.board.lock().unwrap_or_else(|p| p.into_inner());
        (b.version, b.history.back().cloned())
    }

    fn history_json(&self) -> String {
        let b = self.board.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = String::from("[");
        for (i, l) in b.history.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(l);
        }
        s.push(']');
        s
    }

    fn classic_json(&self) -> String {
        let b = self.board.lock().unwrap_or_else(|p| p.into_inner());
        #[derive(serde::Serialize)]
        struct Classic<'a> {
            #[serde(rename = "sLabel")]
            labels: &'a [String],
            #[serde(rename = "sData", serialize_with = "nums")]
            data: &'a [f64],
        }
        fn nums<S: serde::Serializer>(v: &&[f64], s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeSeq;
            let mut seq = s.serialize_seq(Some(v.len()))?;
            for x in v.iter() {
                seq.serialize_element(&Num(*x))?;
            }
            seq.end()
        }
        serde_json::to_string(&Classic {
            labels: &b.labels,
            data: &b.values,
        })
        .expect("serializable")
    }

    /// Waits until a leaderboard newer than `seen` exists, or `timeout` passes.
    fn wait_newer(&self, seen: u64, timeout: Duration) -> (u64, Option<Arc<str>>) {
        let b = self.board.lock().unwrap_or_else(|p| p.into_inner());
        let (b, _) = self
            .changed
            .wait_timeout_while(b, timeout, |b| b.version <= seen)
            .unwrap_or_else(|p| p.into_inner());
        (b.version, b.history.back().cloned())
    }
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub bind: SocketAddr,
    pub token: Option<String>,
    /// Most client connections open at once (see [`gate`]).
    pub max_conns: usize,
}

/// A running server.
pub struct Server {
    http: Arc<tiny_http::Server>,
    gate: Option<gate::Gate>,
    secret: Arc<str>,
    pub addr: SocketAddr,
    /// tiny_http's private address, behind the gate.
    pub inner: SocketAddr,
}

impl Server {
    /// Binds the public socket (the gate's) and tiny_http's private loopback one.
    pub fn bind(opts: &Options) -> std::io::Result<Server> {
        let listener = TcpListener::bind(opts.bind)?;
        let addr = listener.local_addr()?;
        // No receive timeout on this listener: accept() honours it too, and tiny_http ends
        // its accept loop on the first accept error.
        let inner = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        let inner_addr = inner.local_addr()?;
        let http = tiny_http::Server::from_listener(inner, None).map_err(std::io::Error::other)?;
        let secret: Arc<str> = Arc::from(gate::new_secret()?);
        Ok(Server {
            http: Arc::new(http),
            gate: Some(gate::Gate {
                listener,
                inner: inner_addr,
                secret: secret.clone(),
                max_conns: opts.max_conns.max(1),
                open: Arc::new(AtomicUsize::new(0)),
            }),
            secret,
            addr,
            inner: inner_addr,
        })
    }

    /// Serves until the process ends: the gate's accept loop and [`WORKERS`] threads.
    pub fn run(mut self, hub: Arc<Hub>, opts: Options) {
        let opts = Arc::new(opts);
        let sse = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        if let Some(g) = self.gate.take() {
            threads.push(std::thread::spawn(move || g.run()));
        }
        for _ in 0..WORKERS {
            let (http, hub, opts, sse) =
                (self.http.clone(), hub.clone(), opts.clone(), sse.clone());
            let (addr, secret) = (self.addr, self.secret.clone());
            threads.push(std::thread::spawn(move || loop {
                // An Err is a failed accept, reported once to one worker: keep serving.
                if let Ok(req) = http.recv() {
                    if from_gate(&req, &secret) {
                        handle(req, &hub, &opts, addr, &sse);
                    } else {
                        text(req, 403, "forbidden");
                    }
                }
            }));
        }
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Whether a request came through the gate (carries its secret).
fn from_gate(req: &Request, secret: &str) -> bool {
    req.headers()
        .iter()
        .find(|h| h.field.equiv(gate::SECRET_HEADER))
        .is_some_and(|h| {
            let v = h.value.as_str().as_bytes();
            v.len() == secret.len()
                && v.iter()
                    .zip(secret.as_bytes())
                    .fold(0u8, |a, (x, y)| a | (x ^ y))
                    == 0
        })
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn respond(
    req: Request,
    status: u16,
    ctype: &str,
    body: impl Into<Vec<u8>>,
    extra: &[(&str, &str)],
) {
    let mut r = Response::from_data(body.into())
        .with_status_code(StatusCode(status))
        .with_header(header("Content-Type", ctype))
        .with_header(header("X-Content-Type-Options", "nosniff"))
        .with_header(header("Referrer-Policy", "no-referrer"))
        .with_header(header("X-Frame-Options", "DENY"));
    for (k, v) in extra {
        r = r.with_header(header(k, v));
    }
    let _ = req.respond(r);
}

fn text(req: Request, status: u16, msg: &str) {
    respond(
        req,
        status,
        "text/plain; charset=utf-8",
        format!("{msg}\n"),
        &[],
    );
}

/// The Host header names this server: its port on a loopback name or address.
fn host_ok(req: &Request, addr: SocketAddr) -> bool {
    if !addr.ip().is_loopback() {
        return true; // reachable under any name; POST is guarded by the token instead
    }
    let Some(h) = req.headers().iter().find(|h| h.field.equiv("Host")) else {
        return false;
    };
    let host = h.value.as_str().trim().to_ascii_lowercase();
    let port = addr.port().to_string();
    let (name, p) = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(':') || n.starts_with('[') => (n.to_string(), p.to_string()),
        _ => (host.clone(), "80".to_string()),
    };
    p == port && matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]")
        || host == addr.ip().to_string() + ":" + &port
}

fn token_ok(req: &Request, form_token: Option<&str>, opts: &Options) -> bool {
    let Some(want) = &opts.token else {
        return true;
    };
    let bearer = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Bearer ").map(str::to_owned));
    let given = bearer.or(form_token.map(str::to_owned)).unwrap_or_default();
    // Constant time in the length of the secret.
    given.len() == want.len()
        && given
            .bytes()
            .zip(want.bytes())
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            == 0
}

/// Whether a request that changes the chart comes from this server's own origin, or from
/// no browser page at all. Browsers mark cross-site requests: `Sec-Fetch-Site` (all
/// current browsers), `Origin` on every POST, `Referer` on older ones. A request with
/// none of them is not from a page (the classic feeder, curl) and is let through; the
/// token, when set, guards it. Without this, any page the user visits could rewrite
/// the chart with a form post to 127.0.0.1 (cross-site request forgery).
fn same_origin(req: &Request) -> bool {
    fn header(req: &Request, name: &'static str) -> Option<String> {
        req.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().trim().to_ascii_lowercase())
    }
    let header = |name: &'static str| header(req, name);
    let host = header("Host").unwrap_or_default();
    // Behind a TLS proxy the page's origin is https://HOST: the same site.
    let own = [format!("http://{host}"), format!("https://{host}")];
    if let Some(site) = header("Sec-Fetch-Site") {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    if let Some(origin) = header("Origin") {
        return own.contains(&origin);
    }
    if let Some(referer) = header("Referer") {
        return own
            .iter()
            .any(|o| referer == *o || referer.starts_with(&format!("{o}/")));
    }
    true
}

fn handle(
    mut req: Request,
    hub: &Arc<Hub>,
    opts: &Options,
    addr: SocketAddr,
    sse: &Arc<AtomicUsize>,
) {
    if !host_ok(&req, addr) {
        return text(req, 421, "misdirected request: unknown Host");
    }
    let path = req.url().split('?').next().unwrap_or("").to_string();
    let method = req.method().clone();
    let get = matches!(method, Method::Get | Method::Head);
    let no_store = [("Cache-Control", "no-store")];
    match path.as_str() {
        "/" | "/index.html" if get => respond(
            req,
            200,
            "text/html; charset=utf-8",
            INDEX,
            &[
                ("Content-Security-Policy", CSP),
                ("Cache-Control", "no-store"),
            ],
        ),
        "/app.js" if get => respond(req, 200, "text/javascript; charset=utf-8", APP_JS, &[]),
        "/style.css" if get => respond(req, 200, "text/css; charset=utf-8", STYLE, &[]),
        "/chart.umd.min.js" if get => {
            respond(req, 200, "text/javascript; charset=utf-8", CHART_JS, &[])
        }
        "/LICENSE-chart.js.txt" if get => {
            respond(req, 200, "text/plain; charset=utf-8", CHART_LICENSE, &[])
        }
        "/api/top.json" if get => {
            let (_, latest) = hub.latest();
            let body = latest.map_or_else(|| "null".to_string(), |l| l.to_string());
            respond(req, 200, "application/json", body, &no_store)
        }
        "/api/history.json" if get => {
            respond(req, 200, "application/json", hub.history_json(), &no_store)
        }
        "/refreshData" if get => {
            respond(req, 200, "application/json", hub.classic_json(), &no_store)
        }
        "/events" if get => events(req, hub, sse),
        "/updateData" if method == Method::Post && !same_origin(&req) => text(
            req,
            403,
            "cross-site request refused: a page of another origin cannot post here",
        ),
        "/updateData" if method == Method::Post => match update_data(&mut req, hub, opts) {
            Ok(()) => respond(req, 201, "text/plain; charset=utf-8", "success", &[]),
            Err((status, msg)) => text(req, status, &msg),
        },
        "/"
        | "/index.html"
        | "/app.js"
        | "/style.css"
        | "/chart.umd.min.js"
        | "/LICENSE-chart.js.txt"
        | "/api/top.json"
        | "/api/history.json"
        | "/refreshData"
        | "/events" => respond(
            req,
            405,
            "text/plain; charset=utf-8",
            "method not allowed\n",
            &[("Allow", "GET, HEAD")],
        ),
        "/updateData" => respond(
            req,
            405,
            "text/plain; charset=utf-8",
            "method not allowed\n",
            &[("Allow", "POST")],
        ),
        _ => text(req, 404, "not found"),
    }
}

/// `POST /updateData` with form fields `label` and `data` as `str(list)` writes them.
fn update_data(req: &mut Request, hub: &Arc<Hub>, opts: &Options) -> Result<(), (u16, String)> {
    if req.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err((413, format!("request body over {MAX_BODY} bytes")));
    }
    let mut body = Vec::new();
    req.as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| (400, format!("cannot read the body: {e}")))?;
    if body.len() > MAX_BODY {
        return Err((413, format!("request body over {MAX_BODY} bytes")));
    }
    let form = parse_update_form(&body)?;
    if !token_ok(req, form.token.as_deref(), opts) {
        return Err((
            401,
            "a valid token is needed (Authorization: Bearer, or a token field)".into(),
        ));
    }
    let top: Vec<Leader> = form
        .labels
        .iter()
        .zip(&form.values)
        .enumerate()
        .map(|(i, (l, &count))| {
            let text = l.strip_prefix(['#', '＃']).unwrap_or(l);
            Leader {
                rank: i + 1,
                tag: crate::hashtag::key(text),
                text: text.into(),
                count,
                trend: 0.0,
                users: None,
                error: None,
            }
        })
        .collect();
    let (version, _) = hub.latest();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    hub.push(&Leaderboard {
        batch: version + 1,
        end: crate::time::format_rfc3339(now).into(),
        posts: None,
        by: By::Count,
        top,
    });
    Ok(())
}

/// The classic `/updateData` form: labels, values and an optional token.
#[derive(Debug, PartialEq)]
pub struct UpdateForm {
    pub labels: Vec<String>,
    pub values: Vec<f64>,
    pub token: Option<String>,
}

/// Parses the form body of `POST /updateData` (`label=['#a', '#b']&data=[3, 2]`). Any bytes
/// give a form or a (status, message) error, never a panic: fuzzed and property-tested.
pub fn parse_update_form(body: &[u8]) -> Result<UpdateForm, (u16, String)> {
    let (mut label, mut data, mut token) = (None, None, None);
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "label" => label = Some(v.into_owned()),
            "data" => data = Some(v.into_owned()),
            "token" => token = Some(v.into_owned()),
            _ => {}
        }
    }
    let (Some(label), Some(data)) = (label, data) else {
        return Err((400, "form fields label and data are needed".into()));
    };
    let labels = pylist::parse(&label).map_err(|e| (400, format!("label: {e}")))?;
    let values = pylist::parse(&data).map_err(|e| (400, format!("data: {e}")))?;
    if labels.len() != values.len() {
        return Err((
            400,
            format!("{} labels but {} values", labels.len(), values.len()),
        ));
    }
    let mut form = UpdateForm {
        labels: Vec::new(),
        values: Vec::new(),
        token,
    };
    for (l, v) in labels.into_iter().zip(values) {
        let (pylist::Item::Str(l), pylist::Item::Num(v)) = (l, v) else {
            return Err((400, "label must list strings and data numbers".into()));
        };
        if !(v.is_finite() && v >= 0.0) {
            return Err((400, format!("data: {v} is not a count (a number >= 0)")));
        }
        form.labels.push(l);
        form.values.push(v);
    }
    Ok(form)
}

/// `GET /events`: server-sent events, one `data:` line per leaderboard.
fn events(req: Request, hub: &Arc<Hub>, sse: &Arc<AtomicUsize>) {
    if sse.fetch_add(1, Ordering::SeqCst) >= MAX_SSE {
        sse.fetch_sub(1, Ordering::SeqCst);
        return text(req, 503, "too many event streams; poll /api/top.json");
    }
    let (hub, sse) = (hub.clone(), sse.clone());
    // A thread of its own, so that streams do not hold the request workers.
    std::thread::spawn(move || {
        struct Release(Arc<AtomicUsize>);
        impl Drop for Release {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _release = Release(sse);
        // tiny_http's streaming body would sit in its chunk buffer: write the response
        // ourselves on the raw connection and flush every event.
        let mut w = req.into_writer();
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
                    X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n";
        if w.write_all(head.as_bytes())
            .and_then(|()| w.flush())
            .is_err()
        {
            return;
        }
        let (mut seen, latest) = hub.latest();
        if let Some(l) = latest {
            if write!(w, "data: {l}\n\n").and_then(|()| w.flush()).is_err() {
                return;
            }
        }
        loop {
            let (v, latest) = hub.wait_newer(seen, HEARTBEAT);
            let r = match latest {
                Some(l) if v > seen => {
                    seen = v;
                    write!(w, "data: {l}\n\n")
                }
                _ => w.write_all(b": keep-alive\n\n"),
            };
            if r.and_then(|()| w.flush()).is_err() {
                return; // the client went away
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr) -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /api/top.json HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            addr.port()
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn nothing_reaches_tiny_http_around_the_gate() {
        let opts = Options {
            bind: "127.0.0.1:0".parse().unwrap(),
            token: None,
            max_conns: 8,
        };
        let server = Server::bind(&opts).unwrap();
        let (addr, inner) = (server.addr, server.inner);
        std::thread::spawn(move || server.run(Hub::new(4), opts));
        assert!(get(addr).starts_with("HTTP/1.1 200"));
        // Straight to tiny_http's port, even with the public Host: refused.
        let direct = get(inner);
        assert!(direct.starts_with("HTTP/1.1 403"), "{direct}");
    }

    /// What a form gives: its values, or the status and a fragment of the message.
    type Outcome = Result<&'static [f64], (u16, &'static str)>;

    /// (form body, what comes of it)
    #[test]
    fn update_forms() {
        let cases: &[(&str, Outcome)] = &[
            ("label=['#a','#b']&data=[3,2.5]", Ok(&[3.0, 2.5])),
            ("label=[]&data=[]", Ok(&[])),
            ("label=['#a']&data=[-1]", Err((400, "-1 is not a count"))),
            (
                "label=['#a']&data=[1,2]",
                Err((400, "1 labels but 2 values")),
            ),
            (
                "label=[1]&data=['a']",
                Err((400, "label must list strings")),
            ),
            ("data=[1]", Err((400, "label and data are needed"))),
        ];
        for &(body, want) in cases {
            match (parse_update_form(body.as_bytes()), want) {
                (Ok(form), Ok(values)) => assert_eq!(form.values, values, "{body}"),
                (Err((status, msg)), Err((want_status, fragment))) => {
                    assert_eq!(status, want_status, "{body}");
                    assert!(msg.contains(fragment), "{body}: {msg}");
                }
                (got, _) => panic!("{body}: {got:?}"),
            }
        }
    }
}
