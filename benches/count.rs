//! `tt count`'s cost per batch against the size of its state.
//!
//! For each state size (distinct tags), builds a counter holding that many tags and a
//! state file for it, then applies and saves batches of 10,000 changed tags (random tags of
//! the state, plus a few new ones), as `tt count --state` does after every batch. Reports
//! the median and the worst of 41 batches for the apply and for the save (a save appends
//! the batch to the log and fsyncs it; now and then it rewrites the snapshot instead, which
//! is the worst case shown), the median apply against the smallest state's, and memory per
//! distinct tag (RSS growth / tags). The sizes take their rounds in turn. With each table
//! it prints the latency of one unhidden memory access at that moment (a pointer chase),
//! by which a run on a busy machine can be told from a slower program.
//!
//! Run through `scripts/bench-count.sh`. Sizes can be given as arguments (default
//! `10000 1000000 10000000`).

use std::time::{Duration, Instant};

use tt::counter::{Config, Counter};
use tt::record::{Batch, SpellingUses};
use tt::state::{InputPos, Store};

mod common;

/// The value in KiB of `key` (e.g. `VmRSS:`) in a `/proc/self` file, or 0.
fn proc_kib(file: &str, key: &str) -> u64 {
    common::proc_kib(&format!("/proc/self/{file}"), key)
}

fn rss_kib() -> u64 {
    proc_kib("status", "VmRSS:")
}

/// `AnonHugePages` and `Rss` of this process, in MB: how much of the states the kernel put
/// on 2 MiB pages, which decides the cost of reaching a record in a large table (see the
/// README); it gives them when it has them, silently falls back to 4 KiB pages when not.
fn huge_pages_mb() -> (u64, u64) {
    (
        proc_kib("smaps_rollup", "AnonHugePages:") / 1024,
        proc_kib("smaps_rollup", "Rss:") / 1024,
    )
}

/// A pointer chase through 128 MiB in one random cycle, on huge pages where the kernel
/// gives them: [`Chase::ns`] times a dependent memory access that nothing hides, on the
/// machine as it is at that moment. On this shared virtual machine it moves from run to
/// run, and a batch in the 10-million-tag state waits on memory while one in the
/// 10-thousand-tag state runs in cache, so the ratio between them moves with it: printed
/// with each table, it tells a run on a busy machine from a change in the code.
struct Chase(Vec<u32>);

impl Chase {
    fn new() -> Chase {
        const N: usize = 32 << 20;
        let mut next: Vec<u32> = Vec::with_capacity(N);
        tt::counter::advise_huge_pages(&next);
        next.extend(0..N as u32);
        // Sattolo's shuffle: a single cycle through every entry.
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        for i in (1..N).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            next.swap(i, (rng % i as u64) as usize);
        }
        Chase(next)
    }

    /// Median of 5 walks of 100,000 steps, in ns per step.
    fn ns(&self) -> f64 {
        let mut p = 0u32;
        let mut walks: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..100_000 {
                    p = self.0[p as usize];
                }
                t.elapsed().as_secs_f64() * 1e9 / 100_000.0
            })
            .collect();
        std::hint::black_box(p);
        walks.sort_by(f64::total_cmp);
        walks[2]
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn tag(i: u64) -> String {
    format!("tag{i:08x}")
}

fn main() {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 1_000_000, 10_000_000]
    } else {
        sizes
    };
    let config = Config {
        batch_ms: Some(2000),
        event_time: true,
        window: None,
        half_life: None,
        baseline: 300.0,
        min_support: 5,
        distinct_users: false,
        max_tags: None,
    };
    // Every state is built first, then the rounds go through the sizes in turn, so that
    // the machine's drifting load (it is shared) hits every size alike and the ratios
    // between them hold even when the absolute times move.
    let mut states: Vec<State> = sizes.iter().map(|&n| State::build(n, &config)).collect();
    let chase = Chase::new();
    println!(
        "memory latency probe (dependent reads over 128 MiB): {:.0} ns before the batches",
        chase.ns()
    );
    let mut rng = 0x2545F4914F6CDD1Du64;
    // Two workloads, one after the other on the same states:
    // 1. 10,000 changed tags, each used 1-4 times (below the minimum support of 5, so no
    //    trend starts or ends): exactly 10,000 changes per batch, at every size;
    // 2. the same with 1-20 uses: trends start, and the previous batch's trends that are
    //    not used again fall back to 0, which are changes too (about 5,000 more lines in
    //    a large state, where the tags of one batch are rarely those of the next).
    for (what, max_uses) in [
        ("10,000 changes, no trend starts or ends", 4),
        ("10,000 tags used, trends starting and ending", 20),
    ] {
        for s in &mut states {
            s.apply.clear();
            s.save.clear();
            s.lines.clear();
        }
        for round in 0..ROUNDS {
            for s in &mut states {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                s.round(round, rng, max_uses);
            }
        }
        let (huge, rss) = huge_pages_mb();
        println!();
        println!(
            "{what} (on huge pages: {huge} of {rss} MB resident; memory latency probe \
             after: {:.0} ns):",
            chase.ns()
        );
        println!();
        report(&mut states);
    }
}

fn report(states: &mut [State]) {
    println!("| distinct tags | tags per batch | update lines | apply, median | apply, worst | apply vs smallest | save, median | save, worst | snapshot MB | memory per tag |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let base = median(states[0].apply.clone());
    for s in states {
        s.lines.sort();
        let apply = median(s.apply.clone());
        println!(
            "| {} | 10000 | {} | {} | {} | {:.2}x | {} | {} | {:.0} | {:.0} B |",
            s.n,
            s.lines[s.lines.len() / 2],
            ms(apply),
            ms(*s.apply.iter().max().unwrap()),
            apply.as_secs_f64() / base.as_secs_f64(),
            ms(median(s.save.clone())),
            ms(*s.save.iter().max().unwrap()),
            s.snapshot_mb,
            s.per_tag,
        );
    }
}

const ROUNDS: u64 = 41;

/// One state size: its counter, its state file, and what its rounds measured.
struct State {
    n: u64,
    c: Counter,
    store: Store,
    _dir: tempfile::TempDir,
    slot: i64,
    snapshot_mb: f64,
    per_tag: f64,
    apply: Vec<Duration>,
    save: Vec<Duration>,
    lines: Vec<usize>,
}

impl State {
    fn build(n: u64, config: &Config) -> State {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let rss0 = rss_kib();
        let mut c = Counter::new(config.clone());
        // Build the state in batches of up to 1M new tags.
        let mut slot = 0i64;
        let mut made = 0u64;
        while made < n {
            let k = (n - made).min(1_000_000);
            let uses = (made..made + k)
                .map(|i| SpellingUses::new(tag(i), tag(i), 1 + i % 7))
                .collect();
            slot += 1;
            c.apply(&Batch {
                batch: slot as u64,
                slot,
                end: slot * 2000,
                posts: k,
                uses,
                users: Vec::new(),
            });
            made += k;
        }
        let per_tag = (rss_kib().saturating_sub(rss0)) as f64 * 1024.0 / n as f64;
        let (mut store, _) = Store::open(&path, config, false, &mut |_| {}).unwrap();
        store.compact(&mut c, &InputPos::default(), "{}").unwrap();
        let snapshot_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
        State {
            n,
            c,
            store,
            _dir: dir,
            slot,
            snapshot_mb,
            per_tag,
            apply: Vec::new(),
            save: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// One batch of exactly 10,000 distinct tags: 1 % new (numbered from the slot, so
    /// never seen before), the rest spread over the state
    /// (a stride through it from a random start); applied, then saved.
    fn round(&mut self, round: u64, rng: u64, max_uses: u64) {
        let n = self.n;
        let start = rng % n;
        let stride = (n / 9_900).max(1) | 1;
        let mut uses: Vec<SpellingUses> = (0..10_000u64)
            .map(|j| {
                let i = if j < 100 {
                    n + self.slot as u64 * 100 + j
                } else {
                    (start + (j - 100) * stride) % n
                };
                SpellingUses::new(tag(i), tag(i), 1 + (i ^ round) % max_uses)
            })
            .collect();
        uses.sort();
        uses.dedup_by(|a, b| a.key == b.key);
        self.slot += 1;
        let b = Batch {
            batch: self.slot as u64,
            slot: self.slot,
            end: self.slot * 2000,
            posts: 10_000,
            uses,
            users: Vec::new(),
        };
        let t = Instant::now();
        let update = self.c.apply(&b);
        self.apply.push(t.elapsed());
        self.lines.push(update.counts.len());
        let line = serde_json::to_string(&update).unwrap();
        let t = Instant::now();
        self.store
            .save(&mut self.c, &b, &InputPos::default(), &line)
            .unwrap();
        self.save.push(t.elapsed());
    }
}
