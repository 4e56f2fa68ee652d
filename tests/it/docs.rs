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
