//! The ranking table of `tt top`: count updates folded in one at a time, the leaders by
//! count, trend or distinct authors read out after each. A tag's place in the order is
//! updated only when its line arrives, so a batch costs what it changed, not the table.
//!
//! The first update is kept as it came until a second one arrives: its leaders are picked
//! from it directly. At the end of a saved stream `tt count` writes one update of every
//! tag, which `tt top` ranks after `tt tags` has exited, with one core idle: building the
//! table from it was 40 % of `tt top`'s CPU time there (perf, one update of 37,353 tags),
//! and for one update the table is never used again.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use compact_str::CompactString;

use crate::record::{round3, By, Leader, TagCount};

/// An f64 with a total order, for the index.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Val(f64);
impl Eq for Val {}
impl PartialOrd for Val {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Val {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

struct Entry {
    text: CompactString,
    /// Count as reported; with decay, scaled to the landmark (see `Board::landmark`).
    count: f64,
    trend: f64,
    /// Distinct authors, scaled like `count`.
    users: Option<f64>,
    /// With `tt count --max-tags`: the most the count may be above the true one.
    error: Option<u64>,
}

/// The table and its order.
pub struct Board {
    by: By,
    /// foldhash, as in the batcher: SipHash was 11 % of `tt top 10` on one update of
    /// 37,353 tags (perf).
    entries: HashMap<CompactString, Entry, foldhash::fast::RandomState>,
    order: BTreeSet<(Reverse<Val>, CompactString)>,
    /// Decayed counts are stored as count·2^((end − landmark)/half_life), which ranks them
    /// as of any one time without touching unchanged tags.
    landmark: Option<f64>,
    half_life: Option<f64>,
    last_end_s: f64,
    /// The first update, not yet folded in (see the module's documentation).
    first: Option<First>,
}

/// An update into an empty board, as it came: its tags distinct and in order, as `tt
/// count` writes them.
struct First {
    end_s: f64,
    half_life: Option<f64>,
    counts: Vec<TagCount>,
}

impl Board {
    pub fn new(by: By) -> Board {
        Board {
            by,
            entries: HashMap::default(),
            order: BTreeSet::new(),
            landmark: None,
            half_life: None,
            last_end_s: 0.0,
            first: None,
        }
    }

    fn rank_value(&self, e: &Entry) -> Option<f64> {
        self.rank_of(e.count, e.trend, e.users)
    }

    fn rank_of(&self, count: f64, trend: f64, users: Option<f64>) -> Option<f64> {
        match self.by {
            By::Count if count > 0.0 => Some(count),
            By::Trend if trend > 0.0 => Some(trend),
            By::Users => users.filter(|&u| u > 0.0),
            _ => None,
        }
    }

    /// Takes in one update (see the module's documentation for the first).
    pub fn apply(&mut self, end_s: f64, half_life: Option<f64>, counts: Vec<TagCount>) {
        if let Some(f) = self.first.take() {
            self.fold(f.end_s, f.half_life, f.counts);
        }
        let in_order = || counts.windows(2).all(|w| w[0].tag < w[1].tag);
        // Decayed counts are kept as they came only when this update sets the landmark
        // (after an empty update it is already set, and they would need scaling to it).
        let unscaled = half_life.is_none() || self.landmark.is_none();
        if self.entries.is_empty() && self.order.is_empty() && unscaled && in_order() {
            // As folding it would set them; its counts need no scaling (the landmark is
            // its own end).
            self.half_life = half_life;
            self.last_end_s = end_s;
            if half_life.is_some() {
                self.landmark.get_or_insert(end_s);
            }
            self.first = Some(First {
                end_s,
                half_life,
                counts,
            });
            return;
        }
        self.fold(end_s, half_life, counts);
    }

    /// Folds in one update. Takes the lines by value: their strings move into the table
    /// instead of being copied (one update of 37,353 tags made five allocations a tag).
    fn fold(&mut self, end_s: f64, half_life: Option<f64>, counts: Vec<TagCount>) {
        self.half_life = half_life;
        self.last_end_s = end_s;
        let scale = match half_life {
            Some(h) => {
                let l = *self.landmark.get_or_insert(end_s);
                ((end_s - l) / h).exp2()
            }
            None => 1.0,
        };
        self.entries.reserve(counts.len());
        // Into an empty board (the first update, or the only one at the end of a saved
        // stream), the order is built at once from its sorted keys instead of one insert
        // at a time, which compared strings on every tie of a count down the tree: on one
        // update of 37,353 tags the inserts were a third of `tt top`'s perf samples.
        let mut fresh = self
            .order
            .is_empty()
            .then(|| Vec::with_capacity(counts.len()));
        // Whether a line replaced or removed a tag already on the board.
        let mut again = false;
        for c in counts {
            let mut tag = c.tag;
            if let (None, Some(old)) = (&fresh, self.entries.get(&tag)) {
                if let Some(v) = self.rank_value(old) {
                    let key = (Reverse(Val(v)), tag);
                    self.order.remove(&key);
                    tag = key.1;
                }
            }
            let e = Entry {
                text: c.text,
                count: c.count * scale,
                trend: c.trend,
                users: c.users.map(|u| u * scale),
                error: c.error,
            };
            if let Some(v) = self.rank_value(&e) {
                let key = (Reverse(Val(v)), tag.clone());
                match &mut fresh {
                    Some(keys) => keys.push(key),
                    None => {
                        self.order.insert(key);
                    }
                }
            }
            let replaced = if e.count == 0.0 && e.trend == 0.0 && e.users.unwrap_or(0.0) == 0.0 {
                self.entries.remove(&tag)
            } else {
                self.entries.insert(tag, e)
            };
            again |= replaced.is_some();
        }
        if let Some(mut keys) = fresh {
            // A tag given twice in one update keeps the place of its last line.
            if again {
                keys.retain(|(Reverse(Val(v)), tag)| {
                    self.entries
                        .get(tag)
                        .and_then(|e| self.rank_value(e))
                        .is_some_and(|now| now == *v)
                });
            }
            // Sorted first by number: ties of a count compare their tags only when their
            // first 8 bytes agree (the set's own sort then finds them in order).
            crate::order::sort_by_head(&mut keys, |(Reverse(Val(v)), tag)| {
                (!crate::order::total_order(*v), crate::order::prefix(tag))
            });
            self.order = keys.into_iter().collect();
        }
    }

    /// The first `n` leaders, counts as of the last update.
    pub fn leaders(&self, n: usize) -> Vec<Leader<'_>> {
        let unscale = match (self.half_life, self.landmark) {
            (Some(h), Some(l)) => (-(self.last_end_s - l) / h).exp2(),
            _ => 1.0,
        };
        let un = |v: f64| {
            if unscale == 1.0 {
                v
            } else {
                round3(v * unscale)
            }
        };
        if let Some(f) = &self.first {
            // The first n by the order's own rule: the value, larger first, then the tag.
            let mut ranked: Vec<(f64, &TagCount)> = f
                .counts
                .iter()
                .filter_map(|c| Some((self.rank_of(c.count, c.trend, c.users)?, c)))
                .collect();
            let by_place = |a: &(f64, &TagCount), b: &(f64, &TagCount)| {
                b.0.total_cmp(&a.0).then_with(|| a.1.tag.cmp(&b.1.tag))
            };
            if ranked.len() > n && n > 0 {
                ranked.select_nth_unstable_by(n - 1, by_place);
            }
            ranked.truncate(n);
            ranked.sort_unstable_by(by_place);
            return ranked
                .into_iter()
                .enumerate()
                .map(|(i, (_, c))| Leader {
                    rank: i + 1,
                    tag: Cow::Borrowed(c.tag.as_str()),
                    text: Cow::Borrowed(c.text.as_str()),
                    count: un(c.count),
                    trend: c.trend,
                    users: c.users.map(un),
                    error: c.error,
                })
                .collect();
        }
        self.order
            .iter()
            .take(n)
            .enumerate()
            .map(|(i, (_, tag))| {
                let e = &self.entries[tag];
                Leader {
                    rank: i + 1,
                    tag: Cow::Borrowed(tag.as_str()),
                    text: Cow::Borrowed(e.text.as_str()),
                    count: un(e.count),
                    trend: e.trend,
                    users: e.users.map(un),
                    error: e.error,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(tag: &str, count: f64, trend: f64, users: Option<f64>) -> TagCount {
        TagCount {
            tag: tag.into(),
            text: tag.to_uppercase().into(),
            count,
            delta: 0.0,
            uses: 0,
            trend,
            users,
            error: None,
        }
    }

    fn ranked(board: &Board, n: usize) -> Vec<(usize, String, f64)> {
        board
            .leaders(n)
            .iter()
            .map(|l| {
                let v = match board.by {
                    By::Count => l.count,
                    By::Trend => l.trend,
                    By::Users => l.users.unwrap_or(-1.0),
                };
                (l.rank, l.tag.to_string(), v)
            })
            .collect()
    }

    /// One update: (end in s, half-life in s, counts as (tag, count, trend, users)).
    type Update = (
        f64,
        Option<f64>,
        &'static [(&'static str, f64, f64, Option<f64>)],
    );
    type Case = (
        &'static str,
        By,
        &'static [Update],
        usize,
        &'static [(usize, &'static str, f64)],
    );

    /// (what, ranked by, updates as (end in s, half-life in s, counts), n, leaders as
    /// (rank, tag, value ranked by))
    #[test]
    fn leaders() {
        let cases: &[Case] = &[
            (
                "by count, ties by tag, cut at n",
                By::Count,
                &[(
                    2.0,
                    None,
                    &[
                        ("b", 5.0, 0.0, None),
                        ("a", 5.0, 0.0, None),
                        ("c", 9.0, 0.0, None),
                        ("d", 1.0, 0.0, None),
                    ],
                )],
                3,
                &[(1, "c", 9.0), (2, "a", 5.0), (3, "b", 5.0)],
            ),
            (
                "a later line replaces a tag's place; a count of 0 leaves the board",
                By::Count,
                &[
                    (2.0, None, &[("a", 5.0, 0.0, None), ("b", 3.0, 0.0, None)]),
                    (4.0, None, &[("a", 0.0, 0.0, None), ("b", 7.0, 0.0, None)]),
                ],
                10,
                &[(1, "b", 7.0)],
            ),
            (
                "a tag given twice in one update keeps its last line's place",
                By::Count,
                &[
                    (
                        2.0,
                        None,
                        &[
                            ("a", 5.0, 0.0, None),
                            ("b", 3.0, 0.0, None),
                            ("a", 1.0, 0.0, None),
                            ("c", 4.0, 0.0, None),
                            ("c", 0.0, 0.0, None),
                            ("d", 2.0, 0.0, None),
                            ("d", 2.0, 0.0, None),
                        ],
                    ),
                    (
                        4.0,
                        None,
                        &[
                            ("e", 9.0, 0.0, None),
                            ("e", 0.5, 0.0, None),
                            ("b", 6.0, 0.0, None),
                        ],
                    ),
                ],
                10,
                &[(1, "b", 6.0), (2, "d", 2.0), (3, "a", 1.0), (4, "e", 0.5)],
            ),
            (
                "by trend: only tags that trend",
                By::Trend,
                &[(
                    2.0,
                    None,
                    &[
                        ("a", 50.0, 0.0, None),
                        ("b", 3.0, 2.5, None),
                        ("c", 4.0, 0.5, None),
                    ],
                )],
                10,
                &[(1, "b", 2.5), (2, "c", 0.5)],
            ),
            (
                "by users: tags without distinct authors are not ranked",
                By::Users,
                &[(
                    2.0,
                    None,
                    &[
                        ("a", 5.0, 0.0, Some(2.0)),
                        ("b", 9.0, 0.0, None),
                        ("c", 1.0, 0.0, Some(3.0)),
                    ],
                )],
                10,
                &[(1, "c", 3.0), (2, "a", 2.0)],
            ),
            (
                "after an empty decayed update the next is scaled to its landmark",
                By::Count,
                &[
                    (10.0, Some(1.0), &[]),
                    (17.0, Some(1.0), &[("a", 1.0, 0.0, None)]),
                ],
                1,
                &[(1, "a", 1.0)],
            ),
            (
                "decayed counts of unchanged tags decay too (half-life 10 s)",
                By::Count,
                &[
                    (0.0, Some(10.0), &[("a", 8.0, 0.0, None)]),
                    (10.0, Some(10.0), &[("b", 5.0, 0.0, None)]),
                ],
                10,
                &[(1, "b", 5.0), (2, "a", 4.0)],
            ),
        ];
        for &(what, by, updates, n, want) in cases {
            // Each update taken in (the first kept aside when it can be), and folded in
            // at once: the same leaders after every update.
            let (mut board, mut folded) = (Board::new(by), Board::new(by));
            for &(end, half_life, counts) in updates {
                let counts: Vec<TagCount> = counts
                    .iter()
                    .map(|&(t, c, tr, u)| count(t, c, tr, u))
                    .collect();
                board.apply(end, half_life, counts.clone());
                folded.fold(end, half_life, counts);
                assert_eq!(ranked(&board, n), ranked(&folded, n), "{what}");
            }
            let want: Vec<(usize, String, f64)> = want
                .iter()
                .map(|&(r, t, v)| (r, t.to_string(), v))
                .collect();
            assert_eq!(ranked(&board, n), want, "{what}");
        }
    }

    /// One line of an update: (count, trend, authors), small so that values tie.
    fn line() -> impl proptest::strategy::Strategy<Value = (u8, u8, Option<u8>)> {
        (0u8..4, 0u8..3, proptest::option::of(0u8..3))
    }

    fn counts_of(lines: impl IntoIterator<Item = (String, (u8, u8, Option<u8>))>) -> Vec<TagCount> {
        lines
            .into_iter()
            .map(|(t, (c, tr, u))| count(&t, c.into(), tr.into(), u.map(f64::from)))
            .collect()
    }

    proptest::proptest! {
        /// The leaders of a first update kept aside are those of the table built from it,
        /// and stay so once a second update (its tags in any order, repeated) folds it in,
        /// and after a third (kept aside again when the second emptied the board): ties
        /// of a value, zeros, tags without authors, decay, any n.
        #[test]
        fn a_first_update_ranks_as_the_table_would(
            by in proptest::sample::select(vec![By::Count, By::Trend, By::Users]),
            first in proptest::collection::btree_map("[a-e]{1,3}", line(), 0..30),
            second in proptest::collection::vec(("[a-e]{1,3}", line()), 0..10),
            third in proptest::collection::btree_map("[a-e]{1,3}", line(), 0..10),
            half_life in proptest::option::of(1.0f64..100.0),
            n in 1usize..12,
        ) {
            let (mut board, mut folded) = (Board::new(by), Board::new(by));
            let updates = [
                (10.0, counts_of(first)),
                (17.0, counts_of(second)),
                (30.0, counts_of(third)),
            ];
            for (i, (end, counts)) in updates.into_iter().enumerate() {
                board.apply(end, half_life, counts.clone());
                proptest::prop_assert!(i > 0 || board.first.is_some(), "kept aside");
                folded.fold(end, half_life, counts);
                proptest::prop_assert_eq!(ranked(&board, n), ranked(&folded, n));
            }
        }
    }
}
