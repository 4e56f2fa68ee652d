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
        // The legacy format of lzma and `xz --format=lzma`, which tt does not read.
        "lzma" => {
            let options = liblzma::stream::LzmaOptions::new_preset(1).unwrap();
            let stream = liblzma::stream::Stream::new_lzma_encoder(&options).unwrap();
            let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
            e.write_all(plain).unwrap();
            e.finish().unwrap()
        }
        _ => unreachable!("a codec of the table below"),
    }
}

/// `tt tags PATH`, checked to give the same with -j3 (stdout, stderr, status) as with -j1.
fn tags_of(path: &Path) -> std::process::Output {
    let one = tt().args(["tags", "-j1"]).arg(path).output().unwrap();
    let many = tt().args(["tags", "-j3"]).arg(path).output().unwrap();
    let what = path.display();
    assert_eq!(
        one.status.code(),
        many.status.code(),
        "{what}: -j3 exits otherwise"
    );
    assert!(one.stdout == many.stdout, "{what}: -j3 writes otherwise");
    assert_eq!(
        stderr_of(&one),
        stderr_of(&many),
        "{what}: -j3 says otherwise"
    );
    one
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

/// `text` (UTF-8) as UTF-16, little-endian, after `bom` if given.
fn utf16(text: &[u8], bom: Option<[u8; 2]>) -> Vec<u8> {
    let units = std::str::from_utf8(text).unwrap().encode_utf16();
    let mut out: Vec<u8> = bom.map(Vec::from).unwrap_or_default();
    out.extend(units.flat_map(u16::to_le_bytes));
    out
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
            "it does not start like any archive or compressed format",
        ),
        // No compressor writes an empty file: one is cut short (a failed download).
        (
            "d.ndjson.gz",
            Vec::new(),
            65,
            "d.ndjson.gz: named .gz but empty (0 bytes), not even gzip's header: cut short",
        ),
        (
            "e.ndjson.bz2",
            Vec::new(),
            65,
            "e.ndjson.bz2: named .bz2 but empty",
        ),
        (
            "f.ndjson.zst",
            Vec::new(),
            65,
            "f.ndjson.zst: named .zst but empty",
        ),
        (
            "g.ndjson.xz",
            Vec::new(),
            65,
            "g.ndjson.xz: named .xz but empty",
        ),
        (
            "h.tar",
            Vec::new(),
            65,
            "h.tar: named .tar but empty (0 bytes)",
        ),
        (
            "i.zip",
            Vec::new(),
            65,
            "i.zip: named .zip but empty (0 bytes)",
        ),
        (
            "j.tar.gz",
            compress("gz", b""),
            65,
            "j.tar.gz: empty once decompressed, so not a tar archive",
        ),
        (
            "k.tar",
            tar_of(&[("a.json.gz", Vec::new())]),
            65,
            "k.tar:a.json.gz: named .gz but empty (0 bytes)",
        ),
        // Named as lines, holding compressed data or an archive: said, not read as a
        // flood of bad lines (stdin, unnamed, is decompressed instead).
        (
            "p.ndjson",
            compress("gz", &plain),
            65,
            "p.ndjson: named as lines of JSON or text, but it is gzip data; rename it",
        ),
        (
            "q.json",
            tar_of(&[("a.json", plain.clone())]),
            65,
            "q.json: named as lines of JSON or text, but it is a tar archive",
        ),
        (
            "r",
            compress("zst", &plain),
            65,
            "r: named as lines of JSON or text, but it is zstd data",
        ),
        (
            "s.tar",
            tar_of(&[("t.json", compress("bz2", &plain))]),
            65,
            "s.tar:t.json: named as lines of JSON or text, but it is bzip2 data",
        ),
        (
            "u.zip",
            zip_of(&[(
                "v.jsonl",
                &compress("xz", &plain),
                zip::CompressionMethod::Stored,
            )]),
            65,
            "u.zip:v.jsonl: named as lines of JSON or text, but it is xz data",
        ),
        // UTF-16 (what Windows PowerShell's > writes), with its byte order mark or not.
        (
            "w.json",
            utf16(&plain, Some([0xff, 0xfe])),
            65,
            "w.json: UTF-16 text (as Windows PowerShell's > and Out-File write), and tt reads \
             UTF-8: convert it first (iconv -f UTF-16 -t UTF-8 FILE)",
        ),
        ("x.json", utf16(&plain, None), 65, "x.json: UTF-16 text"),
        // Named as compressed lines, decompressing to more compressed data, an archive
        // or UTF-16: said, with what to do. A member whose codec tt tags decodes in one
        // piece (zstd, its size declared) is looked at as a stream is.
        (
            "aa.json.gz",
            compress("gz", &tar_of(&[("a.json", plain.clone())])),
            65,
            "aa.json.gz: its gzip data holds a tar archive, not lines of JSON or text: \
             rename it to end in .tar.gz, which tt tags reads",
        ),
        (
            "ab.ndjson.zst",
            compress("zst", &compress("gz", &plain)),
            65,
            "ab.ndjson.zst: its zstd data holds gzip data, not lines of JSON or text: it was \
             compressed twice: decompress it once (zstd -dc FILE > OUT.json.gz)",
        ),
        (
            "ac.json.bz2",
            compress("bz2", &utf16(&plain, None)),
            65,
            "ac.json.bz2: UTF-16 text (as Windows PowerShell's > and Out-File write), and tt \
             reads UTF-8: convert it first (bzip2 -dc FILE | iconv -f UTF-16 -t UTF-8)",
        ),
        (
            "ad.tar",
            tar_of(&[(
                "m.json.xz",
                compress(
                    "xz",
                    &zip_of(&[("a.json", &plain, zip::CompressionMethod::Stored)]),
                ),
            )]),
            65,
            "ad.tar:m.json.xz: its xz data holds a zip archive, not lines of JSON or text: \
             decompress it (xz -dc FILE > OUT.zip) and read that",
        ),
        (
            "ae.json.zst",
            zstd::bulk::compress(&compress("xz", &plain), 3).unwrap(),
            65,
            "ae.json.zst: its zstd data holds xz data",
        ),
        (
            "af.json.zst",
            zstd::bulk::compress(&compress("gz", b"{}\n"), 3).unwrap(),
            65,
            "af.json.zst: its zstd data holds gzip data",
        ),
        // GNU tar's short names for compressed tars.
        ("ag.tbz2", compress("bz2", &tar_of(&[])), 0, ""),
        ("ah.txz", compress("xz", &tar_of(&[])), 0, ""),
        ("ai.tzst", compress("zst", &tar_of(&[])), 0, ""),
        ("aj.taz", compress("gz", &tar_of(&[])), 0, ""),
        // After the last gzip member or bzip2 stream, zero bytes are padding (gzip -d
        // reads on quietly); other bytes are said, after the lines before them.
        (
            "y.ndjson.gz",
            [compress("gz", &plain), vec![0; 700]].concat(),
            0,
            "",
        ),
        (
            "y2.ndjson.bz2",
            [compress("bz2", &plain), vec![0; 700]].concat(),
            0,
            "",
        ),
        (
            "z.ndjson.gz",
            [compress("gz", &plain), vec![0; 3], b"junk".to_vec()].concat(),
            65,
            "z.ndjson.gz: damaged gzip data after line 72 (what follows the end of the gzip \
             data is not gzip data)",
        ),
        // Formats tt does not read, and binary data: said once, with what to do, not read
        // as a flood of invalid lines. The lz4 magic number is ASCII, so only the table of
        // magic numbers tells this file from lines; its data here is the lines themselves.
        (
            "ak.json.lz4",
            [&[0x04, 0x22, 0x4d, 0x18], &plain[..]].concat(),
            65,
            "ak.json.lz4: lz4 data, which tt does not read: decompress it first (lz4 -dc FILE \
             | tt ...)",
        ),
        (
            "al.json",
            compress("lzma", &plain),
            65,
            "al.json: lzma data, which tt does not read: decompress it first (xz -dc FILE",
        ),
        (
            "am.json.gz",
            compress("gz", b"7z\xbc\xaf\x27\x1c\x00\x04"),
            65,
            "am.json.gz: its gzip data holds a 7-Zip archive, which tt does not read: \
             decompress it and extract its files (gzip -dc FILE > OUT.7z; 7z x OUT.7z)",
        ),
        (
            "an.ndjson.zst",
            zstd::bulk::compress(&compress("lzma", &plain), 3).unwrap(),
            65,
            "an.ndjson.zst: its zstd data holds lzma data, which tt does not read: decompress \
             both (zstd -dc FILE | xz -dc | tt ...)",
        ),
        (
            "ao.json.xz",
            [&[0x04, 0x22, 0x4d, 0x18], &plain[..]].concat(),
            65,
            "ao.json.xz: named .xz but not xz data: it is lz4 data, which tt does not read",
        ),
        (
            "ap.json",
            [&b"SQLite format 3\x00\x10\x00"[..], &plain[..]].concat(),
            65,
            "ap.json: binary data, not lines of JSON or text (byte 16 of its first line is \
             0x00)",
        ),
        (
            "aq.json",
            [&b"\x89\x01\x02\x03\n"[..], &plain[..]].concat(),
            65,
            "aq.json: binary data, not lines of JSON or text (byte 2 of its first line is \
             0x01)",
        ),
        // brotli has no magic number: its name says it.
        (
            "au.json.br",
            plain.clone(),
            65,
            "au.json.br: named .br (brotli data), which tt does not read: decompress it \
             first (brotli -dc FILE | tt ...)",
        ),
        // A first line of Latin-1 text, or one stray control character in valid UTF-8, is
        // a bad line like any other: the lines after it are read.
        (
            "ar.json",
            [&b"caf\xe9 au lait\n"[..], &plain[..]].concat(),
            0,
            "ar.json:1: invalid UTF-8",
        ),
        (
            "as.json",
            [&b"{\"a\x01\": 1}\n"[..], &plain[..]].concat(),
            0,
            "as.json:1: not a valid JSON object",
        ),
        // Members named as posts compressed in such a format are told from members that
        // are not posts: an archive of them read nothing, said as "not JSON".
        (
            "at.tar",
            tar_of(&[
                (
                    "x.json.lz4",
                    [&[0x04, 0x22, 0x4d, 0x18], &plain[..]].concat(),
                ),
                ("y.json.br", plain.clone()),
                ("z.txt", plain.clone()),
            ]),
            0,
            "at.tar: 2 member(s) skipped: compressed in a format tt does not read (first: \
             x.json.lz4, lz4 data): decompress them first",
        ),
        // What the tools write for nothing is read as nothing, and is not an error.
        ("l.ndjson.gz", compress("gz", b""), 0, ""),
        ("m.ndjson.zst", compress("zst", b""), 0, ""),
        ("n.tar", tar_of(&[]), 0, ""),
        ("o.zip", zip_of(&[]), 0, ""),
    ];
    for (name, bytes, code, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = tags_of(&path);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(code), "{name}: {err}");
        match says {
            "" => assert_eq!(err, "", "{name}"),
            says => assert!(err.contains(says), "{name}: {err}"),
        }
    }
    // Stdin is checked for UTF-16 too, decompressed or not, and the other commands check
    // their files.
    let gzipped = dir.path().join("p.ndjson").display().to_string();
    let tar_gz = dir.path().join("aa.json.gz").display().to_string();
    let others: [(&[&str], Vec<u8>, &str); 8] = [
        (
            &["tags", "-"],
            compress("lzma", &plain),
            "<stdin>: lzma data, which tt does not read: decompress it first (... | xz -dc | \
             tt ...)",
        ),
        (
            &["count", "-"],
            [&[0x04, 0x22, 0x4d, 0x18], &plain[..]].concat(),
            "<stdin>: lz4 data, which tt does not read",
        ),
        (
            &["tags", "-"],
            compress("gz", b"\x00\x01\x02"),
            "<stdin>: its gzip data holds binary data, not lines of JSON or text (byte 1 of \
             its first line is 0x00)",
        ),
        (
            &["count", &tar_gz],
            Vec::new(),
            "aa.json.gz: its gzip data holds a tar archive",
        ),
        (
            &["tags", "-"],
            utf16(&plain, Some([0xff, 0xfe])),
            "<stdin>: UTF-16 text",
        ),
        (
            &["tags", "-"],
            compress("gz", &compress("zst", &plain)),
            "<stdin>: its gzip data holds zstd data, not lines of JSON or text",
        ),
        (
            &["top", "10", "-"],
            compress("xz", &utf16(&plain, None)),
            "<stdin>: UTF-16 text (as Windows PowerShell's > and Out-File write), and tt \
             reads UTF-8: convert it first (xz -dc FILE | iconv",
        ),
        (
            &["count", &gzipped],
            Vec::new(),
            "p.ndjson: named as lines of JSON or text, but it is gzip data",
        ),
    ];
    for (args, stdin, says) in others {
        let out = tt().args(args).write_stdin(stdin).output().unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(65), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
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

/// A `.bz2` file big enough to be decoded a block on each thread (over 1 MiB, tt's
/// SPLIT_ALONE): `-j3` writes and says what `-j1` does (tags_of), whole, with a block
/// damaged (the lines before it, then the error, exit 65), cut short, and with data that
/// is not bzip2 after it, as a file and on stdin; and whole, what the plain file gives.
#[test]
fn a_big_bz2_file_reads_the_same_on_all_threads() {
    // Words that compress badly, so that 2 MB of lines make a dozen blocks at level 1.
    let mut s = 1u64;
    let mut word = || {
        (0..7)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                char::from(b'a' + (s % 26) as u8)
            })
            .collect::<String>()
    };
    let mut plain = String::new();
    for i in 0..14_000 {
        match i % 997 {
            5 => plain += "{\"not\": json\n",
            9 => plain += "\n",
            _ => {
                let text = (0..16).map(|_| word()).collect::<Vec<_>>().join(" ");
                plain += &format!("{{\"id_str\":\"{i}\",\"text\":\"#{} {text}\"}}\n", word());
            }
        }
    }
    plain += "{\"text\":\"#last without a newline\"}";
    let dir = tempfile::tempdir().unwrap();
    let plain_path = dir.path().join("big.ndjson");
    std::fs::write(&plain_path, &plain).unwrap();
    let want = tags_of(&plain_path);
    let whole = compress("bz2", plain.as_bytes());
    assert!(
        whole.len() > 1 << 20,
        "{} bytes: not over SPLIT_ALONE",
        whole.len()
    );
    let mut damaged = whole.clone();
    damaged[whole.len() / 2] ^= 0x10;
    let cases = [
        ("whole", whole.clone(), want.status.code().unwrap()),
        ("damaged", damaged, 65),
        ("cut", whole[..whole.len() * 2 / 3].to_vec(), 65),
        ("junk after", [&whole[..], b"junk"].concat(), 65),
    ];
    for (what, bytes, code) in cases {
        let path = dir.path().join(format!("{what}.ndjson.bz2"));
        std::fs::write(&path, &bytes).unwrap();
        let out = tags_of(&path);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(code), "{what}: {err}");
        // Through stdin (`curl .../day.json.bz2 | tt tags`), the same again.
        let piped = ["-j1", "-j3"].map(|j| {
            let out = tt()
                .args(["tags", j])
                .write_stdin(bytes.clone())
                .output()
                .unwrap();
            (out.status.code(), stderr_of(&out), out.stdout)
        });
        assert!(piped[0] == piped[1], "{what}: -j3 on stdin reads otherwise");
        assert!(
            piped[0].2 == out.stdout,
            "{what}: stdin reads otherwise than the file"
        );
        if what == "whole" {
            assert!(
                out.stdout == want.stdout,
                "whole: other output than the plain file's"
            );
            assert!(!out.stdout.is_empty());
        } else {
            assert!(
                out.stdout.len() < want.stdout.len() && !out.stdout.is_empty(),
                "{what}"
            );
            assert!(err.contains(&format!("{what}.ndjson.bz2")), "{what}: {err}");
        }
    }
}

/// A directory's walk reads its regular files only: opening a named pipe that no one
/// writes to waited for ever. Named on the command line, a pipe is read.
#[test]
fn a_named_pipe_in_a_directory_is_skipped() {
    let (p1, _) = halves();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), &p1).unwrap();
    let want = tags_of(&dir.path().join("a.json")).stdout;
    let pipe = dir.path().join("b.json");
    let made = std::process::Command::new("mkfifo").arg(&pipe).status();
    assert!(made.unwrap().success(), "mkfifo");
    let out = tt()
        .arg("tags")
        .arg(dir.path())
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout == want, "other output: {err}");
    let says = format!(
        "1 file(s) skipped: not JSON, a link to a directory, or not a regular file (first: {})",
        pipe.display()
    );
    assert!(err.contains(&says), "{err}");
    // Named, it is read (its writer here is a thread, which the open on tt's side frees).
    let writer = {
        let (pipe, p1) = (pipe.clone(), p1.clone());
        std::thread::spawn(move || std::fs::write(pipe, p1))
    };
    let out = tt()
        .arg("tags")
        .arg(&pipe)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(out.stdout == want, "the named pipe: other output");
    writer.join().unwrap().unwrap();
}

/// The real stream captures in two halves, cut between lines.
fn halves() -> (Vec<u8>, Vec<u8>) {
    let plain = std::fs::read(data("twitter-v1-stream_python-twitter.ndjson")).unwrap();
    let lines: Vec<&[u8]> = plain.split_inclusive(|&b| b == b'\n').collect();
    let half = lines.len() / 2;
    (lines[..half].concat(), lines[half..].concat())
}

fn tar_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, &bytes[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// A Stream-Grab-shaped archive: a `.tar` of hourly members compressed each their own
/// way; the output is that of the members' lines in archive order, and messages name the
/// archive, the member and the line.
#[test]
fn tar_archives_and_directories() {
    let plain = std::fs::read(data("twitter-v1-stream_python-twitter.ndjson")).unwrap();
    let lines: Vec<&[u8]> = plain.split_inclusive(|&b| b == b'\n').collect();
    let third = lines.len() / 3;
    let part = |a: usize, b: usize| lines[a..b].concat();
    let (p1, p2, p3) = (
        part(0, third),
        part(third, 2 * third),
        part(2 * third, lines.len()),
    );
    let mut p3_bad = p3.clone();
    p3_bad.splice(0..0, b"[1,2]\n".iter().copied());
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.ndjson");
    std::fs::write(&whole, [p1.clone(), p2.clone(), p3.clone()].concat()).unwrap();
    let want = tags_of(&whole).stdout;
    let members = vec![
        ("2020/01/01/00/00.json.bz2", compress("bz2", &p1)),
        ("2020/01/01/00/01.json.zst", compress("zst", &p2)),
        ("README.txt", b"not posts".to_vec()),
        ("2020/01/01/00/02.json", p3_bad),
    ];
    let tar = tar_of(&members);
    for (name, bytes) in [
        ("month.tar", tar.clone()),
        ("month.tar.gz", compress("gz", &tar)),
        ("month.tar.bz2", compress("bz2", &tar)),
        ("month.tar.xz", compress("xz", &tar)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = tags_of(&path);
        let err = stderr_of(&out);
        assert!(out.status.success(), "{name}: {err}");
        assert!(out.stdout == want, "{name}: other output");
        assert!(
            err.contains(&format!(
                "{name}:2020/01/01/00/02.json:1: an array, not a JSON object"
            )),
            "{name}: {err}"
        );
        assert!(
            err.contains("1 member(s) skipped: not JSON, or a link or other special file (first: README.txt)"),
            "{name}: {err}"
        );
    }
    // A directory: its JSON files, recursively, in name order; other files said once.
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("b/c")).unwrap();
    std::fs::write(tree.join("a.json"), &p1).unwrap();
    std::fs::write(tree.join("b/c/x.ndjson.gz"), compress("gz", &p2)).unwrap();
    std::fs::write(tree.join("b/notes.md"), b"# notes").unwrap();
    std::fs::write(tree.join("c.jsonl.bz2"), compress("bz2", &p3)).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&tree, tree.join("b/loop")).unwrap();
    let out = tags_of(&tree);
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout == want, "directory: other output");
    assert!(
        err.contains("2 file(s) skipped: not JSON, a link to a directory, or not a regular file"),
        "{err}"
    );
    // A link member has no posts of its own: not read, but counted in the note. A pax
    // global header (`git archive` writes one first) is not a member; a contiguous file
    // is a regular one.
    let mut b = tar::Builder::new(Vec::new());
    let global = b"52 comment=f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed\n";
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XGlobalHeader);
    h.set_size(global.len() as u64);
    h.set_cksum();
    b.append_data(&mut h, "pax_global_header", &global[..])
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "a/link.json", "00.json").unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Continuous);
    h.set_size(p1.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "a/00.json", &p1[..]).unwrap();
    let linked = dir.path().join("linked.tar");
    std::fs::write(&linked, b.into_inner().unwrap()).unwrap();
    let out = tags_of(&linked);
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        out.stdout == tags_of(&tree.join("a.json")).stdout,
        "a link read: {err}"
    );
    assert!(
        err.contains(
            "1 member(s) skipped: not JSON, or a link or other special file (first: a/link.json)"
        ),
        "{err}"
    );
    // An empty archive gives nothing, and says nothing is wrong.
    let empty = dir.path().join("empty.tar");
    std::fs::write(&empty, tar_of(&[])).unwrap();
    let out = tags_of(&empty);
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "{}",
        stderr_of(&out)
    );
    // An empty directory is said, not passed over in silence.
    let none = dir.path().join("none");
    std::fs::create_dir(&none).unwrap();
    let out = tags_of(&none);
    let err = stderr_of(&out);
    assert!(out.status.success() && out.stdout.is_empty(), "{err}");
    assert!(
        err.contains("none: an empty directory: nothing read from it"),
        "{err}"
    );
}

/// Many small inputs (a `.tar` of one-tweet members, a directory of as many files: the
/// workers of -j take them several at a time): what -j1 writes and says, at any -j, with a
/// bad line, a damaged member and a large input among them, each said where it is.
#[test]
fn many_small_inputs_read_alike_on_all_threads() {
    let plain = std::fs::read(data("twitter-v1-stream_python-twitter.ndjson")).unwrap();
    let lines: Vec<&[u8]> = plain.split_inclusive(|&b| b == b'\n').collect();
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for round in 0..3 {
        for (i, line) in lines.iter().enumerate() {
            let name = format!("{round}/{i:03}.json");
            members.push(match i % 5 {
                // A bad line after a post: said as the member's line 2.
                1 => (name, [line, b"[1]\n".as_slice()].concat()),
                2 => (name + ".gz", compress("gz", line)),
                _ => (name, line.to_vec()),
            });
        }
        // The whole capture (over 64 KiB: it goes alone), and a damaged member.
        members.push((format!("{round}/all.json"), plain.clone()));
        let gz = compress("gz", &plain);
        members.push((format!("{round}/cut.json.gz"), gz[..gz.len() / 2].to_vec()));
    }
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("many.tar");
    let refs: Vec<(&str, Vec<u8>)> = members
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    std::fs::write(&tar, tar_of(&refs)).unwrap();
    let tree = dir.path().join("tree");
    for (name, bytes) in &members {
        let path = tree.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    for path in [&tar, &tree] {
        let one = tags_of(path);
        let err = stderr_of(&one);
        let what = path.display();
        assert_eq!(one.status.code(), Some(65), "{what}: {err}");
        // Each post once, then the whole capture: twice the capture's uses, three times.
        let all = tt()
            .args(["tags", "-j1"])
            .arg(data("twitter-v1-stream_python-twitter.ndjson"))
            .output()
            .unwrap();
        assert!(
            one.stdout.len() > 5 * all.stdout.len(),
            "{what}: too little output"
        );
        let at = |m: &str| match path == &tar {
            true => format!("many.tar:{m}"),
            false => format!("tree/{m}"),
        };
        for needle in [
            format!("{}:2: an array, not a JSON object", at("0/001.json")),
            format!("{}: damaged gzip data after line", at("1/cut.json.gz")),
            format!("{}: damaged gzip data after line", at("2/cut.json.gz")),
        ] {
            assert!(err.contains(&needle), "{what}: no {needle:?} in {err}");
        }
        for j in ["-j2", "-j4"] {
            let many = tt().args(["tags", j]).arg(path).output().unwrap();
            assert_eq!(
                one.status.code(),
                many.status.code(),
                "{what}: {j} exits otherwise"
            );
            assert!(one.stdout == many.stdout, "{what}: {j} writes otherwise");
            assert_eq!(err, stderr_of(&many), "{what}: {j} says otherwise");
        }
    }
}

/// With --input text, directories and archives give their `.txt` and `.text` files (they
/// gave none: not JSON), compressed or not, and skip the rest, said once.
#[test]
fn text_input_reads_the_text_files_of_directories_and_archives() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("b")).unwrap();
    std::fs::write(tree.join("a.txt"), "hello #world\n#rust is fun\n").unwrap();
    std::fs::write(tree.join("b/c.text.gz"), compress("gz", b"x #y\n")).unwrap();
    std::fs::write(tree.join("b/d.json"), "{\"text\":\"#not\"}\n").unwrap();
    let tar = tar_of(&[
        ("a.txt", b"hello #world\n#rust is fun\n".to_vec()),
        ("b/c.text.gz", compress("gz", b"x #y\n")),
        ("b/d.json", b"{\"text\":\"#not\"}\n".to_vec()),
    ]);
    let tar_path = dir.path().join("t.tar");
    std::fs::write(&tar_path, tar).unwrap();
    for (path, skipped) in [
        (
            &tree,
            "1 file(s) skipped: not text (.txt), a link to a directory, or not a regular file",
        ),
        (
            &tar_path,
            "1 member(s) skipped: not text (.txt), or a link or other special file",
        ),
    ] {
        for j in ["-j1", "-j3"] {
            let out = tt()
                .args(["tags", j, "--input", "text"])
                .arg(path)
                .output()
                .unwrap();
            let tags: Vec<String> = crate::harness::ndjson(&out.stdout)
                .iter()
                .map(|r| r["tag"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(tags, ["world", "rust", "y"], "{j} {}", path.display());
            assert!(stderr_of(&out).contains(skipped), "{}", stderr_of(&out));
        }
    }
}

/// A damaged member (cut short) or one that is not what its name says ends that member,
/// not the run: the lines before the damage and every member and file after it are
/// tagged, each is said with where its damage starts, and the run exits 65. With --strict
/// the first ends the run.
#[test]
fn a_damaged_member_ends_itself_not_the_run() {
    use std::io::Read;
    let (p1, p2) = halves();
    let whole = compress("gz", &p1);
    let cut = whole[..whole.len() * 3 / 4].to_vec();
    // What the cut member still gives: its whole lines before the damage.
    let mut decoded = Vec::new();
    let refused = flate2::read::GzDecoder::new(&cut[..]).read_to_end(&mut decoded);
    assert!(refused.is_err());
    let kept = decoded
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let n = decoded[..kept].iter().filter(|&&b| b == b'\n').count();
    assert!(n > 0, "the cut leaves some lines");
    let dir = tempfile::tempdir().unwrap();
    let plain_path = dir.path().join("want.ndjson");
    std::fs::write(&plain_path, [&decoded[..kept], &p2[..], &p2[..]].concat()).unwrap();
    let want = tags_of(&plain_path).stdout;

    let tar = tar_of(&[
        ("a/00.json.gz", cut.clone()),
        ("a/01.json.bz2", compress("gz", &p2)),
        ("a/02.json.zst", compress("zst", &p2)),
        ("a/03.json", p2.clone()),
    ]);
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("00.json.gz"), &cut).unwrap();
    std::fs::write(tree.join("01.json.bz2"), compress("gz", &p2)).unwrap();
    std::fs::write(tree.join("02.json.xz"), compress("xz", &p2)).unwrap();
    std::fs::write(tree.join("03.json"), &p2).unwrap();
    let month = dir.path().join("month.tar");
    std::fs::write(&month, tar).unwrap();
    // (input, name of the cut member, name of the mislabelled one)
    let cases = [
        (&month, "month.tar:a/00.json.gz", "month.tar:a/01.json.bz2"),
        (&tree, "tree/00.json.gz", "tree/01.json.bz2"),
    ];
    for (input, cut_name, mislabelled) in cases {
        let out = tags_of(input);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(65), "{err}");
        assert!(
            out.stdout == want,
            "{cut_name}: not the lines before the damage and the members after it"
        );
        for says in [
            format!("{cut_name}: damaged gzip data after line {n} ("),
            format!("{mislabelled}: named .bz2 but not bzip2 data: it is gzip data"),
            "2 input(s) damaged, not what their names say or not readable".to_string(),
        ] {
            assert!(err.contains(&says), "{cut_name}: no {says:?} in {err}");
        }
        // --strict: the first damage is the end.
        let strict = tt().args(["tags", "--strict"]).arg(input).output().unwrap();
        let err = stderr_of(&strict);
        assert_eq!(strict.status.code(), Some(65), "{err}");
        assert!(
            err.contains(cut_name) && !err.contains("reading on"),
            "{err}"
        );
    }
}

/// A `.zip` archive (as later months of the Stream Grab): members in archive order, each
/// deflated or stored by the zip and decompressed by its own extension too; a damaged
/// archive is refused with its name.
#[test]
fn zip_archives() {
    use zip::write::SimpleFileOptions;
    let (p1, p2) = halves();
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.ndjson");
    std::fs::write(&whole, [&p1[..], b"[1]\n", &p2[..]].concat()).unwrap();
    let want = tags_of(&whole);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.add_directory("2021/", stored).unwrap();
    z.start_file("2021/01/01/00.json", deflated).unwrap();
    z.write_all(&p1).unwrap();
    z.start_file("2021/01/01/01.json.bz2", stored).unwrap();
    z.write_all(&compress("bz2", &[&b"[1]\n"[..], &p2[..]].concat()))
        .unwrap();
    z.start_file("README.txt", deflated).unwrap();
    z.write_all(b"not posts").unwrap();
    // A link (`zip --symlinks`) holds its target's name, not posts: skipped, as in a tar.
    z.add_symlink("2021/01/01/latest.json", "00.json", stored)
        .unwrap();
    let bytes = z.finish().unwrap().into_inner();
    let path = dir.path().join("month.zip");
    std::fs::write(&path, &bytes).unwrap();
    let out = tags_of(&path);
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout == want.stdout, "zip: other output");
    assert!(
        err.contains("month.zip:2021/01/01/01.json.bz2:1: an array, not a JSON object"),
        "{err}"
    );
    assert!(
        err.contains(
            "2 member(s) skipped: not JSON, or a link or other special file (first: README.txt)"
        ),
        "{err}"
    );
    // Members compressed by the zip with bzip2, zstd, LZMA or XZ (zip -Z bzip2, 7-Zip,
    // Python's zipfile.ZIP_LZMA). The zip crate writes no LZMA: that member is written
    // stored and its method, checksum and size set after.
    use zip::CompressionMethod::{Bzip2, Lzma, Stored, Xz, Zstd};
    let rest = [&b"[1]\n"[..], &p2[..]].concat();
    let lzma_p1 = zip_lzma(&p1);
    for (first, second) in [(Bzip2, Zstd), (Lzma, Xz)] {
        let methods = match first {
            Lzma => zip_first_member(
                zip_of(&[("00.json", &lzma_p1, Stored), ("01.json", &rest, second)]),
                8,
                |h| {
                    h[..2].copy_from_slice(&14u16.to_le_bytes());
                    h[6..10].copy_from_slice(&crc32fast::hash(&p1).to_le_bytes());
                    h[14..18].copy_from_slice(&(p1.len() as u32).to_le_bytes());
                },
            ),
            _ => zip_of(&[("00.json", &p1, first), ("01.json", &rest, second)]),
        };
        let path = dir.path().join("methods.zip");
        std::fs::write(&path, &methods).unwrap();
        let out = tags_of(&path);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(
            out.stdout == want.stdout,
            "{first} and {second} members: other output"
        );
    }
}

/// A zip member whose checksum fails is damaged data of that member, as a cut `.gz` is:
/// its lines are tagged, the damage is said with the member's name, the members after it
/// are read, and the run exits 65; the same with -j1 and -j3, whether the member streams
/// (plain JSON) or goes to a worker whole (compressed by its own extension).
#[test]
fn a_zip_member_that_fails_its_checksum_ends_itself_not_the_run() {
    use zip::write::SimpleFileOptions;
    let (p1, p2) = halves();
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.ndjson");
    std::fs::write(&whole, [&p1[..], &p2[..], &p2[..]].concat()).unwrap();
    let want = tags_of(&whole).stdout;
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let members = [
        ("00.json", p1.clone()),
        ("01.json.gz", compress("gz", &p2)),
        ("02.json", p2.clone()),
    ];
    for (name, bytes) in &members {
        z.start_file(*name, stored).unwrap();
        z.write_all(bytes).unwrap();
    }
    let mut bytes = z.finish().unwrap().into_inner();
    // The checksums the zip holds for the first two members (local header and central
    // directory), each made wrong by one bit; their data stays whole.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
    for i in 0..2 {
        let crc = archive.by_index(i).unwrap().crc32().to_le_bytes();
        let at: Vec<usize> = bytes
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == crc)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(at.len(), 2, "member {i}: its checksum twice in the archive");
        for i in at {
            bytes[i] ^= 1;
        }
    }
    let path = dir.path().join("month.zip");
    std::fs::write(&path, &bytes).unwrap();
    let out = tags_of(&path);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(65), "{err}");
    assert!(out.stdout == want, "not every member's lines: {err}");
    for says in [
        "month.zip:00.json: damaged zip data after line ",
        "month.zip:01.json.gz: damaged zip data after line ",
        "2 input(s) damaged, not what their names say or not readable",
    ] {
        assert!(err.contains(says), "no {says:?} in {err}");
    }
}

/// A UTF-8 byte order mark before the first line (Notepad and PowerShell write one) is
/// not data (RFC 8259 §8.1): the first post is read, from a plain or compressed file or
/// stdin, by one thread or several, and `tt count` reads uses the same way. Anywhere else
/// it is a bad line like any other.
#[test]
fn a_byte_order_mark_before_the_first_line_is_not_data() {
    let plain = std::fs::read_to_string(data("twitter-v1-stream_python-twitter.ndjson")).unwrap();
    let want = tt()
        .args(["tags", "-"])
        .write_stdin(plain.clone())
        .output()
        .unwrap();
    assert!(want.status.success() && !want.stdout.is_empty());
    let marked = format!("\u{FEFF}{}", plain.replace('\n', "\r\n"));
    let dir = tempfile::tempdir().unwrap();
    for ext in ["ndjson", "gz", "zst"] {
        let path = dir.path().join(format!("bom.{ext}"));
        let bytes = match ext {
            "ndjson" => marked.clone().into_bytes(),
            _ => compress(ext, marked.as_bytes()),
        };
        std::fs::write(&path, bytes).unwrap();
        let out = tags_of(&path);
        assert!(out.stdout == want.stdout, "{ext}: {}", stderr_of(&out));
        assert_eq!(stderr_of(&out), stderr_of(&want), "{ext}");
    }
    let stdin = tt()
        .args(["tags", "-"])
        .write_stdin(marked)
        .output()
        .unwrap();
    assert!(stdin.stdout == want.stdout, "stdin: {}", stderr_of(&stdin));

    let uses = String::from_utf8(want.stdout.clone()).unwrap();
    let counted = |input: String| {
        let out = tt()
            .args(["count", "--time", "event", "--batch", "1h"])
            .write_stdin(input)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let said = stderr_of(&out);
        (out.stdout, said)
    };
    let (with, without) = (counted(format!("\u{FEFF}{uses}")), counted(uses));
    assert!(
        !without.0.is_empty() && with == without,
        "tt count: {with:?}"
    );

    let first = plain.lines().find(|l| !l.trim().is_empty()).unwrap();
    let later = format!("{first}\n\u{FEFF}{first}\n");
    let out = tt()
        .args(["tags", "-"])
        .write_stdin(later)
        .output()
        .unwrap();
    assert!(
        stderr_of(&out)
            .contains("<stdin>:2: not a valid JSON object (expected a JSON value at column 1)"),
        "{}",
        stderr_of(&out)
    );
}

/// A `.zst` member that is one frame of a declared size (as the zstd tool writes them) is
/// decoded whole into one buffer, by one thread or several alike: its lines are the plain
/// file's, and when its checksum fails, its every whole line is tagged before it is said
/// to be damaged (the streaming decoder would have dropped what its last read decoded).
#[test]
fn zst_members_of_a_declared_size() {
    let plain = std::fs::read(data("twitter-v1-stream_python-twitter.ndjson")).unwrap();
    assert!(plain.ends_with(b"\n"));
    let mut zstd = zstd::bulk::Compressor::new(3).unwrap();
    zstd.include_checksum(true).unwrap();
    let good = zstd.compress(&plain).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let dir = tempfile::tempdir().unwrap();
    let both = dir.path().join("both.ndjson");
    std::fs::write(&both, [&plain[..], &plain[..]].concat()).unwrap();
    let want = tags_of(&both);
    let month = dir.path().join("month.tar");
    std::fs::write(
        &month,
        tar_of(&[("a/00.json.zst", good), ("a/01.json.zst", bad)]),
    )
    .unwrap();
    let out = tags_of(&month);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(65), "{err}");
    assert!(
        out.stdout == want.stdout,
        "not every line of both members: {err}"
    );
    let lines = plain.iter().filter(|&&b| b == b'\n').count();
    let says = format!(
        "month.tar:a/01.json.zst: damaged zstd data after line {lines} (Restored data doesn't match checksum)"
    );
    assert!(err.contains(&says), "no {says:?} in {err}");
}

/// A zip of `members` (name, bytes, method).
fn zip_of(members: &[(&str, &[u8], zip::CompressionMethod)]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes, method) in members {
        z.start_file(
            *name,
            SimpleFileOptions::default().compression_method(*method),
        )
        .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// `plain` as a zip member's LZMA data (APPNOTE.TXT 5.8.8): the LZMA SDK's version, the
/// size of the properties and the properties, then the raw stream (with its end marker),
/// taken from the `.lzma` format's output (5 bytes of properties, 8 of size, the stream).
fn zip_lzma(plain: &[u8]) -> Vec<u8> {
    let options = liblzma::stream::LzmaOptions::new_preset(1).unwrap();
    let stream = liblzma::stream::Stream::new_lzma_encoder(&options).unwrap();
    let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    e.write_all(plain).unwrap();
    let alone = e.finish().unwrap();
    [&[9, 20, 5, 0][..], &alone[..5], &alone[13..]].concat()
}

/// `zip` with the first member's headers (local and central) changed by `f(header,
/// field offset of the local header)`: the central header's fields sit 2 bytes later.
fn zip_first_member(mut zip: Vec<u8>, local_at: usize, f: impl Fn(&mut [u8])) -> Vec<u8> {
    let find = |sig: &[u8]| zip.windows(4).position(|w| w == sig).unwrap();
    let (local, central) = (find(b"PK\x03\x04"), find(b"PK\x01\x02"));
    f(&mut zip[local + local_at..]);
    f(&mut zip[central + local_at + 2..]);
    zip
}

/// An archive that cannot be read whole (cut short, a member tt cannot give, not the
/// archive its name says) keeps what can be read, says what is wrong in words (never the
/// zip or tar library's own type names) with the archive's and member's names, and the
/// inputs after it are still read: exit 65, the same with -j1 and -j3.
#[test]
fn archives_that_cannot_be_read_whole() {
    use zip::CompressionMethod::{Deflated, Stored};
    let (p1, p2) = halves();
    let dir = tempfile::tempdir().unwrap();
    let tags = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        tags_of(&path).stdout
    };
    let (t1, t2, t12) = (
        tags("p1.ndjson", &p1),
        tags("p2.ndjson", &p2),
        tags("p12.ndjson", &[&p1[..], &p2[..]].concat()),
    );
    let next = dir.path().join("next.ndjson");
    std::fs::write(&next, &p2).unwrap();

    let zip = zip_of(&[("00.json", &p1, Stored), ("01.json", &p2, Deflated)]);
    let central = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let second = zip.windows(4).rposition(|w| w == b"PK\x03\x04").unwrap();
    let tar = tar_of(&[("00.json", p1.clone()), ("01.json", p2.clone())]);
    let tar_gz = compress("gz", &tar);
    // The archive ends inside a compressed member, or just before its data: said once, at
    // the member (the decoder's cut stream and the archive's end were two messages, two
    // inputs counted damaged, and a member with none of its bytes was "empty").
    let bz = compress("bz2", &p2);
    let tar_bz = tar_of(&[("00.json", p1.clone()), ("01.json.bz2", bz.clone())]);
    let data_of_second = 512 + p1.len().div_ceil(512) * 512 + 512;
    let no_data = format!(
        "cut-before-data.tar:01.json.bz2: cut short in its first line: the archive ends after \
         0 of this member's {} bytes",
        bz.len()
    );
    // (file, bytes, what it says, what its own output starts with)
    type Case<'a> = (&'a str, Vec<u8>, Vec<&'a str>, &'a [u8]);
    let cases: Vec<Case> =
        vec![
        (
            "cut-in-table.zip",
            zip[..central + 10].to_vec(),
            vec!["cut-in-table.zip: the zip's table of members (at its end) is missing or damaged"],
            &t12,
        ),
        (
            "cut-in-member.zip",
            zip[..second + (zip.len() - second) / 3].to_vec(),
            vec![
                "cut-in-member.zip: the zip's table of members (at its end) is missing or damaged",
                "cut-in-member.zip:01.json: damaged zip data after line",
            ],
            &t1,
        ),
        (
            "locked.zip",
            zip_first_member(zip.clone(), 6, |h| h[0] |= 1),
            vec!["locked.zip:00.json: cannot be read: it is encrypted, and tt does not decrypt"],
            &t2,
        ),
        (
            "aes.zip",
            zip_first_member(zip.clone(), 8, |h| h[0] = 99),
            vec!["aes.zip:00.json: cannot be read: it"],
            &t2,
        ),
        (
            "method.zip",
            zip_first_member(zip.clone(), 8, |h| h[0] = 98),
            vec!["method.zip:00.json: cannot be read: it is compressed by PPMd (method 98), \
                  which tt does not read"],
            &t2,
        ),
        (
            "no-end.zip",
            b"PK\x05\x06\x00\x00".to_vec(),
            vec!["no-end.zip: not a readable zip archive: "],
            b"",
        ),
        (
            "json.zip",
            p1.clone(),
            vec!["json.zip: named .zip but not a zip archive: it looks like plain JSON"],
            b"",
        ),
        (
            "json.tar",
            p1.clone(),
            vec!["json.tar: named .tar but not a tar archive: it looks like plain JSON"],
            b"",
        ),
        (
            "zip.tar",
            zip.clone(),
            vec!["zip.tar: named .tar but not a tar archive: it is a zip archive"],
            b"",
        ),
        (
            "cut.tar",
            tar[..tar.len() - 1024 - p2.len() / 2].to_vec(),
            vec!["cut.tar:01.json: cut short after line "],
            &t1,
        ),
        (
            "cut-in-member.tar",
            tar_bz[..data_of_second + bz.len() / 2].to_vec(),
            vec!["cut-in-member.tar:01.json.bz2: cut short ", "the archive ends after "],
            &t1,
        ),
        (
            "cut-before-data.tar",
            tar_bz[..data_of_second].to_vec(),
            vec![&no_data],
            &t1,
        ),
        (
            "cut-in-header.tar",
            tar_bz[..data_of_second - 100].to_vec(),
            vec!["cut-in-header.tar: the archive is cut short, in or after member 00.json"],
            &t1,
        ),
        (
            "cut.tar.gz",
            tar_gz[..tar_gz.len() * 3 / 4].to_vec(),
            vec!["cut.tar.gz:01.json: damaged gzip data after line"],
            &t1,
        ),
    ];
    for (name, bytes, says, starts) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let one = tt()
            .args(["tags", "-j1"])
            .arg(&path)
            .arg(&next)
            .output()
            .unwrap();
        let many = tt()
            .args(["tags", "-j3"])
            .arg(&path)
            .arg(&next)
            .output()
            .unwrap();
        let err = stderr_of(&one);
        assert_eq!(one.status.code(), Some(65), "{name}: {err}");
        assert!(one.stdout == many.stdout, "{name}: -j3 writes otherwise");
        assert_eq!(err, stderr_of(&many), "{name}: -j3 says otherwise");
        for s in says {
            assert!(err.contains(s), "{name}: no {s:?} in {err}");
        }
        // One file, however it is damaged, counts once.
        assert!(
            err.contains("tt tags: 1 input(s) damaged"),
            "{name}: counted otherwise: {err}"
        );
        assert!(!err.contains("::"), "{name}: a type name in {err}");
        // Damage in a compressed tar is said where a member's read met it, not again.
        assert!(
            err.matches("damaged gzip").count() <= 1,
            "{name}: said twice: {err}"
        );
        assert!(
            one.stdout.starts_with(starts),
            "{name}: not its readable part"
        );
        assert!(one.stdout.ends_with(&t2), "{name}: the next input not read");
        assert!(
            one.stdout.len() >= starts.len() + t2.len(),
            "{name}: its readable part and the next input's"
        );
    }
}

/// Only `tt tags` reads archives: the other commands that read files refuse one at once
/// (exit 66) and say how to read it, instead of reading its bytes as bad lines.
#[test]
fn the_other_commands_refuse_an_archive() {
    let (p1, _) = halves();
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("month.tar.gz");
    std::fs::write(&tar, compress("gz", &tar_of(&[("00.json", p1.clone())]))).unwrap();
    let zip = dir.path().join("month.zip");
    std::fs::write(
        &zip,
        zip_of(&[("00.json", &p1, zip::CompressionMethod::Deflated)]),
    )
    .unwrap();
    for archive in [&tar, &zip] {
        for args in [
            &["count"][..],
            &["top", "10"],
            &["combine", "--batch", "1m"],
            &["fetch", "replay"],
        ] {
            let out = tt().args(args).arg(archive).output().unwrap();
            let err = stderr_of(&out);
            let what = format!("tt {} {}", args.join(" "), archive.display());
            assert_eq!(out.status.code(), Some(66), "{what}: {err}");
            assert!(
                err.contains("it is an archive, and only tt tags reads archives"),
                "{what}: {err}"
            );
            assert!(out.stdout.is_empty(), "{what}: wrote something");
            if args[0] == "fetch" {
                continue;
            }
            // The same archive on stdin, once its compression is taken off.
            let bytes = std::fs::read(archive).unwrap();
            let out = tt().args(args).write_stdin(bytes).output().unwrap();
            let err = stderr_of(&out);
            let what = format!("tt {} < {}", args.join(" "), archive.display());
            assert_eq!(out.status.code(), Some(66), "{what}: {err}");
            assert!(
                err.contains("cannot read <stdin>: it is an archive (")
                    && err.contains("only tt tags reads archives"),
                "{what}: {err}"
            );
            assert!(out.stdout.is_empty(), "{what}: wrote something");
        }
    }
}

/// An archive on stdin (`curl -s URL/month.tar | tt tags`) is read as the same file would
/// be, its members named `<stdin>:member`: a `.tar`, compressed or not, and a `.zip` from
/// its members' own headers; -j1 and -j3 alike. Lines that start like nothing of the kind
/// are lines (the liveness test: `tags::output_is_live_when_input_pauses`).
#[test]
fn archives_on_stdin_are_read_as_files_are() {
    let (p1, p2) = halves();
    let tar = tar_of(&[
        ("a/00.json", p1.clone()),
        ("a/01.json.bz2", compress("bz2", &p2)),
    ]);
    let zip = zip_of(&[
        ("00.json", &p1, zip::CompressionMethod::Deflated),
        ("01.json", &p2, zip::CompressionMethod::Stored),
    ]);
    let cut = compress(
        "gz",
        &tar_of(&[
            ("00.json", p1.clone()),
            ("01.json.gz", compress("gz", &p2)[..100].to_vec()),
        ]),
    );
    let dir = tempfile::tempdir().unwrap();
    // (file name, bytes, exit status, a message naming a member on stdin)
    let cases: [(&str, Vec<u8>, i32, &str); 6] = [
        ("m.tar", tar.clone(), 0, ""),
        // All of a zip of no members is its end record.
        ("e.zip", zip_of(&[]), 0, ""),
        ("m.tar.gz", compress("gz", &tar), 0, ""),
        ("m.tar.zst", compress("zst", &tar), 0, ""),
        ("m.zip", zip, 0, ""),
        (
            "cut.tar.gz",
            cut,
            65,
            "<stdin>:01.json.gz: damaged gzip data",
        ),
    ];
    for (name, bytes, code, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let want = tags_of(&path);
        assert_eq!(
            want.status.code(),
            Some(code),
            "{name}: {}",
            stderr_of(&want)
        );
        for j in ["-j1", "-j3"] {
            let out = tt()
                .args(["tags", j])
                .write_stdin(bytes.clone())
                .output()
                .unwrap();
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(code), "{name} {j}: {err}");
            assert!(
                out.stdout == want.stdout,
                "{name} {j}: not the file's output"
            );
            assert!(
                !out.stdout.is_empty() || want.stdout.is_empty(),
                "{name} {j}: nothing read"
            );
            // What is said of the file is said of <stdin>.
            let file = path.display().to_string();
            assert_eq!(
                err,
                stderr_of(&want).replace(&file, "<stdin>"),
                "{name} {j}"
            );
            assert!(err.contains(says), "{name} {j}: {err}");
        }
    }
    // A zip written as a stream (each size after its member's data, as `zip -` into a
    // pipe writes it) is read named, by its table of members, and said on stdin.
    let streamed = {
        let mut z = zip::ZipWriter::new_stream(Vec::new());
        z.start_file("00.json", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(&p1).unwrap();
        z.finish().unwrap().into_inner()
    };
    let path = dir.path().join("streamed.zip");
    std::fs::write(&path, &streamed).unwrap();
    let named = tags_of(&path);
    assert!(named.status.success(), "{}", stderr_of(&named));
    assert!(!named.stdout.is_empty());
    let piped = tt().arg("tags").write_stdin(streamed).output().unwrap();
    assert_eq!(piped.status.code(), Some(65));
    assert!(
        stderr_of(&piped).contains(
            "<stdin>: the header cannot be read: its members' sizes follow their data (as zip \
             writes into a pipe), and tt reads those only from a named file's table of \
             members: save it to a file and name that"
        ),
        "{}",
        stderr_of(&piped)
    );
    // A line with `ustar` where a tar header has its magic is a line, not an archive.
    let prefix = "{\"text\":\"";
    let custard = format!(
        "{prefix}{}ustard #yum\"}}\n",
        "a".repeat(257 - prefix.len())
    );
    assert_eq!(&custard[257..262], "ustar");
    let out = tt().arg("tags").write_stdin(custard).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""tag":"yum""#));
}

/// Standard input that starts with a codec's signature is decompressed (`curl ... | tt
/// tags`), by every command, at any -j; text that only looks like one (`BZh` starts
/// bzip2's signature) is text; damaged data is said as `<stdin>`'s.
#[test]
fn compressed_stdin_is_decompressed() {
    let plain = std::fs::read(data("twitter-v1-stream_python-twitter.ndjson")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.ndjson");
    std::fs::write(&path, &plain).unwrap();
    let want = tags_of(&path).stdout;
    for ext in ["gz", "bz2", "zst", "xz"] {
        for j in ["-j1", "-j3"] {
            let out = tt()
                .args(["tags", j])
                .write_stdin(compress(ext, &plain))
                .output()
                .unwrap();
            assert!(out.status.success(), "{ext} {j}: {}", stderr_of(&out));
            assert!(out.stdout == want, "{ext} {j}: other output");
        }
    }
    let counted = |input: Vec<u8>| {
        let out = tt()
            .args(["count", "-q"])
            .write_stdin(input)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        // The batch's end is the clock's: the counts are what must agree.
        let out = String::from_utf8(out.stdout).unwrap();
        let counts = out.find(r#""posts""#).expect("a batch");
        out[counts..].to_string()
    };
    assert_eq!(counted(compress("zst", &want)), counted(want.clone()));
    let text = tt()
        .args(["tags", "--input", "text"])
        .write_stdin("BZh9 #notbzip2\n")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(r#""tag":"notbzip2""#),
        "{}",
        stderr_of(&text)
    );
    let gz = compress("gz", &plain);
    let cut = tt()
        .arg("tags")
        .write_stdin(&gz[..gz.len() / 2])
        .output()
        .unwrap();
    assert_eq!(cut.status.code(), Some(65));
    assert!(
        stderr_of(&cut).contains("<stdin>: damaged gzip data after line"),
        "{}",
        stderr_of(&cut)
    );
    assert!(want.starts_with(&cut.stdout) && !cut.stdout.is_empty());
}
