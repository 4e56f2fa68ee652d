//! `tt fetch SOURCE`: raw posts out, one JSON object per line.
//!
//! This version has the two sources that need no network: `sim`, the built-in simulator
//! (`crate::sim`), and `replay`, a saved stream paced by its posts' own times. Output is
//! flushed before every pause, so a pipeline downstream sees each post when it is due.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cli::{parse_duration, InputOpts};
use crate::error::{Error, Kind, Result};
use crate::io::{open_input, stdout, Diag, LineReader, Output};
use crate::post;
use crate::sim::{self, Sim};
use crate::time::Millis;

const LONG_ABOUT: &str = "\
Stream raw posts from a source, one JSON object per line.

Sources in this version (no network or account needed):
  sim      a built-in simulator of a live stream: Twitter v1.1-shaped tweets with
           Zipf-distributed hashtags and bursts that trend (the README's demo)
  replay   a saved stream (NDJSON, .gz too), paced by its posts' own times

Posts are written exactly as the source gives them, and flushed before every pause, so a
pipeline downstream is live. --speed sets the pace: 1 is real time, 10 ten times faster,
max as fast as the pipeline takes them. --limit and --duration stop early; SIGINT and
SIGTERM stop cleanly (exit 130 and 143) after flushing what was written.";

const AFTER_HELP: &str = "\
Examples:
  tt fetch sim | tt tags | tt count --batch 2s | tt top 10 | tt serve
  tt fetch sim --rate 20000 --speed max --limit 1000000 > sim.ndjson
  tt fetch replay saved.ndjson --speed 10 | tt tags
  tt fetch replay saved.ndjson.gz --speed max --loop --duration 1h | tt tags";

#[derive(Debug, clap::Args)]
#[command(
    about = "Stream raw posts from a source (simulator, saved stream)",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP,
    subcommand_required = true
)]
pub struct Args {
    #[command(subcommand)]
    pub source: Source,

    /// Pace: 1 is real time, 10 is ten times faster, `max` is as fast as possible.
    #[arg(long, global = true, value_name = "SPEED", default_value = "1", value_parser = parse_speed)]
    pub speed: Speed,

    /// Stop after this many posts.
    #[arg(long, global = true, value_name = "N")]
    pub limit: Option<u64>,

    /// Stop after this long (500ms, 10s, 5m, 1h).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<u64>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Source {
    /// The built-in simulator: v1.1-shaped tweets with Zipf-distributed tags and bursts.
    Sim(SimArgs),
    /// A saved stream, paced by its posts' own times.
    Replay(ReplayArgs),
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Tweets per second of stream time.
    #[arg(long, value_name = "N", default_value_t = 200.0)]
    pub rate: f64,

    /// Seed: the same seed gives the same tweets.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// Distinct hashtags in the vocabulary (used Zipf-like: the k-th in proportion to 1/k).
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub tags: usize,

    /// A new tag bursts this often (stream time).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub burst_every: u64,

    /// How long each burst lasts.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub burst_len: u64,

    /// Start of the stream clock (RFC 3339); default now. With a fixed start and seed the
    /// output is the same byte for byte.
    #[arg(long, value_name = "TIME", value_parser = parse_start)]
    pub start: Option<Millis>,
}

fn parse_start(s: &str) -> std::result::Result<Millis, String> {
    crate::time::parse_rfc3339(s)
        .ok_or_else(|| format!("'{s}' is not an RFC 3339 time (2026-01-01T00:00:00Z)"))
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The saved stream (NDJSON; .gz is decompressed).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Start again from the top at the end (times are written as saved).
    #[arg(long = "loop")]
    pub repeat: bool,

    #[command(flatten)]
    pub input_opts: InputOpts,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    Factor(f64),
    Max,
}

fn parse_speed(s: &str) -> std::result::Result<Speed, String> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f.is_finite() => Ok(Speed::Factor(f)),
        _ => Err(format!("'{s}' is not a speed (a positive number, or max)")),
    }
}

/// Paces output by stream time, and knows when to stop.
struct Pacer {
    speed: Speed,
    /// (stream time, wall instant) of the first post.
    origin: Option<(Millis, Instant)>,
    started: Instant,
    limit: Option<u64>,
    duration: Option<Duration>,
    written: u64,
    signal: Arc<AtomicUsize>,
}

impl Pacer {
    /// Waits until a post of stream time `t` is due, flushing `out` before any pause.
    /// Returns false when the run should stop (limit, duration, signal).
    fn wait<W: std::io::Write>(&mut self, t: Option<Millis>, out: &mut Output<W>) -> Result<bool> {
        if self.limit.is_some_and(|l| self.written >= l) {
            return Ok(false);
        }
        let (Speed::Factor(f), Some(t)) = (self.speed, t) else {
            return Ok(self.go_on());
        };
        let (t0, w0) = *self.origin.get_or_insert((t, Instant::now()));
        let due = w0 + Duration::from_secs_f64(((t - t0).max(0) as f64 / 1000.0) / f);
        let mut flushed = false;
        loop {
            if !self.go_on() {
                return Ok(false);
            }
            let now = Instant::now();
            if now >= due {
                return Ok(true);
            }
            if !flushed {
                out.flush()?;
                flushed = true;
            }
            // Short sleeps, so that signals and --duration are noticed quickly.
            std::thread::sleep((due - now).min(Duration::from_millis(100)));
        }
    }

    fn go_on(&self) -> bool {
        self.signal.load(Ordering::Relaxed) == 0
            && self.duration.is_none_or(|d| self.started.elapsed() < d)
    }
}

pub fn run(args: Args) -> Result<()> {
    if let Source::Sim(s) = &args.source {
        if !(s.rate > 0.0 && s.rate.is_finite()) || s.tags == 0 || s.burst_len > s.burst_every {
            return Err(Error::usage(
                "tt fetch sim needs --rate > 0, --tags > 0 and --burst-len at most --burst-every",
            ));
        }
    }
    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)
            .map_err(|e| Error::new(Kind::Failure, format!("cannot handle signals: {e}")))?;
    }
    let mut pacer = Pacer {
        speed: args.speed,
        origin: None,
        started: Instant::now(),
        limit: args.limit,
        duration: args.duration.map(Duration::from_millis),
        written: 0,
        signal: signal.clone(),
    };
    let mut out = stdout();
    match args.source {
        Source::Sim(s) => run_sim(s, &mut pacer, &mut out)?,
        Source::Replay(r) => run_replay(r, &mut pacer, &mut out)?,
    }
    out.flush()?;
    match signal.load(Ordering::Relaxed) {
        0 => Ok(()),
        s if s == signal_hook::consts::SIGINT as usize => Err(Error::new(Kind::Interrupted, "")),
        _ => Err(Error::new(Kind::Terminated, "")),
    }
}

fn run_sim<W: std::io::Write>(s: SimArgs, pacer: &mut Pacer, out: &mut Output<W>) -> Result<()> {
    let now = s.start.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as Millis)
    });
    let cfg = sim::Config {
        seed: s.seed,
        rate: s.rate,
        tags: s.tags,
        burst_every: s.burst_every as f64 / 1000.0,
        burst_len: s.burst_len as f64 / 1000.0,
    };
    let mut sim = Sim::new(cfg, now);
    let mut line = Vec::with_capacity(2048);
    loop {
        if !pacer.wait(Some(sim.next_time()), out)? {
            return Ok(());
        }
        line.clear();
        sim.next_line(&mut line);
        out.write_all(&line)?;
        pacer.written += 1;
    }
}

fn run_replay<W: std::io::Write>(
    r: ReplayArgs,
    pacer: &mut Pacer,
    out: &mut Output<W>,
) -> Result<()> {
    let mut diag = Diag::new("fetch", r.input_opts.quiet, r.input_opts.strict);
    let mut offset_ms = 0;
    loop {
        let input = open_input(&r.file)?;
        let mut lines = LineReader::new(input.reader, r.input_opts.max_line_bytes);
        let (mut first_t, mut last_t): (Option<Millis>, Option<Millis>) = (None, None);
        let mut any = false;
        while let Some((lineno, bytes)) =
            lines.next_record(&input.name, &mut diag, &mut || Ok(()))?
        {
            let t = match std::str::from_utf8(bytes)
                .map_err(|e| e.to_string())
                .and_then(|s| post::time_of(s).map_err(|e| e.to_string()))
            {
                Ok(t) => t,
                Err(e) => {
                    // Only whole JSON objects go out: downstream never sees a broken line.
                    diag.bad_line(
                        &input.name,
                        lineno,
                        format!("not a JSON object ({e}); not replayed"),
                    )?;
                    continue;
                }
            };
            if t.is_some() {
                first_t = first_t.or(t);
                last_t = t;
            }
            // Looping: each pass is paced after the previous one.
            if !pacer.wait(t.map(|t| t + offset_ms), out)? {
                return Ok(());
            }
            out.write_all(bytes)?;
            out.write_all(b"\n")?;
            pacer.written += 1;
            any = true;
        }
        if !r.repeat || !any {
            diag.summary();
            return Ok(());
        }
        // The next pass is paced after this one: its times shift by the file's span + 1 s.
        if let (Some(a), Some(b)) = (first_t, last_t) {
            offset_ms += (b - a).max(0) + 1000;
        }
    }
}
