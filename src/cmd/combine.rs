//! `tt combine`: tag uses in, one partial batch per event-time slot out.
//!
//! The map side of counting: a slot's uses aggregated ([`crate::record::Partial`]), which
//! `tt count --time event` merges with the partial batches of the same slot from other
//! parts of the stream. Slots close by the same rule as in `tt count --time event` (the
//! shared [`Batcher`]), so `tt combine | tt count --time event` gives what `tt count --time
//! event` gives on the uses themselves, late uses included.

use std::path::PathBuf;

use crate::args::{parse_duration, parse_duration_or_zero, Distinct, InputOpts};
use crate::batcher::Batcher;
use crate::error::Result;
use crate::io::{open_inputs, stdout, Diag, LineReader, Output, MAX_PARTIAL_LINE};
use crate::record::{self, CountIn, Partial};
use crate::state::InputPos;

const LONG_ABOUT: &str = "\
Combine tag uses into partial batches, one per time slot, for tt count to merge.

Reads tag uses (the output of `tt tags`; partial batches too) and writes, for every slot
of --batch length by the posts' own `at` times, one line with the slot's uses aggregated:

  {\"slot\":880348,\"batch_ms\":2000,\"posts\":2,\"uses\":[[\"rust\",\"Rust\",2]]}

  slot      the slot's start divided by batch_ms: it covers [slot*batch_ms, (slot+1)*batch_ms)
  posts     posts with at least one tag in the slot
  uses      [tag, spelling, uses], sorted
  users     with --distinct users: [tag, [author, ...]], sorted

`tt count --time event --batch` with the same batch length reads these as it reads the uses
they came from, merging the partial batches of one slot: uses and posts add up, authors
unite. So parts of a stream (files, splits on other machines) can be combined apart and
counted together, exactly: that is how scripts/spark/tt_archive.py runs tt on Apache Spark.
On one machine it shrinks what flows into tt count (one line per slot instead of one per
use).

Slots close as in `tt count --time event`: once a use more than --lateness past the slot's
end has been read, or at end of input; a use for a slot already closed is late, dropped
and counted on stderr, as tt count would. Each line is flushed when the input pauses.";

const AFTER_HELP: &str = "\
Examples:
  tt tags saved.ndjson | tt combine --batch 2s | tt count --time event --batch 2s
  for f in day/*.json.bz2; do tt tags \"$f\" | tt combine --batch 1m > \"$f.partial\"; done
  cat day/*.partial | tt count --time event --batch 1m --window 1h   (same as one run)";

#[derive(Debug, clap::Args)]
#[command(
    about = "Combine tag uses into partial batches per time slot, to count apart and merge",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    /// Inputs of tag uses (NDJSON from `tt tags`) or partial batches, read in order; `-`
    /// or none reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Slot length, by the posts' own times: 500ms, 2s, 1m, 1h, 1d (a number alone is
    /// seconds). tt count must count with the same --batch.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub batch: u64,

    /// How long after a slot's end uses for it are still taken. Default: one batch length.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_or_zero)]
    pub lateness: Option<u64>,

    /// Also keep each tag's distinct authors, for `tt count --distinct users`.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub distinct: Option<Distinct>,

    #[command(flatten)]
    pub input_opts: InputOpts,
}

pub fn run(args: Args) -> Result<()> {
    let distinct = args.distinct.is_some();
    let lateness = args.lateness.unwrap_or(args.batch);
    let mut batcher = Batcher::slots(Some(args.batch), true, distinct, lateness, None);
    let mut diag = Diag::new("combine", args.input_opts.quiet, args.input_opts.strict);
    let _progress = crate::io::progress_of(
        "combine",
        &args.files,
        args.input_opts.quiet,
        crate::io::Reads::FILES,
    );
    let mut out = stdout();
    let emit = |batcher: &mut Batcher, all: bool, out: &mut Output<_>| -> Result<()> {
        while let Some(b) = batcher.next_due(all) {
            let p = Partial {
                slot: b.slot,
                batch_ms: args.batch,
                posts: b.posts,
                uses: b.uses,
                users: distinct.then_some(b.users),
            };
            let mut line = serde_json::to_vec(&p).expect("serializable");
            line.push(b'\n');
            out.write_all(&line)?;
        }
        Ok(())
    };
    for input in open_inputs(&args.files)? {
        let max = args.input_opts.max_line(MAX_PARTIAL_LINE);
        let mut lines = LineReader::new(input.reader, max);
        // Records go straight to the slots: no resume position to keep.
        while let Some((lineno, bytes)) =
            lines.next_record(&input.name, &mut diag, &mut || out.flush())?
        {
            let rec = std::str::from_utf8(bytes)
                .map_err(|_| "invalid UTF-8".to_string())
                .and_then(|text| {
                    CountIn::parse(text).inspect_err(|_| {
                        diag.hint_wrong_stage(
                            || record::looks_like(text),
                            "tag uses (from tt tags) and partial batches",
                        )
                    })
                })
                .and_then(|rec| batcher.add(&rec, InputPos::default).map(drop));
            if let Err(why) = rec {
                diag.bad_line(&input.name, lineno, why)?;
                continue;
            }
            emit(&mut batcher, false, &mut out)?;
        }
    }
    emit(&mut batcher, true, &mut out)?;
    out.flush()?;
    if batcher.late > 0 {
        diag.note(format!(
            "{} late use(s) dropped: their slot had closed (see --lateness)",
            batcher.late
        ));
    }
    diag.summary();
    Ok(())
}
