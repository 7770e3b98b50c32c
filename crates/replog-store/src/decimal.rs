//! Exact decimal arithmetic on digit strings, as MySQL's `DECIMAL` does it:
//! never through binary floating point. Rounding is half away from zero
//! (MySQL's `ROUND_HALF_UP` for decimals).

use std::cmp::Ordering;
use std::fmt;

/// Largest precision a DECIMAL column may have (MySQL's limit).
pub const MAX_PRECISION: u32 = 65;
/// Largest scale a DECIMAL column may have.
pub const MAX_SCALE: u32 = 30;
/// Digits added to the scale of a division's result (MySQL's
/// `div_precision_increment` default).
pub const DIV_PRECISION_INCREMENT: u32 = 4;
/// Cap on the digits of an intermediate result, to bound memory.
const MAX_DIGITS: usize = 200;

/// An exact decimal number: `(-1)^neg × digits × 10^-scale`.
///
/// `digits` holds the magnitude most significant digit first, without
/// leading zeros (zero is the empty vector).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    neg: bool,
    digits: Vec<u8>,
    scale: u32,
}

impl Decimal {
    /// Zero with scale 0.
    pub fn zero() -> Decimal {
        Decimal {
            neg: false,
            digits: Vec::new(),
            scale: 0,
        }
    }

    fn normalized(mut self) -> Decimal {
        let lead = self.digits.iter().take_while(|&&d| d == 0).count();
        self.digits.drain(..lead);
        if self.digits.is_empty() {
            self.neg = false;
        }
        self
    }

    /// Parses `[+-]?digits[.digits]` (at least one digit overall); no exponent.
    pub fn parse(s: &str) -> Option<Decimal> {
        let s = s.trim();
        let (neg, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int, frac) = match body.find('.') {
            Some(p) => (&body[..p], &body[p + 1..]),
            None => (body, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        if int.len() + frac.len() > MAX_DIGITS * 2 {
            return None;
        }
        let digits = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let scale = u32::try_from(frac.len()).ok()?;
        Some(Decimal { neg, digits, scale }.normalized())
    }

    /// The exact value of a signed integer.
    pub fn from_i64(v: i64) -> Decimal {
        let mut d = Decimal::from_u64(v.unsigned_abs());
        d.neg = v < 0;
        d.normalized()
    }

    /// The exact value of an unsigned integer.
    pub fn from_u64(v: u64) -> Decimal {
        Decimal {
            neg: false,
            digits: v.to_string().bytes().map(|b| b - b'0').collect(),
            scale: 0,
        }
        .normalized()
    }

    /// The decimal nearest to a double, through its shortest round-trip text
    /// (what MySQL does when a DOUBLE is stored into a DECIMAL).
    pub fn from_f64(v: f64) -> Option<Decimal> {
        if !v.is_finite() {
            return None;
        }
        let s = format!("{v:e}");
        let (mant, exp) = s.split_once('e')?;
        let exp: i64 = exp.parse().ok()?;
        let mut d = Decimal::parse(mant)?;
        // mant has `scale` fractional digits; shift by exp.
        let scale = i64::from(d.scale) - exp;
        if scale >= 0 {
            d.scale = u32::try_from(scale).ok()?;
        } else {
            let zeros = usize::try_from(-scale).ok()?;
            if zeros > MAX_DIGITS * 2 {
                return None;
            }
            if !d.digits.is_empty() {
                d.digits.extend(std::iter::repeat_n(0, zeros));
            }
            d.scale = 0;
        }
        if d.scale > MAX_PRECISION * 8 {
            return Some(Decimal::zero());
        }
        Some(d.normalized())
    }

    /// True when negative (never for zero).
    pub fn is_negative(&self) -> bool {
        self.neg
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Digits after the point.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// Digits before the point (0 for |x| < 1).
    pub fn int_digits(&self) -> usize {
        self.digits.len().saturating_sub(self.scale as usize)
    }

    /// The value rounded half away from zero to `scale` fractional digits.
    pub fn round_to(&self, scale: u32) -> Decimal {
        if scale >= self.scale {
            let extra = (scale - self.scale) as usize;
            let mut digits = self.digits.clone();
            if !digits.is_empty() {
                digits.extend(std::iter::repeat_n(0, extra));
            }
            return Decimal {
                neg: self.neg,
                digits,
                scale,
            };
        }
        let drop = (self.scale - scale) as usize;
        if drop > self.digits.len() {
            return Decimal {
                neg: false,
                digits: Vec::new(),
                scale,
            };
        }
        let keep = self.digits.len() - drop;
        let round_up = self.digits[keep] >= 5;
        let mut digits = self.digits[..keep].to_vec();
        if round_up {
            add_one(&mut digits);
        }
        Decimal {
            neg: self.neg,
            digits,
            scale,
        }
        .normalized()
    }

    /// The value truncated toward zero to `scale` fractional digits.
    pub fn truncate_to(&self, scale: u32) -> Decimal {
        if scale >= self.scale {
            return self.round_to(scale);
        }
        let drop = (self.scale - scale) as usize;
        let keep = self.digits.len().saturating_sub(drop);
        Decimal {
            neg: self.neg,
            digits: self.digits[..keep].to_vec(),
            scale,
        }
        .normalized()
    }

    /// Negation.
    pub fn neg(&self) -> Decimal {
        Decimal {
            neg: !self.neg,
            digits: self.digits.clone(),
            scale: self.scale,
        }
        .normalized()
    }

    /// Absolute value.
    pub fn abs(&self) -> Decimal {
        Decimal {
            neg: false,
            ..self.clone()
        }
    }

    fn aligned(&self, scale: u32) -> Vec<u8> {
        let mut d = self.digits.clone();
        d.extend(std::iter::repeat_n(0, (scale - self.scale) as usize));
        d
    }

    /// Exact sum; `None` when the result would be unreasonably long.
    pub fn add(&self, other: &Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.aligned(scale), other.aligned(scale));
        let (neg, digits) = if self.neg == other.neg {
            (self.neg, add_mag(&a, &b))
        } else {
            match cmp_mag(&a, &b) {
                Ordering::Less => (other.neg, sub_mag(&b, &a)),
                _ => (self.neg, sub_mag(&a, &b)),
            }
        };
        check_len(Decimal { neg, digits, scale }.normalized())
    }

    /// Exact difference.
    pub fn sub(&self, other: &Decimal) -> Option<Decimal> {
        self.add(&other.neg())
    }

    /// Exact product (scale is the sum of the scales, capped at 30 by
    /// rounding as MySQL does).
    pub fn mul(&self, other: &Decimal) -> Option<Decimal> {
        let mut out = vec![0u32; self.digits.len() + other.digits.len()];
        for (i, &x) in self.digits.iter().enumerate().rev() {
            for (j, &y) in other.digits.iter().enumerate().rev() {
                out[i + j + 1] += u32::from(x) * u32::from(y);
            }
        }
        for k in (1..out.len()).rev() {
            let carry = out[k] / 10;
            out[k] %= 10;
            out[k - 1] += carry;
        }
        let digits = out.into_iter().map(|d| d as u8).collect();
        let d = Decimal {
            neg: self.neg != other.neg,
            digits,
            scale: self.scale + other.scale,
        }
        .normalized();
        let d = if d.scale > MAX_SCALE {
            d.round_to(MAX_SCALE)
        } else {
            d
        };
        check_len(d)
    }

    /// Quotient rounded half away from zero to `scale` digits; `None` on
    /// division by zero.
    pub fn div(&self, other: &Decimal, scale: u32) -> Option<Decimal> {
        if other.is_zero() {
            return None;
        }
        // Compute floor(|a| * 10^(scale+1+b.scale-a.scale) / |b|) then round.
        let shift = i64::from(scale) + 1 + i64::from(other.scale) - i64::from(self.scale);
        let mut num = self.digits.clone();
        let mut den = other.digits.clone();
        if shift >= 0 {
            num.extend(std::iter::repeat_n(0, usize::try_from(shift).ok()?));
        } else {
            den.extend(std::iter::repeat_n(0, usize::try_from(-shift).ok()?));
        }
        if num.len() > MAX_DIGITS * 2 {
            return None;
        }
        let (q, _) = divmod_mag(&num, &den);
        let d = Decimal {
            neg: self.neg != other.neg,
            digits: q,
            scale: scale + 1,
        }
        .normalized();
        check_len(d.round_to(scale))
    }

    /// Remainder with the sign of the dividend (MySQL's `MOD`); `None` on
    /// division by zero.
    pub fn rem(&self, other: &Decimal) -> Option<Decimal> {
        if other.is_zero() {
            return None;
        }
        let scale = self.scale.max(other.scale);
        let (_, r) = divmod_mag(&self.aligned(scale), &other.aligned(scale));
        let r = Decimal {
            neg: false,
            digits: r,
            scale,
        }
        .normalized();
        Some(if self.neg { r.neg() } else { r })
    }

    /// Whether the value fits DECIMAL(precision, scale) after rounding to
    /// `scale` (the integer part has at most `precision - scale` digits).
    pub fn fits(&self, precision: u32, scale: u32) -> bool {
        self.round_to(scale).int_digits() <= precision.saturating_sub(scale) as usize
    }

    /// Nearest double (through text, which Rust parses correctly rounded).
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(0.0)
    }

    /// Rounded (half away from zero) to an integer, if it fits i128.
    pub fn to_i128(&self) -> Option<i128> {
        let r = self.round_to(0);
        if r.digits.len() > 38 {
            return None;
        }
        let mut v: i128 = 0;
        for &d in &r.digits {
            v = v.checked_mul(10)?.checked_add(i128::from(d))?;
        }
        Some(if r.neg { -v } else { v })
    }

    /// Numeric comparison.
    pub fn cmp_num(&self, other: &Decimal) -> Ordering {
        match (self.neg, other.neg) {
            (false, true) => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            _ => {}
        }
        let scale = self.scale.max(other.scale);
        let o = cmp_mag(&self.aligned(scale), &other.aligned(scale));
        if self.neg { o.reverse() } else { o }
    }
}

/// Long division of magnitudes: (quotient, remainder).
fn divmod_mag(num: &[u8], den: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut q = Vec::with_capacity(num.len());
    let mut rem: Vec<u8> = Vec::new();
    for &d in num {
        rem.push(d);
        let lead = rem.iter().take_while(|&&x| x == 0).count();
        rem.drain(..lead);
        let mut count = 0u8;
        while cmp_mag(&rem, den) != Ordering::Less {
            rem = sub_mag(&rem, den);
            let lead = rem.iter().take_while(|&&x| x == 0).count();
            rem.drain(..lead);
            count += 1;
        }
        q.push(count);
    }
    (q, rem)
}

fn check_len(d: Decimal) -> Option<Decimal> {
    (d.digits.len() <= MAX_DIGITS).then_some(d)
}

fn add_one(d: &mut Vec<u8>) {
    for x in d.iter_mut().rev() {
        if *x == 9 {
            *x = 0;
        } else {
            *x += 1;
            return;
        }
    }
    d.insert(0, 1);
}

fn cmp_mag(a: &[u8], b: &[u8]) -> Ordering {
    let a = &a[a.iter().take_while(|&&x| x == 0).count()..];
    let b = &b[b.iter().take_while(|&&x| x == 0).count()..];
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn add_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let n = a.len().max(b.len());
    let mut out = vec![0u8; n + 1];
    let mut carry = 0u8;
    for k in 0..n {
        let x = if k < a.len() { a[a.len() - 1 - k] } else { 0 };
        let y = if k < b.len() { b[b.len() - 1 - k] } else { 0 };
        let s = x + y + carry;
        out[n - k] = s % 10;
        carry = s / 10;
    }
    out[0] = carry;
    out
}

/// `a - b` for `a >= b`.
fn sub_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    let mut borrow = 0i8;
    for k in 0..a.len() {
        let y = if k < b.len() {
            b[b.len() - 1 - k] as i8
        } else {
            0
        };
        let idx = a.len() - 1 - k;
        let mut v = out[idx] as i8 - y - borrow;
        if v < 0 {
            v += 10;
            borrow = 1;
        } else {
            borrow = 0;
        }
        out[idx] = v as u8;
    }
    out
}

/// Canonical text: `-?int.frac` with exactly `scale` fractional digits and
/// at least one integer digit.
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = self.scale as usize;
        let mut s = String::with_capacity(self.digits.len() + 3);
        if self.neg {
            s.push('-');
        }
        let n = self.digits.len();
        if n <= scale {
            s.push('0');
        } else {
            s.extend(
                self.digits[..n - scale]
                    .iter()
                    .map(|&d| char::from(b'0' + d)),
            );
        }
        if scale > 0 {
            s.push('.');
            for _ in n..scale {
                s.push('0');
            }
            let start = n.saturating_sub(scale);
            s.extend(self.digits[start..].iter().map(|&d| char::from(b'0' + d)));
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn parse_and_print() {
        assert_eq!(d("123.45").to_string(), "123.45");
        assert_eq!(d("-0.01").to_string(), "-0.01");
        assert_eq!(d(".5").to_string(), "0.5");
        assert_eq!(d("-0.000").to_string(), "0.000");
        assert_eq!(d("007").to_string(), "7");
        assert!(Decimal::parse("1e5").is_none());
        assert!(Decimal::parse("").is_none());
        assert!(Decimal::parse("-").is_none());
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(d("2.5").round_to(0).to_string(), "3");
        assert_eq!(d("-2.5").round_to(0).to_string(), "-3");
        assert_eq!(d("9.995").round_to(2).to_string(), "10.00");
        assert_eq!(d("-0.004").round_to(2).to_string(), "0.00");
        assert_eq!(d("1.5").round_to(3).to_string(), "1.500");
        assert_eq!(d("0.0004").round_to(0).to_string(), "0");
    }

    #[test]
    fn arithmetic() {
        assert_eq!(d("100.00").add(&d("10")).unwrap().to_string(), "110.00");
        assert_eq!(d("1.5").sub(&d("2.25")).unwrap().to_string(), "-0.75");
        assert_eq!(d("-1.5").mul(&d("2.25")).unwrap().to_string(), "-3.375");
        assert_eq!(d("1").div(&d("3"), 4).unwrap().to_string(), "0.3333");
        assert_eq!(d("2").div(&d("3"), 4).unwrap().to_string(), "0.6667");
        assert_eq!(d("-7").rem(&d("3")).unwrap().to_string(), "-1");
        assert_eq!(d("7.5").rem(&d("2")).unwrap().to_string(), "1.5");
        assert!(d("1").div(&Decimal::zero(), 4).is_none());
        let big = d("99999999999999999999999999999999999.999999999999999999999999999999");
        assert_eq!(
            big.add(&d("0.000000000000000000000000000001"))
                .unwrap()
                .to_string(),
            "100000000000000000000000000000000000.000000000000000000000000000000"
        );
    }

    #[test]
    fn fits_and_compare() {
        assert!(d("999.99").fits(5, 2));
        assert!(!d("999.995").fits(5, 2));
        assert!(!d("1000").fits(5, 2));
        assert_eq!(d("-1").cmp_num(&d("0.5")), Ordering::Less);
        assert_eq!(d("1.50").cmp_num(&d("1.5")), Ordering::Equal);
        assert_eq!(d("-2").cmp_num(&d("-10")), Ordering::Greater);
        assert_eq!(Decimal::from_f64(3.125).unwrap().to_string(), "3.125");
        assert_eq!(Decimal::from_f64(1e3).unwrap().to_string(), "1000");
        assert_eq!(
            Decimal::from_i64(i64::MIN).to_string(),
            "-9223372036854775808"
        );
    }
}
