//! Fake servers on 127.0.0.1 that speak the sources' real protocols (HTTP/1.1 with chunked
//! streaming bodies, server-sent events, WebSocket), scripted per connection, recording
//! every request and when it came. Written on raw sockets so a test controls each byte:
//! a line cut in half, a stall, a hang-up.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request as the fake server saw it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The query parameters, decoded.
    pub fn query(&self) -> HashMap<String, String> {
        let q = self.target.split_once('?').map_or("", |(_, q)| q);
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }
}

pub struct Fake {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    reqs: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
}

impl Fake {
    /// An HTTP server: each request is handed to `handler` with its number (0, 1, ...
    /// over all connections), the socket, and the server's stop flag (a handler holding a
    /// stream open polls it). More requests may follow on the same connection.
    pub fn http(
        handler: impl Fn(usize, &Req, &mut TcpStream, &AtomicBool) + Send + Sync + 'static,
    ) -> Fake {
        Fake::serve(Arc::new(
            move |_, stream: TcpStream, reqs: &Mutex<Vec<Req>>, stop: &AtomicBool| {
                let mut stream = stream;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                while let Some(req) = read_request(&mut reader) {
                    let i = {
                        let mut r = reqs.lock().unwrap();
                        r.push(req.clone());
                        r.len() - 1
                    };
                    handler(i, &req, &mut stream, stop);
                }
            },
        ))
    }

    /// A raw server: `conn` gets each accepted connection (for WebSocket tests).
    pub fn raw(
        conn: impl Fn(usize, TcpStream, &Mutex<Vec<Req>>, &AtomicBool) + Send + Sync + 'static,
    ) -> Fake {
        Fake::serve(Arc::new(conn))
    }

    #[allow(clippy::type_complexity)]
    fn serve(
        conn: Arc<dyn Fn(usize, TcpStream, &Mutex<Vec<Req>>, &AtomicBool) + Send + Sync>,
    ) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let reqs = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (reqs.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            // Bounded: the test drops the server (stop) or ends within its own timeout.
            let deadline = Instant::now() + Duration::from_secs(120);
            while !s.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let (conn, r, s) = (conn.clone(), r.clone(), s.clone());
                        std::thread::spawn(move || conn(n, stream, &r, &s));
                        n += 1;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Fake { url, reqs, stop }
    }

    pub fn requests(&self) -> Vec<Req> {
        self.reqs.lock().unwrap().clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<Req> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let mut req = Req {
        method,
        target,
        headers,
        body: Vec::new(),
        at: Instant::now(),
    };
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    req.body = vec![0; len];
    r.read_exact(&mut req.body).ok()?;
    Some(req)
}

/// A whole response with a body.
pub fn respond(s: &mut TcpStream, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

/// The head of a streaming (chunked) response.
pub fn stream_head(s: &mut TcpStream, content_type: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let _ = s.write_all(head.as_bytes());
}

/// One chunk of a streaming body; false once the client has gone.
pub fn chunk(s: &mut TcpStream, bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return true;
    }
    s.write_all(format!("{:x}\r\n", bytes.len()).as_bytes())
        .and_then(|()| s.write_all(bytes))
        .and_then(|()| s.write_all(b"\r\n"))
        .and_then(|()| s.flush())
        .is_ok()
}

/// Holds a connection open, sending nothing, until `d` passes or the server stops.
pub fn hold(stop: &AtomicBool, d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        420 => "Enhance Your Calm",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
