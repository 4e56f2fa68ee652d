//! One error type for every command, carrying its exit code.
//!
//! Exit codes follow sysexits(3), as DESIGN.md proposes, so scripts and cron jobs can tell
//! "bad data" from "the disk is full" from "try again later". The table lives here once and
//! is rendered into every man page's EXIT STATUS section (see `cmd::man::exit_status_section`).
//!
//! A closed stdout (the reader went away, `tt tags | head -1`) is an error value too, so
//! that it unwinds through the normal `?` paths, but `main` turns it into a quiet exit 0.

use std::fmt;
use std::io;

/// What went wrong, which decides the exit code: see [`EXIT_CODES`] for each kind's code
/// (sysexits(3) names: 65 EX_DATAERR, 66 EX_NOINPUT, 69 EX_UNAVAILABLE, 74 EX_IOERR,
/// 75 EX_TEMPFAIL, 77 EX_NOPERM, 78 EX_CONFIG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The reader of stdout went away: not a failure (nothing printed).
    PipeClosed,
    /// Anything not covered below.
    Failure,
    /// Bad flags or arguments.
    Usage,
    /// Bad input data with `--strict`, or a corrupt state file.
    Data,
    /// An input file could not be opened.
    NoInput,
    /// A source stayed unavailable after the allowed retries or through all of --duration.
    Unavailable,
    /// Reading or writing failed: disk full, I/O error.
    Io,
    /// Temporary: e.g. the state file is locked by another run.
    TempFail,
    /// Credentials refused.
    NoPerm,
    /// Missing or unsafe credentials, or a request the source rejects as malformed.
    Config,
    /// Stopped by SIGINT after a clean shutdown (nothing printed).
    Interrupted,
    /// Stopped by SIGTERM after a clean shutdown (nothing printed).
    Terminated,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        EXIT_CODES
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or(1, |&(_, code, _)| code)
    }
}

/// Every kind with its exit code and what it means: the one table behind
/// [`Kind::exit_code`] and every man page's EXIT STATUS section.
pub const EXIT_CODES: &[(Kind, i32, &str)] = &[
    (
        Kind::PipeClosed,
        0,
        "Success. Also when the reader of standard output closed it early (e.g. `| head`).",
    ),
    (
        Kind::Failure,
        1,
        "A failure not covered below.",
    ),
    (
        Kind::Usage,
        2,
        "Usage error: an unknown flag or a bad value; nothing was read.",
    ),
    (
        Kind::Data,
        65,
        "Bad input data with --strict; a compressed input, archive or archive member that is damaged (truncated or corrupt) or not what its name says, or in a format tt does not read (lz4, 7-Zip, ...) or binary (tt tags says each, reads what comes before the damage and the other inputs, and exits 65 at the end); or a corrupt or foreign state file.",
    ),
    (
        Kind::NoInput,
        66,
        "An input file or state file could not be opened: missing, unreadable, or a directory; an archive (.tar, .zip) given to a command other than tt tags; or a Kafka topic does not exist.",
    ),
    (
        Kind::Unavailable,
        69,
        "A source stayed unavailable after the allowed retries or through all of --duration, no Kafka broker answered within 30 s of a reader starting or confirmed a message within --delivery-timeout, or tt serve cannot listen on its address (in use).",
    ),
    (
        Kind::Io,
        74,
        "An I/O error while reading or writing (for example, no space left on device).",
    ),
    (
        Kind::TempFail,
        75,
        "Temporary failure: the state file is locked by another run.",
    ),
    (
        Kind::NoPerm,
        77,
        "Credentials were refused by the source (HTTP 401 or 403) or by the Kafka brokers; not retried.",
    ),
    (
        Kind::Config,
        78,
        "Configuration error: missing credentials, a credentials file others can read, or a request the source rejects as malformed (HTTP 400, 404, 406, 413, 416).",
    ),
    (
        Kind::Interrupted,
        130,
        "Interrupted by SIGINT after a clean shutdown (128 + 2).",
    ),
    (
        Kind::Terminated,
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

/// `msg` without the " (os error N)" that Rust's I/O errors append to the system's
/// words: tt says "cannot open x.json: No such file or directory" as cat and grep do.
/// Done where messages are written, so that it holds for every error however it was
/// formatted on its way up.
pub fn without_os_code(msg: &str) -> String {
    const CODE: &str = " (os error ";
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(CODE) {
        let after = &rest[i + CODE.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let code = digits > 0 && after[digits..].starts_with(')');
        let kept = if code { i } else { i + CODE.len() };
        out.push_str(&rest[..kept]);
        rest = &rest[i + CODE.len() + if code { digits + 1 } else { 0 }..];
    }
    out.push_str(rest);
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind, by a match that stops compiling when a kind is added.
    fn all_kinds() -> Vec<Kind> {
        let all = [
            Kind::PipeClosed,
            Kind::Failure,
            Kind::Usage,
            Kind::Data,
            Kind::NoInput,
            Kind::Unavailable,
            Kind::Io,
            Kind::TempFail,
            Kind::NoPerm,
            Kind::Config,
            Kind::Interrupted,
            Kind::Terminated,
        ];
        for k in all {
            match k {
                Kind::PipeClosed
                | Kind::Failure
                | Kind::Usage
                | Kind::Data
                | Kind::NoInput
                | Kind::Unavailable
                | Kind::Io
                | Kind::TempFail
                | Kind::NoPerm
                | Kind::Config
                | Kind::Interrupted
                | Kind::Terminated => {}
            }
        }
        all.to_vec()
    }

    #[test]
    fn messages_lose_the_os_error_code() {
        let cases = [
            (
                "cannot open x: No such file or directory (os error 2)",
                "cannot open x: No such file or directory",
            ),
            ("a (os error 13); reading on (os error 5)", "a; reading on"),
            ("nothing to drop", "nothing to drop"),
            ("not a code (os error x)", "not a code (os error x)"),
            ("no digits (os error )", "no digits (os error )"),
            ("cut (os error 2", "cut (os error 2"),
        ];
        for (msg, want) in cases {
            assert_eq!(without_os_code(msg), want, "{msg}");
        }
    }

    #[test]
    fn every_kind_has_one_row_and_codes_are_distinct() {
        for k in all_kinds() {
            assert_eq!(EXIT_CODES.iter().filter(|r| r.0 == k).count(), 1, "{k:?}");
        }
        let mut codes: Vec<i32> = EXIT_CODES.iter().map(|r| r.1).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), EXIT_CODES.len());
    }
}
