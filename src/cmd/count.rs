//! `tt count`: tag uses in, one count update per closed batch out.
//!
//! A reader thread turns the input into chunks of lines (with their byte offsets) and
//! sends them over a bounded channel, so memory stays bounded and the main thread can close
//! batches on the clock while the input is quiet, and react to SIGINT/SIGTERM. Every batch
//! is persisted (with `--state`) before its line is written: persist first, then emit.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::args::{parse_duration, parse_duration_or_zero, Distinct, InputOpts};
use crate::batcher::Batcher;
use crate::counter::{Config, Counter};
use crate::error::{Error, Kind, Result};
use crate::io::{
    open_input, open_input_at, send_chunks, spawn_bounded, stdout, too_long, Chunk, Diag, Item,
    LineReader, Output, MAX_PARTIAL_LINE,
};
use crate::kafka::{self, Event, Msg, ReadArgs, Reader, Topic};
use crate::record::{self, Batch, CountIn, Update};
use crate::state::{InputPos, Store, TopicPos};
use crate::stop::Signals;
use crate::time::Millis;

const LONG_ABOUT: &str = "\
Count hashtag uses per batch, with state that survives restarts.

Reads tag uses (the output of `tt tags`), or partial batches (`tt combine`, merged per slot:
see PARTIAL BATCHES), and writes one line per closed batch with the tags whose count changed
in it:

  {\"batch\":17,\"end\":\"2026-11-24T10:00:02Z\",\"posts\":812,
   \"tags\":5120,\"counting\":\"total\",\"counts\":[{\"tag\":\"rust\",
   \"text\":\"Rust\",\"count\":1234,\"delta\":5,\"uses\":5,\"trend\":0}]}

  batch     the batch number; it continues across restarts with --state
  end       when the batch ends (RFC 3339)
  posts     posts with at least one tag in the batch
  tags      tags held in the state (see MEMORY)
  counting  what count means: total (all time), window (--window) or decayed (--half-life)
  count     the tag's count; delta its change since the tag's previous line
  uses      the tag's uses in this batch
  trend     the trend score, below
  users     with --distinct users: distinct authors, counted like count
  error     with --max-tags: count is at most this much above the true count

BATCHES. With --batch 2s, batches close on the clock every 2 s (aligned to the wall clock),
also when no input arrives, and each line is flushed the moment its batch closes. With
--time event, batches follow the posts' own `at` times: a batch closes once a record more
than --lateness past its end has been read (or at end of input); a record for a batch
already closed is late, dropped and counted on stderr. So a saved stream gives the same
batches and counts at any replay speed. Without --batch, there is one batch at end of
input (for cron and scripts).

PARTIAL BATCHES. A partial batch (tt combine's output) holds one slot's uses of one part of
a stream; with --time event and the same --batch, the partial batches of a slot are merged
(uses and posts add up, authors unite) and counted exactly as the uses they came from: the
batch numbers, windows, decay and trends are those of one run on the uses. A partial batch
stands for its slot from its start when deciding what has closed, so the partial batches
of one slot must all come before any of a slot more than --lateness later (the Spark job in
scripts/spark/ writes them merged, in slot order). In processing time or without --batch they are added to the open batch.

TREND. For each tag in a batch, with o its uses in the batch and e its baseline (the mean
of its uses per batch over the earlier batches since counting began, weighted with
half-life --baseline; batches without the tag count as 0; the first batch has no history
and no trend):

  trend = 0                                     if o < --min-support
  trend = max(0, (o - 3*sqrt(o)) / max(e, 1) - 1)   otherwise

o - 3*sqrt(o) is a lower bound of the batch's rate (Poisson, about 3 sigma), so trend says
how many times its own baseline a tag's rate is, beyond chance: a tag that is always big
scores 0, a sudden burst scores high in its first batch (velocity, not volume). A tag whose
trend falls back to 0 appears once with trend 0. A baseline below 0.01 uses per batch is
taken as none (it cannot change the score, which divides by max(e, 1)).

MEMORY. All-time counts keep every tag ever seen, exactly. With --window or --half-life, a
tag that can no longer change any line is forgotten, and is new if it is used again: with
--window, once its uses (and authors) have left the window and its baseline is below 0.01;
with --half-life, once its decayed count (and authors) fell below half a use, when it is
set to 0 and appears once with count 0, and its baseline is below 0.01. Forgetting changes
no count, delta or trend; what differs from keeping every tag is the display text of a tag
that comes back (the most used spelling since it came back) and `tags`. So memory and the
state follow the tags in use, not all of history. A decayed count restarted from 0 lacks
less than 0.5 x 2^(-time since/half-life) of the pure exponential decay.
--max-tags N bounds all-time counts: Space-Saving keeps the N tags with the largest counts;
a new tag in a full table takes the place of the least (count m), starting from m with
error m. Every count is then between count - error and count, and every tag used more than
(all uses)/N times is kept. A tag that loses its place appears once with count 0.

STATE. With --state FILE the state is saved after every batch, before its line is written:
a batch log (FILE.log, one checksummed record per batch, fsync'd) and a snapshot (FILE,
checksummed, replaced atomically: write, fsync, rename, fsync the directory) rewritten when
the log has grown. A restart resumes counts and batch numbers, and writes the last batch's
line again first so that downstream can catch up. For a file input, the state records how
far the input was counted: after a crash (even kill -9), running again on the same file
counts every line exactly once. A second run on the same state exits 75. A corrupt or
foreign state file exits 65 and is left untouched; --reset-state starts afresh and keeps it
aside as FILE.bad-TIME. SIGINT and SIGTERM close the current batch, save, and exit 130
and 143.

TOPICS. The input can be a Kafka topic, kafka://HOST:PORT/TOPIC (records published by tt
publish, or by tt tags --to). Every partition is read, and with --state each batch's
offsets are saved with the batch, before its line is written, so a restart (even after
kill -9) resumes from them: every message is counted exactly once, without Kafka
transactions. A message that tt tags wrote again after a crash of its own (its source,
the header tt-src, was counted already) is skipped. Without --state, reading starts at
--from. With --time event, a batch closes once every partition has moved past its end plus
--lateness (the oldest of the partitions' newest times, as Flink's watermarks), except
that a partition read to its end with no message for --idle is idle and not waited for,
so one quiet partition cannot hold the stream back; with --time processing, batches close
on the clock. --until-end stops at the end of every partition (for cron and scripts).";

const AFTER_HELP: &str = "\
Examples:
  tt tags saved.ndjson | tt count                     all-time counts, one batch at the end
  tt fetch sim | tt tags | tt count --batch 2s --state s.json
  tt tags saved.ndjson | tt count --time event --batch 1m --window 1h
  cat partials/part-* | tt count --time event --batch 2s     (from tt combine or Spark)
  tt count --batch 10s --half-life 1h uses.ndjson
  tt count --batch 2s --max-tags 1000000 --state s.json   (months of all-time counts)
  tt tags day.ndjson > uses.ndjson; tt count --state s.json uses.ndjson   (cron: resumes)
  tt count kafka://127.0.0.1:9092/uses --batch 2s --state s.json | tt top 10 | tt serve
  tt count kafka://broker:9092/uses --time event --batch 1m --until-end   (a topic's backlog)";

#[derive(Debug, clap::Args)]
#[command(
    about = "Count hashtag uses per batch, with windows, decay, trends and durable state",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    /// Inputs of tag uses (NDJSON from `tt tags`) or partial batches (`tt combine`), read
    /// in order; `-` or none reads standard input; or one Kafka topic,
    /// kafka://HOST:PORT/TOPIC (see TOPICS). With --state, one input: a restart resumes at
    /// its byte offset.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Batch length: 500ms, 2s, 1m, 1h, 1d (a number alone is seconds: 2 is 2s). Without
    /// it, one batch at end of input.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub batch: Option<u64>,

    /// What batches follow: the clock (`processing`) or the posts' own times (`event`).
    #[arg(long, value_enum, default_value_t = TimeMode::Processing, value_name = "MODE")]
    pub time: TimeMode,

    /// With --time event: how long after a batch's end records for it are still taken.
    /// Default: one batch length.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_or_zero)]
    pub lateness: Option<u64>,

    /// Count uses in a sliding window of this length (a multiple of --batch) instead of
    /// all time. A tag whose count falls to 0 appears once with count 0.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "half_life")]
    pub window: Option<u64>,

    /// Count exponentially decayed uses with this half-life instead of all-time totals.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub half_life: Option<u64>,

    /// Half-life of each tag's baseline, against which its trend is measured.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10m")]
    pub baseline: u64,

    /// Fewest uses in a batch for a tag to trend (authors, with --distinct users).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = crate::args::parse_whole::<u64>)]
    pub min_support: u64,

    /// Also count distinct authors per tag: each author counts once per tag, all time, in
    /// the window, or per batch then decayed (like count). Adds `users` to every line, and
    /// the trend then follows authors, so bots repeating a tag stop dominating.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub distinct: Option<Distinct>,

    /// Keep at most N tags: all-time counts become estimates by Space-Saving, each at most
    /// its `error` above the true count, and every tag used more than (all uses)/N times
    /// is kept (see MEMORY above). Not with --window or --half-life, which forget already.
    #[arg(long, value_name = "N", value_parser = crate::args::parse_whole_in::<u64, 1, 4_000_000_000>)]
    pub max_tags: Option<u64>,

    /// Save the state here after every batch and resume from it (see STATE above).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Start afresh: move an existing state file aside (`FILE.bad-TIME`) instead of loading it.
    #[arg(long, requires = "state")]
    pub reset_state: bool,

    /// With a kafka:// topic and --time event: a partition read to its end that has had no
    /// message for this long stops holding batches open (see TOPICS above).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub idle: u64,

    #[command(flatten)]
    pub input_opts: InputOpts,

    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeMode {
    Processing,
    Event,
}

/// The validated plan.
struct Plan {
    config: Config,
    batch_ms: Option<u64>,
    lateness_ms: u64,
    files: Vec<PathBuf>,
    state: Option<PathBuf>,
    reset: bool,
    opts: InputOpts,
    /// A kafka:// input, read instead of files.
    topic: Option<Topic>,
    read: ReadArgs,
    idle_ms: u64,
}

fn plan(a: Args) -> Result<Plan> {
    let mut errs = Vec::new();
    let slots = |what: &str, d: Option<u64>, errs: &mut Vec<String>| -> Option<u64> {
        let d = d?;
        match a.batch {
            None => {
                errs.push(format!("{what} needs --batch"));
                None
            }
            Some(b) => Some((d / b).max(1)).filter(|_| d >= b).or_else(|| {
                errs.push(format!("{what} must be at least one --batch"));
                None
            }),
        }
    };
    // A window shorter than a batch is said below, once.
    if let (Some(w), Some(b)) = (a.window, a.batch) {
        if w >= b && w % b != 0 {
            let ms = |n: u64| crate::time::secs(std::time::Duration::from_millis(n));
            errs.push(format!(
                "--window must be a multiple of --batch ({} is not a multiple of {})",
                ms(w),
                ms(b)
            ));
        }
    }
    let window = slots("--window", a.window, &mut errs);
    let half_life = slots("--half-life", a.half_life, &mut errs)
        .map(|_| a.half_life.unwrap_or(0) as f64 / a.batch.unwrap_or(1) as f64);
    if a.time == TimeMode::Event && a.batch.is_none() {
        errs.push("--time event needs --batch".into());
    }
    if a.state.is_some() && a.files.len() > 1 {
        errs.push(format!(
            "--state takes one input (a restart resumes at its byte offset), not {}: \
             cat them into one, or count them one run after another",
            a.files.len()
        ));
    }
    if a.max_tags.is_some() && (a.window.is_some() || a.half_life.is_some()) {
        errs.push(
            "--max-tags bounds all-time counts; --window and --half-life already keep only \
             the tags that can still change a line (see MEMORY in --help)"
                .into(),
        );
    }
    if a.max_tags.is_some() && a.distinct.is_some() {
        errs.push(
            "--max-tags cannot bound --distinct users all-time counts (every author of every \
             tag would be kept): use --window or --half-life with --distinct users"
                .into(),
        );
    }
    let topic = match a
        .files
        .iter()
        .position(|f| kafka::is_url(&f.to_string_lossy()))
    {
        Some(_) if a.files.len() > 1 => {
            errs.push("a kafka:// topic is read alone: one input".into());
            None
        }
        Some(i) => match Topic::parse(&a.files[i].to_string_lossy()) {
            Ok(t) => Some(t),
            Err(e) => {
                errs.push(e.msg);
                None
            }
        },
        None => None,
    };
    if topic.is_none() && a.read.until_end {
        errs.push("--until-end applies to a kafka:// input".into());
    }
    if a.lateness.is_some() && a.time != TimeMode::Event {
        errs.push("--lateness applies to --time event only".into());
    }
    if !errs.is_empty() {
        return Err(Error::usage(errs.join("; ")));
    }
    let batch_ms = a.batch;
    let baseline = a.baseline as f64 / batch_ms.unwrap_or(a.baseline) as f64;
    Ok(Plan {
        config: Config {
            batch_ms,
            event_time: a.time == TimeMode::Event,
            window,
            half_life,
            baseline,
            min_support: a.min_support,
            distinct_users: a.distinct == Some(Distinct::Users),
            max_tags: a.max_tags,
        },
        batch_ms,
        lateness_ms: a.lateness.or(batch_ms).unwrap_or(0),
        files: if a.files.is_empty() {
            vec![PathBuf::from("-")]
        } else {
            a.files
        },
        state: a.state,
        reset: a.reset_state,
        opts: a.input_opts,
        topic,
        read: a.read,
        idle_ms: a.idle,
    })
}

fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

struct Run<W: Write> {
    plan: Plan,
    counter: Counter,
    store: Option<Store>,
    out: Output<W>,
    diag: Diag,
    name: String,
    /// Where the input stands after the last line read.
    pos: InputPos,
    /// Reading a topic: its partitions.
    kafka: Option<TopicRun>,
    batcher: Batcher,
}

impl<W: Write> Run<W> {
    /// Counts a closed batch, persists it (with `--state`), then writes its line.
    fn emit(&mut self, batch: Batch) -> Result<()> {
        self.emit_then(batch, drop)
    }

    /// [`Run::emit`], then `done` takes the batch and its update: the last batch's, at the
    /// end of input, are left to the process's exit (see [`leave_to_exit`]).
    fn emit_then(&mut self, batch: Batch, done: fn((Batch, Update))) -> Result<()> {
        let update: Update = self.counter.apply(&batch);
        let line = update.to_line();
        if let Some(store) = &mut self.store {
            // Event time: resume at the first line of the earliest batch still open.
            let pos = self.batcher.resume_from().unwrap_or(&self.pos).clone();
            store.save(&mut self.counter, &batch, &pos, &line)?;
        }
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        done((batch, update));
        Ok(())
    }

    /// Processing time / end of input: closes the open batch at `end`.
    fn close_open(&mut self, end: Millis) -> Result<()> {
        let batch = self.batcher.close_open(end, &self.counter);
        self.emit(batch)
    }

    /// Event time: closes every slot that is due (`all`: every open one).
    fn close_due(&mut self, all: bool) -> Result<()> {
        while let Some(mut batch) = self.batcher.next_due(all) {
            batch.batch = self.counter.number_slot(batch.slot);
            self.emit(batch)?;
        }
        Ok(())
    }

    /// One line read; `Ok` gives its time with event time. `checked`: the line as text,
    /// when its chunk was checked as UTF-8 already.
    fn line(
        &mut self,
        bytes: &[u8],
        checked: Option<&str>,
        lineno: u64,
        offset: u64,
    ) -> Result<Option<Millis>> {
        let (name, before) = (&self.pos.name, (self.pos.offset, self.pos.lineno));
        let kafka = &self.pos.kafka;
        let before = || InputPos {
            name: name.clone(),
            offset: before.0,
            lineno: before.1,
            kafka: kafka.clone(),
        };
        self.pos.offset = offset;
        self.pos.lineno = lineno;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let Some(text) = checked.or_else(|| crate::json::utf8(bytes).ok()) else {
            return self
                .diag
                .bad_line(&self.name, lineno, "invalid UTF-8")
                .map(|()| None);
        };
        let rec = match CountIn::parse(text) {
            Ok(r) => r,
            Err(why) => {
                self.diag.hint_wrong_stage(
                    || record::looks_like(text),
                    "tag uses (from tt tags) and partial batches (from tt combine)",
                );
                return self.diag.bad_line(&self.name, lineno, why).map(|()| None);
            }
        };
        let at = match self.batcher.add(&rec, before) {
            Ok(at) => at,
            Err(why) => return self.diag.bad_line(&self.name, lineno, why).map(|()| None),
        };
        if self.plan.config.event_time {
            self.close_due(false)?;
        }
        Ok(at)
    }

    /// One message of a topic: its lines, unless it is a replay of a source message
    /// counted already; then where the partition stands.
    fn message(&mut self, m: &Msg) -> Result<()> {
        let k = self.kafka.as_mut().expect("a topic is read");
        let pos = self.pos.kafka.get_or_insert_with(TopicPos::default);
        let replay = m.src.as_ref().is_some_and(|src| {
            let seen = pos.seen.get(&m.partition);
            seen.and_then(|s| s.get(&src.partition)) >= Some(&src.offset)
        });
        k.seq += 1;
        let seq = k.seq;
        // The newest event time of its lines (none for a replay).
        let mut newest = None;
        if replay {
            k.replays += 1;
        } else {
            // A post's uses split over two messages (the input paused in the middle of
            // them) are still one post.
            let key = m.key.as_deref().map(String::from_utf8_lossy);
            if key.is_some() && pos.last_key.get(&m.partition).map(|k| k.as_str()) == key.as_deref()
            {
                self.batcher.continue_post(true);
            }
            // The name in messages about its lines; the buffer is reused.
            self.name.clear();
            let _ = write!(
                self.name,
                "{} partition {} offset {}",
                k.url, m.partition, m.offset
            );
            for (i, line) in m.payload.split(|&b| b == b'\n').enumerate() {
                if let Some(at) = self.line(line, None, i as u64 + 1, seq)? {
                    newest = newest.max(Some(at));
                }
            }
            self.batcher.continue_post(false);
        }
        let k = self.kafka.as_mut().expect("a topic is read");
        k.watermark.message(m.partition, newest, Instant::now());
        // After the lines: a batch opened by one of them resumes at this message.
        let pos = self.pos.kafka.get_or_insert_with(TopicPos::default);
        pos.next.insert(m.partition, m.offset + 1);
        match m.key.as_deref().map(String::from_utf8_lossy) {
            Some(k) => {
                let last = pos.last_key.entry(m.partition).or_default();
                last.clear();
                last.push_str(&k);
            }
            None => {
                pos.last_key.remove(&m.partition);
            }
        }
        if let (Some(src), false) = (&m.src, replay) {
            let seen = pos.seen.entry(m.partition).or_default();
            seen.insert(src.partition.clone(), src.offset);
        }
        self.pos.offset = seq;
        Ok(())
    }

    /// Event time from a topic: slots close by the oldest of the partitions' newest
    /// times (see IDLE PARTITIONS in --help).
    fn close_by_watermark(&mut self) -> Result<()> {
        if let (true, Some(k)) = (self.plan.config.event_time, &self.kafka) {
            self.batcher
                .set_watermark(Some(k.watermark.at(Instant::now())));
            self.close_due(false)?;
        }
        Ok(())
    }
}

/// What `tt count` keeps while it reads a topic.
struct TopicRun {
    url: String,
    /// Where event time stands over its partitions.
    watermark: kafka::Watermark,
    /// Messages handled in this run (orders the resume points of open batches).
    seq: u64,
    /// Messages skipped as replays of source messages counted already.
    replays: u64,
}

pub fn run(args: Args) -> Result<()> {
    let plan = plan(args)?;
    let quiet = plan.opts.quiet;
    let diag = Diag::new("count", quiet, plan.opts.strict);
    // A topic is no file: its size is unknown, so no line is drawn for it.
    let _progress = crate::io::progress_of("count", &plan.files, quiet, crate::io::Reads::FILES);
    let (store, loaded) = match &plan.state {
        Some(path) => {
            let (s, l) = Store::open(path, &plan.config, plan.reset, &mut |m| diag.note(m))?;
            (Some(s), Some(l))
        }
        None => (None, None),
    };
    let mut out = stdout();
    let (counter, resume) = match loaded {
        Some(l) => {
            if let Some(line) = &l.last_output {
                // Downstream may have missed it: the last batch again, same number.
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
                out.flush()?;
            }
            (l.counter, Some(l.input))
        }
        None => (Counter::new(plan.config.clone()), None),
    };
    let closed = (counter.last_batch > 0).then_some(counter.last_slot);
    let (rx, pos, name, kafka) = match &plan.topic {
        Some(topic) => open_topic(topic, &plan, resume.as_ref(), &diag)?,
        None => open_files(&plan, resume.as_ref(), &diag)?,
    };
    let signals = Signals::catch()?;
    let mut run = Run {
        name,
        pos,
        kafka,
        counter,
        store,
        out,
        diag,
        batcher: Batcher::new(&plan.config, plan.lateness_ms, closed),
        plan,
    };
    if run.kafka.is_some() && run.plan.config.event_time {
        // Nothing closes before every partition has given a time (or is idle).
        run.batcher.set_watermark(Some(Millis::MIN));
    }
    let processing_tick = run
        .plan
        .batch_ms
        .filter(|_| !run.plan.config.event_time)
        .map(|b| b as i64);
    let mut next_tick = processing_tick.map(|b| (now_ms().div_euclid(b) + 1) * b);
    let result = loop {
        let wait = match next_tick {
            Some(t) => Duration::from_millis((t - now_ms()).clamp(0, 200) as u64),
            None => Duration::from_millis(200),
        };
        let msg = rx.recv_timeout(wait);
        if let Err(e) = match msg {
            Ok(Ok(Fed::Lines(chunk))) => {
                if *run.name != *chunk.name {
                    run.name = chunk.name.to_string();
                    run.pos.name = chunk.name.to_string();
                }
                process_chunk(&mut run, &chunk)
            }
            Ok(Ok(Fed::Topic(events))) => process_events(&mut run, &events),
            Ok(Err(e)) => Err(e),
            Err(RecvTimeoutError::Timeout) => run.close_by_watermark(),
            Err(RecvTimeoutError::Disconnected) => break finish(&mut run),
        } {
            break Err(e);
        }
        if let (Some(t), Some(b)) = (next_tick, processing_tick) {
            let now = now_ms();
            if now >= t {
                if let Err(e) = run.close_open(t) {
                    break Err(e);
                }
                // After a stall (machine asleep), skip the ticks that passed.
                next_tick = Some((now.div_euclid(b) + 1) * b);
            }
        }
        if signals.received() {
            break finish(&mut run).and(signals.outcome());
        }
    };
    if result.is_ok() || !matches!(result.as_ref().map_err(|e| e.kind), Err(Kind::PipeClosed)) {
        summary(&run);
    }
    leave_to_exit((run.counter, run.batcher));
    result
}

/// Messages and ends of partitions read from a topic.
fn process_events<W: Write>(run: &mut Run<W>, events: &[Event]) -> Result<()> {
    for ev in events {
        match ev {
            Event::Msg(m) => run.message(m)?,
            Event::End(p) => {
                let k = run.kafka.as_mut().expect("a topic is read");
                k.watermark.end(*p, Instant::now());
            }
        }
    }
    run.close_by_watermark()
}

/// What the reader thread hands over: lines of files, or what a topic gave.
enum Fed {
    Lines(Chunk),
    Topic(Vec<Event>),
}

type Opened = (Receiver<Result<Fed>>, InputPos, String, Option<TopicRun>);

/// The input files (or stdin), read on a thread of their own; the first resumes where the
/// state says its persisted batches end.
fn open_files(plan: &Plan, resume: Option<&InputPos>, diag: &Diag) -> Result<Opened> {
    let start = resume.filter(|p| p.name == plan.files[0].display().to_string() && p.offset > 0);
    let (input, seeked) = open_input_at(&plan.files[0], start.map_or(0, |p| p.offset))?;
    let mut lines = LineReader::new(input.reader, plan.opts.max_line(MAX_PARTIAL_LINE));
    let mut pos = InputPos {
        name: input.name.clone(),
        ..InputPos::default()
    };
    if let (true, Some(p)) = (seeked, start) {
        lines.resume_at(p.offset, p.lineno);
        pos = p.clone();
    } else if resume.is_some_and(|p| p.offset > 0) && input.is_file {
        diag.note(format!(
            "{}: not the input the state was saved from, or shorter; reading it from the start",
            input.name
        ));
    }
    // Every input is opened before any is read: a missing one is said at once (exit 66).
    let mut inputs = vec![(lines, Arc::from(input.name.as_str()))];
    for path in &plan.files[1..] {
        let more = open_input(path)?;
        let lines = LineReader::new(more.reader, plan.opts.max_line(MAX_PARTIAL_LINE));
        inputs.push((lines, Arc::from(more.name.as_str())));
    }
    // The inputs in order, one after the other, in chunks for the counting thread.
    let rx = spawn_bounded("tt-count-reader", 4, move |send| {
        for (lines, name) in inputs {
            if !send_chunks(lines, name, &|c| send(c.map(Fed::Lines))) {
                return;
            }
        }
    })?;
    Ok((rx, pos, input.name, None))
}

/// Every partition of a topic, from where the state says (else from --from), read on a
/// thread of its own.
fn open_topic(
    topic: &Topic,
    plan: &Plan,
    resume: Option<&InputPos>,
    diag: &Diag,
) -> Result<Opened> {
    let same = |p: &&InputPos| Topic::parse(&p.name).is_ok_and(|t| t.name == topic.name);
    let saved = resume.filter(same).and_then(|p| p.kafka.clone());
    if saved.is_none() && resume.is_some_and(|p| p.offset > 0 || p.kafka.is_some()) {
        diag.note(format!(
            "{}: not the input the state was saved from; reading it from --from",
            topic.url
        ));
    }
    let saved = saved.unwrap_or_default();
    let mut reader = Reader::all(topic, &plan.read, &saved.next, "count")?;
    let watermark = kafka::Watermark::new(
        reader.next.keys().copied(),
        Duration::from_millis(plan.idle_ms),
    );
    let pos = InputPos {
        name: topic.url.clone(),
        kafka: Some(TopicPos {
            next: reader.next.clone(),
            ..saved
        }),
        ..InputPos::default()
    };
    let rx = spawn_bounded("tt-count-kafka", 4, move |send| loop {
        if reader.done() {
            return; // --until-end: the end of input
        }
        let mut events = Vec::new();
        let mut wait = Duration::from_millis(100);
        let failed = loop {
            match reader.poll(wait) {
                Ok(Some(ev)) => {
                    events.push(ev);
                    wait = Duration::ZERO;
                    if events.len() >= 1024 {
                        break None;
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        if !events.is_empty() && !send(Ok(Fed::Topic(events))) {
            return;
        }
        if let Some(e) = failed {
            send(Err(e));
            return;
        }
    })?;
    let run = TopicRun {
        url: topic.url.clone(),
        watermark,
        seq: 0,
        replays: 0,
    };
    Ok((rx, pos, topic.url.clone(), Some(run)))
}

fn process_chunk<W: Write>(run: &mut Run<W>, chunk: &Chunk) -> Result<()> {
    // One UTF-8 check for the chunk instead of one a line (which was 6 % of `tt count`'s
    // instructions on 415,153 uses, callgrind). A chunk holds its lines without their
    // newlines, so it can be valid where a line is not (a line ending inside a character
    // the next line finishes): a line is taken from it only if it starts and ends on a
    // character boundary, else it is checked alone.
    let text = crate::json::utf8(&chunk.data).ok();
    for it in &chunk.items {
        match *it {
            Item::Line {
                start,
                end,
                lineno,
                offset,
            } => {
                let checked = text.and_then(|t| t.get(start..end));
                run.line(&chunk.data[start..end], checked, lineno, offset)?;
            }
            Item::TooLong {
                lineno,
                len,
                offset,
            } => {
                run.pos.offset = offset;
                run.pos.lineno = lineno;
                let max = run.plan.opts.max_line(MAX_PARTIAL_LINE);
                let name = run.name.clone();
                run.diag.bad_line(&name, lineno, too_long(len, max))?;
            }
        }
    }
    Ok(())
}

/// End of input (or a signal): close what is open.
fn finish<W: Write>(run: &mut Run<W>) -> Result<()> {
    if run.plan.config.event_time {
        run.close_due(true)
    } else {
        let end = match run.plan.batch_ms {
            Some(b) => {
                let b = b as i64;
                (now_ms().div_euclid(b) + 1) * b
            }
            None => now_ms(),
        };
        if run.plan.batch_ms.is_some() && run.batcher.open_is_empty() {
            return Ok(()); // nothing since the last tick
        }
        let batch = run.batcher.close_open(end, &run.counter);
        run.emit_then(batch, leave_to_exit)
    }
}

/// Leaves `v` to the process's exit, which is next: freeing a saved stream's whole count
/// one string at a time was a fifth of `tt count`'s time after its input ended (perf, one
/// update of 37,353 tags), and `tt top` at the end of the pipeline waits for it.
fn leave_to_exit<T>(v: T) {
    std::mem::forget(v);
}

fn summary<W: Write>(run: &Run<W>) {
    if let Some(k) = run.kafka.as_ref().filter(|k| k.replays > 0) {
        run.diag.note(format!(
            "{} message(s) skipped: written again by tt tags after a restart, and counted already",
            k.replays
        ));
    }
    if run.batcher.late > 0 {
        run.diag.note(format!(
            "{} late use(s) dropped: their batch had closed (see --lateness)",
            run.batcher.late
        ));
    }
    run.diag.summary();
}
