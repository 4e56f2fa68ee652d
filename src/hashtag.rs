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
        if inside_url(text, h) {
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

/// Whether the hash sign at byte `h` belongs to a URL's path (see the module docs).
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
    let host = &t[..slash];
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
