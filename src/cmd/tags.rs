//! `tt tags`: raw posts in, one record per distinct hashtag per post out.
//!
//! The formats it reads are described in [`crate::post`], the extraction rules in
//! [`crate::hashtag`]. Output is flushed whenever the input would block, so the command is
//! live at the end of a pipe (`tt fetch | tt tags`) and block-buffered on a file.

use std::path::PathBuf;

use crate::args::InputOpts;
use crate::error::Result;
use crate::io::{each_input, stdout, Diag, DEFAULT_MAX_LINE};
use crate::tagger::{Format, InputKind, Plan, Tagger};

const LONG_ABOUT: &str = "\
Extract hashtags from posts.

Reads raw posts, one JSON object per line, as `tt fetch` writes them or as saved from
the platforms' APIs, and writes one record per distinct hashtag per post:

  {\"tag\":\"rust\",\"text\":\"Rust\",\"id\":\"1050\",
   \"at\":\"2018-10-10T20:00:00Z\",\"user\":\"52\",\"rt\":false}

  tag   the counting key: NFC, then Unicode case folding (#Café, #CAFÉ and #cafe\\u0301
        are one key; so are #STRASSE and #straße). With --keep-case: NFC only.
  text  the tag as written, without the hash sign.
  id, user  the post's and the author's ids (strings), or null. With --input text, id is
        the line number.
  at    the post's time in RFC 3339 UTC, or null.
  rt    true when the use comes from a retweet, reblog or repost.

Formats are detected line by line: Twitter v1.1 tweets (the full text of truncated
tweets, a retweet's hashtags from the original) and stream notices (delete, limit,
warning, ...: no hashtags, not errors; undelivered-tweet counts from `limit` notices are
reported at the end), X v2 stream messages and search pages (note_tweet, retweets
resolved through includes.tweets), Mastodon statuses (HTML content; the status's own
tags decide; reblogs), Bluesky Jetstream events (tag facets and record.tags of
app.bsky.feed.post creates). A quoted tweet is a different post and is not included.

Hashtags are found by the twitter-text rules: a # or ＃ not preceded by a letter, digit,
underscore or &, then letters, marks, digits and a few joiners, with at least one
letter (#1st yes, #2024 no), not inside a URL. A hashtag counts once per post.";

const AFTER_HELP: &str = "\
Examples:
  tt tags saved.ndjson | head
  tt fetch sim | tt tags --no-retweets
  tail -f stream.ndjson | tt tags          live: output is flushed as input arrives
  tt tags --keep-case --with-indices tweets.ndjson
  tt tags --input text --format csv < lines.txt";

#[derive(Debug, clap::Args)]
#[command(
    about = "Extract hashtags from posts (Twitter, X, Mastodon, Bluesky, plain text)",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    /// Inputs of raw posts, read in order: NDJSON files (.gz, .bz2, .zst and .xz are
    /// decompressed), directories (their JSON files, recursively in name order) and .tar
    /// archives (also .tar.gz, .tgz, .tar.bz2, .tar.zst, .tar.xz: their JSON members in
    /// archive order, each decompressed by its own extension). `-` or none reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// How to read each line: `json` (raw posts, format detected per line) or `text` (each
    /// line is the text of one post, as the classic tutorial's feeder sent it).
    #[arg(long, value_enum, default_value_t = InputKind::Json, value_name = "KIND")]
    pub input: InputKind,

    /// Count under the spelling as written (NFC only), not the case-folded key.
    #[arg(long)]
    pub keep_case: bool,

    /// Add `start` and `end`: the hashtag's place in the post's text, in code points
    /// (end exclusive, start at the hash sign), as Twitter's entities give them.
    #[arg(long)]
    pub with_indices: bool,

    /// Drop uses that come from retweets, reblogs and reposts.
    #[arg(long)]
    pub no_retweets: bool,

    /// Write one record per occurrence of a hashtag in the text, repeats included, instead
    /// of one per distinct tag per post. For studying extraction; counts would then count
    /// repeats.
    #[arg(long)]
    pub occurrences: bool,

    /// Output format: `ndjson`, or `csv` with a header row.
    #[arg(long, value_enum, default_value_t = Format::Ndjson, value_name = "FORMAT")]
    pub format: Format,

    #[command(flatten)]
    pub input_opts: InputOpts,
}

/// Validates the arguments into what the command runs with.
fn plan(a: &Args) -> Plan {
    Plan {
        input: a.input,
        keep_case: a.keep_case,
        with_indices: a.with_indices,
        no_retweets: a.no_retweets,
        occurrences: a.occurrences,
        format: a.format,
        max_line: a.input_opts.max_line(DEFAULT_MAX_LINE),
        strict: a.input_opts.strict,
        quiet: a.input_opts.quiet,
    }
}

pub fn run(args: Args) -> Result<()> {
    let plan = plan(&args);
    let mut diag = Diag::new("tags", plan.quiet, plan.strict);
    let mut tagger = Tagger::new(&plan, stdout());
    let notes = each_input(&args.files, &mut |name, reader| {
        tagger.process(reader, name, &mut diag)
    })?;
    for note in notes {
        diag.note(note);
    }
    tagger.finish(&mut diag)
}
