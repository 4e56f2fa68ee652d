//! `tt top N`: count updates in, one leaderboard per batch out.
//!
//! The table of every tag's latest count and trend is kept with an ordered index (a
//! `BTreeSet` of (value, tag)), updated only for the tags a batch changed: a batch costs
//! O(changes · log n) plus the N leaders it prints, never a sort of the whole table.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::args::InputOpts;
use crate::error::{Error, Result};
use crate::io::{
    csv_error, open_inputs, stdout, write_error, Diag, LineReader, Output, MAX_UPDATE_LINE,
};
use crate::rank::Board;
use crate::record::{self, fmt_num, By, Leaderboard, Update};
use crate::state;

const LONG_ABOUT: &str = "\
Print the N leading hashtags of every batch.

Reads count updates (the output of `tt count`, live or saved) and writes one leaderboard
per batch:

  {\"batch\":17,\"end\":\"2026-11-24T10:00:02Z\",\"posts\":812,
   \"by\":\"count\",\"top\":[{\"rank\":1,\"tag\":\"rust\",\"text\":\"Rust\",
   \"count\":1234,\"trend\":3.2}]}

--by count ranks by count (all-time, windowed or decayed, as tt count was run); --by
trend ranks by the trend score and lists only tags whose trend is above 0, so a quiet
stream may have fewer than N trending tags; --by users ranks by distinct authors (from
`tt count --distinct users`, which adds `users` to every leader). Ties go to the tag that
sorts first. Counts from `tt count --max-tags` are estimates: each leader then has `error`,
the most its count may be above the true count (the table shows it as ±error).

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
    /// How many leaders to print, 1 to 100,000 (default 10). It comes before FILE.
    #[arg(value_name = "N", default_value_t = 10, value_parser = parse_n)]
    pub n: u64,

    /// Inputs of count updates (NDJSON from `tt count`), read in order; `-` or none reads
    /// standard input.
    #[arg(value_name = "FILE", conflicts_with = "state")]
    pub files: Vec<PathBuf>,

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Ndjson,
    Csv,
    Table,
}

enum Sink<W: Write> {
    Ndjson(Output<W>),
    Csv(Box<csv::Writer<W>>),
    Table { out: Output<W>, live: bool },
}

impl<W: Write> Sink<W> {
    fn flush(&mut self) -> Result<()> {
        match self {
            Sink::Ndjson(o) | Sink::Table { out: o, .. } => o.flush(),
            Sink::Csv(c) => c.flush().map_err(write_error),
        }
    }

    fn write(&mut self, lb: &Leaderboard) -> Result<()> {
        let (batch, end, by, leaders) = (lb.batch, &lb.end, lb.by, &lb.top);
        match self {
            Sink::Ndjson(o) => {
                serde_json::to_writer(o.writer(), lb).map_err(|e| write_error(e.into()))?;
                o.write_all(b"\n")
            }
            Sink::Csv(c) => {
                for r in leaders.iter() {
                    c.write_record([
                        batch.to_string(),
                        end.to_string(),
                        r.rank.to_string(),
                        r.tag.to_string(),
                        r.text.to_string(),
                        fmt_num(r.count),
                        fmt_num(r.trend),
                        r.users.map(fmt_num).unwrap_or_default(),
                        r.error.map(|e| e.to_string()).unwrap_or_default(),
                    ])
                    .map_err(csv_error)?;
                }
                Ok(())
            }
            Sink::Table { out, live } => {
                let mut s = String::new();
                if *live {
                    s.push_str("\x1b[H\x1b[2J"); // home, clear: redraw in place
                }
                s.push_str(&format!("batch {batch}  {end}  by {}\n", by.name()));
                let cells: Vec<(String, usize)> = leaders.iter().map(|l| cell(&l.text)).collect();
                let w = cells.iter().map(|c| c.1).max().unwrap_or(3).max(3);
                let with_users = leaders.iter().any(|l| l.users.is_some());
                let with_error = leaders.iter().any(|l| l.error.is_some());
                s.push_str(&format!("{:>4}  {:<w$}  {:>12}", "rank", "tag", "count"));
                if with_error {
                    s.push_str(&format!("  {:<10}", "±error"));
                }
                s.push_str(&format!("  {:>8}", "trend"));
                s.push_str(if with_users { "  users\n" } else { "\n" });
                for (r, (shown, width)) in leaders.iter().zip(&cells) {
                    // Padded by display width, not chars: CJK takes two columns, marks none.
                    s.push_str(&format!(
                        "{:>4}  #{shown}{} {:>12}",
                        r.rank,
                        " ".repeat(w - width),
                        fmt_num(r.count),
                    ));
                    if with_error {
                        let e = r.error.map(|e| format!("±{e}")).unwrap_or_default();
                        s.push_str(&format!("  {e:<10}"));
                    }
                    s.push_str(&format!("  {:>8}", fmt_num(r.trend)));
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

pub fn run(args: Args) -> Result<()> {
    let n = args.n as usize;
    let mut diag = Diag::new("top", args.input_opts.quiet, args.input_opts.strict);
    let _progress = crate::io::progress_of(
        "top",
        &args.files,
        args.input_opts.quiet,
        crate::io::Reads::FILES,
    );
    let out = stdout();
    let mut sink = match args.format {
        Format::Ndjson => Sink::Ndjson(out),
        Format::Csv => {
            let w = out.into_inner()?;
            let mut c = csv::WriterBuilder::new()
                .buffer_capacity(64 * 1024)
                .from_writer(w);
            c.write_record([
                "batch", "end", "rank", "tag", "text", "count", "trend", "users", "error",
            ])
            .map_err(csv_error)?;
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
        if args.by == By::Users && !c.config.distinct_users {
            return Err(Error::usage(format!(
                "--by users: {} was counted without --distinct users, so it has no distinct \
                 authors to rank",
                path.display()
            )));
        }
        board.apply(0.0, None, c.all_counts());
        // The last batch's own line, kept in the state, says how many posts it had.
        let posts = loaded
            .last_output
            .as_deref()
            .and_then(|l| serde_json::from_str::<Update>(l).ok())
            .map_or(0, |u| u.posts);
        sink.write(&Leaderboard {
            batch: c.last_batch,
            end: crate::time::format_rfc3339(c.last_end).into(),
            posts: Some(posts),
            by: args.by,
            top: board.leaders(n),
        })?;
        return sink.flush();
    }
    let mut told_users = false;
    let inputs = open_inputs(&args.files)?;
    for input in inputs {
        let mut lines = LineReader::new(input.reader, args.input_opts.max_line(MAX_UPDATE_LINE));
        while let Some((lineno, bytes)) =
            lines.next_record(&input.name, &mut diag, &mut || sink.flush())?
        {
            let update = match Update::parse(bytes) {
                Ok(u) => u,
                Err(why) => {
                    let line = std::str::from_utf8(bytes).ok();
                    let guess = || line.and_then(record::looks_like);
                    diag.hint_wrong_stage(guess, "count updates (from tt count)");
                    diag.bad_line(
                        &input.name,
                        lineno,
                        format!("not a count update from tt count ({why})"),
                    )?;
                    continue;
                }
            };
            if args.by == By::Users
                && !told_users
                && update.counts.iter().any(|c| c.users.is_none())
            {
                told_users = true;
                diag.note(format!(
                    "{}:{lineno}: these counts have no distinct authors, so --by users ranks \
                     none of them: count with tt count --distinct users",
                    input.name
                ));
            }
            let end_s =
                crate::time::parse_rfc3339(&update.end).map_or(0.0, |ms| ms as f64 / 1000.0);
            board.apply(end_s, update.half_life, update.counts);
            // Flushed when the input would block (the reader's hook above), so a live pipeline
            // gets each leaderboard at once and a saved file is written in large blocks.
            sink.write(&Leaderboard {
                batch: update.batch,
                end: update.end.as_str().into(),
                posts: Some(update.posts),
                by: args.by,
                top: board.leaders(n),
            })?;
        }
    }
    sink.flush()?;
    diag.summary();
    // The process ends next (main exits): the board's tags are left to it rather than
    // freed one by one, which was a quarter of `tt top`'s perf samples on one update of
    // 37,353 tags (the tail of a pipeline, run after `tt tags` has exited).
    std::mem::forget(board);
    Ok(())
}

/// Most leaders per leaderboard: a leaderboard is one line, read whole by `tt serve`.
const MAX_N: u64 = 100_000;

/// `N`, with the mistake people make named: a file given where N goes.
fn parse_n(s: &str) -> std::result::Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if (1..=MAX_N).contains(&n) => Ok(n),
        Ok(_) => Err(format!("N must be 1 to {MAX_N}")),
        Err(_) if s.starts_with('-') => Err(format!("N must be 1 to {MAX_N}")),
        Err(_) => Err(format!(
            "'{s}' is not a number of leaders; N comes before the file: tt top 10 {s}"
        )),
    }
}

/// One count update, or why the line is not one, in the user's terms.
/// Widest tag shown in a table, in terminal columns.
const TAG_COLUMNS: usize = 40;

/// A tag as a table cell: control and bidi-control characters dropped (they would move a
/// live table's cursor, or reorder the row), cut to [`TAG_COLUMNS`] columns with an
/// ellipsis; and its width in columns (East Asian wide characters take two, combining
/// marks none).
fn cell(text: &str) -> (String, usize) {
    use unicode_width::UnicodeWidthChar;
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let chars: Vec<(char, usize)> = text
        .chars()
        .filter(|&c| !c.is_control() && !bidi(c))
        .map(|c| (c, c.width().unwrap_or(0)))
        .collect();
    let total: usize = chars.iter().map(|c| c.1).sum();
    if total <= TAG_COLUMNS {
        return (chars.iter().map(|c| c.0).collect(), total);
    }
    let (mut shown, mut width) = (String::new(), 0);
    for (c, cw) in chars {
        if width + cw > TAG_COLUMNS - 1 {
            break;
        }
        shown.push(c);
        width += cw;
    }
    shown.push('…');
    (shown, width + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_by_display_width() {
        let long = "a".repeat(50);
        let cut = format!("{}…", "a".repeat(39));
        let wide = "漢".repeat(25);
        let wide_cut = format!("{}…", "漢".repeat(19));
        // (tag, shown, columns)
        let cases: &[(&str, &str, usize)] = &[
            ("rust", "rust", 4),
            ("日本語", "日本語", 6),
            ("สวัสดี", "สวัสดี", 4),
            ("e\u{301}te\u{301}", "e\u{301}te\u{301}", 3),
            ("a\u{202e}b\x1b[2J", "ab[2J", 5),
            (&long, &cut, 40),
            (&wide, &wide_cut, 39),
        ];
        for &(tag, shown, columns) in cases {
            assert_eq!(cell(tag), (shown.to_string(), columns), "{tag:?}");
        }
    }
}
