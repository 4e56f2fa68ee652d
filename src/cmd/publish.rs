//! `tt publish`: NDJSON lines in, messages on a Kafka topic out.
//!
//! Consecutive lines with the same key (one post's tag uses) become one message, so that a
//! consumer reads them together, as `tt count` needs for its `posts` figure. The pending
//! message is sent whenever the input would block, so a live stream is not held back.

use std::path::PathBuf;
use std::time::Duration;

use crate::args::{parse_duration_or_zero, InputOpts};
use crate::error::Result;
use crate::io::{each_input, Diag, LineReader};
use crate::kafka::{key_of, ClientArgs, Publisher, Topic};

const LONG_ABOUT: &str = "\
Publish NDJSON lines to a Kafka topic.

Reads lines (raw posts from tt fetch, tag uses from tt tags, or any NDJSON) and writes them
to the topic named by a kafka://HOST:PORT/TOPIC URL, so that other commands can read it:
tt tags and tt count take the same URL as their input. Each line is keyed by its post's
id (`id_str`, `id`, `data.id` or `did`), a partial batch from tt combine by its slot: all
records of one post (or slot) go to one partition, and consecutive lines with the same key
(one post's tag uses) go as one message.

Delivery is confirmed: the idempotent producer with acks=all (each message is written to
every in-sync replica, once, in order, even when sends are retried), and tt publish exits
0 only after the brokers confirmed every line. When the brokers are slower than the input,
it waits (at most about 100,000 messages or 128 MiB are queued) instead of buffering
without bound. A broker that goes away is reported on stderr and retried within the
network sources' bounds (from 250 ms up to 16 s apart); a message not confirmed within
--delivery-timeout ends the run with exit 69.

Standard output is not written. The end-of-run summary on stderr says how many lines and
messages were published.";

const AFTER_HELP: &str = "\
Examples:
  tt fetch sim | tt publish kafka://127.0.0.1:9092/posts
  tt tags kafka://127.0.0.1:9092/posts --group tags --to kafka://127.0.0.1:9092/uses
  tt tags saved.ndjson | tt publish kafka://broker:9092/uses
  tt publish kafka://broker:9093/posts --kafka-option security.protocol=SASL_SSL \\
      --kafka-option sasl.mechanism=SCRAM-SHA-512 day.ndjson.zst";

#[derive(Debug, clap::Args)]
#[command(
    about = "Publish NDJSON lines to a Kafka topic, every line confirmed",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    /// The topic: kafka://HOST:PORT/TOPIC (several brokers: kafka://H1:9092,H2:9092/TOPIC).
    #[arg(value_name = "URL")]
    pub url: String,

    /// Inputs, read in order (compressed files, directories and archives as tt tags reads
    /// them); `-` or none reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// How long a message may wait for the brokers to confirm it before the run fails
    /// (exit 69); 0 waits for ever (a live stream that must outlast a broker outage).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_or_zero, default_value = "5m")]
    pub delivery_timeout: u64,

    #[command(flatten)]
    pub input_opts: InputOpts,

    #[command(flatten)]
    pub client: ClientArgs,
}

/// Kafka brokers refuse messages over 1 MB by default (message.max.bytes): a longer line
/// could never be delivered, so it is reported and skipped like any over-long line.
const MAX_LINE: usize = 1_000_000;

/// A message holds at most this much of consecutive same-key lines.
const MAX_MESSAGE: usize = 900_000;

pub fn run(args: Args) -> Result<()> {
    let topic = Topic::parse(&args.url)?;
    let timeout = Duration::from_millis(args.delivery_timeout);
    let mut diag = Diag::new("publish", args.input_opts.quiet, args.input_opts.strict);
    // It reads what tt tags reads, and writes to the topic, not stdout.
    let reads = crate::io::Reads {
        dirs: Some(crate::io::Names::Json),
        writes_stdout: false,
    };
    let _progress = crate::io::progress_of("publish", &args.files, args.input_opts.quiet, reads);
    let max_line = args.input_opts.max_line(MAX_LINE);
    let mut publisher = Publisher::new(&topic, &args.client, "publish", timeout)?;
    let mut pending = Pending::default();
    let mut lines_read = 0u64;
    let notes = each_input(&args.files, &mut |name, reader| {
        let mut lines = LineReader::new(reader, max_line);
        loop {
            // The input would block: what is pending goes now (a live stream stays live).
            let mut before_read = || pending.send(&mut publisher);
            let Some((_, line)) = lines.next_record(name, &mut diag, &mut before_read)? else {
                break;
            };
            lines_read += 1;
            let key = key_of(line);
            // Lines without a key are not gathered: nothing says they belong together.
            if key.is_none()
                || pending.key != key
                || pending.payload.len() + line.len() >= MAX_MESSAGE
            {
                pending.send(&mut publisher)?;
                pending.key = key;
            }
            pending.payload.extend_from_slice(line);
            pending.payload.push(b'\n');
        }
        Ok(())
    })?;
    pending.send(&mut publisher)?;
    publisher.flush()?;
    for note in notes {
        diag.note(note);
    }
    diag.note(format!(
        "{lines_read} line(s) published to {} in {} message(s), all confirmed",
        topic.url,
        publisher.delivered()
    ));
    diag.summary();
    Ok(())
}

/// Consecutive lines with one key, not sent yet.
#[derive(Default)]
struct Pending {
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
}

impl Pending {
    fn send(&mut self, publisher: &mut Publisher) -> Result<()> {
        if !self.payload.is_empty() {
            publisher.send(self.key.as_deref(), &self.payload, None)?;
            self.payload.clear();
        }
        publisher.check()
    }
}
