//! A page in a real browser: Debian's chromium, headless (.ci/run installs it), driven
//! over the DevTools protocol, for the tests of tt serve's and tt report's pages.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::KillOnDrop;

/// DevTools' list of targets (a plain HTTP GET on 127.0.0.1).
fn json_list(devtools: SocketAddr) -> String {
    let Ok(mut s) = TcpStream::connect_timeout(&devtools, Duration::from_secs(2)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        s,
        "GET /json/list HTTP/1.1\r\nHost: {devtools}\r\nConnection: close\r\n\r\n"
    );
    // DevTools builds the websocket address from Host. Read up to the body's announced
    // length: the connection may stay open.
    let mut reply = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&reply);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            });
            if len.is_some_and(|n| body.len() >= n) {
                return body.to_string();
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => {
                let text = String::from_utf8_lossy(&reply);
                return text
                    .split_once("\r\n\r\n")
                    .map(|(_, b)| b.to_string())
                    .unwrap_or_default();
            }
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
}

fn chromium() -> String {
    let exe = std::env::var("TT_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = Command::new(&exe)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "the browser test needs Chromium: apt-get install chromium (.ci/run does), or set TT_CHROMIUM");
    exe
}

/// One live page in headless Chromium, driven over the DevTools protocol, so that the
/// test can read the DOM at any moment of the same page session.
pub struct Page {
    _child: KillOnDrop,
    _profile: tempfile::TempDir,
    ws: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// The DevTools events received so far (messages without an id), for tests that
    /// enable a domain (Network, Runtime, Log) and look at what happened.
    pub events: Vec<serde_json::Value>,
}

impl Page {
    pub fn open(url: &str) -> Page {
        let profile = tempfile::tempdir().unwrap();
        // Killed on drop from here on: a failed start must not leave a browser running.
        let mut child = KillOnDrop(
            Command::new(chromium())
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1200,1000",
                    "--remote-debugging-port=0",
                ])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg(url)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut err = BufReader::new(child.0.stderr.take().unwrap());
        let mut port = None;
        let mut line = String::new();
        while port.is_none() {
            line.clear();
            assert!(
                err.read_line(&mut line).unwrap() > 0,
                "chromium ended before DevTools listened"
            );
            if let Some(rest) = line
                .trim()
                .strip_prefix("DevTools listening on ws://127.0.0.1:")
            {
                port = rest.split('/').next().and_then(|p| p.parse::<u16>().ok());
            }
        }
        std::thread::spawn(move || for _ in err.lines() {});
        let devtools: SocketAddr = format!("127.0.0.1:{}", port.unwrap()).parse().unwrap();
        let mut ws_url = None;
        let t = Instant::now();
        while ws_url.is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no page target in DevTools"
            );
            let list: serde_json::Value =
                serde_json::from_str(&json_list(devtools)).unwrap_or_default();
            ws_url = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(String::from));
            std::thread::sleep(Duration::from_millis(20));
        }
        let (ws, _) = tungstenite::connect(ws_url.unwrap()).expect("DevTools websocket");
        Page {
            _child: child,
            _profile: profile,
            ws,
            next_id: 0,
            events: Vec::new(),
        }
    }

    pub fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = serde_json::json!({"id": id, "method": method, "params": params});
        self.ws
            .send(tungstenite::Message::text(msg.to_string()))
            .unwrap();
        loop {
            let m = self.ws.read().unwrap();
            let Ok(text) = m.to_text() else { continue };
            let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            if v.get("id").is_none() {
                self.events.push(v);
            }
        }
    }

    /// Evaluates `expr` in the page; its value (JSON-serialisable).
    pub fn eval(&mut self, expr: &str) -> serde_json::Value {
        let r = self.call(
            "Runtime.evaluate",
            serde_json::json!({"expression": expr, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    /// The leaders in the page's table, as (rank, hashtag, count) texts.
    pub fn table(&mut self) -> Vec<Vec<String>> {
        let v = self.eval("[...document.querySelectorAll('#leaders tbody tr')].map(tr => [...tr.cells].slice(0, 3).map(td => td.textContent))");
        serde_json::from_value(v).unwrap_or_default()
    }

    /// Waits (up to 10 s) until the table's first row's hashtag is `tag`.
    pub fn wait_first(&mut self, tag: &str) -> Vec<Vec<String>> {
        let t = Instant::now();
        loop {
            let rows = self.table();
            if rows
                .first()
                .is_some_and(|r| r.get(1).is_some_and(|c| c == tag))
            {
                return rows;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the page never showed {tag} first: {rows:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn screenshot(&mut self, path: &std::path::Path) {
        use base64::Engine;
        let r = self.call(
            "Page.captureScreenshot",
            serde_json::json!({"format": "png"}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}
