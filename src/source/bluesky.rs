//! Bluesky through Jetstream (SOURCES.md §4): a public WebSocket, no account, one JSON
//! event per text frame. We subscribe to `app.bsky.feed.post` and write the `commit`
//! events that create a post, as sent (`tt tags` reads their facets and `record.tags`).
//!
//! Resuming: every event carries `time_us`, and `/subscribe?cursor=<µs>` replays from a
//! time. After a reconnect we ask for the newest `time_us` written minus 5 s (the
//! Jetstream docs advise rewinding a little, since a new connection may reach another
//! instance), and drop what was already written by `did/rkey`: nothing is missed,
//! nothing is written twice.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use super::http::error_chain;
use super::{read_error, Ended, Failure, Frame, Framer, Reporter, Seen, Source, Verdict};

pub const DEFAULT_ENDPOINT: &str = "wss://jetstream2.us-east.bsky.network";
const COLLECTION: &str = "app.bsky.feed.post";
const REWIND_US: i64 = 5_000_000;

pub struct Bluesky {
    endpoint: String,
    /// Where the next connection starts (unix µs); `None` for live.
    cursor: Option<i64>,
    /// The newest `time_us` written.
    newest: Option<i64>,
    stall: Duration,
    seen: Seen,
}

impl Bluesky {
    pub fn new(endpoint: &str, cursor: Option<i64>, stall: Duration) -> Bluesky {
        Bluesky {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            cursor,
            newest: None,
            stall,
            seen: Seen::new(100_000),
        }
    }

    fn url(&self) -> String {
        let mut url = format!("{}/subscribe?wantedCollections={COLLECTION}", self.endpoint);
        let from = self.newest.map(|t| t - REWIND_US).or(self.cursor);
        if let Some(c) = from {
            url.push_str(&format!("&cursor={c}"));
        }
        url
    }
}

/// Opens the TCP connection ourselves, for a connect timeout and a read timeout (the
/// stall timeout) that tungstenite's own `connect` does not set.
fn open(url: &str, stall: Duration) -> Result<WebSocket<MaybeTlsStream<TcpStream>>, Failure> {
    let uri: tungstenite::http::Uri = url.parse().map_err(|e| Failure::Rejected {
        status: 0,
        message: format!("bad endpoint URL {url}: {e}"),
    })?;
    let host = uri.host().unwrap_or("").trim_matches(['[', ']']).to_owned();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("wss") {
            443
        } else {
            80
        });
    let addrs = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| Failure::Network(format!("{host}: {e}")))?;
    let mut last = io::Error::other(format!("{host}: no address"));
    let mut tcp = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(10)) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let tcp = tcp.ok_or_else(|| Failure::Network(last.to_string()))?;
    tcp.set_read_timeout(Some(stall))
        .and_then(|()| tcp.set_write_timeout(Some(Duration::from_secs(10))))
        .map_err(|e| Failure::Network(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    match tungstenite::client_tls_with_config(url, tcp, None, None) {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            let status = resp.status().as_u16();
            let message = resp
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
                .unwrap_or_default();
            Err(super::http::failure(
                status,
                super::http::server_wait(resp.headers()),
                message,
            ))
        }
        Err(e) => Err(Failure::Network(error_chain(&e))),
    }
}

struct Ws {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    stall: Duration,
}

impl Framer for Ws {
    fn next(&mut self) -> Result<Frame, Ended> {
        loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    return Ok(Frame {
                        event: None,
                        data: t.as_bytes().to_vec(),
                    })
                }
                Ok(Message::Close(_)) => return Err(Ended::Closed),
                // Pings are answered by tungstenite on the next read; compressed (binary)
                // frames are not asked for.
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) => return Err(read_error(e, self.stall)),
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Err(Ended::Closed)
                }
                Err(e) => return Err(Ended::Network(error_chain(&e))),
            }
        }
    }
}

impl Source for Bluesky {
    fn connect(&mut self, _: &mut Reporter) -> Result<Box<dyn Framer>, Failure> {
        let ws = open(&self.url(), self.stall)?;
        Ok(Box::new(Ws {
            ws,
            stall: self.stall,
        }))
    }

    fn check(&mut self, frame: &Frame, rep: &mut Reporter) -> Verdict {
        let Some(v) = super::object(frame, rep) else {
            return Verdict::Skip;
        };
        let s = |p: &str| v.pointer(p).and_then(Value::as_str);
        if s("/kind") != Some("commit")
            || s("/commit/collection") != Some(COLLECTION)
            || s("/commit/operation") != Some("create")
        {
            return Verdict::Skip;
        }
        let key = format!(
            "{}/{}",
            s("/did").unwrap_or(""),
            s("/commit/rkey").unwrap_or("")
        );
        if !self.seen.first(&key) {
            return Verdict::Skip;
        }
        if let Some(t) = v.get("time_us").and_then(Value::as_i64) {
            self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        }
        Verdict::Emit
    }

    fn credential_hint(&self) -> String {
        "the endpoint (Jetstream needs no credentials)".into()
    }
}
