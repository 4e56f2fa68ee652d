//! Argument types that several commands share: the input options of every command that
//! reads NDJSON, sizes (`4MiB`) and durations (`2s`). A leaf: the commands import it, it
//! imports nothing of theirs.

/// Options shared by every command that reads NDJSON.
#[derive(Debug, Clone, clap::Args)]
pub struct InputOpts {
    /// Skip (and report) lines longer than this; memory stays bounded by it.
    ///
    /// Default 4MiB; for tt top 1GiB, since one count update holds every tag its batch
    /// changed (about 110 bytes each), for tt serve 256MiB (up to 100,000 leaders), for
    /// tt count and tt combine 256MiB (a partial batch holds every tag of its slot), and
    /// for tt publish 1000000 bytes (the brokers' default message.max.bytes).
    /// Accepts a plain byte count or a K, M or G suffix (powers of 1024: 512K, 4M, 1MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_line_bytes: Option<usize>,

    /// Stop at the first bad input line with exit status 65, instead of skipping it.
    #[arg(long)]
    pub strict: bool,

    /// Do not report skipped lines, stream notices or summaries on standard error.
    ///
    /// Fatal errors are still reported.
    #[arg(short, long)]
    pub quiet: bool,
}

/// What `--distinct` counts (tt count, tt combine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Distinct {
    /// Distinct authors (the `user` field of tag uses).
    Users,
}

impl InputOpts {
    /// `--max-line-bytes`, or the command's default when not given.
    pub fn max_line(&self, default: usize) -> usize {
        self.max_line_bytes.unwrap_or(default)
    }
}

/// Parses `4MiB`, `512K`, `1.5M`, `1048576` (units of 1024; a fraction of one is
/// rounded down to whole bytes).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let (n, unit) = number_and_unit(s, "a size (try 4MiB, 512K or 1048576)")?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use K, M or G)")),
    };
    let bytes = (n * mult).floor();
    match bytes >= 1.0 && bytes <= usize::MAX as f64 {
        true => Ok(bytes as usize),
        false => Err(format!(
            "'{s}' must be between 1 byte and the address space"
        )),
    }
}

/// Parses a duration: `500ms`, `2s`, `10m`, `1h`, `1d` (a number alone is seconds).
/// Returns milliseconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let ms = duration_ms(s)?;
    if ms < 1.0 {
        return Err(format!("'{s}' must be at least 1ms"));
    }
    if ms > 1e15 {
        return Err(format!("'{s}' is too long (at most about 31,000 years)"));
    }
    Ok(ms as u64)
}

/// Like [`parse_duration`], but 0 is allowed (`--lateness 0s`).
pub fn parse_duration_or_zero(s: &str) -> Result<u64, String> {
    match duration_ms(s)? {
        0.0 => Ok(0),
        _ => parse_duration(s),
    }
}

/// A whole number (`--limit 1000`), said in the user's terms when it is not one: clap's
/// own reading says "invalid digit found in string".
pub fn parse_whole<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
    let n: u64 = s.trim().parse().map_err(|_| not_a(s, "a whole number"))?;
    T::try_from(n).map_err(|_| format!("'{s}' is too large"))
}

/// A whole number from `LO` to `HI` (`--threads 4`), said as such when it is not.
pub fn parse_whole_in<T: TryFrom<u64>, const LO: u64, const HI: u64>(s: &str) -> Result<T, String> {
    let n: u64 = parse_whole(s)?;
    if !(LO..=HI).contains(&n) {
        return Err(format!("'{s}' is not {LO} to {HI}"));
    }
    T::try_from(n).map_err(|_| format!("'{s}' is too large"))
}

/// A number (`--rate 200`, `--burst-trend 1.5`), finite: clap's own reading says
/// "invalid float literal", and takes `inf` and `NaN`.
pub fn parse_number(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(not_a(s, "a number (like 200 or 1.5)")),
    }
}

/// Why `s` is not `what`: below zero, when it is a negative number; the next option,
/// when it is one (`--batch --state s.json`: the value was left out).
fn not_a(s: &str, what: &str) -> String {
    match s.trim().strip_prefix('-') {
        Some(n) if n.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
            format!("'{s}' is below zero")
        }
        Some(n) if n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '-') => {
            format!("the value is missing ('{s}' is the next option, not {what})")
        }
        _ => format!("'{s}' is not {what}"),
    }
}

/// `1.5 MiB` → (1.5, "MiB"): the number (digits and a point) and what follows it,
/// trimmed; `is_not` says what `s` is not when there is no number ("a size (try ...)").
fn number_and_unit<'a>(s: &'a str, is_not: &str) -> Result<(f64, &'a str), String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n = num.parse().map_err(|_| not_a(s, is_not))?;
    Ok((n, unit.trim()))
}

/// A duration's milliseconds, rounded, checked for its form and unit only.
fn duration_ms(s: &str) -> Result<f64, String> {
    let (n, unit) = number_and_unit(s, "a duration (try 500ms, 2s, 10m, 1h)")?;
    // The units' words too, as `systemd` and `timeout` users write them (`10min`, `5 sec`).
    let mult = match unit {
        "ms" | "msec" => 1.0,
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1000.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000.0,
        "h" | "hr" | "hour" | "hours" => 3_600_000.0,
        "d" | "day" | "days" => 86_400_000.0,
        u => return Err(format!("'{s}': unknown unit '{u}' (use ms, s, m, h or d)")),
    };
    Ok((n * mult).round())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, what it reads as, or the message)
    #[test]
    fn numbers() {
        let wholes: [(&str, Result<u16, &str>); 6] = [
            ("80", Ok(80)),
            (" 7 ", Ok(7)),
            ("abc", Err("'abc' is not a whole number")),
            ("-1", Err("'-1' is below zero")),
            ("1.5", Err("'1.5' is not a whole number")),
            ("70000", Err("'70000' is too large")),
        ];
        for (text, want) in wholes {
            assert_eq!(
                parse_whole::<u16>(text),
                want.map_err(String::from),
                "{text}"
            );
        }
        let numbers: [(&str, Result<f64, &str>); 5] = [
            ("1.5", Ok(1.5)),
            ("-2", Ok(-2.0)),
            ("1e3", Ok(1000.0)),
            ("abc", Err("'abc' is not a number (like 200 or 1.5)")),
            ("inf", Err("'inf' is not a number (like 200 or 1.5)")),
        ];
        for (text, want) in numbers {
            assert_eq!(parse_number(text), want.map_err(String::from), "{text}");
        }
        assert_eq!(parse_duration("-2s"), Err("'-2s' is below zero".into()));
        for (text, want) in [
            ("4", Ok(4)),
            ("0", Err("'0' is not 1 to 1024")),
            ("x", Err("'x' is not a whole number")),
        ] {
            assert_eq!(
                parse_whole_in::<u16, 1, 1024>(text),
                want.map_err(String::from),
                "{text}"
            );
        }
        assert_eq!(
            parse_whole::<u64>("--quiet"),
            Err("the value is missing ('--quiet' is the next option, not a whole number)".into())
        );
    }

    #[test]
    fn sizes() {
        let ok = [
            ("1048576", 1 << 20),
            ("4MiB", 4 << 20),
            ("512k", 512 << 10),
            ("100", 100),
            ("1.5M", 3 << 19),
            ("10 mb", 10 << 20),
            ("1g", 1 << 30),
        ];
        for (text, bytes) in ok {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for bad in ["", "abc", "0", "0.1", "2T", "4 parsecs", "1..5M", "-1"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        let ok = [
            ("2s", 2000),
            ("500ms", 500),
            ("1.5m", 90_000),
            ("3", 3000),
            ("10 min", 600_000),
            ("5sec", 5000),
            ("2 seconds", 2000),
            ("1 hour", 3_600_000),
            ("2days", 172_800_000),
        ];
        for (text, ms) in ok {
            assert_eq!(parse_duration(text), Ok(ms), "{text}");
        }
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("2 weeks").is_err());
        assert!(parse_duration("2 mo").is_err());
        // Zero where it is allowed, in any unit; not a word or nothing taken for it.
        for (text, want) in [
            ("0s", Ok(0)),
            ("0", Ok(0)),
            ("0 sec", Ok(0)),
            ("0.0ms", Ok(0)),
            ("1.5s", Ok(1500)),
        ] {
            assert_eq!(parse_duration_or_zero(text), want, "{text}");
        }
        for bad in ["", "abc", "0weeks", "."] {
            assert!(parse_duration_or_zero(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_duration("99999999999999h"),
            Err("'99999999999999h' is too long (at most about 31,000 years)".into())
        );
    }
}
