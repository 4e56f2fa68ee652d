//! HTTP for the sources: one blocking `reqwest` client per run, and the mapping from a
//! response's status and headers to a [`Failure`] with the wait the server asked for.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::blocking::{Client, Response};
use reqwest::header::HeaderMap;

use super::Failure;
use crate::error::{Error, Kind, Result};

/// Sent with every request, as X asks ("send a versioned User-Agent").
pub const USER_AGENT: &str = concat!("tt/", env!("CARGO_PKG_VERSION"));

/// A client whose every read times out after `stall`: in reqwest's blocking client the
/// timeout applies to waiting for the response head and to each read of the body, not to
/// the whole body, so it is exactly the stall detection a stream needs.
pub fn client(stall: Duration) -> Result<Client> {
    Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .timeout(stall)
        .build()
        .map_err(|e| Error::new(Kind::Failure, format!("cannot set up HTTP: {e}")))
}

/// A request that did not get a response, said as where it went and the system's reason
/// (`mastodon.social: failed to lookup address information: Name or service not
/// known`): reqwest's layers between them ("error sending request for url (...)",
/// "client error (Connect)") are its own words, not the user's.
pub fn send_error(e: reqwest::Error) -> Failure {
    let to = e.url().and_then(|u| {
        let host = u.host_str()?;
        Some(match u.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        })
    });
    let mut why: &dyn std::error::Error = &e;
    while let Some(cause) = why.source() {
        why = cause;
    }
    let why = match e.is_timeout() {
        true => "no answer in time (timed out)".to_string(),
        false => why.to_string(),
    };
    Failure::Network(match to {
        Some(to) => format!("{to}: {why}"),
        None => error_chain(&e),
    })
}

/// Turns a non-200 response into a [`Failure`], keeping the body's first line of text
/// (platforms explain themselves there: "Exceeded connection limit for user").
pub fn check(resp: Response) -> std::result::Result<Response, Failure> {
    let status = resp.status().as_u16();
    if resp.status().is_success() {
        return Ok(resp);
    }
    let wait = server_wait(resp.headers());
    Err(failure(status, wait, body_message(resp)))
}

/// What an HTTP status means for reconnecting (also for a WebSocket handshake's answer):
/// 401/403 are the credentials, 420/429 the rate limit, other 4xx but 408 the request.
pub fn failure(status: u16, wait: Option<Duration>, message: String) -> Failure {
    match status {
        401 | 403 => Failure::Auth { status, message },
        420 | 429 => Failure::RateLimited {
            status,
            wait,
            message,
        },
        400..=407 | 409..=499 => Failure::Rejected { status, message },
        _ => Failure::Http {
            status,
            wait,
            message,
        },
    }
}

fn body_message(mut resp: Response) -> String {
    use std::io::Read;
    let mut buf = Vec::new();
    // Bounded: an error page is short, and a hostile one must not fill memory.
    let _ = (&mut resp).take(4096).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let text: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    text
}

/// How long the server asked us to wait: `Retry-After` (seconds or an HTTP date), or the
/// rate-limit reset time (`x-rate-limit-reset` on X, `X-RateLimit-Reset` on Mastodon:
/// epoch seconds or an ISO 8601 time).
pub fn server_wait(h: &HeaderMap) -> Option<Duration> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as i64;
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(v) = get("retry-after") {
        if let Ok(s) = v.parse::<u64>() {
            return Some(Duration::from_secs(s));
        }
        if let Some(t) = crate::time::parse_http_date(v) {
            return Some(Duration::from_millis((t - now).max(0) as u64));
        }
    }
    let reset = get("x-rate-limit-reset").or_else(|| get("x-ratelimit-reset"))?;
    let at = match reset.parse::<i64>() {
        Ok(epoch) => epoch * 1000,
        Err(_) => crate::time::parse_rfc3339(reset)?,
    };
    Some(Duration::from_millis((at - now).max(0) as u64))
}

/// An error with its causes, `a: b: c`, since reqwest's top-level message alone is vague
/// ("error sending request").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = c.source();
    }
    s
}

/// `base` + `path`, with one slash between them.
pub fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn waits_from_headers() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("42"));
        assert_eq!(server_wait(&h), Some(Duration::from_secs(42)));
        let mut h = HeaderMap::new();
        let soon = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 100;
        h.insert(
            "x-rate-limit-reset",
            HeaderValue::from_str(&soon.to_string()).unwrap(),
        );
        let w = server_wait(&h).unwrap();
        assert!(
            w > Duration::from_secs(95) && w <= Duration::from_secs(100),
            "{w:?}"
        );
        h.clear();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(server_wait(&h), Some(Duration::ZERO), "a date in the past");
        assert_eq!(server_wait(&HeaderMap::new()), None);
    }

    #[test]
    fn statuses_decide_the_failure() {
        let kind = |s| match failure(s, None, String::new()) {
            Failure::Auth { .. } => "auth",
            Failure::RateLimited { .. } => "rate",
            Failure::Rejected { .. } => "rejected",
            Failure::Http { .. } => "http",
            Failure::Network(_) => "network",
        };
        let got: Vec<_> = [401, 403, 420, 429, 400, 404, 408, 500, 503]
            .into_iter()
            .map(kind)
            .collect();
        assert_eq!(
            got,
            ["auth", "auth", "rate", "rate", "rejected", "rejected", "http", "http", "http"]
        );
    }

    #[test]
    fn joins() {
        assert_eq!(join("http://h:1/", "/a/b"), "http://h:1/a/b");
        assert_eq!(join("http://h:1", "a"), "http://h:1/a");
    }
}
