//! Temporal column encodings (MySQL `sql-common/my_time.cc`,
//! `mysys/my_time.c`: `my_datetime_packed_from_binary`,
//! `my_time_packed_from_binary`, `my_timestamp_from_binary`).
//!
//! The "2" types (MySQL 5.6.4+) are big-endian with a fractional part of
//! `(fsp + 1) / 2` bytes:
//!
//! - TIMESTAMP2: u32 seconds since the epoch, then the fraction.
//! - DATETIME2: 40 bits = `0x8000000000` + (1 sign bit, 17 bits
//!   year*13+month, 5 bits day, 5 bits hour, 6 bits minute, 6 bits second),
//!   then the fraction (signed).
//! - TIME2: 24 bits = `0x800000` + (1 sign, 1 unused, 10 bits hour, 6 minute,
//!   6 second), then the fraction; fsp 5-6 store the whole 48 bits with the
//!   offset `0x800000000000`.
//!
//! Every decoder checks each field against the range a server can write
//! (zero dates and zero parts are allowed, as MariaDB and MySQL write them
//! without `NO_ZERO_DATE`) and returns [`OutOfRange`] otherwise; the caller
//! adds the absolute offset. Nothing here can overflow: fields are taken
//! apart with shifts and masks of unsigned values, never packed into a
//! wider signed integer first.

use crate::rd::be_uint;
use replog_core::value::{Date, DateTime};
use std::fmt;

/// A field of a temporal value outside the range any server writes (or an
/// image of the wrong length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange {
    /// The field: `year`, `month`, `hour`, `fraction`, ...
    pub field: &'static str,
    /// The value read.
    pub value: i64,
    /// The largest value allowed.
    pub max: i64,
}

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field == "length" {
            return write!(f, "{} bytes, {} expected", self.value, self.max);
        }
        if self.value < 0 {
            return write!(f, "{} is negative ({})", self.field, self.value);
        }
        write!(
            f,
            "{} {} out of range (at most {})",
            self.field, self.value, self.max
        )
    }
}

/// The result of a temporal decoder.
pub type Decoded<T> = std::result::Result<T, OutOfRange>;

#[inline]
fn check(field: &'static str, value: i64, max: i64) -> Decoded<()> {
    if (0..=max).contains(&value) {
        Ok(())
    } else {
        Err(OutOfRange { field, value, max })
    }
}

#[inline]
fn check_len(b: &[u8], want: usize) -> Decoded<()> {
    if b.len() == want {
        Ok(())
    } else {
        Err(OutOfRange {
            field: "length",
            value: b.len() as i64,
            max: want as i64,
        })
    }
}

/// Bytes of the fractional part for a given fsp (0..=6).
#[inline]
pub fn frac_bytes(fsp: u8) -> usize {
    usize::from(fsp.min(6)).div_ceil(2)
}

/// Reads a big-endian signed integer of `n` (1..=8) bytes.
#[inline]
fn be_int(b: &[u8]) -> i64 {
    let n = b.len().clamp(1, 8);
    let v = be_uint(b) as i64;
    let shift = 64 - 8 * n as u32;
    (v << shift) >> shift
}

/// Fraction in microseconds from non-negative fraction bytes: 1 byte holds
/// hundredths (0..=99), 2 bytes ten-thousandths (0..=9999), 3 bytes
/// microseconds (0..=999999). `signed` reads the bytes as MySQL does for
/// DATETIME2 (a negative fraction is out of range there).
#[inline]
fn frac_micros(f: &[u8], signed: bool) -> Decoded<u32> {
    let v = if signed { be_int(f) } else { be_uint(f) as i64 };
    let (max, scale) = match f.len() {
        0 => return Ok(0),
        1 => (99, 10_000),
        2 => (9_999, 100),
        _ => (999_999, 1),
    };
    check("fraction", v, max)?;
    Ok((v * scale) as u32)
}

/// Checks the fields of a date (year 0..=9999, month 0..=12, day 0..=31).
fn check_date(year: u64, month: u64, day: u64) -> Decoded<Date> {
    check("year", year.min(i64::MAX as u64) as i64, 9999)?;
    check("month", month as i64, 12)?;
    check("day", day as i64, 31)?;
    Ok(Date {
        year: year as u16,
        month: month as u8,
        day: day as u8,
    })
}

/// Checks hour (0..=`max_hour`), minute and second (0..=59).
fn check_hms(hour: u64, minute: u64, second: u64, max_hour: i64) -> Decoded<()> {
    check("hour", hour.min(i64::MAX as u64) as i64, max_hour)?;
    check("minute", minute as i64, 59)?;
    check("second", second as i64, 59)
}

/// DATETIME2: 5 bytes + fraction.
pub fn datetime2(b: &[u8], fsp: u8) -> Decoded<DateTime> {
    check_len(b, 5 + frac_bytes(fsp))?;
    let raw = be_uint(&b[..5]);
    // The sign bit is set for every datetime a server writes: negative
    // datetimes do not exist.
    let Some(ymdhms) = raw.checked_sub(0x80_0000_0000) else {
        return Err(OutOfRange {
            field: "datetime",
            value: raw as i64 - 0x80_0000_0000,
            max: 0,
        });
    };
    let micro = frac_micros(&b[5..], true)?;
    let ymd = ymdhms >> 17;
    let ym = ymd >> 5;
    let hms = ymdhms & 0x1_ffff;
    let date = check_date(ym / 13, ym % 13, ymd & 31)?;
    datetime_at(date, (hms >> 12, (hms >> 6) & 63, hms & 63), micro)
}

/// A DATETIME on `date` at `hms` (hour, minute, second), each field checked.
fn datetime_at(
    date: Date,
    (hour, minute, second): (u64, u64, u64),
    micro: u32,
) -> Decoded<DateTime> {
    check_hms(hour, minute, second, 23)?;
    Ok(DateTime {
        date,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        micro,
    })
}

/// TIME2: 3 bytes + fraction, as signed microseconds (at most
/// 838:59:59.999999 either way).
pub fn time2(b: &[u8], fsp: u8) -> Decoded<i64> {
    let fb = frac_bytes(fsp);
    check_len(b, 3 + fb)?;
    // (negative, magnitude of the integer part, magnitude of the fraction
    // in units of the stored precision).
    let (neg, hms, frac_us) = if fb == 3 {
        let v = be_uint(&b[..6]) as i64 - 0x8000_0000_0000;
        let m = v.unsigned_abs();
        let frac = (m & 0xff_ffff) as i64;
        check("fraction", frac, 999_999)?;
        (v < 0, m >> 24, frac)
    } else {
        let ip = be_uint(&b[..3]) as i64 - 0x80_0000;
        let raw = be_uint(&b[3..]) as i64;
        let (unit, max, scale) = match fb {
            0 => (1, 0, 0),
            1 => (0x100, 99, 10_000),
            _ => (0x1_0000, 9_999, 100),
        };
        // A negative value stores floor(integer part) and the fraction
        // borrowed from it (MySQL `my_time_packed_from_binary`).
        let (neg, ip_mag, frac) = match (ip < 0, raw != 0) {
            (true, true) => (true, -(ip + 1), unit - raw),
            (true, false) => (true, -ip, 0),
            (false, _) => (false, ip, raw),
        };
        check("fraction", frac, max)?;
        (neg, ip_mag as u64, frac * scale)
    };
    let (hour, minute, second) = (hms >> 12, (hms >> 6) & 63, hms & 63);
    check_hms(hour, minute, second, 838)?;
    let us = ((hour as i64 * 60 + minute as i64) * 60 + second as i64) * 1_000_000 + frac_us;
    Ok(if neg { -us } else { us })
}

/// TIMESTAMP2: 4 bytes + fraction, as microseconds since the epoch.
pub fn timestamp2(b: &[u8], fsp: u8) -> Decoded<i64> {
    check_len(b, 4 + frac_bytes(fsp))?;
    let secs = be_uint(&b[..4]) as i64;
    let frac = frac_micros(&b[4..], false)?;
    Ok(secs * 1_000_000 + i64::from(frac))
}

/// DATE / NEWDATE: 3 bytes little-endian, `day | month << 5 | year << 9`.
pub fn date3(v: u32) -> Decoded<Date> {
    check_date(
        u64::from(v >> 9),
        u64::from((v >> 5) & 15),
        u64::from(v & 31),
    )
}

/// Old DATETIME: u64 `YYYYMMDDhhmmss` as a decimal number.
pub fn datetime_old(v: u64) -> Decoded<DateTime> {
    let d = v / 1_000_000;
    let t = v % 1_000_000;
    let date = check_date(d / 10_000, (d / 100) % 100, d % 100)?;
    datetime_at(date, (t / 10_000, (t / 100) % 100, t % 100), 0)
}

/// Old TIME: signed 3-byte `HHMMSS` decimal number, as microseconds.
pub fn time_old(v: i32) -> Decoded<i64> {
    let a = u64::from(v.unsigned_abs());
    let (hour, minute, second) = (a / 10_000, (a / 100) % 100, a % 100);
    check_hms(hour, minute, second, 838)?;
    let us = ((hour * 60 + minute) * 60 + second) as i64 * 1_000_000;
    Ok(if v < 0 { -us } else { us })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime2_with_fsp() {
        // 2023-07-14 15:16:17.123456, fsp 6.
        // ym = 2023*13+7 = 26306; ymd = ym<<5 | 14; hms = 15<<12 | 16<<6 | 17
        let ymd: u64 = (26306 << 5) | 14;
        let hms: u64 = (15 << 12) | (16 << 6) | 17;
        let v = ((ymd << 17) | hms) + 0x80_0000_0000;
        let mut b = v.to_be_bytes()[3..].to_vec();
        b.extend_from_slice(&[0x01, 0xe2, 0x40]); // 123456
        let dt = datetime2(&b, 6).unwrap();
        assert_eq!(dt.to_string(), "2023-07-14 15:16:17.123456");
        // Same with fsp 2: .12 stored as one byte 12.
        let mut b2 = v.to_be_bytes()[3..].to_vec();
        b2.push(12);
        assert_eq!(datetime2(&b2, 2).unwrap().micro, 120_000);
        assert!(datetime2(&b2, 6).is_err());
    }

    #[test]
    #[rustfmt::skip]
    fn datetime2_annotated() {
        // 2010-10-10 10:10:10, fsp 0
        let b = [
            0x99, 0x87, 0x14, 0xa2, 0x8a, // 0x80_0000_0000 + (ym 26140 <<22 | day 10 <<17 | 10:10:10)
        ];
        let dt = datetime2(&b, 0).unwrap();
        assert_eq!(dt.to_string(), "2010-10-10 10:10:10");
    }

    #[test]
    fn time2_negative() {
        // -00:00:01.50 with fsp 1: MySQL stores floor(packed >> 24) = -2
        // and the truncated remainder -50 (hundredths) as a byte; the reader
        // borrows one second back when the integer part is negative.
        #[rustfmt::skip]
        let b = [
            0x7f, 0xff, 0xfe, // 0x800000 - 2
            0xce,             // (signed) -50 => .50 with a borrow
        ];
        assert_eq!(time2(&b, 1).unwrap(), -1_500_000);
        // 838:59:59 with fsp 0
        let v: u32 = 0x80_0000 + ((838 << 12) | (59 << 6) | 59);
        let b = &v.to_be_bytes()[1..];
        assert_eq!(
            time2(b, 0).unwrap(),
            (838 * 3600 + 59 * 60 + 59) * 1_000_000
        );
        // -12:34:56 fsp 0
        let v: i64 = 0x80_0000 - ((12 << 12) | (34 << 6) | 56);
        let b = &(v as u32).to_be_bytes()[1..];
        assert_eq!(
            time2(b, 0).unwrap(),
            -((12 * 3600 + 34 * 60 + 56) * 1_000_000)
        );
    }

    #[test]
    fn time2_fsp6() {
        // 01:02:03.000004 fsp 6: 48-bit (hms<<24 | frac) + 0x800000000000
        let hms: u64 = (1 << 12) | (2 << 6) | 3;
        let v = ((hms << 24) | 4) + 0x8000_0000_0000;
        let b = &v.to_be_bytes()[2..];
        assert_eq!(time2(b, 6).unwrap(), 3_723_000_004);
    }

    #[test]
    fn timestamp2_and_old_types() {
        let b = [0x00, 0x00, 0x00, 0x01, 0x04, 0xd2]; // 1 s + .1234 (fsp 4 => *100)
        assert_eq!(timestamp2(&b, 4).unwrap(), 1_123_400);
        assert_eq!(date3((2024 << 9) | (2 << 5) | 29).unwrap().year, 2024);
        assert_eq!(
            datetime_old(20_240_229_235_959).unwrap().to_string(),
            "2024-02-29 23:59:59"
        );
        assert_eq!(
            time_old(-123456).unwrap(),
            -((12 * 3600 + 34 * 60 + 56) * 1_000_000)
        );
    }

    /// The `binlog_rows` fuzz target's first find: `(intpart << 24) + frac`
    /// overflowed (a debug build panicked, a release build printed
    /// `10082-05-31 31:63:30`). Every field is now checked instead.
    #[test]
    fn datetime2_out_of_range_fields_are_rejected() {
        let e = datetime2(&[0xff; 5], 0).unwrap_err();
        assert_eq!(e.field, "year");
        assert!(e.value > 9999, "{e}");
        // 10082-05-31 31:63:30, as the overflowing decoder printed it.
        let ym: u64 = 10082 * 13 + 5;
        let v = (((ym << 5 | 31) << 17) | (31 << 12) | (63 << 6) | 30) + 0x80_0000_0000;
        let b = &v.to_be_bytes()[3..];
        assert_eq!(datetime2(b, 0).unwrap_err().field, "year");
        // Each field on its own.
        let field = |ym: u64, d: u64, h: u64, mi: u64, s: u64| {
            let v = (((ym << 5 | d) << 17) | (h << 12) | (mi << 6) | s) + 0x80_0000_0000;
            datetime2(&v.to_be_bytes()[3..], 0).map_err(|e| e.field)
        };
        assert_eq!(
            field(2024 * 13 + 12, 1, 0, 0, 0).map(|d| d.date.month),
            Ok(12)
        );
        assert_eq!(field(2024 * 13 + 1, 1, 24, 0, 0), Err("hour"));
        assert_eq!(field(2024 * 13 + 1, 1, 23, 60, 0), Err("minute"));
        assert_eq!(field(2024 * 13 + 1, 1, 23, 59, 60), Err("second"));
        // Zero dates are written by servers and stay readable.
        assert_eq!(
            field(0, 0, 0, 0, 0).unwrap().to_string(),
            "0000-00-00 00:00:00"
        );
        // A negative datetime (sign bit clear) does not exist.
        assert_eq!(datetime2(&[0; 5], 0).unwrap_err().field, "datetime");
        // Fractions beyond the stored precision.
        let ok = (2024 * 13 + 1u64) << 22 | 1 << 17;
        let mut b = (ok + 0x80_0000_0000).to_be_bytes()[3..].to_vec();
        b.push(100); // hundredths: at most 99
        assert_eq!(datetime2(&b, 2).unwrap_err().field, "fraction");
        let mut b = (ok + 0x80_0000_0000).to_be_bytes()[3..].to_vec();
        b.extend_from_slice(&[0x0f, 0x42, 0x40]); // 1_000_000 µs
        assert_eq!(datetime2(&b, 6).unwrap_err().field, "fraction");
    }

    #[test]
    fn time_timestamp_date_out_of_range_fields_are_rejected() {
        // TIME2 hour 839 (the 10-bit field holds up to 1023).
        let v: u32 = 0x80_0000 + (839 << 12);
        assert_eq!(time2(&v.to_be_bytes()[1..], 0).unwrap_err().field, "hour");
        // The unused bit set makes the hour out of range too.
        let v: u32 = 0x80_0000 + (1 << 22);
        assert_eq!(time2(&v.to_be_bytes()[1..], 0).unwrap_err().field, "hour");
        let v: u32 = 0x80_0000 + (1 << 12) + (60 << 6);
        assert_eq!(time2(&v.to_be_bytes()[1..], 0).unwrap_err().field, "minute");
        // 48-bit TIME2 with a fraction of 2^24 - 1 µs.
        let v: u64 = 0x8000_0000_0000 + 0xff_ffff;
        assert_eq!(
            time2(&v.to_be_bytes()[2..], 6).unwrap_err().field,
            "fraction"
        );
        // A negative TIME2 whose borrowed fraction is beyond hundredths.
        assert_eq!(
            time2(&[0x7f, 0xff, 0xff, 0x01], 1).unwrap_err().field,
            "fraction"
        );
        // TIMESTAMP2 fraction of 3 bytes above 999999.
        let b = [0, 0, 0, 1, 0xff, 0xff, 0xff];
        assert_eq!(timestamp2(&b, 6).unwrap_err().field, "fraction");
        // DATE: month 13..15, year above 9999 (15 bits hold 32767).
        assert_eq!(
            date3((2024 << 9) | (13 << 5) | 1).unwrap_err().field,
            "month"
        );
        assert_eq!(date3(10_000 << 9).unwrap_err().field, "year");
        assert_eq!(date3(0).unwrap().to_string(), "0000-00-00");
        // Old DATETIME: 2024-02-30 24:00:00, and a year above 9999.
        assert_eq!(datetime_old(20_240_230_240_000).unwrap_err().field, "hour");
        assert_eq!(datetime_old(u64::MAX).unwrap_err().field, "year");
        // Old TIME: 839:00:00 and 12:61:00.
        assert_eq!(time_old(8_390_000).unwrap_err().field, "hour");
        assert_eq!(time_old(-126_100).unwrap_err().field, "minute");
        assert_eq!(
            time_old(-8_385_959).unwrap(),
            -(838 * 3600 + 59 * 60 + 59) * 1_000_000
        );
        // Wrong lengths.
        assert_eq!(datetime2(&[0x80; 4], 0).unwrap_err().field, "length");
    }
}
