//! The `tt` binary: parse the command line, run the command, map errors to exit codes.
//! Everything else lives in the library (`src/lib.rs`).

// As in the library: eprintln! and println! panic when their pipe is closed.
#![deny(clippy::print_stderr, clippy::print_stdout)]

use tt::cmd::Cli;
use tt::error::Kind;

fn main() {
    let cli = Cli::parse_command_line();
    let name = cli.command.name();
    let code = match tt::cmd::run(cli) {
        Ok(()) => 0,
        // The reader of stdout went away: that is how `| head` says "enough".
        Err(e) if e.kind == Kind::PipeClosed => 0,
        Err(e) => {
            if !e.msg.is_empty() {
                tt::io::say(name, &e);
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}
