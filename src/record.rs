//! The NDJSON records passed between commands (the contract in README.md, "Records").
//!
//! Field order in the structs is the order on the wire.

use serde::{Deserialize, Serialize};

/// One use of a hashtag by a post: what `tt tags` writes and `tt count` reads.
///
/// `{"tag":"rust","text":"Rust","id":"105","at":"2018-10-10T20:00:00Z","user":"52","rt":false}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagUse<'a> {
    /// The counting key (NFC + Unicode case folding; with `--keep-case`, NFC only).
    #[serde(borrow)]
    pub tag: std::borrow::Cow<'a, str>,
    /// The tag as written, without the hash sign.
    #[serde(borrow)]
    pub text: std::borrow::Cow<'a, str>,
    /// The post's id, when the source gives one.
    #[serde(borrow)]
    pub id: Option<std::borrow::Cow<'a, str>>,
    /// The post's time, RFC 3339 UTC, when the source gives one.
    #[serde(borrow)]
    pub at: Option<std::borrow::Cow<'a, str>>,
    /// The author's id, when the source gives one.
    #[serde(borrow)]
    pub user: Option<std::borrow::Cow<'a, str>>,
    /// True when the use comes from a retweet, reblog or repost.
    #[serde(default)]
    pub rt: bool,
    /// With `--with-indices`: the hash sign's position, in code points of the post's text.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub start: Option<usize>,
    /// With `--with-indices`: the end of the tag (exclusive), in code points.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub end: Option<usize>,
}

/// The reading side of [`TagUse`], borrowing from the line where it can: what `tt count`
/// parses per line (extra fields are ignored).
#[derive(Debug, Deserialize)]
pub struct UseIn<'a> {
    #[serde(borrow)]
    pub tag: crate::post::Str<'a>,
    #[serde(borrow, default)]
    pub text: Option<crate::post::Str<'a>>,
    #[serde(borrow, default)]
    pub id: Option<crate::post::Str<'a>>,
    #[serde(borrow, default)]
    pub at: Option<crate::post::Str<'a>>,
    #[serde(borrow, default)]
    pub user: Option<crate::post::Str<'a>>,
}
