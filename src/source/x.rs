//! X API v2 filtered stream (SOURCES.md §1): `GET /2/tweets/search/stream` with an app-only
//! bearer token, NDJSON messages `{"data", "includes", "matching_rules"}` with blank
//! keep-alives every 20 s, and in-band `{"errors": [...]}` objects. The stream sends what
//! the project's rules match; `--rule` adds rules, `--delete-rule` removes them,
//! `--list-rules` prints them (`POST`/`GET /2/tweets/search/stream/rules`).
//!
//! We ask for the fields `tt tags` reads: `created_at`, `entities`, `author_id`,
//! `note_tweet` (long posts), `referenced_tweets` with the referenced posts expanded into
//! `includes.tweets` (a retweet's full text), and the authors' `username`.
//! X warns that posts can arrive twice; duplicates (same `data.id`) are dropped.

use std::time::Duration;

use serde_json::{json, Value};

use super::creds::{Secret, Store};
use super::http;
use super::{Failure, Frame, Framer, Lines, NdjsonFramer, Reporter, Seen, Source, Verdict};
use crate::error::{Error, Kind, Result};

pub const DEFAULT_ENDPOINT: &str = "https://api.x.com";
pub const CREDENTIAL: &str = "TWITTER_BEARER_TOKEN";
const FIELDS: [(&str, &str); 4] = [
    (
        "tweet.fields",
        "created_at,entities,author_id,lang,note_tweet,referenced_tweets",
    ),
    ("expansions", "author_id,referenced_tweets.id"),
    ("user.fields", "username"),
    ("media.fields", "type"),
];

pub struct X {
    client: reqwest::blocking::Client,
    endpoint: String,
    token: Secret,
    sample: bool,
    stall: Duration,
    seen: Seen,
}

impl X {
    pub fn new(endpoint: &str, store: &Store, sample: bool, stall: Duration) -> Result<X> {
        let [token] = store.require([CREDENTIAL])?;
        Ok(X {
            client: http::client(stall)?,
            endpoint: endpoint.to_owned(),
            token,
            sample,
            stall,
            seen: Seen::new(100_000),
        })
    }

    fn rules_url(&self) -> String {
        http::join(&self.endpoint, "/2/tweets/search/stream/rules")
    }

    /// A rules request, answered with JSON; HTTP errors are final here (no stream to
    /// keep alive), with the exit code their kind deserves.
    fn rules_call(&self, req: reqwest::blocking::RequestBuilder) -> Result<Value> {
        let fail = |f: Failure| match f {
            Failure::Auth { .. } => {
                Error::new(Kind::NoPerm, format!("x: rules: {f}; check {CREDENTIAL}"))
            }
            Failure::Rejected { .. } => Error::new(Kind::Config, format!("x: rules: {f}")),
            _ => Error::new(Kind::Unavailable, format!("x: rules: {f}")),
        };
        let resp = req
            .bearer_auth(self.token.expose())
            .send()
            .map_err(|e| fail(http::send_error(e)))?;
        let resp = http::check(resp).map_err(fail)?;
        let v: Value = resp.json().map_err(|e| {
            Error::new(
                Kind::Unavailable,
                format!("x: rules: a reply that is not JSON: {e}"),
            )
        })?;
        if let Some(errors) = v
            .get("errors")
            .filter(|e| v.get("data").is_none() && e.is_array())
        {
            // e.g. a rule with a syntax error, or a duplicate rule
            return Err(Error::new(
                Kind::Config,
                format!("x: rules: {}", super::twitter::short(errors)),
            ));
        }
        Ok(v)
    }

    /// The project's rules, as `{"id","value","tag"}` objects.
    pub fn list_rules(&self) -> Result<Vec<Value>> {
        let v = self.rules_call(self.client.get(self.rules_url()))?;
        Ok(v.get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// Adds rules whose value is not there yet; returns the rules added.
    pub fn add_rules(&self, values: &[String]) -> Result<Vec<Value>> {
        let have = self.list_rules()?;
        let new: Vec<Value> = values
            .iter()
            .filter(|v| !have.iter().any(|r| r["value"].as_str() == Some(v.as_str())))
            .map(|v| json!({"value": v, "tag": format!("tt: {v}")}))
            .collect();
        if new.is_empty() {
            return Ok(vec![]);
        }
        let v = self.rules_call(
            self.client
                .post(self.rules_url())
                .json(&json!({ "add": new })),
        )?;
        Ok(v.get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// Deletes rules by id (`all`: every rule); returns how many were deleted.
    pub fn delete_rules(&self, ids: &[String]) -> Result<u64> {
        let ids: Vec<String> = if ids.iter().any(|i| i == "all") {
            self.list_rules()?
                .iter()
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect()
        } else {
            ids.to_vec()
        };
        if ids.is_empty() {
            return Ok(0);
        }
        let v = self.rules_call(
            self.client
                .post(self.rules_url())
                .json(&json!({ "delete": { "ids": ids } })),
        )?;
        Ok(v["meta"]["summary"]["deleted"]
            .as_u64()
            .unwrap_or(ids.len() as u64))
    }
}

impl Source for X {
    fn connect(&mut self, _: &mut Reporter) -> std::result::Result<Box<dyn Framer>, Failure> {
        let path = if self.sample {
            "/2/tweets/sample/stream"
        } else {
            "/2/tweets/search/stream"
        };
        let resp = self
            .client
            .get(http::join(&self.endpoint, path))
            .query(&FIELDS)
            .bearer_auth(self.token.expose())
            .send()
            .map_err(http::send_error)?;
        let resp = http::check(resp)?;
        Ok(Box::new(NdjsonFramer(Lines::new(resp, self.stall))))
    }

    fn check(&mut self, frame: &Frame, rep: &mut Reporter) -> Verdict {
        let Some(v) = super::object(frame, rep) else {
            return Verdict::Skip;
        };
        if let Some(id) = v.pointer("/data/id").and_then(Value::as_str) {
            return if self.seen.first(id) {
                Verdict::Emit
            } else {
                Verdict::Skip
            };
        }
        // In-band errors, in either of the two documented shapes.
        let errors: Vec<&Value> = match v.get("errors").and_then(Value::as_array) {
            Some(a) => a.iter().collect(),
            None => vec![&v],
        };
        let disconnect = errors.iter().any(|e| {
            let s = |k| e.get(k).and_then(Value::as_str).unwrap_or("");
            s("title").contains("disconnect")
                || s("title") == "ConnectionException"
                || !s("disconnect_type").is_empty()
        });
        let text = super::twitter::short(&v);
        if disconnect {
            Verdict::Reconnect(format!("in-band error: {text}"))
        } else {
            rep.note(format!("in-band message: {text}"));
            Verdict::Skip
        }
    }

    fn credential_hint(&self) -> String {
        format!("{CREDENTIAL} (an app-only bearer token)")
    }
}
