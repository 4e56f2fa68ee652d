//! Pacing a saved or simulated stream by its posts' own times (`--speed`): 1 is real
//! time, 10 ten times faster, `max` as fast as possible; and stopping it on a signal,
//! `--limit` or `--duration` (see [`crate::stop`]).

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::io::Output;
use crate::stop::Stop;
use crate::time::Millis;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    Factor(f64),
    Max,
}

impl std::fmt::Display for Speed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Speed::Factor(x) => write!(f, "{x}"),
            Speed::Max => f.write_str("max"),
        }
    }
}

/// Parses `--speed`: a positive number, or `max`.
pub fn parse_speed(s: &str) -> std::result::Result<Speed, String> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f.is_finite() => Ok(Speed::Factor(f)),
        _ => Err(format!("'{s}' is not a speed (a positive number, or max)")),
    }
}

/// Paces output by stream time, and knows when to stop.
pub struct Pacer {
    pub speed: Speed,
    /// (stream time, wall instant) of the first post.
    origin: Option<(Millis, Instant)>,
    stop: Stop,
    /// Posts written so far (for `--limit`).
    pub written: u64,
}

impl Pacer {
    pub fn new(speed: Speed, stop: Stop) -> Pacer {
        Pacer {
            speed,
            origin: None,
            stop,
            written: 0,
        }
    }

    /// When a post of stream time `t` is due; `None` when unpaced or before the first.
    fn due(&self, t: Option<Millis>) -> Option<Instant> {
        match (self.speed, t, self.origin) {
            (Speed::Factor(f), Some(t), Some((t0, w0))) => {
                Some(w0 + Duration::from_secs_f64(((t - t0).max(0) as f64 / 1000.0) / f))
            }
            _ => None,
        }
    }

    /// How long until a post of stream time `t` is due (zero when unpaced or late).
    pub fn due_in(&self, t: Option<Millis>) -> Duration {
        self.due(t).map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(Instant::now())
        })
    }

    /// Waits until a post of stream time `t` is due, flushing `out` before any pause.
    /// Returns false when the run should stop (limit, duration, signal).
    pub fn wait<W: std::io::Write>(
        &mut self,
        t: Option<Millis>,
        out: &mut Output<W>,
    ) -> Result<bool> {
        if self.stop.now(self.written) {
            return Ok(false);
        }
        if let (Speed::Factor(_), Some(t)) = (self.speed, t) {
            self.origin.get_or_insert((t, Instant::now()));
        }
        let Some(due) = self.due(t) else {
            return Ok(true);
        };
        if Instant::now() < due {
            out.flush()?;
        }
        Ok(self.stop.sleep_until(due, self.written))
    }
}
