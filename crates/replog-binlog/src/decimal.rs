//! MySQL packed DECIMAL (`decimal2bin` in MySQL `strings/decimal.cc`).
//!
//! The integer part and the fraction are each split into groups of nine
//! decimal digits stored as big-endian 4-byte words; a leftover group of
//! fewer digits uses `DIG2BYTES[n]` bytes (the integer's leftover comes first,
//! the fraction's last). The top bit of the first byte is flipped (set for
//! non-negative values) and every byte of a negative value is inverted, so
//! that the encoding sorts as bytes.

const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// Largest precision MySQL allows.
pub const MAX_PRECISION: u8 = 65;
/// Largest scale MySQL allows.
pub const MAX_SCALE: u8 = 30;

/// Number of bytes a DECIMAL(precision, scale) value occupies.
pub fn decimal_size(precision: u8, scale: u8) -> usize {
    let intg = usize::from(precision.saturating_sub(scale));
    let frac = usize::from(scale);
    (intg / 9) * 4 + DIG2BYTES[intg % 9] + (frac / 9) * 4 + DIG2BYTES[frac % 9]
}

/// Whether (precision, scale) is a layout MySQL can write.
pub fn valid_decimal(precision: u8, scale: u8) -> bool {
    (1..=MAX_PRECISION).contains(&precision) && scale <= MAX_SCALE && scale <= precision
}

/// Decodes a packed decimal of exactly `decimal_size(precision, scale)`
/// bytes into canonical text `-?digits(.digits)?`. Returns `None` when the
/// length is wrong or a group holds a value with too many digits.
pub fn decode_decimal(b: &[u8], precision: u8, scale: u8) -> Option<String> {
    if !valid_decimal(precision, scale) || b.len() != decimal_size(precision, scale) || b.is_empty()
    {
        return None;
    }
    let intg = usize::from(precision - scale);
    let frac = usize::from(scale);
    let negative = b[0] & 0x80 == 0;
    let mask: u8 = if negative { 0xff } else { 0 };
    let byte_at = |i: usize| -> u8 {
        let x = b[i] ^ mask;
        if i == 0 { x ^ 0x80 } else { x }
    };
    let read = |start: usize, n: usize| -> u32 {
        let mut v = 0u32;
        for i in start..start + n {
            v = (v << 8) | u32::from(byte_at(i));
        }
        v
    };
    let mut out = String::with_capacity(precision as usize + 3);
    if negative {
        out.push('-');
    }
    let mut pos = 0usize;
    // Whether a non-zero integer digit has been written (leading zero
    // groups are skipped).
    let mut started = false;
    let lead = intg % 9;
    if lead > 0 {
        let n = DIG2BYTES[lead];
        let v = read(pos, n);
        if v >= 10u32.pow(lead as u32) {
            return None;
        }
        pos += n;
        if v != 0 {
            push_digits(&mut out, v, 0);
            started = true;
        }
    }
    for _ in 0..intg / 9 {
        let v = read(pos, 4);
        if v > 999_999_999 {
            return None;
        }
        pos += 4;
        if started {
            push_digits(&mut out, v, 9);
        } else if v != 0 {
            push_digits(&mut out, v, 0);
            started = true;
        }
    }
    if !started {
        out.push('0');
    }
    if frac > 0 {
        out.push('.');
        for _ in 0..frac / 9 {
            let v = read(pos, 4);
            if v > 999_999_999 {
                return None;
            }
            pos += 4;
            push_digits(&mut out, v, 9);
        }
        let tail = frac % 9;
        if tail > 0 {
            let n = DIG2BYTES[tail];
            let v = read(pos, n);
            if v >= 10u32.pow(tail as u32) {
                return None;
            }
            push_digits(&mut out, v, tail);
        }
    }
    Some(out)
}

/// Appends `v` in decimal, zero-padded to `width` digits, without allocating.
fn push_digits(out: &mut String, mut v: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut i = buf.len();
    while v > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = i.min(buf.len() - width.min(buf.len()));
    for &d in &buf[start..] {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(decimal_size(10, 2), 5);
        assert_eq!(decimal_size(14, 4), 7);
        assert_eq!(decimal_size(65, 30), 30);
    }

    #[test]
    fn positive_value() {
        // DECIMAL(14,4) 1234567890.1234: intg 10 = 1 leftover digit (1 byte)
        // + one 9-digit word; frac 4 digits = 2 bytes.
        #[rustfmt::skip]
        let b = [
            0x81,                   // leftover int digit "1", sign bit flipped
            0x0d, 0xfb, 0x38, 0xd2, // 234567890
            0x04, 0xd2,             // 1234
        ];
        assert_eq!(decode_decimal(&b, 14, 4).unwrap(), "1234567890.1234");
    }

    #[test]
    fn negative_value_is_inverted() {
        // -1234567890.1234: every byte inverted.
        #[rustfmt::skip]
        let b = [
            0x7e,                   // !0x81
            0xf2, 0x04, 0xc7, 0x2d, // !234567890
            0xfb, 0x2d,             // !1234
        ];
        assert_eq!(decode_decimal(&b, 14, 4).unwrap(), "-1234567890.1234");
    }

    #[test]
    fn small_fraction_and_zero() {
        // DECIMAL(5,2) 0.05 -> intg 3 (2 bytes), frac 2 (1 byte)
        #[rustfmt::skip]
        let b = [
            0x80, 0x00, // integer part 0
            0x05,       // fraction "05"
        ];
        assert_eq!(decode_decimal(&b, 5, 2).unwrap(), "0.05");
        // -0.50
        let neg = [0x7f, 0xff, !50u8];
        assert_eq!(decode_decimal(&neg, 5, 2).unwrap(), "-0.50");
    }

    #[test]
    fn rejects_bad_length_and_digits() {
        assert!(decode_decimal(&[0x80], 5, 2).is_none());
        assert!(decode_decimal(&[0x80, 0x00, 0xff], 5, 2).is_none()); // 255 > 99
        assert!(decode_decimal(&[0x80], 0, 0).is_none());
    }
}
