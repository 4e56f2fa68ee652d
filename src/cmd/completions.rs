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
Where each shell looks (create the directory first if it is missing):
  bash  mkdir -p ~/.local/share/bash-completion/completions
        tt completions bash > ~/.local/share/bash-completion/completions/tt
  zsh   mkdir -p ~/.zfunc; tt completions zsh > ~/.zfunc/_tt
        and in ~/.zshrc, before compinit: fpath=(~/.zfunc $fpath)
  fish  mkdir -p ~/.config/fish/completions
        tt completions fish > ~/.config/fish/completions/tt.fish
  elvish, powershell: tt completions SHELL, sourced from the shell's startup file"
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
