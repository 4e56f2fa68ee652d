//! Raw posts in, tag uses out: the work of `tt tags`. Each line is parsed by [`crate::post`]
//! (format detected per line), each hashtag keyed by [`crate::hashtag`], and each use
//! written as a [`TagUse`] record (NDJSON) or a CSV row. Bad lines are reported through
//! the caller's [`Diag`] and skipped; the good ones keep flowing.

use std::borrow::Cow;
use std::io::{Read, Write};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::hashtag;
use crate::io::{
    csv_error, read_error_after, write_error, At, Block, Codec, Diag, LineReader, Output, Said,
};
use crate::post::{self, LineKind, ParseError, Post};
use crate::record::{self, TagUse};
use crate::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputKind {
    Json,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Ndjson,
    Csv,
}

/// What the command runs with, after validation.
#[derive(Debug, Clone)]
pub struct Plan {
    pub input: InputKind,
    pub keep_case: bool,
    pub with_indices: bool,
    pub no_retweets: bool,
    pub occurrences: bool,
    pub format: Format,
    pub max_line: usize,
    pub strict: bool,
    pub quiet: bool,
    /// Threads that parse (`-j`); 1 reads, parses and writes on one thread.
    pub threads: usize,
}

impl Default for Plan {
    /// `tt tags` with no flags: JSON in, NDJSON out, the default line limit.
    fn default() -> Plan {
        Plan {
            input: InputKind::Json,
            keep_case: false,
            with_indices: false,
            no_retweets: false,
            occurrences: false,
            format: Format::Ndjson,
            max_line: crate::io::DEFAULT_MAX_LINE,
            strict: false,
            quiet: false,
            threads: 1,
        }
    }
}

/// Where records go: NDJSON through our buffer, or CSV through the csv crate's.
enum Sink<W: Write> {
    Ndjson(Output<W>),
    Csv(Box<csv::Writer<W>>),
}

/// The streaming core of `tt tags`, generic over the output so tests can run it
/// in-process on any reader and writer.
pub struct Tagger<'p, W: Write> {
    plan: &'p Plan,
    sink: Sink<W>,
    /// The keys already written for the current post.
    keys: PostKeys,
    /// One record's JSON, reused.
    line: Vec<u8>,
    /// A key that differs from its tag (`WorldCup` -> `worldcup`), reused.
    kbuf: String,
    at: String,
    /// Undelivered tweets reported by `limit` notices: total of closed connections, and
    /// the running count of the current one (it is cumulative per connection).
    limit_total: u64,
    limit_last: u64,
    unknown: u64,
    /// The line just read had a post with more than `post::MAX_TAGS` hashtags.
    cut: bool,
    /// A decoded `.zst` member (a worker's, reused: [`crate::io::zstd_lines`]).
    whole: Vec<u8>,
}

impl<'p, W: Write> Tagger<'p, W> {
    pub fn new(plan: &'p Plan, out: Output<W>) -> Self {
        let sink = match plan.format {
            Format::Ndjson => Sink::Ndjson(out),
            Format::Csv => {
                let w = out
                    .into_inner()
                    .unwrap_or_else(|_| unreachable!("nothing written yet"));
                Sink::Csv(Box::new(
                    csv::WriterBuilder::new()
                        .buffer_capacity(64 * 1024)
                        .from_writer(w),
                ))
            }
        };
        Tagger {
            plan,
            sink,
            keys: PostKeys::default(),
            line: Vec::with_capacity(256),
            kbuf: String::new(),
            at: String::new(),
            limit_total: 0,
            limit_last: 0,
            unknown: 0,
            cut: false,
            whole: Vec::new(),
        }
    }

    /// Writes bytes already in the output's format (a worker's, for `tt tags -j`).
    pub fn write_out(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.sink {
            Sink::Ndjson(o) => o.write_all(bytes),
            Sink::Csv(_) => unreachable!("tt tags -j writes NDJSON"),
        }
    }

    pub fn flush(&mut self) -> Result<()> {
        match &mut self.sink {
            Sink::Ndjson(o) => o.flush(),
            Sink::Csv(c) => c.flush().map_err(write_error),
        }
    }

    /// Reads one input to its end; returns its number of lines.
    pub fn process<R: Read>(&mut self, reader: R, name: &str, diag: &mut Diag) -> Result<u64> {
        self.lines(LineReader::new(reader, self.plan.max_line), name, diag)
    }

    /// Decompresses and tags a whole compressed file or member, read into `bytes` (by
    /// every `tt tags`, whatever its threads, so that they read it alike); `damage` is
    /// what ended the read of its bytes (a zip's failed checksum), said after their lines.
    pub fn unpack(
        &mut self,
        codec: Codec,
        bytes: &[u8],
        damage: Option<std::io::Error>,
        name: &str,
        diag: &mut Diag,
    ) -> Result<()> {
        let mut whole = None;
        if let Some(e) = damage {
            // Its bytes end early (a tar member the archive ends inside, a zip member
            // that fails its checksum): the decoder meets the damage where they end, as
            // a stream read here would, and says that rather than a cut stream of its own.
            let mut tail = Tail(Some(e));
            let lines = self.process(codec.lines(bytes.chain(&mut tail), name)?, name, diag)?;
            return match tail.0 {
                Some(e) => Err(read_error_after(name, e, Some(lines))),
                None => Ok(()),
            };
        }
        if codec == Codec::Zstd {
            let mut buf = std::mem::take(&mut self.whole);
            let max = self.plan.max_line;
            whole = crate::io::zstd_lines(bytes, name, max, &mut buf, &mut |line| match line {
                Ok((lineno, b)) => self.line(b, name, lineno, diag),
                Err((lineno, why)) => diag.bad_line(name, lineno, why),
            });
            self.whole = buf;
        }
        match whole {
            Some(r) => r.map(|_| ()),
            None => self
                .process(codec.lines(bytes, name)?, name, diag)
                .map(|_| ()),
        }
    }

    fn lines<R: Read>(
        &mut self,
        mut lines: LineReader<R>,
        name: &str,
        diag: &mut Diag,
    ) -> Result<u64> {
        while let Some((lineno, bytes)) = lines.next_record(name, diag, &mut || self.flush())? {
            self.line(bytes, name, lineno, diag)?;
        }
        Ok(lines.lineno())
    }

    /// Tags one line (not blank) of input `name`.
    pub fn line(&mut self, bytes: &[u8], name: &str, lineno: u64, diag: &mut Diag) -> Result<()> {
        let text = match crate::json::utf8(bytes) {
            Ok(t) => t,
            Err(e) => return diag.bad_line(name, lineno, format!("invalid UTF-8 ({e})")),
        };
        match self.plan.input {
            InputKind::Text => self.text_line(text, lineno)?,
            InputKind::Json => self.json_line(text, name, lineno, diag)?,
        }
        if std::mem::take(&mut self.cut) {
            diag.note_at(
                name,
                lineno,
                format!(
                    "a post with over {} hashtags: only the first {} are counted",
                    post::MAX_TAGS,
                    post::MAX_TAGS
                ),
            );
        }
        Ok(())
    }

    fn json_line(&mut self, line: &str, name: &str, lineno: u64, diag: &mut Diag) -> Result<()> {
        let kind = match post::parse(line, &mut |p: &Post| self.emit(p)) {
            Ok(k) => k,
            Err(ParseError::Sink(e)) => return Err(e),
            Err(ParseError::NotObject(what)) => {
                diag.hint_wrong_stage(|| record::looks_like(line), "raw posts");
                return diag.bad_line(name, lineno, format!("{what}, not a JSON object"));
            }
            Err(ParseError::Json(e)) => {
                diag.hint_wrong_stage(|| record::looks_like(line), "raw posts");
                let why = crate::json::explain(&e);
                return diag.bad_line(name, lineno, format!("not a valid JSON object ({why})"));
            }
        };
        match kind {
            LineKind::Posts(_) | LineKind::Notice => {}
            LineKind::Limit(track) => self.tally("limit", track, || None, diag),
            LineKind::Warning(msg) => diag.note_at(name, lineno, msg),
            LineKind::Unknown(keys) => {
                diag.hint_wrong_stage(|| record::looks_like(line), "raw posts");
                let msg = || {
                    Some(At {
                        input: name.to_string(),
                        lineno,
                        msg: format!(
                            "not a post or stream notice of a known format ({keys}); skipped"
                        ),
                    })
                };
                self.tally("unknown", 1, msg, diag);
            }
        }
        Ok(())
    }

    /// Adds up what the run counts across lines (`limit` notices' undelivered tweets, lines
    /// of unknown format), or keeps it for the run when `diag` is a worker's.
    pub fn tally(
        &mut self,
        what: &'static str,
        n: u64,
        msg: impl FnOnce() -> Option<At>,
        diag: &Diag,
    ) {
        if diag.is_recording() {
            // Only a job's first line of unknown format can be the run's first (the one
            // said): the others need no message. `unknown` counts per job here.
            let first = what == "unknown" && self.unknown == 0;
            if what == "unknown" {
                self.unknown += n;
            }
            diag.record(Said::Tally(what, n, if first { msg() } else { None }));
            return;
        }
        match what {
            "limit" => {
                if n < self.limit_last {
                    self.limit_total += self.limit_last; // a new connection restarted the count
                }
                self.limit_last = n;
            }
            _ => {
                self.unknown += n;
                if self.unknown == n {
                    if let Some(at) = msg() {
                        diag.note_at(&at.input, at.lineno, at.msg);
                    }
                }
            }
        }
    }

    fn text_line(&mut self, text: &str, lineno: u64) -> Result<()> {
        let mut found = Vec::new();
        let cut = post::push_extracted(text, &mut found, &mut Vec::new());
        // The line number as the id, formatted on the stack (this runs once per line).
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = lineno;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let id = std::str::from_utf8(&digits[i..]).expect("ASCII digits");
        self.emit(&Post {
            id: Some(id),
            user: None,
            at: None,
            rt: false,
            text,
            tags: &found,
            cut,
        })
    }

    /// Writes the records of one post: one per distinct key.
    fn emit(&mut self, p: &Post) -> Result<()> {
        self.cut |= p.cut;
        if p.tags.is_empty() || (p.rt && self.plan.no_retweets) {
            return Ok(());
        }
        self.keys.clear();
        self.at.clear();
        if let Some(t) = p.at {
            time::write_rfc3339(&mut self.at, t);
        }
        let mut chars_seen = (0usize, 0usize); // (byte offset, code points before it)
        for f in p.tags {
            let nfc;
            let k: &str = if self.plan.keep_case {
                nfc = hashtag::nfc(f.text);
                &nfc
            } else {
                hashtag::key_into(f.text, &mut self.kbuf)
            };
            if !self.plan.occurrences && self.keys.seen(k) {
                continue;
            }
            let (start, end) = match (self.plan.with_indices, f.span) {
                (true, Some((a, b))) if a >= chars_seen.0 => {
                    let s = chars_seen.1 + p.text[chars_seen.0..a].chars().count();
                    let e = s + p.text[a..b].chars().count();
                    chars_seen = (a, s);
                    (Some(s), Some(e))
                }
                (true, Some((a, b))) => {
                    let s = p.text[..a].chars().count();
                    (Some(s), Some(s + p.text[a..b].chars().count()))
                }
                _ => (None, None),
            };
            let rec = TagUse {
                tag: Cow::Borrowed(k),
                text: Cow::Borrowed(f.text),
                id: p.id.map(Cow::Borrowed),
                at: p.at.map(|_| Cow::Borrowed(self.at.as_str())),
                user: p.user.map(Cow::Borrowed),
                rt: p.rt,
                start,
                end,
            };
            write_record(&mut self.sink, &rec, &mut self.line)?;
            if !self.plan.occurrences {
                self.keys.add(k);
            }
        }
        Ok(())
    }

    /// Flushes the output and prints the end-of-run summary.
    pub fn finish(mut self, diag: &mut Diag) -> Result<()> {
        self.flush()?;
        let missed = self.limit_total + self.limit_last;
        if missed > 0 {
            diag.note(format!(
                "the stream reported {missed} undelivered tweets (limit notices)"
            ));
        }
        if self.unknown > 0 {
            let n = self.unknown;
            diag.note(format!("{n} line(s) of unknown format skipped"));
        }
        diag.summary();
        Ok(())
    }

    /// The output, for in-process callers (tests).
    pub fn into_output(mut self) -> Result<W> {
        self.flush()?;
        match self.sink {
            Sink::Ndjson(o) => o.into_inner(),
            Sink::Csv(c) => c.into_inner().map_err(|e| write_error(e.into_error())),
        }
    }
}

impl Tagger<'_, Vec<u8>> {
    /// Tags the lines of a block (a worker of `tt tags -j`), as [`Self::process`] would:
    /// the output, written into `out` (reused), and the error that stopped it, if one did;
    /// `diag` (a recording one) keeps what is to be said, in input order.
    pub fn block(
        &mut self,
        block: &Block,
        diag: &mut Diag,
        out: Vec<u8>,
    ) -> (Vec<u8>, Option<Error>) {
        self.with_buffer(out, |t| {
            let name = match block {
                Block::Lines { name, .. } | Block::TooLong { name, .. } => name.clone(),
            };
            block.each_line(t.plan.max_line, &mut |line| match line {
                Ok((lineno, b)) => t.line(b, &name, lineno, diag),
                Err((lineno, why)) => diag.bad_line(&name, lineno, why),
            })
        })
    }

    /// Decompresses and tags a whole compressed file or member (a worker of `tt tags -j`),
    /// as [`Self::block`] does a block, with [`Self::unpack`].
    pub fn packed(
        &mut self,
        codec: Codec,
        bytes: &[u8],
        damage: Option<std::io::Error>,
        name: &str,
        diag: &mut Diag,
        out: Vec<u8>,
    ) -> (Vec<u8>, Option<Error>) {
        self.with_buffer(out, |t| t.unpack(codec, bytes, damage, name, diag))
    }

    /// Tags what `reader` gives (a worker of `tt tags -j`: a part of a file, which starts
    /// the file or not), as [`Self::block`] does a block; also gives its number of lines
    /// (0 after an error).
    pub fn reader(
        &mut self,
        reader: impl Read,
        starts_file: bool,
        name: &str,
        diag: &mut Diag,
        out: Vec<u8>,
    ) -> (Vec<u8>, Option<Error>, u64) {
        let mut lines = 0;
        let (out, err) = self.with_buffer(out, |t| {
            let mut reader = LineReader::new(reader, t.plan.max_line);
            if !starts_file {
                reader = reader.mid_stream();
            }
            lines = t.lines(reader, name, diag)?;
            Ok(())
        });
        (out, err, lines)
    }

    /// Runs `f` with the output going into `out`; returns it, and `f`'s error.
    fn with_buffer(
        &mut self,
        out: Vec<u8>,
        f: impl FnOnce(&mut Self) -> Result<()>,
    ) -> (Vec<u8>, Option<Error>) {
        let Sink::Ndjson(o) = &mut self.sink else {
            unreachable!("tt tags -j writes NDJSON")
        };
        *o.writer().get_mut() = out;
        self.unknown = 0;
        let err = f(self).and_then(|()| self.flush()).err();
        let Sink::Ndjson(o) = &mut self.sink else {
            unreachable!("tt tags -j writes NDJSON")
        };
        // Unbuffered (Output::unbuffered): everything written is in the Vec already.
        (std::mem::take(o.writer().get_mut()), err)
    }
}

#[derive(Serialize)]
struct CsvRow<'a> {
    tag: &'a str,
    text: &'a str,
    id: Option<&'a str>,
    at: Option<&'a str>,
    user: Option<&'a str>,
    rt: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<usize>,
}

/// The distinct keys of one post so far. The first [`PostKeys::FEW`] are one buffer and
/// their ends, searched in turn: a post's tags cost no allocation each, and posts have a
/// few. The rest go to a hash set, so that a post of many (`post::MAX_TAGS` is 100,000)
/// does not cost the square of their number: searched in turn, 100,000 distinct tags in
/// one line took `tt tags` 15.9 s.
#[derive(Default)]
struct PostKeys {
    keys: String,
    ends: Vec<usize>,
    /// Keys past the first few. foldhash, randomly seeded: crafted keys cannot collide.
    more: std::collections::HashSet<Box<str>, foldhash::fast::RandomState>,
}

impl PostKeys {
    const FEW: usize = 32;

    fn clear(&mut self) {
        self.keys.clear();
        self.ends.clear();
        if !self.more.is_empty() {
            // Dropped rather than cleared: clearing costs its capacity at every post.
            self.more = Default::default();
        }
    }

    fn seen(&self, k: &str) -> bool {
        let mut start = 0;
        self.ends.iter().any(|&end| {
            let hit = &self.keys[start..end] == k;
            start = end;
            hit
        }) || !self.more.is_empty() && self.more.contains(k)
    }

    /// Adds `k`, which is not [`Self::seen`].
    fn add(&mut self, k: &str) {
        if self.ends.len() < Self::FEW {
            self.keys.push_str(k);
            self.ends.push(self.keys.len());
        } else {
            self.more.insert(k.into());
        }
    }
}

fn write_record<W: Write>(sink: &mut Sink<W>, rec: &TagUse, line: &mut Vec<u8>) -> Result<()> {
    match sink {
        Sink::Ndjson(o) => {
            line.clear();
            rec.write_json(line);
            o.writer().write_all(line).map_err(write_error)
        }
        Sink::Csv(c) => {
            let row = CsvRow {
                tag: &rec.tag,
                text: &rec.text,
                id: rec.id.as_deref(),
                at: rec.at.as_deref(),
                user: rec.user.as_deref(),
                rt: rec.rt,
                start: rec.start,
                end: rec.end,
            };
            c.serialize(row).map_err(csv_error)
        }
    }
}

/// What ends a reader after its bytes: the error, once.
struct Tail(Option<std::io::Error>);

impl Read for Tail {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            quiet: true,
            ..Plan::default()
        }
    }

    fn run(plan: &Plan, input: &str) -> String {
        let mut diag = Diag::new("tags", true, false);
        let mut t = Tagger::new(plan, Output::new(Vec::new()));
        t.process(input.as_bytes(), "test", &mut diag).unwrap();
        String::from_utf8(t.into_output().unwrap()).unwrap()
    }

    const TWEET: &str = r##"{"id_str":"7","text":"#Rust and #rust, #Café","user":{"id_str":"9"},"created_at":"Wed Oct 10 20:00:00 +0000 2018"}"##;
    const RETWEET: &str = r##"{"id_str":"8","text":"RT @a: #Go","user":{"id_str":"9"},"retweeted_status":{"id_str":"1","text":"#Go","user":{"id_str":"3"}}}"##;

    /// (what, plan change, input, output)
    type Case = (&'static str, fn(&mut Plan), &'static str, &'static str);

    #[test]
    fn examples() {
        let cases: &[Case] = &[
            (
                "one record per distinct key of a post, spelling as first written",
                |_| {},
                TWEET,
                concat!(
                    r#"{"tag":"rust","text":"Rust","id":"7","at":"2018-10-10T20:00:00Z","user":"9","rt":false}"#,
                    "\n",
                    r#"{"tag":"café","text":"Café","id":"7","at":"2018-10-10T20:00:00Z","user":"9","rt":false}"#,
                    "\n",
                ),
            ),
            (
                "--keep-case: spellings are keys",
                |p| p.keep_case = true,
                TWEET,
                concat!(
                    r#"{"tag":"Rust","text":"Rust","id":"7","at":"2018-10-10T20:00:00Z","user":"9","rt":false}"#,
                    "\n",
                    r#"{"tag":"rust","text":"rust","id":"7","at":"2018-10-10T20:00:00Z","user":"9","rt":false}"#,
                    "\n",
                    r#"{"tag":"Café","text":"Café","id":"7","at":"2018-10-10T20:00:00Z","user":"9","rt":false}"#,
                    "\n",
                ),
            ),
            (
                "a retweet counts the original's tags, marked rt",
                |_| {},
                RETWEET,
                concat!(
                    r#"{"tag":"go","text":"Go","id":"8","at":null,"user":"9","rt":true}"#,
                    "\n"
                ),
            ),
            (
                "--no-retweets drops them",
                |p| p.no_retweets = true,
                RETWEET,
                "",
            ),
            (
                "--input text: a line is a post's text, its id the line number",
                |p| p.input = InputKind::Text,
                "no tag\nsee #this",
                concat!(
                    r#"{"tag":"this","text":"this","id":"2","at":null,"user":null,"rt":false}"#,
                    "\n"
                ),
            ),
            (
                "--format csv",
                |p| p.format = Format::Csv,
                RETWEET,
                "tag,text,id,at,user,rt\ngo,Go,8,,9,true\n",
            ),
            (
                "notices and blank lines give nothing",
                |_| {},
                "{\"delete\":{}}\n\n",
                "",
            ),
        ];
        for &(what, change, input, want) in cases {
            let mut p = plan();
            change(&mut p);
            assert_eq!(run(&p, input), want, "{what}");
        }
    }

    /// A post of more distinct tags than are searched in turn: each key still once, in
    /// the order first written, the repeats (in other spellings) of the first few and of
    /// the rest both dropped; and the next post starts afresh.
    #[test]
    fn a_post_of_many_tags_gives_each_key_once() {
        let n = PostKeys::FEW * 3;
        let tags: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
        let again: Vec<String> = tags.iter().rev().map(|t| t.to_uppercase()).collect();
        let text = [&tags[..], &again[..]]
            .concat()
            .iter()
            .map(|t| format!("#{t} "))
            .collect::<String>();
        let post = |id: u32| format!("{{\"id_str\":\"{id}\",\"text\":\"{text}\"}}\n");
        let out = run(&plan(), &(post(1) + &post(2)));
        let keys: Vec<(String, String)> = out
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["id"].as_str().unwrap().to_owned(),
                    v["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = ["1", "2"]
            .iter()
            .flat_map(|id| tags.iter().map(move |t| (id.to_string(), t.clone())))
            .collect();
        assert_eq!(keys, want);
    }
}
