//! Named fault points for crash and error tests.
//!
//! `TT_FAULT=crash@state.before_rename` aborts the process at that point, as `kill -9` or a
//! power cut would; `TT_FAULT=enospc@state.write` and `eio@state.fsync` make that step fail
//! with the OS error. Several can be given, separated by commas. The variable is read once;
//! when it is unset each point costs one load of a cached `None`.

use std::io;
use std::sync::OnceLock;

fn faults() -> &'static Option<Vec<(String, String)>> {
    static F: OnceLock<Option<Vec<(String, String)>>> = OnceLock::new();
    F.get_or_init(|| {
        let v = std::env::var("TT_FAULT").ok()?;
        Some(
            v.split(',')
                .filter_map(|f| f.split_once('@'))
                .map(|(what, at)| (what.trim().to_owned(), at.trim().to_owned()))
                .collect(),
        )
    })
}

/// A point where the process may be made to crash.
pub fn crash_point(name: &str) {
    if let Some(fs) = faults() {
        if fs.iter().any(|(what, at)| what == "crash" && at == name) {
            std::process::abort();
        }
    }
}

/// A point where an I/O step may be made to fail.
pub fn io_point(name: &str) -> io::Result<()> {
    if let Some(fs) = faults() {
        for (what, at) in fs {
            if at != name {
                continue;
            }
            match what.as_str() {
                "enospc" => return Err(io::Error::from_raw_os_error(28)),
                "eio" => return Err(io::Error::from_raw_os_error(5)),
                "crash" => std::process::abort(),
                _ => {}
            }
        }
    }
    Ok(())
}
