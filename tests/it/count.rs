//! `tt count` and `tt top`: exact counts (checked against an independent count), windows,
//! event time, trend detection on planted bursts, and durable state under crashes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::Value;

use crate::harness::{
    count_state, data, fixture, kill_9_loop, lines_by_batch, ndjson, signal_when_caught, sim_uses,
    spawn_piped, state_board, stderr_of, tt, tt_path, wait_until_read, KillOnDrop,
};

/// Tag uses of a real fixture, as `tt tags` writes them.
fn uses_of(fixture_name: &str) -> Vec<u8> {
    let out = tt()
        .args(["tags", "--quiet"])
        .arg(data(fixture_name))
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// The independent count: tag -> uses, read straight from the tag-use records.
fn recount(uses: &[u8]) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    for r in ndjson(uses) {
        *m.entry(r["tag"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    m
}

/// The top `n` of a count table: count descending, then tag ascending.
fn top_n(m: &HashMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.iter().map(|(k, c)| (k.clone(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

fn board_of(leaderboard: &Value) -> Vec<(String, u64)> {
    leaderboard["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tag"].as_str().unwrap().to_string(),
                t["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `tt count ARGS | tt top 10` on `input`; the last leaderboard.
fn count_then_top(input: &[u8], args: &[&str]) -> Value {
    let counted = tt()
        .arg("count")
        .args(args)
        .write_stdin(input.to_vec())
        .output()
        .unwrap();
    assert!(counted.status.success(), "{}", stderr_of(&counted));
    let top = tt()
        .args(["top", "10"])
        .write_stdin(counted.stdout)
        .output()
        .unwrap();
    assert!(top.status.success(), "{}", stderr_of(&top));
    ndjson(&top.stdout).pop().expect("at least one leaderboard")
}

#[test]
fn pipeline_equals_an_independent_count() {
    let uses = uses_of("twitter-v1-rest_rtweet.ndjson.gz");
    let expected = top_n(&recount(&uses), 10);
    assert_eq!(expected.len(), 10);
    for args in [
        &[][..],
        &["--batch", "50ms"][..],
        &["--time", "event", "--batch", "1h"][..],
    ] {
        let last = count_then_top(&uses, args);
        assert_eq!(board_of(&last), expected, "tt count {args:?}");
    }
}

#[test]
fn a_restart_from_state_in_the_middle_counts_every_line_once() {
    let uses = uses_of("twitter-v1-rest_rtweet.ndjson.gz");
    let expected = top_n(&recount(&uses), 10);
    let dir = tempfile::tempdir().unwrap();
    let (input, state) = (dir.path().join("uses.ndjson"), dir.path().join("s.json"));
    let half = uses[..uses.len() / 2]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    std::fs::write(&input, &uses[..half]).unwrap();
    let first = count_state(&state).arg(&input).output().unwrap();
    assert!(first.status.success(), "{}", stderr_of(&first));
    // The file grows, as a saved stream does; the second run picks up where the first ended.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap()
        .write_all(&uses[half..])
        .unwrap();
    let second = count_state(&state).arg(&input).output().unwrap();
    assert!(second.status.success(), "{}", stderr_of(&second));
    let lines = ndjson(&second.stdout);
    assert_eq!(lines.len(), 2, "the last batch again, then the new one");
    assert_eq!(
        lines[0],
        ndjson(&first.stdout)[0],
        "the re-emitted batch is the same line"
    );
    assert_eq!(lines[1]["batch"], 2);
    let top = tt()
        .args(["top", "10", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(top.status.success(), "{}", stderr_of(&top));
    assert_eq!(board_of(&ndjson(&top.stdout)[0]), expected);
}

/// Random tag uses with event times: (tag, at in ms).
fn arb_uses() -> impl Strategy<Value = Vec<(u8, i64)>> {
    proptest::collection::vec((0u8..6, 0i64..20_000), 1..120).prop_map(|mut v| {
        v.sort_by_key(|u| u.1);
        v
    })
}

fn use_lines(uses: &[(u8, i64)]) -> String {
    uses.iter()
        .enumerate()
        .map(|(i, (t, at))| {
            let at = tt::time::format_rfc3339(1_700_000_000_000 + at);
            format!("{{\"tag\":\"t{t}\",\"text\":\"t{t}\",\"id\":\"{i}\",\"at\":\"{at}\",\"user\":\"u\",\"rt\":false}}\n")
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// At every batch, each windowed count equals a brute-force recount of the uses inside
    /// the window that ends with the batch.
    #[test]
    fn window_counts_equal_a_brute_force_recount(uses in arb_uses()) {
        let out = tt()
            .args(["count", "--time", "event", "--batch", "1s", "--window", "3s", "--lateness", "0s"])
            .write_stdin(use_lines(&uses))
            .output()
            .unwrap();
        prop_assert!(out.status.success(), "{}", stderr_of(&out));
        let mut table: HashMap<String, u64> = HashMap::new();
        for b in ndjson(&out.stdout) {
            for c in b["counts"].as_array().unwrap() {
                table.insert(c["tag"].as_str().unwrap().into(), c["count"].as_u64().unwrap());
            }
            let end = tt::time::parse_rfc3339(b["end"].as_str().unwrap()).unwrap() - 1_700_000_000_000;
            for t in 0u8..6 {
                let brute = uses.iter().filter(|u| u.0 == t && u.1 >= end - 3000 && u.1 < end).count() as u64;
                let mine = table.get(&format!("t{t}")).copied().unwrap_or(0);
                prop_assert_eq!(mine, brute, "tag t{} in the batch ending {}", t, end);
            }
        }
    }
}

/// `--time event` output is the same whether the input arrives at once or slowly.
#[test]
fn event_time_is_independent_of_arrival_speed() {
    let uses = use_lines(
        &(0..300)
            .map(|i| ((i % 5) as u8, i * 97 % 20_000 + i * 30))
            .collect::<Vec<_>>(),
    );
    let args = ["count", "--time", "event", "--batch", "2s"];
    let fast = tt().args(args).write_stdin(uses.clone()).output().unwrap();
    assert!(fast.status.success());
    let mut child = KillOnDrop(
        Command::new(tt_path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdin = child.0.stdin.take().unwrap();
    for (i, l) in uses.lines().enumerate() {
        writeln!(stdin, "{l}").unwrap();
        if i % 60 == 0 {
            stdin.flush().unwrap();
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    drop(stdin);
    let mut slow = Vec::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut slow)
        .unwrap();
    assert!(child.0.wait().unwrap().success());
    assert!(!fast.stdout.is_empty());
    assert_eq!(
        String::from_utf8(slow).unwrap(),
        String::from_utf8(fast.stdout).unwrap()
    );
}

/// The planted bursts of gen_tweets.py: each reaches rank 1 by trend within 3 batches of
/// its start (also while another is under way), and once they are over, the steady biggest
/// tags (the all-time top 3 apart from the bursts) are never in the trend top 3.
#[test]
fn planted_bursts_trend_and_steady_tags_do_not() {
    let gen = Command::new("python3")
        .arg(fixture("gen_tweets.py"))
        .args(["--count", "100000", "--seed", "7"])
        .output()
        .expect("python3 runs gen_tweets.py");
    assert!(gen.status.success());
    let uses = tt()
        .args(["tags", "--quiet"])
        .write_stdin(gen.stdout)
        .output()
        .unwrap()
        .stdout;
    let counts = tt()
        .args(["count", "--time", "event", "--batch", "2s"])
        .write_stdin(uses.clone())
        .output()
        .unwrap();
    assert!(counts.status.success(), "{}", stderr_of(&counts));
    let boards = ndjson(
        &tt()
            .args(["top", "3", "--by", "trend"])
            .write_stdin(counts.stdout)
            .output()
            .unwrap()
            .stdout,
    );
    // Burst start and end batches, from the uses' own times (2 s batches).
    let bursts = [
        "worldcupfinal",
        "earthquakealert",
        "newalbumfriday",
        "serverdown",
    ];
    let first_slot = boards[0]["batch"].as_i64().unwrap();
    let batch_of = |at: &str| -> i64 {
        let ms = tt::time::parse_rfc3339(at).unwrap();
        let b0 = tt::time::parse_rfc3339(boards[0]["end"].as_str().unwrap()).unwrap() - 2000;
        (ms - b0).div_euclid(2000) + first_slot
    };
    let recs = ndjson(&uses);
    let mut report = String::from(
        "burst | starts in batch | rank 1 in batch | batches to rank 1\n--- | --- | --- | ---\n",
    );
    let mut last_end = 0;
    for b in bursts {
        let ats: Vec<i64> = recs
            .iter()
            .filter(|r| r["tag"] == b)
            .map(|r| batch_of(r["at"].as_str().unwrap()))
            .collect();
        let (start, end) = (*ats.iter().min().unwrap(), *ats.iter().max().unwrap());
        last_end = last_end.max(end);
        let first_rank1 = boards
            .iter()
            .find(|lb| {
                lb["top"]
                    .as_array()
                    .unwrap()
                    .first()
                    .is_some_and(|t| t["tag"] == b)
            })
            .map(|lb| lb["batch"].as_i64().unwrap())
            .unwrap_or_else(|| panic!("{b} never reached rank 1"));
        report += &format!(
            "{b} | {start} | {first_rank1} | {}\n",
            first_rank1 - start + 1
        );
        assert!(
            first_rank1 - start < 3,
            "{b} started in batch {start}, rank 1 only in {first_rank1}"
        );
    }
    let all = recount(&uses);
    let mut steady: Vec<(String, u64)> = top_n(&all, 10)
        .into_iter()
        .filter(|(t, _)| !bursts.contains(&t.as_str()))
        .collect();
    steady.truncate(3);
    let mut after = 0;
    for lb in boards
        .iter()
        .filter(|lb| lb["batch"].as_i64().unwrap() > last_end)
    {
        after += 1;
        for t in lb["top"].as_array().unwrap() {
            assert!(
                !steady.iter().any(|s| t["tag"] == s.0.as_str()),
                "steady tag {} trends in {lb}",
                t["tag"]
            );
        }
    }
    assert!(after >= 5, "the stream goes on after the bursts");
    println!("{report}after the bursts: {after} batches, steady top 3 {steady:?} never in the trend top 3");
}

// ---------------------------------------------------------------------------------------
// Durable state.

fn big_uses_file(dir: &Path, copies: usize) -> (PathBuf, HashMap<String, u64>) {
    let uses = uses_of("twitter-v1-rest_rtweet.ndjson.gz");
    let path = dir.join("uses.ndjson");
    let mut all = Vec::new();
    for _ in 0..copies {
        all.extend_from_slice(&uses);
    }
    std::fs::write(&path, &all).unwrap();
    let mut expected = recount(&uses);
    for v in expected.values_mut() {
        *v *= copies as u64;
    }
    (path, expected)
}

/// RELIABILITY 11 and 16: SIGKILL at random moments, 100 times (`TT_KILL_ITERATIONS` sets
/// another count: `scripts/kill-loop.sh` runs 300). The state always loads, batch numbers
/// never go back, and whenever the resumed runs have counted the whole file, the counts
/// equal an uninterrupted run's; then the state is removed and the rounds begin again, so
/// that the kills keep landing mid-file however fast `tt count` is.
#[test]
fn kill_9_at_random_moments_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (input, expected) = big_uses_file(dir.path(), 48);
    let total: u64 = expected.values().sum();
    let state = dir.path().join("s.json");
    let mut rng = 0x9E3779B97F4A7C15u64;
    let mut last_batch = 0;
    let mut interrupted = 0; // kills that left the file partly counted
    let mut rounds = 0; // times the file was counted whole, through the kills
    let mut max_delay = 150; // ms
    let iterations: usize = std::env::var("TT_KILL_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    for _ in 0..iterations {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut child = Command::new(tt_path())
            .args(["count", "--batch", "20ms", "--state"])
            .arg(&state)
            .arg(&input)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng % max_delay));
        if let Ok(Some(_)) = child.try_wait() {
            // Done before the kill: a fast build (release) counts the file in less time
            // than the kills wait, and would leave too few kills mid-file.
            max_delay = (max_delay / 2).max(10);
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if !state.exists() {
            // Killed before its first save: on a loaded machine the kills come later.
            max_delay = (max_delay * 2).min(2000);
        }
        if state.exists() {
            let board = state_board(&state);
            let b = board["batch"].as_u64().unwrap();
            assert!(b >= last_batch, "batch went back from {last_batch} to {b}");
            last_batch = b;
            let counted: u64 = board["top"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["count"].as_u64().unwrap())
                .sum();
            if counted < total {
                interrupted += 1;
            } else {
                let got: HashMap<String, u64> = board_of(&board).into_iter().collect();
                assert_eq!(got, expected, "round {rounds}: counts after the kills");
                rounds += 1;
                for suffix in ["", ".log"] {
                    let mut p = state.clone().into_os_string();
                    p.push(suffix);
                    match std::fs::remove_file(&p) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("{p:?}: {e}"),
                        _ => {}
                    }
                }
                last_batch = 0;
            }
        }
        let temps = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert!(temps <= 1, "at most one stale temp file");
    }
    assert!(
        interrupted >= iterations / 10,
        "only {interrupted} kills landed mid-file: the test would prove little"
    );
    println!(
        "{interrupted} of {iterations} kills left the file partly counted; {rounds} rounds counted it whole, each exactly"
    );
    let done = tt()
        .args(["count", "--batch", "20ms", "--state"])
        .arg(&state)
        .arg(&input)
        .output()
        .unwrap();
    assert!(done.status.success(), "{}", stderr_of(&done));
    let got: HashMap<String, u64> = board_of(&state_board(&state)).into_iter().collect();
    assert_eq!(got, expected);
    println!("finishing the file after the kills: counts equal an uninterrupted run");
}

/// Forgetting, end to end: a stream whose vocabulary keeps growing, counted in a 10 s
/// window with a short baseline (so tags are forgotten all the time, and some come back).
/// The last leaderboard equals a brute-force recount of the last window's uses, the tags
/// held fall well below the distinct tags seen, and `tt top --state` agrees.
#[test]
fn a_forgetting_window_ranks_as_a_recount_of_the_last_window() {
    let uses = sim_uses(&[
        "--rate",
        "500",
        "--limit",
        "60000",
        "--vocabulary",
        "growing",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let args = [
        "--time",
        "event",
        "--batch",
        "1s",
        "--window",
        "10s",
        "--baseline",
        "2s",
        "--state",
        state.to_str().unwrap(),
    ];
    let board = count_then_top(&uses, &args);

    let records = ndjson(&uses);
    let slot = |r: &Value| {
        tt::time::parse_any(r["at"].as_str().unwrap())
            .unwrap()
            .div_euclid(1000)
    };
    let last = records.iter().map(slot).max().unwrap();
    let mut window: HashMap<String, u64> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for r in &records {
        seen.insert(r["tag"].as_str().unwrap().to_string());
        if slot(r) > last - 10 {
            *window
                .entry(r["tag"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    assert_eq!(
        board_of(&board),
        top_n(&window, 10),
        "the last window, recounted"
    );

    let from_state = tt()
        .args(["top", "10", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(from_state.status.success(), "{}", stderr_of(&from_state));
    assert_eq!(board_of(&ndjson(&from_state.stdout)[0]), top_n(&window, 10));

    let counted = tt()
        .arg("count")
        .args(args)
        .args(["--reset-state", "-q"])
        .write_stdin(uses.clone())
        .output()
        .unwrap();
    let held = ndjson(&counted.stdout).last().unwrap()["tags"]
        .as_u64()
        .unwrap();
    assert!(
        held * 4 < seen.len() as u64,
        "{held} tags held of {} seen: forgetting keeps memory to the live tags",
        seen.len()
    );
}

/// `--max-tags`: all-time counts in a table of 200 tags, end to end. Every leader's count
/// bounds the true count from above within its `error`, the top 5 are the exact top 5
/// tags, in order, and
/// `tt top` shows the bound (`error` in NDJSON, `±` in a table, a CSV column). With a
/// window or decay the flag is refused, saying why.
#[test]
fn max_tags_counts_are_estimates_with_their_bound() {
    let uses = uses_of("twitter-v1-rest_rtweet.ndjson.gz");
    let exact = recount(&uses);
    assert!(exact.len() > 400, "a vocabulary larger than the table");
    let board = count_then_top(&uses, &["--batch", "1s", "--max-tags", "200"]);
    let counted = tt()
        .args(["count", "--max-tags", "200"])
        .write_stdin(uses.clone())
        .output()
        .unwrap();
    let last = ndjson(&counted.stdout).pop().unwrap();
    assert!(last["tags"].as_u64().unwrap() <= 200);
    let top = tt()
        .args(["top", "5"])
        .write_stdin(counted.stdout.clone())
        .output()
        .unwrap();
    let board5 = ndjson(&top.stdout).pop().unwrap();
    for l in board5["top"].as_array().unwrap() {
        let (count, error) = (l["count"].as_u64().unwrap(), l["error"].as_u64().unwrap());
        let truth = exact[l["tag"].as_str().unwrap()];
        assert!(
            count >= truth && count - error <= truth,
            "{l}: true count {truth}"
        );
    }
    let tags = |v: Vec<(String, u64)>| v.into_iter().map(|t| t.0).collect::<Vec<_>>();
    assert_eq!(tags(board_of(&board5)), tags(top_n(&exact, 5)));
    assert!(board["top"][0]["error"].is_u64(), "{board}");
    let table = tt()
        .args(["top", "3", "--format", "table"])
        .write_stdin(counted.stdout.clone())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains("±error"));
    let csv = tt()
        .args(["top", "3", "--format", "csv"])
        .write_stdin(counted.stdout)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&csv.stdout)
        .starts_with("batch,end,rank,tag,text,count,trend,users,error\n"));
    for with in [
        &["--window", "10s"][..],
        &["--half-life", "10s"][..],
        &["--distinct", "users"][..],
    ] {
        let out = tt()
            .args(["count", "--batch", "1s", "--max-tags", "10"])
            .args(with)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{with:?}: a usage error");
        assert!(
            stderr_of(&out).contains("--max-tags"),
            "{with:?}: {}",
            stderr_of(&out)
        );
    }
}

/// RELIABILITY 11 with forgetting on: `kill -9` at random moments (50 times, or
/// `TT_KILL_ITERATIONS`) of `tt count --time event --batch 1s --window 5s` (150 batches) with a short baseline, so
/// that tags leave the window and are forgotten, snapshots drop them and restarts rebuild
/// their checks. Every batch line any of the runs wrote equals the uninterrupted run's line
/// of that batch (counts, deltas, trends, `tags`), and together they are all of them.
#[test]
fn kill_9_with_a_window_and_forgetting_writes_every_batch_once_and_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("uses.ndjson");
    let uses = sim_uses(&["--rate", "1000", "--limit", "150000", "--tags", "20000"]);
    std::fs::write(&input, &uses).unwrap();
    let args = [
        "count",
        "--time",
        "event",
        "--batch",
        "1s",
        "--window",
        "5s",
        "--baseline",
        "2s",
    ];
    let whole = tt().args(args).arg(&input).output().unwrap();
    assert!(whole.status.success(), "{}", stderr_of(&whole));
    let mut expected = std::collections::BTreeMap::new();
    lines_by_batch(&whole.stdout, &mut expected);
    let held: Vec<u64> = expected
        .values()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["tags"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(
        held.windows(2).any(|w| w[1] < w[0]),
        "tags are forgotten along the way: {held:?}"
    );

    let state = dir.path().join("s.json");
    let cmd = || {
        let mut c = Command::new(tt_path());
        c.args(args).arg("--state").arg(&state).arg(&input);
        c
    };
    kill_9_loop(&cmd, &state, &expected, (0, 120));
}

#[test]
fn a_second_writer_exits_75_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let state_arg = state.to_str().unwrap();
    let mut first = spawn_piped(&["count", "--batch", "100ms", "--state", state_arg]);
    // Wait for the first to hold the lock (its first batch line).
    let mut out = BufReader::new(first.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let t = Instant::now();
    let second = tt()
        .args(["count", "--state"])
        .arg(&state)
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(75), "{}", stderr_of(&second));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(stderr_of(&second).contains("in use by another tt count"));
    // The first one is unaffected: it keeps ticking.
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("\"batch\""));
}

#[test]
fn corrupt_or_foreign_state_exits_65_and_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let good = count_state(&state)
        .write_stdin(uses_of("twitter-v1-rest_twitter4s.ndjson"))
        .output()
        .unwrap();
    assert!(good.status.success());
    let valid = std::fs::read(&state).unwrap();
    let mut flipped = valid.clone();
    flipped[10] ^= 0x20;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "random bytes",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
        ("truncated", valid[..valid.len() / 2].to_vec()),
        ("bad checksum", flipped),
        (
            "wrong version",
            String::from_utf8(valid.clone())
                .unwrap()
                .replace("{\"tt_state\":1,", "{\"tt_state\":9,")
                .into_bytes(),
        ),
    ];
    for (what, bytes) in cases {
        std::fs::write(&state, &bytes).unwrap();
        let mtime = std::fs::metadata(&state).unwrap().modified().unwrap();
        let out = count_state(&state).write_stdin("").output().unwrap();
        assert_eq!(out.status.code(), Some(65), "{what}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("--reset-state"), "{what}");
        assert_eq!(
            std::fs::read(&state).unwrap(),
            bytes,
            "{what}: file changed"
        );
        assert_eq!(
            std::fs::metadata(&state).unwrap().modified().unwrap(),
            mtime
        );
    }
    let reset = count_state(&state)
        .arg("--reset-state")
        .write_stdin("{\"tag\":\"a\"}\n")
        .output()
        .unwrap();
    assert!(reset.status.success(), "{}", stderr_of(&reset));
    let lb = ndjson(&reset.stdout);
    assert_eq!(
        (lb[0]["batch"].as_u64(), lb[0]["tags"].as_u64()),
        (Some(1), Some(1)),
        "starts from zero"
    );
    let aside = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("s.json.bad-")
        })
        .count();
    assert!(aside >= 1, "the bad file is kept aside");
}

#[test]
fn other_options_than_the_state_was_written_with_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    assert!(count_state(&state)
        .write_stdin("")
        .output()
        .unwrap()
        .status
        .success());
    let out = tt()
        .args(["count", "--batch", "1s", "--state"])
        .arg(&state)
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(65));
    assert!(stderr_of(&out).contains("other counting options"));
}

/// RELIABILITY 17: SIGTERM closes the current batch, saves and exits 143.
#[test]
fn sigterm_closes_the_batch_saves_and_exits_143() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let state_arg = state.to_str().unwrap();
    let mut child = spawn_piped(&["count", "--batch", "1h", "--state", state_arg]);
    let mut stdin = child.0.stdin.take().unwrap();
    writeln!(stdin, "{{\"tag\":\"x\",\"text\":\"X\"}}").unwrap();
    stdin.flush().unwrap();
    wait_until_read(&stdin);
    // The line is read; a moment more for it to cross from the reading thread to the count.
    std::thread::sleep(Duration::from_millis(100));
    signal_when_caught(&child.0, libc::SIGTERM);
    let t = Instant::now();
    let status = child.0.wait().unwrap();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(status.code(), Some(143));
    let mut out = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let lines = ndjson(out.as_bytes());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["counts"][0]["count"], 1);
    assert_eq!(
        state_board(&state)["top"][0]["tag"],
        "x",
        "the batch was saved"
    );
}

/// RELIABILITY 9: with idle input, batches still close on the clock, numbered in order.
#[test]
fn a_quiet_stream_still_ticks() {
    let mut child = KillOnDrop(
        Command::new(tt_path())
            .args(["count", "--batch", "200ms"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let _stdin = child.0.stdin.take().unwrap(); // open, silent
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut times = Vec::new();
    let mut batches = Vec::new();
    for _ in 0..6 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        times.push(Instant::now());
        batches.push(
            serde_json::from_str::<Value>(&line).unwrap()["batch"]
                .as_u64()
                .unwrap(),
        );
    }
    assert_eq!(batches, [1, 2, 3, 4, 5, 6]);
    let gaps: Vec<u128> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    let mean = gaps.iter().sum::<u128>() / gaps.len() as u128;
    assert!((150..=300).contains(&mean), "mean gap {mean} ms: {gaps:?}");
}

#[test]
fn top_formats_and_full_device() {
    let uses = uses_of("twitter-v1-rest_twitter4s.ndjson");
    let counts = tt().arg("count").write_stdin(uses).output().unwrap().stdout;
    let csv = tt()
        .args(["top", "2", "--format", "csv"])
        .write_stdin(counts.clone())
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.starts_with("batch,end,rank,tag,text,count,trend,users,error\n1,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3);
    let table = tt()
        .args(["top", "2", "--format", "table"])
        .write_stdin(counts.clone())
        .output()
        .unwrap();
    assert!(String::from_utf8(table.stdout)
        .unwrap()
        .contains("rank  tag"));
    // RELIABILITY 10.
    let full = Command::new(tt_path())
        .args(["top", "10"])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut full = full;
    full.stdin.take().unwrap().write_all(&counts).unwrap();
    let out = full.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(74));
    assert!(stderr_of(&out).contains("No space left on device"));
}

/// `--distinct users`: a bot repeating a tag leads by count, not by users; the users
/// counts equal an independent distinct count, all time and in a window.
#[test]
fn distinct_users_stop_a_bot_dominating() {
    let mut lines = String::new();
    let mut n = 0;
    let mut push = |tag: &str, user: &str, sec: i64| {
        n += 1;
        let at = tt::time::format_rfc3339(1_700_000_000_000 + sec * 1000);
        lines += &format!("{{\"tag\":\"{tag}\",\"text\":\"{tag}\",\"id\":\"{n}\",\"at\":\"{at}\",\"user\":\"{user}\",\"rt\":false}}\n");
    };
    for i in 0..100 {
        push("spam", "bot", i % 10);
    }
    for u in 0..12 {
        push("real", &format!("user{u}"), u % 10);
        push("real", &format!("user{u}"), 10 + u % 10); // each author twice
    }
    let counts = tt()
        .args(["count", "--distinct", "users"])
        .write_stdin(lines.clone())
        .output()
        .unwrap();
    assert!(counts.status.success(), "{}", stderr_of(&counts));
    let by = |what: &str| {
        let out = tt()
            .args(["top", "2", "--by", what])
            .write_stdin(counts.stdout.clone())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        ndjson(&out.stdout).pop().unwrap()
    };
    let (c, u) = (by("count"), by("users"));
    assert_eq!(
        (c["top"][0]["tag"].as_str(), c["top"][0]["count"].as_u64()),
        (Some("spam"), Some(100))
    );
    assert_eq!(
        (u["top"][0]["tag"].as_str(), u["top"][0]["users"].as_u64()),
        (Some("real"), Some(12))
    );
    assert_eq!(u["top"][1]["users"], 1, "the bot is one author");
    // In a 10 s window of 10 s batches (event time), the second batch holds each real
    // author once more, and the bot not at all.
    let w = tt()
        .args([
            "count",
            "--distinct",
            "users",
            "--time",
            "event",
            "--batch",
            "10s",
            "--window",
            "10s",
        ])
        .write_stdin(lines)
        .output()
        .unwrap();
    let batches = ndjson(&w.stdout);
    let last = batches.last().unwrap();
    let get = |t: &str| {
        last["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["tag"] == t)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (get("real")["users"].as_u64(), get("spam")["users"].as_u64()),
        (Some(12), Some(0))
    );
}

#[test]
fn top_state_reports_the_last_batchs_posts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let uses = "{\"tag\":\"a\",\"text\":\"a\",\"id\":\"1\",\"at\":\"2018-10-10T20:00:00Z\",\"user\":null,\"rt\":false}\n\
                {\"tag\":\"b\",\"text\":\"b\",\"id\":\"1\",\"at\":\"2018-10-10T20:00:00Z\",\"user\":null,\"rt\":false}\n\
                {\"tag\":\"a\",\"text\":\"a\",\"id\":\"2\",\"at\":\"2018-10-10T20:00:00Z\",\"user\":null,\"rt\":false}\n";
    let out = tt()
        .args(["count", "--time", "event", "--batch", "2s", "--state"])
        .arg(&state)
        .write_stdin(uses)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let counted = ndjson(&out.stdout);
    assert_eq!(counted[0]["posts"], 2);
    let out = tt()
        .args(["top", "3", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let board = ndjson(&out.stdout);
    assert_eq!(board[0]["posts"], 2, "{board:?}");
    assert_eq!(board[0]["top"][0]["tag"], "a");
}

/// What `tt count` writes, `tt top` reads with default options: here one batch of a
/// million changed tags, a count update line of over 64 MB (16 times the old limit).
#[test]
fn a_batch_of_a_million_changed_tags_reaches_tt_top() {
    let dir = tempfile::tempdir().unwrap();
    let uses = dir.path().join("uses.ndjson");
    let mut text = String::with_capacity(80 << 20);
    for i in 0..1_000_000u32 {
        let n = if i < 3 { 3 - i } else { 1 };
        for _ in 0..n {
            text.push_str(&format!(
                "{{\"tag\":\"t{i}\",\"text\":\"t{i}\",\"id\":\"{i}\",\"at\":null,\"user\":null,\"rt\":false}}\n"
            ));
        }
    }
    std::fs::write(&uses, text).unwrap();
    let counts = dir.path().join("counts.ndjson");
    let out = tt().arg("count").arg(&uses).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(out.stdout.len() > 64 << 20, "{} bytes", out.stdout.len());
    std::fs::write(&counts, &out.stdout).unwrap();
    let out = tt().args(["top", "3"]).arg(&counts).output().unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success() && err.is_empty(), "{err}");
    let board = ndjson(&out.stdout);
    let top: Vec<(&str, i64)> = board[0]["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["tag"].as_str().unwrap(), l["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(top, [("t0", 3), ("t1", 2), ("t10", 1)]);
}

/// A state written with other options names the flags that differ, as flags; and
/// `tt top --by users` on counts without distinct authors says why it ranks nothing.
#[test]
fn other_options_and_missing_authors_are_said_in_flags() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let uses = "{\"tag\":\"a\",\"text\":\"a\",\"id\":\"1\",\"at\":\"2018-10-10T20:00:00Z\",\"user\":\"u\",\"rt\":false}\n";
    let run = |extra: &[&str]| {
        tt().args(["count", "--time", "event", "--batch", "2s", "--state"])
            .arg(&state)
            .args(extra)
            .write_stdin(uses)
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    let out = run(&["--window", "1m"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(65), "{err}");
    assert!(
        err.contains("other counting options (--window 60s (the state has none))"),
        "{err}"
    );
    assert!(!err.contains('{'), "no JSON blob: {err}");
    let out = tt()
        .args(["top", "3", "--by", "users", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("was counted without --distinct users"));
    let counts = tt()
        .args(["count", "--time", "event", "--batch", "2s"])
        .write_stdin(uses)
        .output()
        .unwrap()
        .stdout;
    let out = tt()
        .args(["top", "3", "--by", "users"])
        .write_stdin(counts)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stderr_of(&out).contains("have no distinct authors, so --by users ranks none of them"),
        "{}",
        stderr_of(&out)
    );
}

/// Several inputs are read in order, as one stream; messages name each file and line.
#[test]
fn several_files_count_as_their_concatenation() {
    let dir = tempfile::tempdir().unwrap();
    let use_at = |tag: &str, id: u32, s: u32| {
        format!("{{\"tag\":\"{tag}\",\"text\":\"{tag}\",\"id\":\"{id}\",\"at\":\"2018-10-10T20:00:{s:02}Z\",\"user\":null,\"rt\":false}}\n")
    };
    let a = dir.path().join("a.ndjson");
    let b = dir.path().join("b.ndjson");
    std::fs::write(&a, use_at("x", 1, 1) + &use_at("y", 2, 3)).unwrap();
    std::fs::write(&b, use_at("x", 3, 5) + "[1]\n" + &use_at("z", 4, 7)).unwrap();
    let args = ["count", "--time", "event", "--batch", "2s"];
    let apart = tt().args(args).arg(&a).arg(&b).output().unwrap();
    let joined = std::fs::read_to_string(&a).unwrap() + &std::fs::read_to_string(&b).unwrap();
    let together = tt().args(args).write_stdin(joined).output().unwrap();
    assert_eq!(apart.stdout, together.stdout);
    assert_eq!(ndjson(&apart.stdout).len(), 4);
    let err = stderr_of(&apart);
    assert!(
        err.contains("b.ndjson:2: not a tag use record (an array"),
        "{err}"
    );
    let out = tt()
        .args(["count", "--state"])
        .arg(dir.path().join("s.json"))
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--state takes one input"));
}

#[test]
fn tt_top_reads_several_files_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let update = |batch: u32, tag: &str, count: u32| {
        format!("{{\"batch\":{batch},\"end\":\"2018-10-10T20:00:0{batch}Z\",\"posts\":1,\"tags\":1,\"counting\":\"total\",\"counts\":[{{\"tag\":\"{tag}\",\"text\":\"{tag}\",\"count\":{count},\"delta\":1,\"uses\":1,\"trend\":0}}]}}\n")
    };
    let a = dir.path().join("a.ndjson");
    let b = dir.path().join("b.ndjson");
    std::fs::write(&a, update(1, "x", 1)).unwrap();
    std::fs::write(&b, update(2, "y", 5)).unwrap();
    let apart = tt().args(["top", "2"]).arg(&a).arg(&b).output().unwrap();
    let together = tt()
        .args(["top", "2"])
        .write_stdin(update(1, "x", 1) + &update(2, "y", 5))
        .output()
        .unwrap();
    assert_eq!(apart.stdout, together.stdout);
    let boards = ndjson(&apart.stdout);
    assert_eq!(boards[1]["top"][0]["tag"], "y");
}

/// A line that ends inside a character the next line finishes: each line is invalid
/// UTF-8 alone, though the two side by side are not. `tt count` checks a whole chunk of
/// lines at once and must still say both, and count the lines around them.
#[test]
fn a_character_split_across_two_lines_is_two_bad_lines() {
    let good = |tag: &str| {
        format!(r#"{{"tag":"{tag}","text":"{tag}","id":"1","at":null,"user":"2","rt":false}}"#)
    };
    let mut input = format!("{}\n", good("café")).into_bytes();
    input.extend_from_slice(b"{\"tag\":\"caf\xc3\n\xa9\",\"text\":\"x\"}\n");
    input.extend_from_slice(format!("{}\n", good("café")).as_bytes());
    let out = tt().arg("count").write_stdin(input).output().unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("<stdin>:2: invalid UTF-8"), "{err}");
    assert!(err.contains("<stdin>:3: invalid UTF-8"), "{err}");
    let update = &ndjson(&out.stdout)[0];
    assert_eq!(update["counts"][0]["tag"], "café");
    assert_eq!(update["counts"][0]["count"], 2, "{update}");
    assert_eq!(update["counts"].as_array().unwrap().len(), 1, "{update}");
}

/// A window or half-life that does not fit the batches is a usage error saying why, once,
/// in durations as they were given (a window shorter than a batch was also said to be no
/// multiple of it, in milliseconds).
#[test]
fn windows_that_do_not_fit_the_batches_are_said_once() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--window", "3", "--batch", "1m"],
            "tt count: --window must be at least one --batch\n",
        ),
        (
            &["--window", "90s", "--batch", "1m"],
            "tt count: --window must be a multiple of --batch (90s is not a multiple of 60s)\n",
        ),
        (&["--window", "10s"], "tt count: --window needs --batch\n"),
        (
            &["--half-life", "500ms", "--batch", "1s"],
            "tt count: --half-life must be at least one --batch\n",
        ),
    ];
    for (args, says) in cases {
        let out = tt().arg("count").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr_of(&out), says, "{args:?}");
    }
}
