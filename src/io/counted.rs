//! The bytes read from input files so far, for the progress line: every input file is
//! opened here and counted as it is read.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::{Error, Kind, Result};

/// Bytes read from input files so far by this process, for the progress line of a long
/// run ([`input_bytes`](super::input_bytes) is the whole).
pub(super) static FILE_BYTES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many bytes of input files this process has read so far.
pub fn file_bytes_read() -> u64 {
    FILE_BYTES.load(std::sync::atomic::Ordering::Relaxed)
}

pub(super) fn count_read(n: u64) {
    FILE_BYTES.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
}

/// An input file (or stdin) whose reads are counted in [`file_bytes_read`].
pub(super) struct Counted<R>(pub(super) R);

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        count_read(n as u64);
        Ok(n)
    }
}

impl<R: io::Seek> io::Seek for Counted<R> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        self.0.seek(to)
    }
}

/// Opens an input file (its reads counted), or says which cannot be opened (exit 66).
pub(super) fn open_file(path: &Path, name: &str) -> Result<Counted<File>> {
    File::open(path)
        .map(Counted)
        .map_err(|e| Error::new(Kind::NoInput, format!("cannot open {name}: {e}")))
}
