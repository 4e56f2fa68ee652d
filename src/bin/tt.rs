//! The `tt` binary: parse the command line, run the command, map errors to exit codes.
//! Everything else lives in the library (`src/lib.rs`).

use clap::Parser;
use tt::cmd::Cli;
use tt::error::Kind;

fn main() {
    let cli = Cli::parse();
    let name = cli.command.name();
    let code = match tt::cmd::run(cli) {
        Ok(()) => 0,
        // The reader of stdout went away: that is how `| head` says "enough".
        Err(e) if e.kind == Kind::PipeClosed => 0,
        Err(e) => {
            if !e.msg.is_empty() {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "tt {name}: {e}");
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}
