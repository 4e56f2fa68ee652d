//! `tt fetch SOURCE`: raw posts out, one JSON object per line.
//!
//! The network sources (`twitter`, `x`, `mastodon`, `bluesky`) live in `crate::source`,
//! with the reconnect loop they share; this file holds their flags and the two sources
//! that need no network: `sim`, the built-in simulator (`crate::sim`), and `replay`, a
//! saved stream paced by its posts' own times. Their output is flushed before every pause,
//! so a pipeline downstream sees each post when it is due.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::args::{parse_duration, InputOpts};
use crate::error::{Error, Result};
use crate::io::{open_input, stdout, Diag, LineReader, Output, DEFAULT_MAX_LINE};
use crate::pace::{parse_speed, Pacer, Speed};
use crate::post;
use crate::sim::{self, Sim};
use crate::source::creds::Store;
use crate::source::{self, bluesky, mastodon, twitter, x};
use crate::stop::{Signals, Stop};
use crate::time::Millis;

const LONG_ABOUT: &str = "\
Stream raw posts from a source, one JSON object per line, exactly as the source sent it.

Sources:
  twitter   Twitter v1.1 statuses/filter.json, OAuth 1.0a (the default, as in the classic
            tutorial; Twitter retired it in 2023, compatible servers still speak it)
  x         the X API v2 filtered stream, with rule management (bearer token)
  mastodon  a Mastodon server's hashtag or public timeline: streaming with a token,
            else polling the public REST timeline
  bluesky   Bluesky posts through Jetstream (WebSocket, no account), resumed by cursor
  replay    a saved stream (NDJSON; .gz, .bz2, .zst, .xz too), paced by its posts' own times
  sim       a built-in simulator of a live stream: Twitter v1.1-shaped tweets with
            Zipf-distributed hashtags and bursts that trend (the README's demo)

Every line is flushed as it is written; keep-alives are dropped, and a line cut off by a
disconnect is never written. --limit and --duration stop early; SIGINT and SIGTERM stop
cleanly (exit 130 and 143). When the reader of stdout goes away, tt fetch ends quietly;
when it reads slowly, tt fetch reads the network more slowly (memory stays bounded).

Network sources reconnect by the platforms' published rules: at once after a stream that
delivered posts drops; linearly from 250 ms to 16 s after network errors; exponentially
from 5 s to 320 s after HTTP errors; exponentially from 60 s after HTTP 420 or 429, or
longer if Retry-After or the rate-limit reset header says so. A stream that sends nothing,
keep-alives included, for the stall timeout (twitter 90 s, x 20 s, mastodon and bluesky
60 s; --stall-timeout) is reconnected. HTTP 401/403 are not retried (exit 77), nor other
4xx answers (exit 78). Each reconnect, wait and notice is reported on stderr; on a
terminal a progress line shows posts/s, reconnects and missed posts. --retries N retries a
failed connection at most N times in a row, then gives up (exit 69): --retries 0 gives up
at the first failure. The default is to keep trying.

Credentials come from the environment, or from the file given with --credentials, else
$XDG_CONFIG_HOME/tt/credentials (~/.config/tt/credentials): NAME=value lines with the
variables' names, which must not be readable by others (chmod 600). They are never printed.
  twitter   TWITTER_CONSUMER_KEY, TWITTER_CONSUMER_SECRET, TWITTER_ACCESS_TOKEN,
            TWITTER_ACCESS_TOKEN_SECRET
  x         TWITTER_BEARER_TOKEN
  mastodon  MASTODON_ACCESS_TOKEN (optional: without it, tt fetch polls)

--endpoint URL points a network source at another server (a compatible API, or a local
fake one in tests): the base URL under which the source's usual paths are requested.
TT_FETCH_TIME_SCALE=0.01 makes every backoff wait 100 times shorter (for tests).";

const AFTER_HELP: &str = "\
Examples:
  tt fetch sim | tt tags | tt count --batch 2s | tt top 10 | tt serve
  tt fetch sim --rate 20000 --speed max --limit 1000000 > sim.ndjson
  tt fetch replay saved.ndjson --speed 10 | tt tags
  tt fetch replay saved.ndjson.gz --speed max --loop --duration 1h | tt tags
  tt fetch --track '#' --language en --locations -130,-20,100,50 > tweets.ndjson
  tt fetch x --rule '#rust OR #rustlang' --rule '#python' | tt tags
  tt fetch x --list-rules
  tt fetch mastodon --instance https://mastodon.social --tag rust | tt tags
  tt fetch bluesky --duration 10m > bluesky.ndjson";

#[derive(Debug, clap::Args)]
#[command(
    about = "Stream raw posts from a source (Twitter, X, Mastodon, Bluesky, replay, simulator)",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    #[command(subcommand)]
    pub source: Option<Source>,

    /// With no source named: Twitter v1.1, the classic tutorial's source.
    #[command(flatten)]
    pub twitter: TwitterArgs,

    /// Pace of sim and replay: 1 (the default) is real time, 10 is ten times faster, `max`
    /// is as fast as possible. Live sources come at their own pace and refuse it.
    #[arg(long, global = true, value_name = "SPEED", value_parser = parse_speed)]
    pub speed: Option<Speed>,

    /// Stop after this many posts.
    #[arg(long, global = true, value_name = "N", value_parser = crate::args::parse_whole::<u64>)]
    pub limit: Option<u64>,

    /// Stop after this long (500ms, 10s, 5m, 1h). A network source not reached once in
    /// that time ends the run with exit 69, as running out of --retries does.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<u64>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Source {
    /// Twitter v1.1 statuses/filter.json, signed with OAuth 1.0a (the default source).
    Twitter(TwitterArgs),
    /// The X API v2 filtered stream (or sample stream), with rule management.
    X(XArgs),
    /// A Mastodon server's hashtag or public timeline (streaming or polling).
    Mastodon(MastodonArgs),
    /// Bluesky posts through Jetstream (WebSocket, no account needed).
    Bluesky(BlueskyArgs),
    /// A saved stream, paced by its posts' own times.
    ///
    /// The time of each object is v1.1's timestamp_ms or created_at, v2's data.created_at,
    /// Mastodon's created_at or Jetstream's time_us; objects without one (notices such as
    /// delete) are sent at once, and a file without any is said to be unpaced. A post
    /// older than one already sent goes at once; a wait of over a minute is said.
    Replay(ReplayArgs),
    /// The built-in simulator: v1.1-shaped tweets with Zipf-distributed tags and bursts.
    Sim(SimArgs),
}

/// Options of every network source.
#[derive(Debug, Clone, clap::Args)]
pub struct NetOpts {
    /// Base URL of the server (scheme, host, port); the source's usual paths are requested
    /// under it. http:// or https:// for twitter, x and mastodon; ws:// or wss:// for
    /// bluesky. Default: the platform's own.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Reconnect after this long with nothing received, keep-alives included.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub stall_timeout: Option<u64>,

    /// Retry a failed connection at most N times in a row, then give up (exit 69); 0 gives
    /// up at the first failure. Default: keep trying.
    #[arg(long, value_name = "N", value_parser = crate::args::parse_whole::<u32>)]
    pub retries: Option<u32>,
}

/// The credentials file of the sources that need an account.
#[derive(Debug, Clone, clap::Args)]
pub struct CredOpts {
    /// Credentials file (NAME=value lines, chmod 600); default
    /// $XDG_CONFIG_HOME/tt/credentials. The environment's variables of the same names win.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_long_help = "Credentials (from the environment or the credentials file): TWITTER_CONSUMER_KEY,
TWITTER_CONSUMER_SECRET, TWITTER_ACCESS_TOKEN and TWITTER_ACCESS_TOKEN_SECRET, the four
OAuth 1.0a keys of a Twitter app."
)]
pub struct TwitterArgs {
    /// Phrases to track (comma-separated or repeated; `#` matches every hashtag).
    /// With none of --track, --follow, --locations: the classic tutorial's
    /// `--track '#' --language en --locations -130,-20,100,50`.
    #[arg(long, value_name = "PHRASE")]
    pub track: Vec<String>,

    /// User ids whose posts to follow.
    #[arg(long, value_name = "ID")]
    pub follow: Vec<String>,

    /// Bounding boxes: west,south,east,north longitudes and latitudes.
    #[arg(long, value_name = "BOX", allow_hyphen_values = true)]
    pub locations: Vec<String>,

    /// Languages (BCP 47 codes: en, de, ...).
    #[arg(long, value_name = "LANG")]
    pub language: Vec<String>,

    #[command(flatten)]
    pub net: NetOpts,

    #[command(flatten)]
    pub creds: CredOpts,
}

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_long_help = "Credentials (from the environment or the credentials file): TWITTER_BEARER_TOKEN, an
app-only bearer token of an X project."
)]
pub struct XArgs {
    /// Add a filtering rule before streaming, unless one with this value exists
    /// (repeatable; X's rule syntax: `#rust OR #rustlang -is:retweet`).
    #[arg(long, value_name = "RULE")]
    pub rule: Vec<String>,

    /// Delete a rule by id before streaming (repeatable; `all` deletes every rule).
    #[arg(long, value_name = "ID")]
    pub delete_rule: Vec<String>,

    /// Print the rules as NDJSON ({"id","value","tag"}) and exit.
    #[arg(long)]
    pub list_rules: bool,

    /// Apply --rule and --delete-rule, print the rules, and exit without streaming.
    #[arg(long)]
    pub rules_only: bool,

    /// The 1% sample stream instead of the filtered stream (no rules).
    #[arg(long, conflicts_with_all = ["rule", "delete_rule", "list_rules", "rules_only"])]
    pub sample: bool,

    #[command(flatten)]
    pub net: NetOpts,

    #[command(flatten)]
    pub creds: CredOpts,
}

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_long_help = "Credentials (from the environment or the credentials file): MASTODON_ACCESS_TOKEN, a
user token with read:statuses, for the streaming API; without it, the public REST timeline
is polled every --poll."
)]
pub struct MastodonArgs {
    /// The server, e.g. `https://mastodon.social` (or give --endpoint).
    #[arg(long, value_name = "URL", required_unless_present = "endpoint")]
    pub instance: Option<String>,

    /// A hashtag's timeline (without `#`); default the public timeline.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,

    /// Only the server's own posts.
    #[arg(long)]
    pub local: bool,

    /// Without a token: time between polls of the REST timeline.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub poll: u64,

    #[command(flatten)]
    pub net: NetOpts,

    #[command(flatten)]
    pub creds: CredOpts,
}

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "Credentials: none; Jetstream is public.")]
pub struct BlueskyArgs {
    /// Start from this time instead of now: unix microseconds, or RFC 3339 (Jetstream
    /// keeps about 36 hours).
    #[arg(long, value_name = "TIME", value_parser = parse_cursor)]
    pub cursor: Option<i64>,

    #[command(flatten)]
    pub net: NetOpts,
}

fn parse_cursor(s: &str) -> std::result::Result<i64, String> {
    s.parse::<i64>()
        .ok()
        .filter(|&n| n > 0)
        .or_else(|| crate::time::parse_rfc3339(s).map(|ms| ms * 1000))
        .ok_or_else(|| format!("'{s}' is not unix microseconds or an RFC 3339 time"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Vocabulary {
    Fixed,
    Growing,
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Tweets per second of stream time.
    #[arg(long, value_name = "N", default_value_t = 200.0, value_parser = crate::args::parse_number)]
    pub rate: f64,

    /// Seed: the same seed gives the same tweets.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = crate::args::parse_whole::<u64>)]
    pub seed: u64,

    /// Distinct hashtags in the vocabulary (used Zipf-like: the k-th in proportion to 1/k).
    #[arg(long, value_name = "N", default_value_t = 5000, value_parser = crate::args::parse_whole::<usize>)]
    pub tags: usize,

    /// `fixed`: the --tags words only. `growing`: new tags keep appearing, as in a real
    /// stream (after n uses, 1.047 x n^0.934 new ones: Heaps' law fitted to the 2014 stream
    /// capture), ranked after the fixed words; for soak runs and memory benchmarks.
    #[arg(long, value_enum, value_name = "KIND", default_value_t = Vocabulary::Fixed)]
    pub vocabulary: Vocabulary,

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
    /// The saved stream (NDJSON; .gz, .bz2, .zst and .xz are decompressed).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Start again from the top at the end (times are written as saved).
    #[arg(long = "loop")]
    pub repeat: bool,

    #[command(flatten)]
    pub input_opts: InputOpts,
}

/// A wait for the next post longer than this is said on stderr, so a long gap in a saved
/// stream is not mistaken for a hang.
const LONG_WAIT: Duration = Duration::from_secs(60);

pub fn run(args: Args) -> Result<()> {
    check_urls(&args)?;
    let paced = matches!(args.source, Some(Source::Sim(_) | Source::Replay(_)));
    if args.speed.is_some() && !paced {
        return Err(Error::usage(
            "--speed paces sim and replay only; a live source comes at its own pace",
        ));
    }
    if let Some(Source::Sim(s)) = &args.source {
        if !(s.rate > 0.0 && s.rate.is_finite()) || s.tags == 0 || s.burst_len > s.burst_every {
            return Err(Error::usage(
                "sim: needs --rate > 0, --tags > 0 and --burst-len at most --burst-every",
            ));
        }
    }
    let signals = Signals::catch()?;
    let mut out = stdout();
    let t = &args.twitter;
    let twitter_flags = !(t.track.is_empty()
        && t.follow.is_empty()
        && t.locations.is_empty()
        && t.language.is_empty())
        || t.net.endpoint.is_some()
        || t.net.stall_timeout.is_some()
        || t.net.retries.is_some()
        || t.creds.credentials.is_some();
    let source = match args.source {
        None => Source::Twitter(args.twitter),
        Some(_) if twitter_flags => {
            // clap would accept `tt fetch --track x sim` and drop --track; say so instead.
            return Err(Error::usage(
                "flags before the source name belong to the default source (twitter); put them after the source: tt fetch SOURCE [FLAGS]",
            ));
        }
        Some(s) => s,
    };
    let plan = source::Plan {
        retries: None,
        time_scale: time_scale()?,
    };
    let stop = || {
        Stop::new(
            signals.clone(),
            args.limit,
            args.duration.map(Duration::from_millis),
        )
    };
    let mut pacer = Pacer::new(args.speed.unwrap_or(Speed::Factor(1.0)), stop());
    match source {
        Source::Sim(s) => run_sim(s, &mut pacer, &mut out)?,
        Source::Replay(r) => run_replay(r, &mut pacer, &mut out)?,
        Source::Twitter(t) => {
            let store = Store::load(t.creds.credentials.as_deref())?;
            let keys = twitter::Keys::from_store(&store)?;
            let mut filter = twitter::Filter {
                track: split_list(&t.track),
                follow: split_list(&t.follow),
                locations: t.locations.clone(),
                language: split_list(&t.language),
            };
            if filter.track.is_empty() && filter.follow.is_empty() && filter.locations.is_empty() {
                let lang = std::mem::take(&mut filter.language);
                filter = twitter::Filter::classic();
                if !lang.is_empty() {
                    filter.language = lang;
                }
            }
            let stall = stall(&t.net, 90);
            let endpoint = t
                .net
                .endpoint
                .as_deref()
                .unwrap_or(twitter::DEFAULT_ENDPOINT);
            let mut src = twitter::Twitter::new(endpoint, filter, keys, stall)?;
            network("twitter", &mut src, &t.net, plan, &stop(), &mut out)?;
        }
        Source::X(x) => {
            let store = Store::load(x.creds.credentials.as_deref())?;
            let endpoint = x.net.endpoint.as_deref().unwrap_or(x::DEFAULT_ENDPOINT);
            let mut src = x::X::new(endpoint, &store, x.sample, stall(&x.net, 20))?;
            if !x.delete_rule.is_empty() {
                let n = src.delete_rules(&x.delete_rule)?;
                crate::io::say("fetch", format!("x: deleted {n} rule(s)"));
            }
            if !x.rule.is_empty() {
                for r in src.add_rules(&x.rule)? {
                    crate::io::say("fetch", format!("x: added rule {r}"));
                }
            }
            if x.list_rules || x.rules_only {
                for r in src.list_rules()? {
                    out.write_all(r.to_string().as_bytes())?;
                    out.write_all(b"\n")?;
                }
            } else {
                network("x", &mut src, &x.net, plan, &stop(), &mut out)?;
            }
        }
        Source::Mastodon(m) => {
            let store = Store::load(m.creds.credentials.as_deref())?;
            let instance = m
                .net
                .endpoint
                .clone()
                .or(m.instance.clone())
                .expect("clap requires --instance or --endpoint");
            let cfg = mastodon::Config {
                instance,
                tag: m
                    .tag
                    .as_deref()
                    .map(|t| t.trim_start_matches('#').to_owned()),
                local: m.local,
                token: store.get(mastodon::CREDENTIAL),
                poll: Duration::from_millis(m.poll),
                stall: stall(&m.net, 60),
            };
            if cfg.token.is_none() {
                let (name, every) = (mastodon::CREDENTIAL, crate::time::secs(cfg.poll));
                crate::io::say(
                    "fetch",
                    format!("mastodon: no {name} set: polling the public timeline every {every}"),
                );
            }
            let mut src = mastodon::Mastodon::new(cfg)?;
            network("mastodon", &mut src, &m.net, plan, &stop(), &mut out)?;
        }
        Source::Bluesky(b) => {
            let endpoint = b
                .net
                .endpoint
                .as_deref()
                .unwrap_or(bluesky::DEFAULT_ENDPOINT);
            let mut src = bluesky::Bluesky::new(endpoint, b.cursor, stall(&b.net, 60));
            network("bluesky", &mut src, &b.net, plan, &stop(), &mut out)?;
        }
    }
    out.flush()?;
    signals.outcome()
}

/// The URL flags of the source, checked before anything is read or sent: a malformed one
/// is a usage error (exit 2) naming the flag, never a network error retried forever.
fn check_urls(args: &Args) -> Result<()> {
    const HTTP: &[&str] = &["http", "https"];
    let urls: Vec<(&str, &str, &[&str])> = match &args.source {
        None => vec![("twitter", "--endpoint", HTTP)]
            .into_iter()
            .filter(|_| args.twitter.net.endpoint.is_some())
            .collect(),
        Some(Source::Twitter(_)) => vec![("twitter", "--endpoint", HTTP)],
        Some(Source::X(_)) => vec![("x", "--endpoint", HTTP)],
        Some(Source::Mastodon(_)) => vec![
            ("mastodon", "--instance", HTTP),
            ("mastodon", "--endpoint", HTTP),
        ],
        Some(Source::Bluesky(_)) => vec![("bluesky", "--endpoint", &["ws", "wss"])],
        Some(Source::Sim(_) | Source::Replay(_)) => vec![],
    };
    for (source, flag, schemes) in urls {
        let value = match (&args.source, flag) {
            (None, _) => args.twitter.net.endpoint.as_deref(),
            (Some(Source::Twitter(t)), _) => t.net.endpoint.as_deref(),
            (Some(Source::X(x)), _) => x.net.endpoint.as_deref(),
            (Some(Source::Mastodon(m)), "--instance") => m.instance.as_deref(),
            (Some(Source::Mastodon(m)), _) => m.net.endpoint.as_deref(),
            (Some(Source::Bluesky(b)), _) => b.net.endpoint.as_deref(),
            _ => None,
        };
        if let Some(value) = value {
            check_url(source, flag, value, schemes)?;
        }
    }
    Ok(())
}

/// One URL flag: it parses, has a host, and a scheme the source speaks.
fn check_url(source: &str, flag: &str, value: &str, schemes: &[&str]) -> Result<()> {
    let takes = schemes
        .iter()
        .map(|s| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(" or ");
    let bad = |why: String| {
        Error::usage(format!(
            "{source}: {flag} {value}: {why}; {source} takes {takes} URLs, such as {}://HOST",
            schemes[schemes.len() - 1]
        ))
    };
    // A host alone (`mastodon.social`) is what people type first; the URL parser's
    // "relative URL without a base" would not tell them what is missing.
    if !value.contains("://") {
        let scheme = schemes[schemes.len() - 1];
        return Err(bad(format!(
            "not a URL: no scheme (did you mean {scheme}://{value}?)"
        )));
    }
    let url = reqwest::Url::parse(value).map_err(|e| bad(format!("not a URL ({e})")))?;
    if !schemes.contains(&url.scheme()) {
        return Err(bad(format!("wrong scheme {}://", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host".into()));
    }
    Ok(())
}

/// `--track a,b --track c` → a, b, c.
fn split_list(v: &[String]) -> Vec<String> {
    v.iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn stall(net: &NetOpts, default_secs: u64) -> Duration {
    net.stall_timeout
        .map_or(Duration::from_secs(default_secs), Duration::from_millis)
}

fn time_scale() -> Result<f64> {
    match std::env::var("TT_FETCH_TIME_SCALE") {
        Err(_) => Ok(1.0),
        Ok(v) => v
            .parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0 && f.is_finite())
            .ok_or_else(|| Error::usage(format!("TT_FETCH_TIME_SCALE={v}: not a number >= 0"))),
    }
}

fn network<W: std::io::Write>(
    name: &'static str,
    src: &mut dyn source::Source,
    net: &NetOpts,
    mut plan: source::Plan,
    stop: &Stop,
    out: &mut Output<W>,
) -> Result<()> {
    plan.retries = net.retries;
    let mut rep = source::Reporter::new(name);
    let r = source::run(src, &plan, stop, out, &mut rep);
    rep.finish();
    r
}

fn run_sim<W: std::io::Write>(s: SimArgs, pacer: &mut Pacer, out: &mut Output<W>) -> Result<()> {
    let now = s.start.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as Millis)
    });
    let cfg = sim::Config {
        growth: (s.vocabulary == Vocabulary::Growing).then_some(sim::CAPTURE_FIT),
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
    let (mut offset_ms, mut told_untimed) = (0, false);
    loop {
        let input = open_input(&r.file)?;
        let mut lines = LineReader::new(input.reader, r.input_opts.max_line(DEFAULT_MAX_LINE));
        let (mut first_t, mut last_t): (Option<Millis>, Option<Millis>) = (None, None);
        let mut told_order = false;
        let (mut any, mut untimed) = (false, 0u64);
        while let Some((lineno, bytes)) =
            lines.next_record(&input.name, &mut diag, &mut || Ok(()))?
        {
            let t = match std::str::from_utf8(bytes)
                .map_err(|e| format!("invalid UTF-8 ({e})"))
                .and_then(post::time_of)
            {
                Ok(t) => t,
                Err(why) => {
                    // Only whole JSON objects go out: downstream never sees a broken line.
                    diag.bad_line(&input.name, lineno, why)?;
                    continue;
                }
            };
            if let (Some(now), Some(before)) = (t, last_t) {
                if now < before && !told_order {
                    told_order = true;
                    diag.note(format!(
                        "{}:{lineno}: the posts' times go backwards here (is the file newest \
                         first?); a post older than one already sent is sent at once",
                        input.name
                    ));
                }
            }
            let wait = pacer.due_in(t.map(|t| t + offset_ms));
            if wait > LONG_WAIT {
                diag.note(format!(
                    "{}:{lineno}: the next post is due in {} at --speed {} (a gap in the \
                     stream); waiting; --speed max sends at once",
                    input.name,
                    crate::time::secs(wait),
                    pacer.speed
                ));
            }
            if t.is_some() {
                first_t = first_t.or(t);
                last_t = last_t.max(t);
            } else {
                untimed += 1;
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
        // Objects without a time (notices) go at once; a file of nothing else is not paced
        // at all, which is said rather than left for the user to wonder at.
        if first_t.is_none() && untimed > 0 && !told_untimed {
            told_untimed = true;
            if let crate::pace::Speed::Factor(_) = pacer.speed {
                diag.note(format!(
                    "{}: none of its {untimed} object(s) has a time to pace by (timestamp_ms \
                     or created_at; v2 data.created_at; Jetstream time_us): all were sent at \
                     once",
                    input.name
                ));
            }
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
