//! When a long run stops: SIGINT or SIGTERM, `--limit` items written, `--duration` passed.
//! The one policy of every command that runs until told (`tt fetch`'s sources, the
//! simulator and replay; `tt count` watches the signals alone).
//!
//! A signal only raises a flag: the command finishes what it holds (closes and persists
//! the open batch, flushes its output) and then exits 130 or 143, as [`Signals::outcome`]
//! says.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Kind, Result};

/// How long a wait sleeps before it looks at the flags again: short enough that Ctrl-C and
/// `--duration` feel immediate.
const POLL: Duration = Duration::from_millis(50);

/// SIGINT and SIGTERM, caught into a flag.
#[derive(Clone)]
pub struct Signals(Arc<AtomicUsize>);

impl Signals {
    /// Catches SIGINT and SIGTERM from now on.
    pub fn catch() -> Result<Signals> {
        let flag = Arc::new(AtomicUsize::new(0));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register_usize(sig, Arc::clone(&flag), sig as usize)
                .map_err(|e| Error::new(Kind::Failure, format!("cannot handle signals: {e}")))?;
        }
        Ok(Signals(flag))
    }

    /// Whether a signal came.
    pub fn received(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }

    /// `Ok` when no signal came; else the quiet error that exits 130 (SIGINT) or 143.
    pub fn outcome(&self) -> Result<()> {
        match self.0.load(Ordering::Relaxed) {
            0 => Ok(()),
            s if s == signal_hook::consts::SIGINT as usize => {
                Err(Error::new(Kind::Interrupted, ""))
            }
            _ => Err(Error::new(Kind::Terminated, "")),
        }
    }
}

/// A signal, `--limit` or `--duration`: whichever comes first.
pub struct Stop {
    signals: Signals,
    started: Instant,
    limit: Option<u64>,
    duration: Option<Duration>,
}

impl Stop {
    pub fn new(signals: Signals, limit: Option<u64>, duration: Option<Duration>) -> Stop {
        Stop {
            signals,
            started: Instant::now(),
            limit,
            duration,
        }
    }

    /// Whether to stop, with `written` items out so far.
    pub fn now(&self, written: u64) -> bool {
        self.limit.is_some_and(|l| written >= l) || self.interrupted()
    }

    /// A signal came (not `--limit` or `--duration`).
    pub fn signalled(&self) -> bool {
        self.signals.received()
    }

    /// A signal came or `--duration` passed (the limit aside).
    pub fn interrupted(&self) -> bool {
        self.signals.received() || self.duration.is_some_and(|d| self.started.elapsed() >= d)
    }

    /// Sleeps until `until`, waking early to stop. Returns false when the run should stop.
    pub fn sleep_until(&self, until: Instant, written: u64) -> bool {
        loop {
            if self.now(written) {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(POLL));
        }
    }

    /// Sleeps `d`, waking early to stop. Returns false when the run should stop.
    pub fn sleep(&self, d: Duration, written: u64) -> bool {
        self.sleep_until(Instant::now() + d, written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(limit: Option<u64>, duration: Option<Duration>) -> Stop {
        Stop::new(Signals(Arc::new(AtomicUsize::new(0))), limit, duration)
    }

    #[test]
    fn limit_duration_and_signal() {
        // (limit, duration, written, stops)
        let cases = [
            (None, None, 1_000_000, false),
            (Some(3), None, 2, false),
            (Some(3), None, 3, true),
            (None, Some(Duration::ZERO), 0, true),
            (None, Some(Duration::from_secs(3600)), 0, false),
        ];
        for (limit, duration, written, stops) in cases {
            assert_eq!(
                stop(limit, duration).now(written),
                stops,
                "{limit:?} {duration:?} {written}"
            );
        }
        let s = stop(None, None);
        assert!(s.signals.outcome().is_ok());
        s.signals.0.store(2, Ordering::Relaxed);
        assert!(s.now(0));
        assert!(
            !s.sleep(Duration::from_secs(60), 0),
            "a signal cuts a sleep short"
        );
        assert_eq!(s.signals.outcome().unwrap_err().kind, Kind::Interrupted);
    }

    #[test]
    fn sleep_returns_when_due() {
        let s = stop(None, None);
        let t = Instant::now();
        assert!(s.sleep(Duration::from_millis(20), 0));
        assert!(t.elapsed() >= Duration::from_millis(20));
    }
}
