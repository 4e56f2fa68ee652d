//! Documentation generated from the clap definitions stays in sync with them:
//! `man/*.1`, shell completions, and the exit codes in every man page.
//! Run with `TT_BLESS=1` to regenerate `man/` (scripts/gen-docs.sh does).

use crate::harness::{stderr_of, tt};

#[test]
fn man_pages_match_the_cli() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages = tt::cmd::man::man_pages();
    if std::env::var_os("TT_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for old in std::fs::read_dir(&dir).unwrap() {
            let p = old.unwrap().path();
            if p.extension().is_some_and(|e| e == "1") {
                std::fs::remove_file(p).unwrap();
            }
        }
        for (name, body) in &pages {
            std::fs::write(dir.join(name), body).unwrap();
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".1"))
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = pages.iter().map(|p| p.0.clone()).collect();
    expected.sort();
    assert_eq!(
        on_disk, expected,
        "man/ has other pages than the CLI: run scripts/gen-docs.sh"
    );
    for (name, body) in &pages {
        let disk = std::fs::read(dir.join(name)).unwrap();
        assert!(
            disk == *body,
            "man/{name} is out of date: run scripts/gen-docs.sh"
        );
    }
}

#[test]
fn every_man_page_lists_the_exit_codes() {
    for (name, body) in tt::cmd::man::man_pages() {
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains(".SH \"EXIT STATUS\""), "{name}");
        for (_, code, _) in tt::error::EXIT_CODES {
            assert!(
                text.contains(&format!("\\fB{code}\\fR")),
                "{name} lacks exit code {code}"
            );
        }
    }
}

#[test]
fn bash_completions_parse() {
    let out = tt().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tt.bash");
    std::fs::write(&f, &out.stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&f)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr_of(&check));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(
            tt().args(["completions", shell])
                .output()
                .unwrap()
                .status
                .success(),
            "{shell}"
        );
    }
}

#[test]
fn help_teaches_with_examples() {
    let out = tt().args(["tags", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("Examples:") && help.contains("--keep-case") && help.contains("twitter-text")
    );
    let top = tt().arg("--help").output().unwrap();
    assert!(String::from_utf8(top.stdout)
        .unwrap()
        .contains("tt fetch sim | tt tags | tt count"));
    let none = tt().output().unwrap();
    assert_eq!(
        none.status.code(),
        Some(2),
        "no subcommand is a usage error"
    );
}

/// Every page renders without a troff warning at 80 columns, has no empty or misnamed
/// section, and names no page that does not exist (scripts/test.sh installs man-db).
#[test]
fn man_pages_render_cleanly() {
    let pages = tt::cmd::man::man_pages();
    let names: Vec<String> = pages.iter().map(|p| p.0.replace(".1", "")).collect();
    for (name, body) in &pages {
        let text = String::from_utf8_lossy(body);
        assert!(!text.contains(".SH EXTRA"), "{name}: EXTRA heading");
        let sections: Vec<&str> = text.lines().filter(|l| l.starts_with(".SH")).collect();
        for pair in sections.windows(2) {
            let after = text.split(pair[0]).nth(1).unwrap_or("");
            let body = after.split(pair[1]).next().unwrap_or("");
            let has_text = body
                .lines()
                .any(|l| !l.is_empty() && !l.starts_with(".ie") && !l.starts_with(".el"));
            assert!(has_text, "{name}: empty section {}", pair[0]);
        }
        for (i, _) in text.match_indices("(1)") {
            let start = text[..i]
                .rfind(|c: char| c.is_whitespace())
                .map_or(0, |s| s + 1);
            let page = text[start..i].replace("\\-", "-");
            if page.starts_with("tt") {
                assert!(
                    names.contains(&page),
                    "{name} names {page}(1), which does not exist"
                );
            }
        }
        let out = std::process::Command::new("man")
            .args(["-l", "-"])
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(body)?;
                c.wait_with_output()
            })
            .expect("man is installed (scripts/test.sh installs man-db)");
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(warnings.trim().is_empty(), "{name}: {warnings}");
    }
}

/// `tt man` gives the same pages after `cargo install`, where `man/` is not at hand.
#[test]
fn tt_man_prints_and_installs_the_pages() {
    let pages = tt::cmd::man::man_pages();
    let count = &pages.iter().find(|p| p.0 == "tt-count.1").unwrap().1;
    for page in ["count", "tt-count"] {
        let out = tt().args(["man", page]).output().unwrap();
        assert!(out.status.success());
        assert!(out.stdout == *count, "tt man {page}");
    }
    let out = tt().arg("man").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(".TH tt 1"));
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("share/man/man1");
    let out = tt().arg("man").arg("--dir").arg(&into).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    for (name, body) in &pages {
        assert!(std::fs::read(into.join(name)).unwrap() == *body, "{name}");
    }
    let out = tt().args(["man", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("no page nope; the pages are: combine, completions, count"));
}

/// Each source's help names the credential variables the code reads; Bluesky needs none
/// and offers no --credentials.
#[test]
fn source_help_names_its_credentials() {
    use tt::source::{mastodon, twitter, x};
    let help = |source: &str| {
        let out = tt().args(["help", "fetch", source]).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let cases: &[(&str, &[&str])] = &[
        ("twitter", &twitter::CREDENTIALS),
        ("x", &[x::CREDENTIAL]),
        ("mastodon", &[mastodon::CREDENTIAL]),
    ];
    for &(source, names) in cases {
        let text = help(source);
        for name in names {
            assert!(text.contains(name), "tt help fetch {source} lacks {name}");
        }
        assert!(text.contains("--credentials"), "{source}");
    }
    let bluesky = help("bluesky");
    assert!(!bluesky.contains("--credentials"), "{bluesky}");
    assert!(bluesky.contains("Credentials: none"), "{bluesky}");
}
