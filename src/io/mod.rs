//! Input, output and diagnostics shared by every command.
//!
//! * This module opens what the commands read: [`open_input`] a file argument or stdin
//!   (`-`); [`each_unit`] the files, directories and archive members `tt tags` reads, as
//!   units its workers can share out; and counts the bytes read for the progress line.
//! * `codec`: compressed input, each codec checked by its magic number, what an input's
//!   first bytes say it holds (an input named as lines is checked to be no compressed
//!   data or archive), and the errors that say whose a failed read is (the input's, or
//!   damaged data that ends one input).
//! * `archive`: the members of `.tar` and `.zip` archives, named `archive:member`.
//! * `lines`: [`LineReader`] splits NDJSON into lines with a hard cap on line length: an
//!   over-long line is discarded as it streams past (never buffered whole), so memory
//!   stays bounded by the read buffer plus `--max-line-bytes` whatever the input. It knows
//!   the byte offset after each line, which `tt count --state` records to resume a file
//!   exactly once. Also the blocks of lines and the parts of a file `tt tags` parses on
//!   all cores.
//! * `output`: [`Output`] is block-buffered for throughput. The buffering policy:
//!   commands call `flush` whenever the reader is about to block on a read (the
//!   `before_read` hook of [`LineReader::next_line`]) and at batch boundaries, so `tail -f
//!   f | tt tags` is live while a file is still written in large blocks. A broken pipe
//!   becomes [`Kind::PipeClosed`](crate::error::Kind), which `main` turns into a quiet exit
//!   0.
//! * `diag`: [`Diag`] writes people-facing messages to stderr as `tt <command>: ...`,
//!   never panics when stderr itself is closed, and counts bad lines for the end-of-run
//!   summary.
//! * `counted`: every input file is opened there, and the bytes read from them counted
//!   for the progress line.
//!
//! Imports run one way here too: `codec`, `counted`, `diag` and `output` use none of the
//! others; `lines` uses `codec`'s errors, `counted` and `diag`; `archive` uses `codec` and
//! `counted`; this module uses them all.

use std::io::{self, Read};
use std::path::Path;

use crate::error::{Error, Kind, Result};

mod archive;
mod codec;
mod counted;
mod diag;
mod lines;
mod output;

use self::archive::*;
pub use self::archive::{read_packed, Names, Unit, Units, SPLIT_ALONE, SPLIT_AMONG};
pub use self::codec::*;
pub use self::counted::*;
pub use self::diag::*;
pub use self::lines::*;
pub use self::output::*;

/// Default for `--max-line-bytes`: the largest real line in our data is a 690 KiB v2 search
/// page (a tweet is under 20 KiB); 4 MiB leaves room for bigger pages and bounds memory.
pub const DEFAULT_MAX_LINE: usize = 4 * 1024 * 1024;
/// `tt top`'s default: a count update holds every tag its batch changed, and must not be
/// refused (a 2 s batch of the firehose changes ~100,000 tags, 11 MB; one batch at the end
/// of a whole archive can change millions).
/// Default line limit of `tt count` and `tt combine`, which read partial batches: one holds
/// a slot's every tag (about 20 bytes each, more with authors).
pub const MAX_PARTIAL_LINE: usize = 256 << 20;
pub const MAX_UPDATE_LINE: usize = 1 << 30;
/// `tt serve`'s default: a leaderboard of up to 100,000 leaders.
pub const MAX_LEADERBOARD_LINE: usize = 256 << 20;

/// An opened input and the name to use for it in messages.
pub struct Input {
    pub name: String,
    pub reader: Box<dyn Read + Send>,
    /// True for a regular file (seekable, so a resume offset means something).
    pub is_file: bool,
}

/// Calls `each` with every input that `paths` name, in order, as (name for messages,
/// reader): stdin when none is named (or `-`); a file (decompressed by its extension);
/// the files of a directory, recursively in name order; the members of a `.tar` archive
/// (itself compressed or not) or of a `.zip` archive in archive order, each decompressed
/// by its own extension and named `archive:member`. Directory files and archive members
/// that are not JSON ([`Names::Json`]) are skipped, and said once per archive or
/// directory in the notes returned.
pub fn each_input(
    paths: &[std::path::PathBuf],
    each: &mut dyn FnMut(&str, &mut dyn Read) -> Result<()>,
) -> Result<Vec<String>> {
    each_unit(paths, Units::PLAIN, &mut |unit| match unit {
        Unit::Plain(name, r) => each(name, r),
        Unit::Bad(e) => Err(e),
        Unit::Packed(..) | Unit::File(..) => unreachable!("none when packed_max is 0"),
    })
}

/// [`each_input`], but as `units` says: compressed files and members of at most
/// `packed_max` compressed bytes come as [`Unit::Packed`], so that a caller can decompress
/// several at once, and with `by_parts` regular files that are not compressed as
/// [`Unit::File`] (neither when `packed_max` is 0). With `threads` over one, a `.bz2` file
/// of more than [`SPLIT_ALONE`] bytes named alone, or of more than [`SPLIT_AMONG`] among
/// other inputs or as an archive's member, comes as [`Unit::Plain`], its blocks decoded on
/// that many threads; so do bzip2 data on stdin and a `.tar.bz2`. Directories and
/// archives give the files and members `names` holds.
pub fn each_unit(
    paths: &[std::path::PathBuf],
    units: Units,
    each: &mut dyn FnMut(Unit) -> Result<()>,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    if paths.is_empty() {
        each_stdin(units, each, &mut notes)?;
        return Ok(notes);
    }
    let units = Units {
        by_parts: units.by_parts && units.packed_max > 0,
        ..units
    };
    let split = match paths.len() {
        1 => SPLIT_ALONE,
        _ => SPLIT_AMONG,
    };
    for path in paths {
        each_path(path, units, split, each, &mut notes)?;
    }
    Ok(notes)
}

/// Whether an entry of a directory is read: a directory (not through a link: a loop of
/// links would never end), or a regular file (or a link to one) that `names` holds or an
/// archive. A named pipe, socket or device is not: opening a pipe no one writes to waits
/// for ever (as ripgrep and fd, a walk reads only files; named on the command line, a
/// pipe is read).
///
/// `kind` is the entry's type as the directory gives it (no call to the file system: the
/// three calls a file asked of it were most of a walk's cost, 20,000 small files taking
/// twice as long as the same as a `.tar`); a link is followed to see what it is.
fn reads_entry(p: &Path, kind: Option<std::fs::FileType>, names: Names) -> bool {
    let (dir, file) = match kind {
        Some(k) if k.is_dir() => (true, false),
        Some(k) if k.is_file() => (false, true),
        _ if p.is_symlink() && p.is_dir() => return false,
        _ => (p.is_dir(), p.is_file()),
    };
    let file_name = p.file_name().map(|f| f.to_string_lossy().into_owned());
    let file_name = file_name.unwrap_or_default();
    dir || file && (names.hold(&file_name) || tar_of(&file_name).is_some() || is_zip(&file_name))
}

/// One input of [`each_unit`]; `split` is where a `.bz2` file is decoded a block on each
/// thread ([`bzip2_by_blocks`]).
fn each_path(
    path: &Path,
    units: Units,
    split: u64,
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let name = path.display().to_string();
    if path.as_os_str() == "-" {
        return each_stdin(units, each, notes);
    }
    // Asked once for the three questions below (a directory? its size? a regular file?):
    // a call each made 60,000 of the 100,002 `statx` calls of `tt tags -j2` walking 20,000
    // small files (`strace -f -c`; BENCHMARKS.md, "Many small inputs").
    let meta = std::fs::metadata(path);
    if meta.as_ref().is_ok_and(|m| m.is_dir()) {
        let mut entries: Vec<(std::path::PathBuf, Option<std::fs::FileType>)> =
            std::fs::read_dir(path)
                .map_err(|e| Error::new(Kind::NoInput, format!("cannot read {name}: {e}")))?
                .filter_map(|e| e.ok().map(|e| (e.path(), e.file_type().ok())))
                .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if entries.is_empty() {
            notes.push(format!("{name}: an empty directory: nothing read from it"));
        }
        let mut skipped = Skipped::default();
        for (p, kind) in entries {
            if reads_entry(&p, kind, units.names) {
                each_path(&p, units, SPLIT_AMONG, each, notes)?;
            } else {
                skipped.add(p.display().to_string(), units.names);
            }
        }
        let others = format!(
            "not {}, a link to a directory, or not a regular file",
            units.names.what()
        );
        skipped.say(&name, "file(s)", &others, notes);
        return Ok(());
    }
    // An archive that cannot be read (on) is said in input order, and the inputs after it
    // are still read.
    let archive = match (tar_of(&name), is_zip(&name)) {
        (Some(outer), _) => Some(each_member(path, outer, units, each, notes)),
        (None, true) => Some(each_zip_member(path, units, each, notes)),
        (None, false) => None,
    };
    match archive {
        Some(Err(e)) if e.kind == Kind::Data => return each(Unit::Bad(e)),
        Some(r) => return r,
        None => {}
    }
    if let (Some(codec), Ok(meta)) = (Codec::of(path), &meta) {
        // Otherwise opened below, its blocks decoded on `threads` threads.
        let by_blocks = bzip2_by_blocks(codec, units.threads, meta.len(), split);
        let packed_max = units.packed_max;
        if !by_blocks && packed_max > 0 && meta.is_file() && meta.len() <= packed_max {
            return each(Unit::Packed(&name, codec, &mut open_file(path, &name)?));
        }
    }
    let regular = meta.is_ok_and(|m| m.is_file());
    if units.by_parts && Codec::of(path).is_none() && regular {
        // Its parts are read with pread(2), counted there (`read_some_at`).
        let file = open_file(path, &name)?.0;
        if let Err(e) = check_lines(&file, &name) {
            return match e.kind {
                Kind::Data => each(Unit::Bad(e)),
                _ => Err(e),
            };
        }
        return each(Unit::File(&name, file));
    }
    match open_on(path, 0, units.threads) {
        Ok((mut input, _)) => each(Unit::Plain(&input.name, &mut input.reader)),
        Err(e) if e.kind == Kind::Data => each(Unit::Bad(e)),
        Err(e) => Err(e),
    }
}

/// The size of what is read from `paths`: files, and with `dirs` (`tt tags`, [`each_unit`])
/// the files of directories that it reads, those the names hold; stdin counts nothing, and
/// so does a directory given to a command that refuses one (`tt count /` must not walk the
/// whole disk first).
pub fn input_bytes(paths: &[std::path::PathBuf], dirs: Option<Names>) -> u64 {
    fn of(path: &Path, dirs: Option<Names>) -> u64 {
        if path.as_os_str() == "-" {
            return 0;
        }
        match (std::fs::metadata(path), dirs) {
            (Ok(m), Some(names)) if m.is_dir() => std::fs::read_dir(path).map_or(0, |entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| (e.path(), e.file_type().ok())))
                    .filter(|(p, kind)| reads_entry(p, *kind, names))
                    .map(|(p, _)| of(&p, dirs))
                    .sum()
            }),
            (Ok(m), _) if m.is_file() => m.len(),
            _ => 0,
        }
    }
    paths.iter().map(|p| of(p, dirs)).sum()
}

/// How a command reads its files and where its output goes, for [`progress_of`].
#[derive(Clone, Copy)]
pub struct Reads {
    /// It reads directories, the files these names hold ([`input_bytes`]).
    pub dirs: Option<Names>,
    /// It writes its output to stdout (not `tt publish`, which writes to Kafka).
    pub writes_stdout: bool,
}

impl Reads {
    /// Files only (a directory is refused), the output on stdout: count, combine, top,
    /// report.
    pub const FILES: Reads = Reads {
        dirs: None,
        writes_stdout: true,
    };
}

/// The progress line of `tt CMD` reading `files` ([`crate::progress`]), unless `quiet`,
/// one of them is stdin from a pipe or a terminal (how much will come is not known), or
/// they are not files (a topic).
pub fn progress_of(
    cmd: &'static str,
    files: &[std::path::PathBuf],
    quiet: bool,
    Reads {
        dirs,
        writes_stdout,
    }: Reads,
) -> Option<crate::progress::Progress> {
    if quiet {
        return None;
    }
    let total = || {
        let stdin = files.is_empty() || files.iter().any(|f| f.as_os_str() == "-");
        match stdin.then(stdin_file_left) {
            // A pipe or a terminal: how much will come is not known.
            Some(None) => 0,
            Some(Some(left)) => left + input_bytes(files, dirs),
            None => input_bytes(files, dirs),
        }
    };
    crate::progress::start(cmd, writes_stdout, total, file_bytes_read)
}

/// When stdin is a regular file (`tt tags < saved.ndjson`), how much of it is left to read.
#[cfg(unix)]
fn stdin_file_left() -> Option<u64> {
    // SAFETY: fstat and lseek on descriptor 0 only read kernel state (lseek with offset 0
    // from the current position does not move it); errors are checked.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(0, &mut st) != 0 || (st.st_mode & libc::S_IFMT) != libc::S_IFREG {
            return None;
        }
        let at = libc::lseek(0, 0, libc::SEEK_CUR);
        u64::try_from(st.st_size - at.max(0)).ok()
    }
}

#[cfg(not(unix))]
fn stdin_file_left() -> Option<u64> {
    None
}

/// Opens `path`, or stdin when it is `-`. A name ending in `.gz`, `.bz2`, `.zst` or `.xz` is
/// decompressed on the fly (saved streams are kept compressed), after its first bytes are
/// checked against the format the name says.
pub fn open_input(path: &Path) -> Result<Input> {
    open_input_at(path, 0).map(|(i, _)| i)
}

/// Opens the inputs named on a command line, in order: stdin when none is named. All are
/// opened before any is read, so a missing one is said at once (exit 66), before output.
pub fn open_inputs(paths: &[std::path::PathBuf]) -> Result<Vec<Input>> {
    if paths.is_empty() {
        return Ok(vec![open_input(Path::new("-"))?]);
    }
    paths.iter().map(|p| open_input(p)).collect()
}

/// Standard input as [`each_unit`] reads it: decompressed as [`Stdin`] is, and then a
/// tar archive (`curl -s URL/month.tar | tt tags`) read member by member as a `.tar` file
/// is, named `<stdin>:member`, or a zip from its members' own headers; anything else is
/// lines.
fn each_stdin(
    units: Units,
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let mut input = stdin_on(units.threads);
    let head = match archive_head(&mut input.reader) {
        Ok(head) => head,
        Err(e) => {
            return match read_error(&input.name, e) {
                e if e.kind == Kind::Data => each(Unit::Bad(e)),
                e => Err(e),
            }
        }
    };
    let archive = archive_of(&head);
    if let Some(e) = archive
        .is_none()
        .then(|| not_lines(&input.name, &head, None))
        .flatten()
    {
        return each(Unit::Bad(e));
    }
    let mut rest = io::Cursor::new(head).chain(input.reader);
    let name = &input.name;
    let r = match archive {
        Some("tar") => {
            let empty = String::new(); // not met: the head holds a tar header
            tar_archive(Box::new(rest), name, empty, units, each, notes)
        }
        Some(_) => {
            let members = Members::new(name, units);
            zip_from_local_headers(rest, name, None, members, each, notes)
        }
        None => return each(Unit::Plain(name, &mut rest)),
    };
    match r {
        Err(e) if e.kind == Kind::Data => each(Unit::Bad(e)),
        r => r,
    }
}

/// Standard input for the commands that do not read archives (all but `tt tags` and `tt
/// publish`, which go through [`each_stdin`]): a tar or zip archive there is refused at
/// the first read as a named one is ([`open_on`]), rather than read as lines of binary.
struct NoArchive {
    inner: Box<dyn Read + Send>,
    /// What the first read took to decide, handed on first.
    head: Option<io::Cursor<Vec<u8>>>,
}

impl Read for NoArchive {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let head = match &mut self.head {
            Some(head) => head,
            None => {
                let head = archive_head(&mut self.inner)?;
                if let Some(what) = archive_of(&head) {
                    return Err(carry(ErrorCarrier(Error::new(
                        Kind::NoInput,
                        format!(
                            "cannot read <stdin>: it is an archive ({what}), and only tt tags \
                             reads archives (the posts of their members): ... | tt tags | ..."
                        ),
                    ))));
                }
                if let Some(e) = not_lines("<stdin>", &head, None) {
                    return Err(carry(ErrorCarrier(e)));
                }
                self.head.insert(io::Cursor::new(head))
            }
        };
        match head.read(buf)? {
            0 => self.inner.read(buf),
            n => Ok(n),
        }
    }
}

/// Standard input ([`Stdin`]), bzip2 decoded on `threads` threads.
fn stdin_on(threads: usize) -> Input {
    Input {
        name: "<stdin>".into(),
        reader: Box::new(Stdin(None, threads)),
        is_file: false,
    }
}

/// Standard input, decompressed when its first bytes are a codec's magic number (`curl
/// .../day.json.bz2 | tt tags`: read as lines, compressed data was a flood of bad lines).
/// Decided at the first read, so opening stdin never waits for input; JSON, which starts
/// with `{`, `[`, a space or a byte order mark, starts like no codec, so its first line is
/// handed on as soon as it arrives.
/// The second field: threads to decode bzip2 on ([`Codec::open_on`]).
struct Stdin(Option<Box<dyn Read + Send>>, usize);

impl Read for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = match &mut self.0 {
            Some(r) => r,
            None => {
                grow_pipe(0);
                let mut stdin = Counted(io::stdin());
                let head = head_of(&mut stdin)?;
                let codec = stdin_codec(&head);
                if codec.is_none() && utf16(&head) {
                    return Err(carry(ErrorCarrier(utf16_error("<stdin>", None))));
                }
                let rest = io::Cursor::new(head).chain(stdin);
                self.0.insert(match codec {
                    Some(codec) => Box::new(
                        codec
                            .stdin_on(rest, self.1)
                            .map_err(|e| carry(ErrorCarrier(e)))?,
                    ),
                    None => Box::new(rest),
                })
            }
        };
        r.read(buf)
    }
}

/// A stream's first bytes: what its first read gives, and more only while that may still
/// be the start of a codec's signature ([`stdin_codec`]).
fn head_of(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    read_head(r, 8192, may_be_magic)
}

/// Like [`open_input`], starting `offset` bytes in when the input is a regular file (to
/// resume). Returns whether it did seek there.
pub fn open_input_at(path: &Path, offset: u64) -> Result<(Input, bool)> {
    open_on(path, offset, 1)
}

/// [`open_input_at`], bzip2 (a file's, or stdin's) decoded on `threads` threads.
fn open_on(path: &Path, offset: u64, threads: usize) -> Result<(Input, bool)> {
    if path.as_os_str() == "-" {
        let mut input = stdin_on(threads);
        input.reader = Box::new(NoArchive {
            inner: input.reader,
            head: None,
        });
        return Ok((input, false));
    }
    let name = path.display().to_string();
    let mut file = open_file(path, &name)?;
    let meta = file.0.metadata().ok();
    if meta.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(Error::new(
            Kind::NoInput,
            format!("cannot read {name}: it is a directory; name the files in it"),
        ));
    }
    // tt tags reads archives (each_path); read here as lines they are a stream of bad ones.
    if tar_of(&name).is_some() || is_zip(&name) {
        return Err(Error::new(
            Kind::NoInput,
            format!(
                "cannot read {name}: it is an archive, and only tt tags reads archives \
                 (the posts of their members): tt tags {name} | ..."
            ),
        ));
    }
    let is_file = meta.as_ref().is_some_and(|m| m.is_file());
    if let Some(codec) = Codec::of(path) {
        let reader = codec.lines_on(file, &name, threads)?;
        let input = Input {
            name,
            reader: Box::new(reader),
            is_file: false, // offsets are of the decompressed stream: no seeking
        };
        return Ok((input, false));
    }
    let mut seeked = false;
    if offset > 0 && is_file && meta.is_some_and(|m| m.len() >= offset) {
        use std::io::Seek;
        file.seek(io::SeekFrom::Start(offset))
            .map_err(|e| Error::io(format!("cannot seek in {name}"), e))?;
        // Read by the run this one resumes: progress counts from there.
        count_read(offset);
        seeked = true;
    }
    // Read from its start, its first bytes are checked ([`Plain`]); a resumed file was
    // checked by the run it resumes.
    let reader: Box<dyn Read + Send> = match seeked {
        true => Box::new(file),
        false => Box::new(Plain::new(file, &name)),
    };
    let input = Input {
        name,
        reader,
        is_file,
    };
    Ok((input, seeked))
}

/// A stream's first bytes, enough to tell an archive from lines ([`archive_of`]): more
/// than the first read only while they hold a NUL byte and no newline, up to the 512
/// bytes of a tar header (its magic is at byte 257). Lines of JSON or text hold no NUL.
fn archive_head(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    read_head(r, 512, may_be_tar)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{mpsc, Arc};

    use super::*;

    /// Gives its bytes, then fails as a disk would.
    struct Failing(io::Cursor<Vec<u8>>);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::other("disk on fire")),
                n => Ok(n),
            }
        }
    }

    /// Lines (and bad lines) and the error that ended them.
    type Lines = (Seen, Option<String>);

    fn streamed(zst: &[u8], max: usize) -> Lines {
        read_all(Codec::Zstd.lines(zst, "m.zst").unwrap(), "m.zst", max)
    }

    fn whole(zst: &[u8], max: usize) -> Option<Lines> {
        let mut got = Vec::new();
        let r = zstd_lines(zst, "m.zst", max, &mut Vec::new(), &mut |l| {
            got.push(l.map(|(n, b)| (n, b.to_vec())));
            Ok(())
        })?;
        Some((got, r.err().map(|e| e.to_string())))
    }

    /// A `.zst` member decoded into one buffer gives what the streaming reader gives: the
    /// same lines with the same numbers (CRLF, a byte order mark, blank and over-long
    /// lines, no last newline), and, when a block is damaged, the same lines before the
    /// same message; when the checksum fails, every whole line. A member that is not one
    /// frame of a declared size is left to the streaming reader.
    #[test]
    fn zstd_members_decoded_whole_read_as_streamed() {
        let mut text = String::from("\u{FEFF}{\"a\":0}\r\n\n");
        for i in 0..60_000 {
            match i % 97 {
                0 => text.push_str(&"x".repeat(300)),
                1 => text.push_str("   "),
                _ => text.push_str(&format!("{{\"n\":{i},\"t\":\"{}\"}}", i * 7919 % 1000)),
            }
            text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
        }
        text.push_str("{\"last\":1}");
        let declared = zstd::bulk::compress(text.as_bytes(), 3).unwrap();
        let read = whole(&declared, 200).expect("one frame of a declared size");
        assert!(
            read.0.len() > 55_000 && read.1.is_none(),
            "{} lines, {:?}",
            read.0.len(),
            read.1
        );
        assert_eq!(read, streamed(&declared, 200));

        // Damaged: a byte flipped in each stretch of the frame, after its header.
        let mut checked = zstd::bulk::Compressor::new(3).unwrap();
        checked.include_checksum(true).unwrap();
        let checked = checked.compress(text.as_bytes()).unwrap();
        let mut damaged = 0;
        for at in (20..checked.len()).step_by(checked.len() / 40) {
            let mut bad = checked.clone();
            bad[at] ^= 0x55;
            let Some(read) = whole(&bad, 200) else {
                continue;
            };
            damaged += 1;
            let (lines, said) = streamed(&bad, 200);
            let said = said.expect("flipped bytes are found by the block or the checksum");
            if said.contains("checksum") {
                // Found at the end, after the last block: every whole line is handed on
                // (the streaming reader drops what its last read had decoded).
                assert_eq!(read.0[..lines.len()], lines[..], "byte {at} flipped");
                let said = read.1.unwrap_or_default();
                assert!(
                    said.ends_with("(Restored data doesn't match checksum)"),
                    "{said}"
                );
            } else {
                assert_eq!(read, (lines, Some(said)), "byte {at} flipped");
            }
        }
        assert!(damaged > 30, "only {damaged} damaged members decoded whole");

        // Left to the streaming reader: two frames, a frame of no declared size, a cut one.
        let two = [&declared[..], &declared[..]].concat();
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        e.write_all(text.as_bytes()).unwrap();
        let undeclared = e.finish().unwrap();
        let cut = &declared[..declared.len() / 2];
        for other in [&two[..], &undeclared[..], cut] {
            assert!(whole(other, 200).is_none());
        }
    }

    /// An archive's compressed member goes whole to a worker (packed) up to
    /// [`SPLIT_AMONG`] bytes; a larger `.bz2` one is decoded a block on each thread as it
    /// is read (plain), as a large `.bz2` file is; the size is the member header's.
    #[test]
    fn large_bz2_members_are_decoded_by_blocks() {
        let text = b"{\"text\":\"#a\"}\n".repeat(1000);
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(&text).unwrap();
        let bz2 = e.finish().unwrap();
        let big = SPLIT_AMONG + 1;
        // (member, its size, threads, whether it goes whole; if not, it reads as the text)
        let cases: [(&str, u64, usize, bool); 6] = [
            ("m.json.bz2", SPLIT_AMONG, 2, true),
            ("m.json.bz2", big, 2, false),
            ("m.json.bz2", big, 1, true),
            ("m.json.gz", big, 2, true),
            ("m.json.bz2", 1 << 30, 2, false),
            ("m.json", big, 2, false),
        ];
        for (member, size, threads, packed) in cases {
            let data: &[u8] = if member.ends_with(".bz2") {
                &bz2
            } else {
                &text
            };
            let units = Units {
                packed_max: 1 << 30,
                threads,
                ..Units::PLAIN
            };
            let mut members = Members::new("a.tar", units);
            let mut got = None;
            members
                .one(member.into(), size, &mut &data[..], &mut |unit| {
                    got = Some(match unit {
                        Unit::Packed(..) => None,
                        Unit::Plain(_, r) => {
                            let mut out = Vec::new();
                            r.read_to_end(&mut out).unwrap();
                            Some(out)
                        }
                        _ => panic!("{member}: neither packed nor plain"),
                    });
                    Ok(())
                })
                .unwrap();
            let case = format!("{member} of {size} bytes, {threads} threads");
            match got.expect("handed on") {
                None => assert!(packed, "{case}: packed"),
                Some(out) => assert!(!packed && out == text, "{case}: read as it is"),
            }
        }
    }

    /// A member decompressed as it is read (by `tt publish`, say) is checked for what it
    /// decompresses to, as one handed on whole is: compressed twice, it is said.
    #[test]
    fn a_streamed_member_compressed_twice_is_said() {
        let gz = |b: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(b).unwrap();
            e.finish().unwrap()
        };
        let twice = gz(&gz(b"{}\n"));
        let mut members = Members::new("a.tar", Units::PLAIN);
        let mut failed = None;
        let size = twice.len() as u64;
        members
            .one("m.json.gz".into(), size, &mut &twice[..], &mut |unit| {
                let Unit::Plain(_, r) = unit else {
                    panic!("not streamed")
                };
                failed = r.read_to_end(&mut Vec::new()).err();
                Ok(())
            })
            .unwrap();
        let e = read_error("a.tar:m.json.gz", failed.expect("an error"));
        let says = "a.tar:m.json.gz: its gzip data holds gzip data, not lines of JSON or text";
        assert!(e.to_string().starts_with(says), "{e}");
    }

    /// A decoder's own error is damaged data (exit 65), said with the lines read before
    /// it; a failed read of the compressed bytes under it stays an I/O error (exit 74).
    #[test]
    fn damaged_data_is_told_from_a_failed_read() {
        let text: String = (0..5000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        let gz = e.finish().unwrap();
        let cut = gz[..gz.len() / 2].to_vec();
        let cases: Vec<(Box<dyn Read>, Kind, &str)> = vec![
            (
                Box::new(io::Cursor::new(cut.clone())),
                Kind::Data,
                "x.gz: damaged gzip data after line ",
            ),
            (
                Box::new(Failing(io::Cursor::new(cut))),
                Kind::Io,
                "error reading x.gz: disk on fire",
            ),
        ];
        for (source, kind, says) in cases {
            let mut lines = LineReader::new(Codec::Gzip.lines(source, "x.gz").unwrap(), 1 << 20);
            let mut diag = Diag::new("tags", true, false);
            let mut read = 0;
            let err = loop {
                match lines.next_record("x.gz", &mut diag, &mut || Ok(())) {
                    Ok(Some(_)) => read += 1,
                    Ok(None) => panic!("{says}: no error"),
                    Err(e) => break e,
                }
            };
            assert!(read > 0, "{says}: lines before the damage");
            assert_eq!(err.kind, kind, "{}", err.msg);
            assert!(err.msg.contains(says), "{}", err.msg);
            if kind == Kind::Data {
                assert!(
                    err.msg.contains(&format!("after line {read} (")),
                    "{}",
                    err.msg
                );
            }
        }
    }

    /// A large compressed input is cut into blocks by the reading thread of `tt tags -j`
    /// (send_blocks): damaged data there ends that input, not the run. Each codec, cut in
    /// the middle: the blocks hold the lines the line reader gives before the damage, the
    /// damage follows them, said with that many lines, and reading goes on (true); a
    /// failed read of the bytes under the decoder stops it (false), as an I/O error.
    #[test]
    fn blocks_end_at_damage_and_read_on() {
        let text: String = (0..100_000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        let compressed = |codec: Codec| -> Vec<u8> {
            let t = text.as_bytes();
            let mut out = Vec::new();
            match codec {
                Codec::Gzip => {
                    let mut e =
                        flate2::write::GzEncoder::new(&mut out, flate2::Compression::fast());
                    e.write_all(t).unwrap();
                    e.finish().unwrap();
                }
                Codec::Bzip2 => {
                    let mut e = bzip2::write::BzEncoder::new(&mut out, bzip2::Compression::fast());
                    e.write_all(t).unwrap();
                    e.finish().unwrap();
                }
                Codec::Zstd => out = zstd::encode_all(t, 1).unwrap(),
                Codec::Xz => {
                    let mut e = liblzma::write::XzEncoder::new(&mut out, 1);
                    e.write_all(t).unwrap();
                    e.finish().unwrap();
                }
            }
            out
        };
        for (ext, codec, _, what) in Codec::ALL {
            let name = format!("x.{ext}");
            let data = compressed(codec);
            let cut = data[..data.len() / 2].to_vec();
            let mut want = 0;
            let mut lines = LineReader::new(codec.lines(&cut[..], &name).unwrap(), 1 << 20);
            let mut diag = Diag::new("tags", true, false);
            while let Ok(Some(_)) = lines.next_record(&name, &mut diag, &mut || Ok(())) {
                want += 1;
            }
            assert!(want > 0, "{name}: lines before the damage");
            let sent = std::cell::RefCell::new(Vec::new());
            let on = send_blocks(
                &mut codec.lines(&cut[..], &name).unwrap(),
                Arc::from(name.as_str()),
                1 << 20,
                4096,
                &|b| {
                    sent.borrow_mut().push(b);
                    true
                },
                &Vec::new,
                &|_| {},
            );
            assert!(on, "{name}: damage ends the run");
            let mut sent = sent.into_inner();
            let err = sent.pop().unwrap().err().unwrap();
            let mut got = 0;
            for b in sent {
                b.unwrap()
                    .each_line(1 << 20, &mut |_| {
                        got += 1;
                        Ok(())
                    })
                    .unwrap();
            }
            assert_eq!(got, want, "{name}");
            assert_eq!(err.kind, Kind::Data, "{}", err.msg);
            let says = format!("{name}: damaged {what} data after line {want} (");
            assert!(err.msg.contains(&says), "{} for {says}", err.msg);
        }
        let gz = compressed(Codec::Gzip);
        let failing = Failing(io::Cursor::new(gz[..gz.len() / 2].to_vec()));
        let last = std::cell::RefCell::new(None);
        let on = send_blocks(
            &mut Codec::Gzip.lines(failing, "x.gz").unwrap(),
            Arc::from("x.gz"),
            1 << 20,
            4096,
            &|b| {
                *last.borrow_mut() = Some(b.map(|_| ()));
                true
            },
            &Vec::new,
            &|_| {},
        );
        assert!(!on, "a failed read goes on");
        let err = last.into_inner().unwrap().unwrap_err();
        assert_eq!(err.kind, Kind::Io, "{}", err.msg);
    }

    /// (input, max line, keep a last line without newline, lines from next_fitting)
    type Case = (&'static [u8], usize, bool, &'static [&'static [u8]]);

    #[test]
    fn next_fitting_drops_long_lines_and_maybe_the_unterminated_one() {
        let cases: &[Case] = &[
            (b"a\r\n\nb\n", 8, true, &[b"a", b"", b"b"]),
            (b"a\nlonger than eight\nb\n", 8, true, &[b"a", b"b"]),
            (b"a\ncut", 8, true, &[b"a", b"cut"]),
            (b"a\ncut", 8, false, &[b"a"]),
            (b"a\nlonger than eight, cut", 8, false, &[b"a"]),
            (b"", 8, false, &[]),
        ];
        for &(input, max, keep, want) in cases {
            let mut r = LineReader::new(input, max);
            if !keep {
                r = r.drop_unterminated();
            }
            let mut got: Vec<Vec<u8>> = Vec::new();
            while let Some(line) = r.next_fitting(&mut || Ok(())).unwrap() {
                got.push(line.to_vec());
            }
            let want: Vec<Vec<u8>> = want.iter().map(|l| l.to_vec()).collect();
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn spawn_bounded_stops_when_the_receiver_is_gone() {
        let (done_tx, done) = mpsc::channel();
        let rx = spawn_bounded("test", 1, move |send| {
            let mut n = 0u64;
            while send(n) {
                n += 1;
            }
            done_tx.send(n).unwrap();
        })
        .unwrap();
        assert_eq!(rx.recv().unwrap(), 0);
        assert_eq!(rx.recv().unwrap(), 1);
        // Bounded: with a queue of one, the producer is at most a few items ahead.
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(rx);
        let sent = done
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the producer returns once the receiver is gone");
        assert!(sent <= 4, "{sent} items produced with a queue of 1");
    }

    /// Reads at most `step` bytes at a time, as a pipe does.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    type Seen = Vec<std::result::Result<(u64, Vec<u8>), (u64, String)>>;

    fn by_line_reader(input: &[u8], max: usize) -> Seen {
        let (got, end) = read_all(input, "in", max);
        assert_eq!(end, None);
        got
    }

    /// What the line reader gives of `input` (named `name`), bad lines in their place,
    /// and the error that ended it, if one did.
    fn read_all(input: impl Read, name: &str, max: usize) -> (Seen, Option<String>) {
        let mut r = LineReader::new(input, max);
        let mut diag = Diag::recording("test");
        let mut got = Vec::new();
        let end = loop {
            match r.next_record(name, &mut diag, &mut || Ok(())) {
                Ok(Some((no, line))) => {
                    got.push(Ok((no, line.to_vec())));
                    for said in diag.take_said() {
                        if let Said::Bad { lineno, why, .. } = said {
                            got.insert(got.len() - 1, Err((lineno, why)));
                        }
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(e.to_string()),
            }
        };
        for said in diag.take_said() {
            if let Said::Bad { lineno, why, .. } = said {
                got.push(Err((lineno, why)));
            }
        }
        (got, end)
    }

    fn by_blocks(input: &[u8], max: usize, block: usize, step: usize) -> Seen {
        let blocks = std::cell::RefCell::new(Vec::new());
        let ok = send_blocks(
            &mut Trickle(input, step),
            Arc::from("in"),
            max,
            block,
            &|b| {
                blocks.borrow_mut().push(b.unwrap());
                true
            },
            &Vec::new,
            &|_| {},
        );
        assert!(ok);
        let mut got = Vec::new();
        for b in blocks.into_inner() {
            b.each_line(max, &mut |l| {
                got.push(l.map(|(n, line)| (n, line.to_vec())));
                Ok(())
            })
            .unwrap();
        }
        got
    }

    /// A line of the kinds readers treat apart: plain, CRLF, blank, over-long (the tests'
    /// limits are under 40 bytes), and starting with a byte order mark.
    fn some_line() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            "[a-c]{0,12}",
            "[a-c ]{0,3}\r",
            " {0,2}",
            "x{20,70}",
            "\u{FEFF}[a-c ]{0,3}",
        ]
    }

    /// `lines` as a file: joined by newlines, and one after the last when asked.
    /// Some lines joined, with a newline after the last or not, and a line limit.
    fn input_and_max() -> impl proptest::strategy::Strategy<Value = (String, usize)> {
        use proptest::strategy::Strategy;
        let lines = proptest::collection::vec(some_line(), 0..40);
        (lines, proptest::bool::ANY, 1usize..40)
            .prop_map(|(lines, last_newline, max)| (joined(&lines, last_newline), max))
    }

    fn joined(lines: &[String], last_newline: bool) -> String {
        let mut input = lines.join("\n");
        if last_newline && !input.is_empty() {
            input.push('\n');
        }
        input
    }

    /// A case the property test below found: a last line of exactly the limit, without a
    /// newline, read a byte at a time in blocks of one byte.
    #[test]
    fn a_last_line_of_the_limit_in_one_byte_blocks() {
        let input = "x".repeat(36);
        let want = by_line_reader(input.as_bytes(), 36);
        assert_eq!(by_blocks(input.as_bytes(), 36, 1, 1), want);
    }

    proptest::proptest! {
        /// Lines cut into blocks at any size, read in any steps, come out as the line
        /// reader gives them: numbers, CRLF, blank lines, over-long lines, a last line
        /// without a newline.
        #[test]
        fn blocks_give_the_line_readers_lines(
            (input, max) in input_and_max(),
            block in 1usize..50,
            step in 1usize..60,
        ) {
            let want = by_line_reader(input.as_bytes(), max);
            let got = by_blocks(input.as_bytes(), max, block, step);
            proptest::prop_assert_eq!(got, want);
        }

        /// A file cut into parts at any size: each line is read by one part, the part it
        /// starts in, whole; numbered from each part's first line on by the lines of the
        /// parts before, the line reader's lines of the whole file come out.
        #[test]
        fn parts_read_each_line_once((input, max) in input_and_max(), part in 1u64..50) {
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(input.as_bytes()).unwrap();
            let want = by_line_reader(input.as_bytes(), max);
            let (mut got, mut before) = (Vec::new(), 0);
            let len = input.len() as u64;
            for start in (0..len).step_by(part as usize) {
                let mut p = Part::new(&file, start, (start + part).min(len));
                let mut lines = LineReader::new(&mut p, max);
                if start > 0 {
                    lines = lines.mid_stream();
                }
                let mut diag = Diag::recording("test");
                while let Some((n, line)) = lines.next_record("in", &mut diag, &mut || Ok(())).unwrap() {
                    for said in diag.take_said() {
                        if let Said::Bad { lineno, why, .. } = said.after(before) {
                            got.push(Err((lineno, why)));
                        }
                    }
                    got.push(Ok((before + n, line.to_vec())));
                }
                for said in diag.take_said() {
                    if let Said::Bad { lineno, why, .. } = said.after(before) {
                        got.push(Err((lineno, why)));
                    }
                }
                before += lines.lineno();
            }
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert_eq!(before, input.lines().count() as u64);
        }
    }
}
