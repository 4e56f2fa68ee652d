//! `tt`: trending hashtags from the command line.
//!
//! Small commands that read and write newline-delimited JSON, so they pipe into one
//! pipeline or get rearranged:
//!
//! ```text
//! tt fetch | tt tags | tt count --batch 2s --state s.json | tt top 10 | tt serve
//! ```
//!
//! The binary (`src/bin/tt.rs`) only parses arguments and maps errors to exit codes;
//! everything else is here, callable in-process:
//!
//! * [`cmd`]: the clap definitions (the single source of `--help`, man pages and
//!   completions) and one module per subcommand (its arguments, plan and `run`);
//! * [`args`]: argument types shared by commands (input options, sizes, durations);
//! * [`io`]: input files, directories, archives and stdin, decompression, bounded line
//!   reading, buffered output, stderr messages;
//! * [`bunzip`]: bzip2 decompression (the inverse BWT walked as several chains at once);
//! * [`error`]: the error type and exit codes;
//! * [`post`]: raw post formats (Twitter v1.1 and v2, Mastodon, Bluesky Jetstream);
//! * [`tagger`]: raw posts in, tag uses out (the work of `tt tags`);
//! * [`parallel`]: work on all cores with output in input order (`tt tags -j`);
//! * [`progress`]: the progress line of a long run over files, on a terminal;
//! * [`hashtag`]: twitter-text hashtag extraction and the counting key;
//! * [`record`]: the NDJSON records passed between commands, and the one number rule;
//! * [`json`]: JSON string helpers shared by records and post formats;
//! * [`order`]: sorting many records led by a string (count's batches, top's board);
//! * [`kafka`]: Kafka topics as inputs and outputs (publisher, readers, message sources);
//! * [`rank`]: the ranking table of `tt top`;
//! * [`report`]: count updates into the page of `tt report`;
//! * [`batcher`]: tag uses into batches (processing or event time);
//! * [`counter`]: counts per batch, windows, decay and the trend score;
//! * [`state`]: the durable state of `tt count` (snapshot + batch log, locked);
//! * [`fault`]: named fault points for crash tests;
//! * [`serve`]: the embedded HTTP server and page of `tt serve`;
//! * [`sim`]: the stream simulator of `tt fetch sim`;
//! * [`source`]: the network sources of `tt fetch` and their reconnect loop;
//! * [`pace`]: pacing sim and replay by stream time (`--speed`);
//! * [`stop`]: when a long run stops (signals, `--limit`, `--duration`);
//! * [`time`]: timestamp parsing and RFC 3339 output.

// eprintln! and println! panic when their pipe is closed (`tt fetch ... 2>&1 | head -1`):
// messages go through io::say, output through io::Output.
#![deny(clippy::print_stderr, clippy::print_stdout)]

pub mod args;
pub mod batcher;
pub mod bunzip;
pub mod cmd;
pub mod counter;
pub mod error;
pub mod fault;
pub mod hashtag;
pub mod io;
pub mod json;
pub mod kafka;
pub mod order;
pub mod pace;
pub mod parallel;
pub mod post;
pub mod progress;
pub mod rank;
pub mod record;
pub mod report;
pub mod serve;
pub mod sim;
pub mod source;
pub mod state;
pub mod stop;
pub mod tagger;
pub mod time;
