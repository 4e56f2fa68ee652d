//! `tt count`'s cost per batch against the size of its state.
//!
//! For each state size (distinct tags), builds a counter holding that many tags and a
//! state file for it, then applies and saves batches of 10,000 changed tags (random tags of
//! the state, plus a few new ones), as `tt count --state` does after every batch. Reports
//! the median and the worst of 20 batches for the apply and for the save (a save appends
//! the batch to the log and fsyncs it; now and then it rewrites the snapshot instead, which
//! is the worst case shown), and memory per distinct tag (RSS growth / tags).
//!
//! Run through `scripts/bench-count.sh`. Sizes can be given as arguments (default
//! `10000 1000000 10000000`).

use std::time::{Duration, Instant};

use tt::counter::{Batch, Config, Counter};
use tt::state::{InputPos, Store};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
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
    };
    println!("| distinct tags | tags per batch | update lines | apply, median | apply, worst | save, median | save, worst | snapshot MB | memory per tag |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for n in sizes {
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
                .map(|i| (tag(i), tag(i), 1 + i % 7))
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
        let (mut store, _) = Store::open(&path, &config, false, &mut |_| {}).unwrap();
        let pos = InputPos::default();
        store.compact(&c, &pos, "{}").unwrap();
        let snapshot_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
        let mut rng = 0x2545F4914F6CDD1Du64;
        let (mut apply, mut save, mut lines) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..20u64 {
            // Exactly 10,000 distinct tags: 1 % new, the rest spread over the state (a
            // stride through it from a random start).
            let start = {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % n
            };
            let stride = (n / 9_900).max(1) | 1;
            let mut uses: Vec<(String, String, u64)> = (0..10_000u64)
                .map(|j| {
                    let i = if j < 100 {
                        n + round * 100 + j
                    } else {
                        (start + (j - 100) * stride) % n
                    };
                    (tag(i), tag(i), 1 + (i ^ round) % 20)
                })
                .collect();
            uses.sort();
            uses.dedup_by(|a, b| a.0 == b.0);
            slot += 1;
            let b = Batch {
                batch: slot as u64,
                slot,
                end: slot * 2000,
                posts: 10_000,
                uses,
                users: Vec::new(),
            };
            let t = Instant::now();
            let update = c.apply(&b);
            apply.push(t.elapsed());
            lines.push(update.counts.len());
            let line = serde_json::to_string(&update).unwrap();
            let t = Instant::now();
            store.save(&c, &b, &pos, &line).unwrap();
            save.push(t.elapsed());
        }
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        lines.sort();
        println!(
            "| {n} | 10000 | {} | {} | {} | {} | {} | {snapshot_mb:.0} | {per_tag:.0} B |",
            lines[lines.len() / 2],
            ms(median(apply.clone())),
            ms(*apply.iter().max().unwrap()),
            ms(median(save.clone())),
            ms(*save.iter().max().unwrap()),
        );
    }
}
