//! Tag uses into batches: what `tt count` counts. With processing time there is one open
//! batch, closed by the caller on the clock or at end of input. With event time each use
//! goes to the slot of its own `at` (slot = at / batch length), and a slot closes once a
//! use more than the lateness allowance past its end has been read; a use for a slot
//! already closed is late and dropped. So a saved stream gives the same batches at any
//! replay speed.
//!
//! Partial batches (`tt combine`'s output: one slot's uses, aggregated) are taken like the
//! uses they came from: merged into the open batch, or into their slot, which they stand
//! for from its start.
//!
//! A batch aggregates its uses (uses per tag and spelling, posts, and with distinct users
//! the authors per tag), and remembers where the input stood before its first line, so a
//! resumed run can start reading there.

use std::collections::{BTreeMap, HashMap};

use compact_str::CompactString;
use smallvec::SmallVec;

use crate::counter::{Config, Counter};
use crate::record::{Batch, CountIn, Partial, SpellingUses, TagUsers, UseIn};
use crate::state::InputPos;
use crate::time::{self, Millis};

/// The open batches.
pub struct Batcher {
    batch_ms: Option<i64>,
    event_time: bool,
    lateness_ms: i64,
    distinct: bool,
    /// Processing time and end of input: the open batch.
    open: Agg,
    /// Event time: the open slots.
    slots: BTreeMap<i64, Agg>,
    /// Event time: the newest time read.
    max_at: Millis,
    /// Event time: how far the input has surely moved, when the caller knows better than
    /// the newest time read (a topic's partitions: the oldest of their newest times).
    watermark: Option<Millis>,
    /// Event time: the newest slot closed; records of it or older are late.
    closed: Option<i64>,
    /// The next record continues the post of the one before it on its own part of the
    /// input (see [`Self::continue_post`]).
    continuing: bool,
    /// Event time: uses dropped because their slot had closed.
    pub late: u64,
}

impl Batcher {
    /// Batches as `config` says (their length, processing or event time, distinct
    /// authors). `closed`: the newest slot already counted, when resuming (records up to it
    /// are late).
    pub fn new(config: &Config, lateness_ms: u64, closed: Option<i64>) -> Batcher {
        Self::slots(
            config.batch_ms,
            config.event_time,
            config.distinct_users,
            lateness_ms,
            closed,
        )
    }

    /// Batches by length, time and authors alone, for a caller with no counting to do
    /// (`tt combine`).
    pub fn slots(
        batch_ms: Option<u64>,
        event_time: bool,
        distinct: bool,
        lateness_ms: u64,
        closed: Option<i64>,
    ) -> Batcher {
        Batcher {
            batch_ms: batch_ms.map(|b| b as i64),
            event_time,
            lateness_ms: lateness_ms as i64,
            distinct,
            open: Agg::new(distinct),
            slots: BTreeMap::new(),
            max_at: Millis::MIN,
            watermark: None,
            closed,
            continuing: false,
            late: 0,
        }
    }

    /// Adds one record read: with processing time to the open batch, with event time to
    /// the slot of its time (a tag use's `at`, a partial batch's slot), or counts it late
    /// when that slot has closed. `before` says where the input stood before the record's
    /// line (asked only for a batch's first line: no copy per line). `Ok` gives the
    /// record's time with event time; `Err` says why the line cannot be counted.
    pub fn add(
        &mut self,
        rec: &CountIn,
        before: impl FnOnce() -> InputPos,
    ) -> Result<Option<Millis>, String> {
        // For this record only, whatever becomes of it (late, or a bad line).
        let continuing = std::mem::take(&mut self.continuing);
        let (slot, at) = match (rec, self.batch_ms.filter(|_| self.event_time)) {
            (CountIn::Use(u), None) => {
                if continuing {
                    self.open.continue_post(u);
                }
                self.open.add(u, before);
                return Ok(None);
            }
            (CountIn::Partial(p), None) => {
                self.check_users(p)?;
                self.open.merge(p, before);
                return Ok(None);
            }
            (CountIn::Use(u), Some(b)) => {
                let at =
                    u.at.as_ref()
                        .and_then(|a| time::parse_any(a.as_str()))
                        .ok_or("no readable `at` time, needed by --time event")?;
                (at.div_euclid(b), at)
            }
            (CountIn::Partial(p), Some(b)) => {
                self.check_users(p)?;
                if p.batch_ms as i64 != b {
                    return Err(format!(
                        "a partial batch of {} ms slots, and the batches here are {b} ms: \
                         make the partial batches with the same --batch",
                        p.batch_ms
                    ));
                }
                // A partial stands for uses anywhere in its slot: taking its start as the
                // time read never closes a slot sooner than its uses would have.
                (p.slot, p.slot.saturating_mul(b))
            }
        };
        if self.closed.is_some_and(|c| slot <= c) {
            self.late += match rec {
                CountIn::Use(_) => 1,
                CountIn::Partial(p) => p.uses.iter().map(|u| u.uses).sum(),
            };
            return Ok(Some(at));
        }
        let distinct = self.distinct;
        let agg = self.slots.entry(slot).or_insert_with(|| Agg::new(distinct));
        match rec {
            CountIn::Use(u) => {
                if continuing {
                    agg.continue_post(u);
                }
                agg.add(u, before)
            }
            CountIn::Partial(p) => agg.merge(p, before),
        }
        self.max_at = self.max_at.max(at);
        Ok(Some(at))
    }

    /// Says that the next record continues the post of the last record read from the same
    /// part of the input, though records of other parts came between (a post's uses split
    /// over two messages of one partition): it is not a new post.
    /// `false` takes it back (the message had no record to count).
    pub fn continue_post(&mut self, yes: bool) {
        self.continuing = yes;
    }

    /// Event time: closes slots by `watermark` (how far every part of the input has moved)
    /// instead of by the newest time read; `None` goes back to the newest time read.
    pub fn set_watermark(&mut self, watermark: Option<Millis>) {
        self.watermark = watermark;
    }

    fn check_users(&self, p: &Partial) -> Result<(), String> {
        let users = p.users.iter().flatten().map(|u| u.key.as_str());
        if p.uses
            .iter()
            .map(|u| u.key.as_str())
            .chain(users)
            .any(str::is_empty)
        {
            return Err("a partial batch names an empty tag".into());
        }
        if let Some(users) = &p.users {
            let used: std::collections::HashSet<&str> = p
                .uses
                .iter()
                .filter(|u| u.uses > 0)
                .map(|u| u.key.as_str())
                .collect();
            if let Some(u) = users.iter().find(|u| !used.contains(u.key.as_str())) {
                return Err(format!(
                    "a partial batch names authors of `{}` but no use of it",
                    u.key
                ));
            }
        }
        if self.distinct && p.users.is_none() {
            return Err(
                "a partial batch made without --distinct users: it holds no \
                        authors to count"
                    .into(),
            );
        }
        Ok(())
    }

    /// Event time: the oldest open slot if it is due (it ends at or before the newest
    /// time read less the lateness allowance, or `all` at end of input), as a batch
    /// numbered 0: the caller numbers it ([`Counter::number_slot`]).
    pub fn next_due(&mut self, all: bool) -> Option<Batch> {
        let b = self.batch_ms.expect("event time has a batch length");
        let until = if all {
            Millis::MAX
        } else {
            self.watermark
                .unwrap_or(self.max_at)
                .saturating_sub(self.lateness_ms)
        };
        let (&slot, _) = self.slots.first_key_value()?;
        let end = (slot + 1) * b;
        if end > until {
            return None;
        }
        let agg = self.slots.remove(&slot).expect("present");
        self.closed = Some(slot);
        Some(agg.into_batch(0, slot, end))
    }

    /// Processing time and end of input: closes the open batch at `end`.
    pub fn close_open(&mut self, end: Millis, counter: &Counter) -> Batch {
        let agg = std::mem::replace(&mut self.open, Agg::new(self.distinct));
        let batch = counter.last_batch + 1;
        let slot = match self.batch_ms {
            Some(b) => (end - 1).div_euclid(b),
            None if counter.last_slot == i64::MIN => 0,
            None => counter.last_slot + 1,
        };
        agg.into_batch(batch, slot, end)
    }

    /// Whether the open batch has neither uses nor posts.
    pub fn open_is_empty(&self) -> bool {
        self.open.map.is_empty() && self.open.posts == 0
    }

    /// Event time: where a resumed run must start reading, the first line of the earliest
    /// batch still open; `None` when none is.
    pub fn resume_from(&self) -> Option<&InputPos> {
        self.slots
            .values()
            .filter_map(|a| a.start.as_ref())
            .min_by_key(|p| p.offset)
    }
}

/// One batch's tag uses as they arrive.
struct Agg {
    /// key -> (spelling, uses). foldhash: randomly seeded per process, so crafted tags
    /// cannot flood one bucket, and cheaper than SipHash (with the reused id buffer
    /// below, 1.37 G -> 1.28 G instructions for 330k uses under callgrind; README). The
    /// key and the first spelling are inline, as in the counter's table: with `String`s
    /// each lookup compared bytes in two more cache lines (`memcmp` was 17 % of `tt count`
    /// on 415,153 uses, perf; BENCHMARKS.md, "What changed").
    map: HashMap<CompactString, SmallVec<[(CompactString, u64); 1]>, foldhash::fast::RandomState>,
    /// With --distinct users: key -> the distinct authors in this batch.
    users: HashMap<
        String,
        std::collections::HashSet<String, foldhash::fast::RandomState>,
        foldhash::fast::RandomState,
    >,
    distinct: bool,
    posts: u64,
    last_id: String,
    has_last_id: bool,
    /// Where the input stood before this batch's first line (event time resumes there).
    start: Option<InputPos>,
}

impl Agg {
    fn new(distinct: bool) -> Agg {
        Agg {
            map: HashMap::default(),
            users: HashMap::default(),
            distinct,
            posts: 0,
            last_id: String::new(),
            has_last_id: false,
            start: None,
        }
    }

    /// The post of `u` has been counted already (see [`Batcher::continue_post`]).
    fn continue_post(&mut self, u: &UseIn) {
        if let Some(id) = u.id.as_ref() {
            self.last_id.clear();
            self.last_id.push_str(id.as_str());
            self.has_last_id = true;
        }
    }

    fn add(&mut self, u: &UseIn, before: impl FnOnce() -> InputPos) {
        if self.start.is_none() {
            self.start = Some(before());
        }
        let key = u.tag.as_str();
        let text = u.text.as_ref().map_or(key, |t| t.as_str());
        if self.distinct {
            if let Some(user) = u.user.as_ref().map(|u| u.as_str()) {
                match self.users.get_mut(key) {
                    Some(set) => {
                        if !set.contains(user) {
                            set.insert(user.to_owned());
                        }
                    }
                    None => {
                        let mut set = std::collections::HashSet::default();
                        set.insert(user.to_owned());
                        self.users.insert(key.to_owned(), set);
                    }
                }
            }
        }
        self.add_uses(key, text, 1);
        // Records of one post are consecutive in `tt tags` output.
        match u.id.as_ref().map(|i| i.as_str()) {
            Some(id) if self.has_last_id && id == self.last_id => {}
            Some(id) => {
                self.posts += 1;
                self.last_id.clear();
                self.last_id.push_str(id);
                self.has_last_id = true;
            }
            None => {
                self.posts += 1;
                self.has_last_id = false;
            }
        }
    }

    fn add_uses(&mut self, key: &str, text: &str, n: u64) {
        match self.map.get_mut(key) {
            Some(sp) => match sp.iter_mut().find(|s| s.0 == text) {
                Some(s) => s.1 += n,
                None => sp.push((CompactString::from(text), n)),
            },
            None => {
                let sp = smallvec::smallvec![(CompactString::from(text), n)];
                self.map.insert(CompactString::from(key), sp);
            }
        }
    }

    /// Adds a partial batch of the same slot: uses and posts add up, authors unite.
    fn merge(&mut self, p: &Partial, before: impl FnOnce() -> InputPos) {
        if self.start.is_none() {
            self.start = Some(before());
        }
        for u in &p.uses {
            self.add_uses(&u.key, &u.text, u.uses);
        }
        if let (true, Some(users)) = (self.distinct, &p.users) {
            for tu in users {
                let set = self.users.entry(tu.key.clone()).or_default();
                set.extend(tu.users.iter().cloned());
            }
        }
        self.posts += p.posts;
        // The next use starts a new post.
        self.has_last_id = false;
    }

    fn into_batch(self, batch: u64, slot: i64, end: Millis) -> Batch {
        let mut uses: Vec<SpellingUses> = self
            .map
            .into_iter()
            .flat_map(|(key, sp)| {
                sp.into_iter().map(move |(text, uses)| SpellingUses {
                    key: key.clone(),
                    text,
                    uses,
                })
            })
            .collect();
        crate::order::sort_by_head(&mut uses, |u| crate::order::prefix(&u.key));
        let mut users: Vec<TagUsers> = self
            .users
            .into_iter()
            .map(|(key, set)| {
                let mut users: Vec<String> = set.into_iter().collect();
                users.sort_unstable();
                TagUsers { key, users }
            })
            .collect();
        users.sort_unstable();
        Batch {
            batch,
            slot,
            end,
            posts: self.posts,
            uses,
            users,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(event_time: bool) -> Config {
        Config {
            batch_ms: Some(1000),
            event_time,
            window: None,
            half_life: None,
            baseline: 10.0,
            min_support: 5,
            distinct_users: false,
            max_tags: None,
        }
    }

    fn line(tag: &str, id: u64, at_ms: i64) -> String {
        let at = time::format_rfc3339(at_ms);
        format!(
            r#"{{"tag":"{tag}","text":"{tag}","id":"{id}","at":"{at}","user":null,"rt":false}}"#
        )
    }

    /// A batch as (number, slot, [(key, uses)]).
    type Seen = (u64, i64, Vec<(String, u64)>);

    fn seen(b: &Batch) -> Seen {
        let uses = b.uses.iter().map(|u| (u.key.to_string(), u.uses)).collect();
        (b.batch, b.slot, uses)
    }

    /// (what, uses as (tag, at in ms), lateness in ms, batches as (number, slot,
    /// [(key, uses)]), late uses)
    type Case = (
        &'static str,
        &'static [(&'static str, i64)],
        u64,
        &'static [(u64, i64, &'static [(&'static str, u64)])],
        u64,
    );

    /// Event time, batches of 1 s: uses (tag, at in ms) in read order, the lateness, the
    /// batches that come out (closing as they fall due, then the rest at end of input),
    /// and how many uses were late.
    #[test]
    fn event_time_slots() {
        let cases: &[Case] = &[
            (
                "in order: a slot closes once a use is past its end plus the lateness",
                &[("a", 100), ("b", 200), ("a", 1100), ("c", 2500)],
                1000,
                &[
                    (1, 0, &[("a", 1), ("b", 1)]),
                    (2, 1, &[("a", 1)]),
                    (3, 2, &[("c", 1)]),
                ],
                0,
            ),
            (
                "an earlier slot still open takes a use; numbers follow slots and skip",
                &[("a", 2500), ("b", 100)],
                0,
                &[(1, 0, &[("b", 1)]), (3, 2, &[("a", 1)])],
                0,
            ),
            (
                "a use for a closed slot is late and dropped",
                &[("a", 100), ("b", 2100), ("c", 500)],
                0,
                &[(1, 0, &[("a", 1)]), (3, 2, &[("b", 1)])],
                1,
            ),
            (
                "uses of one tag add up; a negative time is a slot like any other",
                &[("a", -500), ("a", -400), ("z", 600)],
                1000,
                &[(1, -1, &[("a", 2)]), (2, 0, &[("z", 1)])],
                0,
            ),
        ];
        for &(what, uses, lateness, want, late) in cases {
            let cfg = config(true);
            let mut counter = Counter::new(cfg.clone());
            let mut b = Batcher::new(&cfg, lateness, None);
            let mut got = Vec::new();
            let mut close = |b: &mut Batcher, all: bool, got: &mut Vec<Seen>| {
                while let Some(mut batch) = b.next_due(all) {
                    batch.batch = counter.number_slot(batch.slot);
                    counter.apply(&batch);
                    got.push(seen(&batch));
                }
            };
            for (i, &(tag, at)) in uses.iter().enumerate() {
                let l = line(tag, i as u64, at);
                b.add(&CountIn::parse(&l).unwrap(), InputPos::default)
                    .unwrap();
                close(&mut b, false, &mut got);
            }
            close(&mut b, true, &mut got);
            let want: Vec<Seen> = want
                .iter()
                .map(|&(n, s, u)| (n, s, u.iter().map(|&(k, c)| (k.into(), c)).collect()))
                .collect();
            assert_eq!(got, want, "{what}");
            assert_eq!(b.late, late, "{what}: late");
        }
    }

    #[test]
    fn processing_time_batch_posts_and_resume_position() {
        let cfg = config(false);
        let counter = Counter::new(cfg.clone());
        let mut b = Batcher::new(&cfg, 0, None);
        assert!(b.open_is_empty());
        // Two uses of one post (same id, consecutive), one of another.
        for (tag, id) in [("x", 1), ("y", 1), ("x", 2)] {
            let l = line(tag, id, 0);
            b.add(&CountIn::parse(&l).unwrap(), InputPos::default)
                .unwrap();
        }
        let batch = b.close_open(5000, &counter);
        assert_eq!(
            (batch.batch, batch.slot, batch.posts),
            (1, 4, 2),
            "slot of a batch ending at 5 s is 4"
        );
        assert_eq!(seen(&batch).2, [("x".to_string(), 2), ("y".to_string(), 1)]);
        assert!(b.open_is_empty());
        assert!(
            b.resume_from().is_none(),
            "processing time keeps no open slot"
        );
    }
}
