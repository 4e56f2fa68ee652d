//! Helpers shared by the benchmarks.

/// The value in KiB of `key` (e.g. `VmRSS:`) in a `/proc` file such as
/// `/proc/self/status`, or 0.
pub fn proc_kib(path: &str, key: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
