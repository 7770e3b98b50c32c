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

use crate::rd::be_uint;
use replog_core::value::{Date, DateTime};

/// Bytes of the fractional part for a given fsp (0..=6).
#[inline]
pub fn frac_bytes(fsp: u8) -> usize {
    usize::from(fsp.min(6)).div_ceil(2)
}

/// Reads a big-endian signed integer of `n` bytes.
#[inline]
fn be_int(b: &[u8]) -> i64 {
    let n = b.len();
    let v = be_uint(b) as i64;
    let shift = 64 - 8 * n as u32;
    (v << shift) >> shift
}

/// Fraction in microseconds from the fraction bytes (signed as MySQL reads
/// them).
#[inline]
fn frac_micros(f: &[u8]) -> i64 {
    match f.len() {
        0 => 0,
        1 => be_int(f) * 10_000,
        2 => be_int(f) * 100,
        _ => be_int(f),
    }
}

/// DATETIME2: 5 bytes + fraction. Returns `None` on a bad length.
pub fn datetime2(b: &[u8], fsp: u8) -> Option<DateTime> {
    if b.len() != 5 + frac_bytes(fsp) {
        return None;
    }
    let intpart = be_uint(&b[..5]) as i64 - 0x80_0000_0000;
    let frac = frac_micros(&b[5..]);
    // Packed as (intpart << 24) + frac, as MySQL does; negative datetimes do
    // not exist, so take the magnitude.
    let packed = (intpart << 24) + frac;
    let packed = packed.unsigned_abs();
    let micro = (packed % (1 << 24)) as u32;
    let ymdhms = packed >> 24;
    let ymd = ymdhms >> 17;
    let ym = ymd >> 5;
    let hms = ymdhms % (1 << 17);
    Some(DateTime {
        date: Date {
            year: (ym / 13).min(u64::from(u16::MAX)) as u16,
            month: (ym % 13) as u8,
            day: (ymd % 32) as u8,
        },
        hour: (hms >> 12) as u8,
        minute: ((hms >> 6) % 64) as u8,
        second: (hms % 64) as u8,
        micro,
    })
}

/// TIME2: 3 bytes + fraction, as signed microseconds.
pub fn time2(b: &[u8], fsp: u8) -> Option<i64> {
    let fb = frac_bytes(fsp);
    if b.len() != 3 + fb {
        return None;
    }
    let packed: i64 = match fb {
        0 => (be_uint(&b[..3]) as i64 - 0x80_0000) << 24,
        1 => {
            let mut intpart = be_uint(&b[..3]) as i64 - 0x80_0000;
            let mut frac = i64::from(b[3]);
            if intpart < 0 && frac != 0 {
                intpart += 1;
                frac -= 0x100;
            }
            (intpart << 24) + frac * 10_000
        }
        2 => {
            let mut intpart = be_uint(&b[..3]) as i64 - 0x80_0000;
            let mut frac = be_uint(&b[3..5]) as i64;
            if intpart < 0 && frac != 0 {
                intpart += 1;
                frac -= 0x10000;
            }
            (intpart << 24) + frac * 100
        }
        _ => be_uint(&b[..6]) as i64 - 0x8000_0000_0000,
    };
    let neg = packed < 0;
    let p = packed.unsigned_abs();
    let frac = (p % (1 << 24)) as i64;
    let hms = p >> 24;
    let hour = ((hms >> 12) % (1 << 10)) as i64;
    let minute = ((hms >> 6) % 64) as i64;
    let second = (hms % 64) as i64;
    let us = ((hour * 60 + minute) * 60 + second) * 1_000_000 + frac;
    Some(if neg { -us } else { us })
}

/// TIMESTAMP2: 4 bytes + fraction, as microseconds since the epoch.
pub fn timestamp2(b: &[u8], fsp: u8) -> Option<i64> {
    if b.len() != 4 + frac_bytes(fsp) {
        return None;
    }
    let secs = be_uint(&b[..4]) as i64;
    let frac = be_uint(&b[4..]) as i64;
    let frac = match b.len() - 4 {
        0 => 0,
        1 => frac * 10_000,
        2 => frac * 100,
        _ => frac,
    };
    Some(secs * 1_000_000 + frac)
}

/// DATE / NEWDATE: 3 bytes little-endian, `day | month << 5 | year << 9`.
pub fn date3(v: u32) -> Date {
    Date {
        year: (v >> 9) as u16,
        month: ((v >> 5) & 15) as u8,
        day: (v & 31) as u8,
    }
}

/// Old DATETIME: u64 `YYYYMMDDhhmmss` as a decimal number.
pub fn datetime_old(v: u64) -> DateTime {
    let d = v / 1_000_000;
    let t = v % 1_000_000;
    DateTime {
        date: Date {
            year: (d / 10_000).min(9999) as u16,
            month: ((d / 100) % 100) as u8,
            day: (d % 100) as u8,
        },
        hour: (t / 10_000) as u8,
        minute: ((t / 100) % 100) as u8,
        second: (t % 100) as u8,
        micro: 0,
    }
}

/// Old TIME: signed 3-byte `HHMMSS` decimal number, as microseconds.
pub fn time_old(v: i32) -> i64 {
    let neg = v < 0;
    let a = i64::from(v.unsigned_abs());
    let us = ((a / 10_000) * 3600 + ((a / 100) % 100) * 60 + a % 100) * 1_000_000;
    if neg { -us } else { us }
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
        assert!(datetime2(&b2, 6).is_none());
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
        assert_eq!(date3((2024 << 9) | (2 << 5) | 29).year, 2024);
        assert_eq!(
            datetime_old(20_240_229_235_959).to_string(),
            "2024-02-29 23:59:59"
        );
        assert_eq!(time_old(-123456), -((12 * 3600 + 34 * 60 + 56) * 1_000_000));
    }
}
