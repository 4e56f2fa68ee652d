//! `tt report`: count updates in, one self-contained HTML page out (see [`crate::report`]).

use std::io::Write;
use std::path::PathBuf;

use crate::args::{parse_duration, InputOpts};
use crate::error::{Error, Result};
use crate::io::{open_inputs, stdout, Diag, LineReader, MAX_UPDATE_LINE};
use crate::record::{self, Update};
use crate::report::{page, Builder, Options};

const LONG_ABOUT: &str = "\
Write a saved stream's trends as one HTML page to open, keep and share.

Reads count updates (the output of `tt count`, typically `--time event` over a saved stream,
in any counting mode) and writes one self-contained HTML file: Chart.js and the data are
inside it, and its Content-Security-Policy forbids any request, so it opens from disk with
no network and shows:

  a summary: time covered, batches, posts, distinct tags, the counting mode;
  a timeline of the leading tags' uses, per --period (chosen so there are at most 1,500
            points unless given), where any kept tag's line can be added by typing its name;
  the bursts: each run of batches in which a tag's trend stayed above --burst-trend, with
            its start, peak time, peak score, length and uses, by peak score; selecting
            one marks its span on the timeline;
  the leaders of each period (--leaders-every, chosen so there are at most 400 rows);
  CSV downloads of the series and of the bursts, and a PNG of the timeline.

What is kept: the series of the --keep most used tags and of every tag that burst or led a
period; the others are counted in the summary. So a day of 2 s batches or a year of hourly
ones makes a page of a few MB. Every label is set as text, bidi-isolated and cut with an
ellipsis when long.";

const AFTER_HELP: &str = "\
Examples:
  tt tags saved.ndjson | tt count --time event --batch 1m | tt report -o report.html
  tt count --time event --batch 2s --half-life 10m uses.ndjson | tt report > day.html
  tt report --period 1h --burst-trend 2 --keep 200 updates.ndjson -o month.html";

#[derive(Debug, clap::Args)]
#[command(
    about = "Write a saved stream's trends (timeline, bursts, leaders) as one HTML page",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    /// Inputs of count updates (NDJSON from `tt count`, of one run, in order); `-` or none
    /// reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Write the page to this file (replaced whole once written) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Timeline points: uses summed per this period (2s, 1m, 1h, 1d). Default: the smallest
    /// round period with at most 1,500 points.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub period: Option<u64>,

    /// Period of the leaders table. Default: the smallest of 1m, 10m, 1h, 1d, 7d with at
    /// most 400 rows.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub leaders_every: Option<u64>,

    /// Tags whose series are kept besides those that burst or led: the most used N.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = crate::args::parse_whole::<usize>)]
    pub keep: usize,

    /// A burst is a run of batches with a trend score above this.
    #[arg(long, value_name = "SCORE", default_value_t = 1.0, value_parser = crate::args::parse_number)]
    pub burst_trend: f64,

    /// Tags drawn on the timeline when the page opens (the most used).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = crate::args::parse_whole::<usize>)]
    pub show: usize,

    #[command(flatten)]
    pub input_opts: InputOpts,
}

pub fn run(args: Args) -> Result<()> {
    if !(args.burst_trend.is_finite() && args.burst_trend >= 0.0) {
        return Err(Error::usage(format!(
            "--burst-trend must be a number of 0 or more, not {}",
            args.burst_trend
        )));
    }
    let mut diag = Diag::new("report", args.input_opts.quiet, args.input_opts.strict);
    let _progress = crate::io::progress_of(
        "report",
        &args.files,
        args.input_opts.quiet,
        crate::io::Reads::FILES,
    );
    let mut builder = Builder::new(Options {
        period: args.period,
        leaders_every: args.leaders_every,
        keep: args.keep,
        burst_trend: args.burst_trend,
        show: args.show,
    });
    let mut read = 0u64;
    for input in open_inputs(&args.files)? {
        let max = args.input_opts.max_line(MAX_UPDATE_LINE);
        let mut lines = LineReader::new(input.reader, max);
        while let Some((lineno, bytes)) =
            lines.next_record(&input.name, &mut diag, &mut || Ok(()))?
        {
            let why = match Update::parse(bytes) {
                Ok(u) => match builder.add(&u) {
                    Ok(()) => {
                        read += 1;
                        continue;
                    }
                    Err(why) => why,
                },
                Err(why) => {
                    let guess = || std::str::from_utf8(bytes).ok().and_then(record::looks_like);
                    diag.hint_wrong_stage(guess, "count updates (from tt count)");
                    format!("not a count update from tt count ({why})")
                }
            };
            diag.bad_line(&input.name, lineno, why)?;
        }
    }
    let Some(data) = builder.finish() else {
        return Err(Error::data(
            "no count update read: give tt report the output of tt count",
        ));
    };
    let html = page(&data);
    match &args.output {
        Some(path) => write_file(path, html.as_bytes())?,
        None => {
            let mut out = stdout();
            out.write_all(html.as_bytes())?;
            out.flush()?;
        }
    }
    diag.note(format!(
        "{read} count update(s), {} bursts, {} of {} tags kept: {} KB{}",
        data.bursts.len(),
        data.summary.kept,
        data.summary.tags,
        html.len() / 1000,
        args.output
            .as_ref()
            .map_or(String::new(), |p| format!(" ({})", p.display()))
    ));
    diag.summary();
    Ok(())
}

/// Writes the page beside `path` and renames it into place, so that a reader never sees
/// half a page.
fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("html.tmp");
    let fail = |e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("cannot write {}", path.display()), e)
    };
    let mut f = std::fs::File::create(&tmp).map_err(|e| match e.kind() {
        // The system's "No such file or directory" is about the page's directory.
        std::io::ErrorKind::NotFound => Error::new(
            crate::error::Kind::Io,
            format!(
                "cannot write {}: its directory does not exist",
                path.display()
            ),
        ),
        _ => fail(e),
    })?;
    f.write_all(bytes).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(fail)?;
    Ok(())
}
