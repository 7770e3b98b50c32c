//! Date and time functions beyond the date parts of [`crate::functions`]:
//! formatting and parsing (`DATE_FORMAT`, `STR_TO_DATE`), week numbers
//! (`WEEK` and its modes), `EXTRACT` with simple and compound units,
//! `TIMESTAMPDIFF` / `TIMESTAMPADD`, TIME arithmetic (`TIMEDIFF`,
//! `ADDTIME`, `SUBTIME`, `SEC_TO_TIME`, `TIME_TO_SEC`), day numbers
//! (`FROM_DAYS`, `MAKEDATE`), `FROM_UNIXTIME` and `CONVERT_TZ` between
//! numeric offsets, with MariaDB's NULL rules.
//!
//! Every function here is deterministic: the store's session time zone is
//! UTC (`FROM_UNIXTIME` reads its argument in it) and nothing reads the
//! clock.

use crate::error::{Error, ErrorKind, Result};
use crate::functions::{self, datetime_of, days_in_month, timestamp_to_datetime_any};
use crate::text;
use crate::types::{Datum, datetime_to_micros};
use replog_core::value::{Date, DateTime, civil_from_days, days_from_civil};

const US_PER_DAY: i64 = 86_400_000_000;
/// TIME's range: ±838:59:59.
const TIME_MAX_US: i64 = (838 * 3600 + 59 * 60 + 59) * 1_000_000;

/// Day names, Monday first.
pub(crate) const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
/// Month names, January first.
pub(crate) const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn arity_error(name: &str) -> Error {
    Error::new(
        ErrorKind::Parse,
        format!("Incorrect parameter count in the call to native function '{name}'"),
    )
}

fn day_number(d: &Date) -> i64 {
    days_from_civil(i64::from(d.year), u32::from(d.month), u32::from(d.day))
}

/// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
fn weekday(d: &Date) -> i64 {
    (day_number(d) + 3).rem_euclid(7)
}

fn date_of_day_number(n: i64) -> Option<Date> {
    let (y, m, d) = civil_from_days(n);
    (0..=9999).contains(&y).then_some(Date {
        year: y as u16,
        month: m as u8,
        day: d as u8,
    })
}

/// A TIME operand, or the time of day of a DATETIME operand, in signed
/// microseconds; with whether the operand was a date and time.
fn time_of(d: &Datum) -> Option<(i64, bool)> {
    match d {
        Datum::Null => None,
        Datum::Time(t) => Some((*t, false)),
        Datum::DateTime(dt) => Some((datetime_to_micros(dt), true)),
        Datum::Date(x) => Some((day_number(x) * US_PER_DAY, true)),
        other => {
            let s = other.to_text()?;
            if s.trim().contains('-') && !s.trim().starts_with('-') {
                text::parse_datetime(&s).map(|dt| (datetime_to_micros(&dt), true))
            } else {
                text::parse_time(&s).map(|t| (t, false))
            }
        }
    }
}

fn clamp_time(us: i64) -> Datum {
    Datum::Time(us.clamp(-TIME_MAX_US, TIME_MAX_US))
}

/// MySQL's week number of `d` under the behaviour bits `b` (1: Monday is
/// the first day of the week; 2: weeks of the previous / next year are
/// numbered in that year, never 0; 4: week 1 is the first week with a
/// first day of week, else the first with 4 or more days): the week and
/// the year it belongs to.
fn calc_week(d: &Date, b: u32) -> (i64, i64) {
    let monday_first = b & 1 != 0;
    let mut week_year = b & 2 != 0;
    let first_weekday = b & 4 != 0;
    let day = day_number(d);
    let mut year = i64::from(d.year);
    let mut first = days_from_civil(year, 1, 1);
    // Day of the week of January 1st, 0 for the first day of the week.
    let wd = |n: i64| {
        if monday_first {
            (n + 3).rem_euclid(7)
        } else {
            (n + 4).rem_euclid(7)
        }
    };
    let mut w = wd(first);
    let late = |w: i64| (first_weekday && w != 0) || (!first_weekday && w >= 4);
    if d.month == 1 && i64::from(d.day) <= 7 - w {
        if !week_year && late(w) {
            return (0, year);
        }
        week_year = true;
        year -= 1;
        first = days_from_civil(year, 1, 1);
        w = wd(first);
    }
    let days = if late(w) {
        day - (first + (7 - w))
    } else {
        day - (first - w)
    };
    if week_year && days >= 52 * 7 {
        let next = wd(days_from_civil(year + 1, 1, 1));
        if !late(next) {
            return (1, year + 1);
        }
    }
    (days / 7 + 1, year)
}

/// The behaviour bits of `WEEK(d, mode)`.
fn week_mode(mode: i64) -> u32 {
    let mut m = (mode & 7) as u32;
    if m & 1 == 0 {
        m ^= 4;
    }
    m
}

/// A function of this module, or `None` when `name` is not one.
pub(crate) fn call(
    name: &str,
    args: &[Datum],
    warnings: &mut Vec<String>,
) -> Option<Result<Datum>> {
    let n = args.len();
    let bad = |ok: bool| (!ok).then(|| Err(arity_error(name)));
    Some(Ok(match name {
        "WEEK" | "YEARWEEK" => {
            if let Some(e) = bad(n == 1 || n == 2) {
                return Some(e);
            }
            let mode = args.get(1).map_or(0, Datum::to_i64);
            let Some(dt) = datetime_of(&args[0]) else {
                return Some(Ok(Datum::Null));
            };
            if name == "WEEK" {
                Datum::Int(calc_week(&dt.date, week_mode(mode)).0)
            } else {
                let (w, y) = calc_week(&dt.date, week_mode(mode) | 2);
                Datum::Int(y * 100 + w)
            }
        }
        "DATE_FORMAT" => {
            if let Some(e) = bad(n == 2) {
                return Some(e);
            }
            let (Some(dt), Some(f)) = (datetime_of(&args[0]), args[1].to_text()) else {
                return Some(Ok(Datum::Null));
            };
            Datum::Str(date_format(&dt, &f))
        }
        "STR_TO_DATE" => {
            if let Some(e) = bad(n == 2) {
                return Some(e);
            }
            let (Some(s), Some(f)) = (args[0].to_text(), args[1].to_text()) else {
                return Some(Ok(Datum::Null));
            };
            match str_to_date(&s, &f) {
                Some(d) => d,
                None => {
                    warnings.push(format!(
                        "Incorrect datetime value: '{s}' for function str_to_date"
                    ));
                    Datum::Null
                }
            }
        }
        "FROM_UNIXTIME" => {
            if let Some(e) = bad(n == 1 || n == 2) {
                return Some(e);
            }
            if args[0].is_null() {
                return Some(Ok(Datum::Null));
            }
            let secs = args[0].to_f64();
            // TIMESTAMP's range; MariaDB gives NULL outside it.
            if !(0.0..=2_147_483_647.999_999).contains(&secs) {
                return Some(Ok(Datum::Null));
            }
            let whole = matches!(args[0], Datum::Int(_) | Datum::UInt(_));
            let us = if whole {
                args[0].to_i64() * 1_000_000
            } else {
                (secs * 1e6).round() as i64
            };
            let dt = timestamp_to_datetime_any(us);
            match args.get(1) {
                None => Datum::DateTime(dt),
                Some(f) => match f.to_text() {
                    Some(f) => Datum::Str(date_format(&dt, &f)),
                    None => Datum::Null,
                },
            }
        }
        "FROM_DAYS" => {
            if let Some(e) = bad(n == 1) {
                return Some(e);
            }
            if args[0].is_null() {
                return Some(Ok(Datum::Null));
            }
            let d = args[0].to_i64();
            // Day numbers before 0000-03-01 are the zero date in MariaDB.
            if d < 366 {
                return Some(Ok(Datum::Date(Date {
                    year: 0,
                    month: 0,
                    day: 0,
                })));
            }
            match date_of_day_number(d - 719_528) {
                Some(x) => Datum::Date(x),
                None => Datum::Null,
            }
        }
        "MAKEDATE" => {
            if let Some(e) = bad(n == 2) {
                return Some(e);
            }
            if args.iter().any(Datum::is_null) {
                return Some(Ok(Datum::Null));
            }
            let (mut y, doy) = (args[0].to_i64(), args[1].to_i64());
            if doy <= 0 || !(0..=9999).contains(&y) {
                return Some(Ok(Datum::Null));
            }
            if y < 70 {
                y += 2000;
            } else if y < 100 {
                y += 1900;
            }
            match date_of_day_number(days_from_civil(y, 1, 1) + doy - 1) {
                Some(x) => Datum::Date(x),
                None => Datum::Null,
            }
        }
        "SEC_TO_TIME" => {
            if let Some(e) = bad(n == 1) {
                return Some(e);
            }
            if args[0].is_null() {
                return Some(Ok(Datum::Null));
            }
            let us = match &args[0] {
                Datum::Int(i) => i.saturating_mul(1_000_000),
                Datum::UInt(u) => i64::try_from(*u)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1_000_000),
                other => {
                    let v = other.to_f64() * 1e6;
                    if v.is_finite() {
                        v.round().clamp(i64::MIN as f64, i64::MAX as f64) as i64
                    } else {
                        return Some(Ok(Datum::Null));
                    }
                }
            };
            clamp_time(us)
        }
        "TIME_TO_SEC" => {
            if let Some(e) = bad(n == 1) {
                return Some(e);
            }
            let Some((t, is_dt)) = time_of(&args[0]) else {
                return Some(Ok(Datum::Null));
            };
            let t = if is_dt { t.rem_euclid(US_PER_DAY) } else { t };
            if t % 1_000_000 == 0 {
                Datum::Int(t / 1_000_000)
            } else {
                Datum::Double(t as f64 / 1e6)
            }
        }
        "TIMEDIFF" => {
            if let Some(e) = bad(n == 2) {
                return Some(e);
            }
            let (Some((a, ad)), Some((b, bd))) = (time_of(&args[0]), time_of(&args[1])) else {
                return Some(Ok(Datum::Null));
            };
            if ad != bd {
                return Some(Ok(Datum::Null));
            }
            clamp_time(a - b)
        }
        "ADDTIME" | "SUBTIME" => {
            if let Some(e) = bad(n == 2) {
                return Some(e);
            }
            let (Some((a, ad)), Some((b, bd))) = (time_of(&args[0]), time_of(&args[1])) else {
                return Some(Ok(Datum::Null));
            };
            if bd {
                return Some(Ok(Datum::Null));
            }
            let r = if name == "ADDTIME" { a + b } else { a - b };
            if ad {
                if !(0..=day_number(&Date {
                    year: 9999,
                    month: 12,
                    day: 31,
                }) * US_PER_DAY
                    + US_PER_DAY
                    - 1)
                    .contains(&r)
                {
                    return Some(Ok(Datum::Null));
                }
                Datum::DateTime(timestamp_to_datetime_any(r))
            } else {
                clamp_time(r)
            }
        }
        "CONVERT_TZ" => {
            if let Some(e) = bad(n == 3) {
                return Some(e);
            }
            let Some(dt) = datetime_of(&args[0]) else {
                return Some(Ok(Datum::Null));
            };
            let (Some(from), Some(to)) = (args[1].to_text(), args[2].to_text()) else {
                return Some(Ok(Datum::Null));
            };
            let (Some(f), Some(t)) = (offset_us(&from), offset_us(&to)) else {
                return Some(Err(Error::unsupported(format!(
                    "CONVERT_TZ with a named time zone ('{from}', '{to}')"
                ))));
            };
            let us = datetime_to_micros(&dt) - f + t;
            let out = timestamp_to_datetime_any(us);
            if !(1..=9999).contains(&out.date.year) {
                return Some(Ok(Datum::Null));
            }
            Datum::DateTime(out)
        }
        _ => return None,
    }))
}

/// `+HH:MM` / `-HH:MM` as signed microseconds east of UTC.
fn offset_us(s: &str) -> Option<i64> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    // MariaDB accepts -12:59 … +14:00.
    let mins = sign * (h * 60 + m);
    if m > 59 || !(-(12 * 60 + 59)..=14 * 60).contains(&mins) {
        return None;
    }
    Some(mins * 60_000_000)
}

/// `DATE_FORMAT(dt, f)`.
pub(crate) fn date_format(dt: &DateTime, f: &str) -> String {
    use std::fmt::Write as _;
    let d = &dt.date;
    let mut out = String::with_capacity(f.len() * 2);
    let mut it = f.chars();
    let h12 = |h: u8| if h % 12 == 0 { 12 } else { h % 12 };
    let ampm = |h: u8| if h < 12 { "AM" } else { "PM" };
    let valid = d.month != 0 && d.day != 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(s) = it.next() else { break };
        let month_name = MONTH_NAMES
            .get(usize::from(d.month).wrapping_sub(1))
            .copied();
        let _ = match s {
            'a' if valid => write!(out, "{}", &DAY_NAMES[weekday(d) as usize][..3]),
            'b' => write!(out, "{}", month_name.map_or("", |m| &m[..3])),
            'c' => write!(out, "{}", d.month),
            'D' => {
                let suffix = match (d.day % 10, d.day / 10 % 10) {
                    (_, 1) => "th",
                    (1, _) => "st",
                    (2, _) => "nd",
                    (3, _) => "rd",
                    _ => "th",
                };
                write!(out, "{}{suffix}", d.day)
            }
            'd' => write!(out, "{:02}", d.day),
            'e' => write!(out, "{}", d.day),
            'f' => write!(out, "{:06}", dt.micro),
            'H' => write!(out, "{:02}", dt.hour),
            'h' | 'I' => write!(out, "{:02}", h12(dt.hour)),
            'i' => write!(out, "{:02}", dt.minute),
            'j' if valid => write!(
                out,
                "{:03}",
                day_number(d) - days_from_civil(i64::from(d.year), 1, 1) + 1
            ),
            'k' => write!(out, "{}", dt.hour),
            'l' => write!(out, "{}", h12(dt.hour)),
            'M' => write!(out, "{}", month_name.unwrap_or("")),
            'm' => write!(out, "{:02}", d.month),
            'p' => write!(out, "{}", ampm(dt.hour)),
            'r' => write!(
                out,
                "{:02}:{:02}:{:02} {}",
                h12(dt.hour),
                dt.minute,
                dt.second,
                ampm(dt.hour)
            ),
            'S' | 's' => write!(out, "{:02}", dt.second),
            'T' => write!(out, "{:02}:{:02}:{:02}", dt.hour, dt.minute, dt.second),
            'U' if valid => write!(out, "{:02}", calc_week(d, 4).0),
            'u' if valid => write!(out, "{:02}", calc_week(d, 1).0),
            'V' if valid => write!(out, "{:02}", calc_week(d, 6).0),
            'v' if valid => write!(out, "{:02}", calc_week(d, 3).0),
            'X' if valid => write!(out, "{:04}", calc_week(d, 6).1),
            'x' if valid => write!(out, "{:04}", calc_week(d, 3).1),
            'W' if valid => write!(out, "{}", DAY_NAMES[weekday(d) as usize]),
            'w' if valid => write!(out, "{}", (weekday(d) + 1) % 7),
            'Y' => write!(out, "{:04}", d.year),
            'y' => write!(out, "{:02}", d.year % 100),
            'a' | 'j' | 'U' | 'u' | 'V' | 'v' | 'X' | 'x' | 'W' | 'w' => Ok(()),
            other => {
                out.push(other);
                Ok(())
            }
        };
    }
    out
}

/// `STR_TO_DATE(s, f)`: a DATE, TIME or DATETIME by the parts `f` names;
/// `None` when `s` does not follow `f`.
fn str_to_date(s: &str, f: &str) -> Option<Datum> {
    let b = s.as_bytes();
    let mut i = 0;
    let (mut y, mut mo, mut d) = (0i64, 0i64, 0i64);
    let (mut h, mut mi, mut sec, mut us) = (0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let mut doy: Option<i64> = None;
    let (mut has_date, mut has_time) = (false, false);
    let digits = |i: &mut usize, max: usize| -> Option<(i64, usize)> {
        let start = *i;
        while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
            *i += 1;
        }
        (*i > start).then(|| (s[start..*i].parse().unwrap_or(0), *i - start))
    };
    let name = |i: &mut usize, names: &[&str], short: bool| -> Option<i64> {
        for (k, n) in names.iter().enumerate() {
            let n = if short { &n[..3] } else { n };
            if b.len() >= *i + n.len() && s[*i..*i + n.len()].eq_ignore_ascii_case(n) {
                *i += n.len();
                return Some(k as i64);
            }
        }
        None
    };
    let mut fi = f.chars();
    while let Some(c) = fi.next() {
        if c.is_ascii_whitespace() {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            continue;
        }
        if c != '%' {
            if !s.is_char_boundary(i) || !s[i..].starts_with(c) {
                return None;
            }
            i += c.len_utf8();
            continue;
        }
        let spec = fi.next()?;
        match spec {
            'Y' => {
                let (v, n) = digits(&mut i, 4)?;
                y = if n <= 2 { two_digit_year(v) } else { v };
                has_date = true;
            }
            'y' => {
                y = two_digit_year(digits(&mut i, 2)?.0);
                has_date = true;
            }
            'm' | 'c' => {
                mo = digits(&mut i, 2)?.0;
                has_date = true;
            }
            'd' | 'e' => {
                d = digits(&mut i, 2)?.0;
                has_date = true;
            }
            'j' => {
                doy = Some(digits(&mut i, 3)?.0);
                has_date = true;
            }
            'M' => {
                mo = name(&mut i, &MONTH_NAMES, false)? + 1;
                has_date = true;
            }
            'b' => {
                mo = name(&mut i, &MONTH_NAMES, true)? + 1;
                has_date = true;
            }
            'W' => {
                name(&mut i, &DAY_NAMES, false)?;
            }
            'a' => {
                name(&mut i, &DAY_NAMES, true)?;
            }
            'H' | 'k' | 'h' | 'I' | 'l' => {
                h = digits(&mut i, 2)?.0;
                has_time = true;
            }
            'i' => {
                mi = digits(&mut i, 2)?.0;
                has_time = true;
            }
            'S' | 's' => {
                sec = digits(&mut i, 2)?.0;
                has_time = true;
            }
            'f' => {
                let (v, n) = digits(&mut i, 6)?;
                us = v * 10i64.pow(6 - n as u32);
                has_time = true;
            }
            'p' => {
                pm = Some(name(&mut i, &["AM", "PM"], false)? == 1);
                has_time = true;
            }
            'T' => {
                h = digits(&mut i, 2)?.0;
                (b.get(i) == Some(&b':')).then_some(())?;
                i += 1;
                mi = digits(&mut i, 2)?.0;
                (b.get(i) == Some(&b':')).then_some(())?;
                i += 1;
                sec = digits(&mut i, 2)?.0;
                has_time = true;
            }
            '%' => {
                (b.get(i) == Some(&b'%')).then_some(())?;
                i += 1;
            }
            _ => return None,
        }
    }
    if let Some(p) = pm {
        if !(1..=12).contains(&h) {
            return None;
        }
        h = h % 12 + if p { 12 } else { 0 };
    }
    if let Some(n) = doy {
        if !(1..=366).contains(&n) {
            return None;
        }
        let x = date_of_day_number(days_from_civil(y, 1, 1) + n - 1)?;
        (mo, d) = (i64::from(x.month), i64::from(x.day));
    }
    if h > 23 || mi > 59 || sec > 59 || !(0..=9999).contains(&y) || mo > 12 {
        return None;
    }
    if mo >= 1 && d > i64::from(days_in_month(y, mo as u32)) {
        return None;
    }
    let date = Date {
        year: y as u16,
        month: mo as u8,
        day: d as u8,
    };
    let dt = DateTime {
        date,
        hour: h as u8,
        minute: mi as u8,
        second: sec as u8,
        micro: us as u32,
    };
    Some(match (has_date, has_time) {
        (true, false) => Datum::Date(date),
        (false, true) => Datum::Time(((h * 60 + mi) * 60 + sec) * 1_000_000 + us),
        _ => Datum::DateTime(dt),
    })
}

fn two_digit_year(v: i64) -> i64 {
    if v < 70 {
        v + 2000
    } else if v < 100 {
        v + 1900
    } else {
        v
    }
}

/// The microseconds of one `unit` (`None` for months and longer).
fn unit_us(unit: &str) -> Option<i64> {
    Some(match unit {
        "MICROSECOND" => 1,
        "SECOND" => 1_000_000,
        "MINUTE" => 60_000_000,
        "HOUR" => 3_600_000_000,
        "DAY" => US_PER_DAY,
        "WEEK" => 7 * US_PER_DAY,
        _ => return None,
    })
}

/// `TIMESTAMPDIFF(unit, a, b)`: whole units from `a` to `b`, toward zero.
pub(crate) fn timestampdiff(unit: &str, a: &Datum, b: &Datum) -> Result<Datum> {
    let (Some(x), Some(y)) = (datetime_of(a), datetime_of(b)) else {
        return Ok(Datum::Null);
    };
    let (ux, uy) = (datetime_to_micros(&x), datetime_to_micros(&y));
    if let Some(per) = unit_us(unit) {
        return Ok(Datum::Int((uy - ux) / per));
    }
    let per = match unit {
        "MONTH" => 1,
        "QUARTER" => 3,
        "YEAR" => 12,
        other => return Err(Error::unsupported(format!("TIMESTAMPDIFF unit {other}"))),
    };
    let months = |dt: &DateTime| i64::from(dt.date.year) * 12 + i64::from(dt.date.month);
    // The rest of each instant past its month's start.
    let rest = |dt: &DateTime, us: i64| (dt.date.day, us.rem_euclid(US_PER_DAY));
    let mut m = months(&y) - months(&x);
    if m > 0 && rest(&y, uy) < rest(&x, ux) {
        m -= 1;
    } else if m < 0 && rest(&y, uy) > rest(&x, ux) {
        m += 1;
    }
    Ok(Datum::Int(m / per))
}

/// `TIMESTAMPADD(unit, n, d)`.
pub(crate) fn timestampadd(unit: &str, n: &Datum, d: &Datum) -> Result<Datum> {
    let iv = functions::interval(n, unit)?;
    Ok(functions::add_interval(d, iv, 1))
}

/// `EXTRACT(unit FROM v)`, `unit` simple (`YEAR` … `MICROSECOND`, `WEEK`)
/// or compound (`HOUR_MINUTE`: hours × 100 + minutes, …).
pub(crate) fn extract(unit: &str, v: &Datum) -> Result<Datum> {
    // The operand's date (none for a TIME) and signed time of day.
    let (date, time) = match v {
        Datum::Null => return Ok(Datum::Null),
        Datum::Time(t) => (None, *t),
        _ => match time_of(v) {
            Some((us, true)) => {
                let dt = timestamp_to_datetime_any(us);
                (Some(dt.date), us.rem_euclid(US_PER_DAY))
            }
            Some((t, false)) => (None, t),
            None => return Ok(Datum::Null),
        },
    };
    let sign = if time < 0 { -1 } else { 1 };
    let a = time.unsigned_abs() as i64;
    let secs = a / 1_000_000;
    let (day_of_time, hour) = (secs / 86_400, secs / 3600 % 24);
    let (minute, second, micro) = (secs / 60 % 60, secs % 60, a % 1_000_000);
    let (y, mo, d) = match &date {
        Some(x) => (i64::from(x.year), i64::from(x.month), i64::from(x.day)),
        None => (0, 0, day_of_time),
    };
    let part = |p: &str| -> i64 {
        match p {
            "YEAR" => y,
            "MONTH" => mo,
            "DAY" => d,
            "HOUR" => hour,
            "MINUTE" => minute,
            "SECOND" => second,
            _ => micro,
        }
    };
    let fields: &[&str] = match unit {
        "QUARTER" => return Ok(Datum::Int((mo + 2) / 3)),
        "WEEK" => {
            return Ok(match date {
                Some(x) if x.month != 0 && x.day != 0 => Datum::Int(calc_week(&x, week_mode(0)).0),
                _ => Datum::Null,
            });
        }
        "YEAR" | "MONTH" | "DAY" => return Ok(Datum::Int(part(unit))),
        "HOUR" | "MINUTE" | "SECOND" | "MICROSECOND" => return Ok(Datum::Int(sign * part(unit))),
        "YEAR_MONTH" => &["YEAR", "MONTH"],
        "DAY_HOUR" => &["DAY", "HOUR"],
        "DAY_MINUTE" => &["DAY", "HOUR", "MINUTE"],
        "DAY_SECOND" => &["DAY", "HOUR", "MINUTE", "SECOND"],
        "DAY_MICROSECOND" => &["DAY", "HOUR", "MINUTE", "SECOND", "MICROSECOND"],
        "HOUR_MINUTE" => &["HOUR", "MINUTE"],
        "HOUR_SECOND" => &["HOUR", "MINUTE", "SECOND"],
        "HOUR_MICROSECOND" => &["HOUR", "MINUTE", "SECOND", "MICROSECOND"],
        "MINUTE_SECOND" => &["MINUTE", "SECOND"],
        "MINUTE_MICROSECOND" => &["MINUTE", "SECOND", "MICROSECOND"],
        "SECOND_MICROSECOND" => &["SECOND", "MICROSECOND"],
        other => return Err(Error::unsupported(format!("EXTRACT unit {other}"))),
    };
    let v = fields.iter().fold(0i64, |acc, p| {
        let scale = if *p == "MICROSECOND" { 1_000_000 } else { 100 };
        acc * scale + part(p)
    });
    Ok(Datum::Int(if unit == "YEAR_MONTH" { v } else { sign * v }))
}
