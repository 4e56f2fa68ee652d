//! Framing of response bodies into messages: NDJSON lines (Twitter v1.1, X v2) and
//! server-sent events (Mastodon), on the toolkit's bounded line reader. Only whole
//! messages come out: a line cut off by a disconnect is dropped with the connection.

use std::io::Read;
use std::time::Duration;

use super::{http, Ended, Frame, Framer, Reporter};
use crate::io::LineReader;

/// A message longer than this is dropped whole, so memory stays bounded (no platform sends
/// anything close to it).
pub const MAX_MESSAGE: usize = 16 << 20;

/// Splits a streaming HTTP body into lines with the toolkit's line reader: a line over
/// [`MAX_MESSAGE`] is skipped, and a line cut off by the end of the body dies with the
/// connection. A read that times out is a stall: the client's per-read timeout is the
/// stall timeout.
pub struct Lines<R> {
    lines: LineReader<R>,
    stall: Duration,
}

impl<R: Read> Lines<R> {
    pub fn new(r: R, stall: Duration) -> Self {
        Lines {
            lines: LineReader::new(r, MAX_MESSAGE).drop_unterminated(),
            stall,
        }
    }

    /// The next line, without its `\r\n`; blank lines included (the caller decides).
    pub fn next_line(&mut self) -> std::result::Result<&[u8], Ended> {
        match self.lines.next_fitting(&mut || Ok(())) {
            Ok(Some(line)) => Ok(line),
            Ok(None) => Err(Ended::Closed),
            Err(e) => Err(read_error(e, self.stall)),
        }
    }
}

/// A read error: a timeout is a stall, anything else a lost connection.
pub fn read_error(e: std::io::Error, stall: Duration) -> Ended {
    let timed_out = matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) || e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
        .is_some_and(|r| r.is_timeout());
    if timed_out {
        Ended::Stall(stall)
    } else {
        Ended::Network(http::error_chain(&e))
    }
}

/// NDJSON streams (Twitter v1.1, X v2): one message per non-blank line.
pub struct NdjsonFramer<R>(pub Lines<R>);

impl<R: Read + Send> Framer for NdjsonFramer<R> {
    fn next(&mut self) -> std::result::Result<Frame, Ended> {
        loop {
            let line = self.0.next_line()?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue; // keep-alive
            }
            return Ok(Frame {
                event: None,
                data: line.to_vec(),
            });
        }
    }
}

/// Server-sent events (Mastodon streaming): `event:` and `data:` fields, a blank line
/// ends an event, lines starting with `:` are comments (Mastodon's `:thump` heartbeat).
pub struct SseFramer<R>(pub Lines<R>);

impl<R: Read + Send> Framer for SseFramer<R> {
    fn next(&mut self) -> std::result::Result<Frame, Ended> {
        let mut event: Option<String> = None;
        let mut data: Option<Vec<u8>> = None;
        loop {
            let line = self.0.next_line()?;
            if line.is_empty() {
                match data.take() {
                    Some(data) => return Ok(Frame { event, data }),
                    None => {
                        event = None;
                        continue;
                    }
                }
            }
            if line[0] == b':' {
                continue;
            }
            let (field, value) = match memchr::memchr(b':', line) {
                Some(i) => {
                    let v = &line[i + 1..];
                    (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
                }
                None => (line, &b""[..]),
            };
            match field {
                b"event" => event = Some(String::from_utf8_lossy(value).into_owned()),
                b"data" => {
                    let d = data.get_or_insert_with(Vec::new);
                    if !d.is_empty() {
                        d.push(b'\n');
                    }
                    d.extend_from_slice(value);
                }
                _ => {} // id, retry: not used by Mastodon
            }
        }
    }
}

/// A message as a JSON object; anything else is reported and skipped (a source's garbage
/// never reaches stdout, where downstream expects whole objects).
pub fn object(frame: &Frame, rep: &Reporter) -> Option<serde_json::Value> {
    match serde_json::from_slice(&frame.data) {
        Ok(v @ serde_json::Value::Object(_)) => Some(v),
        _ => {
            rep.note("skipped a message that is not a JSON object");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn lines_drop_a_cut_line_and_keepalives() {
        let body: &[u8] = b"{\"a\":1}\r\n\r\n\n{\"b\":2}\n{\"cut";
        let mut f = NdjsonFramer(Lines::new(body, ms(1)));
        assert_eq!(f.next().unwrap().data, b"{\"a\":1}");
        assert_eq!(f.next().unwrap().data, b"{\"b\":2}");
        assert!(matches!(f.next(), Err(Ended::Closed)));
    }

    #[test]
    fn sse_events_and_heartbeats() {
        let body: &[u8] =
            b":thump\n\nevent: update\ndata: {\"id\":\"1\"}\n\nevent: delete\ndata: 7\n\n:thump\nevent: update\ndata: {\"id\":\n";
        let mut f = SseFramer(Lines::new(body, ms(1)));
        let a = f.next().unwrap();
        assert_eq!(
            (a.event.as_deref(), &a.data[..]),
            (Some("update"), &b"{\"id\":\"1\"}"[..])
        );
        let b = f.next().unwrap();
        assert_eq!(
            (b.event.as_deref(), &b.data[..]),
            (Some("delete"), &b"7"[..])
        );
        // The last event has no blank line after it: cut off, never delivered.
        assert!(matches!(f.next(), Err(Ended::Closed)));
    }
}
