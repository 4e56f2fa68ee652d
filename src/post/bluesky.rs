//! Bluesky Jetstream events: posts' tag facets and `record.tags`; every other event is a
//! notice.

use serde::Deserialize;

use super::{s, Found, LineKind, Post, Raw};
use crate::json::Str;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Commit<'a> {
    #[serde(borrow)]
    pub(super) operation: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) collection: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) rkey: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) record: Option<BskyRecord<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct BskyRecord<'a> {
    #[serde(borrow)]
    pub(super) text: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) facets: Vec<Facet<'a>>,
    #[serde(borrow)]
    pub(super) tags: Vec<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Facet<'a> {
    pub(super) index: Option<ByteSlice>,
    #[serde(borrow)]
    pub(super) features: Vec<Feature<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct ByteSlice {
    pub(super) byte_start: usize,
    pub(super) byte_end: usize,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Feature<'a> {
    #[serde(borrow, rename = "$type")]
    pub(super) ty: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) tag: Option<Str<'a>>,
}

pub(super) fn jetstream<E>(
    raw: &Raw,
    sink: &mut dyn FnMut(&Post<'_>) -> Result<(), E>,
) -> Result<LineKind, E> {
    let Some(c) = &raw.commit else {
        return Ok(LineKind::Notice);
    };
    let is_post = s(&raw.kind) == Some("commit")
        && s(&c.operation) == Some("create")
        && s(&c.collection) == Some("app.bsky.feed.post");
    let Some(rec) = c.record.as_ref().filter(|_| is_post) else {
        return Ok(LineKind::Notice);
    };
    let text = s(&rec.text).unwrap_or("");
    let mut found = Vec::new();
    for f in &rec.facets {
        for feat in &f.features {
            if s(&feat.ty) != Some("app.bsky.richtext.facet#tag") {
                continue;
            }
            let Some(tag) = s(&feat.tag) else { continue };
            // byteStart/byteEnd are UTF-8 offsets into the text; keep them when they fit.
            let span = f
                .index
                .as_ref()
                .map(|i| (i.byte_start, i.byte_end))
                .filter(|&(a, b)| a < b && text.get(a..b).is_some());
            found.push(Found { text: tag, span });
        }
    }
    for t in &rec.tags {
        found.push(Found {
            text: t.as_str(),
            span: None,
        });
    }
    let uri = match (s(&raw.did), s(&c.rkey)) {
        (Some(did), Some(rkey)) => Some(format!("at://{did}/app.bsky.feed.post/{rkey}")),
        _ => None,
    };
    sink(&Post {
        id: uri.as_deref(),
        user: s(&raw.did),
        at: raw.time_us.map(|us| us.div_euclid(1000)),
        rt: false,
        text,
        tags: &found,
        cut: false,
    })?;
    Ok(LineKind::Posts(1))
}
