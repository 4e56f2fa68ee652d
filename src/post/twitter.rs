//! Twitter v1.1 tweets (stream, REST, premium search), read by serde into [`Raw`] or by
//! the validating scanner of [`super::scan`]: both give the same [`Post`].

use super::{push_extracted, s, scan, Found, IdOnly, Post, Raw};
use crate::hashtag::Hashtag;
use crate::time;

pub(super) fn v1_text<'x>(r: &'x Raw<'_>) -> &'x str {
    r.extended_tweet
        .as_ref()
        .and_then(|e| s(&e.full_text))
        .or(s(&r.full_text))
        .or(s(&r.text))
        .unwrap_or("")
}

pub(super) fn v1_post<'t, E>(
    raw: &'t Raw<'t>,
    found: &mut Vec<Found<'t>>,
    scratch: &mut Vec<Hashtag<'t>>,
    sink: &mut dyn FnMut(&Post<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let (src, rt) = match &raw.retweeted_status {
        Some(rs) => (&**rs, true),
        None => (raw, false),
    };
    let post = V1 {
        text: v1_text(src),
        rt,
        id: s(&raw.id_str).or(s(&raw.id)),
        user: raw.user.as_ref().and_then(IdOnly::id),
        created_at: s(&raw.created_at),
    };
    v1_emit(&post, found, scratch, sink)
}

/// What a v1.1 tweet gives, whichever way it was read.
pub(super) struct V1<'t> {
    pub(super) text: &'t str,
    pub(super) rt: bool,
    pub(super) id: Option<&'t str>,
    pub(super) user: Option<&'t str>,
    pub(super) created_at: Option<&'t str>,
}

pub(super) fn v1_emit<'t, E>(
    v: &V1<'t>,
    found: &mut Vec<Found<'t>>,
    scratch: &mut Vec<Hashtag<'t>>,
    sink: &mut dyn FnMut(&Post<'_>) -> Result<(), E>,
) -> Result<(), E> {
    found.clear();
    let cut = push_extracted(v.text, found, scratch);
    sink(&Post {
        id: v.id,
        user: v.user,
        at: v.created_at.and_then(time::parse_any),
        rt: v.rt,
        text: v.text,
        tags: found,
        cut,
    })
}

/// A tweet read by [`scan`], as [`v1_post`] reads one read by serde.
pub(super) fn v1_scanned<E>(
    t: &scan::Tweet<'_>,
    sink: &mut dyn FnMut(&Post<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let (src, rt) = match &t.retweeted {
        Some(r) => (r, true),
        None => (&t.outer, false),
    };
    let text = src
        .ext_full_text
        .as_deref()
        .or(src.full_text.as_deref())
        .or(src.text.as_deref())
        .unwrap_or("");
    let o = &t.outer;
    let post = V1 {
        text,
        rt,
        id: o.id_str.as_deref().or(o.id.as_deref()),
        user: o.user_id_str.as_deref().or(o.user_id.as_deref()),
        created_at: o.created_at.as_deref(),
    };
    v1_emit(&post, &mut Vec::new(), &mut Vec::new(), sink)
}
