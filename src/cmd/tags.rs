//! `tt tags`: raw posts in, one record per distinct hashtag per post out.
//!
//! The formats it reads are described in [`crate::post`], the extraction rules in
//! [`crate::hashtag`]. Output is flushed whenever the input would block, so the command is
//! live at the end of a pipe (`tt fetch | tt tags`) and block-buffered on a file.

use std::fs::File;
use std::path::PathBuf;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::InputOpts;
use crate::error::{Error, Kind, Result};
use crate::io::{
    self, each_unit, read_error, read_packed, send_blocks, stdout, Block, Codec, Diag, Names,
    Output, Part, Said, Unit, Units, DEFAULT_MAX_LINE,
};
use crate::kafka::{self, Event, Publisher, ReadArgs, Reader, Topic};
use crate::parallel::Buffers;
use crate::stop::Signals;
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
letter (#1st yes, #2024 no), not inside a URL. A hashtag counts once per post.

Reading files (a saved month of the Stream Grab, say) into a pipe or a file, with stderr
on a terminal, a line there shows how much of them has been read, how fast, and how long
is left; it is cleared at the end, and not drawn with --quiet, for a pipe on stdin (how
much will come is unknown; stdin from a file is counted), when stderr is not a terminal,
or when the output goes to the terminal (it is progress enough). The same for count,
combine, top, report and publish.

TOPICS. The input can be a Kafka topic, kafka://HOST:PORT/TOPIC (raw posts from tt
publish): all its partitions from --from, or with --group a consumer group's share of them
from the group's committed offsets, so that several tt tags share the work. With --to, the
uses of each post go to another topic as one message carrying its source (the header
tt-src: topic, partition and offset of the post's message), and the group's offsets are
committed once the brokers confirmed what was written (every second): after a crash the
uncommitted posts are read again and written again, and tt count skips the messages whose
source it counted already, so each post is counted once. Writing to stdout instead, the
offsets are committed once the output is flushed to the pipe, and lines the next command
had not handled when it died are lost: use --to for exactly-once.";

const AFTER_HELP: &str = "\
Examples:
  tt tags saved.ndjson | head
  tt fetch sim | tt tags --no-retweets
  tail -f stream.ndjson | tt tags          live: output is flushed as input arrives
  tt tags --keep-case --with-indices tweets.ndjson
  tt tags --input text --format csv < lines.txt
  tt tags kafka://127.0.0.1:9092/posts --group tags --to kafka://127.0.0.1:9092/uses";

#[derive(Debug, clap::Args)]
#[command(
    about = "Extract hashtags from posts (Twitter, X, Mastodon, Bluesky, plain text)",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    /// Inputs of raw posts, read in order: NDJSON files (.gz, .bz2, .zst and .xz are
    /// decompressed), directories (their JSON files, recursively in name order), .tar
    /// archives (also .tar.gz, .tar.bz2, .tar.zst, .tar.xz and their short names .tgz,
    /// .tbz2, .txz, .tzst) and .zip archives (their
    /// JSON members in archive order, each decompressed by its own extension); with
    /// --input text, the .txt files and members instead. `-` or none
    /// reads stdin (decompressed when it starts like gzip, bzip2, zstd or xz data, and
    /// read as an archive when it then starts like a tar or zip one: curl -s URL | tt
    /// tags). A compressed file, archive or member that is damaged or not what its name
    /// says is said with where its damage starts, what comes before the damage is read,
    /// and so are the inputs after it (exit 65 at the end; with --strict, at once); so is
    /// an input in a format tt does not read (lz4, lzma, .Z, lzip, 7-Zip, RAR: with the
    /// command that decompresses it) or of binary data. A .zip cut short (no table of
    /// members at its end) is read member by member; a .tar cut short inside a member is
    /// said at that member.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// How to read each line: `json` (raw posts, format detected per line) or `text` (each
    /// line is the text of one post, as the classic tutorial's feeder sent it; directories
    /// and archives then give their .txt and .text files).
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

    /// Parse on N threads (default: the available cores). Files, archive members and
    /// chunks of lines are parsed in parallel (and the blocks of a .tar.bz2, of a large
    /// .bz2 file or member or of bzip2 data on stdin decoded in parallel), and written in
    /// input order: the output is the same as with -j1, and a line read from a pipe is
    /// written as soon as it is parsed. With --strict or --format csv, one thread; with a
    /// kafka:// input, one thread per process (start more members of a --group to use more
    /// cores).
    #[arg(short = 'j', long, value_name = "N", value_parser = crate::args::parse_whole_in::<u16, 1, 1024>)]
    pub threads: Option<u16>,

    /// Output format: `ndjson`, or `csv` with a header row.
    #[arg(long, value_enum, default_value_t = Format::Ndjson, value_name = "FORMAT")]
    pub format: Format,

    /// With a kafka:// input: write the tag uses to this topic (kafka://HOST:PORT/TOPIC)
    /// instead of stdout, one message per post, each confirmed before the input's offsets
    /// are committed (see TOPICS).
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,

    /// With a kafka:// input: read as a member of this consumer group, which shares the
    /// topic's partitions among its members and keeps their committed offsets.
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,

    #[command(flatten)]
    pub input_opts: InputOpts,

    #[command(flatten)]
    pub read: ReadArgs,
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
        threads: match (a.input_opts.strict, a.format, a.threads) {
            (true, _, _) | (_, Format::Csv, _) => 1,
            (_, _, Some(n)) => n as usize,
            (_, _, None) => std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
    }
}

pub fn run(args: Args) -> Result<()> {
    let plan = plan(&args);
    let topic = args
        .files
        .iter()
        .find(|f| kafka::is_url(&f.to_string_lossy()));
    match topic {
        Some(t) => {
            if args.files.len() > 1 {
                return Err(Error::usage("a kafka:// topic is read alone: one input"));
            }
            let topic = Topic::parse(&t.to_string_lossy())?;
            return from_topic(&topic, &args, &plan);
        }
        None if args.to.is_some() || args.group.is_some() || args.read.until_end => {
            return Err(Error::usage(
                "--to, --group and --until-end apply to a kafka:// input; to publish the \
                 uses of files, pipe them into tt publish",
            ));
        }
        None => {}
    }
    let mut diag = Diag::new("tags", plan.quiet, plan.strict);
    // tt tags reads directories (the files its input kind names), and writes to stdout.
    let reads = io::Reads {
        dirs: Some(names(&plan)),
        writes_stdout: true,
    };
    let _progress = io::progress_of("tags", &args.files, plan.quiet, reads);
    let mut tagger = Tagger::new(&plan, stdout());
    let mut damaged = 0;
    let notes = if plan.threads > 1 {
        parallel(args.files, &plan, &mut tagger, &mut diag, &mut damaged)?
    } else {
        // Small compressed files and members are read whole, as the workers of -j read
        // them: a damaged .zst member then gives the same lines whatever the threads.
        let units = Units {
            packed_max: PACKED_MAX,
            by_parts: false,
            threads: 1,
            names: names(&plan),
        };
        each_unit(&args.files, units, &mut |unit| {
            let r = match unit {
                Unit::Plain(name, reader) => tagger.process(reader, name, &mut diag).map(|_| ()),
                Unit::Packed(name, codec, reader) => {
                    read_packed(reader, name).and_then(|(bytes, damage)| {
                        tagger.unpack(codec, &bytes, damage, name, &mut diag)
                    })
                }
                Unit::Bad(e) => Err(e),
                Unit::File(..) => unreachable!("none when by_parts is false"),
            };
            read_on(r, &plan, &diag, &mut damaged)
        })?
    };
    for note in notes {
        diag.note(note);
    }
    tagger.finish(&mut diag)?;
    match damaged {
        0 => Ok(()),
        n => Err(Error::data(format!(
            "{n} input(s) damaged, not what their names say or not readable: read up to \
             the damage, the rest of each skipped (see above)"
        ))),
    }
}

/// A compressed input that is damaged (a truncated or corrupt `.bz2` member, say) or not
/// what its name says ends that input, not the run: the lines before the damage are
/// tagged, the error is said at once, the next input is read, and the run exits 65 at its
/// end. A month of the Stream Grab is hundreds of members; one bad one must not hide the
/// rest. With --strict it ends the run.
fn read_on(r: Result<()>, plan: &Plan, diag: &Diag, damaged: &mut u64) -> Result<()> {
    match r {
        Err(e) if e.kind == Kind::Data && !plan.strict => {
            diag.say(format!("{e}; reading on"));
            *damaged += 1;
            Ok(())
        }
        r => r,
    }
}

/// The files of directories and members of archives that `plan` reads.
fn names(plan: &Plan) -> Names {
    match plan.input {
        InputKind::Json => Names::Json,
        InputKind::Text => Names::Text,
    }
}

/// Bytes read per block of lines handed to a worker (a file's; a pipe's reads return what
/// has arrived). Blocks of 64 KiB made -j2 slower (more hand-offs between threads).
const BLOCK: usize = 1024 * 1024;

/// Bytes of a plain file per part read by a worker. Parts of 256 KiB made -j2 switch
/// threads 21,940 times on 1.1 GB (perf stat: task-clock 2.25 s), 4 MiB parts about 1,500
/// times (task-clock 1.65-1.96 s in three runs).
const REGION: u64 = 4 << 20;

/// What the reader hands a worker: a block of lines, a small compressed file or member
/// whole (decompressed by the worker, so that several decompress at once), or a part of
/// a plain file for the worker to read itself ([`Part`]).
enum Job {
    Block(Result<Block>),
    /// With the damage the read of its bytes ended on, if it did.
    Packed(Arc<str>, Codec, Vec<u8>, Option<std::io::Error>),
    Region(Region),
    /// Small jobs handed over together ([`Gather`]).
    Many(Vec<Job>),
}

impl Job {
    /// The bytes a job holds or covers when it is small enough to go with others.
    fn small(&self) -> Option<usize> {
        let n = match self {
            Job::Block(Ok(Block::Lines { len, .. })) => *len,
            Job::Packed(_, _, bytes, _) => bytes.len(),
            Job::Region(r) => usize::try_from(r.end - r.start).ok()?,
            _ => return None,
        };
        (n < SMALL).then_some(n)
    }
}

/// A job of fewer bytes than this goes to a worker with others (of inputs that cannot
/// stall), up to [`GATHER_BYTES`] and [`GATHER_JOBS`] together.
const SMALL: usize = 64 << 10;
const GATHER_BYTES: usize = 1 << 20;
/// Also bounds the files a batch holds open: each small file is a [`Region`] holding its
/// file, and 4 jobs a thread are in flight (a default limit is 1,024 open files).
const GATHER_JOBS: usize = 32;

/// Hands small jobs to the workers together. Each job handed over alone costs three
/// wake-ups (a worker, the writing thread, and this reading thread when a token comes
/// back), more than tagging one small input:
/// `tt tags -j2` took longer than `-j1` on a `.tar` of 20,000 one-tweet members and on a
/// directory of as many files (BENCHMARKS.md, "Many small inputs"). Only where reading
/// cannot stall (regular files, and directories and archives of them): a pipe's small
/// block waits for no other, so that live input stays live.
struct Gather<'a> {
    send: &'a dyn Fn(Job) -> bool,
    on: bool,
    pending: std::cell::RefCell<(Vec<Job>, usize)>,
}

impl Gather<'_> {
    /// Sends `job`, or keeps it to go with the next; false once the run is over.
    fn send(&self, job: Job, unused: &dyn Fn(Vec<u8>)) -> bool {
        let Some(n) = self.on.then(|| job.small()).flatten() else {
            return self.flush() && (self.send)(job);
        };
        // A small block holds a whole read buffer: keep its bytes only, and the buffer
        // goes back to the reader.
        let job = match job {
            Job::Block(Ok(Block::Lines {
                name,
                first,
                data,
                len,
            })) => {
                let bytes = data[..len].to_vec();
                unused(data);
                Job::Block(Ok(Block::Lines {
                    name,
                    first,
                    data: bytes,
                    len,
                }))
            }
            job => job,
        };
        let full = {
            let mut p = self.pending.borrow_mut();
            p.0.push(job);
            p.1 += n;
            p.0.len() >= GATHER_JOBS || p.1 >= GATHER_BYTES
        };
        !full || self.flush()
    }

    /// Sends the jobs kept; false once the run is over.
    fn flush(&self) -> bool {
        let (jobs, _) = self.pending.take();
        match jobs.len() {
            0 => true,
            1 => (self.send)(jobs.into_iter().next().expect("one job")),
            _ => (self.send)(Job::Many(jobs)),
        }
    }
}

/// Bytes `start..end` of a plain file (`end`: its size when it was cut); the `last` part
/// is read on to the file's end.
struct Region {
    name: Arc<str>,
    file: Arc<File>,
    start: u64,
    end: u64,
    last: bool,
}

/// A compressed file or member of at most this many bytes is decompressed by a worker:
/// the hourly `.json.bz2` members of the Stream Grab are a few MB each.
const PACKED_MAX: u64 = 64 << 20;

/// A worker's output for a job: the output of its inputs one after another, and for each
/// of them a [`Done`].
struct Tagged {
    out: Vec<u8>,
    done: smallvec::SmallVec<[Done; 1]>,
}

/// Where one input's output ends in [`Tagged::out`], what it would say, and the error that
/// ended it (after the output of the lines before it, as with -j1). For a [`Region`], its
/// lines were numbered from 1: `lines` gives whether it starts a file, and its number of
/// lines.
struct Done {
    end: usize,
    said: Vec<Said>,
    err: Option<Error>,
    lines: Option<(bool, u64)>,
}

/// `-j N`: one thread cuts the inputs into jobs (reading pipes and large compressed files
/// into blocks of lines itself, handing small compressed ones over whole, and plain files
/// over as parts that the workers read), N threads tag them, and this one writes their
/// output and says their messages in input order.
///
/// Plain files are read by the workers because the reading thread was the serial part:
/// with it copying every block (read(2)) and counting its lines, `tt tags -j2` on 1.1 GB
/// in /dev/shm spent 15 % of its CPU time on that one thread (perf), and the workers then
/// parsed data another core had copied.
fn parallel(
    files: Vec<PathBuf>,
    plan: &Plan,
    tagger: &mut Tagger<'_, impl std::io::Write>,
    diag: &mut Diag,
    damaged: &mut u64,
) -> Result<Vec<String>> {
    // The workers' taggers borrow their plan for as long as the process runs: one small
    // leak per run, instead of a Tagger that owns its plan for this one use.
    let worker_plan: &'static Plan = Box::leak(Box::new(plan.clone()));
    let max_line = plan.max_line;
    // Read buffers go from the reader to a worker and back; output buffers from a worker
    // to this thread and back. Apart, so that a read buffer keeps its (zeroed) length.
    let (reads, outs) = (Buffers::default(), Buffers::default());
    let (for_reader, for_workers, outs_for_workers) = (reads.clone(), reads, outs.clone());
    // Text lines are numbered as they are read (their number is their id): read in order.
    let units = Units {
        packed_max: PACKED_MAX,
        by_parts: plan.input == InputKind::Json,
        threads: plan.threads,
        names: names(plan),
    };
    // Regular files, and directories and archives of them, cannot stall (a pipe or a
    // terminal can): their small jobs go together.
    let steady = !files.is_empty()
        && files.iter().all(|f| {
            f.as_os_str() != "-" && std::fs::metadata(f).is_ok_and(|m| m.is_file() || m.is_dir())
        });
    let produce = move |send: &dyn Fn(Job) -> bool| {
        let fresh = || for_reader.get();
        let unused = |v| for_reader.put(v);
        let gather = Gather {
            send,
            on: steady,
            pending: Default::default(),
        };
        let send = &|job| gather.send(job, &unused);
        let send_block = |b: Result<Block>| send(Job::Block(b));
        let read = each_unit(&files, units, &mut |unit| {
            let sent = match unit {
                Unit::File(name, file) => send_regions(Arc::from(name), file, send),
                Unit::Plain(name, reader) => send_blocks(
                    reader,
                    Arc::from(name),
                    max_line,
                    BLOCK,
                    &send_block,
                    &fresh,
                    &unused,
                ),
                Unit::Bad(e) => send_block(Err(e)),
                Unit::Packed(name, codec, reader) => match read_packed(reader, name) {
                    Ok((bytes, damage)) => send(Job::Packed(Arc::from(name), codec, bytes, damage)),
                    Err(e) => {
                        send_block(Err(e));
                        false
                    }
                },
            };
            match sent {
                true => Ok(()),
                // A read error was sent in order, or the run is over: stop reading.
                false => Err(Error::new(Kind::PipeClosed, "")),
            }
        });
        // What was kept goes before the end, or before an error that ends the run.
        gather.flush();
        read
    };
    let init = move || {
        let out = Output::unbuffered(Vec::new());
        (Tagger::new(worker_plan, out), Diag::recording("tags"))
    };
    // One job (not a batch of them), its output added to `out`.
    let one = move |tagger: &mut Tagger<'static, Vec<u8>>,
                    diag: &mut Diag,
                    job: Job,
                    out: Vec<u8>,
                    done: &mut smallvec::SmallVec<[Done; 1]>|
          -> Vec<u8> {
        let mut lines = None;
        let (out, err) = match job {
            Job::Block(Err(e)) => (out, Some(e)),
            Job::Block(Ok(block)) => {
                let r = tagger.block(&block, diag, out);
                if let Block::Lines { data, .. } = block {
                    // A gathered block's bytes were copied out of a read buffer: small.
                    if data.capacity() >= BLOCK {
                        for_workers.put(data);
                    }
                }
                r
            }
            Job::Packed(name, codec, bytes, damage) => {
                tagger.packed(codec, &bytes, damage, &name, diag, out)
            }
            Job::Region(r) => {
                let end = if r.last { u64::MAX } else { r.end };
                let part = Part::new(&r.file, r.start, end);
                let (out, err, n) = tagger.reader(part, r.start == 0, &r.name, diag, out);
                lines = Some((r.start == 0, n));
                (out, err)
            }
            Job::Many(_) => unreachable!("batches are not nested"),
        };
        done.push(Done {
            end: out.len(),
            said: diag.take_said(),
            err,
            lines,
        });
        out
    };
    let work = move |(tagger, diag): &mut (Tagger<'static, Vec<u8>>, Diag), job: Job| -> Tagged {
        let mut out = outs_for_workers.get();
        out.clear();
        let mut done = smallvec::SmallVec::new();
        match job {
            Job::Many(jobs) => {
                for job in jobs {
                    out = one(tagger, diag, job, out, &mut done);
                }
            }
            job => out = one(tagger, diag, job, out, &mut done),
        }
        Tagged { out, done }
    };
    let mut lines_before = 0u64;
    crate::parallel::ordered(
        plan.threads,
        plan.threads * 4,
        produce,
        init,
        work,
        &mut |tagged: Option<Tagged>| {
            let Some(t) = tagged else {
                return tagger.flush();
            };
            let mut start = 0;
            for d in t.done {
                tagger.write_out(&t.out[start..d.end])?;
                start = d.end;
                let before = match d.lines {
                    Some((first, n)) => {
                        if first {
                            lines_before = 0;
                        }
                        lines_before += n;
                        lines_before - n
                    }
                    None => 0,
                };
                for s in d.said {
                    match s.after(before) {
                        Said::Tally(what, n, msg) => tagger.tally(what, n, || msg, diag),
                        s => diag.replay(s)?,
                    }
                }
                read_on(d.err.map_or(Ok(()), Err), plan, diag, damaged)?;
            }
            outs.put(t.out);
            Ok(())
        },
    )
}

/// Hands `file` over as parts of [`REGION`] bytes, the last read on to the file's end
/// wherever it is by then (a file that grows meanwhile is read to its end, as `-j1` reads
/// it). False when the run is over.
fn send_regions(name: Arc<str>, file: File, send: &dyn Fn(Job) -> bool) -> bool {
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => {
            // The error goes out in order; the run stops after it.
            send(Job::Block(Err(read_error(&name, e))));
            return false;
        }
    };
    let file = Arc::new(file);
    let mut start = 0;
    loop {
        let last = size - start <= REGION;
        let region = Region {
            name: name.clone(),
            file: file.clone(),
            start,
            end: if last { size } else { start + REGION },
            last,
        };
        if !send(Job::Region(region)) {
            return false;
        }
        if last {
            return true;
        }
        start += REGION;
    }
}

/// Offsets of a consumer group are committed this often, once what was read is safe.
const COMMIT_EVERY: Duration = Duration::from_secs(1);

/// A Kafka topic as input: each message's lines are tagged together, and their uses go to
/// stdout or, with --to, to a topic as one message that names its source.
fn from_topic(topic: &Topic, args: &Args, plan: &Plan) -> Result<()> {
    if plan.format != Format::Ndjson && args.to.is_some() {
        return Err(Error::usage("--to writes NDJSON: leave out --format csv"));
    }
    let mut publisher = match &args.to {
        Some(url) => {
            let to = Topic::parse(url)?;
            // Waits for ever: the input's offsets are not committed meanwhile, so an outage
            // of the output's brokers holds the stream back, and loses nothing.
            Some(Publisher::new(
                &to,
                &args.read.client,
                "tags",
                Duration::ZERO,
            )?)
        }
        None => None,
    };
    let mut reader = match &args.group {
        Some(g) => Reader::group(topic, g, &args.read, "tags")?,
        None => Reader::all(topic, &args.read, &Default::default(), "tags")?,
    };
    let signals = Signals::catch()?;
    let mut diag = Diag::new("tags", plan.quiet, plan.strict);
    let mut out = Tagger::new(plan, stdout());
    let mut worker = Tagger::new(plan, Output::unbuffered(Vec::new()));
    let mut said = Diag::recording("tags");
    let mut buf = Vec::new();
    let mut last_commit = Instant::now();
    // Output is safe (confirmed, or flushed to the pipe), then the offsets are committed.
    let commit = |reader: &mut Reader,
                  publisher: &mut Option<Publisher>,
                  out: &mut Tagger<'_, _>|
     -> Result<()> {
        match publisher {
            Some(p) => p.flush()?,
            None => out.flush()?,
        }
        reader.commit()
    };
    while !signals.received() && !reader.done() {
        match reader.poll(Duration::from_millis(100))? {
            Some(Event::Msg(m)) => {
                let name = format!(
                    "{} partition {} offset {}",
                    topic.url, m.partition, m.offset
                );
                let len = m.payload.len();
                let block = Block::Lines {
                    name: Arc::from(name),
                    first: 1,
                    data: m.payload,
                    len,
                };
                buf.clear();
                let (tagged, err) = worker.block(&block, &mut said, std::mem::take(&mut buf));
                for s in said.take_said() {
                    match s {
                        Said::Tally(what, n, msg) => out.tally(what, n, || msg, &diag),
                        s => diag.replay(s)?,
                    }
                }
                if let Some(e) = err {
                    return Err(e);
                }
                match &mut publisher {
                    Some(p) if !tagged.is_empty() => {
                        let first = tagged.split(|&b| b == b'\n').next().unwrap_or_default();
                        let key = m.key.or_else(|| kafka::key_of(first));
                        let src = format!("{}:{}:{}", topic.name, m.partition, m.offset);
                        p.send(key.as_deref(), &tagged, Some(&src))?;
                    }
                    Some(_) => {}
                    None => out.write_out(&tagged)?,
                }
                buf = tagged;
            }
            Some(Event::End(_)) => {}
            // Nothing new: what was written reaches the pipe now (live output).
            None if publisher.is_none() => out.flush()?,
            None => {}
        }
        if last_commit.elapsed() >= COMMIT_EVERY {
            commit(&mut reader, &mut publisher, &mut out)?;
            last_commit = Instant::now();
        }
    }
    commit(&mut reader, &mut publisher, &mut out)?;
    if let Some(p) = &publisher {
        diag.note(format!(
            "{} message(s) of tag uses written to {}, all confirmed",
            p.delivered(),
            args.to.as_deref().unwrap_or_default()
        ));
    }
    out.finish(&mut diag)?;
    signals.outcome()
}
