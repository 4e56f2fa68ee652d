//! Throughput of `tt tags` against the parsing limit, on files given on the command line.
//!
//! Run through `scripts/bench-tags.sh`, which builds the inputs and pins this to one core.
//! For each file, with the whole file in memory (so disk and page cache are out of it):
//!
//! * `serde_json IgnoredAny`: every line checked as UTF-8 once, then parsed by serde_json
//!   (`from_str`) into `IgnoredAny`, which validates the JSON and builds nothing: the limit
//!   for reading lines this way, which is how `tt` reads them. (`from_slice` is slower,
//!   it re-checks UTF-8 inside every string: 466 against 1013 MB/s on the captures.)
//! * `tt tags (in-process)`: the `tags` command's streaming core, output to a sink;
//!
//! and end to end, `tt tags FILE > /dev/null` as a user runs it (release binary).
//! Each figure is the median of `RUNS` runs, the three interleaved run by run.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;
use tt::tagger::{Plan, Tagger};

const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// Lines split with memchr, as `tt` splits them: a byte-at-a-time `split` took a third of
/// this pass's instructions (30 M of 91 M on 5 MB of captures), which made the limit look
/// lower than it is.
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', data)
        .chain(std::iter::once(data.len()))
        .map(move |end| {
            let line = &data[start.min(end)..end];
            start = end + 1;
            line
        })
}

fn ignored_any_pass(data: &[u8]) -> usize {
    let mut ok = 0;
    for line in lines(data) {
        let Ok(s) = std::str::from_utf8(line) else {
            continue;
        };
        if !s.is_empty() && serde_json::from_str::<IgnoredAny>(s).is_ok() {
            ok += 1;
        }
    }
    ok
}

fn tags_in_process(data: &[u8]) {
    let plan = Plan {
        quiet: true,
        ..Plan::default()
    };
    let mut diag = tt::io::Diag::new("tags", true, false);
    let mut t = Tagger::new(&plan, tt::io::Output::new(std::io::sink()));
    t.process(data, "<bench>", &mut diag).unwrap();
    t.into_output().unwrap();
}

/// Posts (tweets) in the file, as tt counts them.
fn count_posts(data: &[u8]) -> usize {
    let mut n = 0;
    for line in lines(data) {
        let Ok(s) = std::str::from_utf8(line) else {
            continue;
        };
        if let Ok(tt::post::LineKind::Posts(k)) = tt::post::parse::<()>(s, &mut |_| Ok(())) {
            n += k;
        }
    }
    n
}

fn cli(path: &Path) {
    let exe = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/tt");
    assert!(
        exe.exists(),
        "build the release binary first (cargo build --release)"
    );
    let st = Command::new(&exe)
        .args(["tags", "--quiet"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
}

fn main() {
    let files: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    assert!(
        !files.is_empty(),
        "usage: cargo bench --bench tags -- FILE..."
    );
    // `TT_BENCH_ONE=limit|tags`: one pass of one side over the first file and nothing else,
    // for instruction counts under callgrind (repeatable where wall time is noisy).
    if let Ok(which) = std::env::var("TT_BENCH_ONE") {
        let data = std::fs::read(&files[0]).unwrap();
        match which.as_str() {
            "limit" => {
                std::hint::black_box(ignored_any_pass(&data));
            }
            _ => tags_in_process(&data),
        }
        return;
    }
    println!("| input | MB | tweets | what | MB/s | tweets/s | vs limit |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for f in files {
        let path = Path::new(&f);
        let mut data = Vec::new();
        std::fs::File::open(path)
            .unwrap()
            .read_to_end(&mut data)
            .unwrap();
        let mb = data.len() as f64 / 1e6;
        let tweets = count_posts(&data);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Interleaved, run by run, so that the machine's drifting load hits all alike.
        let mut times: [Vec<Duration>; 3] = Default::default();
        for run in 0..=RUNS {
            let t = [
                timed(|| {
                    std::hint::black_box(ignored_any_pass(&data));
                }),
                timed(|| tags_in_process(&data)),
                timed(|| cli(path)),
            ];
            if run > 0 {
                // run 0 warms caches up
                for (v, d) in times.iter_mut().zip(t) {
                    v.push(d);
                }
            }
        }
        let [base, inproc, e2e] = times.map(median);
        for (what, d) in [
            ("serde_json IgnoredAny (the limit)", base),
            ("tt tags (in-process)", inproc),
            ("tt tags FILE > /dev/null", e2e),
        ] {
            let s = d.as_secs_f64();
            println!(
                "| {name} | {mb:.0} | {tweets} | {what} | {:.0} | {:.0} | {:.0} % |",
                mb / s,
                tweets as f64 / s,
                100.0 * base.as_secs_f64() / s
            );
        }
    }
}
