//! The NDJSON records passed between commands (the contract in README.md, "Records").
//!
//! Every record one `tt` command writes and another reads lives here, with the one rule for
//! writing numbers:
//!
//! | record | written by | read by |
//! |---|---|---|
//! | [`TagUse`] (reading side [`UseIn`]) | `tt tags` | `tt count` |
//! | [`Partial`] | `tt combine` | `tt count --time event`, `tt combine` |
//! | [`Batch`] | `tt count` (its batch log) | `tt count` (resume) |
//! | [`Update`] with [`TagCount`]s | `tt count` | `tt top` |
//! | [`Leaderboard`] with [`Leader`]s | `tt top` | `tt serve` |
//!
//! Field order in the structs is the order on the wire.

use std::borrow::Cow;

use compact_str::CompactString;

use serde::{Deserialize, Serialize};

use crate::json::write_str;

/// One use of a hashtag by a post: what `tt tags` writes and `tt count` reads.
///
/// `{"tag":"rust","text":"Rust","id":"105","at":"2018-10-10T20:00:00Z","user":"52","rt":false}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagUse<'a> {
    /// The counting key (NFC + Unicode case folding; with `--keep-case`, NFC only).
    #[serde(borrow)]
    pub tag: Cow<'a, str>,
    /// The tag as written, without the hash sign.
    #[serde(borrow)]
    pub text: Cow<'a, str>,
    /// The post's id, when the source gives one.
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    /// The post's time, RFC 3339 UTC, when the source gives one.
    #[serde(borrow)]
    pub at: Option<Cow<'a, str>>,
    /// The author's id, when the source gives one.
    #[serde(borrow)]
    pub user: Option<Cow<'a, str>>,
    /// True when the use comes from a retweet, reblog or repost.
    #[serde(default)]
    pub rt: bool,
    /// With `--with-indices`: the hash sign's position, in code points of the post's text.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub start: Option<usize>,
    /// With `--with-indices`: the end of the tag (exclusive), in code points.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub end: Option<usize>,
}

/// The reading side of [`TagUse`], borrowing from the line where it can: what `tt count`
/// parses per line (extra fields are ignored).
#[derive(Debug, Deserialize)]
pub struct UseIn<'a> {
    #[serde(borrow)]
    pub tag: crate::json::Text<'a>,
    #[serde(borrow, default)]
    pub text: Option<crate::json::Text<'a>>,
    #[serde(borrow, default)]
    pub id: Option<crate::json::Text<'a>>,
    #[serde(borrow, default)]
    pub at: Option<crate::json::Text<'a>>,
    #[serde(borrow, default)]
    pub user: Option<crate::json::Text<'a>>,
}

impl TagUse<'_> {
    /// Appends the record as one JSON line, byte for byte what `serde_json::to_writer`
    /// writes (a property test checks it). By hand because serializing was the largest
    /// part of `tt tags --input text` (callgrind: 30 % of 405 M instructions for 100,000
    /// lines), most of it serde's per-byte escape lookup on strings that need none.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"tag\":");
        write_str(out, &self.tag);
        out.extend_from_slice(b",\"text\":");
        write_str(out, &self.text);
        for (name, v) in [
            (&b",\"id\":"[..], &self.id),
            (b",\"at\":", &self.at),
            (b",\"user\":", &self.user),
        ] {
            out.extend_from_slice(name);
            match v {
                Some(s) => write_str(out, s),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(if self.rt {
            b",\"rt\":true"
        } else {
            b",\"rt\":false"
        });
        for (name, v) in [(&b",\"start\":"[..], self.start), (b",\"end\":", self.end)] {
            if let Some(n) = v {
                out.extend_from_slice(name);
                out.extend_from_slice(n.to_string().as_bytes());
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

impl<'a> UseIn<'a> {
    /// Parses one tag use line. Lines in the exact shape `tt tags` writes, with no escape
    /// in any string, take a hand-written path; everything else goes through serde_json,
    /// which gives the same result (a property test checks it) or the error message.
    ///
    /// Why by hand: JSON parsing was over half of `tt count`'s instructions (callgrind,
    /// 3,300 per use on 120,425 uses of the generated text feed); the fast path skips
    /// serde's generic key matching and escape scanning for the one shape that matters.
    ///
    /// Every field is a string (or null); a line that is not an object, lacks `tag` or
    /// has an empty one is refused, with why in the user's terms.
    pub fn parse(line: &'a str) -> Result<UseIn<'a>, String> {
        let u = match fast_use(line) {
            Some(u) => u,
            None => {
                if let Some(n) = crate::json::not_an_object(line) {
                    return Err(n.say("a tag use object"));
                }
                serde_json::from_str(line).map_err(|e| crate::json::explain(&e))?
            }
        };
        if u.tag.as_str().is_empty() {
            return Err("the tag is empty".into());
        }
        Ok(u)
    }
}

/// A cursor over a line in the exact shape one command writes, for the hand-written fast
/// paths below. Each method reads one token or gives up with `None` ("not sure": the caller
/// then parses the line with serde_json, which gives the same result or the error).
struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a str) -> Cursor<'a> {
        Cursor {
            s: line,
            b: line.as_bytes(),
            i: 0,
        }
    }

    // Inlined, each literal's length is known where it is compared, so the compare is a
    // few loads instead of a call to memcmp: those calls were 3.7 % of `tt count`'s
    // instructions on 415,153 uses (callgrind).
    #[inline(always)]
    fn lit(&mut self, l: &[u8]) -> Option<()> {
        if self.b[self.i..].starts_with(l) {
            self.i += l.len();
            Some(())
        } else {
            None
        }
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.lit(b"\"")?;
        let start = self.i;
        // One pass that stops at the closing quote, 16 bytes at a time (callgrind on
        // 40,000 uses of generated tweets: 35 M instructions in here a byte at a time,
        // 15 M like this; the whole run 156 M against 137 M).
        let j = crate::json::find_special(self.b, start)?;
        if self.b[j] != b'"' {
            return None;
        }
        self.i = j + 1;
        // `"` is ASCII, so both ends are char boundaries of the (valid) line.
        Some(&self.s[start..j])
    }

    fn opt_string(&mut self) -> Option<Option<crate::json::Text<'a>>> {
        if self.lit(b"null").is_some() {
            return Some(None);
        }
        Some(Some(crate::json::Str(Cow::Borrowed(self.string()?))))
    }

    /// The digits at the cursor as an integer: at least one, no leading zero, in range.
    fn uint(&mut self) -> Option<u64> {
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(&c) = self.b.get(self.i).filter(|c| c.is_ascii_digit()) {
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            self.i += 1;
        }
        let len = self.i - start;
        (len == 1 || len > 1 && self.b[start] != b'0').then_some(n)
    }

    /// A number as serde reads it into an `f64`: an integer (as `u64` or `i64`, then
    /// converted), or a plain decimal fraction (both this and serde round it correctly).
    /// Exponents, `-0` and integers past 2^63 are left to serde.
    fn float(&mut self) -> Option<f64> {
        let start = self.i;
        let negative = self.lit(b"-").is_some();
        let n = self.uint()?;
        if self.lit(b".").is_some() {
            let frac = self.i;
            while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            if self.i == frac || matches!(self.b.get(self.i), Some(b'e' | b'E')) {
                return None;
            }
            return self.s[start..self.i].parse().ok();
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) || negative && n == 0 {
            return None;
        }
        let n = i64::try_from(n).ok()?;
        let n = if negative { -n } else { n };
        Some(n as f64)
    }

    fn opt_float(&mut self) -> Option<Option<f64>> {
        if self.lit(b"null").is_some() {
            return Some(None);
        }
        self.float().map(Some)
    }

    /// The end of the line: nothing but whitespace.
    fn end(&self) -> Option<()> {
        self.b[self.i..]
            .iter()
            .all(u8::is_ascii_whitespace)
            .then_some(())
    }
}

/// `{"tag":S,"text":S,"id":S|null,"at":S|null,"user":S|null,"rt":true|false}` and nothing
/// else (trailing spaces aside), strings without `\` or control characters.
fn fast_use(line: &str) -> Option<UseIn<'_>> {
    use crate::json::Str;
    let mut p = Cursor::new(line);
    p.lit(b"{\"tag\":")?;
    let tag = Str(Cow::Borrowed(p.string()?));
    p.lit(b",\"text\":")?;
    let text = Some(Str(Cow::Borrowed(p.string()?)));
    p.lit(b",\"id\":")?;
    let id = p.opt_string()?;
    p.lit(b",\"at\":")?;
    let at = p.opt_string()?;
    p.lit(b",\"user\":")?;
    let user = p.opt_string()?;
    p.lit(b",\"rt\":")?;
    if p.lit(b"false").is_none() {
        p.lit(b"true")?;
    }
    p.lit(b"}")?;
    p.end()?;
    Some(UseIn {
        tag,
        text,
        id,
        at,
        user,
    })
}

/// An update in the exact shape [`Update::write_json`] writes, strings without escapes,
/// numbers as [`Cursor::float`] reads them; anything else is left to serde. Why by hand:
/// serde's parse was two thirds of `tt top`'s instructions on a saved stream's one update
/// of 37,353 tags (callgrind, 102 M of 151 M; the whole run 91 M with this), the last step
/// of the pipeline.
fn fast_update(line: &str) -> Option<Update> {
    let mut p = Cursor::new(line);
    p.lit(b"{\"batch\":")?;
    let batch = p.uint()?;
    p.lit(b",\"end\":")?;
    let end = p.string()?.to_owned();
    p.lit(b",\"posts\":")?;
    let posts = p.uint()?;
    p.lit(b",\"tags\":")?;
    let tags = p.uint()?;
    p.lit(b",\"counting\":")?;
    let counting = p.string()?.to_owned();
    let half_life = match p.lit(b",\"half_life\":") {
        Some(()) => p.opt_float()?,
        None => None,
    };
    p.lit(b",\"counts\":[")?;
    let mut counts = Vec::new();
    if p.lit(b"]").is_none() {
        loop {
            p.lit(b"{\"tag\":")?;
            let tag = CompactString::from(p.string()?);
            p.lit(b",\"text\":")?;
            let text = CompactString::from(p.string()?);
            p.lit(b",\"count\":")?;
            let count = p.float()?;
            p.lit(b",\"delta\":")?;
            let delta = p.float()?;
            p.lit(b",\"uses\":")?;
            let uses = p.uint()?;
            p.lit(b",\"trend\":")?;
            let trend = p.float()?;
            let users = match p.lit(b",\"users\":") {
                Some(()) => p.opt_float()?,
                None => None,
            };
            let error = match p.lit(b",\"error\":") {
                Some(()) if p.lit(b"null").is_some() => None,
                Some(()) => Some(p.uint()?),
                None => None,
            };
            p.lit(b"}")?;
            counts.push(TagCount {
                tag,
                text,
                count,
                delta,
                uses,
                trend,
                users,
                error,
            });
            if p.lit(b",").is_none() {
                p.lit(b"]")?;
                break;
            }
        }
    }
    p.lit(b"}")?;
    p.end()?;
    Some(Update {
        batch,
        end,
        posts,
        tags,
        counting,
        half_life,
        counts,
    })
}

/// One batch's tag uses, aggregated: what the batch log stores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Batch number (1, 2, ...). In event time, numbers follow slots and may skip.
    pub batch: u64,
    /// Slot index: batch start / batch length (processing time: the tick count).
    pub slot: i64,
    /// End of the batch, milliseconds since the epoch.
    pub end: i64,
    /// Posts with at least one tag in the batch.
    pub posts: u64,
    /// One entry per tag and spelling, sorted.
    pub uses: Vec<SpellingUses>,
    /// With `--distinct users`: each tag's distinct authors in this batch, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<TagUsers>,
}

/// A tag's line in a count update (strings inline up to 24 bytes: see [`SpellingUses`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagCount {
    pub tag: CompactString,
    pub text: CompactString,
    /// All-time or windowed uses (integers), or decayed uses (with `--half-life`).
    #[serde(serialize_with = "num")]
    pub count: f64,
    /// Change of `count` since the tag's previous update.
    #[serde(serialize_with = "num")]
    pub delta: f64,
    /// Uses in this batch.
    pub uses: u64,
    #[serde(serialize_with = "num")]
    pub trend: f64,
    /// With `--distinct users`: distinct authors of the tag, counted like `count` (all
    /// time, in the window, or per batch then decayed).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_num"
    )]
    pub users: Option<f64>,
    /// With `tt count --max-tags`: how much `count` may exceed the true count (which is
    /// between count − error and count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<u64>,
}

/// A partial batch: the aggregate of the tag uses of one event-time slot that one reader
/// saw, what `tt combine` writes. Partial batches of the same slot, made from disjoint
/// parts of a stream (files, splits), merge exactly: uses and posts add up (a post is one
/// line, so it is in one part), authors unite. `tt count --time event` counts them as it
/// would count the uses they came from.
///
/// `{"slot":880348,"batch_ms":2000,"posts":2,"uses":[["rust","Rust",2]]}`, with
/// `--distinct users` also `"users":[["rust",["52","97"]]]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    /// The slot: its start / batch length, so it ends at (slot + 1) * batch_ms.
    pub slot: i64,
    /// The batch length the slot is of, in milliseconds.
    pub batch_ms: u64,
    /// Posts with at least one tag in the slot.
    pub posts: u64,
    /// One entry per tag and spelling, sorted (as in [`Batch`]).
    pub uses: Vec<SpellingUses>,
    /// With `--distinct users`: each tag's distinct authors, sorted. Absent otherwise, so
    /// that counting distinct authors of partials made without them is refused, not zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<TagUsers>>,
}

/// One line of what `tt count` and `tt combine` read: a tag use or a partial batch.
pub enum CountIn<'a> {
    Use(UseIn<'a>),
    Partial(Partial),
}

impl<'a> CountIn<'a> {
    /// Parses a line: a partial batch when it is an object with a `slot`, else a tag use.
    /// A refusal says which it is not and why, in the user's terms.
    pub fn parse(line: &'a str) -> Result<CountIn<'a>, String> {
        let partial = |line: &str| {
            serde_json::from_str::<Partial>(line)
                .map(CountIn::Partial)
                .map_err(|e| format!("not a partial batch record ({})", crate::json::explain(&e)))
        };
        // What `tt combine` writes starts so; others are told apart only when they fail
        // as tag uses, so the tag use path pays nothing.
        if line.starts_with("{\"slot\":") {
            return partial(line);
        }
        match UseIn::parse(line) {
            Ok(u) => Ok(CountIn::Use(u)),
            Err(why) => {
                match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line) {
                    Ok(m) if m.contains_key("slot") && !m.contains_key("tag") => partial(line),
                    _ => Err(format!("not a tag use record ({why})")),
                }
            }
        }
    }
}

/// What a line that one command refused is, if it is another command's record or a raw
/// post: (what it looks like, the command that reads it), so that a user who fed the wrong
/// stage can be told (`tt tags` given its own output: "did you mean tt count?"). Judged
/// by the top-level keys; only on the bad-line path.
///
/// JSON that is not one object per line (an API response saved pretty-printed, or a list
/// of records on one line) is said with the jq command that makes it so.
pub fn looks_like(line: &str) -> Option<(&'static str, &'static str)> {
    type Object = serde_json::Map<String, serde_json::Value>;
    match line.trim() {
        "[" => {
            return Some((
                "pretty-printed JSON (an array over many lines)",
                "jq -c '.[]' FILE | tt ...",
            ))
        }
        "{" => {
            return Some((
                "pretty-printed JSON (an object over many lines)",
                "jq -c . FILE | tt ...",
            ))
        }
        l if l.starts_with('[') => {
            let list: Vec<Object> = serde_json::from_str(l).ok()?;
            return (!list.is_empty()).then_some((
                "a JSON array of objects on one line",
                "jq -c '.[]' FILE | tt ...",
            ));
        }
        // The tweets of a Twitter (X) account's data download: JavaScript, one array of
        // {"tweet": {...}} over many lines, each tweet v1.1-shaped.
        l if l.starts_with("window.YTD.") => {
            return Some((
                "a Twitter archive's data file (JavaScript: window.YTD... = [...])",
                "sed '1s/^[^=]*= //' FILE | jq -c '.[].tweet' | tt ...",
            ))
        }
        l if csv_header(l, b',') => {
            return Some((
                "CSV with a column of post texts (its header line)",
                "mlr --icsv --ojsonl cat FILE | tt ...",
            ))
        }
        l if csv_header(l, b'\t') => {
            return Some((
                "TSV with a column of post texts (its header line)",
                "mlr --itsv --ojsonl cat FILE | tt ...",
            ))
        }
        _ => {}
    }
    let m: Object = serde_json::from_str(line).ok()?;
    let has = |k: &str| m.contains_key(k);
    if has("tag") && has("text") {
        Some(("tag uses (the output of tt tags)", "tt count"))
    } else if has("slot") && has("uses") {
        Some((
            "partial batches (the output of tt combine)",
            "tt count --time event",
        ))
    } else if has("batch") && has("counts") {
        Some(("count updates (the output of tt count)", "tt top"))
    } else if has("batch") && has("top") {
        Some(("leaderboards (the output of tt top)", "tt serve"))
    } else if [
        "text",
        "full_text",
        "data",
        "content",
        "commit",
        "delete",
        "limit",
    ]
    .iter()
    .any(|k| has(k))
    {
        Some(("raw posts", "tt tags"))
    } else {
        None
    }
}

/// Whether `line` is the header of a table of posts separated by `sep` (as twarc2 csv,
/// spreadsheets and dataset sites save tweets): at least two column names, one of them a
/// post's text. Its rows as JSON objects (what Miller writes) are posts tt tags reads:
/// a flat object's `text` is a post's.
fn csv_header(line: &str, sep: u8) -> bool {
    let names: Vec<&str> = line
        .split(sep as char)
        .map(|n| n.trim().trim_matches('"'))
        .collect();
    let name = |n: &&str| {
        !n.is_empty()
            && n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.- ".contains(&b))
    };
    let text = |n: &&str| {
        ["text", "full_text", "tweet", "content", "body"].contains(&n.to_ascii_lowercase().as_str())
    };
    names.len() >= 2 && names.iter().all(name) && names.iter().any(text)
}

/// A tag's uses under one spelling in a batch. On the wire (the batch log) a 3-element
/// array `[key, spelling, uses]`, the form state files have had since version 1.
///
/// Its strings, like [`TagCount`]'s, are `CompactString`s, as in `tt count`'s tables they
/// come from: a tag of up to 24 bytes moves between them without an allocation. With
/// `String`s, the end of a saved stream (every tag's record made, counted and written in
/// one update) took a median of 115 ms for 37,353 tags, 65 ms without them
/// (`scripts/bench/count_end.py`; BENCHMARKS.md, "The pipeline's tail").
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpellingUses {
    pub key: CompactString,
    pub text: CompactString,
    pub uses: u64,
}

/// A tag's distinct authors in a batch. On the wire a 2-element array `[key, [user, ...]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct TagUsers {
    pub key: String,
    pub users: Vec<String>,
}

impl SpellingUses {
    pub fn new(
        key: impl Into<CompactString>,
        text: impl Into<CompactString>,
        uses: u64,
    ) -> SpellingUses {
        SpellingUses {
            key: key.into(),
            text: text.into(),
            uses,
        }
    }
}

impl Serialize for SpellingUses {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.key, &self.text, self.uses).serialize(s)
    }
}

impl<'de> Deserialize<'de> for SpellingUses {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (key, text, uses) = Deserialize::deserialize(d)?;
        Ok(SpellingUses { key, text, uses })
    }
}

impl Serialize for TagUsers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.key, &self.users).serialize(s)
    }
}

impl<'de> Deserialize<'de> for TagUsers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (key, users) = Deserialize::deserialize(d)?;
        Ok(TagUsers { key, users })
    }
}

/// The leaderboard of one batch: `tt top`'s output line, what `tt serve` reads.
///
/// `{"batch":17,"end":"2026-11-24T10:00:02Z","posts":812,"by":"count","top":[{"rank":1,...}]}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard<'a> {
    pub batch: u64,
    #[serde(borrow)]
    pub end: Cow<'a, str>,
    /// Posts in the batch (for posts per second on the chart); absent in a leaderboard
    /// posted to `tt serve` as the classic form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posts: Option<u64>,
    pub by: By,
    #[serde(borrow)]
    pub top: Vec<Leader<'a>>,
}

/// One leader of a [`Leaderboard`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leader<'a> {
    pub rank: usize,
    #[serde(borrow)]
    pub tag: Cow<'a, str>,
    #[serde(borrow)]
    pub text: Cow<'a, str>,
    #[serde(serialize_with = "num")]
    pub count: f64,
    #[serde(serialize_with = "num")]
    pub trend: f64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_num"
    )]
    pub users: Option<f64>,
    /// With `tt count --max-tags`: the count is an estimate at most this much above the
    /// true count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<u64>,
}

/// What a leaderboard ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Count,
    Trend,
    /// Distinct authors (needs `tt count --distinct users`).
    Users,
}

impl By {
    pub fn name(self) -> &'static str {
        match self {
            By::Count => "count",
            By::Trend => "trend",
            By::Users => "users",
        }
    }
}

// The number rule: counts, trends and deltas are rounded to three decimals where they are
// not whole ([`round3`]), and written as integers when they are whole (`5`, not `5.0`),
// in JSON ([`num`]) and in text ([`fmt_num`]) alike.

/// Rounds to three decimals: the precision of every score and decayed count on the wire.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Whole numbers below 2^53 are written as integers.
fn is_whole(v: f64) -> bool {
    v.fract() == 0.0 && v.abs() < 9.0e15
}

fn write_uint(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// As serde_json writes an `f64` (shortest round trip; `null` if not finite).
fn write_f64(out: &mut Vec<u8>, v: f64) {
    serde_json::to_writer(out, &v).expect("writing to memory");
}

/// As [`num`] serializes `v`.
fn write_num(out: &mut Vec<u8>, v: f64) {
    if is_whole(v) {
        out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else {
        write_f64(out, v);
    }
}

pub fn opt_num<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => num(v, s),
        None => s.serialize_none(),
    }
}

/// Whole numbers as integers (`5`, not `5.0`), others as they are.
pub fn num<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if is_whole(*v) {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// The count update for one batch: `tt count`'s output line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub batch: u64,
    /// End of the batch, RFC 3339.
    pub end: String,
    pub posts: u64,
    /// Tags held in the state after this batch: all distinct tags so far, or with a window
    /// or decay those that can still change a line, or with `--max-tags N` at most N.
    pub tags: u64,
    /// What `count` means: "total", "window" or "decayed".
    pub counting: String,
    /// With decayed counts: their half-life in seconds (so `tt top` can decay the counts
    /// of tags that did not change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life: Option<f64>,
    pub counts: Vec<TagCount>,
}

impl Update {
    /// Appends the update as one JSON line without its newline, byte for byte what
    /// `serde_json::to_writer` writes (a property test checks it). By hand because serde's
    /// was 54.6 M of `tt count`'s 765 M instructions on a saved stream's one update of
    /// 37,353 tags (callgrind), all of it after the input has ended, while the rest of the
    /// pipeline waits.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.reserve(128 + self.counts.len() * 100);
        out.extend_from_slice(b"{\"batch\":");
        write_uint(out, self.batch);
        out.extend_from_slice(b",\"end\":");
        write_str(out, &self.end);
        out.extend_from_slice(b",\"posts\":");
        write_uint(out, self.posts);
        out.extend_from_slice(b",\"tags\":");
        write_uint(out, self.tags);
        out.extend_from_slice(b",\"counting\":");
        write_str(out, &self.counting);
        if let Some(h) = self.half_life {
            out.extend_from_slice(b",\"half_life\":");
            write_f64(out, h);
        }
        out.extend_from_slice(b",\"counts\":[");
        for (i, c) in self.counts.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"tag\":");
            write_str(out, &c.tag);
            out.extend_from_slice(b",\"text\":");
            write_str(out, &c.text);
            out.extend_from_slice(b",\"count\":");
            write_num(out, c.count);
            out.extend_from_slice(b",\"delta\":");
            write_num(out, c.delta);
            out.extend_from_slice(b",\"uses\":");
            write_uint(out, c.uses);
            out.extend_from_slice(b",\"trend\":");
            write_num(out, c.trend);
            if let Some(u) = c.users {
                out.extend_from_slice(b",\"users\":");
                write_num(out, u);
            }
            if let Some(e) = c.error {
                out.extend_from_slice(b",\"error\":");
                write_uint(out, e);
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
    }

    /// The update's line, as [`Update::write_json`] writes it.
    pub fn to_line(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8(out).expect("JSON text is UTF-8")
    }

    /// Parses one line of `tt count`'s output; why not, in the user's terms.
    pub fn parse(bytes: &[u8]) -> Result<Update, String> {
        let line = crate::json::utf8(bytes).map_err(|e| format!("invalid UTF-8: {e}"))?;
        if let Some(u) = fast_update(line) {
            return Ok(u);
        }
        if let Some(n) = crate::json::not_an_object(line) {
            return Err(n.say("an object"));
        }
        serde_json::from_str(line).map_err(|e| crate::json::explain(&e))
    }
}

/// A number that serializes by the rule (for lists of numbers outside the records).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        num(&self.0, s)
    }
}

/// A number as text (CSV, tables): whole numbers as integers, others with three decimals.
pub fn fmt_num(v: f64) -> String {
    if is_whole(v) {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same(a: &UseIn, b: &UseIn) -> bool {
        let s = |v: &Option<crate::json::Text>| v.as_ref().map(|x| x.as_str().to_owned());
        a.tag.as_str() == b.tag.as_str()
            && s(&a.text) == s(&b.text)
            && s(&a.id) == s(&b.id)
            && s(&a.at) == s(&b.at)
            && s(&a.user) == s(&b.user)
    }

    #[test]
    fn fast_path_takes_tt_tags_output() {
        let line = r#"{"tag":"café","text":"Café","id":"105","at":"2018-10-10T20:00:00Z","user":"52","rt":false}"#;
        assert!(fast_use(line).is_some());
        let line = r#"{"tag":"a","text":"a","id":null,"at":null,"user":null,"rt":true}  "#;
        assert!(fast_use(line).is_some());
        for other in [
            r#"{"tag":"a\"b","text":"a","id":null,"at":null,"user":null,"rt":true}"#,
            r#"{"tag":"a","text":"a","id":null,"at":null,"user":null,"rt":true,"start":1,"end":2}"#,
            r#"{"tag":"a"}"#,
        ] {
            assert!(fast_use(other).is_none(), "{other}");
            assert!(UseIn::parse(other).is_ok(), "serde takes {other}");
        }
    }

    /// (line, why it is refused): the record holds strings, and a tag.
    #[test]
    fn refused_tag_uses() {
        let cases = [
            (r#"["rust"]"#, "an array, not a tag use object"),
            ("[1]", "an array, not a tag use object"),
            ("7", "a number, not a tag use object"),
            (r#"{"tag":""}"#, "the tag is empty"),
            (
                r#"{"tag":"","text":"a","id":null,"at":null,"user":null,"rt":true}"#,
                "the tag is empty",
            ),
            (
                r#"{"tag":123}"#,
                "found the number 123, expected a string at column 10",
            ),
            (
                r#"{"tag":"a","text":"a","id":1,"at":null,"user":null,"rt":true}"#,
                "found the number 1, expected a string at column 28",
            ),
            (
                r#"{"tag":null}"#,
                "invalid type: null, expected a string at column 11",
            ),
            (r#"{"text":"a"}"#, "missing field `tag` at column 12"),
        ];
        for (line, why) in cases {
            assert_eq!(UseIn::parse(line).err().as_deref(), Some(why), "{line}");
        }
    }

    /// Numbers as counts come: whole ones small and large, fractions, and the odd ones.
    fn num() -> impl Strategy<Value = f64> {
        prop_oneof![
            (-1000i64..100_000).prop_map(|n| n as f64),
            any::<f64>(),
            Just(9.0e15),
            Just(-9.0e15),
            Just(8.999_999_999_999_998e15),
            Just(-0.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            (0u32..100_000).prop_map(|n| f64::from(n) / 1000.0),
        ]
    }

    /// Number texts in a count: read by the fast path as serde reads them, or left to
    /// serde (`false`: must be left, `true`: must be read).
    #[test]
    fn fast_update_numbers() {
        let cases = [
            ("5", true),
            ("-5", true),
            ("0", true),
            ("2.5", true),
            ("-0.125", true),
            ("0.30000000000000004", true),
            ("9223372036854775807", true),
            ("-0", false),
            ("-0.0", true),
            ("1e3", false),
            ("1.5E-7", false),
            ("1e400", false),
            ("9223372036854775808", false),
            ("18446744073709551616", false),
            ("01", false),
            ("1.", false),
            (".5", false),
            ("+1", false),
            ("-", false),
            ("NaN", false),
            ("null", false),
            ("\"5\"", false),
        ];
        for (text, read) in cases {
            let line = format!(
                r#"{{"batch":1,"end":"e","posts":1,"tags":1,"counting":"total","counts":[{{"tag":"a","text":"A","count":{text},"delta":0,"uses":1,"trend":0}}]}}"#
            );
            let fast = fast_update(&line);
            assert_eq!(fast.is_some(), read, "{text}");
            if fast.is_some() {
                let serde = serde_json::from_str::<Update>(&line).ok();
                assert_eq!(format!("{fast:?}"), format!("{serde:?}"), "{text}");
            }
        }
    }

    /// Count updates with strings that need escapes or not and numbers of every kind.
    fn update() -> impl Strategy<Value = Update> {
        (
            any::<u64>(),
            "\\PC{0,24}",
            any::<u64>(),
            proptest::option::of(num()),
            proptest::collection::vec(
                (
                    "\\PC{0,8}|[a-z\"\\\\\u{0}-\u{1f}é]{0,6}",
                    "\\PC{0,8}",
                    (num(), num(), any::<u64>(), num()),
                    (
                        proptest::option::of(num()),
                        proptest::option::of(any::<u64>()),
                    ),
                ),
                0..4,
            ),
        )
            .prop_map(|(batch, end, posts, half_life, counts)| Update {
                batch,
                end,
                posts,
                tags: posts / 2,
                counting: "total".into(),
                half_life,
                counts: counts
                    .into_iter()
                    .map(
                        |(tag, text, (count, delta, uses, trend), (users, error))| TagCount {
                            tag: tag.into(),
                            text: text.into(),
                            count,
                            delta,
                            uses,
                            trend,
                            users,
                            error,
                        },
                    )
                    .collect(),
            })
    }

    proptest! {
        /// The hand-written writer gives serde_json's bytes exactly.
        #[test]
        fn write_json_is_serde_json(
            tag in "\\PC{0,12}|[a-z\"\\\\\u{0}-\u{1f}\u{7f}é/<]{0,8}",
            text in "[\u{0}-\u{7f}]{0,10}|\\PC{0,10}",
            id in proptest::option::of("\\PC{0,8}"),
            at in proptest::option::of("[0-9TZ:-]{0,20}"),
            user in proptest::option::of("[\u{0}-\u{ff}]{0,6}"),
            rt in any::<bool>(),
            start in proptest::option::of(0usize..100_000),
            end in proptest::option::of(0usize..100_000),
        ) {
            let u = TagUse {
                tag: tag.into(),
                text: text.into(),
                id: id.map(Into::into),
                at: at.map(Into::into),
                user: user.map(Into::into),
                rt,
                start,
                end,
            };
            let mut mine = Vec::new();
            u.write_json(&mut mine);
            let mut want = serde_json::to_vec(&u).unwrap();
            want.push(b'\n');
            prop_assert_eq!(String::from_utf8_lossy(&mine), String::from_utf8_lossy(&want));
        }

        /// The hand-written writer gives serde_json's bytes exactly, whatever the numbers.
        #[test]
        fn update_write_json_is_serde_json(u in update()) {
            let mut mine = Vec::new();
            u.write_json(&mut mine);
            let want = serde_json::to_vec(&u).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&mine), String::from_utf8_lossy(&want));
        }

        /// What `write_json` writes, the fast path reads as serde does (to the bit).
        #[test]
        fn fast_update_reads_write_json_as_serde(u in update(), cut in 0usize..400, junk in "[-0-9.eE,}\\]\" a-z:\\\\]{0,3}") {
            let mut line = Vec::new();
            u.write_json(&mut line);
            let line = String::from_utf8(line).unwrap();
            let serde = serde_json::from_str::<Update>(&line).ok();
            let fast = fast_update(&line);
            if u.counts.iter().all(|c| [c.count, c.delta, c.trend].iter().chain(&c.users).all(|v| v.is_finite()))
                && u.half_life.is_none_or(f64::is_finite)
            {
                prop_assert!(fast.is_some() || line.contains(['\\', 'e']), "{line}");
            }
            if fast.is_some() {
                prop_assert_eq!(format!("{fast:?}"), format!("{serde:?}"));
            }
            // Cut anywhere and something else put there: the same, or left to serde.
            let at = (0..=cut.min(line.len())).rev().find(|&i| line.is_char_boundary(i)).unwrap_or(0);
            let broken = format!("{}{junk}{}", &line[..at], &line[at..]);
            let serde = serde_json::from_str::<Update>(&broken).ok();
            let fast = fast_update(&broken);
            if fast.is_some() {
                prop_assert_eq!(format!("{fast:?}"), format!("{serde:?}"), "{}", broken);
            }
        }

        /// Whatever the strings, the fast path agrees with serde_json or steps aside.
        #[test]
        fn fast_path_agrees_with_serde(
            tag in "\\PC{0,12}|[a-z\"\\\\\u{0}-\u{1f}é]{0,6}",
            text in "\\PC{0,12}",
            id in proptest::option::of("[0-9a-z\"\\\\]{0,8}"),
            at in proptest::option::of("\\PC{0,20}"),
            rt in any::<bool>(),
            cut in 0usize..200,
        ) {
            let u = TagUse {
                tag: tag.into(),
                text: text.into(),
                id: id.map(Into::into),
                at: at.map(Into::into),
                user: None,
                rt,
                start: None,
                end: None,
            };
            let line = serde_json::to_string(&u).unwrap();
            let fast = fast_use(&line);
            let slow: UseIn = serde_json::from_str(&line).unwrap();
            if let Some(f) = &fast {
                prop_assert!(same(f, &slow));
            }
            // A cut line: the fast path never accepts what serde rejects.
            let mut end = cut.min(line.len());
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            let part = &line[..end];
            if let Some(f) = fast_use(part) {
                let s: UseIn = serde_json::from_str(part).expect("serde takes it too");
                prop_assert!(same(&f, &s));
            }
        }
    }
}
