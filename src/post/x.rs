//! X API v2 tweets: stream messages, search pages (`data` and `includes`) and twarc's
//! "flat" tweets.

use serde::Deserialize;

use super::{push_extracted, s, Found, Post, Raw};
use crate::hashtag::Hashtag;
use crate::time;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Includes<'a> {
    #[serde(borrow)]
    pub(super) tweets: Vec<Raw<'a>>,
}

pub(super) fn v2_text<'x>(t: &'x Raw<'_>) -> &'x str {
    t.note_tweet
        .as_ref()
        .and_then(|n| s(&n.text))
        .or(s(&t.text))
        .unwrap_or("")
}

pub(super) fn v2_post<'t, E>(
    t: &'t Raw<'t>,
    included: &'t [Raw<'t>],
    found: &mut Vec<Found<'t>>,
    scratch: &mut Vec<Hashtag<'t>>,
    sink: &mut dyn FnMut(&Post<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let retweeted = t
        .referenced_tweets
        .iter()
        .flatten()
        .find(|r| s(&r.ref_type) == Some("retweeted"));
    let mut cut_rt = false;
    let text = match retweeted {
        Some(r) => {
            let rid = s(&r.id);
            match included.iter().find(|i| rid.is_some() && s(&i.id) == rid) {
                Some(orig) => v2_text(orig),
                // twarc's flat form inlines the referenced tweet; else the RT's own text.
                None if r.text.is_some() => v2_text(r),
                None => {
                    cut_rt = true;
                    v2_text(t)
                }
            }
        }
        None => v2_text(t),
    };
    found.clear();
    let cut = push_extracted(text, found, scratch);
    if cut_rt {
        // `RT @a: ... #Re…`: the last hashtag may be cut off by the ellipsis; its real text
        // is unknown, so it is not counted (Twitter's own entities leave it out too).
        let body = text.trim_end();
        if let Some(cut) = body.strip_suffix('…') {
            found.retain(|f| f.span.is_none_or(|(_, end)| end != cut.len()));
        }
    }
    sink(&Post {
        id: s(&t.id),
        user: s(&t.author_id),
        at: s(&t.created_at).and_then(time::parse_any),
        rt: retweeted.is_some(),
        text,
        tags: found,
        cut,
    })
}
