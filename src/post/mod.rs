//! Raw post formats: one JSON line in, the posts in it (with their hashtags) out.
//!
//! Formats are detected per line, so a saved stream may mix them:
//!
//! | format | recognised by | text used | retweet / reblog |
//! |---|---|---|---|
//! | Twitter v1.1 tweet | `text` / `full_text` | `extended_tweet.full_text`, else `full_text`, else `text` | `retweeted_status` (its text, `rt: true`) |
//! | v1.1 stream notice | `delete`, `limit`, `warning`, `disconnect`, ... | none | |
//! | X v2 stream message or search page | `data` (object or array) | `note_tweet.text`, else `text` | `referenced_tweets` `retweeted`, looked up in `includes.tweets` |
//! | X v2 "flat" tweet (twarc) | `author_id` + `text` | as above | referenced tweet inlined |
//! | Mastodon status | `content` + `account` | `content` as text (HTML removed) | `reblog` |
//! | Bluesky Jetstream event | `did` + `commit` | tag facets and `record.tags` | (reposts are another collection) |
//!
//! A v1.1 tweet, the commonest line, is read by the validating scanner of `scan`, which
//! skips what it does not need faster than serde_json's bare validation pass. Every other
//! line (and any tweet the scanner is not sure of) is read once by serde into `Raw`, a
//! borrowed union of the fields of every format; everything else (entities, users, media)
//! is skipped without being built. A quoted tweet (`quoted_status`) is a different post and
//! is not read.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::hashtag::{self, Hashtag};
use crate::json::NotObject;
pub use crate::json::Str;
use crate::time::{self, Millis};

mod bluesky;
mod mastodon;
mod scan;
mod twitter;
mod x;

use bluesky::{jetstream, Commit};
pub use mastodon::html_to_text;
use mastodon::{mastodon, MastodonTag};
use twitter::{v1_post, v1_scanned};
use x::{v2_post, Included, Includes};

fn s<'x>(v: &'x Option<Str<'_>>) -> Option<&'x str> {
    v.as_ref().map(Str::as_str)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Raw<'a> {
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    id_str: Option<Str<'a>>,
    #[serde(borrow)]
    text: Option<Str<'a>>,
    #[serde(borrow)]
    full_text: Option<Str<'a>>,
    #[serde(borrow)]
    extended_tweet: Option<Extended<'a>>,
    #[serde(borrow)]
    retweeted_status: Option<Box<Raw<'a>>>,
    #[serde(borrow)]
    created_at: Option<Str<'a>>,
    #[serde(borrow)]
    user: Option<IdOnly<'a>>,
    // X v2
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    includes: Option<Includes<'a>>,
    #[serde(borrow)]
    author_id: Option<Str<'a>>,
    #[serde(borrow)]
    note_tweet: Option<Extended<'a>>,
    #[serde(borrow)]
    referenced_tweets: Option<Vec<Raw<'a>>>,
    #[serde(borrow, rename = "type")]
    ref_type: Option<Str<'a>>,
    // Mastodon
    #[serde(borrow)]
    content: Option<Str<'a>>,
    #[serde(borrow)]
    account: Option<IdOnly<'a>>,
    #[serde(borrow)]
    reblog: Option<Box<Raw<'a>>>,
    #[serde(borrow)]
    tags: Option<Vec<MastodonTag<'a>>>,
    // Bluesky Jetstream
    #[serde(borrow)]
    did: Option<Str<'a>>,
    time_us: Option<i64>,
    #[serde(borrow)]
    kind: Option<Str<'a>>,
    #[serde(borrow)]
    commit: Option<Commit<'a>>,
    // A tag use record (`tt tags` output), which has `text` too: not a post.
    #[serde(borrow)]
    tag: Option<&'a RawValue>,
    // Stream notices
    #[serde(borrow)]
    delete: Option<&'a RawValue>,
    #[serde(borrow)]
    scrub_geo: Option<&'a RawValue>,
    #[serde(borrow)]
    status_withheld: Option<&'a RawValue>,
    #[serde(borrow)]
    user_withheld: Option<&'a RawValue>,
    limit: Option<Limit>,
    #[serde(borrow)]
    warning: Option<Message<'a>>,
    #[serde(borrow)]
    disconnect: Option<Message<'a>>,
    #[serde(borrow)]
    errors: Option<Vec<Message<'a>>>,
    #[serde(borrow)]
    friends: Option<&'a RawValue>,
    #[serde(borrow)]
    event: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Extended<'a> {
    #[serde(borrow)]
    full_text: Option<Str<'a>>,
    #[serde(borrow)]
    text: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IdOnly<'a> {
    #[serde(borrow)]
    id_str: Option<Str<'a>>,
    #[serde(borrow)]
    id: Option<Str<'a>>,
}

impl IdOnly<'_> {
    fn id(&self) -> Option<&str> {
        s(&self.id_str).or(s(&self.id))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Limit {
    track: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Message<'a> {
    #[serde(borrow)]
    code: Option<Str<'a>>,
    #[serde(borrow)]
    reason: Option<Str<'a>>,
    #[serde(borrow)]
    message: Option<Str<'a>>,
    #[serde(borrow)]
    title: Option<Str<'a>>,
    #[serde(borrow)]
    detail: Option<Str<'a>>,
}

impl Message<'_> {
    fn describe(&self) -> String {
        let parts: Vec<&str> = [
            &self.code,
            &self.title,
            &self.reason,
            &self.message,
            &self.detail,
        ]
        .into_iter()
        .filter_map(|v| s(v).filter(|t| !t.is_empty()))
        .collect();
        parts.join(": ")
    }
}

/// A hashtag of a post: as written (no `#`), and its byte range in [`Post::text`] when the
/// source places it in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'t> {
    pub text: &'t str,
    pub span: Option<(usize, usize)>,
}

/// One post and its hashtags, in text order (repeats included; callers dedupe by key).
#[derive(Debug)]
pub struct Post<'t> {
    pub id: Option<&'t str>,
    pub user: Option<&'t str>,
    pub at: Option<Millis>,
    pub rt: bool,
    /// The text that `Found::span` refers to, as delivered (HTML escapes kept).
    pub text: &'t str,
    pub tags: &'t [Found<'t>],
    /// The post had more than [`MAX_TAGS`] hashtags; only the first are in `tags`.
    pub cut: bool,
}

/// Most hashtags read from one post. Real posts have a few (280 or 500 characters); a
/// hostile line of 50 MB of `#a` has 16 million, which collected whole took 1.2 GB. With
/// this bound one post's hashtags take at most a few MB.
pub const MAX_TAGS: usize = 100_000;

/// What a line was, besides the posts handed to the sink.
#[derive(Debug, PartialEq)]
pub enum LineKind {
    /// This many posts (tweets, statuses, events) were found.
    Posts(usize),
    /// A v1.1 `limit` notice: undelivered tweets since the connection opened.
    Limit(u64),
    /// A notice worth telling people (warning, disconnect, v2 error), described.
    Warning(String),
    /// A notice that needs nothing (`delete`, `scrub_geo`, a Jetstream non-post event...).
    Notice,
    /// A JSON object of no known format; the list of its top-level keys.
    Unknown(String),
}

/// A line that could not be read.
#[derive(Debug)]
pub enum ParseError<E> {
    /// Valid JSON, but not an object: what it is (`an array`, `a number`...).
    NotObject(&'static str),
    Json(serde_json::Error),
    /// The sink failed (e.g. stdout closed).
    Sink(E),
}

/// Parses one line and hands each post in it to `sink`.
pub fn parse<E>(
    line: &str,
    sink: &mut dyn FnMut(&Post<'_>) -> Result<(), E>,
) -> Result<LineKind, ParseError<E>> {
    if let Some(t) = scan::tweet(line) {
        v1_scanned(&t, sink).map_err(ParseError::Sink)?;
        return Ok(LineKind::Posts(1));
    }
    parse_serde(line, sink)
}

/// [`parse`] without the fast path: every line read by serde into [`Raw`].
fn parse_serde<E>(
    line: &str,
    sink: &mut dyn FnMut(&Post<'_>) -> Result<(), E>,
) -> Result<LineKind, ParseError<E>> {
    match crate::json::not_an_object(line) {
        Some(NotObject::Is(what)) => return Err(ParseError::NotObject(what)),
        Some(NotObject::Invalid(e)) => return Err(ParseError::Json(e)),
        None => {}
    }
    let raw: Raw = match serde_json::from_str(line) {
        Ok(raw) => raw,
        // A tag use record has `user` as a string where a tweet has an object: it is an
        // object of another kind, not a broken post.
        Err(e) => match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line) {
            Ok(m) if m.contains_key("tag") => return Ok(LineKind::Unknown(top_level_keys(line))),
            _ => return Err(ParseError::Json(e)),
        },
    };
    let mut found = Vec::new();
    let mut scratch = Vec::new();
    if let Some(data) = raw.data {
        // X v2: a stream message (`data` object) or a search page (`data` array).
        let tweets: Vec<Raw> = if data.get().starts_with('[') {
            serde_json::from_str(data.get()).map_err(ParseError::Json)?
        } else {
            vec![serde_json::from_str(data.get()).map_err(ParseError::Json)?]
        };
        let included = Included::new(raw.includes.as_ref().map_or(&[], |i| &i.tweets));
        for t in &tweets {
            v2_post(t, &included, &mut found, &mut scratch, sink).map_err(ParseError::Sink)?;
        }
        return Ok(LineKind::Posts(tweets.len()));
    }
    if raw.commit.is_some() && raw.did.is_some() {
        return jetstream(&raw, sink).map_err(ParseError::Sink);
    }
    if let (Some(_), Some(_)) = (&raw.content, &raw.account) {
        mastodon(&raw, sink).map_err(ParseError::Sink)?;
        return Ok(LineKind::Posts(1));
    }
    if raw.tag.is_some() {
        return Ok(LineKind::Unknown(top_level_keys(line)));
    }
    if raw.text.is_some() || raw.full_text.is_some() {
        if raw.author_id.is_some() || raw.referenced_tweets.is_some() {
            v2_post(&raw, &Included::new(&[]), &mut found, &mut scratch, sink)
                .map_err(ParseError::Sink)?;
        } else {
            v1_post(&raw, &mut found, &mut scratch, sink).map_err(ParseError::Sink)?;
        }
        return Ok(LineKind::Posts(1));
    }
    Ok(notice(&raw, line))
}

fn notice(raw: &Raw, line: &str) -> LineKind {
    if let Some(l) = &raw.limit {
        return LineKind::Limit(l.track.unwrap_or(0));
    }
    if let Some(w) = &raw.warning {
        return LineKind::Warning(format!("stream warning: {}", w.describe()));
    }
    if let Some(d) = &raw.disconnect {
        return LineKind::Warning(format!("stream disconnect notice: {}", d.describe()));
    }
    if let Some(errs) = &raw.errors {
        let all: Vec<String> = errs.iter().map(Message::describe).collect();
        return LineKind::Warning(format!("stream error: {}", all.join("; ")));
    }
    let known = [
        raw.delete,
        raw.scrub_geo,
        raw.status_withheld,
        raw.user_withheld,
        raw.friends,
        raw.event,
    ];
    if known.iter().any(Option::is_some) || raw.did.is_some() && raw.kind.is_some() {
        return LineKind::Notice;
    }
    LineKind::Unknown(top_level_keys(line))
}

fn top_level_keys(line: &str) -> String {
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line) {
        Ok(m) if m.is_empty() => "an empty object".into(),
        Ok(m) => {
            let keys: Vec<&str> = m.keys().take(6).map(String::as_str).collect();
            format!("keys: {}", keys.join(", "))
        }
        // serde_json reads at most 128 levels of nesting (its recursion limit).
        Err(e) if e.to_string().starts_with("recursion limit") => {
            "an object nested more than 128 levels deep".into()
        }
        Err(e) => crate::json::explain(&e),
    }
}

/// Appends the hashtags of `text`, at most [`MAX_TAGS`]; true when there were more.
pub fn push_extracted<'t>(
    text: &'t str,
    found: &mut Vec<Found<'t>>,
    scratch: &mut Vec<Hashtag<'t>>,
) -> bool {
    scratch.clear();
    let cut = hashtag::extract_at_most(text, scratch, MAX_TAGS);
    found.extend(scratch.iter().map(|h| Found {
        text: h.text,
        span: Some((h.start, h.end)),
    }));
    cut
}

/// The fast path's contract, for tests and the fuzzer: whatever [`scan`] accepts, serde
/// reads as one v1.1 tweet giving the sink exactly the same post. Panics when not; returns
/// whether the fast path took the line.
#[doc(hidden)]
pub fn check_fast_path(line: &str) -> bool {
    let Some(t) = scan::tweet(line) else {
        return false;
    };
    let mut fast = Vec::new();
    let _ = v1_scanned::<()>(&t, &mut |p| {
        fast.push(format!("{p:?}"));
        Ok(())
    });
    let mut slow = Vec::new();
    let kind = parse_serde::<()>(line, &mut |p| {
        slow.push(format!("{p:?}"));
        Ok(())
    });
    assert!(
        matches!(kind, Ok(LineKind::Posts(1))),
        "the fast path accepted a line serde reads as {kind:?}: {line}"
    );
    assert_eq!(fast, slow, "the fast path read this line otherwise: {line}");
    true
}

/// The fields that give a raw object's time, whatever its format.
#[derive(Deserialize, Default)]
#[serde(default)]
struct TimeFields<'a> {
    #[serde(borrow)]
    created_at: Option<Str<'a>>,
    #[serde(borrow)]
    timestamp_ms: Option<Str<'a>>,
    time_us: Option<i64>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

/// A raw object's own time (what `tt fetch replay` paces by): v1.1 `timestamp_ms` or
/// `created_at`, v2 `data.created_at` (the first tweet of a page), Mastodon `created_at`,
/// Jetstream `time_us`. `Err` (why, in the user's terms: `an array, not a JSON object`)
/// when the line is not a JSON object; `Ok(None)` when it has no time (a notice).
pub fn time_of(line: &str) -> Result<Option<Millis>, String> {
    let explain =
        |e: serde_json::Error| format!("not a valid JSON object ({})", crate::json::explain(&e));
    match crate::json::not_an_object(line) {
        Some(NotObject::Invalid(e)) => return Err(explain(e)),
        Some(n) => return Err(n.say("a JSON object")),
        None => {}
    }
    let f: TimeFields = serde_json::from_str(line).map_err(explain)?;
    if let Some(ms) = s(&f.timestamp_ms).and_then(|t| t.parse::<i64>().ok()) {
        return Ok(Some(ms));
    }
    if let Some(t) = s(&f.created_at).and_then(time::parse_any) {
        return Ok(Some(t));
    }
    if let Some(us) = f.time_us {
        return Ok(Some(us.div_euclid(1000)));
    }
    if let Some(d) = f.data {
        let inner = d.get().trim_start();
        let first = if inner.starts_with('[') {
            serde_json::from_str::<Vec<TimeFields>>(inner)
                .map_err(explain)?
                .into_iter()
                .next()
        } else {
            Some(serde_json::from_str::<TimeFields>(inner).map_err(explain)?)
        };
        return Ok(first.and_then(|f| s(&f.created_at).and_then(time::parse_any)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use serde::de::{self, Deserializer, Visitor};

    use super::*;

    fn tags_of(line: &str) -> Vec<(String, bool)> {
        let mut v = Vec::new();
        parse::<()>(line, &mut |p| {
            v.extend(p.tags.iter().map(|t| (t.text.to_string(), p.rt)));
            Ok(())
        })
        .unwrap();
        v
    }

    const SMALL: &str = r##"{"id":1,"id_str":"1","text":"#a b","user":{"id":2,"id_str":"2"},"extended_tweet":{"full_text":"#x"},"retweeted_status":{"text":"#r","user":{"id":3}},"entities":{"hashtags":[{"text":"a","indices":[0,2]}]},"n":-1.5e-3,"t":true,"f":false,"z":null,"created_at":"Wed Oct 10 20:00:00 +0000 2018"}"##;

    fn corpus() -> Vec<&'static str> {
        let real =
            include_str!("../../tests/fixtures/data/twitter-v1-stream_python-twitter.ndjson");
        let mut v: Vec<&str> = real.lines().take(40).collect();
        v.extend([
            SMALL,
            r#"{"text":"x"}"#,
            r##"{"full_text":"#y","id":0}"##,
            r##"{"text":"#z","user":{"name":"n"}}"##,
        ]);
        v
    }

    #[test]
    fn scan_reads_real_tweets_as_serde_does() {
        let files = [
            include_str!("../../tests/fixtures/data/twitter-v1-stream_python-twitter.ndjson"),
            include_str!(
                "../../tests/fixtures/data/twitter-v1-stream_tweet-parser-examples.ndjson"
            ),
            include_str!("../../tests/fixtures/data/twitter-v1-rest_json-benchmark.ndjson"),
            include_str!("../../tests/fixtures/data/twitter-v1-premium-search_twitter-ruby.ndjson"),
        ];
        let (mut tweets, mut accepted) = (0, 0);
        for line in files.iter().flat_map(|f| f.lines()) {
            accepted += usize::from(check_fast_path(line));
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            tweets += usize::from(v.get("text").is_some() || v.get("full_text").is_some());
        }
        // Every tweet of these files takes the fast path (none has tabs or odd keys).
        assert!(tweets > 100);
        assert_eq!(accepted, tweets);
    }

    const EDITS: &[&str] = &[
        "",
        "\"",
        "\\",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\t",
        "\n",
        "\u{1}",
        "0",
        "01",
        "-",
        "1.",
        "1e5",
        "-0",
        "true",
        "nul",
        "null",
        "é",
        "\\u00e9",
        "\\ud83d\\ude00",
        "\\ud800",
        "\\udc00x",
        "\\u12",
        "\"text\":\"#t\",",
        "\"text\":null,",
        "\"full_text\":\"#f\",",
        "\"te\\u0078t\":\"#k\",",
        "\"data\":{},",
        "\"limit\":{\"track\":1},",
        "\"id\":1.5,",
        "\"id\":-3,",
        "\"id\":18446744073709551616,",
        "\"id\":18446744073709551615,",
        "\"id\":99999999999999999999,",
        "\"id\":1234567890123456789,",
        "\"id\":1e2,",
        "\"user\":{\"id\":-0},",
        "\"id_str\":7,",
        "\"user\":[\"1\"],",
        "\"user\":null,",
        "\"user\":{\"id_str\":\"9\",\"id\":null},",
        "\"retweeted_status\":null,",
        "\"retweeted_status\":{\"text\":\"#in\"},",
        "\"extended_tweet\":{\"full_text\":\"#e\",\"text\":1},",
        "\"extended_tweet\":[],",
        "\"created_at\":\"Thu Oct 11 20:00:00 +0000 2018\",",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// Lines edited at random places (anywhere, or at a structural character) with
        /// tokens chosen to break the grammar, types, keys and escapes: the fast path may
        /// give up on any of them, but never reads one differently from serde.
        #[test]
        fn scan_accepts_only_what_serde_reads_alike(
            which in 0usize..1000,
            edits in proptest::collection::vec(
                (proptest::sample::select(EDITS), proptest::prelude::any::<proptest::sample::Index>(), 0usize..3, proptest::prelude::any::<bool>()),
                1..4,
            ),
        ) {
            let corpus = corpus();
            let mut line = corpus[which % corpus.len()].to_string();
            for (token, at, delete, structural) in edits {
                let places: Vec<usize> = if structural {
                    line.match_indices(['{', '}', '[', ']', ',', ':', '"']).map(|(i, _)| i).collect()
                } else {
                    (0..=line.len()).filter(|&i| line.is_char_boundary(i)).collect()
                };
                let Some(&start) = places.get(at.index(places.len().max(1))) else { continue };
                let mut end = (start + delete).min(line.len());
                while !line.is_char_boundary(end) {
                    end += 1;
                }
                line.replace_range(start..end, token);
            }
            check_fast_path(&line);
        }
    }

    /// The scanner gives up on the keys of other formats by name: a field added to `Raw`
    /// must be added there too, or a line with it could be read without it.
    #[test]
    fn scan_knows_every_field_of_raw() {
        struct Fields(Vec<&'static str>);
        impl<'de> Deserializer<'de> for &mut Fields {
            type Error = serde_json::Error;
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                self.0 = fields.to_vec();
                Err(de::Error::custom("fields taken"))
            }
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(de::Error::custom("not a struct"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
                enum identifier ignored_any
            }
        }
        let mut f = Fields(Vec::new());
        let _ = Raw::deserialize(&mut f);
        assert!(f.0.len() > 20);
        for field in f.0 {
            assert!(
                scan::READ.contains(&field) != scan::other_format(field.as_bytes()),
                "{field}: read by the scanner, or left to serde, and not both"
            );
        }
    }

    #[test]
    fn v1_retweet_uses_the_original() {
        let l = r##"{"id_str":"2","text":"RT @a: #cut…","user":{"id_str":"9"},"retweeted_status":{"id_str":"1","text":"#cut #off","user":{"id_str":"8"}}}"##;
        assert_eq!(tags_of(l), [("cut".into(), true), ("off".into(), true)]);
    }

    #[test]
    fn v1_extended_tweet_wins() {
        let l = r##"{"id":1,"text":"short #a…","truncated":true,"extended_tweet":{"full_text":"long #a #b"}}"##;
        assert_eq!(tags_of(l), [("a".into(), false), ("b".into(), false)]);
    }

    #[test]
    fn notices() {
        let mut none = |_: &Post| Ok::<(), ()>(());
        assert_eq!(
            parse(r#"{"limit":{"track":1234}}"#, &mut none).unwrap(),
            LineKind::Limit(1234)
        );
        assert_eq!(
            parse(r#"{"delete":{"status":{"id":1}}}"#, &mut none).unwrap(),
            LineKind::Notice
        );
        assert!(matches!(
            parse(r#"{"foo":1}"#, &mut none).unwrap(),
            LineKind::Unknown(_)
        ));
        assert!(matches!(
            parse(
                r#"{"warning":{"code":"FALLING_BEHIND","message":"x"}}"#,
                &mut none
            )
            .unwrap(),
            LineKind::Warning(_)
        ));
    }

    #[test]
    fn mastodon_html_and_server_tags() {
        let l = r##"{"id":"1","content":"<p>Hi <a href=\"x\" class=\"mention hashtag\">#<span>Café</span></a> &amp; #Other</p><p>#third</p>","account":{"id":"5"},"tags":[{"name":"cafe"},{"name":"third"},{"name":"extra"}]}"##;
        let t: Vec<String> = tags_of(l).into_iter().map(|x| x.0).collect();
        assert_eq!(t, ["Café", "third", "extra"]);
        assert_eq!(html_to_text("a<br>b&#35;c&#x41;&bogus;"), "a\nb#cA&bogus;");
    }

    #[test]
    fn jetstream_post() {
        let l = r##"{"did":"did:plc:x","time_us":1725911162329308,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"k","record":{"text":"hi #Rust","facets":[{"index":{"byteStart":3,"byteEnd":8},"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"Rust"}]}],"tags":["extra"]}}}"##;
        assert_eq!(
            tags_of(l),
            [("Rust".into(), false), ("extra".into(), false)]
        );
    }
}
