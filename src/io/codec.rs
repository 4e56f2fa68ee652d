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
                    harm: Harm::Refused {
                        what: self.what,
                        why: e.to_string(),
                    },
                })
            })
        })
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

/// What a file's first bytes say it holds, for a file whose name says otherwise (not the
/// record kinds of [`crate::record::looks_like`], which judges one line).
pub(super) fn what_it_holds(head: &[u8]) -> String {
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
