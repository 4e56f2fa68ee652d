//! People-facing messages on stderr (`tt <command>: ...`), bad-line counting and the
//! end-of-run summary.

use std::io::{self, Write};

use crate::error::{Error, Result};

/// Says `tt CMD: msg` on stderr, above the progress line if one is drawn. Never panics:
/// `eprintln!` does when stderr is a closed pipe (`tt fetch ... 2>&1 | head -1`), and
/// there is nobody to tell then anyway.
pub fn say(cmd: &str, msg: impl std::fmt::Display) {
    let line = format!("tt {cmd}: {msg}");
    let line = crate::error::without_os_code(&line);
    crate::progress::suspend(|| writeln!(io::stderr().lock(), "{line}")).ok();
}

/// People-facing messages on stderr, prefixed with `tt <command>:`.
pub struct Diag {
    cmd: &'static str,
    quiet: bool,
    strict: bool,
    /// A worker's Diag ([`Diag::recording`]): what it would say, kept in order to be said
    /// by the run's own Diag ([`Diag::replay`]), so that messages come in input order.
    recorded: Option<std::cell::RefCell<Vec<Said>>>,
    /// Lines skipped as bad (not JSON, not UTF-8, too long).
    pub bad_lines: u64,
    first_bad: Option<String>,
    /// The wrong-stage hint was given.
    hinted: bool,
}

/// What a recording [`Diag`] keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    Bad {
        input: String,
        lineno: u64,
        why: String,
    },
    Note(String),
    /// A note about one line.
    At(At),
    Hint(Option<(&'static str, &'static str)>, &'static str),
    /// A command's own running total, which its run adds up: (what, value, and the
    /// note about the line that started it, said when the total is the run's first).
    Tally(&'static str, u64, Option<At>),
}

/// A note about one line of an input, said as `input:lineno: msg`.
#[derive(Debug, Clone, PartialEq)]
pub struct At {
    pub input: String,
    pub lineno: u64,
    pub msg: String,
}

impl Said {
    /// Moves the line numbers of a note said about a part of an input whose lines were
    /// numbered from 1 by `lines`: the lines before the part.
    pub fn after(mut self, lines: u64) -> Said {
        match &mut self {
            Said::Bad { lineno, .. } | Said::At(At { lineno, .. }) => *lineno += lines,
            Said::Tally(_, _, Some(at)) => at.lineno += lines,
            Said::Note(_) | Said::Hint(..) | Said::Tally(_, _, None) => {}
        }
        self
    }
}

/// How many bad lines are reported one by one before only the summary counts them.
pub(super) const MAX_BAD_REPORTS: u64 = 20;

impl Diag {
    pub fn new(cmd: &'static str, quiet: bool, strict: bool) -> Diag {
        Diag {
            cmd,
            quiet,
            strict,
            bad_lines: 0,
            first_bad: None,
            hinted: false,
            recorded: None,
        }
    }

    /// A Diag that says nothing but keeps what it would say, for [`Diag::take_said`].
    pub fn recording(cmd: &'static str) -> Diag {
        Diag {
            recorded: Some(Default::default()),
            ..Diag::new(cmd, false, false)
        }
    }

    /// Keeps `said` when recording; false when this Diag speaks for itself.
    pub fn record(&self, said: Said) -> bool {
        match &self.recorded {
            Some(r) => {
                r.borrow_mut().push(said);
                true
            }
            None => false,
        }
    }

    /// Whether this Diag keeps what it would say ([`Diag::recording`]).
    pub fn is_recording(&self) -> bool {
        self.recorded.is_some()
    }

    /// What a recording Diag has kept since last asked.
    pub fn take_said(&mut self) -> Vec<Said> {
        self.recorded
            .as_mut()
            .map(|r| std::mem::take(r.get_mut()))
            .unwrap_or_default()
    }

    /// Says what a recording Diag kept, as if said here ([`Said::Tally`] is the caller's).
    pub fn replay(&mut self, said: Said) -> Result<()> {
        match said {
            Said::Bad { input, lineno, why } => self.bad_line(&input, lineno, why)?,
            Said::Note(msg) => self.note(msg),
            Said::At(at) => self.note_at(&at.input, at.lineno, at.msg),
            Said::Hint(looks_like, expected) => self.hint_wrong_stage(|| looks_like, expected),
            Said::Tally(..) => {}
        }
        Ok(())
    }

    /// A message for people, unless `--quiet`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if self.recorded.is_some() {
            self.record(Said::Note(msg.to_string()));
            return;
        }
        if !self.quiet {
            self.say(msg);
        }
    }

    /// A note about line `lineno` of `input`.
    pub fn note_at(&self, input: &str, lineno: u64, msg: impl std::fmt::Display) {
        if self.recorded.is_some() {
            let (input, msg) = (input.to_string(), msg.to_string());
            self.record(Said::At(At { input, lineno, msg }));
            return;
        }
        self.note(format!("{input}:{lineno}: {msg}"));
    }

    /// A message that `--quiet` does not silence.
    pub fn say(&self, msg: impl std::fmt::Display) {
        say(self.cmd, msg);
    }

    /// Reports a bad input line. With `--strict` this is the end: exit 65.
    pub fn bad_line(
        &mut self,
        input: &str,
        lineno: u64,
        why: impl std::fmt::Display,
    ) -> Result<()> {
        if self.recorded.is_some() {
            let (input, why) = (input.to_string(), why.to_string());
            self.record(Said::Bad { input, lineno, why });
            return Ok(());
        }
        let msg = format!("{input}:{lineno}: {why}");
        if self.strict {
            return Err(Error::data(format!("{msg} (stopping: --strict)")));
        }
        self.bad_lines += 1;
        if self.first_bad.is_none() {
            self.first_bad = Some(format!("{input}:{lineno}"));
        }
        if self.bad_lines <= MAX_BAD_REPORTS {
            self.note(format!("{msg}; skipped"));
            if self.bad_lines == MAX_BAD_REPORTS {
                self.note("further bad lines are counted but not reported one by one");
            }
        }
        Ok(())
    }

    /// Once per run: when a refused line is another stage's record (`looks_like`: what it
    /// looks like and the command that reads it, from `record::looks_like`), says so;
    /// `expected` is what this command reads.
    /// `looks_like` is asked only while the hint can still be given (it parses the line).
    pub fn hint_wrong_stage(
        &mut self,
        looks_like: impl FnOnce() -> Option<(&'static str, &'static str)>,
        expected: &'static str,
    ) {
        if self.hinted || (self.quiet && !self.is_recording()) {
            return;
        }
        let looks_like = looks_like();
        if self.is_recording() {
            // Once a worker has kept one, the run has said it by the time any later line
            // of this worker's is replayed.
            if looks_like.is_some() {
                self.hinted = true;
                self.record(Said::Hint(looks_like, expected));
            }
            return;
        }
        let Some((what, cmd)) = looks_like else {
            return;
        };
        let reader = cmd.strip_prefix("tt ").and_then(|c| c.split(' ').next());
        if reader == Some(self.cmd) {
            return;
        }
        self.hinted = true;
        self.note(format!(
            "this input looks like {what}, and tt {} reads {expected}: did you mean {cmd}?",
            self.cmd
        ));
    }

    /// The end-of-run summary of skipped lines, if any.
    pub fn summary(&self) {
        if let Some(first) = &self.first_bad {
            let n = self.bad_lines;
            let s = if n == 1 { "" } else { "s" };
            self.note(format!("{n} bad line{s} skipped (first at {first})"));
        }
    }
}
