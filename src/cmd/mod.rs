//! One module per subcommand. Each holds its `Args` (the clap definition, with its help)
//! and a `run` that validates them into a plan before reading any input.

pub mod completions;
pub mod count;
pub mod fetch;
pub mod serve;
pub mod tags;
pub mod top;

use crate::cli::{Cli, Command};
use crate::error::Result;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Fetch(args) => fetch::run(*args),
        Command::Tags(args) => tags::run(args),
        Command::Count(args) => count::run(args),
        Command::Top(args) => top::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Completions(args) => completions::run(args),
    }
}
