//! Stateful hashtag counts, one batch at a time: what `updateStateByKey` did in the classic
//! pipeline, plus windows, decay and a trend score.
//!
//! The state changes only through [`Counter::apply`], which takes a [`Batch`] (the
//! aggregate of one batch's tag uses) and returns the count update for it. Everything is a
//! pure function of the sequence of batches, so replaying the batch log after a crash (see
//! `state.rs`) rebuilds exactly the state a live run had. The cost of `apply` follows the
//! batch's data: the tags used in it, those leaving the window, and those whose trend falls
//! back to zero; never the whole table.
//!
//! # What a count is
//! * all-time totals (default);
//! * `window`: uses in the last `window` slots (a slot is one batch length of time);
//! * `half_life`: uses decayed exponentially, kept as forward-decayed sums against a
//!   landmark slot so that an unused tag costs nothing per batch.
//!
//! # The trend score
//! For tag `k` in a batch: `o` = its uses in the batch, `e` = its baseline, an exponentially
//! weighted mean of its uses per batch over the earlier batches since counting began
//! (batches without the tag count as 0; bias-corrected for the history gathered so far)
//! with half-life `baseline` slots. The first batch has no history and no trend. Then
//!
//! ```text
//! trend = 0                                        if o < min_support
//!       = max(0, (o − 3·√o) / max(e, 1) − 1)       otherwise
//! ```
//!
//! `o − 3·√o` is a lower confidence bound of the batch's rate (Poisson, about 3 sigma), so
//! the score is how many times its baseline a tag's rate is at least, beyond chance: a tag
//! that is always big scores 0 (its rate is its baseline), a burst scores high from its
//! first batch. Velocity, not volume: the idea of Twitter's trends and of Mastodon's
//! expected-versus-observed score, with a Poisson bound in place of a fixed threshold.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

/// How counts are kept. Stored in the state file: a resumed run must use the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Batch length in milliseconds; `None`: one batch at end of input.
    pub batch_ms: Option<u64>,
    /// Batches by the posts' own time (`at`) instead of the clock.
    pub event_time: bool,
    /// Sliding window length, in slots.
    pub window: Option<u64>,
    /// Half-life of decayed counts, in slots.
    pub half_life: Option<f64>,
    /// Half-life of the trend baseline, in slots.
    pub baseline: f64,
    /// Fewest uses in a batch for a tag to trend.
    pub min_support: u64,
}

/// One batch's tag uses, aggregated: what the batch log stores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Batch number (1, 2, ...). In event time, numbers follow slots and may skip.
    pub batch: u64,
    /// Slot index: batch start / batch length (processing time: the tick count).
    pub slot: i64,
    /// End of the batch, milliseconds since the epoch.
    pub end: i64,
    /// Posts with at least one tag in the batch.
    pub posts: u64,
    /// (key, spelling, uses); one entry per spelling, sorted.
    pub uses: Vec<(String, String, u64)>,
}

/// A tag's line in a count update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagCount {
    pub tag: String,
    pub text: String,
    /// All-time or windowed uses (integers), or decayed uses (with `--half-life`).
    #[serde(serialize_with = "num")]
    pub count: f64,
    /// Change of `count` since the tag's previous update.
    #[serde(serialize_with = "num")]
    pub delta: f64,
    /// Uses in this batch.
    pub uses: u64,
    #[serde(serialize_with = "num")]
    pub trend: f64,
}

/// Whole numbers as integers (`5`, not `5.0`), others as they are.
pub fn num<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// The count update for one batch: `tt count`'s output line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub batch: u64,
    /// End of the batch, RFC 3339.
    pub end: String,
    pub posts: u64,
    /// Distinct tags in the state after this batch.
    pub tags: u64,
    /// What `count` means: "total", "window" or "decayed".
    pub counting: String,
    /// With decayed counts: their half-life in seconds (so `tt top` can decay the counts
    /// of tags that did not change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life: Option<f64>,
    pub counts: Vec<TagCount>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Tag {
    pub key: String,
    /// Spellings and their all-time uses; the display text is the most used.
    pub spellings: Vec<(String, u64)>,
    pub total: u64,
    pub window: u64,
    /// Forward-decayed uses: sum of uses·2^((slot − landmark)/half_life).
    pub fwd: f64,
    /// Baseline uses per slot as of `base_slot` (after that slot's uses).
    pub base: f64,
    pub base_slot: i64,
    pub trend: f64,
    /// `count` as last reported, for `delta`.
    pub reported: f64,
}

impl Tag {
    fn new(key: &str) -> Tag {
        Tag {
            key: key.to_owned(),
            spellings: Vec::new(),
            total: 0,
            window: 0,
            fwd: 0.0,
            base: 0.0,
            base_slot: i64::MIN,
            trend: 0.0,
            reported: 0.0,
        }
    }

    pub fn text(&self) -> &str {
        // Most used spelling; the first seen wins ties.
        let mut best: Option<&(String, u64)> = None;
        for s in &self.spellings {
            if best.is_none_or(|b| s.1 > b.1) {
                best = Some(s);
            }
        }
        best.map_or(&self.key, |b| &b.0)
    }

    /// The baseline carried forward to `slot` (batches without the tag count as 0).
    fn baseline_at(&self, slot: i64, alpha_keep: f64) -> f64 {
        if self.base_slot == i64::MIN || self.base == 0.0 {
            return 0.0;
        }
        let gap = (slot - self.base_slot).max(0) as f64;
        self.base * alpha_keep.powf(gap)
    }
}

/// The counting state. See the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counter {
    pub config: Config,
    pub(crate) tags: Vec<Tag>,
    #[serde(skip)]
    index: HashMap<String, u32>,
    /// Window mode: the batches inside the window, oldest first, as (slot, [(tag, uses)]).
    pub(crate) ring: VecDeque<(i64, Vec<(u32, u64)>)>,
    /// Tags whose last trend was above zero.
    pub(crate) trending: Vec<u32>,
    /// Forward-decay landmark slot.
    pub(crate) landmark: i64,
    /// Last batch applied.
    pub last_batch: u64,
    pub last_slot: i64,
    /// Event time: the slot of batch 1 (batch numbers follow slots from there).
    #[serde(default)]
    pub origin_slot: Option<i64>,
    /// End of the last batch applied (ms since the epoch).
    #[serde(default)]
    pub last_end: i64,
    /// Slot of the first batch: baselines are bias-corrected for the history since then.
    #[serde(default)]
    pub first_slot: Option<i64>,
}

/// Above this exponent the forward-decay sums are rebased (2^400 is far from f64 overflow).
const MAX_EXPONENT: f64 = 400.0;

impl Counter {
    pub fn new(config: Config) -> Counter {
        Counter {
            config,
            tags: Vec::new(),
            index: HashMap::new(),
            ring: VecDeque::new(),
            trending: Vec::new(),
            landmark: i64::MIN,
            last_batch: 0,
            last_slot: i64::MIN,
            origin_slot: None,
            last_end: 0,
            first_slot: None,
        }
    }

    /// Every tag with its current count and trend, as count-update lines (for `tt top
    /// --state`). Counts are as of the last batch.
    pub fn all_counts(&self) -> Vec<TagCount> {
        self.tags
            .iter()
            .map(|t| TagCount {
                tag: t.key.clone(),
                text: t.text().to_owned(),
                count: self.count_of(t, self.last_slot),
                delta: 0.0,
                uses: 0,
                trend: t.trend,
            })
            .collect()
    }

    /// Rebuilds the key index after deserializing.
    pub fn reindex(&mut self) {
        self.index = self
            .tags
            .iter()
            .enumerate()
            .map(|(i, t)| (t.key.clone(), i as u32))
            .collect();
    }

    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    fn id(&mut self, key: &str) -> u32 {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = self.tags.len() as u32;
        self.tags.push(Tag::new(key));
        self.index.insert(key.to_owned(), i);
        i
    }

    /// A tag's id, if it is known.
    pub fn lookup(&self, key: &str) -> Option<u32> {
        self.index.get(key).copied()
    }

    fn counting(&self) -> &'static str {
        match (self.config.window, self.config.half_life) {
            (Some(_), _) => "window",
            (None, Some(_)) => "decayed",
            _ => "total",
        }
    }

    fn count_of(&self, t: &Tag, slot: i64) -> f64 {
        match (self.config.window, self.config.half_life) {
            (Some(_), _) => t.window as f64,
            (None, Some(h)) => {
                let v = t.fwd * (-((slot - self.landmark) as f64) / h).exp2();
                (v * 1000.0).round() / 1000.0
            }
            _ => t.total as f64,
        }
    }

    /// Applies one batch and returns its count update.
    pub fn apply(&mut self, b: &Batch) -> Update {
        let slot = b.slot;
        let keep = 0.5f64.powf(1.0 / self.config.baseline.max(1e-9));
        // The baseline is an EWMA started at 0 when counting began; dividing by the weight
        // it has gathered since (1 − keep^n over n earlier slots) makes it the mean rate of
        // the observed history, so steady tags are not "trending" while it warms up. With
        // no history at all (the first batch) there is no trend.
        let first = *self.first_slot.get_or_insert(slot);
        let history = (slot - first).max(0) as f64;
        let gathered = 1.0 - keep.powf(history);
        // Per tag uses in this batch (spellings summed), in first-appearance order.
        let mut batch_uses: Vec<(u32, u64)> = Vec::new();
        let mut seen: HashMap<u32, usize> = HashMap::new();
        for (key, text, n) in &b.uses {
            let id = self.id(key);
            let t = &mut self.tags[id as usize];
            match t.spellings.iter_mut().find(|s| s.0 == *text) {
                Some(s) => s.1 += n,
                None => t.spellings.push((text.clone(), *n)),
            }
            match seen.get(&id) {
                Some(&i) => batch_uses[i].1 += n,
                None => {
                    seen.insert(id, batch_uses.len());
                    batch_uses.push((id, *n));
                }
            }
        }
        if let Some(h) = self.config.half_life {
            if self.landmark == i64::MIN {
                self.landmark = slot;
            }
            if (slot - self.landmark) as f64 / h > MAX_EXPONENT {
                let f = (-((slot - self.landmark) as f64) / h).exp2();
                for t in &mut self.tags {
                    t.fwd *= f;
                }
                self.landmark = slot;
            }
        }
        let mut changed: Vec<u32> = Vec::with_capacity(batch_uses.len());
        let mut uses_now: HashMap<u32, u64> = HashMap::with_capacity(batch_uses.len());
        for &(id, n) in &batch_uses {
            let t = &mut self.tags[id as usize];
            t.total += n;
            t.window += n;
            if let Some(h) = self.config.half_life {
                t.fwd += n as f64 * ((slot - self.landmark) as f64 / h).exp2();
            }
            // Trend against the baseline of earlier batches, then fold this batch in.
            let e = t.baseline_at(slot - 1, keep);
            let o = n as f64;
            t.trend = if n < self.config.min_support || history < 1.0 {
                0.0
            } else {
                ((o - 3.0 * o.sqrt()) / (e / gathered).max(1.0) - 1.0).max(0.0)
            };
            t.trend = (t.trend * 1000.0).round() / 1000.0;
            t.base = e * keep + o * (1.0 - keep);
            t.base_slot = slot;
            changed.push(id);
            uses_now.insert(id, n);
        }
        // Leaving the window.
        if let Some(w) = self.config.window {
            self.ring.push_back((slot, batch_uses.clone()));
            while let Some(&(s, _)) = self.ring.front() {
                if s > slot - w as i64 {
                    break;
                }
                let (_, old) = self.ring.pop_front().expect("front exists");
                for (id, n) in old {
                    self.tags[id as usize].window -= n;
                    if let std::collections::hash_map::Entry::Vacant(v) = uses_now.entry(id) {
                        v.insert(0);
                        changed.push(id);
                    }
                }
            }
        }
        // Trends that fall back to zero because the tag was not used.
        for id in std::mem::take(&mut self.trending) {
            if let std::collections::hash_map::Entry::Vacant(v) = uses_now.entry(id) {
                v.insert(0);
                self.tags[id as usize].trend = 0.0;
                changed.push(id);
            }
        }
        changed
            .sort_unstable_by(|a, b| self.tags[*a as usize].key.cmp(&self.tags[*b as usize].key));
        changed.dedup();
        let mut counts = Vec::with_capacity(changed.len());
        for id in changed {
            let count = self.count_of(&self.tags[id as usize], slot);
            let t = &mut self.tags[id as usize];
            if t.trend > 0.0 {
                self.trending.push(id);
            }
            let delta = ((count - t.reported) * 1000.0).round() / 1000.0;
            t.reported = count;
            counts.push(TagCount {
                tag: t.key.clone(),
                text: t.text().to_owned(),
                count,
                delta,
                uses: uses_now[&id],
                trend: t.trend,
            });
        }
        self.last_batch = b.batch;
        self.last_slot = slot;
        self.last_end = b.end;
        Update {
            batch: b.batch,
            end: crate::time::format_rfc3339(b.end),
            posts: b.posts,
            tags: self.tags.len() as u64,
            counting: self.counting().to_owned(),
            half_life: self
                .config
                .half_life
                .map(|h| h * self.config.batch_ms.unwrap_or(1000) as f64 / 1000.0),
            counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            batch_ms: Some(1000),
            event_time: true,
            window: None,
            half_life: None,
            baseline: 10.0,
            min_support: 5,
        }
    }

    fn batch(n: u64, uses: &[(&str, u64)]) -> Batch {
        Batch {
            batch: n,
            slot: n as i64,
            end: n as i64 * 1000 + 1000,
            posts: uses.len() as u64,
            uses: uses
                .iter()
                .map(|(k, c)| (k.to_string(), k.to_string(), *c))
                .collect(),
        }
    }

    #[test]
    fn totals_and_deltas() {
        let mut c = Counter::new(cfg());
        let u = c.apply(&batch(1, &[("a", 2), ("b", 1)]));
        assert_eq!(
            u.counts
                .iter()
                .map(|t| (t.tag.as_str(), t.count))
                .collect::<Vec<_>>(),
            [("a", 2.0), ("b", 1.0)]
        );
        let u = c.apply(&batch(2, &[("a", 3)]));
        assert_eq!((u.counts[0].count, u.counts[0].delta), (5.0, 3.0));
        assert_eq!(u.tags, 2);
    }

    #[test]
    fn window_drops_to_zero_once() {
        let mut c = Counter::new(Config {
            window: Some(2),
            ..cfg()
        });
        c.apply(&batch(1, &[("a", 4)]));
        let u = c.apply(&batch(2, &[("b", 1)]));
        assert_eq!(u.counts.len(), 1);
        let u = c.apply(&batch(3, &[("b", 1)]));
        let a = u.counts.iter().find(|t| t.tag == "a").unwrap();
        assert_eq!((a.count, a.delta), (0.0, -4.0));
        let u = c.apply(&batch(4, &[("b", 1)]));
        assert!(u.counts.iter().all(|t| t.tag != "a"), "a zero appears once");
    }

    #[test]
    fn bursts_trend_and_steady_tags_do_not() {
        let mut c = Counter::new(cfg());
        for n in 1..=30 {
            c.apply(&batch(n, &[("steady", 200)]));
        }
        let u = c.apply(&batch(31, &[("steady", 205), ("burst", 150)]));
        let get = |k: &str| u.counts.iter().find(|t| t.tag == k).unwrap().trend;
        assert_eq!(get("steady"), 0.0);
        assert!(get("burst") > 50.0, "{}", get("burst"));
        let u = c.apply(&batch(32, &[("steady", 200)]));
        let b = u.counts.iter().find(|t| t.tag == "burst").unwrap();
        assert_eq!(
            (b.trend, b.uses),
            (0.0, 0),
            "a trend that stops is reported at 0"
        );
    }

    #[test]
    fn decayed_counts_halve_per_half_life() {
        let mut c = Counter::new(Config {
            half_life: Some(2.0),
            ..cfg()
        });
        c.apply(&batch(1, &[("a", 8)]));
        let u = c.apply(&batch(3, &[("a", 0)]));
        assert_eq!(u.counts[0].count, 4.0);
    }
}
