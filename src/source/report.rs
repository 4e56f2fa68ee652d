//! What a source tells people on stderr: notes that do not garble the progress line, and
//! the progress line itself (posts/s, reconnects, missed posts) when stderr is a terminal.

use std::fmt;
use std::io::Write;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// stderr for a source: messages that do not garble the progress line, and the counts it
/// shows (posts/s, reconnects, missed posts).
pub struct Reporter {
    pub(super) source: &'static str,
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
        let line = crate::error::without_os_code(&line);
        // Not eprintln!, which panics when stderr is a closed pipe.
        let say = || writeln!(std::io::stderr().lock(), "{line}");
        self.bar.suspend(say).ok();
    }

    pub(super) fn tick(&mut self) {
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
