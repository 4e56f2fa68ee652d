//! `tt fetch`: the simulator and replay, pacing, limits, signals, and the whole demo
//! pipeline from the simulator into the chart.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{
    assert_ends_quietly, data, ndjson, signal_when_caught, stderr_of, tt, tt_path, KillOnDrop,
};

#[test]
fn sim_is_deterministic_and_tags_agree_with_its_entities() {
    let args = [
        "fetch",
        "sim",
        "--start",
        "2026-01-01T00:00:00Z",
        "--speed",
        "max",
        "--limit",
        "2000",
        "--seed",
        "7",
    ];
    let a = tt().args(args).output().unwrap();
    let b = tt().args(args).output().unwrap();
    assert!(a.status.success(), "{}", stderr_of(&a));
    assert_eq!(a.stdout, b.stdout, "same seed and start, same bytes");
    let posts = ndjson(&a.stdout);
    assert_eq!(posts.len(), 2000);
    assert_eq!(posts[0]["created_at"], "Thu Jan 01 00:00:00 +0000 2026");
    // tt tags agrees with the simulator's own entities (the original's, for retweets).
    let tags = tt()
        .args(["tags", "--keep-case", "--occurrences"])
        .write_stdin(a.stdout.clone())
        .output()
        .unwrap();
    let mut expected = 0;
    for p in &posts {
        let src = if p["retweeted_status"].is_object() {
            &p["retweeted_status"]
        } else {
            p
        };
        expected += src["entities"]["hashtags"].as_array().unwrap().len();
    }
    assert_eq!(ndjson(&tags.stdout).len(), expected);
    let retweets = posts
        .iter()
        .filter(|p| p["retweeted_status"].is_object())
        .count();
    assert!(
        (400..800).contains(&retweets),
        "about 30 % retweets: {retweets}"
    );
}

#[test]
fn sim_bursts_trend() {
    // 3 minutes of stream at 200 tweets/s: bursts start at 60 s and 120 s.
    let posts = tt()
        .args([
            "fetch",
            "sim",
            "--start",
            "2026-01-01T00:00:00Z",
            "--speed",
            "max",
            "--limit",
            "36000",
        ])
        .output()
        .unwrap()
        .stdout;
    let uses = tt().arg("tags").write_stdin(posts).output().unwrap().stdout;
    let counts = tt()
        .args(["count", "--time", "event", "--batch", "2s"])
        .write_stdin(uses)
        .output()
        .unwrap()
        .stdout;
    let boards = ndjson(
        &tt()
            .args(["top", "1", "--by", "trend"])
            .write_stdin(counts)
            .output()
            .unwrap()
            .stdout,
    );
    let leader_at = |batch: u64| {
        boards
            .iter()
            .find(|b| b["batch"] == batch)
            .and_then(|b| b["top"][0]["tag"].as_str().map(String::from))
    };
    assert_eq!(
        leader_at(31).as_deref(),
        Some("breakingnews"),
        "first burst, first batch"
    );
    assert_eq!(
        leader_at(61).as_deref(),
        Some("worldcupfinal"),
        "second burst, first batch"
    );
}

#[test]
fn replay_paces_by_the_posts_own_times() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("saved.ndjson");
    std::fs::write(
        &f,
        "{\"id_str\":\"1\",\"created_at\":\"Wed Oct 10 20:00:00 +0000 2018\",\"text\":\"#a\"}\n\
         {\"delete\":{\"status\":{\"id\":1}}}\n\
         not json\n\
         {\"id_str\":\"2\",\"created_at\":\"Wed Oct 10 20:00:01 +0000 2018\",\"text\":\"#b\"}\n\
         \n\
         {\"id_str\":\"3\",\"created_at\":\"Wed Oct 10 20:00:02 +0000 2018\",\"text\":\"#c\"}\n",
    )
    .unwrap();
    let t = Instant::now();
    let out = tt()
        .args(["fetch", "replay", "--speed", "4"])
        .arg(&f)
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(out.status.success());
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "every object, as saved; the broken line is not replayed"
    );
    assert!(lines[1].starts_with("{\"delete\""));
    assert!(stderr_of(&out).contains(":3: not a valid JSON object"));
    // 2 s of stream at speed 4: about 0.5 s.
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let max = tt()
        .args([
            "fetch", "replay", "--speed", "max", "--loop", "--limit", "7",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(
        ndjson(&max.stdout).len(),
        7,
        "--loop starts again, --limit stops"
    );
}

#[test]
fn replay_of_real_data_feeds_tags() {
    let out = tt()
        .args(["fetch", "replay", "--speed", "max", "--quiet"])
        .arg(data("twitter-v2-stream_twarc-csv.ndjson"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        ndjson(&out.stdout).len(),
        7,
        "the cut-off last line is not replayed"
    );
    let tags = tt().arg("tags").write_stdin(out.stdout).output().unwrap();
    assert_eq!(ndjson(&tags.stdout).len(), 2);
}

/// `tt fetch sim | tt tags | head -3`: works with no network, and every process ends
/// quietly with status 0 when head has enough.
#[test]
fn sim_into_tags_into_head() {
    let mut fetch = KillOnDrop(
        Command::new(tt_path())
            .args(["fetch", "sim"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut tags = KillOnDrop(
        Command::new(tt_path())
            .arg("tags")
            .stdin(fetch.0.stdout.take().unwrap())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(tags.0.stdout.take().unwrap());
    for _ in 0..3 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.starts_with("{\"tag\""));
    }
    drop(out); // head exits
    assert_ends_quietly(&mut tags.0);
    assert_ends_quietly(&mut fetch.0);
}

#[test]
fn sigint_stops_cleanly() {
    let mut child = KillOnDrop(
        Command::new(tt_path())
            .args(["fetch", "sim"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    signal_when_caught(&child.0, libc::SIGINT);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(child.0.wait().unwrap().code(), Some(130));
    assert!(
        rest.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "only whole lines"
    );
}

/// The README's main job, minus the install: the simulator through the whole pipeline into
/// the chart's JSON endpoint.
#[test]
fn the_demo_pipeline_reaches_the_chart() {
    let tt = tt_path();
    let tt = tt.display();
    let script = format!(
        "{tt} fetch sim --speed 10 | {tt} tags | {tt} count --batch 500ms | {tt} top 10 | {tt} serve --bind 127.0.0.1:0"
    );
    let mut child = KillOnDrop(
        Command::new("bash")
            .args(["-c", &format!("exec {script}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap(),
    );
    let mut err = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr: std::net::SocketAddr = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let t = Instant::now();
    let mut leaders = 0;
    while leaders < 10 {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no leaderboard reached the chart"
        );
        std::thread::sleep(Duration::from_millis(200));
        let Ok(mut s) = std::net::TcpStream::connect(addr) else {
            continue;
        };
        use std::io::Write;
        write!(
            s,
            "GET /api/top.json HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        let json = body.split("\r\n\r\n").nth(1).unwrap_or("null");
        let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        leaders = v["top"].as_array().map_or(0, Vec::len);
    }
    // SAFETY: ending the pipeline's process group, which we started.
    unsafe { libc::kill(-(child.0.id() as i32), libc::SIGTERM) };
}

/// A saved stream that is not in time order, or has a long gap, is said on stderr, not
/// waited out in silence.
#[test]
fn replay_says_when_times_go_backwards_or_jump() {
    let dir = tempfile::tempdir().unwrap();
    let gap = dir.path().join("gap.ndjson");
    std::fs::write(
        &gap,
        "{\"id\":1,\"text\":\"#a\",\"timestamp_ms\":\"1000000000000\"}\n\
         {\"id\":2,\"text\":\"#a\",\"timestamp_ms\":\"1000086400000\"}\n",
    )
    .unwrap();
    let out = tt()
        .args(["fetch", "replay", "--duration", "1s"])
        .arg(&gap)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(
        err.contains(":2: the next post is due in 24.0h at --speed 1"),
        "{err}"
    );
    let out = tt()
        .args(["fetch", "replay", "-"])
        .write_stdin(
            "{\"id\":2,\"text\":\"#a\",\"timestamp_ms\":\"1000000005000\"}\n\
             {\"id\":1,\"text\":\"#a\",\"timestamp_ms\":\"1000000000000\"}\n",
        )
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    assert!(
        stderr_of(&out).contains(":2: the posts' times go backwards here"),
        "{}",
        stderr_of(&out)
    );
    // Objects without any time: sent at once, and said (not with --speed max).
    let untimed = "{\"id\":1,\"text\":\"#a\"}\n{\"delete\":{}}\n";
    for (speed, said) in [("1", true), ("max", false)] {
        let out = tt()
            .args(["fetch", "replay", "-", "--speed", speed])
            .write_stdin(untimed)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
        let says = "<stdin>: none of its 2 object(s) has a time to pace by";
        assert_eq!(stderr_of(&out).contains(says), said, "{}", stderr_of(&out));
    }
}
