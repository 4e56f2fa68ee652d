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

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::record::{round3, Batch, SpellingUses, TagCount, TagUsers, Update};
use smallvec::SmallVec;

mod index;
/// Public for `benches/count.rs`, whose memory-latency probe must sit on the same kind of
/// pages as the tag table it is read against.
#[doc(hidden)]
pub use index::advise_huge_pages;
use index::{prefetch, Index};

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
    /// Also count distinct authors per tag (`--distinct users`); the trend then follows
    /// authors, not uses.
    #[serde(default)]
    pub distinct_users: bool,
}

impl Config {
    /// The flags of `tt count` that give this config, as (flag, value) for people:
    /// slots back to durations.
    pub fn flags(&self) -> Vec<(&'static str, String)> {
        let batch = self.batch_ms.unwrap_or(1000) as f64;
        let dur = |slots: f64| {
            crate::time::secs(std::time::Duration::from_millis(
                (slots * batch).round() as u64
            ))
        };
        let none = || "none".to_string();
        vec![
            (
                "--batch",
                self.batch_ms.map_or_else(none, |b| {
                    crate::time::secs(std::time::Duration::from_millis(b))
                }),
            ),
            (
                "--time",
                (if self.event_time {
                    "event"
                } else {
                    "processing"
                })
                .into(),
            ),
            ("--window", self.window.map_or_else(none, |w| dur(w as f64))),
            ("--half-life", self.half_life.map_or_else(none, dur)),
            ("--baseline", dur(self.baseline)),
            ("--min-support", self.min_support.to_string()),
            (
                "--distinct",
                (if self.distinct_users { "users" } else { "none" }).into(),
            ),
        ]
    }

    /// How `self` (asked for now) differs from `saved`: `--window 1m (the state has none)`.
    pub fn differences(&self, saved: &Config) -> Vec<String> {
        self.flags()
            .into_iter()
            .zip(saved.flags())
            .filter(|(now, then)| now.1 != then.1)
            .map(|((flag, now), (_, then))| format!("{flag} {now} (the state has {then})"))
            .collect()
    }
}

/// One tag's state. The key and the first spelling are stored inline (a `CompactString`
/// holds up to 24 bytes without a heap allocation, and nearly every hashtag fits), so a
/// tag a batch touches is one record in memory, not four heap objects: in a state of 10
/// million tags each of those objects was a cache and TLB miss per tag per batch. The
/// serialized form is unchanged (a string and a list of pairs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Tag {
    pub key: CompactString,
    /// Spellings and their all-time uses; the display text is the most used.
    pub spellings: SmallVec<[(CompactString, u64); 1]>,
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
    /// Distinct authors, all time or in the window (`--distinct users`).
    #[serde(default)]
    pub users: u64,
    /// Forward-decayed distinct authors per batch (`--distinct users --half-life`).
    #[serde(default)]
    pub users_fwd: f64,
}

impl Tag {
    fn new(key: &str) -> Tag {
        Tag {
            key: CompactString::from(key),
            spellings: SmallVec::new(),
            total: 0,
            window: 0,
            fwd: 0.0,
            base: 0.0,
            base_slot: i64::MIN,
            trend: 0.0,
            reported: 0.0,
            users: 0,
            users_fwd: 0.0,
        }
    }

    pub fn text(&self) -> &str {
        // Most used spelling; the first seen wins ties.
        let mut best: Option<&(CompactString, u64)> = None;
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

/// A batch inside the window: (slot, [(tag, uses)], [(tag << 32 | author) pairs]).
pub(crate) type RingEntry = (i64, Vec<(u32, u64)>, Vec<u64>);

/// The counting state. See the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counter {
    pub config: Config,
    pub(crate) tags: Vec<Tag>,
    /// Key -> position in `tags`. Holds only the ids: keys are compared in the tag records,
    /// which a lookup touches anyway, so a state of 10 million tags needs no second copy of
    /// its keys. foldhash is randomly seeded per process, so crafted tags cannot force
    /// collisions.
    #[serde(skip)]
    index: Index,
    #[serde(skip)]
    hasher: foldhash::fast::RandomState,
    /// Window mode: the batches inside the window, oldest first, as
    /// (slot, [(tag, uses)], [(tag, author) pairs]).
    pub(crate) ring: VecDeque<RingEntry>,
    /// `--distinct users`: author names, and each (tag << 32 | author) pair with the last
    /// slot it was seen in.
    #[serde(default)]
    pub(crate) user_names: Vec<String>,
    #[serde(skip)]
    user_index: HashMap<String, u32, foldhash::fast::RandomState>,
    #[serde(default)]
    pub(crate) pairs: HashMap<u64, i64, foldhash::fast::RandomState>,
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

/// `v` moved into a new buffer `growth` times its length, asked to be backed by huge pages
/// before its pages are first touched. Growing in place (realloc) would keep the pages
/// already there as they were: measured, only 475 MB of a 10-million-tag state's 1.5 GB
/// ended up on huge pages that way.
fn in_huge_pages<T>(mut v: Vec<T>, growth: usize) -> Vec<T> {
    let mut fresh = Vec::with_capacity((v.len() * growth).max(16));
    advise_huge_pages(&fresh);
    fresh.append(&mut v);
    fresh
}

/// Above this exponent the forward-decay sums are rebased (2^400 is far from f64 overflow).
const MAX_EXPONENT: f64 = 400.0;

/// How many tags ahead `apply` prefetches the tag records it will touch (see `index.rs`).
const AHEAD: usize = 16;

/// How many keys ahead `apply`'s first pass prefetches their index slots. That pass does
/// little per key (about 10 ns), so it reaches further ahead than [`AHEAD`]: 128 keys is
/// about a microsecond, room for a memory access slowed by a busy host. 32 measured the
/// same on a quiet one (four interleaved runs each of `cargo bench --bench count`).
const LOOKUP_AHEAD: usize = 128;

impl Counter {
    pub fn new(config: Config) -> Counter {
        Counter {
            config,
            tags: Vec::new(),
            index: Index::default(),
            hasher: Default::default(),
            ring: VecDeque::new(),
            user_names: Vec::new(),
            user_index: HashMap::default(),
            pairs: HashMap::default(),
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
                tag: t.key.as_str().to_owned(),
                text: t.text().to_owned(),
                count: self.count_of(t, self.last_slot),
                delta: 0.0,
                uses: 0,
                trend: t.trend,
                users: self.users_of(t, self.last_slot),
            })
            .collect()
    }

    /// Checks what a loaded state must hold before it is used: every id in range, keys
    /// distinct. A state file that passes its checksum but breaks these (made by hand, or
    /// by another program) is refused instead of crashing a later batch.
    pub fn validate(&self) -> Result<(), String> {
        let (n, u) = (self.tags.len() as u64, self.user_names.len() as u64);
        let bad_tag = |id: u64| id >= n;
        if self.ring.iter().any(|(_, uses, pairs)| {
            uses.iter().any(|&(id, _)| bad_tag(u64::from(id)))
                || pairs
                    .iter()
                    .any(|&p| bad_tag(p >> 32) || (p & 0xFFFF_FFFF) >= u)
        }) {
            return Err("a window entry names a tag or author it does not hold".into());
        }
        if self.trending.iter().any(|&id| bad_tag(u64::from(id))) {
            return Err("a trending entry names a tag it does not hold".into());
        }
        if self
            .pairs
            .keys()
            .any(|&p| bad_tag(p >> 32) || (p & 0xFFFF_FFFF) >= u)
        {
            return Err("an author entry names a tag or author it does not hold".into());
        }
        let mut keys: Vec<&str> = self.tags.iter().map(|t| t.key.as_str()).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err("a tag appears twice".into());
        }
        // Positive and finite: NaN, infinities and zero are all refused.
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.config.baseline)
            || self.config.half_life.is_some_and(|h| !positive(h))
            || self.config.window == Some(0)
        {
            return Err("its counting options are out of range".into());
        }
        Ok(())
    }

    /// Rebuilds the key index after deserializing.
    pub fn reindex(&mut self) {
        self.tags = in_huge_pages(std::mem::take(&mut self.tags), 1);
        let (tags, hasher) = (&self.tags, &self.hasher);
        self.index = Index::with_capacity(tags.len());
        for (i, t) in tags.iter().enumerate() {
            self.index
                .insert(hasher.hash_one(t.key.as_str()), i as u32, |j| {
                    hasher.hash_one(tags[j as usize].key.as_str())
                });
        }
        self.user_index = self
            .user_names
            .iter()
            .enumerate()
            .map(|(i, u)| (u.clone(), i as u32))
            .collect();
    }

    fn user_id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.user_index.get(name) {
            return i;
        }
        let i = self.user_names.len() as u32;
        self.user_names.push(name.to_owned());
        self.user_index.insert(name.to_owned(), i);
        i
    }

    fn users_of(&self, t: &Tag, slot: i64) -> Option<f64> {
        if !self.config.distinct_users {
            return None;
        }
        Some(match (self.config.window, self.config.half_life) {
            (None, Some(h)) => {
                let v = t.users_fwd * (-((slot - self.landmark) as f64) / h).exp2();
                round3(v)
            }
            _ => t.users as f64,
        })
    }

    fn id(&mut self, key: &str) -> u32 {
        self.id_hashed(key, self.hasher.hash_one(key))
    }

    fn id_hashed(&mut self, key: &str, hash: u64) -> u32 {
        let tags = &self.tags;
        if let Some(i) = self.index.find(hash, |i| tags[i as usize].key == key) {
            return i;
        }
        let i = self.tags.len() as u32;
        if self.tags.len() == self.tags.capacity() {
            self.tags = in_huge_pages(std::mem::take(&mut self.tags), 2);
        }
        self.tags.push(Tag::new(key));
        let (tags, hasher) = (&self.tags, &self.hasher);
        self.index
            .insert(hash, i, |j| hasher.hash_one(tags[j as usize].key.as_str()));
        i
    }

    /// The id of `key`, given the candidate that `apply`'s first pass named for it (any
    /// id, or `u32::MAX` for none): the candidate if it holds `key`, else what a full
    /// lookup finds, adding the key when it is new.
    fn resolve(&mut self, key: &str, hash: u64, candidate: u32) -> u32 {
        if self
            .tags
            .get(candidate as usize)
            .is_some_and(|t| t.key == key)
        {
            candidate
        } else {
            self.id_hashed(key, hash)
        }
    }

    /// Starts loading the tag record of `id`: its key, spellings and counts.
    #[inline]
    fn prefetch_tag(&self, id: u32) {
        if let Some(t) = self.tags.get(id as usize) {
            let p: *const Tag = t;
            prefetch(p);
            prefetch(p.cast::<u8>().wrapping_add(64));
            prefetch(p.cast::<u8>().wrapping_add(128));
        }
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
                round3(v)
            }
            _ => t.total as f64,
        }
    }

    /// The output line of tag `id` after a batch, and the count it reports kept for the
    /// next `delta`.
    fn line(&mut self, id: u32, slot: i64, uses: u64) -> TagCount {
        let t = &self.tags[id as usize];
        let count = self.count_of(t, slot);
        let users = self.users_of(t, slot);
        let t = &mut self.tags[id as usize];
        let delta = round3(count - t.reported);
        t.reported = count;
        TagCount {
            tag: t.key.as_str().to_owned(),
            text: t.text().to_owned(),
            count,
            delta,
            uses,
            trend: t.trend,
            users,
        }
    }

    /// Event time: the number of the batch of `slot`. Numbers follow slots from the first
    /// slot counted, so they may skip, and they always grow.
    pub fn number_slot(&mut self, slot: i64) -> u64 {
        let origin = *self.origin_slot.get_or_insert(slot);
        (slot - origin + 1).max(self.last_batch as i64 + 1) as u64
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
        // `tt count` gives the uses sorted by key, each key's spellings together; a batch
        // made another way is sorted here (stably: the first spelling seen stays first).
        let sorted_copy;
        let uses: &[SpellingUses] = if b.uses.is_sorted_by(|x, y| x.key <= y.key) {
            &b.uses
        } else {
            let mut v = b.uses.clone();
            v.sort_by(|x, y| x.key.cmp(&y.key));
            sorted_copy = v;
            &sorted_copy
        };
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
        // Distinct authors in this batch, per tag; the pairs this batch saw.
        let mut batch_users: HashMap<u32, u64, foldhash::fast::RandomState> = HashMap::default();
        let mut batch_pairs: Vec<u64> = Vec::new();
        for TagUsers { key, users } in &b.users {
            let id = self.id(key);
            for name in users {
                let pair = (u64::from(id) << 32) | u64::from(self.user_id(name));
                *batch_users.entry(id).or_insert(0) += 1;
                if self.pairs.insert(pair, slot).is_none() {
                    self.tags[id as usize].users += 1;
                }
                if let Some(h) = self.config.half_life {
                    self.tags[id as usize].users_fwd += ((slot - self.landmark) as f64 / h).exp2();
                }
                batch_pairs.push(pair);
            }
        }
        // Leaving the window, before any count is read below.
        let mut left: Vec<u32> = Vec::new();
        if let Some(w) = self.config.window {
            while let Some(&(s, _, _)) = self.ring.front() {
                if s > slot - w as i64 {
                    break;
                }
                let (old_slot, old, old_pairs) = self.ring.pop_front().expect("front exists");
                for (id, n) in old {
                    self.tags[id as usize].window -= n;
                    left.push(id);
                }
                // An author leaves a tag's window when the batch that last saw the pair does.
                for pair in old_pairs {
                    if self.pairs.get(&pair) == Some(&old_slot) {
                        self.pairs.remove(&pair);
                        let id = (pair >> 32) as u32;
                        self.tags[id as usize].users -= 1;
                        left.push(id);
                    }
                }
            }
        }
        let was_trending = std::mem::take(&mut self.trending);
        // The tags used in this batch, in two passes, so that with a large state the cache
        // misses of many tags are in flight together instead of two in a row per tag (see
        // `index.rs`). The first reads only the index: each key's candidate id (the first
        // slot with its fingerprint), the slots prefetched LOOKUP_AHEAD keys on. The second
        // prefetches the candidates' records AHEAD keys on, checks each candidate's key
        // (a full lookup, or an insert, when it is not the key: a new tag or a fingerprint
        // shared by two keys), adds the uses, works out the trend and writes the output
        // line while the record is in cache. Two passes keep a batch in a 10-million-tag
        // state within 1.3x the cost of one in a 10-thousand-tag state, where one pass that
        // looked each key up in full was 1.8x (`cargo bench --bench count`; BENCHMARKS.md).
        // Lines come out in key order, as `uses` is.
        let hashes: Vec<u64> = uses
            .iter()
            .map(|u| self.hasher.hash_one(u.key.as_str()))
            .collect();
        let mut candidates: Vec<u32> = Vec::with_capacity(uses.len());
        for (i, &h) in hashes.iter().enumerate() {
            if let Some(&ahead) = hashes.get(i + LOOKUP_AHEAD) {
                self.index.prefetch(ahead);
            }
            candidates.push(self.index.peek(h).unwrap_or(u32::MAX));
        }
        let mut batch_uses: Vec<(u32, u64)> = Vec::with_capacity(uses.len());
        let mut counts = Vec::with_capacity(uses.len() + was_trending.len());
        let mut touched: HashSet<u32, foldhash::fast::RandomState> =
            HashSet::with_capacity_and_hasher(uses.len() + was_trending.len(), Default::default());
        let mut uses_of_key = 0;
        for (i, SpellingUses { key, text, uses: n }) in uses.iter().enumerate() {
            if let Some(&ahead) = candidates.get(i + AHEAD) {
                self.prefetch_tag(ahead);
            }
            let id = self.resolve(key, hashes[i], candidates[i]);
            let t = &mut self.tags[id as usize];
            match t.spellings.iter_mut().find(|s| s.0 == *text) {
                Some(s) => s.1 += n,
                None => t.spellings.push((CompactString::from(text.as_str()), *n)),
            }
            uses_of_key += n;
            if uses.get(i + 1).is_some_and(|next| next.key == *key) {
                continue; // more spellings of this key follow
            }
            let n = std::mem::take(&mut uses_of_key);
            t.total += n;
            t.window += n;
            if let Some(h) = self.config.half_life {
                t.fwd += n as f64 * ((slot - self.landmark) as f64 / h).exp2();
            }
            // Trend against the baseline of earlier batches, then fold this batch in.
            let e = t.baseline_at(slot - 1, keep);
            // With --distinct users the trend follows authors: bots repeating a tag
            // do not make it trend.
            let seen = if self.config.distinct_users {
                batch_users.get(&id).copied().unwrap_or(0)
            } else {
                n
            };
            let o = seen as f64;
            t.trend = if seen < self.config.min_support || history < 1.0 {
                0.0
            } else {
                ((o - 3.0 * o.sqrt()) / (e / gathered).max(1.0) - 1.0).max(0.0)
            };
            t.trend = round3(t.trend);
            t.base = e * keep + o * (1.0 - keep);
            t.base_slot = slot;
            if t.trend > 0.0 {
                self.trending.push(id);
            }
            counts.push(self.line(id, slot, n));
            batch_uses.push((id, n));
            touched.insert(id);
        }
        if self.config.window.is_some() {
            self.ring.push_back((slot, batch_uses, batch_pairs));
        }
        // Tags not used in this batch whose trend falls back to 0 or whose count left the
        // window: one line each, sorted on their own and merged in.
        let extra: Vec<u32> = was_trending
            .into_iter()
            .chain(left)
            .filter(|&id| touched.insert(id))
            .collect();
        if !extra.is_empty() {
            let mut others = Vec::with_capacity(extra.len());
            for (i, &id) in extra.iter().enumerate() {
                if let Some(&next) = extra.get(i + AHEAD) {
                    self.prefetch_tag(next);
                }
                self.tags[id as usize].trend = 0.0;
                others.push(self.line(id, slot, 0));
            }
            others.sort_unstable_by(|a, b| a.tag.cmp(&b.tag));
            let mut merged = Vec::with_capacity(counts.len() + others.len());
            let mut others = others.into_iter().peekable();
            for c in counts {
                while let Some(o) = others.next_if(|o| o.tag < c.tag) {
                    merged.push(o);
                }
                merged.push(c);
            }
            merged.extend(others);
            counts = merged;
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
            distinct_users: false,
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
                .map(|&(k, c)| SpellingUses::new(k, k, c))
                .collect(),
            users: Vec::new(),
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
    fn a_trend_that_stops_as_its_uses_leave_the_window_is_reported_at_0_once() {
        let mut c = Counter::new(Config {
            window: Some(1),
            ..cfg()
        });
        for n in 1..=10 {
            c.apply(&batch(n, &[("steady", 20)]));
        }
        let u = c.apply(&batch(11, &[("steady", 20), ("burst", 100)]));
        assert!(u.counts.iter().any(|t| t.tag == "burst" && t.trend > 0.0));
        // `burst` leaves the window and stops trending in the same batch.
        let u = c.apply(&batch(12, &[("steady", 20)]));
        let b = u.counts.iter().find(|t| t.tag == "burst").unwrap();
        assert_eq!((b.count, b.trend), (0.0, 0.0));
        let u = c.apply(&batch(13, &[("steady", 20)]));
        assert!(u.counts.iter().all(|t| t.tag != "burst"), "reported once");
    }

    /// A candidate from the index's first pass is only a hint: a wrong one (another key
    /// with the same fingerprint) or none must still give the key's own id.
    #[test]
    fn a_wrong_candidate_id_is_checked_against_the_key() {
        let mut c = Counter::new(cfg());
        c.apply(&batch(1, &[("a", 1), ("b", 1)]));
        let (a, b) = (c.id("a"), c.id("b"));
        let h = |c: &Counter, k: &str| c.hasher.hash_one(k);
        assert_eq!(c.resolve("b", h(&c, "b"), a), b);
        assert_eq!(c.resolve("a", h(&c, "a"), u32::MAX), a);
        assert_eq!(c.resolve("a", h(&c, "a"), a), a);
        let new = c.resolve("new", h(&c, "new"), b);
        assert_eq!((new, c.tags.len()), (2, 3), "a new key is added");
        assert_eq!(c.tags[new as usize].key, "new");
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
