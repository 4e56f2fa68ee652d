//! The network sources of `tt fetch`, and the connection loop they share.
//!
//! Each source ([`twitter`], [`x`], [`mastodon`], [`bluesky`]) knows how to open a
//! connection (request, credentials, status codes) and how to judge a message (post,
//! notice, duplicate). Everything else is here, written once: the reconnect policy
//! ([`Backoff`], the platforms' published rules), stall detection, framing of NDJSON and
//! server-sent-event bodies, the bounded queue between the socket and stdout, `--limit`,
//! `--duration`, signals, and the messages and progress line on stderr.
//!
//! Why a reader thread: the socket is read on its own thread into a bounded queue
//! (`QUEUE` messages), as X's disconnection guide recommends ("decouple reading from
//! processing through a FIFO queue"). The main thread writes to stdout and stays free to
//! notice SIGINT or `--duration` while a read blocks. When stdout is slow the queue fills,
//! the reader stops reading, and TCP flow control pushes back on the server: memory stays
//! bounded by `QUEUE` x the largest message.
//!
//! Only whole messages are written: a line cut off by a disconnect is dropped with the
//! connection, never written, and every written line is flushed at once.

pub mod bluesky;
pub mod creds;
pub mod http;
pub mod mastodon;
pub mod twitter;
pub mod x;

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{Error, Kind, Result};
use crate::io::Output;

/// Messages read ahead of stdout, at most.
const QUEUE: usize = 256;

/// A message longer than this is dropped whole, so memory stays bounded (no platform sends
/// anything close to it).
pub const MAX_MESSAGE: usize = 16 << 20;

/// One message off the wire: a line of NDJSON, a server-sent event, a WebSocket frame.
#[derive(Debug)]
pub struct Frame {
    /// The server-sent event's name (`update`, `delete`, ...); `None` for other framings.
    pub event: Option<String>,
    pub data: Vec<u8>,
}

/// Why a connection that was open ended.
#[derive(Debug)]
pub enum Ended {
    /// The server closed the stream.
    Closed,
    /// No byte, keep-alives included, for the stall timeout.
    Stall(Duration),
    /// A network or protocol error while reading.
    Network(String),
    /// The source asked us to reconnect (a `disconnect` notice, an in-band error).
    Notice(String),
    /// A polling source's request failed (see [`Failure`]).
    Failed(Failure),
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Closed => f.write_str("the server closed the stream"),
            Ended::Stall(d) => write!(f, "stalled: nothing received for {}", secs(*d)),
            Ended::Network(e) => write!(f, "connection lost: {e}"),
            Ended::Notice(e) => f.write_str(e),
            Ended::Failed(e) => e.fmt(f),
        }
    }
}

/// Why a connection attempt failed, which decides the wait before the next one.
#[derive(Debug)]
pub enum Failure {
    /// TCP, TLS or DNS error: linear backoff from 250 ms to 16 s.
    Network(String),
    /// HTTP error (5xx and the like): exponential backoff from 5 s to 320 s, or longer
    /// if the server says so (`wait`, from `Retry-After`).
    Http {
        status: u16,
        wait: Option<Duration>,
        message: String,
    },
    /// HTTP 420 or 429: exponential backoff from 60 s, or longer if the server says so
    /// (`Retry-After`, `x-rate-limit-reset`).
    RateLimited {
        status: u16,
        wait: Option<Duration>,
        message: String,
    },
    /// HTTP 401 or 403: the credentials are wrong; not retried (exit 77).
    Auth { status: u16, message: String },
    /// Another 4xx: the request itself is wrong; not retried (exit 78).
    Rejected { status: u16, message: String },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Network(e) => write!(f, "cannot connect: {e}"),
            Failure::Http {
                status, message, ..
            }
            | Failure::RateLimited {
                status, message, ..
            }
            | Failure::Auth { status, message }
            | Failure::Rejected { status, message } => {
                write!(f, "HTTP {status}")?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
        }
    }
}

/// Reads messages off one open connection. Runs on the reader thread.
pub trait Framer: Send {
    fn next(&mut self) -> std::result::Result<Frame, Ended>;
}

/// What to do with a message.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// A post: write it to stdout (it counts towards `--limit`).
    Emit,
    /// A notice worth keeping in a saved stream (`limit`, `delete`): write it, do not
    /// count it as a post.
    Pass,
    /// Not a post (a deleted post, a duplicate, a notice not worth passing on).
    Skip,
    /// Write nothing and reconnect now (a `disconnect` notice).
    Reconnect(String),
}

/// A network source.
pub trait Source {
    /// Opens a connection: sends the request and checks the response status.
    fn connect(&mut self, rep: &mut Reporter) -> std::result::Result<Box<dyn Framer>, Failure>;

    /// Judges one message; may report notices and missed posts through `rep`.
    fn check(&mut self, frame: &Frame, rep: &mut Reporter) -> Verdict;

    /// What to tell the user to check when the source refuses the credentials.
    fn credential_hint(&self) -> String;
}

/// The reconnect policy: the rules X and Twitter publish for their streams (SOURCES.md §1
/// and §2), which suit the other sources too.
#[derive(Debug, Default)]
pub struct Backoff {
    net: u32,
    http: u32,
    rate: u32,
}

impl Backoff {
    /// After a connection attempt failed.
    pub fn after_failure(&mut self, f: &Failure) -> Duration {
        match f {
            Failure::Network(_) => {
                self.net += 1;
                (Duration::from_millis(250) * self.net).min(Duration::from_secs(16))
            }
            Failure::Http { wait, .. } => {
                self.http += 1;
                let exp = Duration::from_secs(5) * 2u32.saturating_pow(self.http - 1).min(64);
                exp.min(Duration::from_secs(320))
                    .max(wait.unwrap_or_default())
            }
            Failure::RateLimited { wait, .. } => {
                self.rate += 1;
                // "Each 429 lengthens the penalty": no cap but the server's own word,
                // bounded here at 2^6 minutes so a broken server cannot park us for days.
                let exp = Duration::from_secs(60) * 2u32.saturating_pow(self.rate - 1).min(64);
                exp.max(wait.unwrap_or_default())
            }
            Failure::Auth { .. } | Failure::Rejected { .. } => Duration::ZERO,
        }
    }

    /// After the server accepted a connection (HTTP 200).
    pub fn accepted(&mut self) {
        self.http = 0;
        self.rate = 0;
    }

    /// After an open connection ended. One that delivered posts is reconnected at once
    /// ("reconnect immediately after an established connection drops"); one that
    /// delivered nothing counts as a network failure, so a server that accepts and hangs
    /// up at once is not hammered.
    pub fn after_end(&mut self, delivered: bool, why: &Ended) -> Duration {
        match why {
            Ended::Failed(f) => self.after_failure(f),
            _ if delivered => {
                self.net = 0;
                Duration::ZERO
            }
            _ => self.after_failure(&Failure::Network(String::new())),
        }
    }
}

/// What stops a run, and how to pace its waits.
#[derive(Debug, Clone)]
pub struct Plan {
    pub limit: Option<u64>,
    pub duration: Option<Duration>,
    /// Give up (exit 69) after this many failed attempts in a row.
    pub retries: Option<u32>,
    /// Multiplies every backoff wait; 1 in real use. Tests scale time down with
    /// `TT_FETCH_TIME_SCALE` so that a 60 s penalty takes 60 ms.
    pub time_scale: f64,
}

/// stderr for a source: messages that do not garble the progress line, and the counts it
/// shows (posts/s, reconnects, missed posts).
pub struct Reporter {
    source: &'static str,
    bar: ProgressBar,
    pub posts: u64,
    pub reconnects: u64,
    /// Posts the source says it did not deliver (v1.1 `limit` notices, Jetstream gaps).
    pub missed: u64,
    started: Instant,
    last_draw: Instant,
}

impl Reporter {
    pub fn new(source: &'static str) -> Reporter {
        // Drawn only when stderr is a terminal; in a pipeline or under cron it is hidden
        // and only the messages below appear.
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{spinner} tt fetch {msg}").expect("template"));
        Reporter {
            source,
            bar,
            posts: 0,
            reconnects: 0,
            missed: 0,
            started: Instant::now(),
            last_draw: Instant::now(),
        }
    }

    /// A message on stderr: `tt fetch: <source>: <msg>`.
    pub fn note(&self, msg: impl fmt::Display) {
        let line = format!("tt fetch: {}: {msg}", self.source);
        self.bar.suspend(|| eprintln!("{line}"));
    }

    fn tick(&mut self) {
        if self.bar.is_hidden() || self.last_draw.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last_draw = Instant::now();
        let rate = self.posts as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!(
            "{}: {} posts, {rate:.0}/s, {} reconnects, {} missed",
            self.source, self.posts, self.reconnects, self.missed
        ));
        self.bar.tick();
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Stops a run: `--limit`, `--duration`, SIGINT/SIGTERM.
struct Stop<'a> {
    plan: &'a Plan,
    started: Instant,
    signal: &'a AtomicUsize,
}

impl Stop<'_> {
    fn now(&self, written: u64) -> bool {
        self.signal.load(Ordering::Relaxed) != 0
            || self.plan.limit.is_some_and(|l| written >= l)
            || self
                .plan
                .duration
                .is_some_and(|d| self.started.elapsed() >= d)
    }

    /// Sleeps `d`, waking early to stop. Returns false when the run should stop.
    fn sleep(&self, d: Duration, written: u64) -> bool {
        let until = Instant::now() + d;
        loop {
            if self.now(written) {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
    }
}

/// Runs a source until `--limit`, `--duration`, a signal, a fatal error, or the retries
/// run out. Every emitted message is written with a newline and flushed.
pub fn run<W: Write>(
    src: &mut dyn Source,
    plan: &Plan,
    signal: &AtomicUsize,
    out: &mut Output<W>,
    rep: &mut Reporter,
) -> Result<()> {
    let stop = Stop {
        plan,
        started: Instant::now(),
        signal,
    };
    let mut backoff = Backoff::default();
    let mut failures = 0u32;
    let name = rep.source;
    let give_up = |failures: u32, why: &str| -> Result<()> {
        match plan.retries {
            Some(n) if failures > n => Err(Error::new(
                Kind::Unavailable,
                format!("{name}: giving up after {failures} failed attempts in a row; last: {why}"),
            )),
            _ => Ok(()),
        }
    };
    loop {
        if stop.now(rep.posts) {
            return Ok(());
        }
        let framer = match src.connect(rep) {
            Ok(f) => f,
            Err(Failure::Auth { status, message }) => {
                return Err(Error::new(
                    Kind::NoPerm,
                    format!(
                        "{}: HTTP {status}: credentials refused{}; check {}",
                        rep.source,
                        if message.is_empty() {
                            String::new()
                        } else {
                            format!(" ({message})")
                        },
                        src.credential_hint()
                    ),
                ));
            }
            Err(f @ Failure::Rejected { .. }) => {
                return Err(Error::new(
                    Kind::Config,
                    format!("{}: request rejected: {f}", rep.source),
                ));
            }
            Err(f) => {
                failures += 1;
                give_up(failures, &f.to_string())?;
                let wait = backoff.after_failure(&f);
                rep.note(format!("{f}; retrying in {}", secs(wait)));
                rep.reconnects += 1;
                if !stop.sleep(wait.mul_f64(plan.time_scale), rep.posts) {
                    return Ok(());
                }
                continue;
            }
        };
        backoff.accepted();
        let (ended, delivered) = pump(framer, src, &stop, out, rep)?;
        let Some(ended) = ended else {
            return Ok(());
        };
        if delivered {
            failures = 0;
        } else {
            failures += 1;
            give_up(failures, &ended.to_string())?;
        }
        let wait = backoff.after_end(delivered, &ended);
        rep.note(format!("{ended}; reconnecting in {}", secs(wait)));
        rep.reconnects += 1;
        if !stop.sleep(wait.mul_f64(plan.time_scale), rep.posts) {
            return Ok(());
        }
    }
}

/// Moves messages from one connection to stdout until it ends (`Some(why)`) or the run
/// stops (`None`). Also says whether any post was written.
fn pump<W: Write>(
    mut framer: Box<dyn Framer>,
    src: &mut dyn Source,
    stop: &Stop,
    out: &mut Output<W>,
    rep: &mut Reporter,
) -> Result<(Option<Ended>, bool)> {
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    // The reader ends by itself: on its connection's end, or at its next message once the
    // receiver is gone (a stalled read is bounded by the stall timeout).
    std::thread::Builder::new()
        .name("tt-fetch-reader".into())
        .spawn(move || loop {
            let next = framer.next();
            let last = next.is_err();
            if tx.send(next).is_err() || last {
                return;
            }
        })
        .map_err(|e| Error::new(Kind::Failure, format!("cannot start a thread: {e}")))?;
    let mut delivered = false;
    loop {
        if stop.now(rep.posts) {
            return Ok((None, delivered));
        }
        rep.tick();
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Ok(frame)) => match src.check(&frame, rep) {
                v @ (Verdict::Emit | Verdict::Pass) => {
                    out.write_all(&frame.data)?;
                    out.write_all(b"\n")?;
                    out.flush()?;
                    if v == Verdict::Emit {
                        rep.posts += 1;
                        delivered = true;
                    }
                }
                Verdict::Skip => {}
                Verdict::Reconnect(why) => {
                    return Ok((Some(Ended::Notice(why)), delivered));
                }
            },
            Ok(Err(ended)) => return Ok((Some(ended), delivered)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok((Some(Ended::Closed), delivered)),
        }
    }
}

/// Splits a streaming HTTP body into lines; blank lines (keep-alives) are consumed here.
/// A read that times out is a stall: the client's per-read timeout is the stall timeout.
pub struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    stall: Duration,
    /// In the middle of a line longer than [`MAX_MESSAGE`], which is being skipped.
    skipping: bool,
}

impl<R: Read> Lines<R> {
    pub fn new(r: R, stall: Duration) -> Self {
        Lines {
            r,
            buf: vec![0; 64 << 10],
            start: 0,
            end: 0,
            stall,
            skipping: false,
        }
    }

    /// The next line, without its `\r\n`; blank lines included (the caller decides).
    pub fn next_line(&mut self) -> std::result::Result<&[u8], Ended> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let (s, e) = (self.start, self.start + i);
                self.start = e + 1;
                if std::mem::take(&mut self.skipping) {
                    continue;
                }
                let line = &self.buf[s..e];
                return Ok(line.strip_suffix(b"\r").unwrap_or(line));
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                if self.buf.len() >= MAX_MESSAGE {
                    self.skipping = true;
                    self.end = 0;
                } else {
                    self.buf.resize(self.buf.len() * 2, 0);
                }
            }
            match self.r.read(&mut self.buf[self.end..]) {
                // A partial line left in the buffer dies with the connection.
                Ok(0) => return Err(Ended::Closed),
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_error(e, self.stall)),
            }
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

/// Remembers the last `cap` ids seen, to drop duplicates (X and Jetstream deliver at
/// least once; Mastodon sends an edit as a second event).
pub struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl Seen {
    pub fn new(cap: usize) -> Seen {
        Seen {
            set: HashSet::with_capacity(cap),
            order: VecDeque::with_capacity(cap),
            cap,
        }
    }

    /// True the first time `id` is offered (within the last `cap`).
    pub fn first(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() == self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

/// `1.5s`, `60s`, `250ms`: a wait as people read it.
pub fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_follows_the_published_rules() {
        let mut b = Backoff::default();
        let net = Failure::Network("refused".into());
        let waits: Vec<_> = (0..70).map(|_| b.after_failure(&net)).collect();
        assert_eq!(&waits[..3], &[ms(250), ms(500), ms(750)]);
        assert_eq!(waits[63], ms(16_000));
        assert_eq!(waits[69], ms(16_000));

        let mut b = Backoff::default();
        let http = |wait| Failure::Http {
            status: 503,
            wait,
            message: String::new(),
        };
        let waits: Vec<_> = (0..8).map(|_| b.after_failure(&http(None))).collect();
        let secs: Vec<_> = waits.iter().map(|d| d.as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 320]);
        b.accepted();
        assert_eq!(b.after_failure(&http(Some(ms(30_000)))), ms(30_000));

        let mut b = Backoff::default();
        let rate = |wait| Failure::RateLimited {
            status: 420,
            wait,
            message: String::new(),
        };
        assert_eq!(b.after_failure(&rate(None)), ms(60_000));
        assert_eq!(b.after_failure(&rate(None)), ms(120_000));
        assert_eq!(b.after_failure(&rate(Some(ms(600_000)))), ms(600_000));
    }

    #[test]
    fn a_drop_after_posts_reconnects_at_once_and_an_empty_one_backs_off() {
        let mut b = Backoff::default();
        assert_eq!(b.after_end(true, &Ended::Closed), Duration::ZERO);
        assert_eq!(b.after_end(false, &Ended::Closed), ms(250));
        assert_eq!(b.after_end(false, &Ended::Stall(ms(1))), ms(500));
        assert_eq!(b.after_end(true, &Ended::Closed), Duration::ZERO);
        assert_eq!(b.after_end(false, &Ended::Closed), ms(250));
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

    #[test]
    fn seen_is_bounded() {
        let mut s = Seen::new(2);
        assert!(s.first("a"));
        assert!(!s.first("a"));
        assert!(s.first("b"));
        assert!(s.first("c"));
        assert!(s.first("a"), "a was forgotten after two newer ids");
    }
}
