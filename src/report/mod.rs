//! Count updates into what `tt report` shows: a timeline of tags' uses re-binned per period,
//! the bursts (runs of batches with a trend above a threshold), and the leaders of each
//! period. Pure: updates in, [`Data`] (serialized into the page) out.
//!
//! What is kept: every tag's uses per batch are read, but the page gets the series of the
//! `keep` most used tags, and of every tag that burst or led a period; the others are
//! counted in the summary (`dropped`), so a year of hourly batches or a day of 2 s batches
//! stays a page of a few MB.

use std::collections::HashMap;

use compact_str::CompactString;
use serde::Serialize;

use crate::record::{Num, Update};
use crate::time::{self, Millis};

const TEMPLATE: &str = include_str!("assets/report.html");
const STYLE: &str = include_str!("assets/report.css");
const APP_JS: &str = include_str!("assets/report.js");
/// The same vendored Chart.js as `tt serve`'s page (its licence is in that folder).
const CHART_JS: &str = include_str!("../serve/assets/chart.umd.min.js");

/// The page: one self-contained HTML file. Its Content-Security-Policy allows no request
/// at all (`default-src 'none'`) and only the page's own inline script and style, by
/// their SHA-256; the data sits in a `type="application/json"` block, which is never run,
/// with every `<` written as `\u003c` so no label can close the block.
pub fn page(data: &Data) -> String {
    use base64::Engine;
    use sha2::Digest;
    let hash = |s: &str| {
        let d = sha2::Sha256::digest(s.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(d)
        )
    };
    let csp = format!(
        "default-src 'none'; script-src {} {}; style-src {}; img-src data: blob:; \
         base-uri 'none'; form-action 'none'",
        hash(CHART_JS),
        hash(APP_JS),
        hash(STYLE)
    );
    let json = serde_json::to_string(data)
        .expect("serializable")
        .replace('<', "\\u003c");
    // Filled in one pass, so text inside one part (a label with `{{APP_JS}}`, say) is
    // never taken for a slot.
    let mut out = String::with_capacity(TEMPLATE.len() + CHART_JS.len() + json.len());
    let mut rest = TEMPLATE;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after.find("}}").expect("template slots are closed");
        out.push_str(match &after[..j] {
            "CSP" => &csp,
            "STYLE" => STYLE,
            "DATA" => &json,
            "CHART_JS" => CHART_JS,
            "APP_JS" => APP_JS,
            other => unreachable!("no slot {other} in the template"),
        });
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    out
}

/// What the report is made with.
#[derive(Debug, Clone)]
pub struct Options {
    /// Timeline bin length in ms; `None`: chosen so the timeline has at most 1,500 bins.
    pub period: Option<u64>,
    /// Leaders table period in ms; `None`: the smallest of 1m, 10m, 1h, 1d, 7d with at most
    /// 400 rows.
    pub leaders_every: Option<u64>,
    /// How many of the most used tags keep their series (besides bursting and leading ones).
    pub keep: usize,
    /// A burst: consecutive batches whose trend stays above this.
    pub burst_trend: f64,
    /// Tags drawn when the page opens.
    pub show: usize,
}

/// One tag as read: its spelling, and its uses and trend per batch (sparse).
#[derive(Default)]
struct Tag {
    text: CompactString,
    total: u64,
    uses: Vec<(u32, u32)>,
    /// The burst under way: (first batch, peak batch, peak trend, uses so far, last batch).
    open: Option<(u32, u32, f64, u64, u32)>,
}

/// The report's data, as the page reads it.
#[derive(Debug, Serialize)]
pub struct Data {
    pub summary: Summary,
    /// Start of each timeline bin, ms since the epoch.
    pub bins: Vec<Millis>,
    pub series: Vec<Series>,
    /// Indices into `series` of the tags drawn when the page opens.
    pub shown: Vec<usize>,
    pub bursts: Vec<Burst>,
    pub leaders_every_ms: u64,
    pub leaders: Vec<PeriodLeaders>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub from: String,
    pub to: String,
    pub batches: u64,
    pub batch_ms: u64,
    pub posts: u64,
    pub tags: usize,
    pub counting: String,
    pub half_life_s: Option<Num>,
    pub period_ms: u64,
    pub kept: usize,
    pub dropped: usize,
    pub burst_trend: Num,
}

#[derive(Debug, Serialize)]
pub struct Series {
    pub tag: String,
    pub text: String,
    pub total: u64,
    /// Uses per bin.
    pub uses: Vec<u64>,
}

#[derive(Debug, Serialize)]
pub struct Burst {
    pub tag: String,
    pub text: String,
    /// Start of its first batch, and end of its peak batch, ms since the epoch.
    pub start: Millis,
    pub peak_at: Millis,
    pub peak: Num,
    /// Batches from the first to the last above the threshold.
    pub batches: u64,
    pub uses: u64,
    /// The bins it spans on the timeline.
    pub bins: (usize, usize),
    /// Its index in `series`.
    pub series: usize,
}

#[derive(Debug, Serialize)]
pub struct PeriodLeaders {
    pub start: Millis,
    /// (spelling, uses), most used first, at most 3.
    pub top: Vec<(String, u64)>,
}

/// Reads count updates one by one.
pub struct Builder {
    opts: Options,
    tags: HashMap<CompactString, Tag, foldhash::fast::RandomState>,
    /// End of each batch read, in order, and its number.
    ends: Vec<Millis>,
    numbers: Vec<u64>,
    posts: u64,
    counting: String,
    half_life: Option<f64>,
    /// Closed bursts: (tag, first, peak, peak trend, uses, last) in batch indices.
    bursts: Vec<(CompactString, u32, u32, f64, u64, u32)>,
}

impl Builder {
    pub fn new(opts: Options) -> Builder {
        Builder {
            opts,
            tags: HashMap::default(),
            ends: Vec::new(),
            numbers: Vec::new(),
            posts: 0,
            counting: String::new(),
            half_life: None,
            bursts: Vec::new(),
        }
    }

    /// Adds the next update; `Err` says why it cannot be taken (its time is unreadable or
    /// goes back).
    pub fn add(&mut self, u: &Update) -> Result<(), String> {
        let end = time::parse_rfc3339(&u.end)
            .ok_or_else(|| format!("the batch end {:?} is not an RFC 3339 time", u.end))?;
        if let Some(&last) = self.ends.last() {
            if end <= last {
                return Err(format!(
                    "batch {} ends at {}, not after the batch before it ({}): give the \
                     updates of one tt count run, in order",
                    u.batch,
                    u.end,
                    time::format_rfc3339(last)
                ));
            }
        }
        let i = self.ends.len() as u32;
        self.ends.push(end);
        self.numbers.push(u.batch);
        self.posts += u.posts;
        if self.counting.is_empty() {
            self.counting = u.counting.clone();
            self.half_life = u.half_life;
        }
        let thr = self.opts.burst_trend;
        for c in &u.counts {
            let t = self.tags.entry(c.tag.clone()).or_default();
            if t.text != c.text {
                t.text.clone_from(&c.text);
            }
            if c.uses > 0 {
                t.total += c.uses;
                t.uses.push((i, c.uses.min(u32::MAX as u64) as u32));
            }
            // A tag's trend holds until its next line: it has one whenever it changes.
            match (&mut t.open, c.trend > thr) {
                (Some(b), true) => {
                    if c.trend > b.2 {
                        (b.1, b.2) = (i, c.trend);
                    }
                    b.3 += c.uses;
                    b.4 = i;
                }
                (None, true) => t.open = Some((i, i, c.trend, c.uses, i)),
                (Some(_), false) => {
                    let (a, p, s, n, z) = t.open.take().expect("open");
                    self.bursts.push((c.tag.clone(), a, p, s, n, z));
                }
                (None, false) => {}
            }
        }
        Ok(())
    }

    /// The report's data, once every update has been read; `None` when there was none.
    pub fn finish(mut self) -> Option<Data> {
        let (&first_end, &last_end) = (self.ends.first()?, self.ends.last()?);
        // Bursts still under way at the end close there.
        for (key, t) in &mut self.tags {
            if let Some((a, p, s, n, z)) = t.open.take() {
                self.bursts.push((key.clone(), a, p, s, n, z));
            }
        }
        let batch_ms = batch_length(&self.ends, &self.numbers);
        let from = first_end - batch_ms as Millis;
        let span = (last_end - from).max(1) as u64;
        let period = self
            .opts
            .period
            .unwrap_or_else(|| nice_at_least(span.div_ceil(1500)))
            .max(batch_ms);
        let nbins = span.div_ceil(period) as usize;
        let bin_of =
            |i: u32| ((self.ends[i as usize] - batch_ms as Millis - from) as u64 / period) as usize;
        let every = self.opts.leaders_every.unwrap_or_else(|| {
            [60_000, 600_000, 3_600_000, 86_400_000, 604_800_000]
                .into_iter()
                .find(|&p| span.div_ceil(p) <= 400)
                .unwrap_or(604_800_000)
        });
        let nperiods = span.div_ceil(every) as usize;
        // Leaders of each period, over all tags.
        let mut period_uses: Vec<Vec<(u64, &str)>> = vec![Vec::new(); nperiods];
        for t in self.tags.values() {
            let mut per: HashMap<usize, u64> = HashMap::new();
            for &(i, n) in &t.uses {
                let p =
                    ((self.ends[i as usize] - batch_ms as Millis - from) as u64 / every) as usize;
                *per.entry(p.min(nperiods - 1)).or_default() += n as u64;
            }
            for (p, n) in per {
                let v = &mut period_uses[p];
                v.push((n, t.text.as_str()));
                if v.len() > 64 {
                    v.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                    v.truncate(3);
                }
            }
        }
        let mut leading: Vec<&str> = Vec::new();
        let leaders: Vec<PeriodLeaders> = period_uses
            .into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(p, mut v)| {
                v.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                v.truncate(3);
                leading.push(v[0].1);
                PeriodLeaders {
                    start: from + (p as u64 * every) as Millis,
                    top: v.into_iter().map(|(n, t)| (t.to_string(), n)).collect(),
                }
            })
            .collect();
        // The tags kept: the most used, and every one that burst or led a period.
        let mut by_total: Vec<(&CompactString, &Tag)> = self.tags.iter().collect();
        by_total.sort_unstable_by(|a, b| b.1.total.cmp(&a.1.total).then(a.0.cmp(b.0)));
        let leading: std::collections::HashSet<&str> = leading.into_iter().collect();
        let bursting: std::collections::HashSet<&str> =
            self.bursts.iter().map(|b| b.0.as_str()).collect();
        let kept: Vec<(&CompactString, &Tag)> = by_total
            .iter()
            .enumerate()
            .filter(|(rank, (k, t))| {
                *rank < self.opts.keep
                    || bursting.contains(k.as_str())
                    || leading.contains(t.text.as_str())
            })
            .map(|(_, kt)| *kt)
            .collect();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let series: Vec<Series> = kept
            .iter()
            .enumerate()
            .map(|(s, (k, t))| {
                index.insert(k.as_str(), s);
                let mut uses = vec![0u64; nbins];
                for &(i, n) in &t.uses {
                    uses[bin_of(i).min(nbins - 1)] += n as u64;
                }
                Series {
                    tag: k.to_string(),
                    text: t.text.to_string(),
                    total: t.total,
                    uses,
                }
            })
            .collect();
        let mut bursts: Vec<Burst> = self
            .bursts
            .iter()
            .map(|(key, a, p, s, n, z)| Burst {
                tag: key.to_string(),
                text: self.tags[key].text.to_string(),
                start: self.ends[*a as usize] - batch_ms as Millis,
                peak_at: self.ends[*p as usize],
                peak: Num(crate::record::round3(*s)),
                batches: self.numbers[*z as usize] - self.numbers[*a as usize] + 1,
                uses: *n,
                bins: (bin_of(*a).min(nbins - 1), bin_of(*z).min(nbins - 1)),
                series: index[key.as_str()],
            })
            .collect();
        bursts.sort_by(|a, b| {
            b.peak
                .0
                .total_cmp(&a.peak.0)
                .then(a.start.cmp(&b.start))
                .then(a.tag.cmp(&b.tag))
        });
        let shown = (0..series.len().min(self.opts.show)).collect();
        Some(Data {
            summary: Summary {
                from: time::format_rfc3339(from),
                to: time::format_rfc3339(last_end),
                batches: self.ends.len() as u64,
                batch_ms,
                posts: self.posts,
                tags: self.tags.len(),
                counting: self.counting,
                half_life_s: self.half_life.map(Num),
                period_ms: period,
                kept: series.len(),
                dropped: self.tags.len() - series.len(),
                burst_trend: Num(self.opts.burst_trend),
            },
            bins: (0..nbins)
                .map(|b| from + (b as u64 * period) as Millis)
                .collect(),
            series,
            shown,
            bursts,
            leaders_every_ms: every,
            leaders,
        })
    }
}

/// The batch length: the smallest step of the ends per batch number (event time may skip
/// numbers); one second when there is a single batch.
fn batch_length(ends: &[Millis], numbers: &[u64]) -> u64 {
    ends.windows(2)
        .zip(numbers.windows(2))
        .filter(|(_, n)| n[1] > n[0])
        .map(|(e, n)| ((e[1] - e[0]) as u64 / (n[1] - n[0])).max(1))
        .min()
        .unwrap_or(1000)
}

/// The smallest round length at least `ms`: 1, 2, 5, 10, 30 s, 1, 2, 5, 10, 15, 30 min,
/// 1, 2, 3, 6, 12 h, 1 d, 7 d, then whole weeks.
fn nice_at_least(ms: u64) -> u64 {
    const S: u64 = 1000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    [
        S,
        2 * S,
        5 * S,
        10 * S,
        30 * S,
        M,
        2 * M,
        5 * M,
        10 * M,
        15 * M,
        30 * M,
        H,
        2 * H,
        3 * H,
        6 * H,
        12 * H,
        24 * H,
        7 * 24 * H,
    ]
    .into_iter()
    .find(|&p| p >= ms)
    .unwrap_or_else(|| ms.div_ceil(7 * 24 * H) * 7 * 24 * H)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::TagCount;

    fn update(batch: u64, end_s: i64, counts: &[(&str, u64, f64)]) -> Update {
        Update {
            batch,
            end: time::format_rfc3339(1_700_000_000_000 + end_s * 1000),
            posts: counts.iter().map(|c| c.1).sum(),
            tags: counts.len() as u64,
            counting: "total".into(),
            half_life: None,
            counts: counts
                .iter()
                .map(|&(t, uses, trend)| TagCount {
                    tag: t.into(),
                    text: t.to_uppercase().into(),
                    count: uses as f64,
                    delta: uses as f64,
                    uses,
                    trend,
                    users: None,
                    error: None,
                })
                .collect(),
        }
    }

    fn opts() -> Options {
        Options {
            period: None,
            leaders_every: None,
            keep: 1,
            burst_trend: 1.0,
            show: 10,
        }
    }

    /// Bursts: runs of batches above the threshold, the trend holding between a tag's
    /// lines, closed by a line at or below it or by the end; ranked by peak.
    #[test]
    fn bursts_and_what_is_kept() {
        let ups = [
            update(1, 2, &[("a", 10, 0.0), ("b", 1, 0.0)]),
            update(2, 4, &[("a", 10, 0.0), ("b", 20, 3.0)]),
            update(3, 6, &[("a", 10, 0.0), ("c", 9, 1.5)]),
            update(5, 10, &[("a", 10, 0.0), ("b", 2, 0.5), ("c", 30, 6.0)]),
        ];
        let mut b = Builder::new(opts());
        for u in &ups {
            b.add(u).unwrap();
        }
        let d = b.finish().unwrap();
        assert_eq!(
            d.summary.batch_ms, 2000,
            "batch numbers skip: the step per number"
        );
        assert_eq!(d.summary.batches, 4);
        let got: Vec<(&str, u64, u64, f64)> = d
            .bursts
            .iter()
            .map(|b| (b.tag.as_str(), b.batches, b.uses, b.peak.0))
            .collect();
        // c: batches 3..5 (numbers), still open at the end; b: batch 2 only.
        assert_eq!(got, [("c", 3, 39, 6.0), ("b", 1, 20, 3.0)]);
        assert_eq!(d.bursts[1].start, 1_700_000_002_000);
        // Kept: the most used (a, keep 1) and the two that burst; none dropped.
        let kept: Vec<&str> = d.series.iter().map(|s| s.tag.as_str()).collect();
        assert_eq!(kept, ["a", "c", "b"], "by uses: a 40, c 39, b 23");
        assert_eq!(d.summary.dropped, 0);
        let a = &d.series[0];
        assert_eq!(a.uses.iter().sum::<u64>(), 40);
    }

    #[test]
    fn updates_out_of_order_are_refused() {
        let mut b = Builder::new(opts());
        b.add(&update(2, 4, &[])).unwrap();
        let err = b.add(&update(1, 2, &[])).unwrap_err();
        assert!(err.contains("not after the batch before it"), "{err}");
        assert!(Builder::new(opts()).finish().is_none());
    }

    #[test]
    fn round_periods() {
        let cases = [
            (1, 1000),
            (1001, 2000),
            (45_000, 60_000),
            (3_600_001, 7_200_000),
        ];
        for (ms, want) in cases {
            assert_eq!(nice_at_least(ms), want, "{ms}");
        }
    }
}
