//! Input, output and diagnostics shared by every command.
//!
//! * [`open_input`] opens a file argument or stdin (`-`).
//! * [`LineReader`] splits NDJSON into lines with a hard cap on line length: an over-long
//!   line is discarded as it streams past (never buffered whole), so memory stays bounded
//!   by the read buffer plus `--max-line-bytes` whatever the input. It knows the byte offset
//!   after each line, which `tt count --state` records to resume a file exactly once.
//! * [`Output`] is block-buffered for throughput. The buffering policy: commands call
//!   `flush` whenever the reader is about to block on a read (the `before_read` hook of
//!   [`LineReader::next_line`]) and at batch boundaries, so `tail -f f | tt tags` is live
//!   while a file is still written in large blocks. A broken pipe becomes
//!   [`Kind::PipeClosed`](crate::error::Kind), which `main` turns into a quiet exit 0.
//! * [`Diag`] writes people-facing messages to stderr as `tt <command>: ...`, never panics
//!   when stderr itself is closed, and counts bad lines for the end-of-run summary.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use crate::error::{Error, Kind, Result};

/// Read buffer size. Small enough to stay in a core's L2 cache between the kernel's copy
/// and the parse: `tt tags` on the captures took a median 358 ms with 64 KiB against 416 ms
/// with 128 or 256 KiB (11 interleaved runs); syscalls are still nothing against parsing.
const READ_BUF: usize = 64 * 1024;
/// Output buffer size.
const WRITE_BUF: usize = 64 * 1024;

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

/// A compression, chosen by a file's extension and checked against its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Bzip2,
    Zstd,
    Xz,
}

impl Codec {
    /// (extension, codec, magic number, name)
    const ALL: [(&'static str, Codec, &'static [u8], &'static str); 4] = [
        ("gz", Codec::Gzip, &[0x1f, 0x8b], "gzip"),
        ("bz2", Codec::Bzip2, b"BZh", "bzip2"),
        ("zst", Codec::Zstd, &[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
        ("xz", Codec::Xz, &[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz"),
    ];

    /// The codec a file name says (`.gz`, `.bz2`, `.zst`, `.xz`), if any.
    pub fn of(path: &Path) -> Option<Codec> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Self::ALL.iter().find(|c| c.0 == ext).map(|c| c.1)
    }

    fn row(self) -> (&'static str, Codec, &'static [u8], &'static str) {
        *Self::ALL
            .iter()
            .find(|c| c.1 == self)
            .expect("every codec has a row")
    }

    /// The codec whose magic number `head` starts with.
    fn sniff(head: &[u8]) -> Option<Codec> {
        Self::ALL
            .iter()
            .find(|c| head.starts_with(c.2))
            .map(|c| c.1)
    }

    /// A decompressing reader over `file`, after checking that it starts like this codec's
    /// data; a mislabelled file is refused with what it looks like (exit 65). Several
    /// concatenated members or frames are read as one stream, as the command-line tools do.
    pub fn open<R: Read>(self, file: R, name: &str) -> Result<Decoder<R>> {
        self.open_on(file, name, 1)
    }

    /// [`Self::open`], decoding bzip2 on `threads` threads ([`crate::bunzip::Parallel`])
    /// when there are more than one.
    pub fn open_on<R: Read>(self, mut file: R, name: &str, threads: usize) -> Result<Decoder<R>> {
        let (_, _, magic, what) = self.row();
        let mut head = [0u8; 6];
        let mut n = 0;
        while n < head.len() {
            match file.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // An archive member the archive ends inside, say.
                Err(e) if carries(&e) => return Err(read_error_after(name, e, Some(0))),
                Err(e) => return Err(Error::io(format!("cannot read {name}"), e)),
            }
        }
        let head = &head[..n];
        // No compressor writes nothing (gzip, bzip2, zstd and xz all write a header even
        // for empty input), so an empty file is one cut short, a failed download say: the
        // decoders' own tools refuse it too ("unexpected end of file").
        if n == 0 {
            return Err(Error::data(format!(
                "{name}: named .{} but empty (0 bytes), not even {what}'s header: cut short",
                self.row().0
            )));
        }
        if !head.starts_with(magic) {
            return Err(Error::data(format!(
                "{name}: named .{} but not {what} data: {}; rename it to what it holds",
                self.row().0,
                what_it_holds(head)
            )));
        }
        let source = Source {
            inner: file,
            name: name.to_string(),
        };
        let whole = io::Cursor::new(head.to_vec()).chain(source);
        let stream = match self {
            Codec::Gzip => Stream::Gzip(flate2::read::MultiGzDecoder::new(whole)),
            Codec::Bzip2 if threads > 1 => {
                Stream::Bzip2On(crate::bunzip::Parallel::new(whole, threads))
            }
            Codec::Bzip2 => Stream::Bzip2(crate::bunzip::Decoder::new(whole)),
            Codec::Zstd => Stream::Zstd(
                zstd::stream::read::Decoder::new(whole)
                    .map_err(|e| Error::io(format!("cannot read {name}"), e))?,
            ),
            Codec::Xz => Stream::Xz(liblzma::read::XzDecoder::new_multi_decoder(whole)),
        };
        Ok(Decoder {
            stream,
            name: name.to_string(),
            what,
        })
    }
}

type Peeked<R> = io::Chain<io::Cursor<Vec<u8>>, Source<R>>;

/// A decompressing reader over `R` (sendable to another thread when `R` is). Its errors
/// say whose they are: a failed read of the compressed bytes is an I/O error of the input
/// (exit 74); an error of the decoder itself is damaged data ([`Kind::Data`], exit 65),
/// named, which `tt tags` reports and reads on after.
pub struct Decoder<R: Read> {
    stream: Stream<R>,
    name: String,
    /// The format's name, for messages (`bzip2`).
    what: &'static str,
}

enum Stream<R: Read> {
    Gzip(flate2::read::MultiGzDecoder<Peeked<R>>),
    Bzip2(crate::bunzip::Decoder<Peeked<R>>),
    Bzip2On(crate::bunzip::Parallel<Peeked<R>>),
    Zstd(zstd::stream::read::Decoder<'static, io::BufReader<Peeked<R>>>),
    Xz(liblzma::read::XzDecoder<Peeked<R>>),
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = match &mut self.stream {
            Stream::Gzip(d) => d.read(buf),
            Stream::Bzip2(d) => d.read(buf),
            Stream::Bzip2On(d) => d.read(buf),
            Stream::Zstd(d) => d.read(buf),
            Stream::Xz(d) => d.read(buf),
        };
        r.map_err(|e| {
            mark(e, |e| {
                carry(Damaged {
                    name: self.name.clone(),
                    what: self.what,
                    why: e.to_string(),
                })
            })
        })
    }
}

/// A zip's first member header, and the end record an empty zip starts with.
const ZIP_MEMBER: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY: &[u8] = b"PK\x05\x06";

/// Whether `head` (a file's first 512 bytes) is a POSIX or GNU tar header: its magic,
/// NUL byte included (`ustar\0` or `ustar  \0`), which no line of text holds (a tweet
/// about custard might have `ustar` at byte 257 of stdin).
fn is_tar(head: &[u8]) -> bool {
    head.get(257..263) == Some(b"ustar\0") || head.get(257..265) == Some(b"ustar  \0")
}

/// What a file's first bytes say it holds, for a file whose name says otherwise (not the
/// record kinds of [`crate::record::looks_like`], which judges one line).
fn what_it_holds(head: &[u8]) -> String {
    if let Some(codec) = Codec::sniff(head) {
        return format!("it is {} data", codec.row().3);
    }
    let text = head.strip_prefix(BOM).unwrap_or(head);
    match text {
        _ if text.starts_with(ZIP_MEMBER) || text.starts_with(ZIP_EMPTY) => {
            "it is a zip archive".into()
        }
        _ if is_tar(head) => "it is a tar archive".into(),
        [b'{' | b'[', ..] => "it looks like plain JSON".into(),
        _ => "it does not start like any archive or compressed format".into(),
    }
}

/// A read error as `as_ours` says whose it is, unless it is an interruption (retried) or
/// already says (carried up from a reader below).
fn mark(e: io::Error, as_ours: impl FnOnce(io::Error) -> io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::Interrupted || carries(&e) {
        e
    } else {
        as_ours(e)
    }
}

/// The compressed bytes under a [`Decoder`]: a read error of theirs leaves the decoder
/// carried, as the input's I/O error, so that it is not taken for damaged data.
struct Source<R> {
    inner: R,
    name: String,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            mark(e, |e| {
                carry(ErrorCarrier(Error::io(
                    format!("error reading {}", self.name),
                    e,
                )))
            })
        })
    }
}

/// Data that ends an input early, not the run: compressed data a decoder refused
/// (`name`'s `what` data, and the decoder's words), or an archive member the archive
/// ends inside ([`TarData`]).
#[derive(Debug)]
struct Damaged {
    name: String,
    what: &'static str,
    why: String,
}

/// [`Damaged::what`] of a member the archive ends inside; `why` then says where.
const CUT_MEMBER: &str = "";

impl Damaged {
    /// What to say, with where in the input the damage starts (`at`, or nothing).
    fn said(&self, at: &str) -> String {
        match self.what {
            CUT_MEMBER => format!("{}: cut short{at}: {}", self.name, self.why),
            what => format!("{}: damaged {what} data{at} ({})", self.name, self.why),
        }
    }
}

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said(""))
    }
}

impl std::error::Error for Damaged {}

fn carry(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(e)
}

/// Whether `e` carries a `tt` error or damaged data out of a reader.
fn carries(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<ErrorCarrier>() || inner.is::<Damaged>())
}

/// Whether a file or archive member is read as posts: `.json`, `.ndjson` or `.jsonl`,
/// compressed or not (the Stream Grab's members are `.json.bz2`).
fn holds_posts(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let bare = Codec::ALL
        .iter()
        .find_map(|c| lower.strip_suffix(&format!(".{}", c.0)))
        .unwrap_or(&lower);
    [".json", ".ndjson", ".jsonl"]
        .iter()
        .any(|e| bare.ends_with(e))
}

/// The members of one archive (`.tar` or `.zip`), as they are read: each that holds posts
/// is handed on as `archive:member`, packed when compressed and at most `packed_max`
/// bytes, else decompressed here by its extension; the others are counted and said once.
struct Members<'a> {
    archive: &'a str,
    packed_max: u64,
    /// Threads a large `.bz2` member's blocks are decoded on ([`bzip2_by_blocks`]).
    threads: usize,
    skipped: u64,
    first: Option<String>,
}

impl<'a> Members<'a> {
    fn new(archive: &'a str, packed_max: u64, threads: usize) -> Self {
        Members {
            archive,
            packed_max,
            threads,
            skipped: 0,
            first: None,
        }
    }

    /// A member that is not JSON, or not a regular file: counted, and the first named in
    /// the note.
    fn skip(&mut self, member: String) {
        self.skipped += 1;
        self.first.get_or_insert(member);
    }

    fn one(
        &mut self,
        member: String,
        size: u64,
        r: &mut dyn Read,
        each: &mut dyn FnMut(Unit) -> Result<()>,
    ) -> Result<()> {
        if !holds_posts(&member) {
            self.skip(member);
            return Ok(());
        }
        let full = format!("{}:{member}", self.archive);
        match Codec::of(Path::new(&member)) {
            Some(codec)
                if self.packed_max > 0
                    && size <= self.packed_max
                    && !bzip2_by_blocks(codec, self.threads, size, SPLIT_AMONG) =>
            {
                each(Unit::Packed(&full, codec, r))
            }
            Some(codec) => match codec.open_on(r, &full, self.threads) {
                Ok(mut d) => each(Unit::Plain(&full, &mut d)),
                Err(e) if e.kind == Kind::Data => each(Unit::Bad(e)),
                Err(e) => Err(e),
            },
            None => each(Unit::Plain(&full, r)),
        }
    }

    fn done(self, notes: &mut Vec<String>) {
        if let Some(first) = self.first {
            let (name, n) = (self.archive, self.skipped);
            notes.push(format!(
                "{name}: {n} member(s) skipped: not JSON, or a link or other special file \
                 (first: {first})"
            ));
        }
    }
}

fn is_zip(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// The members of a `.zip` archive, in the order of its central directory, each
/// decompressed by the archive's own method and then by its extension (`.json.bz2` in a
/// zip, say), named `archive:member`; members that are not JSON are skipped and said once.
/// A member the zip cannot give (encrypted, or compressed by a method tt does not read)
/// is said and skipped, and the others read. A zip whose table of members (the central
/// directory, at its end) is missing, as in a download cut short, is read member by
/// member from their own headers, as far as it goes.
fn each_zip_member(
    path: &Path,
    (packed_max, threads): (u64, usize),
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let name = path.display().to_string();
    let open = || open_file(path, &name);
    let mut members = Members::new(&name, packed_max, threads);
    let mut archive = match zip::ZipArchive::new(open()?) {
        Ok(archive) => archive,
        Err(e) => return zip_from_local_headers(open()?, &name, Some(e), members, each, notes),
    };
    for i in 0..archive.len() {
        let member = match archive.name_for_index(i) {
            Some(Ok(member)) => member.into_owned(),
            Some(Err(e)) => return Err(zip_damaged(&name, "", &e)),
            None => continue,
        };
        if member.ends_with('/') {
            continue;
        }
        if !holds_posts(&member) {
            members.skip(member);
            continue;
        }
        let mut entry = match archive.by_index(i) {
            Ok(entry) => entry,
            Err(e) => {
                each(Unit::Bad(zip_damaged(&name, &member, &e)))?;
                continue;
            }
        };
        // A link (`zip --symlinks`) holds its target's name: skipped, as a tar's links are.
        if entry.is_symlink() {
            members.skip(member);
            continue;
        }
        let size = entry.size();
        let mut data = ZipData {
            name: format!("{name}:{member}"),
            inner: &mut entry,
            damaged: None,
        };
        members.one(member, size, &mut data, each)?;
    }
    members.done(notes);
    Ok(())
}

/// A zip read from the local header before each member's data (what `zip` writes first),
/// each member as far as the file goes: a file whose table of members (at its end) could
/// not be read, `why` (said once), or a zip on stdin, which cannot be read from its end.
/// A file that does not start with a local header is not a zip, or not one tt can read.
fn zip_from_local_headers(
    file: impl Read,
    name: &str,
    why: Option<zip::result::ZipError>,
    mut members: Members,
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let mut r = io::BufReader::new(file);
    let head = r
        .fill_buf()
        .map_err(|e| Error::io(format!("cannot read {name}"), e))?;
    // zip writes a 22-byte end record for an archive of no members (and unzip refuses an
    // empty file): nothing at all was cut short.
    if head.is_empty() {
        return Err(Error::data(format!(
            "{name}: named .zip but empty (0 bytes): cut short"
        )));
    }
    if !head.starts_with(ZIP_MEMBER) {
        if let (true, Some(why)) = (head.starts_with(b"PK"), &why) {
            return Err(zip_damaged(name, "", why));
        }
        return Err(Error::data(format!(
            "{name}: named .zip but not a zip archive: {}; rename it to what it holds",
            what_it_holds(head)
        )));
    }
    // The cut that took the table of members off usually cuts a member or a header too,
    // which is said where it is met; the missing table is then a note, so that one file
    // cut short counts once among the damaged inputs.
    let damaged = Cell::new(false);
    let mut last: Option<String> = None;
    loop {
        let mut entry = match zip::read::read_zipfile_from_stream(&mut r) {
            Ok(Some(entry)) => entry,
            // The table of members starts: the damage was in it.
            Ok(None) => break,
            // Cut short at a member's header: the file ends, as already said.
            Err(zip::result::ZipError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                let after = last.map_or(String::new(), |m| format!(" after member {m}"));
                let why = zip_why(&e);
                damaged.set(true);
                each(Unit::Bad(Error::data(format!(
                    "{name}: the header{after} cannot be read: {why}"
                ))))?;
                break;
            }
        };
        let member = match entry.name() {
            Ok(member) => member.to_string(),
            Err(e) => return Err(zip_damaged(name, "", &e)),
        };
        if member.ends_with('/') {
            continue;
        }
        let size = entry.size();
        let mut data = ZipData {
            name: format!("{name}:{member}"),
            inner: &mut entry,
            damaged: Some(&damaged),
        };
        members.one(member.clone(), size, &mut data, each)?;
        last = Some(member);
    }
    members.done(notes);
    if why.is_none() {
        return Ok(());
    }
    let table = format!(
        "{name}: the zip's table of members (at its end) is missing or damaged, as in a file \
         cut short; its members were read from their own headers, as far as they went"
    );
    match damaged.get() {
        true => notes.push(table),
        false => each(Unit::Bad(Error::data(table)))?,
    }
    Ok(())
}

/// `archive:member: cannot be read: why` (or `archive: not a readable zip archive: why`).
fn zip_damaged(archive: &str, member: &str, e: &zip::result::ZipError) -> Error {
    let why = zip_why(e);
    match member {
        "" => Error::data(format!("{archive}: not a readable zip archive: {why}")),
        m => Error::data(format!("{archive}:{m}: cannot be read: {why}")),
    }
}

/// Why the zip library refused, in a user's terms: its own messages name the record
/// formats (EOCD, CDFH) and at times a Rust type (`Unexpected end of zip::format::...`).
fn zip_why(e: &zip::result::ZipError) -> String {
    use zip::result::ZipError as Z;
    match e {
        Z::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => "it is cut short".into(),
        Z::Io(e) => e.to_string(),
        Z::UnsupportedArchive(m) if *m == Z::PASSWORD_REQUIRED => {
            "it is encrypted, and tt does not decrypt".into()
        }
        Z::UnsupportedArchive(m) => format!("it uses a zip feature tt does not read ({m})"),
        Z::CompressionMethodNotSupported(n) => format!(
            "it is compressed by method {n}, which tt does not read (it reads stored, \
             deflate, deflate64, bzip2 and zstd)"
        ),
        Z::InvalidArchive(m) if m.contains("EOCD") || m.contains("end of central") => {
            "its end record is missing or damaged: the file is cut short, or not a zip".into()
        }
        Z::InvalidArchive(m) if m.contains("::") || m.starts_with("Unexpected end") => {
            "a header is cut short".into()
        }
        Z::InvalidArchive(m) => format!("damaged ({})", m.replace("CDFH", "central directory")),
        other => other.to_string(),
    }
}

/// A zip member's data, as the zip decompresses and checks it: what the zip refuses (a
/// checksum that fails, a broken deflate stream, data cut short) is damaged data of that
/// member, which ends the member and not the run, as in a compressed file; other errors
/// stay errors reading the archive.
struct ZipData<'d, R> {
    name: String,
    inner: R,
    /// Set when the member's data was said to be damaged or unreadable (where the
    /// reader of the archive needs to know).
    damaged: Option<&'d Cell<bool>>,
}

impl<R: Read> Read for ZipData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof, Unsupported};
        self.inner.read(buf).map_err(|e| {
            if carries(&e)
                || matches!(
                    e.kind(),
                    InvalidData | InvalidInput | UnexpectedEof | Unsupported
                )
            {
                if let Some(d) = self.damaged {
                    d.set(true);
                }
            }
            mark(e, |e| match e.kind() {
                InvalidData | InvalidInput | UnexpectedEof => carry(Damaged {
                    name: self.name.clone(),
                    what: "zip",
                    why: e.to_string(),
                }),
                // A compression method tt does not read: said at its first read.
                Unsupported => {
                    let why = match e.get_ref().and_then(|e| e.downcast_ref()) {
                        Some(z) => zip_why(z),
                        None => e.to_string(),
                    };
                    let name = &self.name;
                    carry(ErrorCarrier(Error::data(format!(
                        "{name}: cannot be read: {why}"
                    ))))
                }
                _ => e,
            })
        })
    }
}

/// Whether a read failed on damaged compressed data (which ends that input, not the run)
/// rather than on the input itself.
pub fn is_damage(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Damaged>())
}

/// The compressed bytes of a [`Unit::Packed`], and the damage that ended them early (a zip
/// member that fails its checksum: its bytes are still tagged as far as they go); `Err`
/// when reading them failed otherwise (the input's I/O error, named `name`).
pub fn read_packed(reader: &mut dyn Read, name: &str) -> Result<(Vec<u8>, Option<io::Error>)> {
    let mut bytes = Vec::new();
    match reader.read_to_end(&mut bytes) {
        Ok(_) => Ok((bytes, None)),
        Err(e) if is_damage(&e) => Ok((bytes, Some(e))),
        Err(e) => Err(read_error(name, e)),
    }
}

/// The compression around a `.tar` archive, when `name` is one (`.tar`, `.tar.gz`, `.tgz`,
/// `.tar.bz2`, `.tar.zst`, `.tar.xz`): `Some(None)` for a plain tar.
fn tar_of(name: &str) -> Option<Option<Codec>> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tar") {
        return Some(None);
    }
    if lower.ends_with(".tgz") {
        return Some(Some(Codec::Gzip));
    }
    Codec::ALL
        .iter()
        .find(|c| lower.ends_with(&format!(".tar.{}", c.0)))
        .map(|c| Some(c.1))
}

/// Calls `each` with every input that `paths` name, in order, as (name for messages,
/// reader): stdin when none is named (or `-`); a file (decompressed by its extension);
/// the files of a directory, recursively in name order; the members of a `.tar` archive
/// (itself compressed or not) or of a `.zip` archive in archive order, each decompressed
/// by its own extension and named `archive:member`. Directory files and archive members that are not JSON
/// (see `holds_posts`) are skipped, and said once per archive or directory in the
/// notes returned.
pub fn each_input(
    paths: &[std::path::PathBuf],
    each: &mut dyn FnMut(&str, &mut dyn Read) -> Result<()>,
) -> Result<Vec<String>> {
    each_unit(paths, 0, false, 1, &mut |unit| match unit {
        Unit::Plain(name, r) => each(name, r),
        Unit::Bad(e) => Err(e),
        Unit::Packed(..) | Unit::File(..) => unreachable!("none when packed_max is 0"),
    })
}

/// An input as [`each_unit`] hands it out.
pub enum Unit<'a> {
    /// An input to read as it is (decompressed already, when it was compressed).
    Plain(&'a str, &'a mut dyn Read),
    /// A compressed file or archive member small enough to be read whole and decompressed
    /// elsewhere (on another thread): its name, its codec, and its compressed bytes.
    Packed(&'a str, Codec, &'a mut dyn Read),
    /// A regular file that is not compressed, to be read in parts ([`Part`]).
    File(&'a str, File),
    /// A file or archive member that is not what its name says (a `.bz2` holding gzip
    /// data): the error, in input order ([`Kind::Data`]).
    Bad(Error),
}

/// [`each_input`], but compressed files and members of at most `packed_max` compressed
/// bytes come as [`Unit::Packed`], so that a caller can decompress several at once, and
/// with `by_parts` regular files that are not compressed as [`Unit::File`] (neither when
/// `packed_max` is 0). With `threads` over one, a `.bz2` file of more than [`SPLIT_ALONE`]
/// bytes named alone, or of more than [`SPLIT_AMONG`] among other inputs or as an
/// archive's member, comes as [`Unit::Plain`], its blocks decoded on that many threads;
/// so do bzip2 data on stdin and a `.tar.bz2`.
pub fn each_unit(
    paths: &[std::path::PathBuf],
    packed_max: u64,
    by_parts: bool,
    threads: usize,
    each: &mut dyn FnMut(Unit) -> Result<()>,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    if paths.is_empty() {
        each_stdin((packed_max, threads), each, &mut notes)?;
        return Ok(notes);
    }
    let by_parts = by_parts && packed_max > 0;
    let split = match paths.len() {
        1 => SPLIT_ALONE,
        _ => SPLIT_AMONG,
    };
    for path in paths {
        each_path(
            path,
            (packed_max, by_parts, threads, split),
            each,
            &mut notes,
        )?;
    }
    Ok(notes)
}

/// A `.bz2` file named alone and larger than this is decoded a block on each thread
/// ([`each_unit`]): whole, it would be decoded by one. A block of tweets is about 100 kB
/// compressed: this is some ten blocks.
pub const SPLIT_ALONE: u64 = 1 << 20;

/// Among other inputs (several named, a directory's files, an archive's members), a
/// `.bz2` file or member of up to this many bytes is decoded whole, on one thread, several
/// at once: a directory of 12 files of 2 MB took a median 4.52 s a block on each thread,
/// and 3.95 s as 24 files of 1 MB decoded whole (`tt tags -j2 DIR`, 5 interleaved runs:
/// BENCHMARKS.md, "One large `.bz2`").
pub const SPLIT_AMONG: u64 = 16 << 20;

/// Whether compressed data of `size` bytes is read a block on each of `threads` threads
/// (bzip2 only: [`crate::bunzip::Parallel`]) rather than whole by one worker: when it is
/// over `split` bytes ([`SPLIT_ALONE`], [`SPLIT_AMONG`]). The same for a file and for an
/// archive's member, which is among others.
fn bzip2_by_blocks(codec: Codec, threads: usize, size: u64, split: u64) -> bool {
    codec == Codec::Bzip2 && threads > 1 && size > split
}

/// Whether an entry of a directory is read: a directory (not through a link: a loop of
/// links would never end), or a file that holds posts or is an archive.
fn reads_entry(p: &Path) -> bool {
    let file_name = p.file_name().map(|f| f.to_string_lossy().into_owned());
    let file_name = file_name.unwrap_or_default();
    let linked_dir = p.is_symlink() && p.is_dir();
    !linked_dir
        && (p.is_dir()
            || holds_posts(&file_name)
            || tar_of(&file_name).is_some()
            || is_zip(&file_name))
}

fn each_path(
    path: &Path,
    (packed_max, by_parts, threads, split): (u64, bool, usize, u64),
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let name = path.display().to_string();
    if path.as_os_str() == "-" {
        return each_stdin((packed_max, threads), each, notes);
    }
    if path.is_dir() {
        let mut entries: Vec<std::path::PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::new(Kind::NoInput, format!("cannot read {name}: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        if entries.is_empty() {
            notes.push(format!("{name}: an empty directory: nothing read from it"));
        }
        let (mut skipped, mut first) = (0, None);
        for p in entries {
            if reads_entry(&p) {
                each_path(
                    &p,
                    (packed_max, by_parts, threads, SPLIT_AMONG),
                    each,
                    notes,
                )?;
            } else {
                skipped += 1;
                first.get_or_insert(p.display().to_string());
            }
        }
        if let Some(first) = first {
            notes.push(format!(
                "{name}: {skipped} file(s) skipped: not JSON, or a link to a directory \
                 (first: {first})"
            ));
        }
        return Ok(());
    }
    // An archive that cannot be read (on) is said in input order, and the inputs after it
    // are still read.
    let archive = match (tar_of(&name), is_zip(&name)) {
        (Some(outer), _) => Some(each_member(path, (outer, threads), packed_max, each, notes)),
        (None, true) => Some(each_zip_member(path, (packed_max, threads), each, notes)),
        (None, false) => None,
    };
    match archive {
        Some(Err(e)) if e.kind == Kind::Data => return each(Unit::Bad(e)),
        Some(r) => return r,
        None => {}
    }
    if let (Some(codec), Ok(meta)) = (Codec::of(path), std::fs::metadata(path)) {
        // Otherwise opened below, its blocks decoded on `threads` threads.
        let by_blocks = bzip2_by_blocks(codec, threads, meta.len(), split);
        if !by_blocks && packed_max > 0 && meta.is_file() && meta.len() <= packed_max {
            return each(Unit::Packed(&name, codec, &mut open_file(path, &name)?));
        }
    }
    let regular = || std::fs::metadata(path).is_ok_and(|m| m.is_file());
    if by_parts && path.as_os_str() != "-" && Codec::of(path).is_none() && regular() {
        // Its parts are read with pread(2), counted there (`read_some_at`).
        return each(Unit::File(&name, open_file(path, &name)?.0));
    }
    match open_on(path, 0, threads) {
        Ok((mut input, _)) => each(Unit::Plain(&input.name, &mut input.reader)),
        Err(e) if e.kind == Kind::Data => each(Unit::Bad(e)),
        Err(e) => Err(e),
    }
}

/// The regular-file members of a `.tar` archive (compressed as a whole by `outer`, bzip2
/// decoded on `threads` threads, or not), in archive order. Where the archive cannot be
/// read on (a header cut short or damaged, or the outer compression damaged), what came
/// before is kept and the rest skipped, said once; a file that is not a tar at all is said
/// with what it holds.
fn each_member(
    path: &Path,
    (outer, threads): (Option<Codec>, usize),
    packed_max: u64,
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let name = path.display().to_string();
    let file = open_file(path, &name)?;
    let reader: Box<dyn Read> = match outer {
        Some(codec) => Box::new(codec.open_on(file, &name, threads)?),
        None => Box::new(file),
    };
    // tar writes 10,240 bytes for an archive of no members (and GNU tar refuses an empty
    // file): nothing at all was cut short.
    let empty = match outer {
        None => format!("{name}: named .tar but empty (0 bytes): cut short"),
        Some(_) => format!("{name}: empty once decompressed, so not a tar archive"),
    };
    tar_archive(reader, &name, empty, (packed_max, threads), each, notes)
}

/// The members of the tar archive `reader` gives (decompressed), named `name:member`, as
/// [`each_member`] says; `empty` is what to say when it gives nothing at all.
fn tar_archive(
    reader: Box<dyn Read + '_>,
    name: &str,
    empty: String,
    (packed_max, threads): (u64, usize),
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let watch = Rc::new(Watch::default());
    let mut reader = Watched {
        inner: reader,
        watch: Rc::clone(&watch),
    };
    // The first header block, kept to say what the file holds if it is not a tar.
    let mut head = Vec::with_capacity(512);
    let stop = match (&mut reader).take(512).read_to_end(&mut head) {
        Ok(0) => return Err(Error::data(empty)),
        Ok(_) => {
            let mut archive = tar::Archive::new(io::Cursor::new(&head[..]).chain(&mut reader));
            let mut members = Members::new(name, packed_max, threads);
            let stop = tar_members(&mut archive, &watch, &mut members, each)?;
            members.done(notes);
            stop
        }
        Err(e) => Some((e, None)),
    };
    let Some((e, last)) = stop else {
        return Ok(());
    };
    // Damaged compressed data met while a member was read was said there, with the line;
    // so was an end of the archive inside a member.
    if watch.damage.get() == Some(true) || watch.cut.get() {
        return Ok(());
    }
    if is_damage(&e) {
        return Err(read_error(name, e));
    }
    let Some(last) = last else {
        return Err(Error::data(match is_tar(&head) {
            true => format!("{name}: not a readable tar archive: its first header is damaged"),
            false => format!(
                "{name}: named .tar but not a tar archive: {}; rename it to what it holds",
                what_it_holds(&head)
            ),
        }));
    };
    // tar's own words for a file that ends early vary ("unexpected EOF during skip"):
    // whether the file did end says it.
    Err(Error::data(
        match e.kind() == io::ErrorKind::UnexpectedEof || watch.ended.get() {
            true => format!("{name}: the archive is cut short, in or after member {last}"),
            false => format!("{name}: the header after member {last} is damaged"),
        },
    ))
}

/// Hands each regular-file member of `archive` to `members`; the error that ended the
/// archive early, if one did, and the last member read before it.
fn tar_members<R: Read>(
    archive: &mut tar::Archive<R>,
    watch: &Watch,
    members: &mut Members,
    each: &mut dyn FnMut(Unit) -> Result<()>,
) -> Result<Option<(io::Error, Option<String>)>> {
    let mut last = None;
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => return Ok(Some((e, last))),
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => return Ok(Some((e, last))),
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        let member = match entry.path() {
            Ok(p) => p.display().to_string(),
            Err(e) => return Ok(Some((e, last))),
        };
        // A link, device or fifo has no posts of its own: counted in the note.
        if !kind.is_file() {
            members.skip(member);
            continue;
        }
        let size = entry.size();
        watch.in_member.set(true);
        let mut data = TarData {
            inner: &mut entry,
            name: format!("{}:{member}", members.archive),
            got: 0,
            size,
            cut: &watch.cut,
        };
        let r = members.one(member.clone(), size, &mut data, each);
        watch.in_member.set(false);
        r?;
        last = Some(member);
    }
    Ok(None)
}

/// Where damaged compressed data around a tar was first met: `Some(true)` while a
/// member's data was read (the member's reader said it), `Some(false)` in a header.
/// And whether the file ended.
#[derive(Default)]
struct Watch {
    in_member: Cell<bool>,
    damage: Cell<Option<bool>>,
    ended: Cell<bool>,
    /// Whether the archive ended inside a member, which said so ([`TarData`]).
    cut: Cell<bool>,
}

/// A tar member's data. The archive ending before the member does is damage of the
/// member, said once, where its lines stop: read to its end as if whole, it went to a
/// decoder as a cut stream ("damaged bzip2 data"), to a plain member's last line as a
/// bad line, or, with none of its bytes, as an empty file; and the archive then said its
/// own end, a second input counted damaged for one cut.
struct TarData<'r> {
    inner: &'r mut dyn Read,
    name: String,
    got: u64,
    size: u64,
    cut: &'r Cell<bool>,
}

impl Read for TarData<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.got < self.size {
            self.cut.set(true);
            return Err(carry(Damaged {
                name: self.name.clone(),
                what: CUT_MEMBER,
                why: format!(
                    "the archive ends after {} of this member's {} bytes",
                    self.got, self.size
                ),
            }));
        }
        self.got += n as u64;
        Ok(n)
    }
}

/// A tar's reader (its decoder, when compressed), watched for damage and its end.
struct Watched<R> {
    inner: R,
    watch: Rc<Watch>,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.inner.read(buf);
        match &r {
            Ok(0) if !buf.is_empty() => self.watch.ended.set(true),
            Err(e) if is_damage(e) && self.watch.damage.get().is_none() => {
                self.watch.damage.set(Some(self.watch.in_member.get()));
            }
            _ => {}
        }
        r
    }
}

/// Bytes read from input files so far by this process, for the progress line of a long
/// run ([`input_bytes`] is the whole).
static FILE_BYTES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many bytes of input files this process has read so far.
pub fn file_bytes_read() -> u64 {
    FILE_BYTES.load(std::sync::atomic::Ordering::Relaxed)
}

fn count_read(n: u64) {
    FILE_BYTES.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
}

/// An input file (or stdin) whose reads are counted in [`file_bytes_read`].
struct Counted<R>(R);

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        count_read(n as u64);
        Ok(n)
    }
}

impl<R: io::Seek> io::Seek for Counted<R> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        self.0.seek(to)
    }
}

/// Opens an input file (its reads counted), or says which cannot be opened (exit 66).
fn open_file(path: &Path, name: &str) -> Result<Counted<File>> {
    File::open(path)
        .map(Counted)
        .map_err(|e| Error::new(Kind::NoInput, format!("cannot open {name}: {e}")))
}

/// The size of what is read from `paths`: files, and with `dirs` (`tt tags`, [`each_unit`])
/// the files of directories that it reads; stdin counts nothing, and so does a directory
/// given to a command that refuses one (`tt count /` must not walk the whole disk first).
pub fn input_bytes(paths: &[std::path::PathBuf], dirs: bool) -> u64 {
    fn of(path: &Path, dirs: bool) -> u64 {
        if path.as_os_str() == "-" {
            return 0;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() && dirs => std::fs::read_dir(path).map_or(0, |entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| reads_entry(p))
                    .map(|p| of(&p, dirs))
                    .sum()
            }),
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        }
    }
    paths.iter().map(|p| of(p, dirs)).sum()
}

/// How a command reads its files and where its output goes, for [`progress_of`].
#[derive(Clone, Copy)]
pub struct Reads {
    /// It reads directories ([`input_bytes`]).
    pub dirs: bool,
    /// It writes its output to stdout (not `tt publish`, which writes to Kafka).
    pub writes_stdout: bool,
}

impl Reads {
    /// Files only (a directory is refused), the output on stdout: count, combine, top,
    /// report.
    pub const FILES: Reads = Reads {
        dirs: false,
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
    (packed_max, threads): (u64, usize),
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let mut input = stdin_on(threads);
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
    let mut rest = io::Cursor::new(head).chain(input.reader);
    let name = &input.name;
    let r = match archive {
        Some("tar") => {
            let empty = String::new(); // not met: the head holds a tar header
            tar_archive(
                Box::new(rest),
                name,
                empty,
                (packed_max, threads),
                each,
                notes,
            )
        }
        Some(_) => {
            let members = Members::new(name, packed_max, threads);
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
                self.head.insert(io::Cursor::new(head))
            }
        };
        match head.read(buf)? {
            0 => self.inner.read(buf),
            n => Ok(n),
        }
    }
}

/// A stream's first bytes, enough to tell an archive from lines ([`archive_of`]): more
/// than the first read only while they hold a NUL byte and no newline, up to the 512
/// bytes of a tar header (its magic is at byte 257). Lines of JSON or text hold no NUL.
fn archive_head(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    read_head(r, 512, |head| head.contains(&0) && !head.contains(&b'\n'))
}

/// The archive a stream's first bytes ([`archive_head`]) start, if any: `tar` or `zip`.
fn archive_of(head: &[u8]) -> Option<&'static str> {
    match (is_tar(head), head.starts_with(ZIP_MEMBER)) {
        (true, _) => Some("tar"),
        (_, true) => Some("zip"),
        _ => None,
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
                let rest = io::Cursor::new(head).chain(stdin);
                self.0.insert(match codec {
                    Some(codec) => Box::new(
                        codec
                            .open_on(rest, "<stdin>", self.1)
                            .map_err(|e| carry(ErrorCarrier(e)))?,
                    ),
                    None => Box::new(rest),
                })
            }
        };
        r.read(buf)
    }
}

/// The codec of a stream that starts with `head`, by a signature no line of text starts
/// with: the magic numbers of gzip, zstd and xz are not UTF-8, but bzip2's `BZh` is
/// text, so it must be followed by a level and the magic of a block or of the end.
fn stdin_codec(head: &[u8]) -> Option<Codec> {
    const BLOCK: &[u8] = &[0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const END: &[u8] = &[0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    match Codec::sniff(head)? {
        Codec::Bzip2 => match head.get(3..10) {
            Some([b'1'..=b'9', magic @ ..]) if magic == BLOCK || magic == END => Some(Codec::Bzip2),
            _ => None,
        },
        codec => Some(codec),
    }
}

/// A stream's first bytes: what its first read gives, and more only while that may still
/// be the start of a codec's signature ([`stdin_codec`]).
fn head_of(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    read_head(r, 8192, |head| {
        let magic = Codec::ALL
            .iter()
            .any(|c| c.2.len() > head.len() && c.2.starts_with(head));
        let bzip2 = head.starts_with(b"BZh") && head.len() < 10 && !head.contains(&b'\n');
        magic || bzip2
    })
}

/// A stream's first bytes, at most `max`: what its first read gives, and more only while
/// `undecided` says they may still be the start of something else. A live stream's first
/// line is handed on as soon as it arrives when `undecided` rules it out.
fn read_head(
    r: &mut dyn Read,
    max: usize,
    undecided: impl Fn(&[u8]) -> bool,
) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; max];
    let mut n = 0;
    loop {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if n == max || !undecided(&head[..n]) {
            break;
        }
    }
    head.truncate(n);
    Ok(head)
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
        let reader = codec.open_on(file, &name, threads)?;
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
    let input = Input {
        name,
        reader: Box::new(file),
        is_file,
    };
    Ok((input, seeked))
}

/// One line from a [`LineReader`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line without its `\n` or `\r\n`.
    Data(&'a [u8]),
    /// A line longer than the limit; it was discarded. Holds its length in bytes.
    TooLong(u64),
}

enum Found {
    InBuf(usize, usize),
    Partial,
    TooLong(u64),
    Eof,
}

/// Runs `produce` on a thread of its own, handing its items to the returned receiver
/// through a queue of `cap` items: memory stays bounded by `cap` items, and a consumer
/// that falls behind pushes back on the producer (for a socket, through TCP flow
/// control). `produce` gets a `send` that says false once the receiver is gone; it
/// should then return. The reader thread of `tt count` and of every network source.
pub fn spawn_bounded<T, F>(name: &str, cap: usize, produce: F) -> Result<Receiver<T>>
where
    T: Send + 'static,
    F: FnOnce(&dyn Fn(T) -> bool) + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(cap);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || produce(&|item| tx.send(item).is_ok()))
        .map_err(|e| Error::new(Kind::Failure, format!("cannot start a thread: {e}")))?;
    Ok(rx)
}

/// One line of a [`Chunk`]: its place in the chunk's data, its number, and the byte offset
/// of the input just past it (where a resumed run starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Line {
        start: usize,
        end: usize,
        lineno: u64,
        offset: u64,
    },
    /// A line over the limit, discarded: its length in bytes.
    TooLong { lineno: u64, len: u64, offset: u64 },
}

/// A run of lines of one input, read by one thread for another: the lines' bytes (without
/// their newlines) one after the other, and where each is.
pub struct Chunk {
    pub name: Arc<str>,
    pub data: Vec<u8>,
    pub items: Vec<Item>,
}

/// What a line over `--max-line-bytes` is called.
pub fn too_long(len: u64, max: usize) -> String {
    format!("line of {len} bytes is over --max-line-bytes ({max})")
}

/// Chunks are sent when they reach this size, or when the reader might block.
const CHUNK: usize = 256 * 1024;

/// Reads `lines` to the end into [`Chunk`]s handed to `send`: when one reaches 256 KiB, and
/// whenever the next read might block, so that a line reaches the consumer as soon as it
/// has been read (live input stays live). A read error is sent as `Err`. Returns false
/// when the run should stop: a read failed, or the receiver is gone (`send` said false).
pub fn send_chunks<R: Read>(
    mut lines: LineReader<R>,
    name: Arc<str>,
    send: &dyn Fn(Result<Chunk>) -> bool,
) -> bool {
    let fresh = || Vec::with_capacity(CHUNK);
    let mut data = fresh();
    let mut items = Vec::new();
    let chunk = |data: &mut Vec<u8>, items: &mut Vec<Item>| Chunk {
        name: name.clone(),
        data: std::mem::replace(data, fresh()),
        items: std::mem::take(items),
    };
    loop {
        let r = lines.next_line(&mut || {
            if !items.is_empty() && !send(Ok(chunk(&mut data, &mut items))) {
                return Err(Error::new(Kind::PipeClosed, ""));
            }
            Ok(())
        });
        match r {
            Ok(Some((lineno, Line::Data(b)))) => {
                let start = data.len();
                data.extend_from_slice(b);
                let end = data.len();
                items.push(Item::Line {
                    start,
                    end,
                    lineno,
                    offset: 0,
                });
            }
            Ok(Some((lineno, Line::TooLong(len)))) => items.push(Item::TooLong {
                lineno,
                len,
                offset: 0,
            }),
            Ok(None) => break,
            Err(e) => {
                let err = read_error(&name, e);
                if err.kind != Kind::PipeClosed {
                    send(Err(err));
                }
                return false;
            }
        }
        // The offset after the line, known only now that the reader has moved past it.
        if let Some(Item::Line { offset, .. } | Item::TooLong { offset, .. }) = items.last_mut() {
            *offset = lines.offset();
        }
        if data.len() >= CHUNK && !send(Ok(chunk(&mut data, &mut items))) {
            return false;
        }
    }
    items.is_empty() || send(Ok(chunk(&mut data, &mut items)))
}

/// Whole lines of one input, cut from it in blocks for other threads to split: what
/// [`send_blocks`] sends.
pub enum Block {
    /// Lines `first`, `first + 1`, ... in `data[..len]`, each with its newline (a last line
    /// at end of input may have none).
    Lines {
        name: Arc<str>,
        first: u64,
        data: Vec<u8>,
        len: usize,
    },
    /// Line `lineno`, over `max` bytes (`len`), skipped as it streamed past.
    TooLong {
        name: Arc<str>,
        lineno: u64,
        len: u64,
    },
}

/// A line of a [`Block`]: `Ok((lineno, line))`, or `Err((lineno, why))` when it is over
/// the limit.
pub type BlockLine<'a> = std::result::Result<(u64, &'a [u8]), (u64, String)>;

impl Block {
    /// The block's lines as [`LineReader::next_record`] gives them: blank ones skipped,
    /// `Ok((lineno, line))` without its newline or `\r\n`, `Err((lineno, why))` for one
    /// over `max` bytes.
    pub fn each_line(&self, max: usize, f: &mut dyn FnMut(BlockLine) -> Result<()>) -> Result<()> {
        match self {
            Block::TooLong { lineno, len, .. } => f(Err((*lineno, too_long(*len, max)))),
            Block::Lines {
                first, data, len, ..
            } => each_line(&data[..*len], *first, max, f).map(|_| ()),
        }
    }
}

/// The lines of `data`, the first numbered `first`, as [`LineReader::next_record`] gives
/// them; returns the number the line after them would have.
fn each_line(
    data: &[u8],
    first: u64,
    max: usize,
    f: &mut dyn FnMut(BlockLine) -> Result<()>,
) -> Result<u64> {
    let mut rest = data;
    let mut lineno = first;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        if line.len() > max {
            f(Err((lineno, too_long(line.len() as u64, max))))?;
        } else {
            let line = content(lineno == 1, line);
            if !line.iter().all(u8::is_ascii_whitespace) {
                f(Ok((lineno, line)))?;
            }
        }
        lineno += 1;
    }
    Ok(lineno)
}

/// The largest zstd member [`zstd_lines`] decodes into one buffer; a bigger one streams.
pub const ZSTD_WHOLE_MAX: u64 = 64 << 20;

/// Decodes a zstd member that is one frame of a declared size (the zstd tool writes
/// them so) straight into `buf`, and hands its lines to `f` as [`Block::each_line`]
/// does, a block at a time, while they are still in cache. zstd's streaming decoder
/// decodes into a window of its own and copies out: that copy was 9-12 % of `perf
/// record`'s samples of `tt tags` on a `.tar` of `.zst` members; this way takes 7 % fewer
/// instructions and 27 % fewer L1 misses (cachegrind; in wall time, within this
/// machine's noise: BENCHMARKS.md). `None` when the member is not such a frame (several
/// frames, no declared size, over [`ZSTD_WHOLE_MAX`], cut off): the caller streams it.
/// Otherwise its number of lines; or, when a block is damaged or the checksum fails, the
/// error, after the whole lines of the blocks before (each call is given one block, as
/// zstd's hint says, so that a failed call loses no block but its own).
pub fn zstd_lines(
    bytes: &[u8],
    name: &str,
    max: usize,
    buf: &mut Vec<u8>,
    f: &mut dyn FnMut(BlockLine) -> Result<()>,
) -> Option<Result<u64>> {
    use zstd_safe::{DCtx, DParameter, InBuffer, OutBuffer};
    let size = match zstd_safe::get_frame_content_size(bytes) {
        Ok(Some(n)) if n <= ZSTD_WHOLE_MAX => n as usize,
        _ => return None,
    };
    if zstd_safe::find_frame_compressed_size(bytes) != Ok(bytes.len()) {
        return None;
    }
    let mut dctx = DCtx::create();
    dctx.set_parameter(DParameter::StableOutBuffer(true)).ok()?;
    buf.clear();
    buf.reserve_exact(size.max(1));
    let (mut fed, mut want, mut done, mut lineno) = (0usize, 1usize, 0usize, 1u64);
    loop {
        let mut input = InBuffer {
            src: &bytes[..(fed + want).min(bytes.len())],
            pos: fed,
        };
        let before = (fed, buf.len());
        // The same buffer, size and position every call, as the stable mode requires.
        let r = dctx.decompress_stream(&mut OutBuffer::around_pos(&mut *buf, before.1), &mut input);
        fed = input.pos;
        let end = match r {
            Ok(0) => buf.len(),
            _ => memchr::memrchr(b'\n', &buf[done..]).map_or(done, |i| done + i + 1),
        };
        lineno = match each_line(&buf[done..end], lineno, max, f) {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        done = end;
        let why = match r {
            Ok(0) => return Some(Ok(lineno - 1)),
            Err(code) => zstd_safe::get_error_name(code),
            // Every call takes input or gives output: one that did neither would again.
            Ok(_) if (fed, buf.len()) == before && fed == bytes.len() => "incomplete frame",
            Ok(_) if (fed, buf.len()) == before => "the decoder made no progress",
            Ok(hint) => {
                want = hint;
                continue;
            }
        };
        let e = carry(Damaged {
            name: name.to_string(),
            what: "zstd",
            why: why.to_string(),
        });
        return Some(Err(read_error_after(name, e, Some(lineno - 1))));
    }
}

/// Reads `r` to the end into [`Block`]s of whole lines handed to `send`, after every read:
/// a file in blocks of `block` bytes, a pipe in what each read returns, so a line is sent
/// as soon as it has been read (live input stays live). Lines over `max` bytes are skipped
/// as they stream past (memory stays bounded by `block` plus `max`), with the same line
/// numbers and lengths as [`LineReader`]. `fresh` gives the buffers (a consumer that hands
/// them back saves the page faults of new ones). A read error is sent as `Err`. Returns
/// false when the run should stop: a read failed, or `send` said false.
pub fn send_blocks(
    r: &mut dyn Read,
    name: Arc<str>,
    max: usize,
    block: usize,
    send: &dyn Fn(Result<Block>) -> bool,
    fresh: &dyn Fn() -> Vec<u8>,
) -> bool {
    let block = block.max(1);
    let mut buf = fresh();
    let mut filled = 0;
    let mut lineno = 0u64;
    let mut skipping: Option<u64> = None;
    loop {
        if buf.len() < filled + block {
            buf.resize(filled + block, 0);
        }
        let n = loop {
            match r.read(&mut buf[filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let err = read_error_after(&name, e, Some(lineno));
                    return match err.kind {
                        Kind::PipeClosed => false,
                        // Damaged compressed data ends this input, not the run.
                        Kind::Data => send(Err(err)),
                        _ => {
                            send(Err(err));
                            false
                        }
                    };
                }
            }
        };
        let eof = n == 0;
        filled += n;
        if let Some(skipped) = skipping {
            // Skipping, nothing is kept: the read went to the start of the buffer.
            match memchr::memchr(b'\n', &buf[..filled]) {
                Some(i) => {
                    lineno += 1;
                    let len = skipped + i as u64;
                    if !send(Ok(Block::TooLong {
                        name: name.clone(),
                        lineno,
                        len,
                    })) {
                        return false;
                    }
                    skipping = None;
                    buf.copy_within(i + 1..filled, 0);
                    filled -= i + 1;
                }
                None if eof => {
                    let len = skipped;
                    return send(Ok(Block::TooLong {
                        name: name.clone(),
                        lineno: lineno + 1,
                        len,
                    }));
                }
                None => {
                    skipping = Some(skipped + n as u64);
                    filled = 0;
                    continue;
                }
            }
        }
        let cut = match memchr::memrchr(b'\n', &buf[..filled]) {
            Some(k) => k + 1,
            None if eof => filled,
            None => {
                if filled > max {
                    // One line, already over the limit: skip the rest of it.
                    skipping = Some(filled as u64);
                    filled = 0;
                }
                continue;
            }
        };
        if cut > 0 {
            let mut next = fresh();
            let tail = filled - cut;
            if next.len() < tail + block {
                next.resize(tail + block, 0);
            }
            next[..tail].copy_from_slice(&buf[cut..filled]);
            let data = std::mem::replace(&mut buf, next);
            let lines = memchr::memchr_iter(b'\n', &data[..cut]).count() as u64;
            let unterminated = u64::from(data[cut - 1] != b'\n');
            let first = lineno + 1;
            lineno += lines + unterminated;
            filled = tail;
            let b = Block::Lines {
                name: name.clone(),
                first,
                data,
                len: cut,
            };
            if !send(Ok(b)) {
                return false;
            }
        }
        if eof {
            return true;
        }
    }
}

/// The lines of a file that start in bytes `start..end` of it (a line starts at 0 or after
/// a newline), as a reader: so that threads can read the parts of one file at once, each
/// line read by the thread of the part it starts in, into the cache of the core that
/// parses it. The last line is read on to its end, past `end`. Read through a
/// [`LineReader`], whose line numbers then count from the part's first line.
pub struct Part<'f> {
    file: &'f File,
    start: u64,
    end: u64,
    /// The next byte to read, once the start of the first line is found.
    pos: Option<u64>,
    done: bool,
}

impl<'f> Part<'f> {
    pub fn new(file: &'f File, start: u64, end: u64) -> Part<'f> {
        Part {
            file,
            start,
            end,
            pos: (start == 0).then_some(0),
            done: start >= end,
        }
    }

    /// Where the first line that starts at or after `start` starts.
    fn first_line(&self) -> io::Result<Option<u64>> {
        let mut probe = [0u8; 4096];
        let mut at = self.start - 1;
        loop {
            let n = read_some_at(self.file, &mut probe, at)?;
            if n == 0 {
                return Ok(None);
            }
            if let Some(i) = memchr::memchr(b'\n', &probe[..n]) {
                return Ok(Some(at + i as u64 + 1));
            }
            at += n as u64;
        }
    }
}

impl Read for Part<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let pos = match self.pos {
            Some(p) => p,
            None if self.done => return Ok(0),
            None => match self.first_line()? {
                Some(p) if p < self.end => *self.pos.insert(p),
                _ => {
                    self.done = true;
                    return Ok(0);
                }
            },
        };
        if self.done || out.is_empty() {
            return Ok(0);
        }
        let mut n = read_some_at(self.file, out, pos)?;
        if n == 0 {
            self.done = true;
            return Ok(0);
        }
        // A newline at `end - 1` or later ends the last line that starts in the part.
        let last = self.end - 1;
        if pos + n as u64 > last {
            let from = last.saturating_sub(pos) as usize;
            if let Some(i) = memchr::memchr(b'\n', &out[from..n]) {
                n = from + i + 1;
                self.done = true;
            }
        }
        self.pos = Some(pos + n as u64);
        Ok(n)
    }
}

/// One pread(2): what `file` has at `at`, up to `buf`'s length (0 at its end).
fn read_some_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match file.read_at(buf, at) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.inspect(|&n| count_read(n as u64)),
        }
    }
}

/// Splits a byte stream into lines with bounded memory. See the module docs.
pub struct LineReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// A line that spans refills.
    partial: Vec<u8>,
    /// `partial` was handed out and must be cleared on the next call.
    partial_done: bool,
    /// Discarding an over-long line; how many bytes so far.
    skipping: Option<u64>,
    max: usize,
    lineno: u64,
    offset: u64,
    eof: bool,
    /// A last line without a newline is a line (files); with [`Self::drop_unterminated`]
    /// it is dropped (a network stream cut off mid-message).
    keep_unterminated: bool,
    /// The number of the line that may start with a byte order mark: 1, or none (0) when
    /// reading from the middle of a file ([`Self::mid_stream`]).
    bom_line: u64,
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R, max_line: usize) -> Self {
        LineReader {
            inner,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            pos: 0,
            end: 0,
            base: 0,
            partial: Vec::new(),
            partial_done: false,
            skipping: None,
            max: max_line,
            lineno: 0,
            offset: 0,
            eof: false,
            keep_unterminated: true,
            bom_line: 1,
        }
    }

    /// Reads from the middle of a file (a part of it, read by its own reader): its first
    /// line is not the file's, so a byte order mark there is data, as it is for a reader
    /// of the whole file.
    pub fn mid_stream(mut self) -> Self {
        self.bom_line = 0;
        self
    }

    /// Drops a last line that has no newline, instead of returning it.
    pub fn drop_unterminated(mut self) -> Self {
        self.keep_unterminated = false;
        self
    }

    /// The next line within the limit, blank ones included; a line over the limit is
    /// dropped whole, unreported (network framing: an over-long message is dropped).
    pub fn next_fitting(
        &mut self,
        before_read: &mut dyn FnMut() -> Result<()>,
    ) -> io::Result<Option<&[u8]>> {
        let found = loop {
            match self.next_found(before_read)? {
                Found::TooLong(_) => {}
                found => break found,
            }
        };
        Ok(self.line_of(found).map(|(_, line)| match line {
            Line::Data(d) => d,
            Line::TooLong(_) => &[],
        }))
    }

    /// Starts counting offsets and line numbers from a resumed position.
    pub fn resume_at(&mut self, offset: u64, lineno: u64) {
        self.base = offset;
        self.offset = offset;
        self.lineno = lineno;
        self.bom_line = 0;
    }

    /// Byte offset just past the line last returned (and its newline).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The lines gone by: the number of the last line read, blank and over-long ones
    /// included.
    pub fn lineno(&self) -> u64 {
        self.lineno
    }

    /// The next line and its number (1-based), or `None` at end of input. `before_read`
    /// runs before every read of the underlying input, that is, whenever this call might
    /// block: commands flush their output there.
    pub fn next_line(
        &mut self,
        before_read: &mut dyn FnMut() -> Result<()>,
    ) -> io::Result<Option<(u64, Line<'_>)>> {
        let found = self.next_found(before_read)?;
        Ok(self.line_of(found))
    }

    /// The next line that holds data, and its number: blank lines (keep-alives) are
    /// skipped, and a line over the limit is reported to `diag` as a bad line of `input`
    /// (which ends the run with `--strict`). The loop every NDJSON-reading command shares.
    pub fn next_record(
        &mut self,
        input: &str,
        diag: &mut Diag,
        before_read: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Option<(u64, &[u8])>> {
        loop {
            let found = self
                .next_found(before_read)
                .map_err(|e| read_error_after(input, e, Some(self.lineno)))?;
            let (a, b) = match found {
                Found::Eof => return Ok(None),
                Found::TooLong(n) => {
                    diag.bad_line(input, self.lineno, too_long(n, self.max))?;
                    continue;
                }
                Found::InBuf(a, b) => (a, b),
                Found::Partial => {
                    self.partial_done = true;
                    (usize::MAX, 0)
                }
            };
            let (no, first) = (self.lineno, self.lineno == self.bom_line);
            let whole = if a == usize::MAX {
                &self.partial[..]
            } else {
                &self.buf[a..b]
            };
            if content(first, whole).iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // Taken again: a borrow returned from one branch of a loop is held by the
            // borrow checker across the loop's next turn too.
            let line = if a == usize::MAX {
                content(first, &self.partial)
            } else {
                content(first, &self.buf[a..b])
            };
            return Ok(Some((no, line)));
        }
    }

    fn line_of(&mut self, found: Found) -> Option<(u64, Line<'_>)> {
        let no = self.lineno;
        match found {
            Found::InBuf(a, b) => Some((
                no,
                Line::Data(content(no == self.bom_line, &self.buf[a..b])),
            )),
            Found::Partial => {
                self.partial_done = true;
                Some((no, Line::Data(content(no == self.bom_line, &self.partial))))
            }
            Found::TooLong(n) => Some((no, Line::TooLong(n))),
            Found::Eof => None,
        }
    }

    fn next_found(&mut self, before_read: &mut dyn FnMut() -> Result<()>) -> io::Result<Found> {
        if self.partial_done {
            self.partial.clear();
            self.partial_done = false;
        }
        let found = loop {
            if self.pos < self.end {
                let avail = &self.buf[self.pos..self.end];
                match memchr::memchr(b'\n', avail) {
                    Some(i) => {
                        let start = self.pos;
                        self.pos += i + 1;
                        self.lineno += 1;
                        self.offset = self.base + self.pos as u64;
                        if let Some(n) = self.skipping.take() {
                            break Found::TooLong(n + i as u64);
                        }
                        if self.partial.is_empty() {
                            if i > self.max {
                                break Found::TooLong(i as u64);
                            }
                            break Found::InBuf(start, start + i);
                        }
                        if self.partial.len() + i > self.max {
                            let n = (self.partial.len() + i) as u64;
                            self.partial.clear();
                            break Found::TooLong(n);
                        }
                        self.partial.extend_from_slice(&avail[..i]);
                        break Found::Partial;
                    }
                    None => {
                        let n = avail.len();
                        if let Some(s) = self.skipping.as_mut() {
                            *s += n as u64;
                        } else if self.partial.len() + n > self.max {
                            self.skipping = Some((self.partial.len() + n) as u64);
                            self.partial = Vec::new(); // give the memory back
                        } else {
                            self.partial.extend_from_slice(avail);
                        }
                        self.pos = self.end;
                    }
                }
            }
            if self.eof && !self.keep_unterminated {
                self.skipping = None;
                self.partial.clear();
                break Found::Eof;
            }
            if self.eof {
                // A last line without a newline.
                self.offset = self.base + self.end as u64;
                if let Some(n) = self.skipping.take() {
                    self.lineno += 1;
                    break Found::TooLong(n);
                }
                if !self.partial.is_empty() {
                    self.lineno += 1;
                    break Found::Partial;
                }
                break Found::Eof;
            }
            before_read().map_err(|e| io::Error::other(ErrorCarrier(e)))?;
            self.base += self.end as u64;
            self.pos = 0;
            self.end = 0;
            let n = loop {
                match self.inner.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            self.end = n;
            self.eof = n == 0;
        };
        Ok(found)
    }
}

/// UTF-8's byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A line as the readers hand it out: without the `\r` of a CRLF file, and the first of
/// an input (`first`) without a UTF-8 byte order mark, which Windows tools (Notepad,
/// PowerShell's `Out-File -Encoding utf8`) write at the start of a file and RFC 8259 §8.1
/// lets a JSON parser ignore; serde_json refuses it ("expected value at line 1 column 1"),
/// which left a good first post unread with a message that did not say why.
fn content(first: bool, line: &[u8]) -> &[u8] {
    let line = match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    };
    match first {
        true => line.strip_prefix(BOM).unwrap_or(line),
        false => line,
    }
}

/// Carries a `tt` error (raised by a `before_read` hook, e.g. a closed stdout) through
/// the `io::Error` of [`LineReader::next_line`].
#[derive(Debug)]
struct ErrorCarrier(Error);

impl std::fmt::Display for ErrorCarrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ErrorCarrier {}

/// Turns a read error into a `tt` error, unwrapping errors raised by `before_read`.
pub fn read_error(input: &str, e: io::Error) -> Error {
    read_error_after(input, e, None)
}

/// [`read_error`] after `lines` lines of the input were read: damaged compressed data is
/// then said with where it starts, in lines (what came before it was read).
pub fn read_error_after(input: &str, e: io::Error, lines: Option<u64>) -> Error {
    if !carries(&e) {
        return Error::io(format!("error reading {input}"), e);
    }
    let inner = e.into_inner().expect("checked above");
    let inner = match inner.downcast::<ErrorCarrier>() {
        Ok(c) => return c.0,
        Err(other) => other,
    };
    match inner.downcast::<Damaged>() {
        // A member of a compressed tar whose compression is damaged: named as the member,
        // whose lines the count is of.
        Ok(mut d) => Error::data(
            {
                if input.len() > d.name.len() && input.starts_with(&d.name) {
                    d.name = input.to_string();
                }
                d
            }
            .said(&match lines {
                Some(0) => " in its first line".to_string(),
                Some(n) => format!(" after line {n}"),
                None => String::new(),
            }),
        ),
        Err(other) => Error::new(Kind::Io, other.to_string()),
    }
}

/// Block-buffered output with a closed pipe mapped to [`Kind::PipeClosed`].
pub struct Output<W: Write> {
    w: BufWriter<W>,
}

/// Stdout, locked once for the whole run.
pub fn stdout() -> Output<io::StdoutLock<'static>> {
    grow_pipe(1);
    Output::new(io::stdout().lock())
}

/// When `fd` is a pipe, asks for a 1 MiB buffer instead of Linux's 64 KiB: each 64 KiB
/// otherwise costs a wake-up of the reader and a sleep of the writer. Measured on 1 M text
/// lines in /dev/shm through `tt tags --input text | tt count | tt top 10`: median of 5
/// runs 1.12 s before, 0.88 s after. Both ends ask, stdout and stdin, since the program at
/// the other end may not (`zstd -dc MEMBERS | tt tags -`: BENCHMARKS.md, "Standard input").
/// The buffer only bounds what the writer may run ahead: a line is read as soon as it is
/// written, whatever its size.
/// Best effort: an unprivileged process may be refused beyond
/// /proc/sys/fs/pipe-max-size, and then the pipe keeps its size.
#[cfg(target_os = "linux")]
pub fn grow_pipe(fd: i32) {
    // SAFETY: fstat and fcntl on a descriptor number only read or set kernel state; a
    // closed or non-pipe descriptor makes them fail, which is ignored.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO {
            libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn grow_pipe(_fd: i32) {}

impl<W: Write> Output<W> {
    pub fn new(w: W) -> Self {
        Output {
            w: BufWriter::with_capacity(WRITE_BUF, w),
        }
    }

    /// Unbuffered: for a writer that is a buffer itself (a `Vec`), where a second buffer
    /// would only copy every byte once more.
    pub fn unbuffered(w: W) -> Self {
        Output {
            w: BufWriter::with_capacity(0, w),
        }
    }

    /// The raw writer, for serializers; map their errors with [`write_error`].
    pub fn writer(&mut self) -> &mut BufWriter<W> {
        &mut self.w
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.w.write_all(bytes).map_err(write_error)
    }

    pub fn flush(&mut self) -> Result<()> {
        self.w.flush().map_err(write_error)
    }

    pub fn into_inner(self) -> Result<W> {
        self.w.into_inner().map_err(|e| write_error(e.into_error()))
    }
}

/// The error for a failed write to stdout.
pub fn write_error(e: io::Error) -> Error {
    Error::io("cannot write to standard output", e)
}

/// A CSV writer's error: a closed or failing stdout as [`write_error`] says it, anything
/// else as the csv crate says it.
pub fn csv_error(e: csv::Error) -> Error {
    let msg = format!("cannot write CSV: {e}");
    match e.into_kind() {
        csv::ErrorKind::Io(io) => write_error(io),
        _ => Error::new(Kind::Failure, msg),
    }
}

/// People-facing messages on stderr, prefixed with `tt <command>:`.
pub struct Diag {
    cmd: &'static str,
    quiet: bool,
    strict: bool,
    /// A worker's Diag ([`Diag::recording`]): what it would say, kept in order to be said
    /// by the run's own Diag ([`Diag::replay`]), so that messages come in input order.
    recorded: Option<std::cell::RefCell<Vec<Said>>>,
    /// Lines skipped as bad (not JSON, not UTF-8, too long).
    pub bad_lines: u64,
    first_bad: Option<String>,
    /// The wrong-stage hint was given.
    hinted: bool,
}

/// What a recording [`Diag`] keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    Bad {
        input: String,
        lineno: u64,
        why: String,
    },
    Note(String),
    /// A note about one line.
    At(At),
    Hint(Option<(&'static str, &'static str)>, &'static str),
    /// A command's own running total, which its run adds up: (what, value, and the
    /// note about the line that started it, said when the total is the run's first).
    Tally(&'static str, u64, Option<At>),
}

/// A note about one line of an input, said as `input:lineno: msg`.
#[derive(Debug, Clone, PartialEq)]
pub struct At {
    pub input: String,
    pub lineno: u64,
    pub msg: String,
}

impl Said {
    /// Moves the line numbers of a note said about a part of an input whose lines were
    /// numbered from 1 by `lines`: the lines before the part.
    pub fn after(mut self, lines: u64) -> Said {
        match &mut self {
            Said::Bad { lineno, .. } | Said::At(At { lineno, .. }) => *lineno += lines,
            Said::Tally(_, _, Some(at)) => at.lineno += lines,
            Said::Note(_) | Said::Hint(..) | Said::Tally(_, _, None) => {}
        }
        self
    }
}

/// How many bad lines are reported one by one before only the summary counts them.
const MAX_BAD_REPORTS: u64 = 20;

impl Diag {
    pub fn new(cmd: &'static str, quiet: bool, strict: bool) -> Diag {
        Diag {
            cmd,
            quiet,
            strict,
            bad_lines: 0,
            first_bad: None,
            hinted: false,
            recorded: None,
        }
    }

    /// A Diag that says nothing but keeps what it would say, for [`Diag::take_said`].
    pub fn recording(cmd: &'static str) -> Diag {
        Diag {
            recorded: Some(Default::default()),
            ..Diag::new(cmd, false, false)
        }
    }

    /// Keeps `said` when recording; false when this Diag speaks for itself.
    pub fn record(&self, said: Said) -> bool {
        match &self.recorded {
            Some(r) => {
                r.borrow_mut().push(said);
                true
            }
            None => false,
        }
    }

    /// Whether this Diag keeps what it would say ([`Diag::recording`]).
    pub fn is_recording(&self) -> bool {
        self.recorded.is_some()
    }

    /// What a recording Diag has kept since last asked.
    pub fn take_said(&mut self) -> Vec<Said> {
        self.recorded
            .as_mut()
            .map(|r| std::mem::take(r.get_mut()))
            .unwrap_or_default()
    }

    /// Says what a recording Diag kept, as if said here ([`Said::Tally`] is the caller's).
    pub fn replay(&mut self, said: Said) -> Result<()> {
        match said {
            Said::Bad { input, lineno, why } => self.bad_line(&input, lineno, why)?,
            Said::Note(msg) => self.note(msg),
            Said::At(at) => self.note_at(&at.input, at.lineno, at.msg),
            Said::Hint(looks_like, expected) => self.hint_wrong_stage(|| looks_like, expected),
            Said::Tally(..) => {}
        }
        Ok(())
    }

    /// A message for people, unless `--quiet`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if self.recorded.is_some() {
            self.record(Said::Note(msg.to_string()));
            return;
        }
        if !self.quiet {
            self.say(msg);
        }
    }

    /// A note about line `lineno` of `input`.
    pub fn note_at(&self, input: &str, lineno: u64, msg: impl std::fmt::Display) {
        if self.recorded.is_some() {
            let (input, msg) = (input.to_string(), msg.to_string());
            self.record(Said::At(At { input, lineno, msg }));
            return;
        }
        self.note(format!("{input}:{lineno}: {msg}"));
    }

    /// A message that `--quiet` does not silence.
    pub fn say(&self, msg: impl std::fmt::Display) {
        // Never panic when stderr is closed: there is nobody to tell anyway.
        let line = format!("tt {}: {msg}", self.cmd);
        crate::progress::suspend(|| writeln!(io::stderr().lock(), "{line}")).ok();
    }

    /// Reports a bad input line. With `--strict` this is the end: exit 65.
    pub fn bad_line(
        &mut self,
        input: &str,
        lineno: u64,
        why: impl std::fmt::Display,
    ) -> Result<()> {
        if self.recorded.is_some() {
            let (input, why) = (input.to_string(), why.to_string());
            self.record(Said::Bad { input, lineno, why });
            return Ok(());
        }
        let msg = format!("{input}:{lineno}: {why}");
        if self.strict {
            return Err(Error::data(format!("{msg} (stopping: --strict)")));
        }
        self.bad_lines += 1;
        if self.first_bad.is_none() {
            self.first_bad = Some(format!("{input}:{lineno}"));
        }
        if self.bad_lines <= MAX_BAD_REPORTS {
            self.note(format!("{msg}; skipped"));
            if self.bad_lines == MAX_BAD_REPORTS {
                self.note("further bad lines are counted but not reported one by one");
            }
        }
        Ok(())
    }

    /// Once per run: when a refused line is another stage's record (`looks_like`: what it
    /// looks like and the command that reads it, from `record::looks_like`), says so;
    /// `expected` is what this command reads.
    /// `looks_like` is asked only while the hint can still be given (it parses the line).
    pub fn hint_wrong_stage(
        &mut self,
        looks_like: impl FnOnce() -> Option<(&'static str, &'static str)>,
        expected: &'static str,
    ) {
        if self.hinted || (self.quiet && !self.is_recording()) {
            return;
        }
        let looks_like = looks_like();
        if self.is_recording() {
            // Once a worker has kept one, the run has said it by the time any later line
            // of this worker's is replayed.
            if looks_like.is_some() {
                self.hinted = true;
                self.record(Said::Hint(looks_like, expected));
            }
            return;
        }
        let Some((what, cmd)) = looks_like else {
            return;
        };
        let reader = cmd.strip_prefix("tt ").and_then(|c| c.split(' ').next());
        if reader == Some(self.cmd) {
            return;
        }
        self.hinted = true;
        self.note(format!(
            "this input looks like {what}, and tt {} reads {expected}: did you mean {cmd}?",
            self.cmd
        ));
    }

    /// The end-of-run summary of skipped lines, if any.
    pub fn summary(&self) {
        if let Some(first) = &self.first_bad {
            let n = self.bad_lines;
            let s = if n == 1 { "" } else { "s" };
            self.note(format!("{n} bad line{s} skipped (first at {first})"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines (and bad lines) and the error that ended them.
    type Lines = (Seen, Option<String>);

    fn streamed(zst: &[u8], max: usize) -> Lines {
        read_all(Codec::Zstd.open(zst, "m.zst").unwrap(), "m.zst", max)
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
            let mut members = Members::new("a.tar", 1 << 30, threads);
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

    /// A decoder's own error is damaged data (exit 65), said with the lines read before
    /// it; a failed read of the compressed bytes under it stays an I/O error (exit 74).
    #[test]
    fn damaged_data_is_told_from_a_failed_read() {
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
            let mut lines = LineReader::new(Codec::Gzip.open(source, "x.gz").unwrap(), 1 << 20);
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
            let mut lines = LineReader::new(codec.open(&cut[..], &name).unwrap(), 1 << 20);
            let mut diag = Diag::new("tags", true, false);
            while let Ok(Some(_)) = lines.next_record(&name, &mut diag, &mut || Ok(())) {
                want += 1;
            }
            assert!(want > 0, "{name}: lines before the damage");
            let sent = std::cell::RefCell::new(Vec::new());
            let on = send_blocks(
                &mut codec.open(&cut[..], &name).unwrap(),
                Arc::from(name.as_str()),
                1 << 20,
                4096,
                &|b| {
                    sent.borrow_mut().push(b);
                    true
                },
                &Vec::new,
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
        let gz = compressed(Codec::Gzip);
        let failing = Failing(io::Cursor::new(gz[..gz.len() / 2].to_vec()));
        let last = std::cell::RefCell::new(None);
        let on = send_blocks(
            &mut Codec::Gzip.open(failing, "x.gz").unwrap(),
            Arc::from("x.gz"),
            1 << 20,
            4096,
            &|b| {
                *last.borrow_mut() = Some(b.map(|_| ()));
                true
            },
            &Vec::new,
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

    proptest::proptest! {
        /// Lines cut into blocks at any size, read in any steps, come out as the line
        /// reader gives them: numbers, CRLF, blank lines, over-long lines, a last line
        /// without a newline.
        #[test]
        fn blocks_give_the_line_readers_lines(
            lines in proptest::collection::vec(some_line(), 0..40),
            last_newline in proptest::bool::ANY,
            max in 1usize..40,
            block in 1usize..50,
            step in 1usize..60,
        ) {
            let mut input = lines.join("\n");
            if last_newline && !input.is_empty() {
                input.push('\n');
            }
            let want = by_line_reader(input.as_bytes(), max);
            let got = by_blocks(input.as_bytes(), max, block, step);
            proptest::prop_assert_eq!(got, want);
        }

        /// A file cut into parts at any size: each line is read by one part, the part it
        /// starts in, whole; numbered from each part's first line on by the lines of the
        /// parts before, the line reader's lines of the whole file come out.
        #[test]
        fn parts_read_each_line_once(
            lines in proptest::collection::vec(some_line(), 0..40),
            last_newline in proptest::bool::ANY,
            max in 1usize..40,
            part in 1u64..50,
        ) {
            let mut input = lines.join("\n");
            if last_newline && !input.is_empty() {
                input.push('\n');
            }
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
