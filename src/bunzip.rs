//! bzip2 decompression, for `.bz2` inputs and `.tar` members (the Internet Archive's
//! Twitter Stream Grab is hourly `.json.bz2` members).
//!
//! Why our own and not only the library (libbz2-rs-sys, a port of bzip2's C, which still
//! reads `.zip` members): bzip2 decoding spends most of its time in one loop, the inverse
//! Burrows-Wheeler transform, a chain of dependent loads at random places in a 3.6 MB
//! table (`next = tt[next]`), each waiting on memory. A block's chain cannot be cut where
//! its text is cut (bzip2 records one start), so it is cut where the table is: every
//! `n / 64`th entry is marked, each stretch is walked from a marked entry to the next one
//! it meets, eight stretches side by side (their loads overlap), and the stretches are
//! joined in the order they ran into each other. On this machine that decodes a 15 MB
//! member 4.9 times as fast as `bzip2 -dc` on one core (`scripts/bench-bunzip.sh`; with
//! 4, 8 and 16 chains `tt tags -j1` took 0.52, 0.40 and 0.39 s: BENCHMARKS.md, "bzip2").
//! The rest (Huffman codes, move-to-front, runs) follows the format as bzip2 1.0.8 reads
//! it, with the same checks, and output is checked against each block's CRC and each
//! stream's combined CRC: the tests and the `bunzip` fuzz target hold it to the library's
//! output, byte for byte, or to the library's refusal.
//!
//! Blocks written in the "randomised" mode of early bzip2 (0.9; bzip2 1.0 and later
//! never write them) are handed, one block at a time, to the library, which knows that
//! mode's table of numbers.
//!
//! A stream that ends is followed by the next (`cat a.bz2 b.bz2`, or pbzip2's output) as
//! bzip2 -d reads them; anything else after a stream is damaged data.

use std::io::{self, Read};

mod split;
pub use split::Parallel;

/// The 48-bit magic numbers before each block and at the end of a stream (pi, sqrt(pi)).
const BLOCK: u64 = 0x3141_5926_5359;
const END: u64 = 0x1772_4538_5090;
/// A marked entry of the inverse-BWT table (entries: `next << 8 | byte`; next < 2^20).
const MARK: u32 = 1 << 31;
const NEXT: u32 = (1 << 20) - 1;
/// Chains walked side by side: measured 4 vs 8 vs 16 on this machine (BENCHMARKS.md).
const LANES: usize = 8;
/// Stretches per block (a block of n entries is cut every n / STRETCHES entries): enough
/// that the lanes stay busy to the end of a block, whatever the stretches' lengths.
const STRETCHES: usize = 64;
/// As bzip2 1.0.8: at most this many selectors are kept (2 + 900,000 / 50).
const MAX_SELECTORS: usize = 18_002;
/// Huffman codes of up to this many bits are read by one table lookup.
const FAST: u32 = 10;

fn damaged(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// A bzip2 decompressing reader over `R`, reading one stream after another to the end.
pub struct Decoder<R> {
    bits: Bits<R>,
    state: State,
    /// The stream's block size in bytes (100,000 × its level).
    max: usize,
    tt: Vec<u32>,
    selectors: Vec<u8>,
    lanes: [Vec<u8>; LANES],
    /// The block after the inverse BWT, before its runs are expanded.
    pre: Vec<u8>,
    at: usize,
    /// Run-length state of the block being given out: the last byte (256: none yet), how
    /// many times it came in a row, and copies still owed from a run's count byte.
    last: u32,
    run: u32,
    owed: u32,
    crc: crc::Digest<'static, u32, crc::Table<16>>,
    block_crc: u32,
    combined: u32,
    /// Whether `pre` is already the block's bytes (a randomised block, read by the library).
    plain: bool,
}

#[derive(Clone, Copy)]
enum State {
    /// Before a stream's `BZh` signature (`true`: the first stream).
    Stream(bool),
    Block,
    Giving,
    Done,
}

impl<R: Read> Decoder<R> {
    pub fn new(inner: R) -> Decoder<R> {
        Decoder {
            bits: Bits {
                inner,
                buf: vec![0; 64 * 1024].into_boxed_slice(),
                pos: 0,
                end: 0,
                eof: false,
                bits: 0,
                n: 0,
                record: None,
                read: 0,
            },
            state: State::Stream(true),
            max: 0,
            tt: Vec::new(),
            selectors: Vec::new(),
            lanes: Default::default(),
            pre: Vec::new(),
            at: 0,
            last: 256,
            run: 0,
            owed: 0,
            crc: CRC.digest(),
            block_crc: 0,
            combined: 0,
            plain: false,
        }
    }

    /// A decoder that goes on from the middle of a stream, at bit `skip` of `inner`'s first
    /// byte, where a block or the stream's end starts: as [`Self::new`] would be there,
    /// with the stream's block size and its combined checksum of the blocks before.
    fn resume(inner: R, skip: u32, max: usize, combined: u32) -> io::Result<Decoder<R>> {
        let mut d = Decoder::new(inner);
        if skip > 0 {
            d.bits.get(skip)?;
        }
        (d.state, d.max, d.combined) = (State::Block, max, combined);
        Ok(d)
    }

    fn stream_start(&mut self, first: bool) -> io::Result<bool> {
        if !first {
            // A stream ends on a byte boundary; what follows is the next stream, or nothing.
            self.bits.align();
            if self.bits.at_end()? {
                return Ok(false);
            }
            // Zero bytes after the last stream are padding (a file padded to a block
            // size), read past as gzip's are; bzip2 -d reads past them too (with a
            // warning, as it does any bytes there, which are said here).
            if self.bits.peek_byte() == 0 {
                while !self.bits.at_end()? {
                    if self.bits.get(8)? != 0 {
                        return Err(damaged(
                            "what follows the end of the bzip2 data is not bzip2 data",
                        ));
                    }
                }
                return Ok(false);
            }
        }
        let sig = self.bits.get(24)?;
        if sig != 0x42_5a_68 {
            return Err(damaged(if first {
                "no bzip2 signature"
            } else {
                "what follows the end of the bzip2 data is not bzip2 data"
            }));
        }
        let level = self.bits.get(8)?;
        if !(u32::from(b'1')..=u32::from(b'9')).contains(&level) {
            return Err(damaged("bad block size in the header"));
        }
        self.max = (level - u32::from(b'0')) as usize * 100_000;
        self.combined = 0;
        Ok(true)
    }

    /// Reads the next block (true) or the stream's end (false).
    fn next_block(&mut self) -> io::Result<bool> {
        match self.magic()? {
            BLOCK => {}
            END => {
                let stored = self.bits.get(32)?;
                if stored != self.combined {
                    return Err(damaged("the stream's checksum does not match"));
                }
                return Ok(false);
            }
            _ => return Err(damaged("a block header is damaged")),
        }
        self.block()?;
        Ok(true)
    }

    fn magic(&mut self) -> io::Result<u64> {
        Ok((u64::from(self.bits.get(24)?) << 24) | u64::from(self.bits.get(24)?))
    }

    /// A block, after its magic number: decoded, and ready to be given out.
    fn block(&mut self) -> io::Result<()> {
        self.plain = false;
        self.block_crc = self.bits.get(32)?;
        if self.bits.get(1)? == 1 {
            self.randomised()?;
        } else {
            self.decode_block()?;
        }
        self.at = 0;
        self.last = 256;
        self.run = 0;
        self.owed = 0;
        self.crc = CRC.digest();
        Ok(())
    }

    /// Huffman codes and move-to-front into `tt` (the block's bytes in its low 8 bits),
    /// then the inverse BWT into `pre`.
    fn decode_block(&mut self) -> io::Result<()> {
        let origin = self.bits.get(24)? as usize;
        let (seq, in_use) = self.bits.symbol_map()?;
        let alpha = in_use + 2;
        let groups = self.bits.get(3)? as usize;
        if !(2..=6).contains(&groups) {
            return Err(damaged("a block has a bad number of code tables"));
        }
        let count = self.bits.get(15)? as usize;
        if count == 0 {
            return Err(damaged("a block has no code table selectors"));
        }
        self.selectors.clear();
        let mut order = [0u8, 1, 2, 3, 4, 5];
        for i in 0..count {
            let mut j = 0;
            while self.bits.get(1)? == 1 {
                j += 1;
                if j >= groups {
                    return Err(damaged("a block has a bad code table selector"));
                }
            }
            if i < MAX_SELECTORS {
                let v = order[j];
                order.copy_within(0..j, 1);
                order[0] = v;
                self.selectors.push(v);
            }
        }
        let mut tables = Vec::with_capacity(groups);
        for _ in 0..groups {
            let mut lengths = [0u8; 258];
            let mut len = self.bits.get(5)?;
            for l in lengths.iter_mut().take(alpha) {
                loop {
                    if !(1..=20).contains(&len) {
                        return Err(damaged("a block has a bad code length"));
                    }
                    if self.bits.get(1)? == 0 {
                        break;
                    }
                    if self.bits.get(1)? == 0 {
                        len += 1;
                    } else {
                        len -= 1;
                    }
                }
                *l = len as u8;
            }
            tables.push(Huffman::new(&lengths[..alpha]));
        }

        let end_of_block = (in_use + 1) as u16;
        let mut mtf: [u8; 256] = std::array::from_fn(|i| i as u8);
        let mut counts = [0u32; 256];
        let tt = &mut self.tt;
        tt.clear();
        tt.reserve(self.max);
        let (mut left, mut next_selector) = (0u32, 0usize);
        let mut table = &tables[0];
        let (mut run, mut weight) = (0usize, 1usize);
        loop {
            if left == 0 {
                let Some(&s) = self.selectors.get(next_selector) else {
                    return Err(damaged("a block runs past its code table selectors"));
                };
                table = &tables[usize::from(s)];
                next_selector += 1;
                left = 50;
            }
            left -= 1;
            let sym = table.decode(&mut self.bits)?;
            if sym <= 1 {
                // A run of the front byte, its length written in bijective base 2.
                if weight >= 2 * 1024 * 1024 {
                    return Err(damaged("a block has a run that is too long"));
                }
                run += (usize::from(sym) + 1) * weight;
                weight <<= 1;
                continue;
            }
            if run > 0 {
                let b = seq[usize::from(mtf[0])];
                if tt.len() + run > self.max {
                    return Err(damaged("a block is longer than its header allows"));
                }
                counts[usize::from(b)] += run as u32;
                tt.resize(tt.len() + run, u32::from(b));
                (run, weight) = (0, 1);
            }
            if sym == end_of_block {
                break;
            }
            let k = usize::from(sym - 1);
            let v = mtf[k];
            mtf.copy_within(0..k, 1);
            mtf[0] = v;
            let b = seq[usize::from(v)];
            if tt.len() >= self.max {
                return Err(damaged("a block is longer than its header allows"));
            }
            counts[usize::from(b)] += 1;
            tt.push(u32::from(b));
        }
        let n = tt.len();
        if origin >= n {
            return Err(damaged("a block's start is outside it"));
        }

        // Entry i of the sorted rotations links to the next byte of the text.
        let mut start = [0u32; 256];
        let mut sum = 0;
        for (s, c) in start.iter_mut().zip(counts) {
            *s = sum;
            sum += c;
        }
        for i in 0..n {
            let b = (tt[i] & 0xff) as usize;
            let at = start[b] as usize;
            tt[at] |= (i as u32) << 8;
            start[b] += 1;
        }
        let first = (tt[origin] >> 8) & NEXT;
        walk(tt, first, &mut self.lanes, &mut self.pre)
    }

    /// A block of bzip2 0.9's randomised mode: written again, alone, as a stream of its own
    /// for the library to read (its bits copied as they are read, then the stream's end,
    /// whose combined checksum is the block's own), and its bytes given out as they come.
    fn randomised(&mut self) -> io::Result<()> {
        let mut out = Recorded::default();
        out.put(24, 0x42_5a_68);
        out.put(8, u32::from(b'0') + (self.max / 100_000) as u32);
        out.put(24, (BLOCK >> 24) as u32);
        out.put(24, (BLOCK & 0xff_ffff) as u32);
        out.put(32, self.block_crc);
        out.put(1, 1);
        out.put_window(self.bits.bits, self.bits.n);
        self.bits.record = Some(out);
        let decoded = self.decode_block();
        let mut out = self.bits.record.take().unwrap_or_default();
        decoded?;
        // What the window holds now comes after the block.
        out.bits.truncate(out.bits.len() - self.bits.n as usize);
        out.put(24, (END >> 24) as u32);
        out.put(24, (END & 0xff_ffff) as u32);
        out.put(32, self.block_crc);
        self.pre.clear();
        bzip2::read::BzDecoder::new(&out.bytes()[..])
            .read_to_end(&mut self.pre)
            .map_err(|_| damaged("a block (in bzip2 0.9's randomised mode) is damaged"))?;
        self.plain = true;
        Ok(())
    }

    /// Gives out the block's bytes, expanding runs (four equal bytes and a count byte),
    /// and adds them to the block's checksum.
    fn give(&mut self, out: &mut [u8]) -> usize {
        let o = if self.plain {
            let k = out.len().min(self.pre.len() - self.at);
            out[..k].copy_from_slice(&self.pre[self.at..self.at + k]);
            self.at += k;
            k
        } else {
            self.expand(out)
        };
        self.crc.update(&out[..o]);
        o
    }

    fn expand(&mut self, out: &mut [u8]) -> usize {
        // In locals: as fields, each byte's update went through memory. With this and the
        // checksum 16 bytes a step, this stage fell from 28 % to 14 % of a member's
        // `perf record` samples (BENCHMARKS.md, "bzip2").
        let (mut last, mut run, mut owed, mut at) = (self.last, self.run, self.owed, self.at);
        let pre = &self.pre[..];
        let mut o = 0;
        while o < out.len() {
            if owed > 0 {
                let k = (owed as usize).min(out.len() - o);
                out[o..o + k].fill(last as u8);
                o += k;
                owed -= k as u32;
                continue;
            }
            let Some(&b) = pre.get(at) else {
                break;
            };
            at += 1;
            if run == 4 {
                owed = u32::from(b);
                run = 0;
                continue;
            }
            run = if u32::from(b) == last { run + 1 } else { 1 };
            last = u32::from(b);
            out[o] = b;
            o += 1;
        }
        (self.last, self.run, self.owed, self.at) = (last, run, owed, at);
        o
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::Stream(first) => {
                    self.state = if self.stream_start(first)? {
                        State::Block
                    } else {
                        State::Done
                    };
                }
                State::Block => {
                    self.state = if self.next_block()? {
                        State::Giving
                    } else {
                        State::Stream(false)
                    };
                }
                State::Giving => {
                    let n = self.give(buf);
                    if n > 0 {
                        return Ok(n);
                    }
                    let crc = std::mem::replace(&mut self.crc, CRC.digest()).finalize();
                    if crc != self.block_crc {
                        return Err(damaged("a block's checksum does not match"));
                    }
                    self.combined = self.combined.rotate_left(1) ^ self.block_crc;
                    self.state = State::Block;
                }
            }
        }
    }
}

/// The inverse BWT of `tt` from entry `first`, into `pre`, as stretches between marked
/// entries walked `LANES` at a time (see the module's opening).
fn walk(
    tt: &mut [u32],
    first: u32,
    lanes: &mut [Vec<u8>; LANES],
    pre: &mut Vec<u8>,
) -> io::Result<()> {
    let n = tt.len();
    let cuts = STRETCHES.min(n);
    let mut starts = Vec::with_capacity(cuts + 1);
    starts.push(first);
    starts.extend(
        (1..cuts)
            .map(|j| (j * n / cuts) as u32)
            .filter(|&s| s != first),
    );
    for &s in &starts {
        tt[s as usize] |= MARK;
    }
    // Per stretch: its lane, where its bytes start there, how many, and the marked entry
    // it ran into.
    let mut stretch = vec![(0usize, 0usize, 0usize, 0u32); starts.len()];
    for l in lanes.iter_mut() {
        l.clear();
        l.reserve(n / LANES * 2);
    }
    let mut at = [0u32; LANES];
    let mut walking = [usize::MAX; LANES];
    let mut next = 0;
    let begin = |tt: &[u32], lane: &mut Vec<u8>, s: usize, at: &mut u32| {
        let e = tt[starts[s] as usize];
        lane.push(e as u8);
        *at = (e >> 8) & NEXT;
    };
    for l in 0..LANES.min(starts.len()) {
        stretch[next] = (l, 0, 0, 0);
        begin(tt, &mut lanes[l], next, &mut at[l]);
        walking[l] = next;
        next += 1;
    }
    let mut busy = LANES.min(starts.len());
    while busy > 0 {
        for l in 0..LANES {
            let s = walking[l];
            if s == usize::MAX {
                continue;
            }
            let e = tt[at[l] as usize];
            if e & MARK == 0 {
                lanes[l].push(e as u8);
                at[l] = e >> 8;
                continue;
            }
            stretch[s].2 = lanes[l].len() - stretch[s].1;
            stretch[s].3 = at[l];
            if next < starts.len() {
                stretch[next] = (l, lanes[l].len(), 0, 0);
                begin(tt, &mut lanes[l], next, &mut at[l]);
                walking[l] = next;
                next += 1;
            } else {
                walking[l] = usize::MAX;
                busy -= 1;
            }
        }
    }
    // Join the stretches from the first: each is followed by the one it ran into, until
    // the chain comes back to the first.
    let mut by_start: Vec<(u32, usize)> = starts.iter().copied().zip(0..).collect();
    by_start.sort_unstable();
    pre.clear();
    let mut s = 0;
    for _ in 0..starts.len() {
        let (l, from, len, into) = stretch[s];
        pre.extend_from_slice(&lanes[l][from..from + len]);
        s = by_start
            .binary_search_by_key(&into, |&(start, _)| start)
            .map(|i| by_start[i].1)
            .map_err(|_| damaged("a block is damaged"))?;
        if s == 0 {
            break;
        }
    }
    if s != 0 {
        return Err(damaged("a block is damaged"));
    }
    // A block whose text repeats (`abcabc`) has a table of several shorter cycles: its
    // text is the first cycle again and again, as bzip2 walks it (n steps from the start).
    let cycle = pre.len();
    if cycle == 0 {
        return Err(damaged("a block is damaged"));
    }
    while pre.len() < n {
        let k = cycle.min(n - pre.len());
        pre.extend_from_within(..k);
    }
    Ok(())
}

/// Canonical Huffman decoding: codes of up to `FAST` bits by one lookup, longer ones by
/// their length's range, as bzip2 assigns them (by length, then by symbol).
struct Huffman {
    /// For each `FAST`-bit prefix: symbol << 5 | length, or 0 for a longer code.
    fast: Vec<u16>,
    /// Per length: the first code, how many codes, and where their symbols start.
    first: [u32; 21],
    count: [u32; 21],
    index: [u32; 21],
    symbols: [u16; 258],
    min: u32,
    max: u32,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Huffman {
        let mut h = Huffman {
            fast: vec![0; 1 << FAST],
            first: [0; 21],
            count: [0; 21],
            index: [0; 21],
            symbols: [0; 258],
            min: 21,
            max: 0,
        };
        for &l in lengths {
            h.count[usize::from(l)] += 1;
            h.min = h.min.min(u32::from(l));
            h.max = h.max.max(u32::from(l));
        }
        let (mut code, mut index) = (0u32, 0u32);
        for len in 1..=20 {
            h.first[len] = code;
            h.index[len] = index;
            // More codes of a length than it has (lengths no encoder writes) are taken as
            // bzip2 takes them: every code of that length is one, none longer is reached.
            code += h.count[len];
            index += h.count[len];
            code <<= 1;
        }
        let mut next = h.index;
        for (sym, &l) in lengths.iter().enumerate() {
            let l = usize::from(l);
            h.symbols[next[l] as usize] = sym as u16;
            next[l] += 1;
        }
        for len in 1..=FAST as usize {
            for k in 0..h.count[len] {
                let code = h.first[len] + k;
                if code >= 1 << len {
                    break;
                }
                let sym = h.symbols[(h.index[len] + k) as usize];
                let shift = FAST as usize - len;
                let from = (code as usize) << shift;
                h.fast[from..from + (1 << shift)].fill(sym << 5 | len as u16);
            }
        }
        h
    }

    fn decode<R: Read>(&self, bits: &mut Bits<R>) -> io::Result<u16> {
        if bits.n < 20 {
            bits.refill()?;
        }
        let e = self.fast[(bits.bits >> (64 - FAST)) as usize];
        let len = u32::from(e & 31);
        if len != 0 && len <= bits.n {
            bits.skip(len);
            return Ok(e >> 5);
        }
        for len in self.min.max(FAST + 1)..=self.max {
            let code = (bits.bits >> (64 - len)) as u32;
            let k = code.wrapping_sub(self.first[len as usize]);
            if k < self.count[len as usize] {
                if len > bits.n {
                    break;
                }
                bits.skip(len);
                return Ok(self.symbols[(self.index[len as usize] + k) as usize]);
            }
        }
        Err(if bits.eof && bits.n < self.max {
            damaged("cut short")
        } else {
            damaged("a block holds a code that is not in its table")
        })
    }
}

/// The compressed bits, most significant first, in a 64-bit window (`bits`, its top `n`
/// bits valid, zeros below).
struct Bits<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    eof: bool,
    bits: u64,
    n: u32,
    /// Every bit taken into the window, while a randomised block is read.
    record: Option<Recorded>,
    /// Bytes read from `inner` so far (for [`Self::position`]).
    read: u64,
}

impl<R: Read> Bits<R> {
    fn refill(&mut self) -> io::Result<()> {
        while self.n <= 56 {
            if self.pos == self.end {
                if self.eof {
                    break;
                }
                self.end = loop {
                    match self.inner.read(&mut self.buf) {
                        Ok(k) => break k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                };
                self.pos = 0;
                self.read += self.end as u64;
                if self.end == 0 {
                    self.eof = true;
                    break;
                }
            }
            let b = self.buf[self.pos];
            self.bits |= u64::from(b) << (56 - self.n);
            if let Some(r) = &mut self.record {
                r.put(8, u32::from(b));
            }
            self.pos += 1;
            self.n += 8;
        }
        Ok(())
    }

    /// Bits taken so far from the start of `inner`.
    fn position(&self) -> u64 {
        (self.read - (self.end - self.pos) as u64) * 8 - u64::from(self.n)
    }

    /// Reads `inner` from its start, as if new.
    fn reset(&mut self, inner: R) {
        (self.inner, self.pos, self.end, self.eof) = (inner, 0, 0, false);
        (self.bits, self.n, self.record, self.read) = (0, 0, None, 0);
    }

    fn skip(&mut self, k: u32) {
        self.bits <<= k;
        self.n -= k;
    }

    /// The next `k` bits (1 to 32).
    fn get(&mut self, k: u32) -> io::Result<u32> {
        if self.n < k {
            self.refill()?;
            if self.n < k {
                return Err(damaged("cut short"));
            }
        }
        let v = (self.bits >> (64 - k)) as u32;
        self.skip(k);
        Ok(v)
    }

    fn align(&mut self) {
        self.skip(self.n % 8);
    }

    fn at_end(&mut self) -> io::Result<bool> {
        self.refill()?;
        Ok(self.n == 0)
    }

    /// The next byte, not taken: aligned, and not [`Self::at_end`].
    fn peek_byte(&self) -> u8 {
        debug_assert!(self.n >= 8 && self.n.is_multiple_of(8));
        (self.bits >> 56) as u8
    }

    /// Which of the 256 byte values the block uses, in order, and how many.
    fn symbol_map(&mut self) -> io::Result<([u8; 256], usize)> {
        let (mut seq, mut in_use) = ([0u8; 256], 0);
        let ranges = self.get(16)?;
        for i in 0..16 {
            if ranges & (0x8000 >> i) != 0 {
                let used = self.get(16)?;
                for j in 0..16 {
                    if used & (0x8000 >> j) != 0 {
                        seq[in_use] = (i * 16 + j) as u8;
                        in_use += 1;
                    }
                }
            }
        }
        if in_use == 0 {
            return Err(damaged("a block uses no byte values"));
        }
        Ok((seq, in_use))
    }
}

/// Bits, one a byte: only for the rare randomised block.
#[derive(Default)]
struct Recorded {
    bits: Vec<u8>,
}

impl Recorded {
    fn put(&mut self, k: u32, v: u32) {
        self.bits.extend((0..k).rev().map(|i| (v >> i) as u8 & 1));
    }

    /// The top `n` bits of a window.
    fn put_window(&mut self, window: u64, n: u32) {
        self.bits
            .extend((0..n).map(|i| (window >> (63 - i)) as u8 & 1));
    }

    fn bytes(&self) -> Vec<u8> {
        self.bits
            .chunks(8)
            .map(|c| c.iter().enumerate().fold(0, |b, (i, &x)| b | x << (7 - i)))
            .collect()
    }
}

/// bzip2's CRC-32 (polynomial 0x04c11db7, most significant bit first), 16 bytes a step.
static CRC: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_BZIP2);

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn compress(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(level));
        std::io::Write::write_all(&mut e, data).unwrap();
        e.finish().unwrap()
    }

    fn ours(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Decoder::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    fn library(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        bzip2::read::MultiBzDecoder::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    /// Deterministic bytes: `n` of them, drawn from the first `alphabet` byte values.
    pub(super) fn noise(n: usize, alphabet: u32, seed: u64) -> Vec<u8> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % u64::from(alphabet)) as u8
            })
            .collect()
    }

    fn runs(lengths: &[usize]) -> Vec<u8> {
        let mut v = Vec::new();
        for (i, &n) in lengths.iter().enumerate() {
            v.extend(std::iter::repeat_n(b'a' + (i % 3) as u8, n));
        }
        v
    }

    #[test]
    fn reads_what_bzip2_writes() {
        let text = std::fs::read("tests/fixtures/gen_tweets.py").unwrap();
        let cases: Vec<(&str, Vec<u8>, u32)> = vec![
            ("nothing", Vec::new(), 9),
            ("one byte", b"x".to_vec(), 9),
            ("every byte value", (0..=255).collect(), 9),
            (
                "runs about the count byte",
                runs(&[1, 2, 3, 4, 5, 6, 255, 256, 259, 260, 1000]),
                9,
            ),
            (
                "the same byte after a run's count",
                runs(&[4, 4, 8, 259, 263]),
                9,
            ),
            ("a megabyte of zeros", vec![0; 1 << 20], 9),
            ("text", text.clone(), 9),
            (
                "text that repeats",
                b"#one #two three four four four four".repeat(10),
                9,
            ),
            ("three bytes that repeat", b"abc".repeat(100_000), 9),
            ("noise over 4 values", noise(300_000, 4, 1), 9),
            ("noise over 256 values", noise(300_000, 256, 2), 9),
            ("many blocks of 100 kB", noise(450_000, 40, 3), 1),
            ("text, many blocks", text.repeat(30), 1),
        ];
        for (what, data, level) in cases {
            let packed = compress(&data, level);
            assert!(ours(&packed).unwrap() == data, "{what}");
            // Streams one after another, as `cat a.bz2 b.bz2`.
            let two = [packed.clone(), compress(b"and then", 5)].concat();
            assert!(
                ours(&two).unwrap() == [&data[..], b"and then"].concat(),
                "{what}, two streams"
            );
        }
    }

    #[test]
    fn reads_in_any_pieces() {
        let data = noise(250_000, 20, 4);
        let packed = compress(&data, 1);
        for size in [1, 3, 4, 5, 1000, 65_536] {
            let mut d = Decoder::new(&packed[..]);
            let (mut out, mut buf) = (Vec::new(), vec![0; size]);
            loop {
                let n = d.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert!(out == data, "pieces of {size}");
        }
    }

    #[test]
    fn every_cut_is_an_error() {
        let packed = compress(&runs(&[3, 300, 7, 4, 2]), 9);
        for cut in 0..packed.len() {
            assert!(
                ours(&packed[..cut]).is_err(),
                "cut at {cut} of {}",
                packed.len()
            );
        }
    }

    /// Zero bytes after the last stream are padding; any other byte there is said.
    #[test]
    fn zero_bytes_after_the_end_are_padding() {
        let data = b"#hashtag one two three".repeat(50);
        let packed = compress(&data, 9);
        for zeros in [1, 3, 700, 70_000] {
            let padded = [&packed[..], &vec![0; zeros]].concat();
            assert_eq!(ours(&padded).unwrap(), data, "{zeros} zero bytes");
        }
    }

    #[test]
    fn damage_is_said_in_words() {
        let packed = compress(b"#hashtag one two three", 9);
        let at = |i: usize, b: u8| {
            let mut p = packed.clone();
            p[i] ^= b;
            p
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"BZx9".to_vec(), "no bzip2 signature"),
            (b"BZh0".to_vec(), "bad block size in the header"),
            (at(4, 1), "a block header is damaged"),
            (at(10, 1), "a block's checksum does not match"),
            (
                [&packed[..], b"junk"].concat(),
                "what follows the end of the bzip2 data is not bzip2 data",
            ),
            (
                [&packed[..], &[0; 100], b"junk"].concat(),
                "what follows the end of the bzip2 data is not bzip2 data",
            ),
            (packed[..packed.len() - 1].to_vec(), "cut short"),
        ];
        for (bytes, why) in cases {
            let e = ours(&bytes).unwrap_err();
            assert_eq!(e.to_string(), why);
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        }
    }

    /// A randomised block (bzip2 0.9): the flag set on a block too short for any byte of
    /// it to be changed by the randomising (the first change is at byte 618), so that its
    /// bytes are known; the library reads it the same.
    #[test]
    fn reads_a_randomised_block() {
        let data = b"#one #two three four four four four four".repeat(10);
        let mut packed = [compress(&data, 9), compress(&data, 9)].concat();
        // After BZh9 (4 bytes), the block magic (6) and its CRC (4): the flag bit.
        packed[14] |= 0x80;
        assert!(library(&packed).unwrap() == [&data[..], &data[..]].concat());
        assert!(ours(&packed).unwrap() == [&data[..], &data[..]].concat());
    }

    /// Found by the fuzz target: a table whose code lengths claim more codes of a length
    /// than there are (no encoder writes one; the library reads it, and so does tt).
    #[test]
    fn reads_what_the_library_reads() {
        let bytes =
            std::fs::read("tests/fixtures/bunzip/more-codes-than-a-length-has.bz2").unwrap();
        assert!(ours(&bytes).unwrap() == library(&bytes).unwrap());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn agrees_with_the_library(
            seed in 1u64..,
            n in 0usize..40_000,
            alphabet in 1u32..=256,
            level in 1u32..=9,
            flip in proptest::option::of((0usize..100_000, 1u8..)),
        ) {
            let mut packed = compress(&noise(n, alphabet, seed), level);
            if let Some((at, bits)) = flip {
                let at = at % packed.len();
                packed[at] ^= bits;
            }
            match (ours(&packed), library(&packed)) {
                (Ok(a), Ok(b)) => proptest::prop_assert!(a == b),
                (Err(_), Err(_)) => {}
                (a, b) => proptest::prop_assert!(false, "ours {:?}, library {:?}", a.map(|v| v.len()), b.map(|v| v.len())),
            }
        }
    }
}
