//! The command line: the clap `Cli`/`Command` tree, the only source of `--help`, the man
//! pages ([`man`]) and the shell completions, and the dispatch to one module per
//! subcommand. Each module holds its `Args` (the clap definition, with its help) and a
//! `run` that validates them into a plan before reading any input. Argument types that
//! several commands share live in the leaf module [`crate::args`].

pub mod combine;
pub mod completions;
pub mod count;
pub mod fetch;
pub mod man;
pub mod publish;
pub mod report;
pub mod serve;
pub mod tags;
pub mod top;

use clap::{Parser, Subcommand};

use crate::error::Result;

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

Run `tt help <command>` for a command's details; `tt man <command>` prints its man page,
and `tt man --dir ~/.cargo/share/man/man1` installs them all (then `man tt-<command>`).";

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

impl Cli {
    /// Parses the command line as clap does, with one change: a value that starts with a
    /// hyphen is taken by an option that wants a number, a duration or a size, and a
    /// negative number by `tt top`'s N, so that their own check says what is wrong with
    /// it (`--batch -2s`: "'-2s' is below zero"; `--batch --state s.json`: "the value is
    /// missing"); clap alone called it an unknown argument and offered `-- -2`, which
    /// does not help.
    pub fn parse_command_line() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let matches = hyphen_values(Cli::command()).get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

fn hyphen_values(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| {
        let quantity = a.get_value_names().is_some_and(|names| {
            names.iter().any(|n| {
                matches!(
                    n.as_str(),
                    "N" | "DURATION" | "SIZE" | "SPEED" | "SCORE" | "PORT"
                )
            })
        });
        match (quantity, a.is_positional()) {
            (false, _) => a,
            // A positional N takes only numbers: `tt top -q 10` keeps its flag.
            (true, true) => a.allow_negative_numbers(true),
            (true, false) => a.allow_hyphen_values(true),
        }
    })
    .mut_subcommands(hyphen_values)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    // No doc comments here: they would override each command's own help in src/cmd/.
    Fetch(Box<fetch::Args>),
    Tags(tags::Args),
    Combine(combine::Args),
    Count(count::Args),
    Publish(publish::Args),
    Top(top::Args),
    Report(report::Args),
    Serve(serve::Args),
    Completions(completions::Args),
    Man(man::Args),
}

impl Command {
    /// The subcommand's name, for error messages (`tt tags: ...`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Fetch(_) => "fetch",
            Command::Tags(_) => "tags",
            Command::Combine(_) => "combine",
            Command::Count(_) => "count",
            Command::Publish(_) => "publish",
            Command::Top(_) => "top",
            Command::Report(_) => "report",
            Command::Serve(_) => "serve",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }

    /// What the command reads from standard input when it will read it (no FILE, or
    /// `-`), for the hint given when that is a terminal; nothing with --quiet.
    fn reads_stdin(&self) -> Option<&'static str> {
        let (files, opts, what) = match self {
            Command::Tags(a) => (
                &a.files,
                &a.input_opts,
                "raw posts (one JSON object per line)",
            ),
            Command::Combine(a) => (&a.files, &a.input_opts, "tag uses (from tt tags)"),
            Command::Count(a) => (&a.files, &a.input_opts, "tag uses (from tt tags)"),
            Command::Publish(a) => (
                &a.files,
                &a.input_opts,
                "raw posts (one JSON object per line)",
            ),
            Command::Top(a) => (&a.files, &a.input_opts, "count updates (from tt count)"),
            Command::Report(a) => (&a.files, &a.input_opts, "count updates (from tt count)"),
            Command::Serve(a) => (&a.files, &a.input_opts, "leaderboards (from tt top)"),
            Command::Fetch(_) | Command::Completions(_) | Command::Man(_) => return None,
        };
        let stdin = files.is_empty() || files.iter().any(|f| f.as_os_str() == "-");
        (stdin && !opts.quiet).then_some(what)
    }
}

/// Runs the parsed command line. A command that reads standard input from a terminal says
/// so first: typed at a prompt, `tt count` alone otherwise waits in silence.
pub fn run(cli: Cli) -> Result<()> {
    use std::io::IsTerminal;
    if let Some(what) = cli.command.reads_stdin() {
        if std::io::stdin().is_terminal() {
            let name = cli.command.name();
            crate::io::say(
                name,
                format!(
                    "reading {what} from the terminal; end with Ctrl-D, or pipe them in: tt \
                     fetch sim | tt tags | tt count | tt top 10"
                ),
            );
        }
    }
    match cli.command {
        Command::Fetch(args) => fetch::run(*args),
        Command::Tags(args) => tags::run(args),
        Command::Combine(args) => combine::run(args),
        Command::Count(args) => count::run(args),
        Command::Publish(args) => publish::run(args),
        Command::Top(args) => top::run(args),
        Command::Report(args) => report::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
