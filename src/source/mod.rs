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

pub mod backoff;
pub mod bluesky;
pub mod creds;
mod framing;
pub mod http;
pub mod mastodon;
mod report;
pub mod twitter;
pub mod x;

pub use backoff::Backoff;
pub use framing::{object, read_error, Lines, NdjsonFramer, SseFramer, MAX_MESSAGE};
pub use report::Reporter;

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::io::Write;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use crate::error::{Error, Kind, Result};
use crate::io::{spawn_bounded, Output};
use crate::stop::Stop;
use crate::time::secs;

/// Messages read ahead of stdout, at most.
const QUEUE: usize = 256;

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

/// How a run retries and paces its waits (what stops it is a [`Stop`]).
#[derive(Debug, Clone)]
pub struct Plan {
    /// Give up (exit 69) after this many failed attempts in a row.
    pub retries: Option<u32>,
    /// Multiplies every backoff wait; 1 in real use. Tests scale time down with
    /// `TT_FETCH_TIME_SCALE` so that a 60 s penalty takes 60 ms.
    pub time_scale: f64,
}

/// Runs a source until `--limit`, `--duration`, a signal, a fatal error, or the retries
/// run out. Every emitted message is written with a newline and flushed.
pub fn run<W: Write>(
    src: &mut dyn Source,
    plan: &Plan,
    stop: &Stop,
    out: &mut Output<W>,
    rep: &mut Reporter,
) -> Result<()> {
    let mut backoff = Backoff::default();
    let mut failures = 0u32;
    let name = rep.source;
    let give_up = |failures: u32, why: &str| -> Result<()> {
        match plan.retries {
            Some(n) if failures > n => Err(Error::new(
                Kind::Unavailable,
                format!("{name}: giving up: {}; last: {why}", attempts(failures, n)),
            )),
            _ => Ok(()),
        }
    };
    // A run whose --duration passes before the source is ever reached has fetched
    // nothing because of it, and says so (69), so that cron sees a network that was down
    // rather than an empty file. `last_failure`: why the last attempt failed.
    let (mut reached, mut last_failure) = (false, String::new());
    let stopped = |reached: bool, last_failure: &str| -> Result<()> {
        match reached || last_failure.is_empty() || stop.signalled() {
            true => Ok(()),
            false => Err(Error::new(
                Kind::Unavailable,
                format!("{name}: not reached before --duration ended; last: {last_failure}"),
            )),
        }
    };
    loop {
        if stop.now(rep.posts) {
            return stopped(reached, &last_failure);
        }
        let framer = match src.connect(rep) {
            Ok(f) => {
                reached = true;
                f
            }
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
                last_failure = f.to_string();
                if !stop.sleep(wait.mul_f64(plan.time_scale), rep.posts) {
                    return stopped(reached, &last_failure);
                }
                continue;
            }
        };
        backoff.accepted();
        let (ended, delivered) = pump(framer, src, stop, out, rep)?;
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

/// What `--retries N` did before giving up: the attempt, then N retries, all failed.
fn attempts(failures: u32, retries: u32) -> String {
    match retries {
        0 => "the connection failed and --retries is 0".into(),
        1 => format!("{failures} failed attempts in a row (the first and 1 retry)"),
        n => format!("{failures} failed attempts in a row (the first and {n} retries)"),
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
    // The reader ends by itself: on its connection's end, or at its next message once the
    // receiver is gone (a stalled read is bounded by the stall timeout).
    let rx = spawn_bounded("tt-fetch-reader", QUEUE, move |send| loop {
        let next = framer.next();
        let last = next.is_err();
        if !send(next) || last {
            return;
        }
    })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn giving_up_counts_the_retries_as_the_flag_does() {
        // (failures when giving up = retries + 1, retries, message)
        let cases = [
            (1, 0, "the connection failed and --retries is 0"),
            (2, 1, "2 failed attempts in a row (the first and 1 retry)"),
            (4, 3, "4 failed attempts in a row (the first and 3 retries)"),
        ];
        for (failures, retries, want) in cases {
            assert_eq!(attempts(failures, retries), want);
        }
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
