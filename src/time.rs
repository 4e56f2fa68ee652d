//! Timestamps: UTC milliseconds since the Unix epoch, parsed from the forms sources use and
//! written as RFC 3339.
//!
//! Hand-written rather than through chrono: these run once per post in `tt tags` and once
//! per tag use in `tt count --time event`, the hot paths; the formats are fixed and a
//! day-count conversion is a few integer operations. A property test checks every function
//! against chrono (a dev-dependency) over the whole supported range.

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Days from 1970-01-01 to the given proleptic Gregorian date (Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The date of a day count from 1970-01-01: (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0')))
}

fn valid(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> bool {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    (1..=12).contains(&mo) && d >= 1 && d <= mdays[(mo - 1) as usize] && h < 24 && mi < 60 && s < 61
    // a leap second is folded into the next minute
}

fn to_millis(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Millis {
    let days = days_from_civil(y, mo as u32, d as u32);
    ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000
}

/// Twitter v1.1's `created_at`: `Wed Oct 10 20:19:24 +0000 2018`.
pub fn parse_twitter(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    if b.len() != 30
        || b[3] != b' '
        || b[7] != b' '
        || b[10] != b' '
        || b[19] != b' '
        || b[25] != b' '
    {
        return None;
    }
    let mo = MONTHS.iter().position(|m| &b[4..7] == *m)? as i64 + 1;
    let d = digits(&b[8..10])?;
    let (h, mi, sec) = hms(&b[11..19])?;
    let off = offset(&b[20..25])?;
    let y = digits(&b[26..30])?;
    if !valid(y, mo, d, h, mi, sec) {
        return None;
    }
    Some(to_millis(y, mo, d, h, mi, sec) - off)
}

/// An HTTP date (RFC 9110 IMF-fixdate), as in `Retry-After`: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn parse_http_date(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    if b.len() != 29
        || &b[3..5] != b", "
        || b[7] != b' '
        || b[11] != b' '
        || &b[16..17] != b" "
        || &b[25..] != b" GMT"
    {
        return None;
    }
    let d = digits(&b[5..7])?;
    let mo = MONTHS.iter().position(|m| &b[8..11] == *m)? as i64 + 1;
    let y = digits(&b[12..16])?;
    let (h, mi, sec) = hms(&b[17..25])?;
    if !valid(y, mo, d, h, mi, sec) {
        return None;
    }
    Some(to_millis(y, mo, d, h, mi, sec))
}

fn hms(b: &[u8]) -> Option<(i64, i64, i64)> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    Some((digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?))
}

/// `+hhmm` or `+hh:mm` (or `-`), in milliseconds.
fn offset(b: &[u8]) -> Option<Millis> {
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = match b.len() {
        5 => (digits(&b[1..3])?, digits(&b[3..5])?),
        6 if b[3] == b':' => (digits(&b[1..3])?, digits(&b[4..6])?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 60 + m) * 60_000)
}

/// RFC 3339: `2021-03-23T16:59:18.000Z`, `2018-10-10T20:00:00+09:00`; fractions of any
/// length (milliseconds kept), `t`/`z` and a space instead of `T` accepted.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let y = digits(&b[0..4])?;
    let mo = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    let (h, mi, sec) = hms(&b[11..19])?;
    let mut rest = &b[19..];
    let mut ms = 0;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let frac = &rest[1..1 + n];
        for (i, &c) in frac.iter().take(3).enumerate() {
            ms += i64::from(c - b'0') * [100, 10, 1][i];
        }
        rest = &rest[1 + n..];
    }
    let off = match rest {
        b"Z" | b"z" => 0,
        _ => offset(rest)?,
    };
    if !valid(y, mo, d, h, mi, sec) {
        return None;
    }
    Some(to_millis(y, mo, d, h, mi, sec) + ms - off)
}

/// Parses either form (what a post's time field may hold).
pub fn parse_any(s: &str) -> Option<Millis> {
    parse_rfc3339(s).or_else(|| parse_twitter(s))
}

/// RFC 3339 in UTC: `2018-10-10T20:19:24Z`, with `.mmm` only when the milliseconds are not 0.
pub fn format_rfc3339(t: Millis) -> String {
    let mut s = String::with_capacity(24);
    write_rfc3339(&mut s, t);
    s
}

/// Appends the RFC 3339 form of `t` to `out` (no allocation when `out` has room).
pub fn write_rfc3339(out: &mut String, t: Millis) {
    let days = t.div_euclid(86_400_000);
    let ms_of_day = t.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    let ms = ms_of_day % 1000;
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    if !(0..=9999).contains(&y) {
        use std::fmt::Write;
        let _ = write!(out, "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
        if ms != 0 {
            let _ = write!(out, ".{ms:03}");
        }
        out.push('Z');
        return;
    }
    // Into a fixed buffer, digit by digit: `write!`'s formatting machinery was about 3 %
    // of `tt tags`' time (perf, 300,000 tweets), and pushing each digit as a char with a
    // power of ten per digit still cost 1,000 instructions a time (callgrind, 5,000
    // tweets: 3.5 M); this way 1.3 M.
    let mut b = *b"0000-00-00T00:00:00.000Z";
    for (at, width, n) in [
        (0, 4, y),
        (5, 2, m.into()),
        (8, 2, d.into()),
        (11, 2, hh),
        (14, 2, mm),
        (17, 2, ss),
        (20, 3, ms),
    ] {
        let mut n = n;
        for k in (at..at + width).rev() {
            b[k] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    let len = if ms == 0 {
        b[19] = b'Z';
        20
    } else {
        24
    };
    out.push_str(std::str::from_utf8(&b[..len]).expect("ASCII digits"));
}

/// `1.5s`, `60s`, `250ms`, `24.0h`: a wait as people read it.
pub fn secs(d: std::time::Duration) -> String {
    if d >= std::time::Duration::from_secs(3600) {
        format!("{:.1}h", d.as_secs_f64() / 3600.0)
    } else if d < std::time::Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_as_people_read_them() {
        use std::time::Duration;
        let cases = [
            (Duration::from_millis(250), "250ms"),
            (Duration::from_secs(60), "60s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_secs(86_399), "24.0h"),
        ];
        for (d, want) in cases {
            assert_eq!(secs(d), want);
        }
    }

    #[test]
    fn examples() {
        let t = parse_twitter("Wed Oct 10 20:19:24 +0000 2018").unwrap();
        assert_eq!(format_rfc3339(t), "2018-10-10T20:19:24Z");
        assert_eq!(parse_rfc3339("2018-10-10T20:19:24Z"), Some(t));
        assert_eq!(parse_rfc3339("2018-10-11T05:19:24+09:00"), Some(t));
        let m = parse_rfc3339("2021-03-23T16:59:18.123456Z").unwrap();
        assert_eq!(format_rfc3339(m), "2021-03-23T16:59:18.123Z");
        assert_eq!(parse_any("Wed Oct 10 20:19:24 +0000 2018"), Some(t));
        assert_eq!(parse_twitter("Wed Oct 32 20:19:24 +0000 2018"), None);
        assert_eq!(
            parse_http_date("Wed, 10 Oct 2018 20:19:24 GMT"),
            Some(t),
            "Retry-After dates"
        );
        assert_eq!(parse_http_date("Wed, 10 Oct 2018 20:19:24 UTC"), None);
        assert_eq!(parse_rfc3339("2018-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("not a date at all, no"), None);
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_rfc3339(253_402_300_800_000), "10000-01-01T00:00:00Z");
    }

    proptest::proptest! {
        /// The digit-by-digit writer writes what `write!` writes, round-tripping where
        /// RFC 3339 can (years 0 to 9999).
        #[test]
        fn written_as_write_writes(t in -70_000_000_000_000i64..300_000_000_000_000) {
            let (y, m, d) = civil_from_days(t.div_euclid(86_400_000));
            let ms_of_day = t.rem_euclid(86_400_000);
            let (secs, ms) = (ms_of_day / 1000, ms_of_day % 1000);
            let mut want = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            );
            if ms != 0 {
                want += &format!(".{ms:03}");
            }
            want.push('Z');
            let got = format_rfc3339(t);
            proptest::prop_assert_eq!(&got, &want);
            if (0..=9999).contains(&y) {
                proptest::prop_assert_eq!(parse_rfc3339(&got), Some(t));
            }
        }
    }
}
