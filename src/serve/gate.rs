//! The gate: the accept loop in front of tiny_http that bounds connections, threads,
//! time and request size.
//!
//! Why: tiny_http reads every connection on a thread of a pool that grows without limit,
//! reads header lines of any length, and has no idle timeout, so a few hundred idle or
//! slow clients cost a few hundred threads and a 1 GiB header line costs 1 GiB. It cannot
//! be given sockets from outside, so the gate owns the public socket and talks to tiny_http
//! over loopback:
//!
//! * at most `max_conns` client connections are open; one more is answered `503` with
//!   `Retry-After` at once and closed, so a flood cannot queue up;
//! * the request head must arrive whole within [`HEAD_TIMEOUT`] (slowloris gets `408`)
//!   and fit in [`MAX_HEAD`] bytes (`431`); a body must have a `Content-Length` (`411`) of
//!   at most [`super::MAX_BODY`] (`413`);
//! * keep-alive for responses with a length, but a client idle for [`KEEP_ALIVE`] between
//!   requests is closed, so idle connections cannot pile up; each request goes to tiny_http
//!   on a fresh connection with `Connection: close`, so a response ends where that
//!   connection ends. A client that stops reading a response is dropped after
//!   [`WRITE_TIMEOUT`];
//! * tiny_http listens on 127.0.0.1 on a port of its own, and accepts only requests that
//!   carry the gate's random secret header, so nothing reaches it around the gate.
//!
//! Threads: one per open client connection plus tiny_http's one per forwarded connection,
//! so at most 2 x `max_conns` + the workers; each ends with its connection.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The whole request head (request line and headers) must arrive within this.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// An idle client is closed after this long between requests.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// A client that accepts no response bytes for this long is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The header that proves a request came through the gate.
pub const SECRET_HEADER: &str = "X-TT-Gate";

pub struct Gate {
    pub listener: TcpListener,
    /// tiny_http's private loopback address.
    pub inner: SocketAddr,
    pub secret: Arc<str>,
    pub max_conns: usize,
    /// Open client connections.
    pub open: Arc<AtomicUsize>,
}

/// A fresh 128-bit secret, hex.
pub fn new_secret() -> io::Result<String> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

impl Gate {
    /// Accepts until the process ends.
    pub fn run(self) {
        let this = Arc::new(self);
        loop {
            let (client, _) = match this.listener.accept() {
                Ok(c) => c,
                // EMFILE and the like: wait for connections to close, then go on.
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            if this.open.fetch_add(1, Ordering::SeqCst) >= this.max_conns {
                this.open.fetch_sub(1, Ordering::SeqCst);
                refuse(client);
                continue;
            }
            let gate = this.clone();
            // A small stack: the thread only parses a head and copies bytes, and hundreds
            // of idle clients should cost little memory.
            let spawned = std::thread::Builder::new()
                .name("tt-serve-conn".into())
                .stack_size(128 * 1024)
                .spawn(move || {
                    let _ = gate.serve(client);
                    gate.open.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                this.open.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    fn serve(&self, mut client: TcpStream) -> io::Result<()> {
        let _ = client.set_nodelay(true);
        client.set_write_timeout(Some(WRITE_TIMEOUT))?;
        // Bytes read from the client and not used yet (a pipelined next request).
        let mut buf = Vec::with_capacity(1024);
        let mut first = true;
        loop {
            if !first && buf.is_empty() {
                // Between requests: an idle client gets KEEP_ALIVE, then is closed.
                let mut chunk = [0u8; 2048];
                match read_before(&mut client, &mut chunk, Instant::now() + KEEP_ALIVE) {
                    Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                    _ => return Ok(()),
                }
            }
            first = false;
            let Some(keep) = self.one(&mut client, &mut buf)? else {
                return Ok(());
            };
            if !keep {
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
        }
    }

    /// Serves one request. Returns whether the connection may carry another one
    /// (`None`: it is finished).
    fn one(&self, client: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
        let deadline = Instant::now() + HEAD_TIMEOUT;
        let head_end = match read_head(client, buf, deadline) {
            Ok(n) => n,
            Err(Reject(status, msg)) => return reply(client, status, msg).map(|()| None),
        };
        let Ok(head) = std::str::from_utf8(&buf[..head_end]) else {
            return reply(client, 400, "the request head is not UTF-8").map(|()| None);
        };
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or("");
        let mut client_close = request_line.ends_with("HTTP/1.0");
        let mut out = String::with_capacity(head_end + 64);
        out.push_str(request_line);
        out.push_str("\r\n");
        let mut body_len: Option<usize> = None;
        let mut hosts = 0;
        for line in lines.filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                return reply(client, 400, "a header line without a colon").map(|()| None);
            };
            let name = name.trim();
            if name.eq_ignore_ascii_case("host") {
                // RFC 9112 §3.2: a request with more than one Host field is answered 400.
                hosts += 1;
                if hosts > 1 {
                    return reply(client, 400, "more than one Host header").map(|()| None);
                }
            }
            if name.eq_ignore_ascii_case("content-length") {
                // Two lengths are how requests are smuggled past a proxy: refused.
                match (value.trim().parse(), body_len) {
                    (Ok(n), None) => body_len = Some(n),
                    (Ok(_), Some(_)) => {
                        return reply(client, 400, "more than one Content-Length").map(|()| None)
                    }
                    (Err(_), _) => {
                        return reply(client, 400, "a bad Content-Length").map(|()| None)
                    }
                }
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return reply(client, 411, "send the body with a Content-Length").map(|()| None);
            } else if name.eq_ignore_ascii_case("connection") {
                client_close |= value.trim().eq_ignore_ascii_case("close");
            }
            if name.eq_ignore_ascii_case("connection")
                || name.eq_ignore_ascii_case("keep-alive")
                || name.eq_ignore_ascii_case(SECRET_HEADER)
            {
                continue; // ours to set; and a client cannot forge the secret
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        let body_len = body_len.unwrap_or(0);
        if body_len > super::MAX_BODY {
            reply(client, 413, "the request body is over the limit (64 KiB)")?;
            return Ok(None);
        }
        out.push_str("Connection: close\r\n");
        out.push_str(SECRET_HEADER);
        out.push_str(": ");
        out.push_str(&self.secret);
        out.push_str("\r\n\r\n");
        // The body: what came with the head, then the rest, within the same deadline.
        buf.drain(..head_end);
        while buf.len() < body_len {
            let mut chunk = [0u8; 8192];
            match read_before(client, &mut chunk, deadline) {
                Ok(0) => return Ok(None),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(Reject(status, msg)) => return reply(client, status, msg).map(|()| None),
            }
        }
        let body: Vec<u8> = buf.drain(..body_len).collect();

        // tiny_http answers on a fresh connection and closes it after the response, so
        // the response ends where that connection ends, whatever its framing.
        let Ok(mut inner) = TcpStream::connect_timeout(&self.inner, Duration::from_secs(5)) else {
            return reply(client, 503, "the server is shutting down").map(|()| None);
        };
        let _ = inner.set_nodelay(true);
        inner.write_all(out.as_bytes())?;
        inner.write_all(&body)?;
        let (head, rest) = read_response_head(&mut inner)?;
        // The client may keep the connection only when it can tell where the response
        // ends: a Content-Length (an event stream has none and ends with the connection).
        let keep = !client_close && head.as_deref().is_some_and(has_length);
        if let Some(mut head) = head {
            if !keep {
                head.truncate(head.len() - 2);
                head.extend_from_slice(b"Connection: close\r\n\r\n");
            }
            client.write_all(&head)?;
        }
        client.write_all(&rest)?;
        io::copy(&mut inner, client)?;
        Ok(Some(keep))
    }
}

/// Reads a response head from tiny_http: `(Some(head with its blank line), bytes after)`,
/// or `(None, bytes)` when there is no head to understand (passed on as they are).
fn read_response_head(inner: &mut TcpStream) -> io::Result<(Option<Vec<u8>>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(i) = memchr::memmem::find(&buf, b"\r\n\r\n") {
            let rest = buf.split_off(i + 4);
            return Ok((Some(buf), rest));
        }
        let n = inner.read(&mut chunk)?;
        if n == 0 || buf.len() > 64 * 1024 {
            return Ok((None, buf));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn has_length(head: &[u8]) -> bool {
    let Ok(h) = std::str::from_utf8(head) else {
        return false;
    };
    h.split("\r\n").skip(1).any(|l| {
        l.split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
    })
}

struct Reject(u16, &'static str);

/// Reads until the blank line that ends the head; returns the head's length (with the
/// blank line). Bytes after it (the start of a body) stay in `buf`.
fn read_head(s: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> Result<usize, Reject> {
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(i) = memchr::memmem::find(buf, b"\r\n\r\n") {
            return Ok(i + 4);
        }
        if buf.len() >= MAX_HEAD {
            return Err(Reject(431, "the request head is over 16 KiB"));
        }
        let n = read_before(s, &mut chunk, deadline)?;
        if n == 0 {
            return Err(Reject(400, "the connection closed inside the request head"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One read that must finish before `deadline` (408 otherwise).
fn read_before(s: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> Result<usize, Reject> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Reject(408, "the request took too long to arrive"));
    }
    s.set_read_timeout(Some(left))
        .map_err(|_| Reject(400, "socket error"))?;
    loop {
        match s.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Reject(408, "the request took too long to arrive"))
            }
            Err(_) => return Err(Reject(400, "the connection failed")),
        }
    }
}

fn reply(s: &mut TcpStream, status: u16, msg: &str) -> io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let body = format!("{msg}\n");
    let r = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let res = s.write_all(r.as_bytes());
    // Let the client read the answer before the close (a close with unread input would
    // reset the connection and lose it).
    let _ = s.shutdown(Shutdown::Write);
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        if !matches!(s.read(&mut sink), Ok(n) if n > 0) {
            break;
        }
    }
    res
}

/// Over the connection limit: a short 503 without reading the request, written from the
/// accept loop itself, which must never block on a client.
fn refuse(mut s: TcpStream) {
    let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = s.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n\
          Connection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n",
    );
}
