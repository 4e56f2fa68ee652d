//! `tt count`'s memory and state size over a long run: a day of stream time at 6,000 posts
//! a second (the X firehose's average), counted at full speed.
//!
//! The stream is the simulator's (`tt::sim`) with its growing vocabulary (Heaps' law fitted
//! to the 2014 stream capture) and the capture's 0.297 tags per post, generated here and
//! written to `tt count --time event --batch 2s --state` as one partial batch per slot (what
//! `tt combine` writes: counted exactly as the uses it aggregates, at a fraction of the
//! parsing). Every hour of stream time it samples `tt count`'s resident memory (VmRSS),
//! its peak (VmHWM), the snapshot's size and the tags held (the `tags` of the hour's line).
//!
//!     cargo bench --bench memory -- window      # --window 1h
//!     cargo bench --bench memory -- decay       # --half-life 1h
//!     cargo bench --bench memory -- max-tags    # --max-tags 1000000
//!     cargo bench --bench memory -- all-time    # exact all-time counts
//!
//! Options after the mode: `--hours H` (24), `--rate N` (6000), `--stop-rss-mib M` (8192:
//! all-time counts grow until they reach it). `scripts/bench-memory.sh` runs all four.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tt::sim::{Sim, CAPTURE_TAGS_PER_POST};

const BATCH_MS: i64 = 2000;
const START_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

mod common;

fn proc_kib(pid: u32, key: &str) -> u64 {
    common::proc_kib(&format!("/proc/{pid}/status"), key)
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: cannot read {v}"))
        })
        .unwrap_or(default)
}

/// One sample: stream hour, tags held, vocabulary so far, RSS, peak RSS, snapshot (MiB).
type Row = (f64, u64, u64, f64, f64, f64);

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mode: &'static str = match args.first().map(String::as_str).unwrap_or("window") {
        "window" => "window",
        "decay" => "decay",
        "max-tags" => "max-tags",
        "all-time" => "all-time",
        other => panic!("mode {other}: window, decay, max-tags or all-time"),
    };
    let hours: f64 = arg(&args, "--hours", 24.0);
    let rate: f64 = arg(&args, "--rate", 6000.0);
    let stop_rss_mib: f64 = arg(&args, "--stop-rss-mib", 8192.0);
    let counting: &[&str] = match mode {
        "window" => &["--window", "1h"],
        "decay" => &["--half-life", "1h"],
        "max-tags" => &["--max-tags", "1000000"],
        _ => &[],
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let state = dir.path().join("s.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tt"))
        .args(["count", "-q", "--time", "event", "--batch", "2s"])
        .args(counting)
        .arg("--state")
        .arg(&state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("tt count starts");
    let pid = child.id();
    let per_hour = 3_600_000 / BATCH_MS as u64;
    let vocab_at: Arc<Mutex<Vec<u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let out = child.stdout.take().expect("piped");
        let (vocab_at, stop, state) = (vocab_at.clone(), stop.clone(), state.clone());
        std::thread::spawn(move || {
            let mut rows: Vec<Row> = Vec::new();
            for line in BufReader::with_capacity(1 << 20, out).lines() {
                let line = line.expect("tt count's output");
                // {"batch":N,"end":...,"posts":P,"tags":T,...}: no need to parse the counts.
                let field = |name: &str| -> u64 {
                    let at = line.find(name).expect("the field") + name.len();
                    line[at..]
                        .split(|c: char| !c.is_ascii_digit())
                        .next()
                        .and_then(|v| v.parse().ok())
                        .expect("a number")
                };
                let batch = field("\"batch\":");
                if batch % (per_hour / 2) == 0 {
                    let hour = batch as f64 / per_hour as f64;
                    let rss = proc_kib(pid, "VmRSS:") as f64 / 1024.0;
                    let peak = proc_kib(pid, "VmHWM:") as f64 / 1024.0;
                    let snap = std::fs::metadata(&state).map_or(0, |m| m.len()) as f64 / 1048576.0;
                    let vocab = vocab_at
                        .lock()
                        .unwrap()
                        .get((batch / (per_hour / 2)) as usize - 1)
                        .copied()
                        .unwrap_or(0);
                    rows.push((hour, field("\"tags\":"), vocab, rss, peak, snap));
                    eprintln!(
                        "memory {mode}: {hour:.1} h of stream, {} tags held, RSS {rss:.0} MiB",
                        field("\"tags\":")
                    );
                    if rss > stop_rss_mib {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
            rows
        })
    };
    let mut sim = Sim::new(
        tt::sim::Config {
            seed: 1,
            rate,
            tags: 5000,
            burst_every: 600.0,
            burst_len: 300.0,
            growth: Some(tt::sim::CAPTURE_FIT),
        },
        START_MS,
    );
    let mut stdin = std::io::BufWriter::with_capacity(1 << 20, child.stdin.take().expect("piped"));
    let slots = (hours * 3600.0 * 1000.0 / BATCH_MS as f64) as i64;
    let started = std::time::Instant::now();
    let mut tags = Vec::new();
    let mut agg: std::collections::BTreeMap<(String, String), u64> = Default::default();
    let mut line = Vec::with_capacity(1 << 20);
    for i in 0..slots {
        if stop.load(Ordering::Relaxed) {
            eprintln!("memory {mode}: RSS passed {stop_rss_mib} MiB: stopped");
            break;
        }
        let slot = START_MS / BATCH_MS + i;
        let mut posts = 0u64;
        agg.clear();
        while sim.next_time() < (slot + 1) * BATCH_MS {
            let t = sim.next_time();
            sim.next_tags(t, CAPTURE_TAGS_PER_POST, &mut tags);
            posts += u64::from(!tags.is_empty());
            for text in tags.drain(..) {
                let key = tt::hashtag::key(&text).into_owned();
                *agg.entry((key, text)).or_insert(0) += 1;
            }
        }
        line.clear();
        let partial = tt::record::Partial {
            slot,
            batch_ms: BATCH_MS as u64,
            posts,
            uses: agg
                .iter()
                .map(|((k, t), n)| tt::record::SpellingUses::new(k.as_str(), t.as_str(), *n))
                .collect(),
            users: None,
        };
        serde_json::to_writer(&mut line, &partial).expect("to a Vec");
        line.push(b'\n');
        stdin.write_all(&line).expect("tt count reads");
        if (i + 1) % (per_hour as i64 / 2) == 0 {
            vocab_at.lock().unwrap().push(sim.vocabulary());
        }
    }
    drop(stdin);
    let status = child.wait().expect("tt count ends");
    assert!(status.success(), "tt count failed: {status}");
    let rows = reader.join().expect("the reader");
    println!(
        "tt count --time event --batch 2s {} at {rate} posts/s, {:.1} h of stream in {:.0} s",
        counting.join(" "),
        rows.last().map_or(0.0, |r| r.0),
        started.elapsed().as_secs_f64()
    );
    println!("| stream time | tags held | vocabulary | RSS MiB | peak RSS MiB | snapshot MiB |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for (hour, held, vocab, rss, peak, snap) in rows {
        println!("| {hour:.1} h | {held} | {vocab} | {rss:.0} | {peak:.0} | {snap:.0} |");
    }
}
