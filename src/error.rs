//! One error type for every command, carrying its exit code.
//!
//! Exit codes follow sysexits(3), as DESIGN.md proposes, so scripts and cron jobs can tell
//! "bad data" from "the disk is full" from "try again later". The table lives here once and
//! is rendered into every man page's EXIT STATUS section (see `cli::exit_status_section`).
//!
//! A closed stdout (the reader went away, `tt tags | head -1`) is an error value too, so
//! that it unwinds through the normal `?` paths, but `main` turns it into a quiet exit 0.

use std::fmt;
use std::io;

/// What went wrong, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The reader of stdout went away: not a failure (exit 0, nothing printed).
    PipeClosed,
    /// Anything not covered below (exit 1).
    Failure,
    /// Bad flags or arguments (exit 2, as clap does).
    Usage,
    /// Bad input data with `--strict`, or a corrupt state file (exit 65, EX_DATAERR).
    Data,
    /// An input file could not be opened (exit 66, EX_NOINPUT).
    NoInput,
    /// A source stayed unavailable after the allowed retries (exit 69, EX_UNAVAILABLE).
    Unavailable,
    /// Reading or writing failed: disk full, I/O error (exit 74, EX_IOERR).
    Io,
    /// Temporary: e.g. the state file is locked by another run (exit 75, EX_TEMPFAIL).
    TempFail,
    /// Credentials refused (exit 77, EX_NOPERM).
    NoPerm,
    /// Missing or unsafe credentials, or a request the source rejects as malformed
    /// (exit 78, EX_CONFIG).
    Config,
    /// Stopped by SIGINT after a clean shutdown (exit 130, nothing printed).
    Interrupted,
    /// Stopped by SIGTERM after a clean shutdown (exit 143, nothing printed).
    Terminated,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::PipeClosed => 0,
            Kind::Failure => 1,
            Kind::Usage => 2,
            Kind::Data => 65,
            Kind::NoInput => 66,
            Kind::Unavailable => 69,
            Kind::Io => 74,
            Kind::TempFail => 75,
            Kind::NoPerm => 77,
            Kind::Config => 78,
            Kind::Interrupted => 130,
            Kind::Terminated => 143,
        }
    }
}

/// The exit codes and their meaning, for the man pages (single source of truth).
pub const EXIT_CODES: &[(i32, &str)] = &[
    (
        0,
        "Success. Also when the reader of standard output closed it early (e.g. `| head`).",
    ),
    (1, "A failure not covered below."),
    (
        2,
        "Usage error: an unknown flag or a bad value; nothing was read.",
    ),
    (
        65,
        "Bad input data with --strict, or a corrupt or foreign state file.",
    ),
    (66, "An input file could not be opened."),
    (69, "A source stayed unavailable after the allowed retries."),
    (
        74,
        "An I/O error while reading or writing (for example, no space left on device).",
    ),
    (
        75,
        "Temporary failure: the state file is locked by another run.",
    ),
    (
        77,
        "Credentials were refused by the source (HTTP 401 or 403); not retried.",
    ),
    (
        78,
        "Configuration error: missing credentials, a credentials file others can read, or a request the source rejects as malformed (HTTP 400, 404, 406, 413, 416).",
    ),
    (
        130,
        "Interrupted by SIGINT after a clean shutdown (128 + 2).",
    ),
    (
        143,
        "Terminated by SIGTERM after a clean shutdown (128 + 15).",
    ),
];

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub msg: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, msg: impl Into<String>) -> Error {
        Error {
            kind,
            msg: msg.into(),
        }
    }

    pub fn usage(msg: impl Into<String>) -> Error {
        Error::new(Kind::Usage, msg)
    }

    pub fn data(msg: impl Into<String>) -> Error {
        Error::new(Kind::Data, msg)
    }

    /// An I/O error with what we were doing and on what (`reading input.ndjson`).
    pub fn io(what: impl fmt::Display, err: io::Error) -> Error {
        if err.kind() == io::ErrorKind::BrokenPipe {
            return Error::new(Kind::PipeClosed, "");
        }
        Error::new(Kind::Io, format!("{what}: {err}"))
    }

    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}
