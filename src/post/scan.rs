//! A fast path for the commonest line: a Twitter v1.1 tweet.
//!
//! serde_json reading [`super::Raw`] cost 1.5 times serde_json's own bare validation pass
//! (`IgnoredAny`) on the stream captures: every key of the tweet and of its user goes
//! through field matching, and every kept string is searched a second time to unescape
//! it. This scanner validates the whole line by the grammar serde_json accepts, while
//! picking out the few fields a v1.1 tweet gives `tt tags`; strings are searched 16 bytes
//! at a time (serde_json's search goes 8 at a time).
//!
//! It only ever decides to accept. Whenever it is not sure to read a line exactly as serde
//! would (invalid JSON, another format's keys, a duplicate or escaped key at a level it
//! reads, an unexpected type, whitespace other than spaces, nesting deeper than 128), it
//! gives up with `None` and the caller parses the line with serde, which then also writes
//! the error message. A property test checks that what it accepts, serde accepts, with the
//! same fields, and another that every field of `Raw` is known here.
//!
//! Why by hand (callgrind, first 5 MB of the real captures): `tt tags` executes 55.9 M
//! instructions with this scanner, 88.3 M with serde reading every tweet, and the bare
//! `IgnoredAny` validation pass 61.6 M; wall times in the README, `tt tags` Performance.

use std::borrow::Cow;

use crate::json::find_special;

/// The fields of one level of a v1.1 tweet (the tweet, or its `retweeted_status`).
#[derive(Debug, Default, PartialEq)]
pub struct Level<'a> {
    pub id: Option<Cow<'a, str>>,
    pub id_str: Option<Cow<'a, str>>,
    pub text: Option<Cow<'a, str>>,
    pub full_text: Option<Cow<'a, str>>,
    /// `extended_tweet.full_text`.
    pub ext_full_text: Option<Cow<'a, str>>,
    pub created_at: Option<Cow<'a, str>>,
    pub user_id: Option<Cow<'a, str>>,
    pub user_id_str: Option<Cow<'a, str>>,
}

/// A v1.1 tweet: the tweet's own fields and, for a retweet, the original's.
#[derive(Debug, PartialEq)]
pub struct Tweet<'a> {
    pub outer: Level<'a>,
    pub retweeted: Option<Level<'a>>,
}

/// Reads `line` as a v1.1 tweet, or gives up (see the module's documentation).
pub fn tweet(line: &str) -> Option<Tweet<'_>> {
    let mut p = Scanner {
        s: line,
        b: line.as_bytes(),
        i: 0,
    };
    p.ws();
    let mut retweeted = None;
    let outer = p.level(Some(&mut retweeted))?;
    p.ws();
    if p.i != p.b.len() || outer.text.is_none() && outer.full_text.is_none() {
        return None;
    }
    Some(Tweet { outer, retweeted })
}

/// The keys of [`super::Raw`] that belong to other formats: a line with any of them is
/// left to serde, which reads them all.
pub(super) fn other_format(key: &[u8]) -> bool {
    matches!(
        key,
        b"data"
            | b"tag"
            | b"includes"
            | b"author_id"
            | b"note_tweet"
            | b"referenced_tweets"
            | b"type"
            | b"content"
            | b"account"
            | b"reblog"
            | b"tags"
            | b"did"
            | b"time_us"
            | b"kind"
            | b"commit"
            | b"delete"
            | b"scrub_geo"
            | b"status_withheld"
            | b"user_withheld"
            | b"limit"
            | b"warning"
            | b"disconnect"
            | b"errors"
            | b"friends"
            | b"event"
    )
}

/// The keys of [`super::Raw`] this scanner reads: those matched in [`Scanner::level`].
#[cfg(test)]
pub(super) const READ: [&str; 8] = [
    "id",
    "id_str",
    "text",
    "full_text",
    "created_at",
    "user",
    "extended_tweet",
    "retweeted_status",
];

/// Nesting that fits the container stack; deeper lines go to serde.
const MAX_DEPTH: u32 = 128;

struct Scanner<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    /// The next byte, or 0 at the end (a 0 byte is never valid where this looks).
    #[inline(always)]
    fn peek(&self) -> u8 {
        self.b.get(self.i).copied().unwrap_or(0)
    }

    /// Whitespace between tokens: compact JSON has none, and tabs, CRs and line feeds
    /// (which serde also accepts) are left to serde.
    #[inline(always)]
    fn ws(&mut self) {
        while self.peek() == b' ' {
            self.i += 1;
        }
    }

    /// `c`, after any spaces. The byte is compared first and spaces looked for only when
    /// it is not `c`: in compact JSON it nearly always is. Where a byte decides between
    /// several tokens, a space is one more arm of that match for the same reason. With
    /// both, cachegrind of `tt tags -j1` on 5,000 generated tweets: 147.4 M -> 139.2 M
    /// instructions, simulated mispredictions 2.17 M -> 1.96 M; the same tweets as
    /// Python's `json.dumps` writes them (`", "`, `": "`, as twarc saves them) 60.2 M ->
    /// 59.3 M for 2,000. The spaces before a member's value are still skipped before it is
    /// read: left to the value's readers, a spaced line's scalars went through `skip`'s
    /// call, and those 2,000 tweets took 71.0 M.
    #[inline(always)]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek() != c {
            self.ws();
            if self.peek() != c {
                return None;
            }
        }
        self.i += 1;
        Some(())
    }

    /// A string's contents, from just after its opening quote to its closing quote, and
    /// whether it has escapes. Escapes are checked as serde checks a skipped string
    /// (`\u` needs four hex digits; surrogates are checked only where a string is kept).
    #[inline(always)]
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.i;
        let mut escaped = false;
        loop {
            self.i = find_special(self.b, self.i)?;
            match self.b[self.i] {
                b'"' => {
                    self.i += 1;
                    return Some((start, self.i - 1, escaped));
                }
                b'\\' => {
                    escaped = true;
                    // Text in other scripts is escapes end to end (`\u3060\u306d...`): take
                    // a run of them without searching again.
                    while self.peek() == b'\\' {
                        match *self.b.get(self.i + 1)? {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                            b'u' => {
                                hex4(self.b, self.i + 2)?;
                                self.i += 6;
                            }
                            _ => return None,
                        }
                    }
                }
                // A control character: serde rejects it inside a string.
                _ => return None,
            }
        }
    }

    /// A number by JSON's grammar (as serde's), returning its text's span. Inline, as are
    /// [`Self::key_colon`] and [`Self::string`]: a call each for the ~20 numbers and ~80
    /// skipped keys of a tweet cost 139.2 M -> 131.5 M instructions together (cachegrind,
    /// `tt tags -j1` on 5,000 generated tweets); the kept values' reader inlined too cost
    /// more (138.7 M).
    #[inline(always)]
    fn number(&mut self) -> Option<(usize, usize)> {
        let start = self.i;
        if self.peek() == b'-' {
            self.i += 1;
        }
        match self.peek() {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == b'.' {
            self.i += 1;
            if !self.peek().is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if matches!(self.peek(), b'e' | b'E') {
            self.i += 1;
            if matches!(self.peek(), b'+' | b'-') {
                self.i += 1;
            }
            if !self.peek().is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        Some((start, self.i))
    }

    #[inline(always)]
    fn digits(&mut self) {
        while self.peek().is_ascii_digit() {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// `"key" :` inside an object being skipped.
    #[inline(always)]
    fn key_colon(&mut self) -> Option<()> {
        self.eat(b'"')?;
        self.string()?;
        self.eat(b':')
    }

    /// Skips one value: a string, number or literal here, a container in [`Self::skip`].
    /// Most values in a tweet are scalars; taking them inline spares a call per value:
    /// `tt tags -j1` on 5,000 generated tweets went from 166.9 M to 149.6 M instructions
    /// (callgrind), and its CPU time on 300,000 from 1.79 s to 1.66 s (medians of 7).
    /// The scalar arms repeat those of `skip`'s own match: one helper for both measured
    /// 1.3 % more instructions (147.5 M against 149.3 M), the jump tables laid out worse.
    #[inline(always)]
    fn skip_value(&mut self) -> Option<()> {
        match self.peek() {
            b'"' => {
                self.i += 1;
                self.string().map(|_| ())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            _ => self.skip(),
        }
    }

    /// Skips one value of any kind, validating it. Iterative, with the open containers
    /// as bits of a word (1 = object), so no input can exhaust the stack.
    fn skip(&mut self) -> Option<()> {
        let mut depth = 0;
        let mut objects: u128 = 0;
        loop {
            match self.peek() {
                b'"' => {
                    self.i += 1;
                    self.string()?;
                }
                open @ (b'{' | b'[') => {
                    self.i += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.eat(close).is_none() {
                        if depth == MAX_DEPTH {
                            return None;
                        }
                        depth += 1;
                        objects = objects << 1 | u128::from(open == b'{');
                        if open == b'{' {
                            self.key_colon()?;
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                }
                b' ' => {
                    self.ws();
                    continue;
                }
                _ => return None,
            }
            // After a value: close containers until one continues with a comma.
            loop {
                if depth == 0 {
                    return Some(());
                }
                let in_object = objects & 1 == 1;
                match self.peek() {
                    b',' => {
                        self.i += 1;
                        if in_object {
                            self.key_colon()?;
                        }
                        break;
                    }
                    b'}' if in_object => {}
                    b']' if !in_object => {}
                    b' ' => {
                        self.ws();
                        continue;
                    }
                    _ => return None,
                }
                self.i += 1;
                objects >>= 1;
                depth -= 1;
            }
        }
    }

    /// The members of an object, its opening brace already read: `f` reads or skips each
    /// value. Keys with escapes give up: serde would unescape them before matching.
    #[inline]
    fn members(&mut self, mut f: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            self.eat(b'"')?;
            let (start, end, escaped) = self.string()?;
            if escaped {
                return None;
            }
            self.eat(b':')?;
            self.ws();
            f(self, &self.b[start..end])?;
            loop {
                match self.peek() {
                    b',' => {
                        self.i += 1;
                        break;
                    }
                    b'}' => {
                        self.i += 1;
                        return Some(());
                    }
                    b' ' => self.ws(),
                    _ => return None,
                }
            }
        }
    }

    /// A value read as [`super::Str`] reads it: a string, a plain integer as its text, or
    /// null. Other types, and strings serde would refuse to unescape, give up.
    fn str_value(&mut self) -> Option<Option<Cow<'a, str>>> {
        match self.peek() {
            b'"' => {
                self.i += 1;
                let (start, end, escaped) = self.string()?;
                if !escaped {
                    return Some(Some(Cow::Borrowed(self.s.get(start..end)?)));
                }
                unescape(self.s.get(start..end)?).map(|v| Some(Cow::Owned(v)))
            }
            b'n' => self.literal(b"null").map(|()| None),
            b'0'..=b'9' => {
                let (start, end) = self.number()?;
                let text = self.s.get(start..end)?;
                // serde hands integers to `Str` as u64 and writes them back; digits only
                // and in range, that is the same text. Up to 19 digits always fit; 20
                // fit up to u64::MAX, compared as text (both have no leading zero).
                // (Parsing each id as a u64 was 1.8 % of `tt tags`' instructions.)
                const MAX: &[u8] = b"18446744073709551615";
                let b = text.as_bytes();
                let fits = b.len() < MAX.len() || b.len() == MAX.len() && b <= MAX;
                (fits && b.iter().all(u8::is_ascii_digit)).then_some(())?;
                Some(Some(Cow::Borrowed(text)))
            }
            _ => None,
        }
    }

    /// An object whose fields are all read by `f`, or null (`false`).
    fn object_or_null(&mut self, f: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<bool> {
        match self.peek() {
            b'{' => {
                self.i += 1;
                self.members(f).map(|()| true)
            }
            b'n' => self.literal(b"null").map(|()| false),
            _ => None,
        }
    }

    /// One level of a tweet, as [`super::Raw`]. `retweeted` receives the
    /// `retweeted_status`; it is `None` inside one, where a further one gives up.
    fn level(&mut self, mut retweeted: Option<&mut Option<Level<'a>>>) -> Option<Level<'a>> {
        self.eat(b'{')?;
        let mut l = Level::default();
        // serde refuses a known field given twice, even after a null.
        let mut seen = 0u16;
        self.members(|p: &mut Self, key: &'a [u8]| {
            let bit = match key {
                b"id" => 0,
                b"id_str" => 1,
                b"text" => 2,
                b"full_text" => 3,
                b"created_at" => 4,
                b"user" => 5,
                b"extended_tweet" => 6,
                b"retweeted_status" => 7,
                k if other_format(k) => return None,
                _ => return p.skip_value(),
            };
            if seen & 1 << bit != 0 {
                return None;
            }
            seen |= 1 << bit;
            match bit {
                0 => l.id = p.str_value()?,
                1 => l.id_str = p.str_value()?,
                2 => l.text = p.str_value()?,
                3 => l.full_text = p.str_value()?,
                4 => l.created_at = p.str_value()?,
                5 => {
                    let mut seen = 0u8;
                    let (id, id_str) = (&mut l.user_id, &mut l.user_id_str);
                    p.object_or_null(|p: &mut Self, key: &'a [u8]| {
                        let (bit, slot) = match key {
                            b"id" => (1, &mut *id),
                            b"id_str" => (2, &mut *id_str),
                            _ => return p.skip_value(),
                        };
                        if seen & bit != 0 {
                            return None;
                        }
                        seen |= bit;
                        *slot = p.str_value()?;
                        Some(())
                    })?;
                }
                6 => {
                    let mut seen = 0u8;
                    let full = &mut l.ext_full_text;
                    p.object_or_null(|p: &mut Self, key: &'a [u8]| {
                        let bit = match key {
                            b"full_text" => 1,
                            b"text" => 2,
                            _ => return p.skip_value(),
                        };
                        if seen & bit != 0 {
                            return None;
                        }
                        seen |= bit;
                        let v = p.str_value()?;
                        if bit == 1 {
                            *full = v;
                        }
                        Some(())
                    })?;
                }
                _ => {
                    let slot = retweeted.as_deref_mut()?;
                    if p.peek() == b'n' {
                        p.literal(b"null")?;
                    } else {
                        *slot = Some(p.level(None)?);
                    }
                }
            }
            Some(())
        })?;
        Some(l)
    }
}

/// Hex digits' values; 0xff for other bytes.
static HEX: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match i as u8 {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => 0xff,
        };
        i += 1;
    }
    t
};

/// The value of the four hex digits at `i`, if they are four hex digits.
#[inline(always)]
fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let d = b.get(i..i + 4)?;
    let [a, b, c, e] = [d[0], d[1], d[2], d[3]].map(|x| HEX[usize::from(x)]);
    if (a | b | c | e) & 0xf0 != 0 {
        return None;
    }
    Some(u32::from(a) << 12 | u32::from(b) << 8 | u32::from(c) << 4 | u32::from(e))
}

/// A kept string's contents with escapes decoded, by serde_json's rules for a string:
/// a `\u` surrogate must be a leading one followed at once by a trailing one. (serde's own
/// unescaping re-searched the string and was 13 % of `tt tags`' instructions.)
fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(j) = memchr::memchr(b'\\', &b[i..]) {
        out.push_str(s.get(i..i + j)?);
        i += j;
        let c = match *b.get(i + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let n = hex4(b, i + 2)?;
                i += 4;
                match n {
                    0xd800..=0xdbff => {
                        if b.get(i + 2..i + 4)? != b"\\u" {
                            return None;
                        }
                        let low = hex4(b, i + 4)?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return None;
                        }
                        i += 6;
                        char::from_u32(0x10000 + ((n - 0xd800) << 10 | (low - 0xdc00)))?
                    }
                    0xdc00..=0xdfff => return None,
                    _ => char::from_u32(n)?,
                }
            }
            _ => return None,
        };
        out.push(c);
        i += 2;
    }
    out.push_str(s.get(i..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// Escapes decoded as serde decodes them, refused where serde refuses them.
        #[test]
        fn unescape_is_serdes(s in r#"([a-zé"/bfnrtu]|\\[\\"/bfnrtx]|\\u[dD]?[89abcAB0]?[0-9a-fA-F]{0,4}){0,12}"#) {
            let quoted = format!("\"{s}\"");
            let serde = serde_json::from_str::<String>(&quoted).ok();
            // Strings the scanner would pass on (valid escapes, no bare quote).
            let mut p = Scanner { s: &quoted, b: quoted.as_bytes(), i: 1 };
            if p.string().is_some_and(|(_, end, _)| end == quoted.len() - 1) {
                proptest::prop_assert_eq!(unescape(&s), serde);
            }
        }
    }

    #[test]
    fn reads_a_retweet() {
        let l = r#"{"id":12,"id_str":"12","text":"RT x","user":{"id":3,"name":"a\"b"},"retweeted_status":{"id_str":"1","text":"caf\u00e9 #x","extended_tweet":{"full_text":"long","entities":{"a":[1,-2.5e3,true,null,{}]}}},"n":[[]]}"#;
        let t = tweet(l).unwrap();
        assert_eq!(t.outer.id.as_deref(), Some("12"));
        assert_eq!(t.outer.user_id.as_deref(), Some("3"));
        let rt = t.retweeted.unwrap();
        assert_eq!(rt.text.as_deref(), Some("café #x"));
        assert_eq!(rt.ext_full_text.as_deref(), Some("long"));
    }

    /// An id given as a number is taken as its text while serde reads it as a u64 and
    /// writes the same digits back; past u64::MAX, or not an integer, serde decides.
    #[test]
    fn numeric_ids() {
        for (id, taken) in [
            ("0", true),
            ("7", true),
            ("1234567890123456789", true),
            ("9999999999999999999", true),
            ("18446744073709551615", true),
            ("18446744073709551616", false),
            ("18446744073709551699", false),
            ("20000000000000000000", false),
            ("99999999999999999999", false),
            ("100000000000000000000", false),
            ("1.5", false),
            ("1e2", false),
            ("-3", false),
        ] {
            let line = format!(r#"{{"text":"a","id":{id}}}"#);
            let got = tweet(&line).map(|t| t.outer.id.map(|c| c.into_owned()));
            assert_eq!(got, taken.then(|| Some(id.to_string())), "{line}");
            if taken {
                assert!(crate::post::check_fast_path(&line), "{line}");
            }
        }
    }

    #[test]
    fn gives_up_where_serde_must_decide() {
        for l in [
            r#"{"text":"a","text":"b"}"#,
            r#"{"text":"a","data":{}}"#,
            r#"{"te\u0078t":"a"}"#,
            "{\"text\":\"a\",\t\"x\":1}",
            "{\"text\":\"a\u{1}\"}",
            r#"{"text":"\ud800"}"#,
            r#"{"text":true}"#,
            r#"{"text":"a","id":1.5}"#,
            r#"{"text":"a","x":01}"#,
            r#"{"text":"a","x":[1,]}"#,
            r#"{"text":"a"} x"#,
            r#"{"text":"a""#,
            r#"{"id":1}"#,
        ] {
            assert_eq!(tweet(l), None, "{l}");
        }
        let deep = format!(
            r#"{{"text":"a","x":{}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert_eq!(tweet(&deep), None);
        let ok = format!(
            r#"{{"text":"a","x":{}{}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(tweet(&ok).is_some());
    }
}
