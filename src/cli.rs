//! The command-line definition: the only source of `--help`, the man pages in `man/` and
//! the shell completions. Each subcommand's arguments live with the command in `src/cmd/`;
//! options every reading command shares are here ([`InputOpts`]).

use clap::{CommandFactory, Parser, Subcommand};

use crate::cmd;
use crate::error::EXIT_CODES;

const ABOUT: &str = "Trending hashtags from the command line";

const LONG_ABOUT: &str = "\
Trending hashtags from the command line.

tt is a set of small commands that read and write newline-delimited JSON (NDJSON), one
record per line, on standard input and output, so that they pipe into one pipeline:

    tt fetch sim | tt tags | tt count --batch 2s --state s.json | tt top 10 | tt serve

tt fetch streams raw posts (Twitter v1.1, X v2, Mastodon, Bluesky, a saved stream or the
built-in simulator), tt tags extracts their hashtags, tt count counts them per batch with
trend scores and durable state, tt top ranks them, and tt serve shows them as a live chart.

Each command reads the files named on its command line, or standard input when none (or
`-`) is given. Data goes to standard output; messages for people go to standard error,
each starting with `tt <command>:`. A bad input line is reported with its file and line
number and skipped, and the good lines keep flowing (`--strict` stops instead).";

const AFTER_HELP: &str = "\
Examples:
  tt fetch sim | tt tags | tt count --batch 2s | tt top 10 | tt serve
  tt tags tweets.ndjson | tt count | tt top 10 --format table
  tt tags saved.ndjson | tt count --time event --batch 1h --state s.json
  tt top 10 --by trend --state s.json     what is trending now (cron)

Run `tt help <command>` or `man tt-<command>` for a command's details.";

#[derive(Debug, Parser)]
#[command(
    name = "tt",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    // No doc comments here: they would override each command's own help in src/cmd/.
    Fetch(Box<cmd::fetch::Args>),
    Tags(cmd::tags::Args),
    Count(cmd::count::Args),
    Top(cmd::top::Args),
    Serve(cmd::serve::Args),
    Completions(cmd::completions::Args),
}

impl Command {
    /// The subcommand's name, for error messages (`tt tags: ...`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Fetch(_) => "fetch",
            Command::Tags(_) => "tags",
            Command::Count(_) => "count",
            Command::Top(_) => "top",
            Command::Serve(_) => "serve",
            Command::Completions(_) => "completions",
        }
    }
}

/// Options shared by every command that reads NDJSON.
#[derive(Debug, Clone, clap::Args)]
pub struct InputOpts {
    /// Skip (and report) lines longer than this; memory stays bounded by it.
    ///
    /// Accepts a plain byte count or a K, M or G suffix (powers of 1024: 512K, 4M, 1MiB).
    #[arg(long, value_name = "SIZE", default_value = "4MiB", value_parser = parse_size)]
    pub max_line_bytes: usize,

    /// Stop at the first bad input line with exit status 65, instead of skipping it.
    #[arg(long)]
    pub strict: bool,

    /// Do not report skipped lines, stream notices or summaries on standard error.
    ///
    /// Fatal errors are still reported.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Parses `4MiB`, `512K`, `1048576`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (try 4MiB, 512K or 1048576)"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use K, M or G)")),
    };
    match n.checked_mul(mult) {
        Some(0) | None => Err(format!(
            "'{s}' must be between 1 byte and the address space"
        )),
        Some(v) => Ok(v),
    }
}

/// Parses a duration: `500ms`, `2s`, `10m`, `1h`, `1d` (a number alone is seconds).
/// Returns milliseconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (try 500ms, 2s, 10m, 1h)"))?;
    let mult = match unit.trim() {
        "ms" => 1.0,
        "" | "s" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        u => return Err(format!("'{s}': unknown unit '{u}' (use ms, s, m, h or d)")),
    };
    let ms = (n * mult).round();
    if !(1.0..=1e15).contains(&ms) {
        return Err(format!("'{s}' must be at least 1ms"));
    }
    Ok(ms as u64)
}

/// Like [`parse_duration`], but 0 is allowed (`--lateness 0s`).
pub fn parse_duration_or_zero(s: &str) -> Result<u64, String> {
    if s.trim()
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .trim_end_matches('.')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        return Ok(0);
    }
    parse_duration(s)
}

/// The man pages: `tt.1` and one `tt-<command>.1` per subcommand, as (file name, roff).
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = Cli::command();
    // Built, so that global flags (`tt fetch --limit`) show on every source's page too.
    cmd.build();
    let version = cmd.get_version().unwrap_or_default().to_string();
    let mut pages = vec![("tt.1".to_string(), render_man(cmd.clone(), &version))];
    // One page per command and per source of `tt fetch` (`man tt-fetch-x`), as git does.
    let mut todo: Vec<(String, clap::Command)> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .map(|s| (format!("tt-{}", s.get_name()), s.clone()))
        .collect();
    while let Some((name, sub)) = todo.pop() {
        for inner in sub.get_subcommands().filter(|s| s.get_name() != "help") {
            todo.push((format!("{name}-{}", inner.get_name()), inner.clone()));
        }
        let sub = sub.name(name.clone()).version(version.clone());
        pages.push((format!("{name}.1"), render_man(sub, &version)));
    }
    pages.sort_by(|a, b| a.0.cmp(&b.0));
    pages
}

fn render_man(cmd: clap::Command, version: &str) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd)
        .date("")
        .source(format!("tt {version}"))
        .manual("tt manual");
    let mut out = Vec::new();
    // Rendered piece by piece so that EXIT STATUS sits before the version line.
    let r = (|| -> std::io::Result<()> {
        man.render_title(&mut out)?;
        man.render_name_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        man.render_options_section(&mut out)?;
        man.render_subcommands_section(&mut out)?;
        man.render_extra_section(&mut out)?;
        out.extend_from_slice(exit_status_section().as_bytes());
        man.render_version_section(&mut out)
    })();
    r.expect("writing to a Vec cannot fail");
    out
}

/// The EXIT STATUS section, from [`EXIT_CODES`].
pub fn exit_status_section() -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for (code, what) in EXIT_CODES {
        s.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff_escape(what)));
    }
    s
}

fn roff_escape(s: &str) -> String {
    let s = s.replace('\\', "\\\\").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("4 parsecs").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(2000));
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("1.5m"), Ok(90_000));
        assert_eq!(parse_duration("3"), Ok(3000));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("2 weeks").is_err());
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
