//! The man pages, rendered from the clap definitions in [`super::Cli`]: `tt.1` and one
//! `tt-<command>.1` per subcommand and per source of `tt fetch`. `scripts/gen-docs.sh`
//! writes them to `man/`, and a test checks that `man/` matches.

use clap::CommandFactory;

use super::Cli;
use crate::error::EXIT_CODES;

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
