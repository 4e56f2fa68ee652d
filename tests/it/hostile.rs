//! Bad input to every reading command, as a table: each row is one input line after a
//! good one, the command's exit status, a fragment of what it must say on stderr, and
//! how many records the good line still gives on stdout. No input is skipped in silence,
//! no message names a Rust type, and the good lines keep flowing.

use crate::harness::{stderr_of, tt};

const TWEET: &str = r##"{"id_str":"1","text":"#good","user":{"id_str":"2"},"created_at":"Wed Oct 10 20:00:00 +0000 2018"}"##;
const USE: &str =
    r#"{"tag":"good","text":"good","id":"1","at":"2018-10-10T20:00:00Z","user":"2","rt":false}"#;
const UPDATE: &str = r#"{"batch":1,"end":"2018-10-10T20:00:02Z","posts":1,"tags":1,"counting":"total","counts":[{"tag":"good","text":"good","count":1,"delta":1,"uses":1,"trend":0}]}"#;

/// (command, good line, bad line, exit status, stderr fragment, stdout lines)
type Row = (
    &'static [&'static str],
    &'static str,
    &'static str,
    i32,
    &'static str,
    usize,
);

const ROWS: &[Row] = &[
    // tt tags reads raw posts.
    (&["tags"], TWEET, "[1,2,3]", 0, ":2: an array, not a JSON object; skipped", 1),
    (&["tags"], TWEET, "[]", 0, ":2: an array, not a JSON object", 1),
    (&["tags"], TWEET, "[{\"text\":\"#x\"}]", 0, ":2: an array, not a JSON object", 1),
    (&["tags"], TWEET, "42", 0, ":2: a number, not a JSON object", 1),
    (&["tags"], TWEET, "\"#x\"", 0, ":2: a string, not a JSON object", 1),
    (&["tags"], TWEET, "null", 0, ":2: null, not a JSON object", 1),
    (&["tags"], TWEET, "{\"text\":", 0, ":2: not a valid JSON object (EOF while parsing", 1),
    // Starts like a value but is none: the syntax error, not "null" or "an array".
    (&["tags"], TWEET, "nobody:x:65534", 0, ":2: not a valid JSON object (expected true, false or null at column 2)", 1),
    (&["tags"], TWEET, "[1,", 0, ":2: not a valid JSON object (EOF while parsing a value at column 3)", 1),
    (&["tags"], TWEET, "12ab", 0, ":2: not a valid JSON object (trailing characters at column 3)", 1),
    (&["tags"], TWEET, "{\"user\":5,\"text\":\"#x\"}", 0, "expected an object at column 9", 1),
    (&["tags"], TWEET, USE, 0, "looks like tag uses (the output of tt tags), and tt tags reads raw posts: did you mean tt count?", 1),
    (&["tags"], TWEET, "{\"foo\":1}", 0, ":2: not a post or stream notice of a known format (keys: foo)", 1),
    (&["tags", "--strict"], TWEET, "[1]", 65, ":2: an array, not a JSON object (stopping: --strict)", 1),
    // tt count reads tag uses.
    (&["count"], USE, "[\"rust\"]", 0, ":2: not a tag use record (an array, not a tag use object)", 1),
    (&["count"], USE, "[1]", 0, ":2: not a tag use record (an array", 1),
    (&["count"], USE, "nope", 0, ":2: not a tag use record (expected true, false or null at column 2)", 1),
    (&["count"], USE, "{\"tag\":\"\"}", 0, ":2: not a tag use record (the tag is empty)", 1),
    (&["count"], USE, "{\"tag\":123}", 0, ":2: not a tag use record (found the number 123, expected a string", 1),
    (&["count"], USE, "{\"tag\":\"a\",\"user\":[]}", 0, ":2: not a tag use record (invalid type: sequence, expected a string", 1),
    (&["count"], USE, "{\"text\":\"x\"}", 0, ":2: not a tag use record (missing field `tag`", 1),
    (&["count"], USE, TWEET, 0, "looks like raw posts, and tt count reads tag uses (from tt tags) and partial batches (from tt combine): did you mean tt tags?", 1),
    (&["count"], USE, UPDATE, 0, "did you mean tt top?", 1),
    (&["tags"], TWEET, "[", 0, "looks like pretty-printed JSON (an array over many lines), and tt tags reads raw posts: did you mean jq -c '.[]' FILE | tt ...?", 1),
    (&["tags"], TWEET, "{", 0, "did you mean jq -c . FILE | tt ...?", 1),
    (&["tags"], TWEET, r##"[{"text":"#a"},{"text":"#b"}]"##, 0, "looks like a JSON array of objects on one line", 1),
    (&["count"], USE, "  [", 0, "did you mean jq -c '.[]' FILE | tt ...?", 1),
    (&["tags"], TWEET, "window.YTD.tweets.part0 = [", 0, "looks like a Twitter archive's data file (JavaScript: window.YTD... = [...]), and tt tags reads raw posts: did you mean sed '1s/^[^=]*= //' FILE | jq -c '.[].tweet' | tt ...?", 1),
    // Posts saved as a table: its header says so, with a converter to JSON lines.
    (&["tags"], TWEET, "id,created_at,author_id,\"text\"", 0, "looks like CSV with a column of post texts (its header line), and tt tags reads raw posts: did you mean mlr --icsv --ojsonl cat FILE | tt ...?", 1),
    (&["tags"], TWEET, "id\tFull_Text", 0, "did you mean mlr --itsv --ojsonl cat FILE | tt ...?", 1),
    (&["tags"], TWEET, "id,name", 0, ":2: not a valid JSON object (expected a JSON value at column 1); skipped", 1),
    (&["count", "--strict"], USE, "7", 65, ":2: not a tag use record (a number", 0),
    // tt combine reads tag uses (with times) and partial batches.
    (&["combine", "--batch", "2s"], USE, "[1]", 0, ":2: not a tag use record (an array", 1),
    (&["combine", "--batch", "2s"], USE, "{\"tag\":\"a\",\"at\":null}", 0, ":2: no readable `at` time, needed by --time event", 1),
    (&["combine", "--batch", "2s"], USE, "{\"slot\":1,\"batch_ms\":1000,\"posts\":0,\"uses\":[]}", 0, ":2: a partial batch of 1000 ms slots, and the batches here are 2000 ms", 1),
    (&["combine", "--batch", "2s"], USE, "{\"slot\":1,\"uses\":{}}", 0, ":2: not a partial batch record (invalid type: map, expected a sequence", 1),
    (&["combine", "--batch", "2s"], USE, TWEET, 0, "did you mean tt tags?", 1),
    (&["combine", "--batch", "2s", "--strict"], USE, "7", 65, ":2: not a tag use record (a number", 0),
    // tt top reads count updates.
    (&["top"], UPDATE, "[1,2,3,4,5,6,7]", 0, ":2: not a count update from tt count (an array, not an object)", 1),
    (&["top"], UPDATE, "[1,2", 0, ":2: not a count update from tt count (EOF while parsing a list at column 4)", 1),
    (&["top"], UPDATE, "{\"batch\":\"x\"}", 0, ":2: not a count update from tt count (invalid type: string \"x\", expected u64", 1),
    (&["top"], UPDATE, USE, 0, "did you mean tt count?", 1),
    // tt fetch replay writes only objects.
    (&["fetch", "replay", "--speed", "max", "-"], TWEET, "[1,2,3]", 0, ":2: an array, not a JSON object; skipped", 1),
    (&["fetch", "replay", "--speed", "max", "-"], TWEET, "{\"a\":", 0, ":2: not a valid JSON object (EOF while parsing a value", 1),
    (&["fetch", "replay", "--speed", "max", "-"], TWEET, "null x", 0, ":2: not a valid JSON object (trailing characters at column 6)", 1),
];

#[test]
fn every_bad_line_is_named_and_the_good_ones_flow() {
    for &(args, good, bad, code, says, lines) in ROWS {
        let out = tt()
            .args(args)
            .write_stdin(format!("{good}\n{bad}\n"))
            .output()
            .unwrap();
        let err = stderr_of(&out);
        let what = format!("tt {} on {bad:?}", args.join(" "));
        assert_eq!(out.status.code(), Some(code), "{what}: {err}");
        assert!(err.contains(says), "{what}: stderr lacks {says:?}:\n{err}");
        for leak in ["struct ", "Some(", "Raw", "IdOnly"] {
            assert!(!err.contains(leak), "{what}: stderr names {leak:?}:\n{err}");
        }
        let written = String::from_utf8_lossy(&out.stdout).lines().count();
        assert_eq!(written, lines, "{what}: stdout lines");
    }
}

#[test]
fn the_wrong_stage_is_said_once() {
    let input = format!("{USE}\n").repeat(500);
    let out = tt().arg("tags").write_stdin(input).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(err.matches("did you mean tt count?").count(), 1, "{err}");
    assert!(
        err.contains("500 line(s) of unknown format skipped"),
        "{err}"
    );
}

/// An output that cannot be written is said with its path and why, in the user's terms
/// (the system's "No such file or directory" is about the directory), exit 74, and
/// nothing half-written is left beside it.
#[test]
fn a_report_that_cannot_be_written_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/r.html");
    let cases = [
        (missing.clone(), "its directory does not exist"),
        (dir.path().to_path_buf(), "Is a directory"),
    ];
    for (path, why) in cases {
        let out = tt()
            .args(["report", "-o"])
            .arg(&path)
            .write_stdin(format!("{UPDATE}\n"))
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(74), "{err}");
        let says = format!("tt report: cannot write {}: {why}", path.display());
        assert!(err.contains(&says), "{err}");
        assert!(!path.with_extension("html.tmp").exists());
    }
}

/// Usage errors: (arguments, exit status, stderr fragment). Each is refused at once, with
/// the flag's name, before anything is read or sent.
const USAGE: &[(&[&str], i32, &str)] = &[
    (
        &["fetch", "--endpoint", "notaurl"],
        2,
        "twitter: --endpoint notaurl: not a URL",
    ),
    (
        &["fetch", "twitter", "--endpoint", "ftp://127.0.0.1"],
        2,
        "--endpoint ftp://127.0.0.1: wrong scheme ftp://; twitter takes http:// or https:// URLs",
    ),
    (
        &["fetch", "x", "--endpoint", "https://"],
        2,
        "x: --endpoint https://: not a URL (empty host)",
    ),
    (
        &["fetch", "bluesky", "--endpoint", "https://127.0.0.1"],
        2,
        "bluesky takes ws:// or wss:// URLs",
    ),
    (
        &["fetch", "mastodon", "--instance", "mastodon.social"],
        2,
        "mastodon: --instance mastodon.social: not a URL: no scheme (did you mean \
         https://mastodon.social?)",
    ),
    (
        &["fetch", "bluesky", "--endpoint", "jetstream2.us-east.bsky.network"],
        2,
        "no scheme (did you mean wss://jetstream2.us-east.bsky.network?)",
    ),
    (
        &["fetch", "x", "--endpoint", "http://[::1"],
        2,
        "x: --endpoint http://[::1: not a URL (invalid IPv6 address)",
    ),
    (
        &["fetch", "sim", "--rate", "0"],
        2,
        "tt fetch: sim: needs --rate > 0",
    ),
    (
        &["fetch", "bluesky", "--speed", "10"],
        2,
        "--speed paces sim and replay only",
    ),
    (&["serve", "--max-connections", "0"], 2, "--max-connections"),
    (
        &["count", "--batch", "99999999999999h"],
        2,
        "'99999999999999h' is too long",
    ),
    (
        &["top", "--state", "/nonexistent/s.json"],
        66,
        "cannot read state file /nonexistent/s.json",
    ),
    (
        &["count", "--state", "/nonexistent/s.json"],
        66,
        "tt count: cannot keep state file /nonexistent/s.json: its directory does not exist\n",
    ),
    (&["count", "/"], 66, "cannot read /: it is a directory"),
    (&["top", "10", "/"], 66, "cannot read /: it is a directory"),
    (
        &["top", "counts.ndjson"],
        2,
        "'counts.ndjson' is not a number of leaders; N comes before the file: tt top 10 counts.ndjson",
    ),
    (&["top", "0"], 2, "N must be 1 to 100000"),
    (&["top", "100001"], 2, "N must be 1 to 100000"),
    // A hyphen before a value goes to the option's own check, not to clap's "unexpected
    // argument"; numbers are read in the user's terms, not Rust's.
    (&["top", "-1"], 2, "N must be 1 to 100000"),
    (&["count", "--batch", "-2s"], 2, "'-2s' is below zero"),
    (
        &["count", "--batch", "--state", "s.json"],
        2,
        "the value is missing ('--state' is the next option, not a duration",
    ),
    (&["fetch", "sim", "--limit", "-1"], 2, "'-1' is below zero"),
    (&["fetch", "sim", "--rate", "abc"], 2, "'abc' is not a number (like 200 or 1.5)"),
    (&["fetch", "sim", "--rate", "NaN"], 2, "'NaN' is not a number"),
    (&["serve", "--port", "http"], 2, "'http' is not a whole number"),
    (&["serve", "--port", "70000"], 2, "'70000' is too large"),
    (&["tags", "-j", "0"], 2, "'0' is not 1 to 1024"),
    (&["count", "--max-tags", "lots"], 2, "'lots' is not a whole number"),
    (&["report", "--burst-trend", "x", "c.ndjson"], 2, "'x' is not a number"),
];

#[test]
fn usage_errors_name_the_flag_and_exit_at_once() {
    for &(args, code, says) in USAGE {
        let t = std::time::Instant::now();
        let out = tt()
            .args(args)
            .env("TT_FETCH_TIME_SCALE", "1")
            .output()
            .unwrap();
        let err = stderr_of(&out);
        let what = format!("tt {}", args.join(" "));
        assert_eq!(out.status.code(), Some(code), "{what}: {err}");
        assert!(err.contains(says), "{what}: stderr lacks {says:?}:\n{err}");
        assert!(!err.contains("tt fetch: tt fetch"), "{what}: {err}");
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "{what}: not at once"
        );
    }
}

/// An object nested 100,000 deep (RELIABILITY.md §2) is named for what it is.
#[test]
fn deep_nesting_is_named() {
    let deep = "{\"a\":".repeat(100_000) + "1" + &"}".repeat(100_000);
    let out = tt()
        .arg("tags")
        .write_stdin(format!("{TWEET}\n{deep}\n"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(err.contains(":2: not a post or stream notice of a known format (an object nested more than 128 levels deep)"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

/// A post with more hashtags than any real one (`post::MAX_TAGS`) is read in bounded
/// memory: the first ones are counted and the rest said on stderr, not dropped in silence.
/// Distinct ones too, each once (searched one by one against the post's others, 100,000
/// distinct tags took 15.9 s in a release build), and ones in one long token with a `/`
/// (looked back over the token from each, as the URL rule reads, took minutes).
#[test]
fn a_post_of_countless_hashtags_is_bounded_and_said() {
    let line = |text: String| format!("{{\"id_str\":\"1\",\"text\":\"{text}\"}}\n");
    let n = tt::post::MAX_TAGS + 50_000;
    let same = line("#a ".repeat(n));
    let distinct = line((0..n).map(|i| format!("#t{i} ")).collect());
    let one_token = line(format!("x/{}", "#a/".repeat(n)));
    for (args, line, lines) in [
        (&["tags"][..], &same, 1),
        (&["tags", "--occurrences"][..], &same, tt::post::MAX_TAGS),
        (&["tags"][..], &distinct, tt::post::MAX_TAGS),
        (&["tags"][..], &one_token, 1),
    ] {
        let out = tt().args(args).write_stdin(line.clone()).output().unwrap();
        let err = stderr_of(&out);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains(
                "<stdin>:1: a post with over 100000 hashtags: only the first 100000 are counted"
            ),
            "{err}"
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), lines);
    }
}

/// An X page of thousands of retweets, each original among its includes, and a Mastodon
/// status of thousands of tags: each retweet gets its original's tag and each tag of the
/// status is one record (the originals and the server's tags are looked up, not searched:
/// searched, such lines took time that grew with the square of their size).
#[test]
fn large_pages_and_statuses_are_read_whole() {
    let n = 3000;
    let page = serde_json::json!({
        "data": (0..n).map(|i| serde_json::json!({"id": format!("{i}"), "text": "RT @a: …",
            "author_id": "1", "referenced_tweets": [{"type": "retweeted", "id": format!("o{i}")}]}))
            .collect::<Vec<_>>(),
        "includes": {"tweets": (0..n).map(|i| serde_json::json!({"id": format!("o{i}"),
            "text": format!("#x{i}"), "author_id": "2"})).collect::<Vec<_>>()},
    });
    let content: String = (0..n)
        .map(|i| format!("<a href=\"https://m.s/tags/t{i}\" rel=\"tag\">#<span>T{i}</span></a> "))
        .collect();
    let status = serde_json::json!({"id": "1", "content": content, "account": {"id": "5"},
        "tags": (0..n).map(|i| serde_json::json!({"name": format!("t{i}")})).collect::<Vec<_>>()});
    // (line, what each record's text is, before its number)
    let cases = [(page, "x"), (status, "T")];
    for (line, prefix) in cases {
        let out = tt()
            .arg("tags")
            .write_stdin(format!("{line}\n"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let texts: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            texts,
            (0..n).map(|i| format!("{prefix}{i}")).collect::<Vec<_>>()
        );
    }
}

/// A command that will read its standard input from a terminal (typed at a prompt with no
/// FILE) says so before it waits; given a FILE it says nothing of the kind. Through
/// `script`, which gives the command a terminal (and ends it when the test drops it).
#[test]
fn a_command_reading_a_terminal_says_so() {
    use crate::harness::{data, lines_of, tt_path, KillOnDrop};
    use std::time::Duration;
    let tweets = data("twitter-v1-rest_tweepy.ndjson").display().to_string();
    // (arguments, what its first line holds)
    let cases: [(&[&str], &str); 5] = [
        (
            &["count"],
            "tt count: reading tag uses (from tt tags) from the terminal",
        ),
        (
            &["top", "3"],
            "tt top: reading count updates (from tt count) from the terminal",
        ),
        (
            &["tags", "-"],
            "tt tags: reading raw posts (one JSON object per line) from the terminal",
        ),
        (
            &["serve", "--bind", "127.0.0.1:0"],
            "tt serve: reading leaderboards (from tt top) from the terminal",
        ),
        (&["tags", &tweets], r#"{"tag":""#),
    ];
    let at_a_terminal = |args: &[&str]| {
        // Killing `script` leaves its command running on the closed terminal, and tt serve
        // goes on serving after its input ends: `timeout` bounds it (in the foreground, so
        // that it still reads the terminal).
        let line = format!(
            "timeout --foreground 60 {} {}",
            tt_path().display(),
            args.join(" ")
        );
        let mut child = KillOnDrop(
            std::process::Command::new("script")
                .args(["-qec", &line, "/dev/null"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let lines = lines_of(child.0.stdout.take().unwrap());
        (line, child, lines)
    };
    for (args, says) in cases {
        let (line, _child, lines) = at_a_terminal(args);
        let first = lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{line}: nothing within 10 s"));
        assert!(first.contains(says), "{line}: first {first:?}");
        assert!(
            args.len() < 2 || args[0] != "tags" || args[1] == "-" || !first.contains("terminal"),
            "{line}: {first}"
        );
    }
    // --quiet: not a word, and so nothing at all while it waits.
    let (line, _child, lines) = at_a_terminal(&["count", "-q"]);
    let said = lines.recv_timeout(Duration::from_secs(1));
    let waiting = Err(std::sync::mpsc::RecvTimeoutError::Timeout);
    assert_eq!(said, waiting, "{line}: not waiting in silence");
}

/// Every command reading standard input asks for a 1 MiB pipe (or the most the system
/// allows) once it starts reading: the program writing into it may be `zstd` or `curl`,
/// which keep Linux's 64 KiB, and then every 64 KiB costs a wake-up (BENCHMARKS.md,
/// "Standard input"). The pipe is shared, so its size is read from the test's end.
#[cfg(target_os = "linux")]
#[test]
fn every_command_reading_a_pipe_grows_it() {
    use crate::harness::{tt_path, KillOnDrop};
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};
    let most = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .map_or(1 << 20, |s| s.trim().parse::<i32>().unwrap())
        .min(1 << 20);
    // (arguments, a line it reads)
    let cases: [(&[&str], &str); 6] = [
        (&["tags"], TWEET),
        (&["count"], USE),
        (&["combine", "--batch", "2s"], USE),
        (&["top", "3"], UPDATE),
        (&["report"], UPDATE),
        (&["serve", "--bind", "127.0.0.1:0"], UPDATE),
    ];
    for (args, line) in cases {
        let mut child = KillOnDrop(
            std::process::Command::new(tt_path())
                .args(args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut stdin = child.0.stdin.take().unwrap();
        writeln!(stdin, "{line}").unwrap();
        // SAFETY: F_GETPIPE_SZ only reads the size of the pipe behind an open descriptor.
        let size = || unsafe { libc::fcntl(stdin.as_raw_fd(), libc::F_GETPIPE_SZ) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while size() < most && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let line = format!("tt {}", args.join(" "));
        assert_eq!(child.0.try_wait().unwrap(), None, "{line}: still reading");
        assert_eq!(size(), most, "{line}: stdin's pipe");
    }
}

/// A message to a stderr whose reader is gone (`tt ... 2>&1 | head -1`) is dropped, not a
/// panic: the run goes on, and ends as it would have.
#[test]
fn messages_to_a_closed_stderr_are_dropped() {
    use std::io::Write;
    use std::os::fd::{FromRawFd, OwnedFd};
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("day.json");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]).unwrap();
    let gz = gz.display().to_string();
    // (arguments, stdin, exit status)
    let cases: [(&[&str], &str, i32); 4] = [
        (&["count"], "[1]\n", 0),
        (&["count", "--strict"], "[1]\n", 65),
        (&["tags", &gz], "", 65),
        (&["top", "3", "/nonexistent"], "", 66),
    ];
    for (args, input, code) in cases {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills both descriptors, each then owned once.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        drop(read);
        let mut child = std::process::Command::new(crate::harness::tt_path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::from(write))
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "tt {}", args.join(" "));
    }
}

/// A message said on a terminal by a command that draws no progress line of its own
/// clears the line the cursor is on first: in `tt tags F | tt count` that line is `tt
/// tags`' progress, which the message ran into. Not on a pipe (no terminal codes there).
#[test]
fn a_message_clears_another_commands_progress_line() {
    use crate::harness::tt_path;
    let line = format!("echo '[1]' | {} count > /dev/null", tt_path().display());
    let out = std::process::Command::new("timeout")
        .args(["20", "script", "-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.starts_with("\r\u{1b}[2Ktt count: <stdin>:1: not a tag use record"),
        "{shown:?}"
    );
    let out = tt().arg("count").write_stdin("[1]\n").output().unwrap();
    assert!(
        stderr_of(&out).starts_with("tt count: <stdin>:1: not a tag use record"),
        "{}",
        stderr_of(&out)
    );
}

/// A command reading files into a pipe or a file, its stderr on a terminal, draws how much
/// it has read of how much, and clears it at the end; with --quiet, reading a pipe (how
/// much will come is unknown), or writing to the terminal, it draws nothing. Through
/// `script`, which gives the commands a terminal.
#[test]
fn a_run_over_files_shows_its_progress_on_a_terminal() {
    use crate::harness::{data, tt_path};
    let dir = tempfile::tempdir().unwrap();
    let tweets = data("twitter-v1-rest_tweepy.ndjson");
    let uses = dir.path().join("uses.ndjson");
    std::fs::write(
        &uses,
        tt().arg("tags").arg(&tweets).output().unwrap().stdout,
    )
    .unwrap();
    let kib = |f: &std::path::Path, n: u64| {
        let size = std::fs::metadata(f).unwrap().len() * n;
        format!("{:.2} KiB", size as f64 / 1024.0)
    };
    let tt = tt_path().display().to_string();
    let (file, used) = (tweets.display(), uses.display());
    // (command line, what it draws: the command and the total, or nothing)
    let cases = [
        (
            format!("{tt} tags {file} > /dev/null"),
            Some(("tags", kib(&tweets, 1))),
        ),
        (
            format!("{tt} tags -j1 {file} {file} > /dev/null"),
            Some(("tags", kib(&tweets, 2))),
        ),
        (
            format!("{tt} tags {file} | {tt} count > /dev/null"),
            Some(("tags", kib(&tweets, 1))),
        ),
        (
            format!("{tt} count {used} > /dev/null"),
            Some(("count", kib(&uses, 1))),
        ),
        (format!("{tt} tags --quiet {file} > /dev/null"), None),
        (
            format!("{tt} tags < {file} > /dev/null"),
            Some(("tags", kib(&tweets, 1))),
        ),
        (format!("cat {file} | {tt} tags > /dev/null"), None),
        (format!("{tt} tags {file}"), None),
    ];
    for (line, draws) in cases {
        let out = std::process::Command::new("timeout")
            .args(["20", "script", "-qec", &line, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}: {}", stderr_of(&out));
        let shown = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            shown.contains(" read ("),
            draws.is_some(),
            "{line}: {shown:?}"
        );
        if let Some((cmd, total)) = draws {
            let said = format!("tt {cmd}: 0 B of {total} read (0 %)");
            assert!(shown.contains(&said), "{line}: no {said:?} in {shown:?}");
            // Cleared at the end: the last thing on the screen is the erase of the line.
            assert!(
                shown.trim_end().ends_with("\r\u{1b}[2K"),
                "{line}: {shown:?}"
            );
        }
    }
}
