//! pgoutput's binary columns: each type's send form (`typsend`, big-endian)
//! to a replog value.

use crate::text::utf8;
use crate::{TypeError, textout};
use replog_core::value::{Interval, NumericSpecial, Value, pg};
use replog_logical::PgType;
use std::borrow::Cow;

type R<T> = std::result::Result<T, String>;

/// Decodes `b`, the send form of a value of type `ty` in column `column`.
/// Text-like types borrow from `b`.
pub fn parse<'a>(column: &str, ty: &PgType<'_>, b: &'a [u8]) -> Result<Value<'a>, TypeError> {
    parse_inner(ty, b).map_err(|what| TypeError::new(column, ty, what))
}

/// Reads big-endian fixed-size fields from a slice, checking every length.
pub(crate) struct Be<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Be<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Be<'a> {
        Be { b, pos: 0 }
    }
    pub(crate) fn take(&mut self, n: usize, what: &str) -> R<&'a [u8]> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| self.b.get(self.pos..end))
            .ok_or_else(|| {
                format!(
                    "{what}: {n} bytes needed at byte {}, {} left",
                    self.pos,
                    self.b.len().saturating_sub(self.pos)
                )
            })?;
        self.pos += n;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self, what: &str) -> R<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    pub(crate) fn i16(&mut self, what: &str) -> R<i16> {
        Ok(i16::from_be_bytes(self.arr(what)?))
    }
    pub(crate) fn u16(&mut self, what: &str) -> R<u16> {
        Ok(u16::from_be_bytes(self.arr(what)?))
    }
    pub(crate) fn i32(&mut self, what: &str) -> R<i32> {
        Ok(i32::from_be_bytes(self.arr(what)?))
    }
    pub(crate) fn i64(&mut self, what: &str) -> R<i64> {
        Ok(i64::from_be_bytes(self.arr(what)?))
    }
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let r = self.b.get(self.pos..).unwrap_or(&[]);
        self.pos = self.b.len();
        r
    }
    pub(crate) fn end(&self, what: &str) -> R<()> {
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(format!(
                "{} bytes after the {what}",
                self.b.len() - self.pos
            ))
        }
    }
}

fn fixed<const N: usize>(b: &[u8], what: &str) -> R<[u8; N]> {
    b.try_into()
        .map_err(|_| format!("{what}: {} bytes where {N} were expected", b.len()))
}

/// A timestamp's range check (both kinds).
pub(crate) fn ts(t: i64) -> R<i64> {
    if pg::timestamp_ok(t) {
        Ok(t)
    } else {
        Err(format!("timestamp {t} µs is out of PostgreSQL's range"))
    }
}

pub(crate) fn date(d: i32) -> R<i32> {
    if pg::date_ok(d) {
        Ok(d)
    } else {
        Err(format!("date {d} is out of PostgreSQL's range"))
    }
}

pub(crate) fn time(t: i64) -> R<i64> {
    if (0..=pg::TIME_DAY).contains(&t) {
        Ok(t)
    } else {
        Err(format!("time {t} µs is out of range"))
    }
}

/// A timetz from its time and PostgreSQL's zone (seconds **west** of UTC).
pub(crate) fn timetz(t: i64, zone: i32) -> R<Value<'static>> {
    let offset = zone.checked_neg().unwrap_or(i32::MAX);
    if offset.unsigned_abs() > pg::MAX_OFFSET as u32 {
        return Err(format!("time zone {zone} s is out of range"));
    }
    Ok(Value::TimeTz {
        micros: time(t)?,
        offset,
    })
}

/// A numeric's text from its base-10000 digits: `weight` is the power of
/// 10000 of the first digit, `dscale` the digits shown after the point.
pub(crate) fn numeric_text(neg: bool, weight: i16, dscale: u16, digits: &[u16]) -> R<String> {
    if let Some(d) = digits.iter().find(|&&d| d > 9999) {
        return Err(format!("numeric digit {d} is over 9999"));
    }
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    let digit = |i: i32| -> u16 {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0)
    };
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=i32::from(weight) {
            let d = digit(i);
            if i == 0 {
                s.push_str(&d.to_string());
            } else {
                s.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        s.push('.');
        let mut left = usize::from(dscale);
        let mut i = i32::from(weight) + 1;
        while left > 0 {
            let g = format!("{:04}", digit(i));
            let take = left.min(4);
            s.push_str(&g[..take]);
            left -= take;
            i += 1;
        }
    }
    decimal_fits(s.len())?;
    Ok(s)
}

/// Fails when a numeric's text of `len` characters is longer than a
/// decimal value holds ([`replog_core::value::MAX_DECIMAL_LEN`]).
pub(crate) fn decimal_fits(len: usize) -> R<()> {
    if len > replog_core::value::MAX_DECIMAL_LEN {
        return Err(format!(
            "numeric of {len} characters is longer than a decimal value holds ({})",
            replog_core::value::MAX_DECIMAL_LEN
        ));
    }
    Ok(())
}

fn numeric(b: &[u8]) -> R<Value<'static>> {
    let mut c = Be::new(b);
    let ndigits = c.u16("numeric digit count")?;
    let weight = c.i16("numeric weight")?;
    let sign = c.u16("numeric sign")?;
    let dscale = c.u16("numeric scale")?;
    let raw = c.take(usize::from(ndigits) * 2, "numeric digits")?;
    c.end("numeric")?;
    let digits: Vec<u16> = raw
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    Ok(match sign {
        0xC000 => Value::NumericSpecial(NumericSpecial::NaN),
        0xD000 => Value::NumericSpecial(NumericSpecial::PosInfinity),
        0xF000 => Value::NumericSpecial(NumericSpecial::NegInfinity),
        0x0000 | 0x4000 => Value::Decimal(Cow::Owned(numeric_text(
            sign == 0x4000,
            weight,
            dscale & 0x3FFF,
            &digits,
        )?)),
        s => return Err(format!("numeric sign 0x{s:04x}")),
    })
}

fn parse_inner<'a>(ty: &PgType<'_>, b: &'a [u8]) -> R<Value<'a>> {
    Ok(match ty {
        PgType::Int2 => Value::Int(i16::from_be_bytes(fixed(b, "int2")?).into()),
        PgType::Int4 => Value::Int(i32::from_be_bytes(fixed(b, "int4")?).into()),
        PgType::Int8 => Value::Int(i64::from_be_bytes(fixed(b, "int8")?)),
        PgType::Oid => Value::UInt(u32::from_be_bytes(fixed(b, "oid")?).into()),
        PgType::Float4 => Value::F32(f32::from_be_bytes(fixed(b, "float4")?)),
        PgType::Float8 => Value::F64(f64::from_be_bytes(fixed(b, "float8")?)),
        PgType::Bool => match fixed::<1>(b, "bool")?[0] {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            x => return Err(format!("bool byte {x}")),
        },
        PgType::Bytea => Value::Bytes(Cow::Borrowed(b)),
        PgType::Text | PgType::VarChar(_) | PgType::Char(_) | PgType::Xml | PgType::Other(_) => {
            Value::Text(utf8(Cow::Borrowed(b))?)
        }
        PgType::Json => Value::Json(utf8(Cow::Borrowed(b))?),
        PgType::Jsonb => match b.split_first() {
            Some((1, rest)) => Value::Json(utf8(Cow::Borrowed(rest))?),
            _ => return Err("jsonb send form without version byte 1".into()),
        },
        PgType::Enum { labels, .. } => {
            let l = utf8(Cow::Borrowed(b))?;
            if !labels.is_empty() && !labels.contains(&l.as_ref()) {
                return Err(format!("{l:?} is not a label of the enum"));
            }
            Value::Enum(l)
        }
        PgType::Numeric(_) => numeric(b)?,
        PgType::Date => Value::PgDate(date(i32::from_be_bytes(fixed(b, "date")?))?),
        PgType::Time(_) => Value::Time(time(i64::from_be_bytes(fixed(b, "time")?))?),
        PgType::TimeTz(_) => {
            let a: [u8; 12] = fixed(b, "timetz")?;
            let mut c = Be::new(&a);
            timetz(c.i64("time")?, c.i32("zone")?)?
        }
        PgType::Timestamp(_) => Value::PgTimestamp(ts(i64::from_be_bytes(fixed(b, "timestamp")?))?),
        PgType::TimestampTz(_) => {
            Value::PgTimestampTz(ts(i64::from_be_bytes(fixed(b, "timestamptz")?))?)
        }
        PgType::Interval(_) => {
            let a: [u8; 16] = fixed(b, "interval")?;
            let mut c = Be::new(&a);
            let micros = c.i64("time")?;
            let days = c.i32("days")?;
            let months = c.i32("months")?;
            Value::Interval(Interval {
                months,
                days,
                micros,
            })
        }
        PgType::Uuid => Value::Uuid(fixed(b, "uuid")?),
        PgType::Inet | PgType::Cidr => {
            let mut c = Be::new(b);
            let [family, bits, is_cidr, nb] = c.arr::<4>("inet header")?;
            let addr = c.rest();
            if usize::from(nb) != addr.len() || !matches!(family, 2 | 3) || is_cidr > 1 {
                return Err(format!(
                    "inet family {family}, {nb} address bytes of {}",
                    addr.len()
                ));
            }
            textout::inet_value(family, bits, addr, matches!(ty, PgType::Cidr))?
        }
        PgType::MacAddr => Value::Text(Cow::Owned(textout::mac(&fixed::<6>(b, "macaddr")?))),
        PgType::MacAddr8 => Value::Text(Cow::Owned(textout::mac(&fixed::<8>(b, "macaddr8")?))),
        PgType::Money => Value::Text(Cow::Owned(textout::money(i64::from_be_bytes(fixed(
            b, "money",
        )?)))),
        PgType::Bit(_) | PgType::VarBit(_) => {
            let mut c = Be::new(b);
            let n = c.i32("bit length")?;
            let n = usize::try_from(n).map_err(|_| format!("bit length {n}"))?;
            Value::Text(Cow::Owned(textout::bits(n, c.rest())?))
        }
        PgType::Array(elem) => Value::Text(Cow::Owned(array(elem, b)?)),
    })
}

/// `array_send`: i32 ndim, i32 has-nulls flag, u32 element type, (i32
/// length, i32 lower bound) per dimension, then per element an i32 length
/// (-1 for NULL) and its send form.
fn array(elem: &PgType<'_>, b: &[u8]) -> R<String> {
    let mut c = Be::new(b);
    let ndim = c.i32("array dimensions")?;
    if !(0..=6).contains(&ndim) {
        return Err(format!("array with {ndim} dimensions (0 to 6)"));
    }
    let _has_nulls = c.i32("array null flag")?;
    let _elemtype = c.i32("array element type")?;
    let (mut dims, mut lbounds) = (Vec::new(), Vec::new());
    let mut count: u64 = 1;
    for _ in 0..ndim {
        let d = c.i32("array dimension")?;
        lbounds.push(c.i32("array lower bound")?);
        count = count.saturating_mul(u64::try_from(d).map_err(|_| format!("dimension {d}"))?);
        dims.push(d);
    }
    if ndim == 0 {
        count = 0;
    }
    // Each element takes at least its 4-byte length.
    if count > (b.len() / 4) as u64 {
        return Err(format!("array of {count} elements in {} bytes", b.len()));
    }
    let mut elems = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let n = c.i32("element length")?;
        if n < 0 {
            elems.push(None);
            continue;
        }
        let eb = c.take(n as usize, "array element")?;
        let v = parse_inner(elem, eb)?;
        elems.push(Some(crate::to_text(&v)));
    }
    c.end("array")?;
    Ok(textout::array(&dims, &lbounds, &elems))
}
