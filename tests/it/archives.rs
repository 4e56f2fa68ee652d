//! Compressed saved streams: `.gz`, `.bz2`, `.zst` and `.xz` give exactly what the plain
//! file gives, a file whose name and content disagree is refused with what it is, and a
//! truncated one is reported with its name after the lines before the damage.

use std::io::Write;
use std::path::Path;

use crate::harness::{data, stderr_of, tt};

fn compress(ext: &str, plain: &[u8]) -> Vec<u8> {
    match ext {
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(plain).unwrap();
            e.finish().unwrap()
        }
        "bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(plain).unwrap();
            e.finish().unwrap()
        }
        "zst" => zstd::encode_all(plain, 1).unwrap(),
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(plain).unwrap();
            e.finish().unwrap()
        }
        _ => unreachable!("a codec of the table below"),
    }
}

fn tags_of(path: &Path) -> std::process::Output {
    tt().arg("tags").arg(path).output().unwrap()
}

#[test]
fn every_codec_gives_the_plain_files_output() {
    let plain = std::fs::read(data("twitter-v1-stream_python-twitter.ndjson")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plain_path = dir.path().join("s.ndjson");
    std::fs::write(&plain_path, &plain).unwrap();
    let want = tags_of(&plain_path);
    assert!(want.status.success() && !want.stdout.is_empty());
    // Split at a line end near the middle, for two members.
    let cut = plain[..plain.len() / 2]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let (first, rest) = plain.split_at(cut);
    for ext in ["gz", "bz2", "zst", "xz"] {
        // One member, and two members or frames one after the other (as `cat a.bz2 b.bz2`).
        for (what, bytes) in [
            ("one member", compress(ext, &plain)),
            (
                "two members",
                [compress(ext, first), compress(ext, rest)].concat(),
            ),
        ] {
            let path = dir.path().join(format!("s.ndjson.{ext}"));
            std::fs::write(&path, bytes).unwrap();
            let out = tags_of(&path);
            assert!(out.status.success(), "{ext} {what}: {}", stderr_of(&out));
            assert!(out.stdout == want.stdout, "{ext} {what}: other output");
        }
    }
}

#[test]
fn mislabelled_truncated_and_empty_files() {
    let plain = std::fs::read(data("twitter-v1-stream_python-twitter.ndjson")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // (file name, bytes, exit status, stderr fragment)
    let cases: Vec<(&str, Vec<u8>, i32, &str)> = vec![
        (
            "a.ndjson.bz2",
            compress("gz", &plain),
            65,
            "a.ndjson.bz2: named .bz2 but not bzip2 data: it is gzip data",
        ),
        (
            "b.ndjson.zst",
            plain.clone(),
            65,
            "b.ndjson.zst: named .zst but not zstd data: it looks like plain JSON",
        ),
        (
            "c.ndjson.xz",
            b"hello".to_vec(),
            65,
            "it does not start like any compressed format",
        ),
        ("d.ndjson.gz", Vec::new(), 0, ""),
        ("e.ndjson.bz2", Vec::new(), 0, ""),
    ];
    for (name, bytes, code, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = tags_of(&path);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(code), "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
    }
    for ext in ["gz", "bz2", "zst", "xz"] {
        let whole = compress(ext, &plain);
        let path = dir.path().join(format!("cut.ndjson.{ext}"));
        std::fs::write(&path, &whole[..whole.len() * 3 / 4]).unwrap();
        let out = tags_of(&path);
        let err = stderr_of(&out);
        assert_ne!(
            out.status.code(),
            Some(0),
            "{ext}: a truncated file is an error"
        );
        assert!(err.contains(&format!("cut.ndjson.{ext}")), "{ext}: {err}");
    }
}
