//! Hashtag extraction by the twitter-text rules, and the key hashtags are counted under.
//!
//! The rules are restated in `HASHTAGS.md` (from twitter-text's Java, JS and Ruby sources
//! and its conformance suite, which `tests/it/tags.rs` runs case by case). In short: a hash
//! sign (`#` or `＃`) not preceded by a hashtag character or `&`, not followed by U+FE0F or
//! U+20E3, then the longest run of hashtag characters (letters, marks, decimal digits and 17
//! listed specials), which must hold a letter; dropped when followed by a hash sign or
//! `://`, or when it lies inside a URL.
//!
//! No regex: a `memchr` scan for the two hash-sign lead bytes, then a walk over chars with an
//! ASCII fast path and ICU4X's general-category trie for the rest. This keeps extraction a
//! small fraction of JSON parsing cost (see the benchmark in the README).
//!
//! URL exclusion is an approximation of twitter-text's URL grammar (it would need the TLD
//! list): a hash sign is inside a URL when the whitespace-delimited token before it starts a
//! `http(s)://host/...` or `domain.tld/...` path. It passes the conformance cases and
//! agrees with Twitter's own entities on the real data (README, "Agreement").

use std::borrow::Cow;

use icu_casemap::CaseMapperBorrowed;
use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};
use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
use icu_properties::CodePointMapData;

/// A hashtag found in a text: the body without the hash sign, and its byte range
/// (`start` at the hash sign, `end` exclusive), in the text as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashtag<'a> {
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

/// The punctuation/format code points twitter-text counts as hashtag characters.
const SPECIALS: [char; 17] = [
    '\u{00B7}', '_', '\u{200C}', '\u{200D}', '\u{A67E}', '\u{05BE}', '\u{05F3}', '\u{05F4}',
    '\u{FF5E}', '\u{301C}', '\u{309B}', '\u{309C}', '\u{30A0}', '\u{30FB}', '\u{3003}', '\u{0F0B}',
    '\u{0F0C}',
];

fn gc(c: char) -> GeneralCategory {
    CodePointMapData::<GeneralCategory>::new().get(c)
}

/// A letter for twitter-text: general category L* or M*.
#[inline]
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    let g = gc(c);
    GeneralCategoryGroup::Letter.contains(g) || GeneralCategoryGroup::Mark.contains(g)
}

/// A hashtag character: letter, mark, decimal digit (Nd) or one of the specials.
#[inline]
fn is_tag_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    let g = gc(c);
    GeneralCategoryGroup::Letter.contains(g)
        || GeneralCategoryGroup::Mark.contains(g)
        || g == GeneralCategory::DecimalNumber
        || SPECIALS.contains(&c)
}

/// The length in bytes of a hash sign at `i`, if there is one.
#[inline]
fn hash_sign_len(b: &[u8], i: usize) -> Option<usize> {
    match b[i] {
        b'#' => Some(1),
        0xEF if b[i..].starts_with("＃".as_bytes()) => Some(3),
        _ => None,
    }
}

/// Appends the hashtags of `text` to `out`, in text order.
pub fn extract<'a>(text: &'a str, out: &mut Vec<Hashtag<'a>>) {
    extract_at_most(text, out, usize::MAX);
}

/// Like [`extract`], stopping once `out` holds `max` hashtags; true when `text` had more.
/// Memory for one post is then bounded by `max`, whatever the text's size.
pub fn extract_at_most<'a>(text: &'a str, out: &mut Vec<Hashtag<'a>>, max: usize) -> bool {
    let b = text.as_bytes();
    let mut pos = 0;
    let mut urls = Urls::new(text);
    while let Some(i) = memchr::memchr2(b'#', 0xEF, &b[pos..]) {
        let h = pos + i;
        let Some(hl) = hash_sign_len(b, h) else {
            pos = h + 1;
            continue;
        };
        pos = h + hl;
        // 1. Boundary: the code point before may not be a hashtag character or `&`, except
        //    the emoji variation selectors (marks, so otherwise "letters").
        if let Some(prev) = text[..h].chars().next_back() {
            let ok =
                prev == '\u{FE0E}' || prev == '\u{FE0F}' || !(prev == '&' || is_tag_char(prev));
            if !ok {
                continue;
            }
        }
        // 2. Not a keycap emoji (#️⃣, #⃣).
        let rest = &text[pos..];
        if rest.starts_with(['\u{FE0F}', '\u{20E3}']) {
            continue;
        }
        // 3. The maximal run of hashtag characters, holding at least one letter.
        let mut end = pos;
        let mut letter = false;
        for c in rest.chars() {
            if !is_tag_char(c) {
                break;
            }
            letter = letter || is_letter(c);
            end += c.len_utf8();
        }
        let body_start = pos;
        pos = end.max(pos);
        if !letter {
            continue;
        }
        // 4. Dropped when followed by a hash sign or `://`.
        let after = &text[end..];
        if after.starts_with(['#', '＃']) || after.starts_with("://") {
            continue;
        }
        // 5. Dropped inside a URL.
        if urls.inside(h) {
            continue;
        }
        if out.len() == max {
            return true;
        }
        out.push(Hashtag {
            text: &text[body_start..end],
            start: h,
            end,
        });
    }
    false
}

/// Convenience: the hashtag texts of `text`.
pub fn extract_texts(text: &str) -> Vec<&str> {
    let mut v = Vec::new();
    extract(text, &mut v);
    v.into_iter().map(|h| h.text).collect()
}

/// Whether a hash sign belongs to a URL's path (see the module docs): the
/// whitespace-delimited token before it starts `http(s)://host/...` or `domain.tld/...`.
/// Asked for the hash signs of one text in order, it reads each token once: looking back
/// over the token for every hash sign cost the square of its length (a 690 KB post of
/// `x/#a/#a/...` took `tt tags` over two minutes). What it answers is held to that
/// direct reading of the rule by a property test.
struct Urls<'a> {
    text: &'a str,
    /// Bytes before this one have been looked at (the last hash sign asked about).
    scanned: usize,
    /// Where the token of that hash sign starts.
    start: usize,
    /// The first `/` of that token, once one has been seen.
    slash: Option<usize>,
    /// That token's facts, once it has a `/` before a hash sign asked about.
    token: Option<Token>,
}

/// What decides, for a hash sign at `h` inside a token, whether it is in a URL: the first
/// place of each thing in the whole token; one counts for `h` when it comes before `h`.
struct Token {
    /// The first `https://` and the first `http://` (ASCII case ignored).
    schemes: [Option<Scheme>; 2],
    /// Without a scheme: the first `/` after the token's leading punctuation, and
    /// whether what comes before it is a domain.
    bare: Option<(usize, bool)>,
}

struct Scheme {
    at: usize,
    len: usize,
    /// The code point before it is not a letter, digit or one of `@＠$#＃`.
    free: bool,
    /// The first `/` after it.
    slash: Option<usize>,
}

impl<'a> Urls<'a> {
    fn new(text: &'a str) -> Self {
        Urls {
            text,
            scanned: 0,
            start: 0,
            slash: None,
            token: None,
        }
    }

    /// Whether the hash sign at byte `h` is in a URL; `h` must grow from call to call.
    /// Each byte is looked at a bounded number of times: the text since the last hash
    /// sign once or twice, and a token with a `/` once more, as a whole.
    fn inside(&mut self, h: usize) -> bool {
        let since = &self.text[self.scanned..h];
        // A token starts after the last whitespace before `h` (nearly always just before
        // it); with none since the last hash sign, that hash sign's token goes on.
        if let Some((i, c)) = since.char_indices().rev().find(|&(_, c)| c.is_whitespace()) {
            self.start = self.scanned + i + c.len_utf8();
            self.slash = None;
            self.token = None;
        }
        if self.slash.is_none() {
            let from = self.start.max(self.scanned);
            self.slash = self.text[from..h].find('/').map(|i| from + i);
        }
        self.scanned = h;
        if self.slash.is_none() {
            return false;
        }
        let t = self
            .token
            .get_or_insert_with(|| Token::read(self.text, self.start, h));
        // A scheme or `/` that starts before `h` ends before it too: `h` is a hash sign.
        for scheme in t.schemes.iter().flatten() {
            if scheme.at < h {
                return scheme.free
                    && scheme
                        .slash
                        .is_some_and(|s| s < h && s > scheme.at + scheme.len);
            }
        }
        t.bare.is_some_and(|(slash, domain)| slash < h && domain)
    }
}

impl Token {
    /// The token that starts at `start` and holds byte `h`, to its end.
    fn read(text: &str, start: usize, h: usize) -> Token {
        let end = text[h..]
            .char_indices()
            .find(|&(_, c)| c.is_whitespace())
            .map_or(text.len(), |(i, _)| h + i);
        let tok = &text[start..end];
        let slash_from = |from: usize| tok[from..].find('/').map(|i| start + from + i);
        let schemes = ["https://", "http://"].map(|name| {
            let p = tok
                .as_bytes()
                .windows(name.len())
                .position(|w| w.eq_ignore_ascii_case(name.as_bytes()))?;
            let free = tok[..p]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || "@＠$#＃".contains(c)));
            Some(Scheme {
                at: start + p,
                len: name.len(),
                free,
                slash: slash_from(p + name.len()),
            })
        });
        let lead = tok.len() - tok.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
        let bare = slash_from(lead).map(|slash| (slash, is_domain(&text[start + lead..slash])));
        Token { schemes, bare }
    }
}

/// `domain.tld`: two labels or more of letters, digits, `-` and `_`, the last of two
/// letters or more.
fn is_domain(host: &str) -> bool {
    let mut labels = host.split('.');
    let Some(tld) = labels.next_back() else {
        return false;
    };
    let n = host.split('.').count();
    n >= 2
        && tld.chars().count() >= 2
        && tld.chars().all(char::is_alphabetic)
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

/// The counting key of a hashtag: canonical caseless form, composed. That is
/// NFC(fold(NFD(tag))) with Unicode full case folding, so `#Café` in NFC or NFD, `#CAFÉ`
/// and `#café` are one key, and so are `#STRASSE` and `#straße` (folding, unlike
/// lower-casing, maps `ß` to `ss`). Idempotent (a property test checks it).
pub fn key(tag: &str) -> Cow<'_, str> {
    if tag.is_ascii() {
        if tag.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(tag.to_ascii_lowercase());
        }
        return Cow::Borrowed(tag);
    }
    Cow::Owned(key_unicode(tag))
}

/// [`key`] into a reused buffer: no allocation for the common ASCII tags.
pub fn key_into<'a>(tag: &'a str, buf: &'a mut String) -> &'a str {
    if tag.is_ascii() {
        if !tag.bytes().any(|b| b.is_ascii_uppercase()) {
            return tag;
        }
        buf.clear();
        buf.push_str(tag);
        buf.make_ascii_lowercase();
        return buf;
    }
    *buf = key_unicode(tag);
    buf
}

fn key_unicode(tag: &str) -> String {
    let nfd = DecomposingNormalizerBorrowed::new_nfd().normalize(tag);
    let folded = CaseMapperBorrowed::new().fold_string(&nfd);
    let nfc = ComposingNormalizerBorrowed::new_nfc().normalize(&folded);
    nfc.into_owned()
}

/// The tag as written, in NFC: what `--keep-case` counts under, so that the same spelling
/// in NFC and NFD is still one key.
pub fn nfc(tag: &str) -> Cow<'_, str> {
    if tag.is_ascii() {
        return Cow::Borrowed(tag);
    }
    ComposingNormalizerBorrowed::new_nfc().normalize(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URL rule read directly, looking back over the token from each hash sign: what
    /// [`Urls`] must answer.
    fn inside_url(text: &str, h: usize) -> bool {
        let before = &text[..h];
        let tok_start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        let tok = &before[tok_start..];
        // A URL path starts with `/`: a token without one cannot hold this hash sign in a URL.
        if !tok.contains('/') {
            return false;
        }
        // With a scheme (twitter-text only knows http and https).
        let lower = tok.to_ascii_lowercase();
        for scheme in ["https://", "http://"] {
            if let Some(p) = lower.find(scheme) {
                let pre_ok = tok[..p]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || "@＠$#＃".contains(c)));
                let host_and_path = &tok[p + scheme.len()..];
                if pre_ok {
                    if let Some(slash) = host_and_path.find('/') {
                        return slash > 0;
                    }
                }
                return false;
            }
        }
        // Without a scheme: `domain.tld/` where the domain starts after leading punctuation.
        let t = tok.trim_start_matches(|c: char| !c.is_alphanumeric());
        let Some(slash) = t.find('/') else {
            return false;
        };
        is_domain(&t[..slash])
    }

    #[test]
    fn basics() {
        assert_eq!(extract_texts("a #hashtag here"), ["hashtag"]);
        assert_eq!(extract_texts("#foo#bar"), Vec::<&str>::new());
        assert_eq!(extract_texts("##tag"), ["tag"]);
        assert_eq!(extract_texts("#16 #1st"), ["1st"]);
        assert_eq!(extract_texts("&#nbsp; &amp;#tag"), ["tag"]);
        assert_eq!(extract_texts("#http://x.com"), Vec::<&str>::new());
        assert_eq!(
            extract_texts("http://twitter.com/#hashtag twitter.com/#hashtag"),
            Vec::<&str>::new()
        );
        assert_eq!(extract_texts("#twitter.com"), ["twitter"]);
        assert_eq!(
            extract_texts("a/#b (#c) dodge/#answer"),
            ["b", "c", "answer"]
        );
        assert_eq!(extract_texts("#️⃣ #⃣ #ok"), ["ok"]);
    }

    const PIECES: [&str; 22] = [
        "#", "＃", "/", "a", "é", "1", " ", "\u{3000}", ".", "-", "_", "@", "$", ":", "http://",
        "HTTPS://", "hTtP:/", "x.com", "x.c0m", "t.co/", "ab.", "&",
    ];

    proptest::proptest! {
        /// For any text and any of its hash signs asked in order (extraction asks only
        /// those that pass the rules before), [`Urls`] answers as the rule read directly.
        #[test]
        fn urls_answer_as_the_rule_reads(
            pieces in proptest::collection::vec(proptest::sample::select(&PIECES[..]), 0..40),
            asked in proptest::collection::vec(proptest::bool::ANY, 40),
        ) {
            let text = pieces.concat();
            let mut urls = Urls::new(&text);
            let hashes = text.char_indices().filter(|&(_, c)| c == '#' || c == '＃');
            for ((h, _), ask) in hashes.zip(asked.iter().cycle()) {
                if *ask {
                    proptest::prop_assert_eq!(urls.inside(h), inside_url(&text, h), "{:?} at {}", text, h);
                }
            }
        }
    }

    #[test]
    fn byte_ranges_point_at_the_hash_sign() {
        let t = "xx ＃ｈａｓｈ !";
        let mut v = Vec::new();
        extract(t, &mut v);
        assert_eq!(v.len(), 1);
        assert_eq!(&t[v[0].start..v[0].end], "＃ｈａｓｈ");
    }

    #[test]
    fn keys() {
        let forms = ["Café", "Cafe\u{301}", "CAFÉ", "café"];
        for f in forms {
            assert_eq!(key(f), "café", "{f:?}");
        }
        assert_eq!(key("STRASSE"), key("straße"));
        assert_eq!(key("Rust"), "rust");
        assert_eq!(nfc("Cafe\u{301}"), "Café");
    }
}
