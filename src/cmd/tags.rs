//! `tt tags`: raw posts in, one record per distinct hashtag per post out.
//!
//! The formats it reads are described in [`crate::post`], the extraction rules in
//! [`crate::hashtag`]. Output is flushed whenever the input would block, so the command is
//! live at the end of a pipe (`tt fetch | tt tags`) and block-buffered on a file.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::path::PathBuf;

use serde::Serialize;

use crate::args::InputOpts;
use crate::error::{Error, Kind, Result};
use crate::hashtag;
use crate::io::{open_input, stdout, write_error, Diag, LineReader, Output};
use crate::post::{self, LineKind, ParseError, Post};
use crate::record::TagUse;
use crate::time;

const LONG_ABOUT: &str = "\
Extract hashtags from posts.

Reads raw posts, one JSON object per line, as `tt fetch` writes them or as saved from
the platforms' APIs, and writes one record per distinct hashtag per post:

  {\"tag\":\"rust\",\"text\":\"Rust\",\"id\":\"1050\",\"at\":\"2018-10-10T20:00:00Z\",\"user\":\"52\",\"rt\":false}

  tag   the counting key: NFC, then Unicode case folding (#Café, #CAFÉ and #cafe\\u0301
        are one key; so are #STRASSE and #straße). With --keep-case: NFC only.
  text  the tag as written, without the hash sign.
  id, user  the post's and the author's ids (strings), or null. With --input text, id is
        the line number.
  at    the post's time in RFC 3339 UTC, or null.
  rt    true when the use comes from a retweet, reblog or repost.

Formats are detected line by line: Twitter v1.1 tweets (the full text of truncated
tweets, a retweet's hashtags from the original) and stream notices (delete, limit,
warning, ...: no hashtags, not errors; undelivered-tweet counts from `limit` notices are
reported at the end), X v2 stream messages and search pages (note_tweet, retweets
resolved through includes.tweets), Mastodon statuses (HTML content; the status's own
tags decide; reblogs), Bluesky Jetstream events (tag facets and record.tags of
app.bsky.feed.post creates). A quoted tweet is a different post and is not included.

Hashtags are found by the twitter-text rules: a # or ＃ not preceded by a letter, digit,
underscore or &, then letters, marks, digits and a few joiners, with at least one
letter (#1st yes, #2024 no), not inside a URL. A hashtag counts once per post.";

const AFTER_HELP: &str = "\
Examples:
  tt tags saved.ndjson | head
  tt fetch sim | tt tags --no-retweets
  tail -f stream.ndjson | tt tags          live: output is flushed as input arrives
  tt tags --keep-case --with-indices tweets.ndjson
  tt tags --input text --format csv < lines.txt";

#[derive(Debug, clap::Args)]
#[command(
    about = "Extract hashtags from posts (Twitter, X, Mastodon, Bluesky, plain text)",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    /// Input files of raw posts (NDJSON); `-` or none reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// How to read each line: `json` (raw posts, format detected per line) or `text` (each
    /// line is the text of one post, as the classic tutorial's feeder sent it).
    #[arg(long, value_enum, default_value_t = InputKind::Json, value_name = "KIND")]
    pub input: InputKind,

    /// Count under the spelling as written (NFC only), not the case-folded key.
    #[arg(long)]
    pub keep_case: bool,

    /// Add `start` and `end`: the hashtag's place in the post's text, in code points
    /// (end exclusive, start at the hash sign), as Twitter's entities give them.
    #[arg(long)]
    pub with_indices: bool,

    /// Drop uses that come from retweets, reblogs and reposts.
    #[arg(long)]
    pub no_retweets: bool,

    /// Write one record per occurrence of a hashtag in the text, repeats included, instead
    /// of one per distinct tag per post. For studying extraction; counts would then count
    /// repeats.
    #[arg(long)]
    pub occurrences: bool,

    /// Output format: `ndjson`, or `csv` with a header row.
    #[arg(long, value_enum, default_value_t = Format::Ndjson, value_name = "FORMAT")]
    pub format: Format,

    #[command(flatten)]
    pub input_opts: InputOpts,
}

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
}

impl Plan {
    pub fn from_args(a: &Args) -> Plan {
        Plan {
            input: a.input,
            keep_case: a.keep_case,
            with_indices: a.with_indices,
            no_retweets: a.no_retweets,
            occurrences: a.occurrences,
            format: a.format,
            max_line: a.input_opts.max_line_bytes,
            strict: a.input_opts.strict,
            quiet: a.input_opts.quiet,
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let plan = Plan::from_args(&args);
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files
    };
    let mut diag = Diag::new("tags", plan.quiet, plan.strict);
    let mut tagger = Tagger::new(&plan, stdout());
    for path in &files {
        let input = open_input(path)?;
        tagger.process(input.reader, &input.name, &mut diag)?;
    }
    tagger.finish(&mut diag)
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
    /// The keys already written for the current post: one buffer and their ends, so a
    /// post's tags cost no allocation each.
    keys: String,
    key_ends: Vec<usize>,
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
            keys: String::new(),
            key_ends: Vec::new(),
            line: Vec::with_capacity(256),
            kbuf: String::new(),
            at: String::new(),
            limit_total: 0,
            limit_last: 0,
            unknown: 0,
        }
    }

    fn flush(&mut self) -> Result<()> {
        match &mut self.sink {
            Sink::Ndjson(o) => o.flush(),
            Sink::Csv(c) => c.flush().map_err(write_error),
        }
    }

    /// Reads one input to its end.
    pub fn process<R: Read>(&mut self, reader: R, name: &str, diag: &mut Diag) -> Result<()> {
        let mut lines = LineReader::new(reader, self.plan.max_line);
        while let Some((lineno, bytes)) = lines.next_record(name, diag, &mut || self.flush())? {
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    diag.bad_line(name, lineno, format!("invalid UTF-8 ({e})"))?;
                    continue;
                }
            };
            match self.plan.input {
                InputKind::Text => self.text_line(text, lineno)?,
                InputKind::Json => self.json_line(text, name, lineno, diag)?,
            }
        }
        Ok(())
    }

    fn json_line(&mut self, line: &str, name: &str, lineno: u64, diag: &mut Diag) -> Result<()> {
        let kind = match post::parse(line, &mut |p: &Post| self.emit(p)) {
            Ok(k) => k,
            Err(ParseError::Sink(e)) => return Err(e),
            Err(ParseError::Json(e)) => {
                return diag.bad_line(name, lineno, format!("not a valid JSON object ({e})"));
            }
        };
        match kind {
            LineKind::Posts(_) | LineKind::Notice => {}
            LineKind::Limit(track) => {
                if track < self.limit_last {
                    self.limit_total += self.limit_last; // a new connection restarted the count
                }
                self.limit_last = track;
            }
            LineKind::Warning(msg) => diag.note(format!("{name}:{lineno}: {msg}")),
            LineKind::Unknown(keys) => {
                self.unknown += 1;
                if self.unknown == 1 {
                    diag.note(format!(
                        "{name}:{lineno}: not a post or stream notice of a known format ({keys}); skipped"
                    ));
                }
            }
        }
        Ok(())
    }

    fn text_line(&mut self, text: &str, lineno: u64) -> Result<()> {
        let mut found = Vec::new();
        let mut hs = Vec::new();
        hashtag::extract(text, &mut hs);
        found.extend(hs.iter().map(|h| post::Found {
            text: h.text,
            span: Some((h.start, h.end)),
        }));
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
        })
    }

    /// Writes the records of one post: one per distinct key.
    fn emit(&mut self, p: &Post) -> Result<()> {
        if p.tags.is_empty() || (p.rt && self.plan.no_retweets) {
            return Ok(());
        }
        self.keys.clear();
        self.key_ends.clear();
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
            if !self.plan.occurrences && seen_key(&self.keys, &self.key_ends, k) {
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
                self.keys.push_str(k);
                self.key_ends.push(self.keys.len());
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

/// Whether `k` is among the keys in `keys` (ending at `ends`).
fn seen_key(keys: &str, ends: &[usize], k: &str) -> bool {
    let mut start = 0;
    ends.iter().any(|&end| {
        let hit = &keys[start..end] == k;
        start = end;
        hit
    })
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
            c.serialize(row).map_err(|e| match e.into_kind() {
                csv::ErrorKind::Io(io) => write_error(io),
                other => Error::new(Kind::Failure, format!("cannot write CSV: {other:?}")),
            })
        }
    }
}
