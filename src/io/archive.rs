//! `.tar` and `.zip` archives: their members in archive order, each decompressed by its
//! own extension and named `archive:member`; what cannot be read whole is said once.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::Path;
use std::rc::Rc;

use super::codec::{
    carries, carry, is_damage, is_tar, mark, read_error, what_it_holds, Codec, Damaged,
    ErrorCarrier, Foreign, Harm, Plain, ZIP_EMPTY, ZIP_MEMBER,
};
use super::counted::open_file;
use crate::error::{Error, Kind, Result};

/// An input as [`each_unit`](super::each_unit) hands it out.
pub enum Unit<'a> {
    /// An input to read as it is (decompressed already, when it was compressed).
    Plain(&'a str, &'a mut dyn Read),
    /// A compressed file or archive member small enough to be read whole and decompressed
    /// elsewhere (on another thread): its name, its codec, and its compressed bytes.
    Packed(&'a str, Codec, &'a mut dyn Read),
    /// A regular file that is not compressed, to be read in parts ([`Part`](super::Part)).
    File(&'a str, File),
    /// A file or archive member that is not what its name says (a `.bz2` holding gzip
    /// data): the error, in input order ([`Kind::Data`]).
    Bad(Error),
}

/// The compressed bytes of a [`Unit::Packed`], and the damage that ended them early (a zip
/// member that fails its checksum: its bytes are still tagged as far as they go); `Err`
/// when reading them failed otherwise (the input's I/O error, named `name`).
pub fn read_packed(reader: &mut dyn Read, name: &str) -> Result<(Vec<u8>, Option<io::Error>)> {
    let mut bytes = Vec::new();
    match reader.read_to_end(&mut bytes) {
        Ok(_) => Ok((bytes, None)),
        Err(e) if is_damage(&e) => Ok((bytes, Some(e))),
        Err(e) => Err(read_error(name, e)),
    }
}

/// A `.bz2` file named alone and larger than this is decoded a block on each thread
/// ([`each_unit`](super::each_unit)): whole, it would be decoded by one. A block of tweets
/// is about 100 kB compressed: this is some ten blocks.
pub const SPLIT_ALONE: u64 = 1 << 20;

/// Among other inputs (several named, a directory's files, an archive's members), a
/// `.bz2` file or member of up to this many bytes is decoded whole, on one thread, several
/// at once: a directory of 12 files of 2 MB took a median 4.52 s a block on each thread,
/// and 3.95 s as 24 files of 1 MB decoded whole (`tt tags -j2 DIR`, 5 interleaved runs:
/// BENCHMARKS.md, "One large `.bz2`").
pub const SPLIT_AMONG: u64 = 16 << 20;

/// Whether compressed data of `size` bytes is read a block on each of `threads` threads
/// (bzip2 only: [`crate::bunzip::Parallel`]) rather than whole by one worker: when it is
/// over `split` bytes ([`SPLIT_ALONE`], [`SPLIT_AMONG`]). The same for a file and for an
/// archive's member, which is among others.
pub(super) fn bzip2_by_blocks(codec: Codec, threads: usize, size: u64, split: u64) -> bool {
    codec == Codec::Bzip2 && threads > 1 && size > split
}

/// The files of a directory and the members of an archive that are read: those that hold
/// the lines the command reads, by their names (their extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Posts: `.json`, `.ndjson` or `.jsonl`.
    Json,
    /// Lines of text (`tt tags --input text`): `.txt` or `.text`.
    Text,
}

impl Names {
    /// Whether a file or member named `name` is read: one of these extensions, compressed
    /// or not (the Stream Grab's members are `.json.bz2`).
    pub(super) fn hold(self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        let bare = Codec::ALL
            .iter()
            .find_map(|c| lower.strip_suffix(&format!(".{}", c.0)))
            .unwrap_or(&lower);
        let extensions: &[&str] = match self {
            Names::Json => &[".json", ".ndjson", ".jsonl"],
            Names::Text => &[".txt", ".text"],
        };
        extensions.iter().any(|e| bare.ends_with(e))
    }

    /// What the skipped ones are not, for the note that counts them.
    pub(super) fn what(self) -> &'static str {
        match self {
            Names::Json => "JSON",
            Names::Text => "text (.txt)",
        }
    }
}

/// How [`each_unit`](super::each_unit) hands its inputs on.
#[derive(Debug, Clone, Copy)]
pub struct Units {
    /// Compressed files and members of at most this many compressed bytes come as
    /// [`Unit::Packed`], to be decompressed elsewhere (0: none do).
    pub packed_max: u64,
    /// Regular files that are not compressed come as [`Unit::File`], to be read in parts
    /// (only with `packed_max` over 0).
    pub by_parts: bool,
    /// Threads a large `.bz2` input's blocks are decoded on, a block on each.
    pub threads: usize,
    /// Which files of directories and members of archives are read.
    pub names: Names,
}

impl Units {
    /// Every input as a [`Unit::Plain`] (or [`Unit::Bad`]), on this thread: posts.
    pub const PLAIN: Units = Units {
        packed_max: 0,
        by_parts: false,
        threads: 1,
        names: Names::Json,
    };
}

/// Files of a directory or members of an archive that are not read, said once at its
/// end: those not named as posts (or text), and apart from them those named as posts
/// compressed in a format tt does not read (`.json.lz4`), said with that format: a `.tar`
/// of those is posts tt cannot read, not members that hold none.
#[derive(Default)]
pub(super) struct Skipped {
    other: u64,
    first: Option<String>,
    foreign: u64,
    first_foreign: Option<(String, &'static Foreign)>,
}

impl Skipped {
    pub(super) fn add(&mut self, name: String, names: Names) {
        let stem = |f: &Foreign| name.len() - f.ext.len() - 1;
        match Foreign::of(&name).filter(|f| names.hold(&name[..stem(f)])) {
            Some(f) => {
                self.foreign += 1;
                self.first_foreign.get_or_insert((name, f));
            }
            None => {
                self.other += 1;
                self.first.get_or_insert(name);
            }
        }
    }

    /// The notes for `whose` skipped `items` ("file(s)", "member(s)"), the others being
    /// `others` ("not JSON, or a link ...").
    pub(super) fn say(self, whose: &str, items: &str, others: &str, notes: &mut Vec<String>) {
        if let Some(first) = self.first {
            let n = self.other;
            notes.push(format!(
                "{whose}: {n} {items} skipped: {others} (first: {first})"
            ));
        }
        if let Some((first, f)) = self.first_foreign {
            let (n, what) = (self.foreign, f.what);
            notes.push(format!(
                "{whose}: {n} {items} skipped: compressed in a format tt does not read (first: \
                 {first}, {what}): decompress them first"
            ));
        }
    }
}

/// The members of one archive (`.tar` or `.zip`), as they are read: each that holds posts
/// is handed on as `archive:member`, packed when compressed and at most `packed_max`
/// bytes, else decompressed here by its extension; the others are counted and said once.
pub(super) struct Members<'a> {
    archive: &'a str,
    units: Units,
    skipped: Skipped,
}

impl<'a> Members<'a> {
    pub(super) fn new(archive: &'a str, units: Units) -> Self {
        Members {
            archive,
            units,
            skipped: Skipped::default(),
        }
    }

    /// A member that is not JSON, or not a regular file: counted, and the first named in
    /// the note.
    fn skip(&mut self, member: String) {
        self.skipped.add(member, self.units.names);
    }

    pub(super) fn one(
        &mut self,
        member: String,
        size: u64,
        r: &mut dyn Read,
        each: &mut dyn FnMut(Unit) -> Result<()>,
    ) -> Result<()> {
        if !self.units.names.hold(&member) {
            self.skip(member);
            return Ok(());
        }
        let full = format!("{}:{member}", self.archive);
        match Codec::of(Path::new(&member)) {
            Some(codec)
                if self.units.packed_max > 0
                    && size <= self.units.packed_max
                    && !bzip2_by_blocks(codec, self.units.threads, size, SPLIT_AMONG) =>
            {
                each(Unit::Packed(&full, codec, r))
            }
            Some(codec) => match codec.lines_on(r, &full, self.units.threads) {
                Ok(mut d) => each(Unit::Plain(&full, &mut d)),
                Err(e) if e.kind == Kind::Data => each(Unit::Bad(e)),
                Err(e) => Err(e),
            },
            None => each(Unit::Plain(&full, &mut Plain::new(r, &full))),
        }
    }

    fn done(self, notes: &mut Vec<String>) {
        let others = format!(
            "not {}, or a link or other special file",
            self.units.names.what()
        );
        self.skipped.say(self.archive, "member(s)", &others, notes);
    }
}

pub(super) fn is_zip(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// The members of a `.zip` archive, in the order of its central directory, each
/// decompressed by the archive's own method and then by its extension (`.json.bz2` in a
/// zip, say), named `archive:member`; members that are not JSON are skipped and said once.
/// A member the zip cannot give (encrypted, or compressed by a method tt does not read)
/// is said and skipped, and the others read. A zip whose table of members (the central
/// directory, at its end) is missing, as in a download cut short, is read member by
/// member from their own headers, as far as it goes.
pub(super) fn each_zip_member(
    path: &Path,
    units: Units,
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let name = path.display().to_string();
    let open = || open_file(path, &name);
    let mut members = Members::new(&name, units);
    let mut archive = match zip::ZipArchive::new(open()?) {
        Ok(archive) => archive,
        Err(e) => return zip_from_local_headers(open()?, &name, Some(e), members, each, notes),
    };
    for i in 0..archive.len() {
        let member = match archive.name_for_index(i) {
            Some(Ok(member)) => member.into_owned(),
            Some(Err(e)) => return Err(zip_damaged(&name, "", &e)),
            None => continue,
        };
        if member.ends_with('/') {
            continue;
        }
        if !units.names.hold(&member) {
            members.skip(member);
            continue;
        }
        let mut entry = match archive.by_index(i) {
            Ok(entry) => entry,
            Err(e) => {
                each(Unit::Bad(zip_damaged(&name, &member, &e)))?;
                continue;
            }
        };
        // A link (`zip --symlinks`) holds its target's name: skipped, as a tar's links are.
        if entry.is_symlink() {
            members.skip(member);
            continue;
        }
        let size = entry.size();
        let mut data = ZipData {
            name: format!("{name}:{member}"),
            inner: &mut entry,
            damaged: None,
        };
        members.one(member, size, &mut data, each)?;
    }
    members.done(notes);
    Ok(())
}

/// A zip read from the local header before each member's data (what `zip` writes first),
/// each member as far as the file goes: a file whose table of members (at its end) could
/// not be read, `why` (said once), or a zip on stdin, which cannot be read from its end.
/// A file that does not start with a local header is not a zip, or not one tt can read.
pub(super) fn zip_from_local_headers(
    file: impl Read,
    name: &str,
    why: Option<zip::result::ZipError>,
    mut members: Members,
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let mut r = io::BufReader::new(file);
    let head = r
        .fill_buf()
        .map_err(|e| Error::io(format!("cannot read {name}"), e))?;
    // zip writes a 22-byte end record for an archive of no members (and unzip refuses an
    // empty file): nothing at all was cut short.
    if head.is_empty() {
        return Err(Error::data(format!(
            "{name}: named .zip but empty (0 bytes): cut short"
        )));
    }
    // What zip writes for no members, on stdin (a named one is read by its table).
    if head.starts_with(ZIP_EMPTY) && why.is_none() {
        return Ok(());
    }
    if !head.starts_with(ZIP_MEMBER) {
        if let (true, Some(why)) = (head.starts_with(b"PK"), &why) {
            return Err(zip_damaged(name, "", why));
        }
        return Err(Error::data(format!(
            "{name}: named .zip but not a zip archive: {}; rename it to what it holds",
            what_it_holds(head)
        )));
    }
    // The cut that took the table of members off usually cuts a member or a header too,
    // which is said where it is met; the missing table is then a note, so that one file
    // cut short counts once among the damaged inputs.
    let damaged = Cell::new(false);
    let mut last: Option<String> = None;
    loop {
        let mut entry = match zip::read::read_zipfile_from_stream(&mut r) {
            Ok(Some(entry)) => entry,
            // The table of members starts: the damage was in it.
            Ok(None) => break,
            // Cut short at a member's header: the file ends, as already said.
            Err(zip::result::ZipError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                let after = last.map_or(String::new(), |m| format!(" after member {m}"));
                let why = zip_why(&e);
                damaged.set(true);
                each(Unit::Bad(Error::data(format!(
                    "{name}: the header{after} cannot be read: {why}"
                ))))?;
                break;
            }
        };
        let member = match entry.name() {
            Ok(member) => member.to_string(),
            Err(e) => return Err(zip_damaged(name, "", &e)),
        };
        if member.ends_with('/') {
            continue;
        }
        let size = entry.size();
        let mut data = ZipData {
            name: format!("{name}:{member}"),
            inner: &mut entry,
            damaged: Some(&damaged),
        };
        members.one(member.clone(), size, &mut data, each)?;
        last = Some(member);
    }
    members.done(notes);
    if why.is_none() {
        return Ok(());
    }
    let table = format!(
        "{name}: the zip's table of members (at its end) is missing or damaged, as in a file \
         cut short; its members were read from their own headers, as far as they went"
    );
    match damaged.get() {
        true => notes.push(table),
        false => each(Unit::Bad(Error::data(table)))?,
    }
    Ok(())
}

/// `archive:member: cannot be read: why` (or `archive: not a readable zip archive: why`).
pub(super) fn zip_damaged(archive: &str, member: &str, e: &zip::result::ZipError) -> Error {
    let why = zip_why(e);
    match member {
        "" => Error::data(format!("{archive}: not a readable zip archive: {why}")),
        m => Error::data(format!("{archive}:{m}: cannot be read: {why}")),
    }
}

/// Why the zip library refused, in a user's terms: its own messages name the record
/// formats (EOCD, CDFH) and at times a Rust type (`Unexpected end of zip::format::...`).
pub(super) fn zip_why(e: &zip::result::ZipError) -> String {
    use zip::result::ZipError as Z;
    match e {
        Z::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => "it is cut short".into(),
        Z::Io(e) => e.to_string(),
        Z::UnsupportedArchive(m) if *m == Z::PASSWORD_REQUIRED => {
            "it is encrypted, and tt does not decrypt".into()
        }
        // A streamed zip (`zip -` into a pipe) writes each size after its member's data, and
        // reading from the front, as stdin is read, needs it before.
        Z::UnsupportedArchive(m) if m.contains("not available in the local header") => {
            "its members' sizes follow their data (as zip writes into a pipe), and tt reads \
             those only from a named file's table of members: save it to a file and name \
             that"
                .into()
        }
        Z::UnsupportedArchive(m) => format!("it uses a zip feature tt does not read ({m})"),
        Z::CompressionMethodNotSupported(n) => {
            // The names of APPNOTE.TXT 4.4.5, for the methods a user could meet.
            let method = match n {
                1 => "shrink (method 1)".into(),
                2..=5 => format!("reduce (method {n})"),
                6 => "implode (method 6)".into(),
                10 => "PKWARE DCL implode (method 10)".into(),
                18 => "IBM TERSE (method 18)".into(),
                19 => "IBM LZ77 (method 19)".into(),
                96 => "JPEG (method 96)".into(),
                97 => "WavPack (method 97)".into(),
                98 => "PPMd (method 98)".into(),
                n => format!("method {n}"),
            };
            format!(
                "it is compressed by {method}, which tt does not read (it reads stored, \
                 deflate, deflate64, bzip2, LZMA, XZ and zstd)"
            )
        }
        Z::InvalidArchive(m) if m.contains("EOCD") || m.contains("end of central") => {
            "its end record is missing or damaged: the file is cut short, or not a zip".into()
        }
        Z::InvalidArchive(m) if m.contains("::") || m.starts_with("Unexpected end") => {
            "a header is cut short".into()
        }
        Z::InvalidArchive(m) => format!("damaged ({})", m.replace("CDFH", "central directory")),
        other => other.to_string(),
    }
}

/// A zip member's data, as the zip decompresses and checks it: what the zip refuses (a
/// checksum that fails, a broken deflate stream, data cut short) is damaged data of that
/// member, which ends the member and not the run, as in a compressed file; other errors
/// stay errors reading the archive.
pub(super) struct ZipData<'d, R> {
    name: String,
    inner: R,
    /// Set when the member's data was said to be damaged or unreadable (where the
    /// reader of the archive needs to know).
    damaged: Option<&'d Cell<bool>>,
}

impl<R: Read> Read for ZipData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof, Unsupported};
        self.inner.read(buf).map_err(|e| {
            if carries(&e)
                || matches!(
                    e.kind(),
                    InvalidData | InvalidInput | UnexpectedEof | Unsupported
                )
            {
                if let Some(d) = self.damaged {
                    d.set(true);
                }
            }
            mark(e, |e| match e.kind() {
                InvalidData | InvalidInput | UnexpectedEof => carry(Damaged {
                    name: self.name.clone(),
                    harm: Harm::Refused {
                        what: "zip",
                        why: e.to_string(),
                    },
                }),
                // A compression method tt does not read: said at its first read.
                Unsupported => {
                    let why = match e.get_ref().and_then(|e| e.downcast_ref()) {
                        Some(z) => zip_why(z),
                        None => e.to_string(),
                    };
                    let name = &self.name;
                    carry(ErrorCarrier(Error::data(format!(
                        "{name}: cannot be read: {why}"
                    ))))
                }
                _ => e,
            })
        })
    }
}

/// The compression around a `.tar` archive, when `name` is one (`.tar`, `.tar.gz`,
/// `.tar.bz2`, `.tar.zst`, `.tar.xz`, or GNU tar's short names for them, `.tgz`, `.taz`,
/// `.tbz`, `.tbz2`, `.tz2`, `.txz`, `.tzst`, which `tar -a` also reads by name):
/// `Some(None)` for a plain tar.
pub(super) fn tar_of(name: &str) -> Option<Option<Codec>> {
    const SHORT: [(&str, Codec); 7] = [
        ("tgz", Codec::Gzip),
        ("taz", Codec::Gzip),
        ("tbz", Codec::Bzip2),
        ("tbz2", Codec::Bzip2),
        ("tz2", Codec::Bzip2),
        ("txz", Codec::Xz),
        ("tzst", Codec::Zstd),
    ];
    let lower = name.to_ascii_lowercase();
    let (stem, ext) = lower.rsplit_once('.')?;
    if ext == "tar" {
        return Some(None);
    }
    if let Some(&(_, codec)) = SHORT.iter().find(|s| s.0 == ext) {
        return Some(Some(codec));
    }
    let codec = Codec::ALL.iter().find(|c| c.0 == ext)?.1;
    stem.ends_with(".tar").then_some(Some(codec))
}

/// The regular-file members of a `.tar` archive (compressed as a whole by `outer`, bzip2
/// decoded on `units.threads` threads, or not), in archive order. Where the archive cannot be
/// read on (a header cut short or damaged, or the outer compression damaged), what came
/// before is kept and the rest skipped, said once; a file that is not a tar at all is said
/// with what it holds.
pub(super) fn each_member(
    path: &Path,
    outer: Option<Codec>,
    units: Units,
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let name = path.display().to_string();
    let file = open_file(path, &name)?;
    let reader: Box<dyn Read> = match outer {
        Some(codec) => Box::new(codec.open_on(file, &name, units.threads)?),
        None => Box::new(file),
    };
    // tar writes 10,240 bytes for an archive of no members (and GNU tar refuses an empty
    // file): nothing at all was cut short.
    let empty = match outer {
        None => format!("{name}: named .tar but empty (0 bytes): cut short"),
        Some(_) => format!("{name}: empty once decompressed, so not a tar archive"),
    };
    tar_archive(reader, &name, empty, units, each, notes)
}

/// The members of the tar archive `reader` gives (decompressed), named `name:member`, as
/// [`each_member`] says; `empty` is what to say when it gives nothing at all.
pub(super) fn tar_archive(
    reader: Box<dyn Read + '_>,
    name: &str,
    empty: String,
    units: Units,
    each: &mut dyn FnMut(Unit) -> Result<()>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let watch = Rc::new(Watch::default());
    let mut reader = Watched {
        inner: reader,
        watch: Rc::clone(&watch),
    };
    // The first header block, kept to say what the file holds if it is not a tar.
    let mut head = Vec::with_capacity(512);
    let stop = match (&mut reader).take(512).read_to_end(&mut head) {
        Ok(0) => return Err(Error::data(empty)),
        Ok(_) => {
            let mut archive = tar::Archive::new(io::Cursor::new(&head[..]).chain(&mut reader));
            let mut members = Members::new(name, units);
            let stop = tar_members(&mut archive, &watch, &mut members, each)?;
            members.done(notes);
            stop
        }
        Err(e) => Some((e, None)),
    };
    let Some((e, last)) = stop else {
        return Ok(());
    };
    // Damaged compressed data met while a member was read was said there, with the line;
    // so was an end of the archive inside a member.
    if watch.damage.get() == Some(true) || watch.cut.get() {
        return Ok(());
    }
    if is_damage(&e) {
        return Err(read_error(name, e));
    }
    let Some(last) = last else {
        return Err(Error::data(match is_tar(&head) {
            true => format!("{name}: not a readable tar archive: its first header is damaged"),
            false => format!(
                "{name}: named .tar but not a tar archive: {}; rename it to what it holds",
                what_it_holds(&head)
            ),
        }));
    };
    // tar's own words for a file that ends early vary ("unexpected EOF during skip"):
    // whether the file did end says it.
    Err(Error::data(
        match e.kind() == io::ErrorKind::UnexpectedEof || watch.ended.get() {
            true => format!("{name}: the archive is cut short, in or after member {last}"),
            false => format!("{name}: the header after member {last} is damaged"),
        },
    ))
}

/// Hands each regular-file member of `archive` to `members`; the error that ended the
/// archive early, if one did, and the last member read before it.
pub(super) fn tar_members<R: Read>(
    archive: &mut tar::Archive<R>,
    watch: &Watch,
    members: &mut Members,
    each: &mut dyn FnMut(Unit) -> Result<()>,
) -> Result<Option<(io::Error, Option<String>)>> {
    let mut last = None;
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => return Ok(Some((e, last))),
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => return Ok(Some((e, last))),
        };
        let kind = entry.header().entry_type();
        // Not members: a directory, a pax global header (`git archive` starts every tar
        // with one) or a GNU volume label.
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.as_byte() == b'V' {
            continue;
        }
        let member = match entry.path() {
            Ok(p) => p.display().to_string(),
            Err(e) => return Ok(Some((e, last))),
        };
        // A link, device or fifo has no posts of its own: counted in the note. A
        // contiguous file is a regular one to POSIX, and a sparse one's data comes whole.
        if !(kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse()) {
            members.skip(member);
            continue;
        }
        let size = entry.size();
        watch.in_member.set(true);
        let mut data = TarData {
            inner: &mut entry,
            name: format!("{}:{member}", members.archive),
            got: 0,
            size,
            cut: &watch.cut,
        };
        let r = members.one(member.clone(), size, &mut data, each);
        watch.in_member.set(false);
        r?;
        last = Some(member);
    }
    Ok(None)
}

/// Where damaged compressed data around a tar was first met: `Some(true)` while a
/// member's data was read (the member's reader said it), `Some(false)` in a header.
/// And whether the file ended.
#[derive(Default)]
pub(super) struct Watch {
    in_member: Cell<bool>,
    damage: Cell<Option<bool>>,
    ended: Cell<bool>,
    /// Whether the archive ended inside a member, which said so ([`TarData`]).
    cut: Cell<bool>,
}

/// A tar member's data. The archive ending before the member does is damage of the
/// member, said once, where its lines stop: read to its end as if whole, it went to a
/// decoder as a cut stream ("damaged bzip2 data"), to a plain member's last line as a
/// bad line, or, with none of its bytes, as an empty file; and the archive then said its
/// own end, a second input counted damaged for one cut.
pub(super) struct TarData<'r> {
    inner: &'r mut dyn Read,
    name: String,
    got: u64,
    size: u64,
    cut: &'r Cell<bool>,
}

impl Read for TarData<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.got < self.size {
            self.cut.set(true);
            return Err(carry(Damaged {
                name: self.name.clone(),
                harm: Harm::Cut {
                    got: self.got,
                    size: self.size,
                },
            }));
        }
        self.got += n as u64;
        Ok(n)
    }
}

/// A tar's reader (its decoder, when compressed), watched for damage and its end.
pub(super) struct Watched<R> {
    inner: R,
    watch: Rc<Watch>,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.inner.read(buf);
        match &r {
            Ok(0) if !buf.is_empty() => self.watch.ended.set(true),
            Err(e) if is_damage(e) && self.watch.damage.get().is_none() => {
                self.watch.damage.set(Some(self.watch.in_member.get()));
            }
            _ => {}
        }
        r
    }
}
