//! Credentials: from environment variables, or from a file that only its owner can read.
//!
//! The file holds `NAME=value` lines with the same names as the variables
//! (`TWITTER_CONSUMER_KEY=...`), `#` comments and blank lines; a variable set in the
//! environment wins over the file. Like ssh with its keys, `tt` refuses a file that its
//! group or others can read, since it holds secrets. A secret is never printed: [`Secret`]
//! shows as `***` in every message and debug output.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Kind, Result};

/// A credential's value, which no message shows.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The default credentials file: `$XDG_CONFIG_HOME/tt/credentials`, else
/// `~/.config/tt/credentials`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("tt").join("credentials"))
}

/// Where credentials are looked up.
#[derive(Debug)]
pub struct Store {
    file: Option<PathBuf>,
    values: HashMap<String, Secret>,
}

impl Store {
    /// Reads `path` (given with `--credentials`: must exist), else the default file if it
    /// exists.
    pub fn load(path: Option<&Path>) -> Result<Store> {
        let (file, required) = match path {
            Some(p) => (Some(p.to_path_buf()), true),
            None => (default_path().filter(|p| p.exists()), false),
        };
        let mut values = HashMap::new();
        if let Some(f) = &file {
            match std::fs::read_to_string(f) {
                Ok(text) => {
                    check_private(f)?;
                    values = parse(&text, f)?;
                }
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::new(
                        Kind::Config,
                        format!("cannot read credentials file {}: {e}", f.display()),
                    ))
                }
            }
        }
        Ok(Store { file, values })
    }

    /// A credential by name: the environment first, then the file.
    pub fn get(&self, name: &str) -> Option<Secret> {
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => Some(Secret(v)),
            _ => self.values.get(name).cloned(),
        }
    }

    /// Several credentials that must all be there; the error names every missing one and
    /// where they were looked for.
    pub fn require<const N: usize>(&self, names: [&str; N]) -> Result<[Secret; N]> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.get(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(Error::new(
                Kind::Config,
                format!(
                    "missing credentials: {}; set them in the environment or in {} (NAME=value lines, chmod 600)",
                    missing.join(", "),
                    self.where_()
                ),
            ));
        }
        Ok(names.map(|n| self.get(n).expect("checked above")))
    }

    fn where_(&self) -> String {
        match self.file.clone().or_else(default_path) {
            Some(f) => f.display().to_string(),
            None => "a file given with --credentials".into(),
        }
    }
}

fn parse(text: &str, file: &Path) -> Result<HashMap<String, Secret>> {
    let mut values = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            return Err(Error::new(
                Kind::Config,
                format!("{}:{}: not a NAME=value line", file.display(), i + 1),
            ));
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        values.insert(name.trim().to_owned(), Secret(value.to_owned()));
    }
    Ok(values)
}

#[cfg(unix)]
fn check_private(f: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(f)
        .map_err(|e| Error::new(Kind::Config, format!("{}: {e}", f.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::new(
            Kind::Config,
            format!(
                "credentials file {} can be read by others (mode {:o}); run: chmod 600 {}",
                f.display(),
                mode & 0o777,
                f.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env_style_lines_and_hides_values() {
        let v = parse(
            "# mine\nA=1\nexport B = \"two words\"\n\nC='x=y'\n",
            Path::new("f"),
        )
        .unwrap();
        assert_eq!(v["A"].expose(), "1");
        assert_eq!(v["B"].expose(), "two words");
        assert_eq!(v["C"].expose(), "x=y");
        assert_eq!(format!("{:?}", v["A"]), "***");
        let e = parse("A=1\noops\n", Path::new("f")).unwrap_err();
        assert!(e.msg.contains("f:2"), "{}", e.msg);
    }
}
