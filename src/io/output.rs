//! Block-buffered output, with a closed pipe mapped to a quiet exit.

use std::io::{self, BufWriter, Write};

use crate::error::{Error, Kind, Result};

/// Output buffer size.
const WRITE_BUF: usize = 64 * 1024;

/// Block-buffered output with a closed pipe mapped to [`Kind::PipeClosed`].
pub struct Output<W: Write> {
    w: BufWriter<W>,
}

/// Stdout, locked once for the whole run.
pub fn stdout() -> Output<io::StdoutLock<'static>> {
    grow_pipe(1);
    Output::new(io::stdout().lock())
}

/// When `fd` is a pipe, asks for a 1 MiB buffer instead of Linux's 64 KiB: each 64 KiB
/// otherwise costs a wake-up of the reader and a sleep of the writer. Measured on 1 M text
/// lines in /dev/shm through `tt tags --input text | tt count | tt top 10`: median of 5
/// runs 1.12 s before, 0.88 s after. Both ends ask, stdout and stdin, since the program at
/// the other end may not (`zstd -dc MEMBERS | tt tags -`: BENCHMARKS.md, "Standard input").
/// The buffer only bounds what the writer may run ahead: a line is read as soon as it is
/// written, whatever its size.
/// Best effort: an unprivileged process may be refused beyond
/// /proc/sys/fs/pipe-max-size, and then the pipe keeps its size.
#[cfg(target_os = "linux")]
pub fn grow_pipe(fd: i32) {
    // SAFETY: fstat and fcntl on a descriptor number only read or set kernel state; a
    // closed or non-pipe descriptor makes them fail, which is ignored.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO {
            libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn grow_pipe(_fd: i32) {}

impl<W: Write> Output<W> {
    pub fn new(w: W) -> Self {
        Output {
            w: BufWriter::with_capacity(WRITE_BUF, w),
        }
    }

    /// Unbuffered: for a writer that is a buffer itself (a `Vec`), where a second buffer
    /// would only copy every byte once more.
    pub fn unbuffered(w: W) -> Self {
        Output {
            w: BufWriter::with_capacity(0, w),
        }
    }

    /// The raw writer, for serializers; map their errors with [`write_error`].
    pub fn writer(&mut self) -> &mut BufWriter<W> {
        &mut self.w
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.w.write_all(bytes).map_err(write_error)
    }

    pub fn flush(&mut self) -> Result<()> {
        self.w.flush().map_err(write_error)
    }

    pub fn into_inner(self) -> Result<W> {
        self.w.into_inner().map_err(|e| write_error(e.into_error()))
    }
}

/// The error for a failed write to stdout.
pub fn write_error(e: io::Error) -> Error {
    Error::io("cannot write to standard output", e)
}

/// A CSV writer's error: a closed or failing stdout as [`write_error`] says it, anything
/// else as the csv crate says it.
pub fn csv_error(e: csv::Error) -> Error {
    let msg = format!("cannot write CSV: {e}");
    match e.into_kind() {
        csv::ErrorKind::Io(io) => write_error(io),
        _ => Error::new(Kind::Failure, msg),
    }
}
