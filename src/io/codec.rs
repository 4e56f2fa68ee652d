//! Compressed input: each codec chosen by extension or first bytes and checked by its
//! magic number, the decoders behind one reader, and the errors that say whose a failed
//! read is (the input's, exit 74, or damaged data, exit 65, which ends that input only).

use std::io::{self, Read};
use std::path::Path;

use crate::error::{Error, Kind, Result};

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
    pub(super) const ALL: [(&'static str, Codec, &'static [u8], &'static str); 4] = [
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

    pub(super) fn row(self) -> (&'static str, Codec, &'static [u8], &'static str) {
        *Self::ALL
            .iter()
            .find(|c| c.1 == self)
            .expect("every codec has a row")
    }

    /// The codec whose magic number `head` starts with.
    pub(super) fn sniff(head: &[u8]) -> Option<Codec> {
        Self::ALL
            .iter()
            .find(|c| head.starts_with(c.2))
            .map(|c| c.1)
    }

    /// A decompressing reader over `file` for data that should decompress to lines
    /// ([`Self::open_on`], one thread): the first read checks that it does not decompress
    /// to more compressed data, an archive or UTF-16 ([`Plain`]). A `.json.gz` holding a
    /// tar was read as a tar header glued to its first line; one compressed twice, as a
    /// flood of invalid UTF-8 lines.
    pub fn lines<R: Read>(self, file: R, name: &str) -> Result<Plain<Decoder<R>>> {
        self.lines_on(file, name, 1)
    }

    /// [`Self::lines`], decoding bzip2 on `threads` threads.
    pub fn lines_on<R: Read>(
        self,
        file: R,
        name: &str,
        threads: usize,
    ) -> Result<Plain<Decoder<R>>> {
        let decoder = self.open_on(file, name, threads)?;
        Ok(Plain {
            inside: Some(self),
            ..Plain::new(decoder, name)
        })
    }

    /// [`Self::lines_on`] for standard input, whose decoded bytes may also be an archive,
    /// which the reader above looks for ([`super::each_stdin`]).
    pub(super) fn stdin_on<R: Read>(self, file: R, threads: usize) -> Result<Plain<Decoder<R>>> {
        let mut plain = self.lines_on(file, "<stdin>", threads)?;
        plain.archive_above = true;
        Ok(plain)
    }

    /// A decompressing reader over `file`, after checking that it starts like this codec's
    /// data; a mislabelled file is refused with what it looks like (exit 65). Several
    /// concatenated members or frames are read as one stream, as the command-line tools do.
    /// bzip2 is decoded on `threads` threads ([`crate::bunzip::Parallel`]) when there are
    /// more than one.
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
            // flate2's own readers buffer 32 KiB.
            Codec::Gzip => Stream::Gzip(GzMembers::new(io::BufReader::with_capacity(
                32 << 10,
                whole,
            ))),
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

pub(super) type Peeked<R> = io::Chain<io::Cursor<Vec<u8>>, Source<R>>;

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

pub(super) enum Stream<R: Read> {
    Gzip(GzMembers<io::BufReader<Peeked<R>>>),
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
                    harm: Harm::Refused {
                        what: self.what,
                        why: e.to_string(),
                    },
                })
            })
        })
    }
}

/// gzip members one after the other (as `cat a.gz b.gz`), as `gzip -d` reads them: zero
/// bytes after the last (a file padded to a block size) end the data quietly, and other
/// bytes there are refused. flate2's `MultiGzDecoder` took the zeros for a damaged member.
pub(super) struct GzMembers<R: io::BufRead> {
    member: Option<flate2::bufread::GzDecoder<R>>,
}

impl<R: io::BufRead> GzMembers<R> {
    fn new(r: R) -> GzMembers<R> {
        GzMembers {
            member: Some(flate2::bufread::GzDecoder::new(r)),
        }
    }
}

impl<R: io::BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(member) = &mut self.member {
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The member ended exactly (its checksum and size checked): what follows it?
            let mut rest = self.member.take().expect("a member").into_inner();
            let next = rest.fill_buf()?;
            if next.first() == Some(&0x1f) {
                self.member = Some(flate2::bufread::GzDecoder::new(rest));
                continue;
            }
            loop {
                let next = rest.fill_buf()?;
                if next.is_empty() {
                    return Ok(0);
                }
                if next.iter().any(|&b| b != 0) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "what follows the end of the gzip data is not gzip data",
                    ));
                }
                let k = next.len();
                rest.consume(k);
            }
        }
        Ok(0)
    }
}

/// A zip's first member header, and the end record an empty zip starts with.
pub(super) const ZIP_MEMBER: &[u8] = b"PK\x03\x04";
pub(super) const ZIP_EMPTY: &[u8] = b"PK\x05\x06";

/// Whether `head` (a file's first 512 bytes) is a POSIX or GNU tar header: its magic,
/// NUL byte included (`ustar\0` or `ustar  \0`), which no line of text holds (a tweet
/// about custard might have `ustar` at byte 257 of stdin).
pub(super) fn is_tar(head: &[u8]) -> bool {
    head.get(257..263) == Some(b"ustar\0") || head.get(257..265) == Some(b"ustar  \0")
}

/// A format tt recognizes and does not read: a compression or an archive of another
/// tool, said with the command that reads it. Read as lines, it would be a flood of
/// "invalid UTF-8" notes ending in exit 0.
pub(super) struct Foreign {
    /// The extension it is named with (lower case), as [`Names`](super::archive::Names)
    /// sees it in a member's or file's name.
    pub(super) ext: &'static str,
    /// Its magic number: none for brotli, which has none.
    magic: &'static [u8],
    pub(super) what: &'static str,
    /// The command that decompresses it to stdout, or (`archive`) extracts its files.
    tool: &'static str,
    archive: bool,
}

impl Foreign {
    /// The formats a user of saved streams meets besides the four codecs, tar and zip.
    /// lzma's "magic" is its usual properties byte and the high bytes of every preset's
    /// dictionary size (`xz --format=lzma`, `lzma`), which no line of text starts with.
    pub(super) const ALL: [Foreign; 8] = [
        Foreign::codec("lz4", &[0x04, 0x22, 0x4d, 0x18], "lz4 data", "lz4 -dc"),
        Foreign::codec("lz4", &[0x02, 0x21, 0x4c, 0x18], "lz4 data", "lz4 -dc"),
        Foreign::codec("z", &[0x1f, 0x9d], "compress (.Z) data", "gzip -dc"),
        Foreign::codec("lz", b"LZIP", "lzip data", "lzip -dc"),
        Foreign::codec("lzma", &[0x5d, 0, 0], "lzma data", "xz -dc"),
        Foreign::codec("br", b"", "brotli data", "brotli -dc"),
        Foreign {
            archive: true,
            ..Foreign::codec("7z", b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "7z x")
        },
        Foreign {
            archive: true,
            ..Foreign::codec("rar", b"Rar!\x1a\x07", "a RAR archive", "unrar x")
        },
    ];

    const fn codec(
        ext: &'static str,
        magic: &'static [u8],
        what: &'static str,
        tool: &'static str,
    ) -> Foreign {
        Foreign {
            ext,
            magic,
            what,
            tool,
            archive: false,
        }
    }

    /// The format whose magic number `head` starts with.
    pub(super) fn sniff(head: &[u8]) -> Option<&'static Foreign> {
        Self::ALL
            .iter()
            .find(|f| !f.magic.is_empty() && head.starts_with(f.magic))
    }

    /// The format a file name ends in (`x.json.lz4`), if any.
    pub(super) fn of(name: &str) -> Option<&'static Foreign> {
        let (_, ext) = name.rsplit_once('.')?;
        let ext = ext.to_ascii_lowercase();
        Self::ALL.iter().find(|f| f.ext == ext)
    }

    /// What to do with it, compressed by `inside` (or not) on the way, for the input
    /// `name` (standard input is piped, not named).
    pub(super) fn advice(&self, inside: Option<Codec>, name: &str) -> String {
        let (tool, ext) = (self.tool, self.ext);
        let (from, file, save) = match name == "<stdin>" {
            true => ("... | ", "", "save it to a file, "),
            false => ("", " FILE", ""),
        };
        let outer = inside.map(|c| c.row().3);
        match (outer, self.archive) {
            (None, false) => format!("decompress it first ({from}{tool}{file} | tt ...)"),
            (Some(o), false) => format!("decompress both ({from}{o} -dc{file} | {tool} | tt ...)"),
            (None, true) => format!("{save}extract its files ({tool} FILE) and read those"),
            (Some(o), true) => format!(
                "decompress it and extract its files ({from}{o} -dc{file} > OUT.{ext}; {tool} \
                 OUT.{ext})"
            ),
        }
    }
}

/// Where the first line of `head` shows binary data rather than JSON or text, if it
/// does: a NUL byte, which no line of either holds, or, in a first line that is not
/// UTF-8, a control character other than tab, carriage return, form feed or escape. A
/// first line of Latin-1 text or with one stray control character is read (and its bad
/// lines said) as before.
pub(super) fn binary_at(head: &[u8]) -> Option<usize> {
    let line = &head[..memchr::memchr(b'\n', head).unwrap_or(head.len())];
    if let Some(at) = memchr::memchr(0, line) {
        return Some(at);
    }
    let not_utf8 = matches!(std::str::from_utf8(line), Err(e) if e.error_len().is_some());
    let control = |b: &u8| *b < 0x20 && !matches!(b, b'\t' | b'\r' | 0x0c | 0x1b);
    not_utf8.then(|| line.iter().position(control)).flatten()
}

/// What a file's first bytes say it holds, for a file whose name says otherwise (not the
/// record kinds of [`crate::record::looks_like`], which judges one line).
pub(super) fn what_it_holds(head: &[u8]) -> String {
    if let Some(codec) = Codec::sniff(head) {
        return format!("it is {} data", codec.row().3);
    }
    if let Some(f) = Foreign::sniff(head) {
        return format!("it is {}, which tt does not read", f.what);
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
pub(super) fn mark(e: io::Error, as_ours: impl FnOnce(io::Error) -> io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::Interrupted || carries(&e) {
        e
    } else {
        as_ours(e)
    }
}

/// The compressed bytes under a [`Decoder`]: a read error of theirs leaves the decoder
/// carried, as the input's I/O error, so that it is not taken for damaged data.
pub(super) struct Source<R> {
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

/// Data that ends an input early, not the run: `name`'s, and what is wrong with it.
#[derive(Debug)]
pub(super) struct Damaged {
    pub(super) name: String,
    pub(super) harm: Harm,
}

#[derive(Debug)]
pub(super) enum Harm {
    /// Compressed data its decoder refused: the format (`bzip2`), the decoder's words.
    Refused { what: &'static str, why: String },
    /// An archive member the archive ends inside, after `got` of its `size` bytes
    /// (`archive::TarData`).
    Cut { got: u64, size: u64 },
}

impl Damaged {
    /// What to say, with where in the input the damage starts (`at`, or nothing).
    fn said(&self, at: &str) -> String {
        let name = &self.name;
        match &self.harm {
            Harm::Refused { what, why } => format!("{name}: damaged {what} data{at} ({why})"),
            Harm::Cut { got, size } => format!(
                "{name}: cut short{at}: the archive ends after {got} of this member's {size} bytes"
            ),
        }
    }
}

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said(""))
    }
}

impl std::error::Error for Damaged {}

pub(super) fn carry(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(e)
}

/// Whether `e` carries a `tt` error or damaged data out of a reader.
pub(super) fn carries(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<ErrorCarrier>() || inner.is::<Damaged>())
}

/// Whether a read failed on damaged compressed data (which ends that input, not the run)
/// rather than on the input itself.
pub fn is_damage(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Damaged>())
}

/// Carries a `tt` error (raised by a `before_read` hook, e.g. a closed stdout) through
/// the `io::Error` of [`LineReader::next_line`](super::LineReader::next_line).
#[derive(Debug)]
pub(super) struct ErrorCarrier(pub(super) Error);

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

/// UTF-8's byte order mark.
pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The codec of a stream that starts with `head`, by a signature no line of text starts
/// with: the magic numbers of gzip, zstd and xz are not UTF-8, but bzip2's `BZh` is
/// text, so it must be followed by a level and the magic of a block or of the end.
pub(super) fn stdin_codec(head: &[u8]) -> Option<Codec> {
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

/// Whether `head` may still be the start of a tar header, up to its magic at byte 257:
/// while it holds a NUL byte and no newline (lines of JSON or text hold no NUL).
pub(super) fn may_be_tar(head: &[u8]) -> bool {
    head.contains(&0) && !head.contains(&b'\n')
}

/// Whether `head` may still be the start of a codec's signature ([`stdin_codec`]).
pub(super) fn may_be_magic(head: &[u8]) -> bool {
    let magic = Codec::ALL
        .iter()
        .any(|c| c.2.len() > head.len() && c.2.starts_with(head));
    let bzip2 = head.starts_with(b"BZh") && head.len() < 10 && !head.contains(&b'\n');
    magic || bzip2
}

/// A stream's first bytes, at most `max`: what its first read gives, and more only while
/// `undecided` says they may still be the start of something else. A live stream's first
/// line is handed on as soon as it arrives when `undecided` rules it out.
pub(super) fn read_head(
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

/// Lines read from an input whose name says lines (no codec's or archive's extension, or
/// a codec's after one that says lines): the first read checks that its first bytes are
/// not compressed data, an archive or UTF-16, the way stdin's are looked at
/// (`stdin_codec`, `archive_of`), and refuses it with what it holds. Read as lines, a
/// gzip file named `.json` was a flood of invalid UTF-8 lines.
pub struct Plain<R> {
    inner: R,
    name: String,
    /// The codec `inner` decodes, when it is a [`Decoder`] ([`Codec::lines`]).
    inside: Option<Codec>,
    /// Whether an archive is for the reader above to read (or refuse), not an error here.
    archive_above: bool,
    /// What the first read took to decide, handed on first.
    head: Option<io::Cursor<Vec<u8>>>,
}

impl<R: Read> Plain<R> {
    pub(super) fn new(inner: R, name: &str) -> Plain<R> {
        Plain {
            inner,
            name: name.to_string(),
            inside: None,
            archive_above: false,
            head: None,
        }
    }
}

impl<R: Read> Read for Plain<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let head = match &mut self.head {
            Some(head) => head,
            None => {
                let head = read_head(&mut self.inner, 512, |h| may_be_magic(h) || may_be_tar(h))?;
                let above = self.archive_above && archive_of(&head).is_some();
                if let Some(e) = not_lines(&self.name, &head, self.inside).filter(|_| !above) {
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

/// The error for an input named as lines whose first bytes (decoded from `inside`, when
/// it is compressed) are compressed data, an archive or UTF-16 text, if they are.
pub(super) fn not_lines(name: &str, head: &[u8], inside: Option<Codec>) -> Option<Error> {
    if utf16(head) {
        return Some(utf16_error(name, inside));
    }
    let (codec, archive) = (stdin_codec(head), archive_of(head));
    if codec.is_none() && archive.is_none() {
        return unreadable(name, head, inside);
    }
    let Some(outer) = inside else {
        return Some(Error::data(format!(
            "{name}: named as lines of JSON or text, but {}; rename it to what it holds",
            what_it_holds(head)
        )));
    };
    let (ext, _, _, tool) = outer.row();
    let (held, what) = match (codec, archive) {
        (Some(c), _) => (
            format!("{} data", c.row().3),
            format!(
                "it was compressed twice: decompress it once ({tool} -dc FILE > OUT.json.{}) \
                 and read that",
                c.row().0
            ),
        ),
        (None, Some("tar")) => (
            "a tar archive".to_string(),
            format!("rename it to end in .tar.{ext}, which tt tags reads"),
        ),
        (None, _) => (
            "a zip archive".to_string(),
            format!("decompress it ({tool} -dc FILE > OUT.zip) and read that"),
        ),
    };
    Some(Error::data(format!(
        "{name}: its {tool} data holds {held}, not lines of JSON or text: {what}"
    )))
}

/// [`not_lines`] for data that is none of what tt reads: a [`Foreign`] format, or
/// binary data ([`binary_at`]).
fn unreadable(name: &str, head: &[u8], inside: Option<Codec>) -> Option<Error> {
    let holds = match inside {
        Some(c) => format!("{name}: its {} data holds", c.row().3),
        None => format!("{name}:"),
    };
    if let Some(f) = Foreign::sniff(head) {
        let advice = f.advice(inside, name);
        return Some(Error::data(format!(
            "{holds} {}, which tt does not read: {advice}",
            f.what
        )));
    }
    // Named so (brotli has no magic number to tell it by), as a codec is chosen by name.
    if let Some(f) = inside.is_none().then(|| Foreign::of(name)).flatten() {
        let (ext, what, advice) = (f.ext, f.what, f.advice(None, name));
        return Some(Error::data(format!(
            "{name}: named .{ext} ({what}), which tt does not read: {advice}"
        )));
    }
    let at = binary_at(head)?;
    Some(Error::data(format!(
        "{holds} binary data, not lines of JSON or text (byte {} of its first line is 0x{:02x})",
        at + 1,
        head[at]
    )))
}

/// What is said of UTF-16 input named `name` (compressed by `inside`, or not).
pub(super) fn utf16_error(name: &str, inside: Option<Codec>) -> Error {
    let convert = match inside {
        Some(c) => format!("{} -dc FILE | iconv -f UTF-16 -t UTF-8", c.row().3),
        None => "iconv -f UTF-16 -t UTF-8 FILE".into(),
    };
    Error::data(format!(
        "{name}: UTF-16 text (as Windows PowerShell's > and Out-File write), and tt reads \
         UTF-8: convert it first ({convert})"
    ))
}

/// Whether `head` starts like UTF-16 text: its byte order mark, or (without one) an
/// ASCII character and a NUL in either order, which no UTF-8 line starts with.
pub(super) fn utf16(head: &[u8]) -> bool {
    match head {
        [0xff, 0xfe, ..] | [0xfe, 0xff, ..] => true,
        [a, 0, b, 0, ..] | [0, a, 0, b, ..] => a.is_ascii_graphic() && b.is_ascii(),
        _ => false,
    }
}

/// [`not_lines`] for a regular file, looked at in place (its parts are read with pread).
pub(super) fn check_lines(file: &std::fs::File, name: &str) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match file.read_at(&mut head[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(name, e)),
        }
    }
    not_lines(name, &head[..n], None).map_or(Ok(()), Err)
}

/// The archive a stream's first bytes ([`super::archive_head`]) start, if any: `tar` or
/// `zip` (a member's header, or the end record that is all of a zip of no members).
pub(super) fn archive_of(head: &[u8]) -> Option<&'static str> {
    let zip = head.starts_with(ZIP_MEMBER) || head.starts_with(ZIP_EMPTY);
    match (is_tar(head), zip) {
        (true, _) => Some("tar"),
        (_, true) => Some("zip"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_first_lines() {
        // (first bytes, where they show binary data)
        let cases: [(&[u8], Option<usize>); 9] = [
            (b"{\"a\":1}\n\x00", None),
            (b"SQLite format 3\x00", Some(15)),
            (b"\x00\x00\x00\x00", Some(0)),
            (b"\x89\x01PNG", Some(1)),
            // Latin-1 text, and a character cut where the head ends.
            (b"caf\xe9 au lait\n", None),
            (b"caf\xc3", None),
            // One control character in UTF-8 is a bad line, not binary.
            (b"{\"a\x01\":1}", None),
            (b"\x1b[1mbold\x1b[0m \xff", None),
            (b"\t\x0c\r\xff\x02", Some(4)),
        ];
        for (head, want) in cases {
            assert_eq!(binary_at(head), want, "{head:?}");
        }
    }

    #[test]
    fn advice_for_each_way_in() {
        let lz4 = Foreign::sniff(b"\x04\x22\x4d\x18").unwrap();
        let seven = Foreign::sniff(b"7z\xbc\xaf\x27\x1c\x00").unwrap();
        let gz = Some(Codec::Gzip);
        // (format, compressed by, input, what to do)
        let cases = [
            (
                lz4,
                None,
                "a.json",
                "decompress it first (lz4 -dc FILE | tt ...)",
            ),
            (
                lz4,
                None,
                "<stdin>",
                "decompress it first (... | lz4 -dc | tt ...)",
            ),
            (
                lz4,
                gz,
                "a.gz",
                "decompress both (gzip -dc FILE | lz4 -dc | tt ...)",
            ),
            (
                lz4,
                gz,
                "<stdin>",
                "decompress both (... | gzip -dc | lz4 -dc | tt ...)",
            ),
            (
                seven,
                None,
                "a.json",
                "extract its files (7z x FILE) and read those",
            ),
            (
                seven,
                None,
                "<stdin>",
                "save it to a file, extract its files (7z x FILE) and read those",
            ),
            (
                seven,
                gz,
                "a.gz",
                "decompress it and extract its files (gzip -dc FILE > OUT.7z; 7z x OUT.7z)",
            ),
            (
                seven,
                gz,
                "<stdin>",
                "decompress it and extract its files (... | gzip -dc > OUT.7z; 7z x OUT.7z)",
            ),
        ];
        for (f, inside, name, want) in cases {
            assert_eq!(f.advice(inside, name), want, "{} {inside:?} {name}", f.what);
        }
    }
}
