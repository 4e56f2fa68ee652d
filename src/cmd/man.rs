//! `tt man`: the man pages, rendered from the clap definitions in [`super::Cli`]: `tt.1`
//! and one `tt-<command>.1` per subcommand and per source of `tt fetch`. They come with
//! the binary, so `cargo install` users can print or install them (as `rg --generate man`
//! does); `scripts/gen-docs.sh` writes them to `man/`, and a test checks that `man/`
//! matches.

use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory;

use super::Cli;
use crate::error::{Error, Kind, Result, EXIT_CODES};
use crate::io::{stdout, write_error};

#[derive(Debug, clap::Args)]
#[command(
    about = "Print a man page, or install them all",
    long_about = "Print a man page, or install them all.\n\nThe pages are generated from the same \
                  definitions as --help, so they always match this version of tt. With --dir, \
                  every page is written to that directory (created if missing). man finds \
                  pages in ../share/man/man1 beside any directory on PATH: after `cargo \
                  install`, use ~/.cargo/share/man/man1.",
    after_long_help = "\
Examples:
  tt man count | man -l -                     read tt-count(1) without installing
  tt man --dir ~/.cargo/share/man/man1        then: man tt, man tt-fetch-x
  tt man fetch-x > tt-fetch-x.1"
)]
pub struct Args {
    /// The page: a command (`count`), a source of tt fetch (`fetch-x`), or none for tt(1).
    #[arg(value_name = "PAGE", conflicts_with = "dir")]
    pub page: Option<String>,

    /// Write every page (tt.1, tt-count.1, ...) into this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let pages = man_pages();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        for (name, body) in &pages {
            let path = dir.join(name);
            std::fs::write(&path, body)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        }
        let (n, dir) = (pages.len(), dir.display());
        crate::io::say("man", format!("wrote {n} pages to {dir}"));
        return Ok(());
    }
    let want = match args.page.as_deref() {
        None | Some("tt") => "tt.1".to_string(),
        Some(p) => format!(
            "tt-{}.1",
            p.trim_start_matches("tt-").trim_end_matches(".1")
        ),
    };
    let Some((_, body)) = pages.iter().find(|(name, _)| *name == want) else {
        let names: Vec<&str> = pages
            .iter()
            .filter_map(|(n, _)| n.strip_prefix("tt-")?.strip_suffix(".1"))
            .collect();
        return Err(Error::new(
            Kind::Usage,
            format!(
                "no page {}; the pages are: {}",
                args.page.unwrap_or_default(),
                names.join(", ")
            ),
        ));
    };
    let mut out = stdout();
    out.writer().write_all(body).map_err(write_error)?;
    out.flush()
}

/// The man pages: `tt.1` and one `tt-<command>.1` per subcommand, as (file name, roff).
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    // No `help` subcommand on the pages: `tt help` is for the terminal, and tt-help(1)
    // would name a page that does not exist.
    let mut cmd = Cli::command().disable_help_subcommand(true);
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
    let man_has_subcommands = cmd.has_subcommands();
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
        if man_has_subcommands {
            man.render_subcommands_section(&mut out)?;
        }
        // clap_mangen heads the after-help text EXTRA, even when there is none; ours is
        // the examples.
        let mut extra = Vec::new();
        man.render_extra_section(&mut extra)?;
        let extra = String::from_utf8_lossy(&extra);
        if let Some((_, text)) = extra.split_once(".SH EXTRA\n") {
            if let Some(examples) = text.strip_prefix("Examples:\n") {
                out.extend_from_slice(format!(".SH EXAMPLES\n{examples}").as_bytes());
            } else if !text.trim().is_empty() {
                out.extend_from_slice(format!(".SH NOTES\n{text}").as_bytes());
            }
        }
        out.extend_from_slice(exit_status_section().as_bytes());
        man.render_version_section(&mut out)
    })();
    r.expect("writing to a Vec cannot fail");
    out
}

/// The EXIT STATUS section, from [`EXIT_CODES`].
pub fn exit_status_section() -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for (_, code, what) in EXIT_CODES {
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
