//! A bzip2 file decoded on several threads, a block on each, for `tt tags -j` on a large
//! `.bz2` (one stream of many blocks: one thread would decode it all).
//!
//! bzip2 records no index of its blocks: each starts with a 48-bit magic number at any
//! bit, and where a block ends is known only once it is decoded. So the reader searches
//! the compressed bytes for the magic numbers (a block's or a stream end's), hands the
//! data from each to a thread, and takes the results in order as a chain: a result counts
//! only if it starts where the one before ended, decoded without error, matched its
//! checksum and fits the stream's block size. A magic number found by chance inside a
//! block starts before where the chain has got to and is dropped. Anything else the chain
//! does not expect (damage, a block cut short, data after a stream that is not bzip2) is
//! left to the one-thread [`Decoder`], resumed where the chain stopped: it reads on, or
//! fails, exactly as it would have had it read the file from the start. So the bytes and
//! the errors are the one-thread decoder's, whatever the threads (tested below against
//! it, with damage anywhere).

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Cursor, Read};
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Mutex};

use super::{Decoder, BLOCK, CRC, END};

/// The largest compressed block: 900,000 symbols of up to 20 bits, its tables and
/// selectors (18,002 of up to 6 bits), with room to spare. A thread is handed at most
/// this much after a magic number when the next one is not in sight.
const MAX_VIEW: usize = 2_400_000;
/// Bytes read from the input at a time.
const READ: usize = 1 << 20;
/// Bytes before the chain's position are let go in steps of this many.
const KEEP: usize = 8 << 20;

/// A bzip2 decompressing reader over `R` that decodes blocks on `threads` threads, with
/// the bytes and errors of [`Decoder`] (see the module's opening).
pub struct Parallel<R: Read> {
    inner: Option<Then<R>>,
    /// The input from byte `base` on, as far as it was read.
    buf: Vec<u8>,
    base: u64,
    eof: bool,
    /// Magic numbers found and not yet handed out (bit positions), and the byte the
    /// search goes on from.
    found: VecDeque<u64>,
    searched: u64,
    jobs: Option<mpsc::SyncSender<Job>>,
    results: mpsc::Receiver<(u64, Done)>,
    limit: u64,
    sent: u64,
    taken: u64,
    early: BTreeMap<u64, Done>,
    /// For a block handed to a thread short (cut at a magic number found by chance),
    /// decoded again here with all it can take.
    again: Option<Box<Decoder<Cursor<Vec<u8>>>>>,
    /// The chain: where the next block or stream end must start, the stream's block
    /// size and combined checksum so far; `None` before the first stream's header.
    at: Option<(u64, usize, u32)>,
    finished: bool,
    out: Vec<u8>,
    /// Bytes of `out` that are the block's, and how many of them were given out.
    used: usize,
    given: usize,
    spare: Spare,
    rest: Option<Box<Rest<R>>>,
    /// Positions searched as if a magic number were there (tests: one found by chance).
    #[cfg(test)]
    decoys: Vec<u64>,
}

/// The one-thread decoder, reading what the chain had read past its position, then on.
type Rest<R> = Decoder<io::Chain<Cursor<Vec<u8>>, Then<R>>>;

/// The input, or the error its last read gave (given once, then nothing).
enum Then<R> {
    Read(R),
    Failed(Option<io::Error>),
}

impl<R: Read> Read for Then<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Then::Read(r) => r.read(buf),
            Then::Failed(e) => e.take().map_or(Ok(0), Err),
        }
    }
}

/// Output buffers, back from the reader to the threads: new ones cost their page faults
/// and their zeroing each time (3.5 % of `perf record`'s samples of `tt tags -j2` on a
/// 23 MB `.bz2`, `Vec::resize` and `memset`).
type Spare = Arc<Mutex<Vec<Vec<u8>>>>;

/// Data from a magic number on, for a thread: its position (in bits from the start of the
/// input), the bytes from its byte on, whether they run to the end of the input, and
/// whether they stop at the next magic number found (rather than at all a block can
/// take).
struct Job {
    seq: u64,
    start: u64,
    bytes: Vec<u8>,
    to_eof: bool,
    short: bool,
}

/// A job done: where it started, what it was, where it ended, and whether it was short.
struct Done {
    start: u64,
    piece: Piece,
    end: u64,
    short: bool,
}

/// What a thread made of a job's data.
enum Piece {
    /// A block that decoded and matched its checksum: the checksum, its length before
    /// runs were expanded (to hold against the stream's block size), its bytes.
    /// `data` holds them up to `used`; the rest is room (it goes back to [`Spare`]).
    Block {
        stored: u32,
        len: usize,
        data: Vec<u8>,
        used: usize,
    },
    /// A stream's end, its combined checksum, and what follows: nothing, or another
    /// stream (its block size, and where its first block starts).
    End {
        stored: u32,
        next: Option<(usize, u64)>,
    },
    /// Anything else: left to the one-thread decoder.
    Unsure,
}

impl<R: Read> Parallel<R> {
    pub fn new(inner: R, threads: usize) -> Parallel<R> {
        let (jobs, rx) = mpsc::sync_channel::<Job>(threads);
        let (tx, results) = mpsc::channel();
        let rx = Arc::new(Mutex::new(rx));
        let spare = Spare::default();
        let mut started = 0;
        for i in 0..threads {
            let (rx, tx, spare) = (rx.clone(), tx.clone(), spare.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("tt-bunzip-{i}"))
                .spawn(move || {
                    let mut d = Decoder::new(Cursor::new(Vec::new()));
                    loop {
                        let next = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = next else { return };
                        let (seq, start, short) = (job.seq, job.start, job.short);
                        let out = spare.lock().ok().and_then(|mut s| s.pop());
                        // A panic would leave the reader waiting for this job: the
                        // one-thread decoder takes it instead.
                        let (piece, end) = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            piece(&mut d, job, out.unwrap_or_default())
                        }))
                        .unwrap_or((Piece::Unsure, 0));
                        let done = Done {
                            start,
                            piece,
                            end,
                            short,
                        };
                        if tx.send((seq, done)).is_err() {
                            return;
                        }
                    }
                });
            started += usize::from(spawned.is_ok());
        }
        Parallel {
            inner: Some(Then::Read(inner)),
            buf: Vec::new(),
            base: 0,
            eof: false,
            found: VecDeque::new(),
            searched: 0,
            // No thread (none could be started): everything goes to the one-thread decoder.
            jobs: (started > 0).then_some(jobs),
            results,
            limit: 2 * started.max(1) as u64,
            sent: 0,
            taken: 0,
            early: BTreeMap::new(),
            again: None,
            at: None,
            finished: false,
            out: Vec::new(),
            used: 0,
            given: 0,
            spare,
            rest: None,
            #[cfg(test)]
            decoys: Vec::new(),
        }
    }

    /// Reads more of the input; false at its end, or once a read has failed: the error is
    /// kept for the one-thread decoder, to meet after what was read, where it would have.
    fn fill(&mut self) -> io::Result<bool> {
        let Some(Then::Read(inner)) = self.inner.as_mut() else {
            return Ok(false);
        };
        let len = self.buf.len();
        self.buf.resize(len + READ, 0);
        let got = loop {
            match inner.read(&mut self.buf[len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                got => break got,
            }
        };
        let n = match got {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(len);
                self.inner = Some(Then::Failed(Some(e)));
                self.jobs = None;
                return Ok(false);
            }
        };
        self.buf.truncate(len + n);
        self.eof = n == 0;
        self.search();
        Ok(n > 0)
    }

    /// Finds the magic numbers in what has been read and not searched.
    fn search(&mut self) {
        let end = self.base + self.buf.len() as u64;
        // A window of 8 bytes from each byte; at the end, zeros after the input.
        let stop = if self.eof { end } else { end.saturating_sub(7) };
        if stop <= self.searched {
            return;
        }
        let b = &self.buf;
        let (from, to) = (self.searched - self.base, stop - self.base);
        for j in from as usize..to as usize {
            let shifts = SECOND[usize::from(b.get(j + 1).copied().unwrap_or(0))];
            if shifts == 0 {
                continue;
            }
            let mut w = [0u8; 8];
            let k = (b.len() - j).min(8);
            w[..k].copy_from_slice(&b[j..j + k]);
            let w = u64::from_be_bytes(w);
            for s in 0..8 {
                let v = (w >> (16 - s)) & 0xffff_ffff_ffff;
                if shifts & (1 << s) != 0 && (v == BLOCK || v == END) {
                    self.found.push_back((self.base + j as u64) * 8 + s);
                }
            }
        }
        #[cfg(test)]
        {
            let range = self.searched * 8..stop * 8;
            let decoys = self.decoys.iter().filter(|d| range.contains(d));
            let mut found: Vec<u64> = self.found.drain(..).chain(decoys.copied()).collect();
            found.sort_unstable();
            found.dedup();
            self.found.extend(found);
        }
        self.searched = stop;
    }

    /// Hands out data from magic numbers found, while fewer than `limit` are out.
    fn dispatch(&mut self) -> io::Result<()> {
        let Some(jobs) = self.jobs.clone() else {
            return Ok(());
        };
        let expected = self.at.map_or(0, |a| a.0);
        // Until a read fails (`fill` lets the threads go).
        while self.sent - self.taken < self.limit && self.jobs.is_some() {
            let Some(&start) = self.found.front() else {
                let unread = self.base + self.buf.len() as u64 - expected / 8;
                if self.sent > self.taken || self.eof || unread > MAX_VIEW as u64 {
                    return Ok(());
                }
                self.fill()?;
                continue;
            };
            if start < expected {
                self.found.pop_front();
                continue;
            }
            let end = self.base + self.buf.len() as u64;
            let from = start / 8;
            // To a little past the next magic number (a block ends where it starts), or
            // as much as a block can take.
            let want = match self.found.get(1) {
                Some(&next) => (next / 8 + 16).min(from + MAX_VIEW as u64),
                None => from + MAX_VIEW as u64,
            };
            if want > end && !self.eof {
                self.fill()?;
                continue;
            }
            let to = want.min(end);
            let at = |p: u64| (p - self.base) as usize;
            let job = Job {
                seq: self.sent,
                start,
                bytes: self.buf[at(from)..at(to)].to_vec(),
                to_eof: self.eof && to == end,
                short: to < from + MAX_VIEW as u64,
            };
            self.found.pop_front();
            if jobs.send(job).is_err() {
                self.jobs = None;
                return Ok(());
            }
            self.sent += 1;
        }
        Ok(())
    }

    /// The next result in order.
    fn next_result(&mut self) -> io::Result<Done> {
        let want = self.taken;
        self.taken += 1;
        if let Some(r) = self.early.remove(&want) {
            return Ok(r);
        }
        loop {
            match self.results.recv() {
                Ok((seq, done)) if seq == want => return Ok(done),
                Ok((seq, done)) => {
                    self.early.insert(seq, done);
                }
                Err(_) => return Err(io::Error::other("bzip2: the decoding threads stopped")),
            }
        }
    }

    /// Decodes the data at `start` here, with all a block can take.
    fn decode_again(&mut self, start: u64) -> io::Result<(Piece, u64)> {
        let from = start / 8;
        let want = from + MAX_VIEW as u64;
        while self.base + (self.buf.len() as u64) < want && self.fill()? {}
        let to = want.min(self.base + self.buf.len() as u64);
        let at = |p: u64| (p - self.base) as usize;
        let job = Job {
            seq: 0,
            start,
            bytes: self.buf[at(from)..at(to)].to_vec(),
            to_eof: self.eof && to == self.base + self.buf.len() as u64,
            short: false,
        };
        let d = self
            .again
            .get_or_insert_with(|| Box::new(Decoder::new(Cursor::new(Vec::new()))));
        Ok(piece(d, job, Vec::new()))
    }

    /// From here on the one-thread decoder reads, from where the chain stopped.
    fn hand_over(&mut self) -> io::Result<()> {
        self.jobs = None;
        let from = self.at.map_or(0, |a| a.0);
        let rest = self.buf.split_off((from / 8 - self.base) as usize);
        let inner = Cursor::new(rest).chain(self.inner.take().expect("read until handed over"));
        let d = match self.at {
            None => Decoder::new(inner),
            Some((at, max, combined)) => Decoder::resume(inner, (at % 8) as u32, max, combined)?,
        };
        self.rest = Some(Box::new(d));
        Ok(())
    }

    /// Takes the next piece of the chain into `out`, or hands over; false at the end.
    fn advance(&mut self) -> io::Result<bool> {
        let Some((expected, max, combined)) = self.at else {
            // The first stream's header, read here: `BZh` and the block size.
            while self.buf.len() < 4 && self.fill()? {}
            match self.buf.get(..4) {
                Some([b'B', b'Z', b'h', level @ b'1'..=b'9']) if self.jobs.is_some() => {
                    self.at = Some((32, usize::from(level - b'0') * 100_000, 0));
                }
                _ => self.hand_over()?,
            }
            return Ok(true);
        };
        self.dispatch()?;
        if self.sent == self.taken {
            // Nothing found where the chain goes on.
            self.hand_over()?;
            return Ok(true);
        }
        let Done {
            start,
            mut piece,
            mut end,
            short,
        } = self.next_result()?;
        if start < expected {
            return Ok(true);
        }
        if start == expected && short && matches!(piece, Piece::Unsure) {
            (piece, end) = self.decode_again(start)?;
        }
        match piece {
            Piece::Block {
                stored,
                len,
                data,
                used,
            } if start == expected && len <= max => {
                let done = std::mem::replace(&mut self.out, data);
                if let Ok(mut spare) = self.spare.lock() {
                    if spare.len() < self.limit as usize && done.capacity() > 0 {
                        spare.push(done);
                    }
                }
                (self.used, self.given) = (used, 0);
                self.at = Some((end, max, combined.rotate_left(1) ^ stored));
            }
            Piece::End { stored, next } if start == expected && stored == combined => match next {
                None => {
                    self.finished = true;
                    return Ok(false);
                }
                Some((max, first)) => self.at = Some((first, max, 0)),
            },
            _ => {
                self.hand_over()?;
                return Ok(true);
            }
        }
        let keep = (end / 8).saturating_sub(self.base) as usize;
        if keep > KEEP {
            self.buf.drain(..keep);
            self.base += keep as u64;
        }
        Ok(true)
    }
}

impl<R: Read> Read for Parallel<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.given < self.used {
                let k = buf.len().min(self.used - self.given);
                buf[..k].copy_from_slice(&self.out[self.given..self.given + k]);
                self.given += k;
                return Ok(k);
            }
            if let Some(rest) = &mut self.rest {
                return rest.read(buf);
            }
            if self.finished || !self.advance()? {
                return Ok(0);
            }
        }
    }
}

/// For each byte value, the bit offsets (0 to 7) at which a magic number starting in the
/// byte before has this byte second: the search looks closer only there.
static SECOND: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut s = 0;
    while s < 8 {
        t[((BLOCK >> (32 + s)) & 0xff) as usize] |= 1 << s;
        t[((END >> (32 + s)) & 0xff) as usize] |= 1 << s;
        s += 1;
    }
    t
};

/// Decodes a job's block or stream end with `d` (the thread's, whose tables it reuses):
/// the piece, and the bit where it ended.
fn piece(d: &mut Decoder<Cursor<Vec<u8>>>, job: Job, mut data: Vec<u8>) -> (Piece, u64) {
    d.bits.reset(Cursor::new(job.bytes));
    // The largest block size: the stream's is checked against the length after.
    d.max = 900_000;
    let from = job.start / 8 * 8;
    let piece = (|| -> io::Result<Piece> {
        let skip = (job.start % 8) as u32;
        if skip > 0 {
            d.bits.get(skip)?;
        }
        match d.magic()? {
            BLOCK => {
                d.block()?;
                let len = d.tt.len();
                let mut used = 0;
                loop {
                    if used == data.len() {
                        data.resize((2 * used).max(1 << 20), 0);
                    }
                    let k = d.give(&mut data[used..]);
                    used += k;
                    if k == 0 {
                        break;
                    }
                }
                let crc = std::mem::replace(&mut d.crc, CRC.digest()).finalize();
                Ok(match crc == d.block_crc {
                    true => Piece::Block {
                        stored: d.block_crc,
                        len,
                        data,
                        used,
                    },
                    false => Piece::Unsure,
                })
            }
            END => {
                let stored = d.bits.get(32)?;
                d.bits.align();
                if d.bits.at_end()? {
                    return Ok(match job.to_eof {
                        true => Piece::End { stored, next: None },
                        false => Piece::Unsure,
                    });
                }
                let sig = d.bits.get(24)?;
                let level = d.bits.get(8)?;
                Ok(match (sig, level) {
                    (0x42_5a_68, 0x31..=0x39) => Piece::End {
                        stored,
                        next: Some(((level - 0x30) as usize * 100_000, from + d.bits.position())),
                    },
                    _ => Piece::Unsure,
                })
            }
            _ => Ok(Piece::Unsure),
        }
    })()
    .unwrap_or(Piece::Unsure);
    (piece, from + d.bits.position())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{compress, noise};
    use super::*;

    /// What `r` gives in reads of `step` bytes, and the error it ends on.
    fn read_all(r: &mut dyn Read, step: usize) -> (Vec<u8>, Option<String>) {
        let (mut out, mut buf) = (Vec::new(), vec![0; step]);
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    /// Fails unless `got` is `want`: the same error, after the same bytes.
    fn same(got: (&[u8], &Option<String>), want: &(Vec<u8>, Option<String>), what: &str) {
        assert_eq!(got.1, &want.1, "{what}");
        let (n, m) = (got.0.len(), want.0.len());
        assert!(got.0 == &want.0[..], "{what}: {n} bytes, want {m}");
    }

    fn one_thread(bytes: &[u8]) -> (Vec<u8>, Option<String>) {
        read_all(&mut Decoder::new(bytes), 1 << 16)
    }

    /// Reads with `threads`, in reads of `step` bytes, searching `decoys` as well; also
    /// whether it was all read by the threads (not handed over to one).
    fn threads(
        bytes: &[u8],
        threads: usize,
        decoys: &[u64],
        step: usize,
    ) -> (Vec<u8>, Option<String>, bool) {
        let mut p = Parallel::new(bytes, threads);
        p.decoys = decoys.to_vec();
        let (out, e) = read_all(&mut p, step);
        (out, e, p.rest.is_none())
    }

    /// Lines of JSON-like text with some runs: several blocks at level 1.
    fn lines(n: usize, seed: u64) -> Vec<u8> {
        let words = noise(n, 26, seed);
        let mut out = Vec::new();
        for (i, w) in words.chunks(40).enumerate() {
            let w: String = w.iter().map(|&c| char::from(b'a' + c)).collect();
            out.extend(
                format!("{{\"id\":{i},\"text\":\"#{w} {}\"}}\n", "x".repeat(i % 300)).bytes(),
            );
        }
        out
    }

    #[test]
    fn gives_what_one_thread_gives() {
        let many = lines(300_000, 7);
        let two = [compress(&many[..200_000], 1), compress(&many[200_000..], 3)].concat();
        let cases: [(&str, Vec<u8>); 7] = [
            ("many blocks", compress(&many, 1)),
            ("one block", compress(&many[..50_000], 9)),
            ("nothing", compress(b"", 9)),
            ("two streams", two.clone()),
            (
                "an empty stream between",
                [compress(b"a\n", 1), compress(b"", 1), compress(b"b\n", 1)].concat(),
            ),
            (
                "runs",
                compress(&[vec![b'z'; 700_000], many[..100_000].to_vec()].concat(), 1),
            ),
            (
                "junk after",
                [compress(&many[..150_000], 1), b"junk".to_vec()].concat(),
            ),
        ];
        for (what, bytes) in cases {
            let want = one_thread(&bytes);
            for n in [1, 2, 4] {
                for step in [1 << 16, 7] {
                    let got = threads(&bytes, n, &[], step);
                    same((&got.0, &got.1), &want, &format!("{what}, {n} threads"));
                    // Only what is not bzip2 is left to one thread.
                    assert_eq!(got.2, what != "junk after", "{what}: read by the threads");
                }
            }
        }
    }

    #[test]
    fn a_magic_number_by_chance_is_passed_over() {
        let bytes = compress(&lines(300_000, 3), 1);
        let want = one_thread(&bytes);
        assert_eq!(want.1, None);
        let decoys: Vec<u64> = (1..40)
            .map(|i| i * bytes.len() as u64 * 8 / 40 + i % 8)
            .collect();
        for n in [1, 2, 3] {
            let got = threads(&bytes, n, &decoys, 1 << 16);
            same((&got.0, &got.1), &want, &format!("{n} threads"));
            assert!(got.2, "read by the threads");
        }
    }

    #[test]
    fn damage_anywhere_reads_as_one_thread_reads_it() {
        let bytes = [
            compress(&lines(120_000, 5), 1),
            compress(&lines(60_000, 6), 2),
        ]
        .concat();
        let mut places: Vec<usize> = (0..bytes.len()).step_by(bytes.len() / 61).collect();
        places.extend([
            0,
            3,
            4,
            9,
            10,
            14,
            bytes.len() - 1,
            bytes.len() - 6,
            bytes.len() - 10,
        ]);
        for at in places {
            for flip in [1u8, 0xff] {
                let mut bad = bytes.clone();
                bad[at] ^= flip;
                let want = one_thread(&bad);
                let got = threads(&bad, 2, &[], 1 << 16);
                same((&got.0, &got.1), &want, &format!("byte {at} ^ {flip:#x}"));
            }
        }
        for cut in (1..bytes.len()).step_by(bytes.len() / 37) {
            let want = one_thread(&bytes[..cut]);
            let got = threads(&bytes[..cut], 3, &[], 1 << 16);
            same((&got.0, &got.1), &want, &format!("cut at {cut}"));
        }
    }

    /// Gives `bytes` up to `at`, in reads of at most 5,000 bytes, then fails.
    struct FailsAt<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl Read for FailsAt<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let k = buf.len().min(self.at).min(5_000);
            if k == 0 {
                return Err(io::Error::other("the disk is on fire"));
            }
            buf[..k].copy_from_slice(&self.bytes[..k]);
            (self.bytes, self.at) = (&self.bytes[k..], self.at - k);
            Ok(k)
        }
    }

    #[test]
    fn a_failed_read_is_met_where_one_thread_meets_it() {
        let bytes = compress(&lines(250_000, 9), 1);
        for at in [
            0,
            3,
            4,
            100,
            bytes.len() / 3,
            bytes.len() * 2 / 3,
            bytes.len() - 1,
        ] {
            let want = read_all(&mut Decoder::new(FailsAt { bytes: &bytes, at }), 1 << 16);
            let got = read_all(
                &mut Parallel::new(FailsAt { bytes: &bytes, at }, 2),
                1 << 16,
            );
            same((&got.0, &got.1), &want, &format!("failing at {at}"));
            assert_eq!(want.1.as_deref(), Some("the disk is on fire"));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Random blocks, streams, damage and decoys: the bytes and the error of one thread.
        #[test]
        fn is_the_one_thread_decoder(
            seed in 1u64..,
            sizes in proptest::collection::vec((0usize..250_000, 1u32..=3), 1..3),
            n in 1usize..4,
            flip in proptest::option::of((0usize..1_000_000, 1u8..)),
            decoys in proptest::collection::vec(0u64..8_000_000, 0..6),
        ) {
            let mut bytes = Vec::new();
            for (i, &(size, level)) in sizes.iter().enumerate() {
                bytes.extend(compress(&lines(size, seed + i as u64), level));
            }
            if let Some((at, bits)) = flip {
                let at = at % bytes.len();
                bytes[at] ^= bits;
            }
            let got = threads(&bytes, n, &decoys, 1 << 16);
            let want = one_thread(&bytes);
            proptest::prop_assert_eq!(&got.1, &want.1);
            proptest::prop_assert!(got.0 == want.0, "{} bytes, want {}", got.0.len(), want.0.len());
        }
    }
}
