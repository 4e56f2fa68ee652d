//! `tt combine`: partial batches that `tt count --time event` merges into exactly the
//! counts of the uses they came from.

use proptest::prelude::*;

use crate::harness::{stderr_of, tt};

/// The counting modes the partial batches must reproduce.
const MODES: &[&[&str]] = &[
    &[],
    &["--window", "3s"],
    &["--half-life", "2s"],
    &["--distinct", "users"],
    &["--window", "2s", "--distinct", "users"],
];

/// Tag use lines: (tag, at in ms, author), one post each.
fn use_lines(uses: &[(u8, i64, u8)]) -> String {
    uses.iter()
        .enumerate()
        .map(|(i, (t, at, u))| {
            let at = tt::time::format_rfc3339(1_700_000_000_000 + at);
            format!(
                "{{\"tag\":\"t{t}\",\"text\":\"T{t}\",\"id\":\"{i}\",\"at\":\"{at}\",\
                 \"user\":\"u{u}\",\"rt\":false}}\n"
            )
        })
        .collect()
}

fn run(args: &[&str], stdin: impl Into<Vec<u8>>) -> Vec<u8> {
    let out = tt().args(args).write_stdin(stdin).output().unwrap();
    assert!(out.status.success(), "tt {args:?}: {}", stderr_of(&out));
    out.stdout
}

fn count(mode: &[&str], input: impl Into<Vec<u8>>) -> String {
    let mut args = vec!["count", "-q", "--time", "event", "--batch", "1s"];
    args.extend_from_slice(mode);
    String::from_utf8(run(&args, input)).unwrap()
}

fn combine(input: impl Into<Vec<u8>>) -> Vec<u8> {
    run(
        &["combine", "-q", "--batch", "1s", "--distinct", "users"],
        input,
    )
}

fn arb_uses(sorted: bool) -> impl Strategy<Value = Vec<(u8, i64, u8)>> {
    proptest::collection::vec((0u8..6, 0i64..12_000, 0u8..4), 1..150).prop_map(move |mut v| {
        if sorted {
            v.sort_by_key(|u| u.1);
        }
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// On one machine, in any order (late uses included): combine, then count, gives what
    /// count gives on the uses.
    #[test]
    fn combine_then_count_equals_count(uses in arb_uses(false)) {
        let lines = use_lines(&uses);
        let partials = combine(lines.clone());
        for mode in MODES {
            prop_assert_eq!(count(mode, partials.clone()), count(mode, lines.clone()), "{:?}", mode);
        }
    }

    /// A time-ordered stream cut into parts at random places, each part combined apart,
    /// the parts' partial batches put in slot order (as the Spark job does): the counts of
    /// the whole stream, in every mode, whatever the order of the parts.
    #[test]
    fn parts_combined_apart_merge_exactly(
        uses in arb_uses(true),
        cuts in proptest::collection::vec(0usize..150, 0..4),
        reverse in any::<bool>(),
    ) {
        let lines = use_lines(&uses);
        let all: Vec<&str> = lines.lines().collect();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (all.len() + 1)).collect();
        cuts.push(0);
        cuts.push(all.len());
        cuts.sort_unstable();
        let mut parts: Vec<String> = cuts
            .windows(2)
            .map(|w| all[w[0]..w[1]].iter().map(|l| format!("{l}\n")).collect())
            .collect();
        if reverse {
            parts.reverse();
        }
        let mut partials: Vec<(i64, String)> = Vec::new();
        for p in parts {
            for l in String::from_utf8(combine(p)).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                partials.push((v["slot"].as_i64().unwrap(), format!("{l}\n")));
            }
        }
        partials.sort_by_key(|p| p.0); // stable: a slot's parts stay together
        let merged: String = partials.into_iter().map(|p| p.1).collect();
        for mode in MODES {
            prop_assert_eq!(count(mode, merged.clone()), count(mode, lines.clone()), "{:?}", mode);
        }
    }
}

/// Partial batches that cannot be counted as asked are bad lines, said in the user's terms.
#[test]
fn partials_that_do_not_fit_are_reported() {
    let p = r#"{"slot":850000000,"batch_ms":2000,"posts":1,"uses":[["a","A",1]]}"#;
    // (count arguments, input line, stderr fragment)
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["--batch", "1s"],
            p,
            ":1: a partial batch of 2000 ms slots, and the batches here are 1000 ms",
        ),
        (
            &["--batch", "2s", "--distinct", "users"],
            p,
            ":1: a partial batch made without --distinct users",
        ),
        (
            &["--batch", "2s"],
            r#"{"slot":"x","uses":[]}"#,
            ":1: not a partial batch record (invalid type: string \"x\", expected i64",
        ),
        (
            &["--batch", "2s"],
            r#"{"uses":[],"slot":1}"#,
            ":1: not a partial batch record (missing field `batch_ms`",
        ),
        (
            &["--batch", "2s"],
            r#"{"slot":850000000,"batch_ms":2000,"posts":1,"uses":[["","",1]]}"#,
            ":1: a partial batch names an empty tag",
        ),
        (
            &["--batch", "2s", "--distinct", "users"],
            r#"{"slot":850000000,"batch_ms":2000,"posts":1,"uses":[["a","A",1]],"users":[["b",["u1"]]]}"#,
            ":1: a partial batch names authors of `b` but no use of it",
        ),
    ];
    for &(args, line, want) in cases {
        let out = tt()
            .args(["count", "--time", "event"])
            .args(args)
            .write_stdin(format!("{line}\n"))
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?} {line}: {err}");
        assert!(!err.contains("Partial"), "a Rust type name: {err}");
    }
}

/// Partial batches count in processing time and without --batch too (merged into the open
/// batch), and a late partial's uses are counted as late.
#[test]
fn partials_without_event_time_and_late_ones() {
    let lines = use_lines(&[(1, 0, 0), (2, 1500, 1), (1, 1700, 2)]);
    let partials = combine(lines.clone());
    // Without --batch the one batch ends when the input does: compare all but `end`.
    let total = |input: Vec<u8>| {
        let mut v = crate::harness::ndjson(&run(&["count", "-q"], input));
        v[0].as_object_mut().unwrap().remove("end");
        v
    };
    assert_eq!(
        total(partials.clone()),
        total(lines.into_bytes()),
        "all-time totals"
    );
    // Slot 1 again after slot 5 closed it (lateness 0): both of its uses are late.
    let late = "{\"slot\":850000001,\"batch_ms\":1000,\"posts\":1,\"uses\":[[\"a\",\"a\",1]]}\n\
                {\"slot\":850000005,\"batch_ms\":1000,\"posts\":1,\"uses\":[[\"a\",\"a\",1]]}\n\
                {\"slot\":850000001,\"batch_ms\":1000,\"posts\":2,\"uses\":[[\"a\",\"a\",2]]}\n";
    let out = tt()
        .args([
            "count",
            "--time",
            "event",
            "--batch",
            "1s",
            "--lateness",
            "0s",
        ])
        .write_stdin(late)
        .output()
        .unwrap();
    assert!(
        stderr_of(&out).contains("2 late use(s) dropped"),
        "{}",
        stderr_of(&out)
    );
}
