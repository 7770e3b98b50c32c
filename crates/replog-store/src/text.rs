//! Text conventions: MySQL's number formatting, temporal parsing and
//! printing, the case-insensitive collation, LIKE.

use replog_core::value::{Date, DateTime};
use std::cmp::Ordering;
use std::fmt::Write as _;

/// The longest prefix of `s` (after leading spaces) that reads as a number,
/// as MySQL does when a string is used as a number (`'12abc'` → `12`).
pub fn numeric_prefix(s: &str) -> &str {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i == digits_start || (i == digits_start + 1 && b.get(digits_start) == Some(&b'.')) {
        return "0";
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    &t[..i]
}

/// Formats a double as MariaDB's text protocol does (`my_gcvt`): the
/// shortest round-trip digits (6 significant digits for FLOAT), fixed
/// notation when the decimal exponent is within -14..=15, else `de[-]N`.
pub fn format_double(v: f64, is_float: bool) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() && !is_float {
            "-0".into()
        } else {
            "0".into()
        };
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let e = if is_float {
        format!("{:.5e}", v.abs())
    } else {
        format!("{:e}", v.abs())
    };
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let len = digits.len() as i32;
    let decpt = exp + 1;
    let mut out = String::new();
    if v < 0.0 {
        out.push('-');
    }
    if decpt >= -14 && (decpt <= 15 || len > decpt) {
        if decpt <= 0 {
            out.push_str("0.");
            for _ in decpt..0 {
                out.push('0');
            }
            out.push_str(&digits);
        } else if decpt < len {
            out.push_str(&digits[..decpt as usize]);
            out.push('.');
            out.push_str(&digits[decpt as usize..]);
        } else {
            out.push_str(&digits);
            for _ in len..decpt {
                out.push('0');
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if len > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}", decpt - 1);
    }
    out
}

/// `[-]HH:MM:SS` with exactly `fsp` fractional digits.
pub fn format_time(us: i64, fsp: u8) -> String {
    let sign = if us < 0 { "-" } else { "" };
    let a = us.unsigned_abs();
    let (secs, micro) = (a / 1_000_000, a % 1_000_000);
    let mut s = format!(
        "{sign}{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    push_frac(&mut s, micro as u32, fsp);
    s
}

/// `YYYY-MM-DD HH:MM:SS` with exactly `fsp` fractional digits.
pub fn format_datetime(dt: &DateTime, fsp: u8) -> String {
    let mut s = format!(
        "{} {:02}:{:02}:{:02}",
        dt.date, dt.hour, dt.minute, dt.second
    );
    push_frac(&mut s, dt.micro, fsp);
    s
}

fn push_frac(s: &mut String, micro: u32, fsp: u8) {
    if fsp > 0 {
        let f = format!("{micro:06}");
        s.push('.');
        s.push_str(&f[..usize::from(fsp.min(6))]);
    }
}

fn parse_frac(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Truncate beyond microseconds (MariaDB truncates).
    let mut v: u32 = 0;
    for i in 0..6 {
        v = v * 10 + s.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
    }
    Some(v)
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `YYYY-MM-DD[( |T)HH:MM:SS[.frac]]` (also `HH:MM` and a bare
/// `YYYYMMDD[HHMMSS]`).
pub fn parse_datetime(s: &str) -> Option<DateTime> {
    let s = s.trim();
    if !s.contains('-') && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i128 = s.parse().ok()?;
        return datetime_from_number(n);
    }
    let (date, time) = match s.find([' ', 'T']) {
        Some(p) => (&s[..p], Some(s[p + 1..].trim())),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let year: u16 = num(dp.next()?)?;
    let month: u8 = num(dp.next()?)?;
    let day: u8 = num(dp.next()?)?;
    if dp.next().is_some() {
        return None;
    }
    let mut dt = DateTime {
        date: Date { year, month, day },
        hour: 0,
        minute: 0,
        second: 0,
        micro: 0,
    };
    if let Some(t) = time.filter(|t| !t.is_empty()) {
        let (hms, frac) = match t.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (t, None),
        };
        let mut tp = hms.split(':');
        dt.hour = num(tp.next()?)?;
        dt.minute = num(tp.next()?)?;
        dt.second = match tp.next() {
            Some(x) => num(x)?,
            None => 0,
        };
        if tp.next().is_some() || dt.hour > 23 || dt.minute > 59 || dt.second > 59 {
            return None;
        }
        if let Some(f) = frac {
            dt.micro = parse_frac(f)?;
        }
    }
    Some(dt)
}

/// A DATETIME from `YYYYMMDD` or `YYYYMMDDHHMMSS` as a number.
pub fn datetime_from_number(n: i128) -> Option<DateTime> {
    if n < 0 {
        return None;
    }
    let (d, t) = if n > 99_999_999 {
        (n / 1_000_000, n % 1_000_000)
    } else {
        (n, 0)
    };
    let dt = DateTime {
        date: Date {
            year: u16::try_from(d / 10000).ok()?,
            month: (d / 100 % 100) as u8,
            day: (d % 100) as u8,
        },
        hour: (t / 10000) as u8,
        minute: (t / 100 % 100) as u8,
        second: (t % 100) as u8,
        micro: 0,
    };
    (dt.hour < 24 && dt.minute < 60 && dt.second < 60).then_some(dt)
}

/// Parses `[-][D ]HHH:MM[:SS[.frac]]`, `[-]HHMMSS[.frac]` or `SS`, to
/// signed microseconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r.trim_start()),
        None => (false, s),
    };
    let (days, rest) = match s.split_once(' ') {
        Some((d, r)) => (num::<i64>(d)?, r.trim()),
        None => (0, s),
    };
    let (hms, frac) = match rest.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (rest, None),
    };
    let (h, m, sec): (i64, i64, i64) = if hms.contains(':') {
        let mut p = hms.split(':');
        let h = num(p.next()?)?;
        let m = num(p.next()?)?;
        let sec = match p.next() {
            Some(x) => num(x)?,
            None => 0,
        };
        if p.next().is_some() {
            return None;
        }
        (h, m, sec)
    } else {
        let n: i64 = num(hms)?;
        (n / 10000, n / 100 % 100, n % 100)
    };
    if m > 59 || sec > 59 {
        return None;
    }
    let micro = match frac {
        Some(f) => i64::from(parse_frac(f)?),
        None => 0,
    };
    let total = days
        .checked_mul(24)?
        .checked_add(h)?
        .checked_mul(3600)?
        .checked_add(m * 60 + sec)?
        .checked_mul(1_000_000)?
        .checked_add(micro)?;
    Some(if neg { -total } else { total })
}

/// Whether `s` is a valid JSON text.
pub fn json_valid(s: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(s).is_ok()
}

/// The collation key of a string under the default case-insensitive
/// collation: trailing spaces removed (PAD SPACE), each character mapped to
/// its simple uppercase form.
pub fn ci_fold(s: &str) -> String {
    s.trim_end_matches(' ')
        .chars()
        .map(|c| c.to_uppercase().next().unwrap_or(c))
        .collect()
}

/// Case-insensitive comparison under the default collation.
pub fn ci_cmp(a: &str, b: &str) -> Ordering {
    ci_fold(a).cmp(&ci_fold(b))
}

/// Case-insensitive equality under the default collation.
pub fn ci_eq(a: &str, b: &str) -> bool {
    ci_cmp(a, b) == Ordering::Equal
}

/// SQL LIKE with `%`, `_` and the escape character, case-insensitively.
pub fn like(text: &str, pattern: &str, escape: char) -> bool {
    let t: Vec<char> = text.chars().map(fold_char).collect();
    let p: Vec<char> = pattern.chars().collect();
    like_at(&t, &p, escape)
}

fn fold_char(c: char) -> char {
    c.to_uppercase().next().unwrap_or(c)
}

fn like_at(t: &[char], p: &[char], esc: char) -> bool {
    // Iterative matcher with backtracking on the last '%'.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            let c = p[pi];
            if c == '%' {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            let (lit, width) = if c == esc && pi + 1 < p.len() {
                (Some(p[pi + 1]), 2)
            } else if c == '_' {
                (None, 1)
            } else {
                (Some(c), 1)
            };
            if lit.is_none_or(|l| fold_char(l) == t[ti]) {
                ti += 1;
                pi += width;
                continue;
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_mariadb() {
        assert_eq!(format_double(1.5, false), "1.5");
        assert_eq!(
            format_double(std::f64::consts::PI, false),
            "3.141592653589793"
        );
        assert_eq!(
            format_double(2.2250738585072014e-308, false),
            "2.2250738585072014e-308"
        );
        assert_eq!(
            format_double(1.7976931348623157e308, false),
            "1.7976931348623157e308"
        );
        assert_eq!(format_double(f64::from(3.0e38f32), true), "3e38");
        assert_eq!(format_double(f64::from(-1.0e-10f32), true), "-0.0000000001");
        assert_eq!(format_double(f64::from(-0.25f32), true), "-0.25");
        assert_eq!(
            format_double(0.061280107182711464, false),
            "0.061280107182711464"
        );
        assert_eq!(format_double(100.0, false), "100");
        assert_eq!(format_double(1e14, false), "100000000000000");
        assert_eq!(format_double(1e15, false), "1e15");
        assert_eq!(format_double(1e16, false), "1e16");
    }

    #[test]
    fn temporal_parsing() {
        assert_eq!(
            parse_time("-838:59:59"),
            Some(-((838 * 3600 + 59 * 60 + 59) * 1_000_000))
        );
        assert_eq!(parse_time("-00:00:00.001"), Some(-1000));
        assert_eq!(
            parse_time("09:09:09.09"),
            Some((9 * 3600 + 9 * 60 + 9) * 1_000_000 + 90_000)
        );
        let dt = parse_datetime("2024-02-29 12:34:56.78").unwrap();
        assert_eq!(format_datetime(&dt, 2), "2024-02-29 12:34:56.78");
        assert_eq!(format_datetime(&dt, 6), "2024-02-29 12:34:56.780000");
        assert!(parse_datetime("2024-02-29 25:00:00").is_none());
        assert!(parse_datetime("garbage").is_none());
    }

    #[test]
    fn collation_and_like() {
        assert!(ci_eq("Alice", "alice  "));
        assert!(like("Hello", "h%o", '\\'));
        assert!(like("Hello", "_ello", '\\'));
        assert!(!like("Hello", "h%x", '\\'));
        assert!(like("50%", "50\\%", '\\'));
        assert!(like("", "%", '\\'));
        assert_eq!(numeric_prefix("12abc"), "12");
        assert_eq!(numeric_prefix(" -1.5e3x"), "-1.5e3");
        assert_eq!(numeric_prefix("abc"), "0");
    }
}
