//! Mastodon (SOURCES.md §3): one server's public or hashtag timeline.
//!
//! With `MASTODON_ACCESS_TOKEN`, the streaming API: server-sent events from
//! `/api/v1/streaming/{public,public/local,hashtag,hashtag/local}` on the server's
//! streaming host (read from `/api/v2/instance`, `configuration.urls.streaming`), with
//! `update` events carrying a Status; since Mastodon 4.2 every stream needs a user token.
//!
//! Without a token, by polling the REST timelines (`/api/v1/timelines/tag/:tag`,
//! `/api/v1/timelines/public`), which most servers leave public: `limit=40` and `min_id`
//! (the newest id written), oldest first, a full page polled again at once to catch up,
//! and a pause when `X-RateLimit-Remaining` reaches 0 until `X-RateLimit-Reset`.
//! The first poll writes the latest page, like `tail`.
//!
//! Either way each Status is written as the server sent it, once: an edit
//! (`status.update`) of a status already written is dropped, and so is a status seen
//! again after a reconnect.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use serde_json::Value;

use super::creds::Secret;
use super::http;
use super::{Ended, Failure, Frame, Framer, Lines, Reporter, Seen, Source, SseFramer, Verdict};
use crate::error::Result;

pub const CREDENTIAL: &str = "MASTODON_ACCESS_TOKEN";
const PAGE: usize = 40;

#[derive(Debug, Clone)]
pub struct Config {
    /// The server's base URL, `https://mastodon.social`.
    pub instance: String,
    /// A hashtag (without `#`); `None` for the public timeline.
    pub tag: Option<String>,
    /// Only this server's own posts.
    pub local: bool,
    pub token: Option<Secret>,
    /// Between polls, without a token.
    pub poll: Duration,
    pub stall: Duration,
}

pub struct Mastodon {
    cfg: Config,
    client: reqwest::blocking::Client,
    /// The streaming host, once looked up.
    streaming: Option<String>,
    seen: Seen,
    /// The newest status id written: where polling resumes.
    newest: Option<String>,
}

impl Mastodon {
    pub fn new(cfg: Config) -> Result<Mastodon> {
        Ok(Mastodon {
            client: http::client(cfg.stall)?,
            cfg,
            streaming: None,
            seen: Seen::new(100_000),
            newest: None,
        })
    }

    fn streaming_base(&mut self, token: &Secret, rep: &Reporter) -> String {
        if let Some(s) = &self.streaming {
            return s.clone();
        }
        let url = http::join(&self.cfg.instance, "/api/v2/instance");
        let found = self
            .client
            .get(&url)
            .bearer_auth(token.expose())
            .send()
            .ok()
            .filter(|r| r.status().is_success())
            .and_then(|r| r.json::<Value>().ok())
            .and_then(|v| {
                v.pointer("/configuration/urls/streaming")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        let base = match found {
            Some(s) => {
                // The API gives a WebSocket URL; the SSE endpoints live on the same host.
                let s = s
                    .replacen("wss://", "https://", 1)
                    .replacen("ws://", "http://", 1);
                if s != self.cfg.instance {
                    rep.note(format!("streaming from {s}"));
                }
                s
            }
            None => self.cfg.instance.clone(),
        };
        self.streaming = Some(base.clone());
        base
    }

    fn timeline_url(&self) -> String {
        match &self.cfg.tag {
            Some(t) => http::join(
                &self.cfg.instance,
                &format!("/api/v1/timelines/tag/{}", encode_path(t)),
            ),
            None => http::join(&self.cfg.instance, "/api/v1/timelines/public"),
        }
    }
}

/// Percent-encodes a path segment (a hashtag can be any letters).
fn encode_path(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Mastodon ids are decimal strings that grow with time; compare by length, then text.
fn newer(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

impl Source for Mastodon {
    fn connect(&mut self, rep: &mut Reporter) -> std::result::Result<Box<dyn Framer>, Failure> {
        let Some(token) = self.cfg.token.clone() else {
            let mut query = vec![("limit".to_owned(), PAGE.to_string())];
            if self.cfg.local {
                query.push(("local".into(), "true".into()));
            }
            return Ok(Box::new(Poll {
                client: self.client.clone(),
                url: self.timeline_url(),
                query,
                min_id: self.newest.clone(),
                every: self.cfg.poll,
                next_poll: Instant::now(),
                pending: VecDeque::new(),
                stall: self.cfg.stall,
            }));
        };
        let base = self.streaming_base(&token, rep);
        let (path, query): (&str, Vec<(&str, &str)>) = match (&self.cfg.tag, self.cfg.local) {
            (Some(t), false) => ("/api/v1/streaming/hashtag", vec![("tag", t)]),
            (Some(t), true) => ("/api/v1/streaming/hashtag/local", vec![("tag", t)]),
            (None, false) => ("/api/v1/streaming/public", vec![]),
            (None, true) => ("/api/v1/streaming/public/local", vec![]),
        };
        let resp = self
            .client
            .get(http::join(&base, path))
            .query(&query)
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .map_err(http::send_error)?;
        let resp = http::check(resp)?;
        Ok(Box::new(SseFramer(Lines::new(resp, self.cfg.stall))))
    }

    fn check(&mut self, frame: &Frame, rep: &mut Reporter) -> Verdict {
        match frame.event.as_deref() {
            None | Some("update") | Some("status.update") => {}
            _ => return Verdict::Skip, // delete, notification, filters_changed, ...
        }
        let Some(v) = super::object(frame, rep) else {
            return Verdict::Skip;
        };
        let Some(id) = v.get("id").and_then(Value::as_str) else {
            rep.note("skipped a status without an id");
            return Verdict::Skip;
        };
        if !self.seen.first(id) {
            return Verdict::Skip;
        }
        if self.newest.as_deref().is_none_or(|n| newer(id, n)) {
            self.newest = Some(id.to_owned());
        }
        Verdict::Emit
    }

    fn credential_hint(&self) -> String {
        format!("{CREDENTIAL} (a user token with read:statuses)")
    }
}

/// Polls a REST timeline, one status per frame, oldest first.
struct Poll {
    client: reqwest::blocking::Client,
    url: String,
    query: Vec<(String, String)>,
    min_id: Option<String>,
    every: Duration,
    next_poll: Instant,
    pending: VecDeque<Vec<u8>>,
    stall: Duration,
}

impl Framer for Poll {
    fn next(&mut self) -> std::result::Result<Frame, Ended> {
        loop {
            if let Some(data) = self.pending.pop_front() {
                return Ok(Frame { event: None, data });
            }
            let now = Instant::now();
            if now < self.next_poll {
                // Runs on the reader thread: the main thread still sees signals.
                std::thread::sleep(self.next_poll - now);
            }
            let mut req = self.client.get(&self.url).query(&self.query);
            if let Some(m) = &self.min_id {
                req = req.query(&[("min_id", m)]);
            }
            let resp = req.send().map_err(|e| Ended::Failed(http::send_error(e)))?;
            let resp = http::check(resp).map_err(Ended::Failed)?;
            let remaining = resp
                .headers()
                .get("x-ratelimit-remaining")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let reset = http::server_wait(resp.headers());
            let body = resp
                .bytes()
                .map_err(|e| super::read_error(std::io::Error::other(e), self.stall))?;
            let page: Vec<Box<RawValue>> = serde_json::from_slice(&body)
                .map_err(|e| Ended::Network(format!("the timeline is not a JSON array: {e}")))?;
            // Newest first on the wire; the newest id is the next cursor.
            for raw in page.iter().rev() {
                let id = serde_json::from_str::<Value>(raw.get())
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
                if let Some(id) = id {
                    if self.min_id.as_deref().is_none_or(|m| newer(&id, m)) {
                        self.min_id = Some(id);
                    }
                }
                self.pending.push_back(raw.get().as_bytes().to_vec());
            }
            // A full page after a cursor means more are waiting: poll again at once.
            let full = page.len() >= PAGE;
            self.next_poll = Instant::now()
                + match (remaining, reset) {
                    (Some(0), Some(wait)) => wait.max(self.every),
                    _ if full => Duration::ZERO,
                    _ => self.every,
                };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_as_numbers() {
        assert!(newer("110", "99"));
        assert!(newer("111", "110"));
        assert!(!newer("99", "100"));
        assert_eq!(encode_path("café tag"), "caf%C3%A9%20tag");
    }
}
