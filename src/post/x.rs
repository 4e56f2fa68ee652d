//! X API v2 tweets: stream messages, search pages (`data` and `includes`) and twarc's
//! "flat" tweets.

use std::collections::HashMap;

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

/// The tweets a page includes, by id (the first of each id): a retweet's original is
/// looked up, not searched for among them (a page of 15,000 retweets took 0.53 s
/// searched, the time growing with the square of the page).
pub(super) struct Included<'t>(HashMap<&'t str, &'t Raw<'t>, foldhash::fast::RandomState>);

impl<'t> Included<'t> {
    pub(super) fn new(tweets: &'t [Raw<'t>]) -> Self {
        let mut by_id = HashMap::with_capacity_and_hasher(tweets.len(), Default::default());
        for t in tweets {
            if let Some(id) = s(&t.id) {
                by_id.entry(id).or_insert(t);
            }
        }
        Included(by_id)
    }

    fn get(&self, id: &str) -> Option<&'t Raw<'t>> {
        self.0.get(id).copied()
    }
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
    included: &Included<'t>,
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
            match rid.and_then(|id| included.get(id)) {
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
