//! Twitter v1.1 `statuses/filter.json`, the classic tutorial's source: a POST signed with
//! OAuth 1.0a HMAC-SHA1 (by `oauth1-request`), answered with a never-ending body of
//! `\r\n`-separated JSON objects and blank keep-alive lines (SOURCES.md §2).
//!
//! Twitter retired this endpoint in 2023; it is kept for compatible servers and for the
//! many saved captures in its format, and the tests run it against a fake server that
//! checks every request's signature.
//!
//! Every JSON object is passed through as sent (statuses, and the notices `tt tags`
//! understands: `limit`, `delete`, ...). `limit` notices count missed posts; `warning`
//! (stall warnings) and `disconnect` notices are reported on stderr, and a `disconnect`
//! makes us reconnect at once.

use std::time::Duration;

use oauth1_request as oauth;
use serde_json::Value;

use super::creds::{Secret, Store};
use super::http;
use super::{Failure, Frame, Framer, Lines, NdjsonFramer, Reporter, Source, Verdict};
use crate::error::Result;

pub const DEFAULT_ENDPOINT: &str = "https://stream.twitter.com";
pub const PATH: &str = "/1.1/statuses/filter.json";
pub const CREDENTIALS: [&str; 4] = [
    "TWITTER_CONSUMER_KEY",
    "TWITTER_CONSUMER_SECRET",
    "TWITTER_ACCESS_TOKEN",
    "TWITTER_ACCESS_TOKEN_SECRET",
];

/// The filter parameters, as the endpoint names them.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub track: Vec<String>,
    pub follow: Vec<String>,
    pub locations: Vec<String>,
    pub language: Vec<String>,
}

impl Filter {
    /// The classic tutorial's request: `track=#`, `language=en`,
    /// `locations=-130,-20,100,50`.
    pub fn classic() -> Filter {
        Filter {
            track: vec!["#".into()],
            follow: vec![],
            locations: vec!["-130,-20,100,50".into()],
            language: vec!["en".into()],
        }
    }

    /// The form parameters, sorted by name (as OAuth signs them).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![];
        let mut put = |k, v: &[String]| {
            if !v.is_empty() {
                p.push((k, v.join(",")));
            }
        };
        put("follow", &self.follow);
        put("language", &self.language);
        put("locations", &self.locations);
        put("track", &self.track);
        p.push(("stall_warnings", "true".into()));
        p.sort();
        p
    }
}

/// The four OAuth 1.0a credentials.
#[derive(Debug, Clone)]
pub struct Keys {
    pub consumer_key: Secret,
    pub consumer_secret: Secret,
    pub token: Secret,
    pub token_secret: Secret,
}

impl Keys {
    pub fn from_store(store: &Store) -> Result<Keys> {
        let [consumer_key, consumer_secret, token, token_secret] = store.require(CREDENTIALS)?;
        Ok(Keys {
            consumer_key,
            consumer_secret,
            token,
            token_secret,
        })
    }
}

/// The `Authorization` header for a request with these (query or form) parameters.
/// `fixed` pins the nonce and timestamp, for reproducing a documented signature.
pub fn authorization(
    method: &str,
    url: &str,
    params: &[(&str, String)],
    keys: &Keys,
    fixed: Option<(&str, u64)>,
) -> String {
    let token = oauth::Token::from_parts(
        keys.consumer_key.expose(),
        keys.consumer_secret.expose(),
        keys.token.expose(),
        keys.token_secret.expose(),
    );
    let mut b = oauth::Builder::<_, _>::with_token(token, oauth::HmacSha1::new());
    // Twitter's documentation signs with `oauth_version=1.0`; it is optional in RFC 5849.
    b.version(true);
    if let Some((nonce, ts)) = fixed {
        b.nonce(nonce).timestamp(std::num::NonZeroU64::new(ts));
    }
    b.authorize(method, url, &oauth::ParameterList::new(params.to_vec()))
}

pub struct Twitter {
    client: reqwest::blocking::Client,
    url: String,
    filter: Filter,
    keys: Keys,
    stall: Duration,
    /// The last `limit.track` total on this connection (totals restart per connection).
    limit_total: u64,
}

impl Twitter {
    pub fn new(endpoint: &str, filter: Filter, keys: Keys, stall: Duration) -> Result<Twitter> {
        Ok(Twitter {
            client: http::client(stall)?,
            url: http::join(endpoint, PATH),
            filter,
            keys,
            stall,
            limit_total: 0,
        })
    }
}

impl Source for Twitter {
    fn connect(&mut self, _: &mut Reporter) -> std::result::Result<Box<dyn Framer>, Failure> {
        let params = self.filter.params();
        let auth = authorization("POST", &self.url, &params, &self.keys, None);
        let body = oauth::to_form(&oauth::ParameterList::new(params));
        let resp = self
            .client
            .post(&self.url)
            .header(reqwest::header::AUTHORIZATION, auth)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .map_err(http::send_error)?;
        let resp = http::check(resp)?;
        self.limit_total = 0;
        Ok(Box::new(NdjsonFramer(Lines::new(resp, self.stall))))
    }

    fn check(&mut self, frame: &Frame, rep: &mut Reporter) -> Verdict {
        let Some(v) = super::object(frame, rep) else {
            return Verdict::Skip;
        };
        if let Some(l) = v.get("limit") {
            let total = l.get("track").and_then(Value::as_u64).unwrap_or(0);
            if total > self.limit_total {
                rep.missed += total - self.limit_total;
                rep.note(format!(
                    "limit notice: {total} matching posts not delivered on this connection"
                ));
                self.limit_total = total;
            }
            return Verdict::Pass;
        }
        if let Some(w) = v.get("warning") {
            rep.note(format!("warning: {}", short(w)));
            return Verdict::Pass;
        }
        if let Some(d) = v.get("disconnect") {
            return Verdict::Reconnect(format!("disconnect notice: {}", short(d)));
        }
        if v.get("text").is_some() || v.get("full_text").is_some() {
            Verdict::Emit
        } else {
            Verdict::Pass // delete, scrub_geo, status_withheld, ...: kept for the record
        }
    }

    fn credential_hint(&self) -> String {
        CREDENTIALS.join(", ")
    }
}

/// A notice's fields, short, for a message.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        let mut end = 300;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twitter's documented example, "Creating a signature" (developer.x.com, OAuth 1.0a):
    /// the same keys, nonce, timestamp and parameters give the documented signature.
    #[test]
    fn reproduces_twitters_documented_signature() {
        let s = Secret::new;
        let keys = Keys {
            consumer_key: s("xvz1evFS4wEEPTGEFPHBog"),
            consumer_secret: s("kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"),
            token: s("370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
            token_secret: s("LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"),
        };
        let params = [
            ("include_entities", "true".to_owned()),
            (
                "status",
                "Hello Ladies + Gentlemen, a signed OAuth request!".to_owned(),
            ),
        ];
        let h = authorization(
            "POST",
            "https://api.twitter.com/1.1/statuses/update.json",
            &params,
            &keys,
            Some(("kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", 1318622958)),
        );
        // hCtSmYh+iHYCEqBWrE7C7hYmtUk= percent-encoded, as the header carries it.
        assert!(
            h.contains("oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\""),
            "{h}"
        );
        assert!(h.contains("oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\""));
    }

    #[test]
    fn classic_filter_params() {
        let p = Filter::classic().params();
        let names: Vec<_> = p.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["language", "locations", "stall_warnings", "track"]);
        assert_eq!(p[3].1, "#");
    }
}
