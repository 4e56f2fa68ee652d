//! Kafka: `tt publish`, `tt tags` and `tt count` against librdkafka's mock cluster, which
//! runs in this test process on 127.0.0.1 and speaks the real protocol (produce with
//! idempotence, fetch, consumer groups, committed offsets).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};

use crate::harness::{
    closed_port, kill_9_loop, lines_by_batch, lines_of, sim_posts, sim_uses, stderr_of, tt,
    tt_path, KillOnDrop,
};

type Cluster = MockCluster<'static, DefaultProducerContext>;

/// A mock cluster of `brokers` brokers with these topics (name, partitions).
fn cluster(brokers: i32, topics: &[(&str, i32)]) -> Cluster {
    let c = MockCluster::new(brokers).expect("the mock cluster starts");
    for &(t, n) in topics {
        c.create_topic(t, n, brokers).unwrap();
    }
    c
}

fn url(c: &Cluster, topic: &str) -> String {
    format!("kafka://{}/{topic}", c.bootstrap_servers())
}

fn publish(c: &Cluster, topic: &str, lines: &[u8]) {
    let out = tt()
        .args(["publish", &url(c, topic)])
        .write_stdin(lines.to_vec())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
}

/// The messages in each partition of `topic` (its high watermarks).
fn messages_per_partition(c: &Cluster, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", c.bootstrap_servers())
        .set("group.id", "test-watermarks")
        .create()
        .unwrap();
    (0..partitions)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .unwrap()
                .1
        })
        .collect()
}

/// `tt ARGS TOPIC` running, killed when the test ends, with its stdout's lines as they
/// come (its stderr kept for the test to read).
fn reading(args: &[&str], topic: &str) -> (KillOnDrop, std::sync::mpsc::Receiver<String>) {
    let mut child = KillOnDrop(
        Command::new(tt_path())
            .args(args)
            .arg(topic)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(child.0.stdout.take().unwrap());
    (child, rx)
}

/// `tt count ARGS INPUT` on stdin, or reading a topic to its end.
fn count(args: &[&str], stdin: Option<&[u8]>, topic: Option<&str>) -> Vec<u8> {
    let mut cmd = tt();
    cmd.arg("count").args(args);
    match (stdin, topic) {
        (Some(data), _) => cmd.write_stdin(data.to_vec()),
        (None, Some(url)) => cmd.args([url, "--until-end"]),
        (None, None) => unreachable!(),
    };
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    out.stdout
}

/// Batch lines without `end`, which is the clock's time when there is one batch at the
/// end of input.
fn without_end(out: &[u8]) -> Vec<serde_json::Value> {
    crate::harness::ndjson(out)
        .into_iter()
        .map(|mut v| {
            v.as_object_mut().unwrap().remove("end");
            v
        })
        .collect()
}

/// Tag uses published to 4 partitions (one message per post, keyed by its id) are counted
/// as the same uses from a file: all time, event-time batches, a window, decay with
/// distinct authors.
#[test]
fn four_partitions_count_as_the_file() {
    let uses = sim_uses(&["--rate", "500", "--limit", "12000", "--tags", "3000"]);
    let c = cluster(1, &[("uses", 4)]);
    publish(&c, "uses", &uses);
    let per = messages_per_partition(&c, "uses", 4);
    assert!(
        per.iter().all(|&n| n > 100),
        "every partition holds posts: {per:?}"
    );
    let topic = url(&c, "uses");
    let cases: [&[&str]; 4] = [
        &[],
        &["--time", "event", "--batch", "1s"],
        &[
            "--time",
            "event",
            "--batch",
            "1s",
            "--window",
            "5s",
            "--baseline",
            "3s",
        ],
        &[
            "--time",
            "event",
            "--batch",
            "2s",
            "--half-life",
            "6s",
            "--distinct",
            "users",
        ],
    ];
    for args in cases {
        let file = count(args, Some(&uses), None);
        let kafka = count(args, None, Some(&topic));
        let (file, kafka) = (without_end(&file), without_end(&kafka));
        assert!(!file.is_empty());
        assert_eq!(kafka.len(), file.len(), "{args:?}: as many batches");
        for (k, f) in kafka.iter().zip(&file) {
            assert_eq!(k, f, "{args:?}");
        }
    }
}

/// RELIABILITY 11 through Kafka: `kill -9` at random moments (50 times, or
/// `TT_KILL_ITERATIONS`) of `tt count --state` reading 4 partitions, then a run to the end:
/// every batch line written equals the uninterrupted run's, and together they are all of
/// them (the offsets live in the state, saved with each batch before its line).
#[test]
fn kill_9_of_count_reading_a_topic_counts_every_message_once() {
    let uses = sim_uses(&["--rate", "1000", "--limit", "120000", "--tags", "20000"]);
    let c = cluster(1, &[("uses", 4)]);
    publish(&c, "uses", &uses);
    let topic = url(&c, "uses");
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
    let whole = tt()
        .args(args)
        .args([&topic, "--until-end"])
        .output()
        .unwrap();
    assert!(whole.status.success(), "{}", stderr_of(&whole));
    let mut expected = BTreeMap::new();
    lines_by_batch(&whole.stdout, &mut expected);
    assert!(expected.len() >= 100, "{} batches", expected.len());

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let cmd = || {
        let mut c = Command::new(tt_path());
        c.args(args)
            .args([&topic, "--until-end", "--state"])
            .arg(&state);
        c
    };
    kill_9_loop(&cmd, &state, &expected, (20, 150));
}

/// The broker goes down while `tt publish` is writing, and comes back: the publisher
/// says so, waits, and delivers every line once (the idempotent producer), exit 0.
#[test]
fn a_broker_restart_in_the_middle_of_publishing_loses_nothing() {
    let uses = sim_uses(&["--rate", "500", "--limit", "8000", "--tags", "2000"]);
    let c = cluster(1, &[("uses", 4)]);
    let mut child = KillOnDrop(
        Command::new(tt_path())
            .args(["publish", &url(&c, "uses")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdin = child.0.stdin.take().unwrap();
    let third = uses.len() / 3;
    let cut = |from: usize| {
        let i = uses[from..].iter().position(|&b| b == b'\n').unwrap();
        from + i + 1
    };
    let (a, b) = (cut(third), cut(2 * third));
    stdin.write_all(&uses[..a]).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    c.broker_down(1).unwrap();
    stdin.write_all(&uses[a..b]).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    c.broker_up(1).unwrap();
    stdin.write_all(&uses[b..]).unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "tt publish did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
    println!("{err}");
    assert!(status.success(), "{err}");
    assert!(err.contains("all confirmed"), "{err}");
    let file = without_end(&count(&[], Some(&uses), None));
    let kafka = without_end(&count(&[], None, Some(&url(&c, "uses"))));
    println!("posts {} vs {}", kafka[0]["posts"], file[0]["posts"]);
    assert_eq!(kafka, file, "every use once");
}

/// Event time over 4 partitions, one of which never gets a message: once it has been at
/// its end for --idle, batches close on the other three; with a long --idle it holds them.
#[test]
fn an_idle_partition_does_not_hold_batches_back() {
    let c = cluster(1, &[("uses", 4)]);
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", c.bootstrap_servers())
        .create()
        .unwrap();
    // 20 s of uses, in partitions 0 to 2 only.
    for i in 0..2000u64 {
        let at = format!("2026-01-01T00:00:{:02}.{:03}Z", i / 100, (i % 100) * 10);
        let line = format!(
            r#"{{"tag":"t{}","id":"{i}","at":"{at}","user":"u"}}"#,
            i % 7
        );
        let rec = BaseRecord::<(), _>::to("uses")
            .payload(&line)
            .partition((i % 3) as i32);
        producer.send(rec).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let batches_within = |idle: &str, wait: Duration| -> usize {
        let args = ["count", "--time", "event", "--batch", "1s", "--idle", idle];
        let (_child, rx) = reading(&args, &url(&c, "uses"));
        let deadline = Instant::now() + wait;
        let mut n = 0;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(_) => n += 1,
                _ => break,
            }
            if n >= 18 {
                break;
            }
        }
        n
    };
    // The newest time is 19.99 s; with 1 s of lateness, slots up to 18 s close.
    assert_eq!(batches_within("500ms", Duration::from_secs(20)), 18);
    assert_eq!(batches_within("1h", Duration::from_secs(2)), 0);
}

/// `tt tags` between two topics, killed with -9 at random moments while it writes, and
/// started again: the posts it had not committed are read and written again, `tt count`
/// skips those whose source it counted, and the counts equal the file's. (A killed member
/// holds its partitions until its session times out: 6 s here, the brokers' least.)
#[test]
fn killing_tags_between_two_topics_counts_every_post_once() {
    let args = ["--rate", "500", "--limit", "30000"];
    let (posts, uses) = (sim_posts(&args), sim_uses(&args));
    let c = cluster(1, &[("posts", 4), ("uses", 4)]);
    publish(&c, "posts", &posts);
    let tags = || {
        let mut cmd = Command::new(tt_path());
        cmd.args([
            "tags",
            &url(&c, "posts"),
            "--group",
            "tags",
            "--to",
            &url(&c, "uses"),
        ])
        .args(["--kafka-option", "session.timeout.ms=6000"])
        .args(["--kafka-option", "heartbeat.interval.ms=500"])
        .arg("--until-end")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        cmd
    };
    let written = || -> i64 { messages_per_partition(&c, "uses", 4).iter().sum() };
    let mut rng = 0x2545F4914F6CDD1Du64;
    let mut killed_while_writing = 0;
    for _ in 0..3 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Kill it once it has written a random number of messages more (the group gives
        // it partitions after a few seconds), counted rather than timed: a release build
        // writes them all within a second.
        let until = written() + 1 + (rng % 2000) as i64;
        let mut child = KillOnDrop(tags().spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        while written() < until && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        killed_while_writing += usize::from(child.0.try_wait().unwrap().is_none());
        let _ = child.0.kill();
        let _ = child.0.wait();
    }
    assert!(
        killed_while_writing >= 2,
        "{killed_while_writing} of 3 kills landed mid-run"
    );
    let status = tags().status().unwrap();
    assert!(status.success());
    let out = tt()
        .args(["count", &url(&c, "uses"), "--until-end"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("message(s) skipped: written again by tt tags"),
        "the kills left replays ({} messages written): {err}",
        written()
    );
    assert_eq!(
        without_end(&out.stdout),
        without_end(&count(&[], Some(&uses), None))
    );
}

/// What a new user gets wrong is said in their terms, exit 2 or 66, before anything runs.
#[test]
fn bad_urls_and_missing_topics_are_said_plainly() {
    let c = cluster(1, &[("uses", 1)]);
    let cases: [(&[&str], i32, &str); 5] = [
        (&["count", "kafka://h:x/t"], 2, "`x` is not a port number"),
        (&["publish", "kafka://host"], 2, "no topic"),
        (
            &["count", "a.ndjson", "--until-end"],
            2,
            "--until-end applies to a kafka:// input",
        ),
        (
            &["tags", "a.ndjson", "--to", "kafka://h/t"],
            2,
            "pipe them into tt publish",
        ),
        (
            &[
                "publish",
                "kafka://h/t",
                "--kafka-option",
                "sasl.password=x",
            ],
            2,
            "secrets are not taken from the command line",
        ),
    ];
    for (args, code, says) in cases {
        let out = tt().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            stderr_of(&out)
        );
        assert!(
            stderr_of(&out).contains(says),
            "{args:?}: {}",
            stderr_of(&out)
        );
    }
    let missing = format!("kafka://{}/nope", c.bootstrap_servers());
    let out = tt()
        .args(["count", &missing, "--until-end"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(66), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("no topic nope"),
        "{}",
        stderr_of(&out)
    );
}

/// Brokers that are not there are said within the first seconds, with the system's
/// reason, not after the 30 s that a reader waits for them.
#[test]
fn brokers_that_do_not_answer_are_said_at_once() {
    let port = closed_port();
    let url = format!("kafka://127.0.0.1:{port}/uses");
    let mut child = KillOnDrop(
        Command::new(tt_path())
            .args(["count", &url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(child.0.stderr.take().unwrap());
    let wants = [
        format!("tt count: kafka: {url}: no answer from the brokers yet"),
        format!("Connect to ipv4#127.0.0.1:{port} failed: Connection refused"),
    ];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut said = Vec::new();
    while !wants
        .iter()
        .all(|w| said.iter().any(|l: &String| l.contains(w)))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => said.push(line),
            Err(_) => panic!("in 10 s, stderr said only {said:#?}"),
        }
    }
    assert!(!said.iter().any(|l| l.contains("error: ")), "{said:#?}");
}

/// `--from` says where reading starts without a saved position: all of the topic, none of
/// it, or what was published at or after a time. (The mock cluster answers no lookup by
/// time, librdkafka's `ListOffsets` handler says FIXME: a time past every message is all
/// that can be checked here, which a real broker answers the same way.)
#[test]
fn reading_starts_where_from_says() {
    let uses = sim_uses(&["--rate", "500", "--limit", "3000"]);
    let c = cluster(1, &[("uses", 4)]);
    publish(&c, "uses", &uses);
    let topic = url(&c, "uses");
    let all = without_end(&count(&[], Some(&uses), None));
    let cases: [(String, bool); 3] = [
        ("earliest".into(), true),
        ("latest".into(), false),
        (time_now(3600), false),
    ];
    for (from, everything) in cases {
        let got = without_end(&count(&["--from", &from], None, Some(&topic)));
        if everything {
            assert_eq!(got, all, "--from {from}");
        } else {
            assert_eq!(got[0]["posts"], 0, "--from {from}: {}", got[0]);
        }
    }
}

/// An RFC 3339 time `secs` seconds from now.
fn time_now(secs: i64) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + secs;
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `tt tags` on a topic of raw posts writes what it writes for the file: per partition in
/// order, the partitions interleaved.
#[test]
fn tags_reads_raw_posts_from_a_topic() {
    let posts = tt()
        .args(["fetch", "sim", "--speed", "max", "--limit", "3000"])
        .output()
        .unwrap()
        .stdout;
    let c = cluster(1, &[("posts", 4)]);
    publish(&c, "posts", &posts);
    let from_topic = tt()
        .args(["tags", &url(&c, "posts"), "--until-end"])
        .output()
        .unwrap();
    assert!(from_topic.status.success(), "{}", stderr_of(&from_topic));
    let from_file = tt().args(["tags"]).write_stdin(posts).output().unwrap();
    let sorted = |b: &[u8]| {
        let mut l: Vec<String> = String::from_utf8_lossy(b)
            .lines()
            .map(String::from)
            .collect();
        l.sort();
        l
    };
    assert!(!from_file.stdout.is_empty());
    assert_eq!(sorted(&from_topic.stdout), sorted(&from_file.stdout));
}

/// The broker goes down while `tt count` reads, and comes back: it says so, waits, and
/// goes on; its batches are those of the file.
#[test]
fn a_reader_waits_for_a_broker_that_comes_back() {
    let uses = sim_uses(&["--rate", "500", "--limit", "10000", "--tags", "2000"]);
    let half = uses.len() / 2
        + uses[uses.len() / 2..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    let c = cluster(1, &[("uses", 4)]);
    publish(&c, "uses", &uses[..half]);
    // --idle longer than the outage: no partition is idle when the second half comes, so
    // none of it can be late (an idle partition's data that arrive after another's newer
    // data, by more than --lateness, would be: the idleness rule's price, as in Flink).
    let args = ["count", "--time", "event", "--batch", "1s", "--idle", "10s"];
    let (mut child, rx) = reading(&args, &url(&c, "uses"));
    let mut got = vec![rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a first batch")];
    c.broker_down(1).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    c.broker_up(1).unwrap();
    publish(&c, "uses", &uses[half..]);
    let file = tt()
        .args(args)
        .write_stdin(uses.clone())
        .output()
        .unwrap()
        .stdout;
    let want: Vec<&str> = std::str::from_utf8(&file).unwrap().lines().collect();
    // All but the last two batches, which wait for a newer time (--lateness is 1 s) or
    // the end of input.
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < want.len() - 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => got.push(line),
            Err(_) => panic!("{} of {} batches", got.len(), want.len() - 2),
        }
    }
    assert_eq!(got, want[..want.len() - 2]);
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("retrying"), "the outage is said: {err}");
}

/// Partial batches (`tt combine`) published to 4 partitions are merged per slot across the
/// partitions and counted as the uses they came from.
#[test]
fn partial_batches_from_a_topic_count_as_their_uses() {
    let uses = sim_uses(&["--rate", "500", "--limit", "6000", "--tags", "2000"]);
    // Two parts of the stream (posts of even and of odd id), each made into partial
    // batches: every slot has two, published in slot order as tt count needs them.
    let (mut even, mut odd) = (Vec::new(), Vec::new());
    for line in uses.split_inclusive(|&b| b == b'\n') {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        let id: u64 = v["id"].as_str().unwrap().parse().unwrap();
        if id.is_multiple_of(2) {
            &mut even
        } else {
            &mut odd
        }
        .extend_from_slice(line);
    }
    let mut partials: Vec<(i64, Vec<u8>)> = Vec::new();
    for part in [even, odd] {
        let out = tt()
            .args(["combine", "--batch", "1s", "-q"])
            .write_stdin(part)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        for line in out.stdout.split_inclusive(|&b| b == b'\n') {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            partials.push((v["slot"].as_i64().unwrap(), line.to_vec()));
        }
    }
    partials.sort_by_key(|p| p.0);
    let c = cluster(1, &[("partials", 4)]);
    let lines: Vec<u8> = partials.into_iter().flat_map(|p| p.1).collect();
    publish(&c, "partials", &lines);
    let args = ["--time", "event", "--batch", "1s"];
    let from_uses = count(&args, Some(&uses), None);
    let from_topic = count(&args, None, Some(&url(&c, "partials")));
    assert_eq!(from_topic, from_uses);
    let per = messages_per_partition(&c, "partials", 4);
    assert!(
        per.iter().filter(|&&n| n > 0).count() >= 2,
        "spread: {per:?}"
    );
}
