//! NDJSON split into lines: the line reader with its hard cap on line length, the blocks
//! of whole lines handed to `tt tags`' workers, a plain file read in parts, and the lines
//! of a whole `.zst` member.

use std::fs::File;
use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use super::codec::{
    carry, not_lines, read_error, read_error_after, Codec, Damaged, ErrorCarrier, Harm, BOM,
};
use super::counted::count_read;
use super::diag::Diag;
use crate::error::{Error, Kind, Result};

/// Read buffer size. Small enough to stay in a core's L2 cache between the kernel's copy
/// and the parse: `tt tags` on the captures took a median 358 ms with 64 KiB against 416 ms
/// with 128 or 256 KiB (11 interleaved runs); syscalls are still nothing against parsing.
const READ_BUF: usize = 64 * 1024;

/// One line from a [`LineReader`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line without its `\n` or `\r\n`.
    Data(&'a [u8]),
    /// A line longer than the limit; it was discarded. Holds its length in bytes.
    TooLong(u64),
}

pub(super) enum Found {
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
pub(super) const CHUNK: usize = 256 * 1024;

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
pub(super) fn each_line(
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
/// Its first bytes are checked as [`Codec::lines`] checks them. Otherwise its number of
/// lines; or, when a block is damaged or the checksum fails, the error, after the whole
/// lines of the blocks before (each call is given one block, as zstd's hint says, so that
/// a failed call loses no block but its own).
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
    // As much as Plain looks at: a tar header's magic ends at byte 263.
    const HEAD: usize = 512;
    let mut checked = false;
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
            // The first bytes are looked at (as Plain does) before any line is handed on.
            Ok(more) if !checked && more > 0 && buf.len() < HEAD => done,
            Ok(0) => buf.len(),
            _ => memchr::memrchr(b'\n', &buf[done..]).map_or(done, |i| done + i + 1),
        };
        if !checked && end > done {
            checked = true;
            let head = &buf[..buf.len().min(HEAD)];
            if let Some(e) = not_lines(name, head, Some(Codec::Zstd)) {
                return Some(Err(e));
            }
        }
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
            harm: Harm::Refused {
                what: "zstd",
                why: why.to_string(),
            },
        });
        return Some(Err(read_error_after(name, e, Some(lineno - 1))));
    }
}

/// Reads `r` to the end into [`Block`]s of whole lines handed to `send`, after every read:
/// a file in blocks of `block` bytes, a pipe in what each read returns, so a line is sent
/// as soon as it has been read (live input stays live). Lines over `max` bytes are skipped
/// as they stream past (memory stays bounded by `block` plus `max`), with the same line
/// numbers and lengths as [`LineReader`]. `fresh` gives the buffers (a consumer that hands
/// them back saves the page faults of new ones) and `unused` takes back the one left
/// unsent at the end: a buffer is zeroed to `block` bytes when first taken, and one taken
/// and dropped at the end of every input was most of the work of a small input (a `.tar`
/// of 20,000 one-tweet members: `memset` and page faults a third of `perf record`'s
/// samples; BENCHMARKS.md). A read error is sent as `Err`. Returns false when the run
/// should stop: a read failed, or `send` said false.
pub fn send_blocks(
    r: &mut dyn Read,
    name: Arc<str>,
    max: usize,
    block: usize,
    send: &dyn Fn(Result<Block>) -> bool,
    fresh: &dyn Fn() -> Vec<u8>,
    unused: &dyn Fn(Vec<u8>),
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
            let tail = filled - cut;
            // At the end the block is all that is left: no next buffer is taken for it.
            let next = if eof && tail == 0 {
                Vec::new()
            } else {
                let mut next = fresh();
                if next.len() < tail + block {
                    next.resize(tail + block, 0);
                }
                next[..tail].copy_from_slice(&buf[cut..filled]);
                next
            };
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
            if buf.capacity() > 0 {
                unused(buf);
            }
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

    /// Where the first line that starts in `start..end` starts, if one does: after a
    /// newline in `start - 1..end - 1`. The search stops at the part's end, not at the
    /// next newline wherever it is: every part a long line covers (a JSON array saved on
    /// one line) would search on to that line's end, its length read once per part
    /// (`tt tags` of a 600 MB line: 5.3 s against 0.26 s; BENCHMARKS.md).
    fn first_line(&self) -> io::Result<Option<u64>> {
        let mut probe = [0u8; 4096];
        let mut at = self.start - 1;
        loop {
            let left = (self.end - 1).saturating_sub(at);
            if left == 0 {
                return Ok(None);
            }
            let want = probe.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = read_some_at(self.file, &mut probe[..want], at)?;
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
pub(super) fn read_some_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
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

/// A line as the readers hand it out: without the `\r` of a CRLF file, and the first of
/// an input (`first`) without a UTF-8 byte order mark, which Windows tools (Notepad,
/// PowerShell's `Out-File -Encoding utf8`) write at the start of a file and RFC 8259 §8.1
/// lets a JSON parser ignore; serde_json refuses it ("expected value at line 1 column 1"),
/// which left a good first post unread with a message that did not say why.
pub(super) fn content(first: bool, line: &[u8]) -> &[u8] {
    let line = match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    };
    match first {
        true => line.strip_prefix(BOM).unwrap_or(line),
        false => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Where each part's first line starts, for parts of `len` bytes over `input`.
    fn first_lines(input: &[u8], len: u64) -> Vec<Option<u64>> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(input).unwrap();
        let size = input.len() as u64;
        (len..size)
            .step_by(len as usize)
            .map(|start| {
                Part::new(&file, start, (start + len).min(size))
                    .first_line()
                    .unwrap()
            })
            .collect()
    }

    /// Every buffer `send_blocks` takes comes back: sent with a block of lines, or given
    /// back at the end (one taken and dropped at the end of every input was most of the
    /// cost of small inputs).
    #[test]
    fn every_buffer_taken_is_sent_or_given_back() {
        use std::cell::Cell;
        let many = "a\n".repeat(100);
        // (input, max line length)
        let cases = [
            ("", 64),
            ("a\n", 64),
            ("a\nb", 64),
            (&many[..], 64),
            ("abcdefgh\nb\n", 4),
        ];
        for (input, max) in cases {
            let (taken, sent, back) = (Cell::new(0), Cell::new(0), Cell::new(0));
            let ok = send_blocks(
                &mut io::Cursor::new(input),
                Arc::from("in"),
                max,
                16,
                &|b| {
                    if let Ok(Block::Lines { .. }) = b {
                        sent.set(sent.get() + 1);
                    }
                    true
                },
                &|| {
                    taken.set(taken.get() + 1);
                    Vec::new()
                },
                &|_| back.set(back.get() + 1),
            );
            assert!(ok);
            assert_eq!(taken.get(), sent.get() + back.get(), "{input:?}");
        }
    }

    /// A part finds the first line that starts in it, or none when a line longer than the
    /// part covers it: it does not search on to that line's end (which made a line of
    /// many parts cost parts × its length).
    #[test]
    fn a_part_looks_for_its_first_line_only_within_itself() {
        let long = [vec![b'a'; 2000], b"\nb\n".to_vec()].concat();
        // (file, part length, where each part's first line starts)
        let cases: [(&[u8], u64, Vec<_>); 4] = [
            (b"ab\ncd\nef\n", 3, vec![Some(3), Some(6)]),
            (b"abcd\nef\n", 2, vec![None, Some(5), None]),
            (b"abcdef", 2, vec![None, None]),
            (&long, 400, vec![None, None, None, None, Some(2001)]),
        ];
        for (input, len, want) in cases {
            assert_eq!(
                first_lines(input, len),
                want,
                "{:?} in parts of {len}",
                String::from_utf8_lossy(&input[..input.len().min(12)])
            );
        }
    }
}
