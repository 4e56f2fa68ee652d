//! `tt top N`: count updates in, one leaderboard per batch out.
//!
//! The table of every tag's latest count and trend is kept with an ordered index (a
//! `BTreeSet` of (value, tag)), updated only for the tags a batch changed: a batch costs
//! O(changes · log n) plus the N leaders it prints, never a sort of the whole table.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use serde::Serialize;

use crate::args::InputOpts;
use crate::counter::{num, opt_num, TagCount, Update};
use crate::error::{Error, Kind, Result};
use crate::io::{open_input, stdout, write_error, Diag, LineReader, Output};
use crate::state;

const LONG_ABOUT: &str = "\
Print the N leading hashtags of every batch.

Reads count updates (the output of `tt count`, live or saved) and writes one leaderboard
per batch:

  {\"batch\":17,\"end\":\"2026-11-24T10:00:02Z\",\"posts\":812,\"by\":\"count\",
   \"top\":[{\"rank\":1,\"tag\":\"rust\",\"text\":\"Rust\",\"count\":1234,\"trend\":3.2}]}

--by count ranks by count (all-time, windowed or decayed, as tt count was run); --by
trend ranks by the trend score and lists only tags whose trend is above 0, so a quiet
stream may have fewer than N trending tags; --by users ranks by distinct authors (from
`tt count --distinct users`, which adds `users` to every leader). Ties go to the tag that
sorts first.

With --state FILE, prints the leaders kept in a `tt count` state file and exits: for cron
jobs and scripts that ask \"what is trending now?\" without a stream. With --half-life
counts, the counts of tags a batch did not change are decayed to the batch's end.

--format table prints an aligned table; on a terminal it redraws in place each batch.";

const AFTER_HELP: &str = "\
Examples:
  tt fetch sim | tt tags | tt count --batch 2s | tt top 10
  tt top 5 --by trend < counts.ndjson
  tt top 20 --state s.json --format table
  tt top 10 --format csv counts.ndjson > leaders.csv";

#[derive(Debug, clap::Args)]
#[command(
    about = "Print the N leading hashtags of every batch, by count or by trend",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    /// How many leaders to print.
    #[arg(value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub n: u64,

    /// Input of count updates (NDJSON from `tt count`); `-` or none reads standard input.
    #[arg(value_name = "FILE", conflicts_with = "state")]
    pub file: Option<PathBuf>,

    /// What to rank by.
    #[arg(long, value_enum, default_value_t = By::Count, value_name = "WHAT")]
    pub by: By,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Ndjson, value_name = "FORMAT")]
    pub format: Format,

    /// Print the leaders kept in this `tt count` state file, and exit.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub input_opts: InputOpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Count,
    Trend,
    /// Distinct authors (needs `tt count --distinct users`).
    Users,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Ndjson,
    Csv,
    Table,
}

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

#[derive(Serialize)]
struct Leader<'a> {
    rank: usize,
    tag: &'a str,
    text: &'a str,
    #[serde(serialize_with = "num")]
    count: f64,
    #[serde(serialize_with = "num")]
    trend: f64,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_num")]
    users: Option<f64>,
}

#[derive(Serialize)]
struct Leaderboard<'a> {
    batch: u64,
    end: &'a str,
    /// Posts in the batch (for posts per second on the chart).
    posts: u64,
    by: By,
    top: Vec<Leader<'a>>,
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
    pub fn leaders(&self, n: usize) -> Vec<Row<'_>> {
        let unscale = match (self.half_life, self.landmark) {
            (Some(h), Some(l)) => (-(self.last_end_s - l) / h).exp2(),
            _ => 1.0,
        };
        let un = |v: f64| {
            if unscale == 1.0 {
                v
            } else {
                (v * unscale * 1000.0).round() / 1000.0
            }
        };
        self.order
            .iter()
            .take(n)
            .map(|(_, tag)| {
                let e = &self.entries[tag];
                Row {
                    tag: tag.as_str(),
                    text: e.text.as_str(),
                    count: un(e.count),
                    trend: e.trend,
                    users: e.users.map(un),
                }
            })
            .collect()
    }
}

/// One leader.
pub struct Row<'a> {
    pub tag: &'a str,
    pub text: &'a str,
    pub count: f64,
    pub trend: f64,
    pub users: Option<f64>,
}

enum Sink<W: Write> {
    Ndjson(Output<W>),
    Csv(Box<csv::Writer<W>>),
    Table { out: Output<W>, live: bool },
}

fn csv_err(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => write_error(io),
        other => Error::new(Kind::Failure, format!("cannot write CSV: {other:?}")),
    }
}

impl<W: Write> Sink<W> {
    fn flush(&mut self) -> Result<()> {
        match self {
            Sink::Ndjson(o) | Sink::Table { out: o, .. } => o.flush(),
            Sink::Csv(c) => c.flush().map_err(write_error),
        }
    }

    fn write(&mut self, batch: u64, end: &str, posts: u64, by: By, leaders: &[Row]) -> Result<()> {
        match self {
            Sink::Ndjson(o) => {
                let lb = Leaderboard {
                    batch,
                    end,
                    posts,
                    by,
                    top: leaders
                        .iter()
                        .enumerate()
                        .map(|(i, r)| Leader {
                            rank: i + 1,
                            tag: r.tag,
                            text: r.text,
                            count: r.count,
                            trend: r.trend,
                            users: r.users,
                        })
                        .collect(),
                };
                serde_json::to_writer(o.writer(), &lb).map_err(|e| write_error(e.into()))?;
                o.write_all(b"\n")
            }
            Sink::Csv(c) => {
                for (i, r) in leaders.iter().enumerate() {
                    c.write_record([
                        batch.to_string(),
                        end.to_string(),
                        (i + 1).to_string(),
                        r.tag.to_string(),
                        r.text.to_string(),
                        fmt_num(r.count),
                        fmt_num(r.trend),
                        r.users.map(fmt_num).unwrap_or_default(),
                    ])
                    .map_err(csv_err)?;
                }
                Ok(())
            }
            Sink::Table { out, live } => {
                let mut s = String::new();
                if *live {
                    s.push_str("\x1b[H\x1b[2J"); // home, clear: redraw in place
                }
                let by_name = match by {
                    By::Count => "count",
                    By::Trend => "trend",
                    By::Users => "users",
                };
                s.push_str(&format!("batch {batch}  {end}  by {by_name}\n"));
                let w = leaders
                    .iter()
                    .map(|l| l.text.chars().count())
                    .max()
                    .unwrap_or(3)
                    .clamp(3, 40);
                let with_users = leaders.iter().any(|l| l.users.is_some());
                s.push_str(&format!(
                    "{:>4}  {:<w$}  {:>12}  {:>8}",
                    "rank", "tag", "count", "trend"
                ));
                s.push_str(if with_users { "  users\n" } else { "\n" });
                for (i, r) in leaders.iter().enumerate() {
                    // Control characters would move the cursor of a live table.
                    let shown: String = r
                        .text
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(40)
                        .collect();
                    s.push_str(&format!(
                        "{:>4}  #{:<w$} {:>12}  {:>8}",
                        i + 1,
                        shown,
                        fmt_num(r.count),
                        fmt_num(r.trend)
                    ));
                    match r.users {
                        Some(u) => s.push_str(&format!("  {}\n", fmt_num(u))),
                        None => s.push('\n'),
                    }
                }
                if !*live {
                    s.push('\n');
                }
                out.write_all(s.as_bytes())
            }
        }
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

pub fn run(args: Args) -> Result<()> {
    let n = args.n as usize;
    let mut diag = Diag::new("top", args.input_opts.quiet, args.input_opts.strict);
    let out = stdout();
    let mut sink = match args.format {
        Format::Ndjson => Sink::Ndjson(out),
        Format::Csv => {
            let w = out.into_inner()?;
            let mut c = csv::WriterBuilder::new()
                .buffer_capacity(64 * 1024)
                .from_writer(w);
            c.write_record([
                "batch", "end", "rank", "tag", "text", "count", "trend", "users",
            ])
            .map_err(csv_err)?;
            Sink::Csv(Box::new(c))
        }
        Format::Table => Sink::Table {
            out,
            live: std::io::stdout().is_terminal(),
        },
    };
    let mut board = Board::new(args.by);
    if let Some(path) = &args.state {
        let loaded = state::load_readonly(path)?;
        let c = &loaded.counter;
        board.apply(0.0, None, &c.all_counts());
        let end = crate::time::format_rfc3339(c.last_end);
        sink.write(c.last_batch, &end, 0, args.by, &board.leaders(n))?;
        return sink.flush();
    }
    let path = args.file.unwrap_or_else(|| PathBuf::from("-"));
    let input = open_input(&path)?;
    let mut lines = LineReader::new(input.reader, args.input_opts.max_line_bytes);
    while let Some((lineno, bytes)) =
        lines.next_record(&input.name, &mut diag, &mut || sink.flush())?
    {
        let update: Update = match serde_json::from_slice(bytes) {
            Ok(u) => u,
            Err(e) => {
                diag.bad_line(
                    &input.name,
                    lineno,
                    format!("not a count update from tt count ({e})"),
                )?;
                continue;
            }
        };
        let end_s = crate::time::parse_rfc3339(&update.end).map_or(0.0, |ms| ms as f64 / 1000.0);
        board.apply(end_s, update.half_life, &update.counts);
        // Flushed when the input would block (the reader's hook above), so a live pipeline
        // gets each leaderboard at once and a saved file is written in large blocks.
        sink.write(
            update.batch,
            &update.end,
            update.posts,
            args.by,
            &board.leaders(n),
        )?;
    }
    sink.flush()?;
    diag.summary();
    Ok(())
}
