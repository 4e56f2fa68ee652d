//! The reconnect policy of every network source.

use std::time::Duration;

use super::{Ended, Failure};

/// After a network failure (refused, reset, timed out), the wait grows by this step...
pub const NETWORK_STEP: Duration = Duration::from_millis(250);
/// ...up to this (Twitter's rule for TCP/IP-level trouble; Kafka clients use the same bounds).
pub const NETWORK_MAX: Duration = Duration::from_secs(16);

/// The reconnect policy: the rules X and Twitter publish for their streams (SOURCES.md §1
/// and §2), which suit the other sources too.
#[derive(Debug, Default)]
pub struct Backoff {
    net: u32,
    http: u32,
    rate: u32,
}

impl Backoff {
    /// After a connection attempt failed.
    pub fn after_failure(&mut self, f: &Failure) -> Duration {
        match f {
            Failure::Network(_) => {
                self.net += 1;
                (NETWORK_STEP * self.net).min(NETWORK_MAX)
            }
            Failure::Http { wait, .. } => {
                self.http += 1;
                let exp = Duration::from_secs(5) * 2u32.saturating_pow(self.http - 1).min(64);
                exp.min(Duration::from_secs(320))
                    .max(wait.unwrap_or_default())
            }
            Failure::RateLimited { wait, .. } => {
                self.rate += 1;
                // "Each 429 lengthens the penalty": no cap but the server's own word,
                // bounded here at 2^6 minutes so a broken server cannot park us for days.
                let exp = Duration::from_secs(60) * 2u32.saturating_pow(self.rate - 1).min(64);
                exp.max(wait.unwrap_or_default())
            }
            Failure::Auth { .. } | Failure::Rejected { .. } => Duration::ZERO,
        }
    }

    /// After the server accepted a connection (HTTP 200).
    pub fn accepted(&mut self) {
        self.http = 0;
        self.rate = 0;
    }

    /// After an open connection ended. One that delivered posts is reconnected at once
    /// ("reconnect immediately after an established connection drops"); one that
    /// delivered nothing counts as a network failure, so a server that accepts and hangs
    /// up at once is not hammered.
    pub fn after_end(&mut self, delivered: bool, why: &Ended) -> Duration {
        match why {
            Ended::Failed(f) => self.after_failure(f),
            _ if delivered => {
                self.net = 0;
                Duration::ZERO
            }
            _ => self.after_failure(&Failure::Network(String::new())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_follows_the_published_rules() {
        let mut b = Backoff::default();
        let net = Failure::Network("refused".into());
        let waits: Vec<_> = (0..70).map(|_| b.after_failure(&net)).collect();
        assert_eq!(&waits[..3], &[ms(250), ms(500), ms(750)]);
        assert_eq!(waits[63], ms(16_000));
        assert_eq!(waits[69], ms(16_000));

        let mut b = Backoff::default();
        let http = |wait| Failure::Http {
            status: 503,
            wait,
            message: String::new(),
        };
        let waits: Vec<_> = (0..8).map(|_| b.after_failure(&http(None))).collect();
        let secs: Vec<_> = waits.iter().map(|d| d.as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 320]);
        b.accepted();
        assert_eq!(b.after_failure(&http(Some(ms(30_000)))), ms(30_000));

        let mut b = Backoff::default();
        let rate = |wait| Failure::RateLimited {
            status: 420,
            wait,
            message: String::new(),
        };
        assert_eq!(b.after_failure(&rate(None)), ms(60_000));
        assert_eq!(b.after_failure(&rate(None)), ms(120_000));
        assert_eq!(b.after_failure(&rate(Some(ms(600_000)))), ms(600_000));
    }

    #[test]
    fn a_drop_after_posts_reconnects_at_once_and_an_empty_one_backs_off() {
        let mut b = Backoff::default();
        assert_eq!(b.after_end(true, &Ended::Closed), Duration::ZERO);
        assert_eq!(b.after_end(false, &Ended::Closed), ms(250));
        assert_eq!(b.after_end(false, &Ended::Stall(ms(1))), ms(500));
        assert_eq!(b.after_end(true, &Ended::Closed), Duration::ZERO);
        assert_eq!(b.after_end(false, &Ended::Closed), ms(250));
    }
}
