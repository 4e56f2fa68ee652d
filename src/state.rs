//! The durable state of `tt count --state FILE`: a snapshot and a log of batches.
//!
//! * `FILE` is a snapshot of the whole [`Counter`], replaced atomically: written to
//!   `FILE.tmp`, fsync'd, renamed over `FILE`, and the directory fsync'd. Its last line is
//!   a trailer `{"tt_state":1,"length":N,"crc32":C}` over the body before it, so a torn,
//!   truncated or foreign file is recognised and refused (exit 65), never half-read.
//! * `FILE.log` gets one line per batch, `<crc32 hex> <json>\n`, appended and fsync'd
//!   before the batch's output is written (persist first, then emit). A torn last line,
//!   from a crash in mid-append, fails its checksum and is dropped: that batch was never
//!   emitted, and its input is read again. Saving a batch therefore costs the batch's own
//!   data, whatever the number of tags in the state.
//! * When the log outgrows half the snapshot (and 1 MiB), the snapshot is rewritten and the
//!   log emptied: amortised, each batch is written about three times.
//!   `TT_STATE_COMPACT_BYTES=N` sets a fixed threshold instead (1 rewrites every batch:
//!   what the crash-point tests use to reach the rewrite with small batches). A crash between the
//!   two leaves log records the snapshot already holds; they are skipped by batch number.
//! * `FILE.lock` is held (`flock`) for the whole run: a second writer exits 75 at once.
//!
//! Fault points (`crate::fault`): `state.before_write`, `state.mid_write`,
//! `state.before_fsync`, `state.before_rename`, `state.after_rename`,
//! `state.before_dir_fsync`, and `state.log_append` for the log.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::counter::{Config, Counter};
use crate::error::{Error, Kind, Result};
use crate::fault::{crash_point, io_point};
use crate::record::Batch;

pub const VERSION: u64 = 1;
const MIN_COMPACT: u64 = 1 << 20;

/// Where the input stood after the last persisted batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputPos {
    /// The input's name (a path, or `<stdin>`).
    pub name: String,
    /// Byte offset just past the last line the persisted batches hold.
    pub offset: u64,
    /// Line number of that line.
    pub lineno: u64,
    /// For a Kafka topic (`name` is its URL): where each partition stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<TopicPos>,
}

/// Where a topic's reading stands: per partition, the offset of the next message, and the
/// newest source offset counted of each source partition (messages from `tt tags`
/// carry their source: one whose source offset is not newer is a replay, skipped).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopicPos {
    pub next: BTreeMap<i32, i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub seen: BTreeMap<i32, BTreeMap<String, i64>>,
    /// Per partition, the key (post id) of the last message read: a post's uses split
    /// over two messages are one post, also across a restart.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub last_key: BTreeMap<i32, String>,
}

/// What a state holds: the counter, where the input stood, and the last output line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: String,
    pub counter: Counter,
    pub input: InputPos,
    /// The last batch's output line, re-emitted first on a restart.
    pub last_output: Option<String>,
}

/// The trailer line that ends a snapshot: format version, body length and CRC-32.
#[derive(Serialize, Deserialize)]
pub struct Trailer {
    pub tt_state: u64,
    pub length: u64,
    pub crc32: u32,
}

/// The trailer line for a snapshot body (for tools and tests that build state files).
pub fn trailer_for(body: &[u8]) -> String {
    serde_json::to_string(&Trailer {
        tt_state: VERSION,
        length: body.len() as u64,
        crc32: crc32fast::hash(body),
    })
    .expect("serializable")
}

/// One log line: a batch, where the input stood after it, and the output it produced.
#[derive(Serialize, Deserialize)]
struct LogRecord {
    batch: Batch,
    input: InputPos,
}

/// An open, locked state.
pub struct Store {
    path: PathBuf,
    log_path: PathBuf,
    _lock: File,
    log: File,
    log_bytes: u64,
    snapshot_bytes: u64,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn io_err(path: &Path, what: &str, e: io::Error) -> Error {
    Error::new(Kind::Io, format!("cannot {what} {}: {e}", path.display()))
}

fn corrupt(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::data(format!(
        "state file {} cannot be used: {why}. It was left untouched; run tt count with \
         --reset-state to start afresh (the old file is kept aside)",
        path.display()
    ))
}

/// Reads and checks a snapshot file.
pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        // Not there, or not ours to read: the input is missing (66), not a failing disk.
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied | io::ErrorKind::IsADirectory => {
            Error::new(
                Kind::NoInput,
                format!("cannot read state file {}: {e}", path.display()),
            )
        }
        _ => io_err(path, "read state file", e),
    })?;
    parse_snapshot(&bytes, path)
}

/// Checks and parses a snapshot's bytes (`path` names it in messages). Any bytes give a
/// snapshot or an error, never a panic: fuzzed (`fuzz/`) and property-tested.
pub fn parse_snapshot(bytes: &[u8], path: &Path) -> Result<Snapshot> {
    let body_end = bytes
        .strip_suffix(b"\n")
        .and_then(|b| memchr::memrchr(b'\n', b))
        .ok_or_else(|| {
            corrupt(
                path,
                "it has no trailer (truncated, or not a tt state file)",
            )
        })?;
    let trailer: Trailer = serde_json::from_slice(&bytes[body_end + 1..]).map_err(|_| {
        corrupt(
            path,
            "its trailer is not readable (truncated, or not a tt state file)",
        )
    })?;
    if trailer.tt_state != VERSION {
        return Err(corrupt(
            path,
            format!(
                "it is format version {}, this tt reads version {VERSION}",
                trailer.tt_state
            ),
        ));
    }
    let body = &bytes[..body_end];
    if body.len() as u64 != trailer.length || crc32fast::hash(body) != trailer.crc32 {
        return Err(corrupt(
            path,
            "its checksum does not match (damaged or truncated)",
        ));
    }
    let mut snap: Snapshot = serde_json::from_slice(body)
        .map_err(|e| corrupt(path, format!("its content is invalid ({e})")))?;
    if snap.format != "tt-count-state" {
        return Err(corrupt(path, "it is not a tt count state"));
    }
    snap.counter.validate().map_err(|why| corrupt(path, why))?;
    snap.counter.reindex();
    Ok(snap)
}

/// Log records after the snapshot's last batch, and the length of the log's good prefix.
fn read_log(path: &Path, after_batch: u64) -> Result<(Vec<LogRecord>, u64)> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)
                .map_err(|e| io_err(path, "read state log", e))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io_err(path, "open state log", e)),
    }
    let mut out = Vec::new();
    let mut good = 0u64;
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some(nl) = memchr::memchr(b'\n', &bytes[pos..]) else {
            break; // torn last record: never acknowledged, dropped
        };
        let line = &bytes[pos..pos + nl];
        let parsed = line
            .get(..8)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .filter(|&crc| line.len() > 9 && crc32fast::hash(&line[9..]) == crc)
            .and_then(|_| serde_json::from_slice::<LogRecord>(&line[9..]).ok());
        let next = pos + nl + 1;
        match parsed {
            Some(r) => {
                if r.batch.batch > after_batch {
                    out.push(r);
                }
                good = next as u64;
            }
            // The last record may be torn by a crash mid-append; anything earlier is damage.
            None if next == bytes.len() => break,
            None => {
                return Err(corrupt(
                    path,
                    format!("record at byte {pos} fails its checksum"),
                ));
            }
        }
        pos = next;
    }
    Ok((out, good))
}

/// A loaded state, ready to continue.
pub struct Loaded {
    pub counter: Counter,
    pub input: InputPos,
    pub last_output: Option<String>,
}

/// Loads a state for reading only (`tt top --state`): no lock taken, nothing written; a
/// torn last log record from a run in progress is ignored.
pub fn load_readonly(path: &Path) -> Result<Loaded> {
    let snap = read_snapshot(path)?;
    let mut loaded = Loaded {
        counter: snap.counter,
        input: snap.input,
        last_output: snap.last_output,
    };
    let (records, _) = read_log(&with_suffix(path, ".log"), loaded.counter.last_batch)?;
    for r in records {
        let update = loaded.counter.apply(&r.batch);
        loaded.input = r.input;
        loaded.last_output = Some(update.to_line());
    }
    Ok(loaded)
}

impl Store {
    /// Locks and loads the state at `path`, or starts one with `config`.
    pub fn open(
        path: &Path,
        config: &Config,
        reset: bool,
        cmd_note: &mut dyn FnMut(String),
    ) -> Result<(Store, Loaded)> {
        let lock_path = with_suffix(path, ".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| match e.kind() {
                // A path the user gave that cannot be: said as the state file's (66).
                io::ErrorKind::NotFound => Error::new(
                    Kind::NoInput,
                    format!(
                        "cannot keep state file {}: its directory does not exist",
                        path.display()
                    ),
                ),
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => Error::new(
                    Kind::NoInput,
                    format!(
                        "cannot keep state file {}: cannot create its lock file {}: {e}",
                        path.display(),
                        lock_path.display()
                    ),
                ),
                _ => io_err(&lock_path, "create lock file", e),
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    Kind::TempFail,
                    format!(
                        "state file {} is in use by another tt count (locked)",
                        path.display()
                    ),
                ))
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path, "lock", e)),
        }
        let log_path = with_suffix(path, ".log");
        // A temp file left by a crash before its rename holds nothing acknowledged.
        let _ = fs::remove_file(with_suffix(path, ".tmp"));
        if reset {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            for p in [path.to_path_buf(), log_path.clone()] {
                if p.exists() {
                    let aside = with_suffix(&p, &format!(".bad-{stamp}"));
                    fs::rename(&p, &aside).map_err(|e| io_err(&p, "move aside", e))?;
                    cmd_note(format!(
                        "--reset-state: kept the old {} as {}",
                        p.display(),
                        aside.display()
                    ));
                }
            }
        }
        let (mut loaded, snapshot_bytes) = if path.exists() {
            let snap = read_snapshot(path)?;
            let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            (
                Loaded {
                    counter: snap.counter,
                    input: snap.input,
                    last_output: snap.last_output,
                },
                size,
            )
        } else {
            (
                Loaded {
                    counter: Counter::new(config.clone()),
                    input: InputPos::default(),
                    last_output: None,
                },
                0,
            )
        };
        if loaded.counter.config != *config {
            return Err(Error::data(format!(
                "state file {} was written with other counting options ({}); use the same \
                 options, or --reset-state to start afresh",
                path.display(),
                config.differences(&loaded.counter.config).join(", ")
            )));
        }
        let (records, good) = read_log(&log_path, loaded.counter.last_batch)?;
        for r in records {
            let update = loaded.counter.apply(&r.batch);
            loaded.input = r.input;
            loaded.last_output = Some(update.to_line());
        }
        let log = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(|e| io_err(&log_path, "open state log", e))?;
        // Cut a torn tail off, so that new records follow the last good one.
        log.set_len(good)
            .map_err(|e| io_err(&log_path, "repair state log", e))?;
        let mut store = Store {
            path: path.to_path_buf(),
            log_path,
            _lock: lock,
            log,
            log_bytes: good,
            snapshot_bytes,
        };
        store
            .log
            .seek(SeekFrom::End(0))
            .map_err(|e| io_err(&store.log_path, "seek", e))?;
        Ok((store, loaded))
    }

    /// Persists one applied batch (and compacts when the log has grown).
    pub fn save(
        &mut self,
        counter: &mut Counter,
        batch: &Batch,
        input: &InputPos,
        output: &str,
    ) -> Result<()> {
        let rec = LogRecord {
            batch: batch.clone(),
            input: input.clone(),
        };
        let json = serde_json::to_vec(&rec).expect("serializable");
        let mut line = format!("{:08x} ", crc32fast::hash(&json)).into_bytes();
        line.extend_from_slice(&json);
        line.push(b'\n');
        let r = io_point("state.log_append")
            .and_then(|()| self.log.write_all(&line))
            .and_then(|()| self.log.sync_data());
        if let Err(e) = r {
            // Leave no partial record behind us: cut back to the last good one.
            let _ = self.log.set_len(self.log_bytes);
            let _ = self.log.seek(SeekFrom::Start(self.log_bytes));
            return Err(io_err(&self.log_path, "save state to", e));
        }
        self.log_bytes += line.len() as u64;
        if self.log_bytes >= compact_threshold(self.snapshot_bytes) || self.snapshot_bytes == 0 {
            self.compact(counter, input, output)?;
        }
        Ok(())
    }

    /// Rewrites the snapshot atomically and empties the log. The counter is compacted
    /// first, so the snapshot holds the live tags only.
    pub fn compact(&mut self, counter: &mut Counter, input: &InputPos, output: &str) -> Result<()> {
        counter.compact();
        let snap = SnapshotRef {
            format: "tt-count-state",
            counter,
            input,
            last_output: Some(output),
        };
        self.snapshot_bytes = write_atomic(&self.path, &snap)?;
        self.log
            .set_len(0)
            .map_err(|e| io_err(&self.log_path, "empty state log", e))?;
        self.log
            .seek(SeekFrom::Start(0))
            .map_err(|e| io_err(&self.log_path, "seek", e))?;
        self.log
            .sync_all()
            .map_err(|e| io_err(&self.log_path, "sync state log", e))?;
        self.log_bytes = 0;
        Ok(())
    }
}

/// Log size at which the snapshot is rewritten.
fn compact_threshold(snapshot_bytes: u64) -> u64 {
    static FIXED: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let fixed = FIXED.get_or_init(|| {
        std::env::var("TT_STATE_COMPACT_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    fixed.unwrap_or_else(|| MIN_COMPACT.max(snapshot_bytes / 2) + 1)
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: &'static str,
    counter: &'a Counter,
    input: &'a InputPos,
    last_output: Option<&'a str>,
}

/// Counts bytes and CRC while writing.
struct Summing<W> {
    w: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.w.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// Write, fsync, rename, fsync the directory. Returns the file's size.
fn write_atomic<T: Serialize>(path: &Path, value: &T) -> Result<u64> {
    let tmp = with_suffix(path, ".tmp");
    let fail = |what: &str, e: io::Error| {
        let _ = fs::remove_file(&tmp);
        io_err(path, what, e)
    };
    crash_point("state.before_write");
    let file = File::create(&tmp).map_err(|e| fail("save state to", e))?;
    let mut w = Summing {
        w: BufWriter::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
        len: 0,
    };
    io_point("state.write").map_err(|e| fail("save state to", e))?;
    serde_json::to_writer(&mut w, value).map_err(|e| fail("save state to", e.into()))?;
    crash_point("state.mid_write");
    let (crc, len) = (w.crc.clone().finalize(), w.len);
    let mut file =
        w.w.into_inner()
            .map_err(|e| fail("save state to", e.into_error()))?;
    let trailer = serde_json::to_string(&Trailer {
        tt_state: VERSION,
        length: len,
        crc32: crc,
    })
    .expect("serializable");
    file.write_all(format!("\n{trailer}\n").as_bytes())
        .map_err(|e| fail("save state to", e))?;
    crash_point("state.before_fsync");
    io_point("state.fsync")
        .and_then(|()| file.sync_all())
        .map_err(|e| fail("save state to", e))?;
    drop(file);
    crash_point("state.before_rename");
    fs::rename(&tmp, path).map_err(|e| fail("save state to", e))?;
    crash_point("state.after_rename");
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crash_point("state.before_dir_fsync");
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, "sync directory", e))?;
    Ok(len + trailer.len() as u64 + 2)
}
