//! JSON helpers that records and post formats share: a string that borrows from its line
//! when it can, the string writer of the hand-written record output, and the checks and
//! messages for lines that are not the object a command reads.

use std::borrow::Cow;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A string that borrows from the input when it has no escapes. With `NUMBERS` (the
/// default, for raw posts) a number is taken as its text too: ids are numbers in old
/// objects (`id` before `id_str` existed). [`Text`] takes strings only, as the records
/// between commands have them.
#[derive(Debug, Default, Clone)]
pub struct Str<'a, const NUMBERS: bool = true>(pub Cow<'a, str>);

/// A string that must be a JSON string: what the records between commands hold.
pub type Text<'a> = Str<'a, false>;

impl<'de: 'a, 'a, const NUMBERS: bool> Deserialize<'de> for Str<'a, NUMBERS> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const N: bool>;
        impl<'de, const N: bool> V<N> {
            fn number<E: de::Error>(self, v: impl ToString) -> Result<Str<'de, N>, E> {
                if N {
                    Ok(Str(Cow::Owned(v.to_string())))
                } else {
                    Err(E::custom(format_args!(
                        "found the number {}, expected a string",
                        v.to_string()
                    )))
                }
            }
        }
        impl<'de, const N: bool> Visitor<'de> for V<N> {
            type Value = Str<'de, N>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(if N {
                    "a string or a number"
                } else {
                    "a string"
                })
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.number(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                self.number(v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                self.number(v)
            }
        }
        d.deserialize_any(V::<NUMBERS>)
    }
}

impl<const NUMBERS: bool> Str<'_, NUMBERS> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The index of the first `"`, `\` or control character at or after `i`, if any: where a
/// JSON string ends or needs a closer look. Searched 16 bytes at a time, as SSE2 (in
/// every x86_64) allows. Strings in tweets are 17 bytes long on average (161 a tweet, in
/// 1,000 generated ones); a 32-byte step (two compares) was measured slower for `tt tags`
/// (BENCHMARKS.md, "A wider SIMD search").
#[inline(always)]
pub fn find_special(b: &[u8], mut i: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always
        // available; each load reads 16 bytes at `i`, and `i + 16 <= b.len()`.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let below_space = _mm_set1_epi8(0x1f);
            while i + 16 <= b.len() {
                let v = _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>());
                // max(v, 0x1f) == 0x1f exactly when v <= 0x1f, unsigned.
                let control = _mm_cmpeq_epi8(_mm_max_epu8(v, below_space), below_space);
                let hits = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                    control,
                );
                let mask = _mm_movemask_epi8(hits) as u32;
                if mask != 0 {
                    return Some(i + mask.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

/// `bytes` as text if they are UTF-8, as `std::str::from_utf8` decides. simdutf8 checks
/// 32 bytes a step with AVX2 where the CPU has it (chosen at run time): std's check was
/// 3.1 % of `tt tags -j1`'s perf samples on 180 MB of generated tweets, and 5.5 % of `tt
/// count`'s on their uses; simdutf8's 1.5 % in `tt tags`. On an error, std's check runs
/// again for an error that says where.
#[inline]
pub fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(_) => std::str::from_utf8(bytes),
    }
}

/// A JSON string as serde_json writes it: `"` and `\` escaped, control characters as
/// `\b \f \n \r \t` or `\u00XX`, everything else (non-ASCII too) as is.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(i) = find_special(b, from) {
        let c = b[i];
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => b"",
        };
        out.extend_from_slice(&b[from..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        from = i + 1;
    }
    out.extend_from_slice(&b[from..]);
    out.push(b'"');
}

/// Why a line that does not start like an object is refused: what it holds when it is
/// valid JSON (`an array`, `a number`...), or the syntax error when it is not (`nope`
/// starts like `null` but is neither). Every record `tt` reads is an object: serde would
/// read an array positionally into a struct's fields, so this check comes first.
#[derive(Debug)]
pub enum NotObject {
    Is(&'static str),
    Invalid(serde_json::Error),
}

impl NotObject {
    /// In the user's terms: `an array, not NOUN`, or the syntax error as [`explain`] gives
    /// any other (the caller says what it expected, as it does for those).
    pub fn say(&self, noun: &str) -> String {
        match self {
            NotObject::Is(what) => format!("{what}, not {noun}"),
            NotObject::Invalid(e) => explain(e),
        }
    }
}

/// `None` when the line starts like an object (or like nothing JSON has: the parser then
/// says why); otherwise why it is not one, judged by its first byte and, since a first
/// byte does not make a value, checked by parsing it whole (only such lines pay that).
pub fn not_an_object(line: &str) -> Option<NotObject> {
    let what = match line.trim_start().as_bytes().first()? {
        b'{' => return None,
        b'[' => "an array",
        b'"' => "a string",
        b'-' | b'0'..=b'9' => "a number",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => return None,
    };
    Some(match serde_json::from_str::<de::IgnoredAny>(line) {
        Ok(_) => NotObject::Is(what),
        Err(e) => NotObject::Invalid(e),
    })
}

/// serde_json's message in the user's terms: the Rust type it names (`expected struct
/// Raw`, `struct Update with 7 elements`) becomes "an object", its parser's words
/// (`expected ident`, `recursion limit exceeded`) what they mean in JSON, and the
/// position in a line (which is always its "line 1") its column.
pub fn explain(e: &serde_json::Error) -> String {
    let out = user_types(e);
    let column = e.column();
    let out = match out.rsplit_once(" at line ") {
        Some((what, at)) if at == format!("1 column {column}") => {
            format!("{what} at column {column}")
        }
        _ => out,
    };
    // (serde_json's words, JSON's): `nul` and `nope` both end in "expected ident".
    let words = [
        ("expected ident", "expected true, false or null"),
        ("expected value", "expected a JSON value"),
        (
            "recursion limit exceeded",
            "nested more than 128 levels deep",
        ),
    ];
    match words.iter().find(|(w, _)| out.starts_with(w)) {
        Some((w, ours)) => format!("{ours}{}", &out[w.len()..]),
        None => out,
    }
}

/// [`explain`]'s first step: the Rust types serde_json names, in the user's terms.
fn user_types(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg.as_str();
    while let Some(i) = rest.find("struct ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "struct ".len()..];
        let name_end = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if name_end == 0 || !after.starts_with(|c: char| c.is_ascii_uppercase()) {
            out.push_str("struct ");
            rest = after;
            continue;
        }
        out.push_str("an object");
        rest = &after[name_end..];
        // "struct Update with 7 elements": the element count is the struct's, not the user's.
        if let Some(r) = rest.strip_prefix(" with ") {
            if let Some(j) = r.find(" element") {
                if r[..j].bytes().all(|b| b.is_ascii_digit()) {
                    let r = &r[j + " element".len()..];
                    rest = r.strip_prefix('s').unwrap_or(r);
                }
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The SIMD check decides as std's does and gives std's error, wherever in a
        /// line (before, across and after its 32-byte steps) a bad byte sits.
        #[test]
        fn utf8_is_stds(
            text in "[a-z\u{e9}\u{3042}\u{1f600}]{0,40}",
            cut in proptest::option::of((0usize..200, proptest::sample::select(&[0x80u8, 0xc3, 0xe3, 0xf0, 0xff][..]))),
        ) {
            let mut b = text.into_bytes();
            if let Some((at, byte)) = cut {
                let at = at.min(b.len());
                b.insert(at, byte);
            }
            proptest::prop_assert_eq!(utf8(&b), std::str::from_utf8(&b));
        }

        /// The 16-byte steps and the byte-at-a-time tail find what a plain search finds,
        /// from any start, in strings of every length around the step size.
        #[test]
        fn find_special_is_a_plain_search(
            len in 0usize..80,
            specials in proptest::collection::vec((0usize..80, proptest::sample::select(&b"\"\\\x00\x1f"[..])), 0..3),
            others in proptest::collection::vec((0usize..80, proptest::sample::select(&b"\x20\x7f\x80\xff"[..])), 0..3),
            from in 0usize..80,
        ) {
            // Plain bytes with a few to find, anywhere in the steps.
            let mut b = vec![b'a'; len];
            for (at, c) in others.into_iter().chain(specials) {
                if at < len {
                    b[at] = c;
                }
            }
            let from = from.min(b.len());
            let plain = b[from..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| from + p);
            proptest::prop_assert_eq!(find_special(&b, from), plain);
        }
    }

    #[test]
    fn not_an_object_names_what_a_valid_line_holds() {
        let cases = [
            ("{\"a\":1}", None),
            ("  {", None),
            ("[1,2,3]", Some("an array")),
            ("[]", Some("an array")),
            ("\"s\"", Some("a string")),
            ("-5", Some("a number")),
            ("5", Some("a number")),
            ("true", Some("a boolean")),
            ("null", Some("null")),
            (" null ", Some("null")),
            ("x", None),
            ("", None),
            // Starts like a value but is not one: the syntax error, not a kind.
            ("nope", Some("expected true, false or null at column 2")),
            (
                "nobody:x:65534",
                Some("expected true, false or null at column 2"),
            ),
            ("[1", Some("EOF while parsing a list at column 2")),
            ("12abc", Some("trailing characters at column 3")),
            ("\"open", Some("EOF while parsing a string at column 5")),
            ("tru", Some("EOF while parsing a value at column 3")),
        ];
        for (line, want) in cases {
            let got = not_an_object(line).map(|n| match n {
                NotObject::Is(what) => what.to_string(),
                n => n.say("an object"),
            });
            assert_eq!(got.as_deref(), want, "{line:?}");
        }
    }

    #[test]
    fn explain_names_no_rust_type() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Update {
            a: u64,
            b: Inner,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            c: u64,
        }
        let cases = [
            (
                "5",
                "invalid type: integer `5`, expected an object at column 1",
            ),
            (
                "{\"a\":1,\"b\":[]}",
                "invalid length 0, expected an object at column 13",
            ),
            (
                "{\"a\":1,\"b\":7}",
                "invalid type: integer `7`, expected an object at column 12",
            ),
            ("{\"a\":1", "EOF while parsing an object at column 6"),
            // A position past the first line is said whole; one inside a value is not
            // taken for serde_json's.
            (
                "{\"a\":1,\n\"b\":x}",
                "expected a JSON value at line 2 column 5",
            ),
            (
                "\"at line 1 column 2\"",
                "invalid type: string \"at line 1 column 2\", expected an object at column 20",
            ),
            (
                "{\"a\":1,\"b\":{\"c\":nul}}",
                "expected true, false or null at column 20",
            ),
        ];
        for (line, want) in cases {
            let e = serde_json::from_str::<Update>(line).unwrap_err();
            assert_eq!(explain(&e), want, "{line}");
        }
    }
}
