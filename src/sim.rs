//! The built-in stream simulator of `tt fetch sim`: Twitter v1.1-shaped tweets, so that the
//! whole pipeline runs on a machine with no network and no account.
//!
//! * Hashtags: 0 to 3 per tweet from a vocabulary of `tags` words, Zipf-distributed (s = 1:
//!   the k-th tag is used in proportion to 1/k), as real hashtag use is; some in another
//!   case, a few non-ASCII.
//! * With a growing vocabulary (`--vocabulary growing`), tags never seen before keep
//!   appearing, as in a real stream: after n tag uses, K·n^β new tags in all (Heaps' law)
//!   on top of the fixed vocabulary, ranked after it in the same Zipf law. [`CAPTURE_FIT`]
//!   is K and β fitted to the 2014 v1.1 stream capture (`scripts/fit-heaps.py`).
//! * Bursts: every `burst_every` seconds of stream time a new tag bursts for `burst_len`
//!   seconds, used by 30 % of the tweets: what `tt count`'s trend score must find.
//! * 30 % retweets (`RT @user: ...` with the original in `retweeted_status`), users drawn
//!   from a fixed population, `entities.hashtags` with code-point indices, `created_at` and
//!   `timestamp_ms` on the stream clock.
//!
//! Deterministic: the same seed gives the same tweets (a splitmix64 generator written
//! here, because its output is fixed forever, unlike a library's default generator).

use serde_json::json;

use crate::time::Millis;

/// splitmix64 (Steele, Lea, Flood 2014).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.f() * n as f64) as usize
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "ri", "to", "mi", "na", "so", "lu", "ve", "pa", "do", "re", "zi", "bo", "ta", "ne", "mo",
    "win", "star", "day", "love", "news", "game", "play", "live", "art", "music", "tech", "data",
    "code", "team", "fan", "best", "hot", "new", "vibe", "city", "cup", "run", "pop", "rock",
    "film", "book", "food", "cat", "dog", "sun", "moon",
];
const NON_ASCII: &[&str] = &[
    "fútbol",
    "café",
    "música",
    "東京",
    "音楽",
    "서울",
    "новости",
    "größe",
];
const WORDS: &[&str] = &[
    "the", "a", "to", "and", "of", "in", "is", "it", "you", "that", "for", "on", "with", "this",
    "my", "at", "have", "just", "so", "are", "not", "but", "we", "all", "what", "now", "love",
    "good", "day", "new", "time", "people", "today", "great", "best", "happy", "world", "game",
    "night", "live", "watch", "music", "news", "amazing", "wow",
];
const BURSTS: &[&str] = &[
    "BreakingNews",
    "WorldCupFinal",
    "EarthquakeAlert",
    "NewAlbumFriday",
    "ServerDown",
    "ElectionNight",
    "SolarEclipse",
    "LaunchDay",
];
const EMOJI: &[&str] = &["🔥", "😂", "❤️", "🎉", "👍", "✨"];

/// Heaps' law for new tags: after n uses, `k`·n^`beta` tags never seen before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heaps {
    pub k: f64,
    pub beta: f64,
}

/// Heaps' law fitted by least squares on log V against log n (n ≥ 10) to the tag uses of
/// the 2014 v1.1 stream capture (369 uses, 280 distinct tags): `python3
/// scripts/fit-heaps.py` prints it. The 2016 capture (71 uses) gave β 0.989, the
/// python-twitter stream sample (66 uses) 0.912. Fitted on hundreds of uses, β says how
/// fast a small sample meets new tags; over a day of stream it is an upper end (large
/// corpora grow more slowly), which is the demanding case for memory.
pub const CAPTURE_FIT: Heaps = Heaps {
    k: 1.047,
    beta: 0.934,
};

/// Tags per post in the same capture (369 uses in 1,241 posts), for runs that want the
/// real density rather than the simulator's tag-rich posts.
pub const CAPTURE_TAGS_PER_POST: f64 = 0.297;

/// The simulator's hashtags: a fixed vocabulary, Zipf-distributed (the k-th used in
/// proportion to 1/k), that may grow by Heaps' law with new tags ranked after it.
pub struct Vocabulary {
    words: Vec<String>,
    /// Cumulative Zipf weights of `words`.
    cum: Vec<f64>,
    heaps: Option<Heaps>,
    /// Tags added by growth so far, and uses drawn so far.
    grown: u64,
    uses: u64,
}

impl Vocabulary {
    /// `n` words made from `rng`'s draws (as the simulator always has), growing by `heaps`.
    fn new(rng: &mut Rng, n: usize, heaps: Option<Heaps>) -> Vocabulary {
        let mut words = Vec::with_capacity(n);
        let mut seen = std::collections::HashSet::new();
        while words.len() < n.max(1) {
            let k = 1 + rng.below(3);
            let mut parts: Vec<String> = (0..k).map(|_| rng.pick(SYLLABLES).to_string()).collect();
            if rng.f() < 0.03 {
                parts[0] = rng.pick(NON_ASCII).to_string();
            }
            let style = rng.f();
            let tag = if style < 0.6 {
                parts.concat()
            } else if style < 0.9 {
                parts.iter().map(|p| capitalize(p)).collect()
            } else {
                parts.join("_")
            };
            if seen.insert(tag.to_lowercase()) {
                words.push(tag);
            }
        }
        let mut cum = Vec::with_capacity(words.len());
        let mut total = 0.0;
        for k in 1..=words.len() {
            total += 1.0 / k as f64;
            cum.push(total);
        }
        Vocabulary {
            words,
            cum,
            heaps,
            grown: 0,
            uses: 0,
        }
    }

    /// Distinct tags so far.
    pub fn distinct(&self) -> u64 {
        self.words.len() as u64 + self.grown
    }

    /// The name of the `i`-th grown tag: syllables and a number, so it never equals a
    /// word of the fixed vocabulary (which has no digits) or another grown tag.
    fn grown_name(i: u64) -> String {
        let a = SYLLABLES[(i % SYLLABLES.len() as u64) as usize];
        let b = SYLLABLES[(i / 7 % SYLLABLES.len() as u64) as usize];
        format!("{}{b}{i}", capitalize(a))
    }

    /// The next use's tag, from two uniform draws in [0, 1).
    fn pick(&mut self, new: f64, which: f64) -> String {
        self.uses += 1;
        if let Some(h) = self.heaps {
            // The expected new tags at this use: K·(n^β − (n − 1)^β).
            let n = self.uses as f64;
            if new < h.k * (n.powf(h.beta) - (n - 1.0).powf(h.beta)) {
                self.grown += 1;
                return Vocabulary::grown_name(self.grown);
            }
        }
        // Zipf over the fixed words then the grown tags: the grown ranks' weights
        // 1/(n0 + 1) + ... + 1/(n0 + g) are about ln((n0 + g + 0.5) / (n0 + 0.5)).
        let n0 = self.words.len() as f64;
        let fixed = self.cum[self.cum.len() - 1];
        let grown = ((n0 + self.grown as f64 + 0.5) / (n0 + 0.5)).ln();
        let x = which * (fixed + grown);
        if x <= fixed || self.grown == 0 {
            let i = self
                .cum
                .partition_point(|&c| c < x)
                .min(self.words.len() - 1);
            return self.words[i].clone();
        }
        let rank = ((n0 + 0.5) * (x - fixed).exp() - 0.5).ceil() - n0;
        Vocabulary::grown_name((rank as u64).clamp(1, self.grown))
    }
}

/// How the simulated stream looks.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    /// Tweets per second of stream time.
    pub rate: f64,
    /// Distinct hashtags in the vocabulary.
    pub tags: usize,
    /// Seconds of stream time between burst starts.
    pub burst_every: f64,
    /// Seconds a burst lasts.
    pub burst_len: f64,
    /// Grow the vocabulary by this law (`None`: a fixed vocabulary).
    pub growth: Option<Heaps>,
}

pub struct Sim {
    cfg: Config,
    rng: Rng,
    vocab: Vocabulary,
    users: Vec<(u64, String)>,
    start: Millis,
    n: u64,
    last_id: u64,
}

impl Sim {
    /// A stream whose clock starts at `start` (ms since the epoch).
    pub fn new(cfg: Config, start: Millis) -> Sim {
        let mut rng = Rng(cfg.seed);
        let vocab = Vocabulary::new(&mut rng, cfg.tags, cfg.growth);
        let users = (0..5000u64)
            .map(|i| {
                let name = format!(
                    "{}{}_{}",
                    capitalize(rng.pick::<&str>(SYLLABLES)),
                    rng.pick::<&str>(SYLLABLES),
                    i
                );
                (100_000_000 + i * 7919 + rng.next() % 7919, name)
            })
            .collect();
        Sim {
            cfg,
            rng,
            vocab,
            users,
            start,
            n: 0,
            last_id: 0,
        }
    }

    /// The stream time of the next tweet.
    pub fn next_time(&self) -> Millis {
        self.start + (self.n as f64 * 1000.0 / self.cfg.rate) as Millis
    }

    /// The burst tag active at stream time `t`, if any.
    pub fn burst_at(&self, t: Millis) -> Option<&'static str> {
        let secs = (t - self.start) as f64 / 1000.0;
        let k = (secs / self.cfg.burst_every).floor();
        if k < 1.0 || secs - k * self.cfg.burst_every >= self.cfg.burst_len {
            return None;
        }
        Some(BURSTS[(k as usize - 1) % BURSTS.len()])
    }

    fn zipf_tag(&mut self) -> String {
        let (new, which) = if self.vocab.heaps.is_some() {
            (self.rng.f(), self.rng.f())
        } else {
            (1.0, self.rng.f()) // the draws of a fixed vocabulary, as they always were
        };
        let t = self.vocab.pick(new, which);
        if self.rng.f() < 0.05 {
            t.to_lowercase()
        } else {
            t
        }
    }

    /// Distinct tags the simulator has drawn from so far (its vocabulary).
    pub fn vocabulary(&self) -> u64 {
        self.vocab.distinct()
    }

    /// The tags of a post at stream time `t`, as `next_line` would write them, without
    /// the post (for memory runs that count days of uses): `tags_per_post` on average,
    /// Poisson-distributed, plus the burst tag.
    pub fn next_tags(&mut self, t: Millis, tags_per_post: f64, out: &mut Vec<String>) {
        out.clear();
        // Poisson by inversion: fine for the small means of hashtags per post.
        let (mut k, mut p, u) = (0, (-tags_per_post).exp(), self.rng.f());
        let mut cdf = p;
        while u > cdf && k < 30 {
            k += 1;
            p *= tags_per_post / k as f64;
            cdf += p;
        }
        for _ in 0..k {
            let tag = self.zipf_tag();
            out.push(tag);
        }
        if let Some(b) = self.burst_at(t) {
            if self.rng.f() < 0.3 {
                out.push(b.to_string());
            }
        }
        self.n += 1;
    }

    fn snowflake(&mut self, t: Millis) -> u64 {
        // Twitter's id layout: ms since its epoch, then 22 bits; kept increasing.
        let id = (((t - 1_288_834_974_657).max(0) as u64) << 22) | (self.rng.next() & 0x3F_FFFF);
        self.last_id = id.max(self.last_id + 1);
        self.last_id
    }

    /// Text and hashtag entities of a new tweet.
    fn compose(&mut self, t: Millis) -> (String, Vec<serde_json::Value>) {
        let mut tags: Vec<String> = Vec::new();
        let k = [0, 1, 1, 1, 2, 2, 3][self.rng.below(7)];
        for _ in 0..k {
            tags.push(self.zipf_tag());
        }
        if let Some(b) = self.burst_at(t) {
            if self.rng.f() < 0.3 {
                tags.push(b.to_string());
            }
        }
        let mut text = String::new();
        let mut ents = Vec::new();
        let words = 3 + self.rng.below(12);
        let tag_at = words / 2;
        for w in 0..words {
            if w > 0 {
                text.push(' ');
            }
            if w == tag_at {
                for (i, tag) in tags.iter().enumerate() {
                    if i > 0 {
                        text.push(' ');
                    }
                    let start = text.chars().count();
                    text.push('#');
                    text.push_str(tag);
                    ents.push(
                        json!({"text": tag, "indices": [start, start + 1 + tag.chars().count()]}),
                    );
                }
                if !tags.is_empty() {
                    text.push(' ');
                }
            }
            text.push_str(self.rng.pick::<&str>(WORDS));
        }
        if self.rng.f() < 0.15 {
            text.push(' ');
            text.push_str(self.rng.pick::<&str>(EMOJI));
        }
        (text, ents)
    }

    fn status(
        &mut self,
        t: Millis,
        text: String,
        ents: Vec<serde_json::Value>,
    ) -> serde_json::Value {
        let id = self.snowflake(t);
        let (uid, name) = self.users[self.rng.below(self.users.len())].clone();
        json!({
            "created_at": twitter_time(t),
            "id": id,
            "id_str": id.to_string(),
            "text": text,
            "truncated": false,
            "user": {"id": uid, "id_str": uid.to_string(), "screen_name": name, "name": name},
            "entities": {"hashtags": ents, "urls": [], "user_mentions": [], "symbols": []},
            "lang": "en",
            "timestamp_ms": t.to_string(),
        })
    }

    /// Appends the next tweet as one JSON line (with `\n`) to `out`; returns its time.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> Millis {
        let t = self.next_time();
        self.n += 1;
        let (text, ents) = self.compose(t);
        let v = if self.rng.f() < 0.3 {
            // A retweet of a tweet from a little earlier.
            let orig_t = t - 1000 - (self.rng.below(600_000) as Millis);
            let original = self.status(orig_t, text.clone(), ents);
            let mut rt = self.status(t, String::new(), Vec::new());
            let who = original["user"]["screen_name"]
                .as_str()
                .unwrap_or("user")
                .to_string();
            let rt_text: String = format!("RT @{who}: {text}").chars().take(140).collect();
            rt["text"] = json!(rt_text);
            rt["retweeted_status"] = original;
            rt
        } else {
            self.status(t, text, ents)
        };
        serde_json::to_writer(&mut *out, &v).expect("writing to a Vec");
        out.push(b'\n');
        t
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Twitter's `created_at` form: `Wed Oct 10 20:19:24 +0000 2018`.
pub fn twitter_time(t: Millis) -> String {
    let days = t.div_euclid(86_400_000);
    let secs = t.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = crate::time::civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} +0000 {:04}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[m as usize - 1],
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        y
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            seed: 1,
            rate: 100.0,
            tags: 500,
            burst_every: 10.0,
            burst_len: 5.0,
            growth: None,
        }
    }

    #[test]
    fn deterministic_and_parseable_with_true_entities() {
        let (mut a, mut b) = (
            Sim::new(cfg(), 1_700_000_000_000),
            Sim::new(cfg(), 1_700_000_000_000),
        );
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        for _ in 0..300 {
            a.next_line(&mut la);
            b.next_line(&mut lb);
        }
        assert_eq!(la, lb);
        let text = String::from_utf8(la).unwrap();
        let mut with_tags = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let src = if v["retweeted_status"].is_object() {
                &v["retweeted_status"]
            } else {
                &v
            };
            let ents: Vec<String> = src["entities"]["hashtags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["text"].as_str().unwrap().to_string())
                .collect();
            let mine = crate::hashtag::extract_texts(src["text"].as_str().unwrap());
            assert_eq!(mine, ents, "{line}");
            with_tags += usize::from(!ents.is_empty());
        }
        assert!(with_tags > 150);
    }

    /// A growing vocabulary meets new tags as its law says (within 5 % of K·n^β after
    /// 200,000 uses, on top of the fixed words), names them without clashes, and still
    /// uses its most frequent words most.
    #[test]
    fn a_growing_vocabulary_follows_heaps_law() {
        let mut v = Vocabulary::new(&mut Rng(3), 500, Some(CAPTURE_FIT));
        let mut r = Rng(4);
        let n = 200_000u64;
        let mut seen = std::collections::HashMap::<String, u64>::new();
        for _ in 0..n {
            *seen.entry(v.pick(r.f(), r.f())).or_default() += 1;
        }
        let law = CAPTURE_FIT.k * (n as f64).powf(CAPTURE_FIT.beta);
        let grown = v.grown as f64;
        assert!(
            (grown / law - 1.0).abs() < 0.05,
            "{grown} new tags, law {law:.0}"
        );
        assert!(seen.len() as u64 <= v.distinct());
        let top = seen.iter().max_by_key(|e| e.1).unwrap().0;
        assert_eq!(*top, v.words[0], "the first word is the most used");
    }

    #[test]
    fn twitter_times() {
        assert_eq!(
            twitter_time(1_539_202_764_000),
            "Wed Oct 10 20:19:24 +0000 2018"
        );
        assert_eq!(
            crate::time::parse_twitter(&twitter_time(1_700_000_000_000)),
            Some(1_700_000_000_000)
        );
    }
}
