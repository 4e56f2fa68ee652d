//! `tt completions SHELL`: shell completion scripts, generated from the clap definitions.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;
use crate::error::Result;
use crate::io::{stdout, write_error};

#[derive(Debug, clap::Args)]
#[command(
    about = "Print a shell completion script",
    long_about = "Print a shell completion script.\n\nGenerated from the same definitions as \
                  --help and the man pages, so it always matches this version of tt.",
    after_long_help = "\
Examples:
  tt completions bash > ~/.local/share/bash-completion/completions/tt
  tt completions zsh > \"${fpath[1]}/_tt\"
  tt completions fish > ~/.config/fish/completions/tt.fish"
)]
pub struct Args {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: Args) -> Result<()> {
    let mut out = stdout();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "tt", &mut buf);
    out.writer().write_all(&buf).map_err(write_error)?;
    out.flush()
}
