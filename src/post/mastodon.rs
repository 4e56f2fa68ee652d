//! Mastodon statuses: HTML `content` made plain text, the server's own `tags` deciding
//! which hashtags a status has, reblogs.

use std::collections::HashMap;

use serde::Deserialize;

use super::{s, Found, IdOnly, Post, Raw};
use crate::hashtag;
use crate::json::Str;
use crate::time;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct MastodonTag<'a> {
    #[serde(borrow)]
    pub(super) name: Option<Str<'a>>,
}

pub(super) fn mastodon<E>(
    raw: &Raw,
    sink: &mut dyn FnMut(&Post<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let (src, rt) = match &raw.reblog {
        Some(r) if r.content.is_some() => (&**r, true),
        _ => (raw, false),
    };
    let text = html_to_text(s(&src.content).unwrap_or(""));
    let mut scratch = Vec::new();
    let cut = hashtag::extract_at_most(&text, &mut scratch, super::MAX_TAGS);
    let mut found = Vec::new();
    // The server's own `tags` decide which hashtags the status has (Mastodon's rules differ
    // from twitter-text's in places); the text gives their spelling. Server names are
    // lower-cased and accent-folded, so both sides are compared under that folding.
    let server: Option<Vec<String>> = src.tags.as_ref().map(|tags| {
        tags.iter()
            .filter_map(|t| s(&t.name))
            .map(mastodon_fold)
            .collect()
    });
    // Each name's first place, looked up rather than searched for (a status of 20,000
    // tags took 0.37 s searched, the time growing with the square of its tags).
    let places: Option<HashMap<&str, usize, foldhash::fast::RandomState>> =
        server.as_ref().map(|names| {
            let mut places = HashMap::with_capacity_and_hasher(names.len(), Default::default());
            for (i, n) in names.iter().enumerate() {
                places.entry(n.as_str()).or_insert(i);
            }
            places
        });
    let mut matched = vec![false; server.as_ref().map_or(0, Vec::len)];
    for h in &scratch {
        match &places {
            None => found.push(Found {
                text: h.text,
                span: None,
            }),
            Some(places) => {
                if let Some(&i) = places.get(mastodon_fold(h.text).as_str()) {
                    matched[i] = true;
                    found.push(Found {
                        text: h.text,
                        span: None,
                    });
                }
            }
        }
    }
    if let Some(tags) = &src.tags {
        let names = tags.iter().filter_map(|t| s(&t.name));
        for (name, seen) in names.zip(&matched) {
            if !seen {
                found.push(Found {
                    text: name,
                    span: None,
                });
            }
        }
    }
    sink(&Post {
        id: s(&raw.id),
        user: raw.account.as_ref().and_then(IdOnly::id),
        at: s(&raw.created_at).and_then(time::parse_any),
        rt,
        text: "",
        tags: &found,
        cut,
    })
}

/// Mastodon's tag normalisation, near enough to match its `tags[].name` against text:
/// compatibility decomposition, case folding, accents (marks) dropped.
pub(super) fn mastodon_fold(name: &str) -> String {
    use icu_normalizer::DecomposingNormalizerBorrowed;
    let d = DecomposingNormalizerBorrowed::new_nfkd().normalize(name);
    let k = hashtag::key(&d);
    let d = DecomposingNormalizerBorrowed::new_nfkd().normalize(&k);
    d.chars()
        .filter(|&c| c.is_alphanumeric() || c == '_')
        .filter(|c| !is_mark(*c))
        .collect()
}

pub(super) fn is_mark(c: char) -> bool {
    use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
    use icu_properties::CodePointMapData;
    GeneralCategoryGroup::Mark.contains(CodePointMapData::<GeneralCategory>::new().get(c))
}

/// Mastodon's HTML `content` as plain text: tags removed, paragraph and line breaks kept as
/// line breaks (so `#a</p><p>#b` stays two hashtags), character references decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            let Some(j) = rest.find('>') else {
                out.push_str(rest);
                return out;
            };
            let tag = rest[1..j].trim_start_matches('/').to_ascii_lowercase();
            let name = tag
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("");
            if matches!(name, "br" | "p" | "div" | "li" | "blockquote") {
                out.push('\n');
            }
            rest = &rest[j + 1..];
        } else {
            let end = rest[1..].find(';').map(|j| j + 1).filter(|&j| j <= 10);
            match end.and_then(|j| decode_entity(&rest[1..j]).map(|c| (c, j))) {
                Some((c, j)) => {
                    out.push(c);
                    rest = &rest[j + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

pub(super) fn decode_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        _ => {
            let n = name.strip_prefix('#')?;
            let v = match n.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => n.parse().ok()?,
            };
            char::from_u32(v)?
        }
    })
}
