//! Faults injected into `tt count --state`'s save path, named after the checks of
//! RELIABILITY.md. Fault points: `TT_FAULT=crash@state.<point>` aborts there (as a power cut
//! or `kill -9` would), `enospc@...`/`eio@...` make that step fail with the OS error.

use std::path::Path;

use crate::harness::{count_state, ndjson, state_board, stderr_of};

/// A batch of `n` distinct tags. The runs that save it set TT_STATE_COMPACT_BYTES=1, so the
/// save rewrites the snapshot (compaction), the path with the named crash points.
fn many_tags(n: usize, prefix: &str) -> String {
    (0..n)
        .map(|i| format!("{{\"tag\":\"{prefix}{i:06}\",\"text\":\"{prefix}{i:06}\"}}\n"))
        .collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn top_batch(state: &Path) -> u64 {
    state_board(state)["batch"].as_u64().unwrap()
}

/// RELIABILITY 12: a crash at each named point of the snapshot rewrite, 20 times each.
/// The snapshot on disk is byte for byte the previous one or a complete new one; the
/// restart loads batch 2 (the fsync'd log holds it), writes it again first with the same
/// number, and leaves no temp file.
#[test]
fn r12_crash_at_each_named_io_point() {
    let second = many_tags(10, "t");
    let points = [
        "before_write",
        "mid_write",
        "before_fsync",
        "before_rename",
        "after_rename",
        "before_dir_fsync",
    ];
    for point in points {
        for run in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let state = dir.path().join("s.json");
            let first = count_state(&state)
                .write_stdin("{\"tag\":\"a\",\"text\":\"a\"}\n")
                .output()
                .unwrap();
            assert!(first.status.success());
            let old = std::fs::read(&state).unwrap();
            let crashed = count_state(&state)
                .env("TT_FAULT", format!("crash@state.{point}"))
                .env("TT_STATE_COMPACT_BYTES", "1")
                .write_stdin(second.clone())
                .output()
                .unwrap();
            assert!(
                !crashed.status.success(),
                "{point}: the crash point was not reached"
            );
            let now = std::fs::read(&state).unwrap();
            let new_complete =
                tt::state::read_snapshot(&state).is_ok_and(|s| s.counter.last_batch == 2);
            assert!(
                now == old || new_complete,
                "{point} run {run}: the snapshot is neither the old one nor a complete new one"
            );
            // The restart: same batch number first, then it goes on; no temp file is left.
            let restart = count_state(&state).write_stdin("").output().unwrap();
            assert!(restart.status.success(), "{point}: {}", stderr_of(&restart));
            let lines = ndjson(&restart.stdout);
            assert_eq!(
                lines[0]["batch"], 2,
                "{point}: the persisted batch is written again first"
            );
            assert_eq!(lines[0]["tags"], 11);
            assert!(
                !files(dir.path()).iter().any(|f| f.ends_with(".tmp")),
                "{point}: {:?}",
                files(dir.path())
            );
            assert_eq!(top_batch(&state), 3);
        }
    }
}

/// RELIABILITY 13: disk full or an I/O error while saving: exit 74, the old snapshot
/// byte-identical, no temp file left, and the message names the path and the OS error.
/// Nothing of the failed batch was written to stdout (persist first, then emit).
#[test]
fn r13_disk_full_and_io_errors_while_saving() {
    let cases = [
        (
            "enospc@state.log_append",
            "s.json.log",
            "No space left on device",
            many_tags(10, "x"),
        ),
        (
            "enospc@state.write",
            "s.json",
            "No space left on device",
            many_tags(10, "y"),
        ),
        (
            "eio@state.fsync",
            "s.json",
            "Input/output error",
            many_tags(10, "z"),
        ),
    ];
    for (fault, path, os_error, input) in cases {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        assert!(count_state(&state)
            .write_stdin("{\"tag\":\"a\"}\n")
            .output()
            .unwrap()
            .status
            .success());
        let old = std::fs::read(&state).unwrap();
        let old_log = std::fs::read(dir.path().join("s.json.log")).unwrap();
        let out = count_state(&state)
            .env("TT_FAULT", fault)
            .env(
                "TT_STATE_COMPACT_BYTES",
                if fault.contains("log_append") {
                    "1000000000"
                } else {
                    "1"
                },
            )
            .write_stdin(input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(74), "{fault}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(
            err.contains(path) && err.contains(os_error),
            "{fault}: {err}"
        );
        assert_eq!(
            std::fs::read(&state).unwrap(),
            old,
            "{fault}: the snapshot changed"
        );
        assert!(
            !files(dir.path()).iter().any(|f| f.ends_with(".tmp")),
            "{fault}: a temp file is left"
        );
        let lines = ndjson(&out.stdout);
        assert!(
            lines.iter().all(|l| l["batch"] == 1),
            "{fault}: the unsaved batch 2 was emitted"
        );
        if fault.contains("log_append") {
            assert_eq!(
                std::fs::read(dir.path().join("s.json.log")).unwrap(),
                old_log,
                "the failed record was cut back"
            );
        }
        assert_eq!(
            top_batch(&state),
            if fault.contains("log_append") { 1 } else { 2 },
            "{fault}"
        );
    }
}

/// RELIABILITY 13 on a real full disk: the state lives on a 64 KiB tmpfs, and a batch of
/// 5,000 new tags cannot be saved. Exit 74, the snapshot byte-identical, no temp file, and
/// the state still loads at the last saved batch, both when the batch log fills the disk
/// and when the snapshot rewrite does. Mounting needs root (as CI runs) or, for other
/// users, a user namespace (`unshare -rm`).
#[test]
fn r13_a_real_full_disk_on_a_64k_tmpfs() {
    for compact in ["1000000000", "1"] {
        let work = tempfile::tempdir().unwrap();
        let (mnt, out) = (work.path().join("mnt"), work.path().join("out"));
        std::fs::create_dir_all(&mnt).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        let input = work.path().join("in.ndjson");
        std::fs::write(&input, many_tags(5000, "a-rather-long-hashtag-name-")).unwrap();
        let script = r#"
            set -e
            mount -t tmpfs -o size=64k tmpfs "$MNT"
            trap 'umount "$MNT"' EXIT
            echo '{"tag":"a"}' | "$TT" count --state "$MNT/s.json" > /dev/null
            cp "$MNT/s.json" "$OUT/old.json"
            set +e
            "$TT" count --state "$MNT/s.json" < "$IN" > "$OUT/stdout" 2> "$OUT/stderr"
            echo $? > "$OUT/rc"
            ls -a "$MNT" > "$OUT/files"
            cp "$MNT/s.json" "$OUT/new.json"
            "$TT" top 10 --state "$MNT/s.json" > "$OUT/top" 2> "$OUT/top.err"
            echo $? > "$OUT/toprc"
        "#;
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout == b"0\n");
        let mut cmd = if root {
            std::process::Command::new("sh")
        } else {
            let mut c = std::process::Command::new("unshare");
            c.args(["-rm", "sh"]);
            c
        };
        let run = cmd
            .arg("-c")
            .arg(script)
            .env("MNT", &mnt)
            .env("OUT", &out)
            .env("IN", &input)
            .env("TT", crate::harness::tt_path())
            .env("TT_STATE_COMPACT_BYTES", compact)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "cannot mount a tmpfs here (needs root or user namespaces): {}",
            stderr_of(&run)
        );
        let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
        let err = read("stderr");
        assert_eq!(read("rc").trim(), "74", "compact={compact}: {err}");
        assert!(err.contains("No space left on device"), "{err}");
        assert_eq!(read("old.json"), read("new.json"), "the snapshot changed");
        assert!(
            !read("files").contains(".tmp"),
            "a temp file is left: {}",
            read("files")
        );
        assert_eq!(read("toprc").trim(), "0", "{}", read("top.err"));
        let top = ndjson(read("top").as_bytes());
        assert_eq!(
            top[0]["batch"], 1,
            "the state loads at the last saved batch"
        );
        assert!(ndjson(read("stdout").as_bytes())
            .iter()
            .all(|l| l["batch"] == 1));
    }
}

// ---------------------------------------------------------------------------------------
// Property-test twins of the fuzz targets in fuzz/ (those run for minutes with
// scripts/fuzz.sh; these run in CI).

use proptest::prelude::*;

/// JSON-ish text, so that generated bodies get past the first byte of the parser.
fn jsonish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("\"format\":\"tt-count-state\"".to_string()),
            Just("\"counter\":".to_string()),
            Just("\"tags\":".to_string()),
            Just("\"ring\":".to_string()),
            Just("\"trending\":".to_string()),
            Just("\"config\":".to_string()),
            "-?[0-9]{1,20}".prop_map(|s| s),
            "\"[a-z_]{0,8}\"".prop_map(|s| s),
        ],
        0..60,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any bytes, framed with a correct trailer or not, give a state or an error; a state
    /// that loads takes a batch without panicking.
    #[test]
    fn state_loading_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..512), body in jsonish()) {
        let path = Path::new("prop.json");
        let _ = tt::state::parse_snapshot(&raw, path);
        for b in [raw.clone(), body.into_bytes()] {
            let mut framed = b.clone();
            framed.push(b'\n');
            framed.extend_from_slice(tt::state::trailer_for(&b).as_bytes());
            framed.push(b'\n');
            if let Ok(mut snap) = tt::state::parse_snapshot(&framed, path) {
                let next = snap.counter.last_batch.saturating_add(1);
                snap.counter.apply(&tt::record::Batch { batch: next, slot: 1, end: 0, posts: 1, uses: vec![tt::record::SpellingUses::new("a", "A", 1)], users: vec![] });
            }
        }
    }

    /// Any form body gives a form or a 400: never a panic, labels and values pair up.
    #[test]
    fn update_form_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), label in "\\PC{0,40}", data in "[\\[\\]0-9., eE+-]{0,30}") {
        let _ = tt::serve::parse_update_form(&body);
        let form = format!("label={}&data={}", label, data);
        if let Ok(f) = tt::serve::parse_update_form(form.as_bytes()) {
            prop_assert_eq!(f.labels.len(), f.values.len());
        }
    }
}
