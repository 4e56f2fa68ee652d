//! The ranking table of `tt top`: count updates folded in one at a time, the leaders by
//! count, trend or distinct authors read out after each. A tag's place in the order is
//! updated only when its line arrives, so a batch costs what it changed, not the table.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

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
    text: String,
    /// Count as reported; with decay, scaled to the landmark (see `Board::landmark`).
    count: f64,
    trend: f64,
    /// Distinct authors, scaled like `count`.
    users: Option<f64>,
}

/// The table and its order.
pub struct Board {
    by: By,
    entries: HashMap<String, Entry>,
    order: BTreeSet<(Reverse<Val>, String)>,
    /// Decayed counts are stored as count·2^((end − landmark)/half_life), which ranks them
    /// as of any one time without touching unchanged tags.
    landmark: Option<f64>,
    half_life: Option<f64>,
    last_end_s: f64,
}

impl Board {
    pub fn new(by: By) -> Board {
        Board {
            by,
            entries: HashMap::new(),
            order: BTreeSet::new(),
            landmark: None,
            half_life: None,
            last_end_s: 0.0,
        }
    }

    fn rank_value(&self, e: &Entry) -> Option<f64> {
        match self.by {
            By::Count if e.count > 0.0 => Some(e.count),
            By::Trend if e.trend > 0.0 => Some(e.trend),
            By::Users => e.users.filter(|&u| u > 0.0),
            _ => None,
        }
    }

    /// Folds in one update.
    pub fn apply(&mut self, end_s: f64, half_life: Option<f64>, counts: &[TagCount]) {
        self.half_life = half_life;
        self.last_end_s = end_s;
        let scale = match half_life {
            Some(h) => {
                let l = *self.landmark.get_or_insert(end_s);
                ((end_s - l) / h).exp2()
            }
            None => 1.0,
        };
        for c in counts {
            if let Some(old) = self.entries.get(&c.tag) {
                if let Some(v) = self.rank_value(old) {
                    self.order.remove(&(Reverse(Val(v)), c.tag.clone()));
                }
            }
            let e = Entry {
                text: c.text.clone(),
                count: c.count * scale,
                trend: c.trend,
                users: c.users.map(|u| u * scale),
            };
            if let Some(v) = self.rank_value(&e) {
                self.order.insert((Reverse(Val(v)), c.tag.clone()));
            }
            if e.count == 0.0 && e.trend == 0.0 && e.users.unwrap_or(0.0) == 0.0 {
                self.entries.remove(&c.tag);
            } else {
                self.entries.insert(c.tag.clone(), e);
            }
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
                }
            })
            .collect()
    }
}
