//! On-disk datums of heap tuples (little-endian builds) to replog values.
//!
//! A datum is what a heap tuple stores for one attribute: fixed-length
//! bytes for `typlen > 0` types, a varlena otherwise. The caller has cut
//! the tuple into datums (alignment, null bitmap) and passes each one's
//! bytes; a varlena stored out of line comes back as
//! [`Datum::External`], to be reassembled from its TOAST chunks and given
//! to [`from_payload`].

use crate::binary::{date, numeric_text, time, timetz, ts};
use crate::text::utf8;
use crate::varlena::{ToastPointer, VarData, var_data, varlena_len};
use crate::{TypeError, textout, type_oid};
use replog_core::value::{Interval, NumericSpecial, Value};
use replog_logical::PgType;
use std::borrow::Cow;
use std::collections::HashMap;

type R<T> = std::result::Result<T, String>;

/// A decoded datum.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum<'a> {
    /// The value.
    Value(Value<'a>),
    /// Stored out of line: fetch the chunks of `valueid` from the TOAST
    /// table, decompress if [`ToastPointer::compressed`], then call
    /// [`from_payload`].
    External(ToastPointer),
}

/// Enum labels by their `pg_enum` OID (what an enum datum stores).
pub trait EnumLabels {
    /// The label of the enum value with this OID.
    fn label(&self, oid: u32) -> Option<&str>;
}

impl EnumLabels for HashMap<u32, String> {
    fn label(&self, oid: u32) -> Option<&str> {
        self.get(&oid).map(String::as_str)
    }
}

impl EnumLabels for Vec<(u32, String)> {
    fn label(&self, oid: u32) -> Option<&str> {
        self.iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, l)| l.as_str())
    }
}

/// No enum labels known: enum datums are errors.
pub struct NoEnums;

impl EnumLabels for NoEnums {
    fn label(&self, _: u32) -> Option<&str> {
        None
    }
}

/// Storage layout of a type: `typlen` (-1 varlena), `typbyval`, `typalign`
/// (`c`, `s`, `i`, `d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Bytes, or -1 for a varlena.
    pub len: i16,
    /// Passed by value.
    pub byval: bool,
    /// Alignment code.
    pub align: u8,
}

impl Layout {
    /// The alignment in bytes.
    pub fn align_bytes(&self) -> usize {
        match self.align {
            b's' => 2,
            b'i' => 4,
            b'd' => 8,
            _ => 1,
        }
    }
}

/// The layout of a column type; None for types named only
/// ([`PgType::Other`]).
pub fn layout(ty: &PgType<'_>) -> Option<Layout> {
    match ty {
        PgType::Enum { .. } => Some(Layout {
            len: 4,
            byval: true,
            align: b'i',
        }),
        PgType::Array(e) => Some(Layout {
            len: -1,
            byval: false,
            align: if layout(e)?.align == b'd' { b'd' } else { b'i' },
        }),
        _ => {
            let b = crate::builtin(type_oid(ty)?)?;
            Some(Layout {
                len: b.len,
                byval: b.byval,
                align: b.align,
            })
        }
    }
}

/// Decodes one datum of type `ty` in column `column`: exactly the
/// attribute's bytes (a varlena with its header).
pub fn from_datum<'a>(
    column: &str,
    ty: &PgType<'_>,
    bytes: &'a [u8],
    enums: &dyn EnumLabels,
) -> Result<Datum<'a>, TypeError> {
    datum(ty, bytes, enums).map_err(|what| TypeError::new(column, ty, what))
}

/// Decodes the contents of a varlena of type `ty` (header removed,
/// decompressed), such as a reassembled TOAST value.
pub fn from_payload<'a>(
    column: &str,
    ty: &PgType<'_>,
    payload: Cow<'a, [u8]>,
    enums: &dyn EnumLabels,
) -> Result<Value<'a>, TypeError> {
    payload_value(ty, payload, enums).map_err(|what| TypeError::new(column, ty, what))
}

fn fixed<const N: usize>(b: &[u8], what: &str) -> R<[u8; N]> {
    b.try_into()
        .map_err(|_| format!("{what} datum of {} bytes where {N} were expected", b.len()))
}

fn datum<'a>(ty: &PgType<'_>, b: &'a [u8], enums: &dyn EnumLabels) -> R<Datum<'a>> {
    let le8 = |b: &[u8], w: &str| -> R<i64> { Ok(i64::from_le_bytes(fixed(b, w)?)) };
    let v = match ty {
        PgType::Int2 => Value::Int(i16::from_le_bytes(fixed(b, "int2")?).into()),
        PgType::Int4 => Value::Int(i32::from_le_bytes(fixed(b, "int4")?).into()),
        PgType::Int8 => Value::Int(le8(b, "int8")?),
        PgType::Oid => Value::UInt(u32::from_le_bytes(fixed(b, "oid")?).into()),
        PgType::Float4 => Value::F32(f32::from_le_bytes(fixed(b, "float4")?)),
        PgType::Float8 => Value::F64(f64::from_le_bytes(fixed(b, "float8")?)),
        PgType::Bool => Value::Bool(fixed::<1>(b, "bool")?[0] != 0),
        PgType::Date => Value::PgDate(date(i32::from_le_bytes(fixed(b, "date")?))?),
        PgType::Time(_) => Value::Time(time(le8(b, "time")?)?),
        PgType::Timestamp(_) => Value::PgTimestamp(ts(le8(b, "timestamp")?)?),
        PgType::TimestampTz(_) => Value::PgTimestampTz(ts(le8(b, "timestamptz")?)?),
        PgType::Money => Value::Text(Cow::Owned(textout::money(le8(b, "money")?))),
        PgType::TimeTz(_) => {
            let a: [u8; 12] = fixed(b, "timetz")?;
            let t = i64::from_le_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]);
            timetz(t, i32::from_le_bytes([a[8], a[9], a[10], a[11]]))?
        }
        PgType::Interval(_) => {
            let a: [u8; 16] = fixed(b, "interval")?;
            Value::Interval(Interval {
                micros: i64::from_le_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]),
                days: i32::from_le_bytes([a[8], a[9], a[10], a[11]]),
                months: i32::from_le_bytes([a[12], a[13], a[14], a[15]]),
            })
        }
        PgType::Uuid => Value::Uuid(fixed(b, "uuid")?),
        PgType::MacAddr => Value::Text(Cow::Owned(textout::mac(&fixed::<6>(b, "macaddr")?))),
        PgType::MacAddr8 => Value::Text(Cow::Owned(textout::mac(&fixed::<8>(b, "macaddr8")?))),
        PgType::Enum { .. } => {
            let oid = u32::from_le_bytes(fixed(b, "enum")?);
            let label = enums
                .label(oid)
                .ok_or_else(|| format!("enum value OID {oid} has no known label"))?;
            Value::Enum(Cow::Owned(label.to_string()))
        }
        _ => match var_data(b)? {
            VarData::External(p) => return Ok(Datum::External(p)),
            VarData::Bytes(p) => payload_value(ty, p, enums)?,
        },
    };
    Ok(Datum::Value(v))
}

fn payload_value<'a>(ty: &PgType<'_>, p: Cow<'a, [u8]>, enums: &dyn EnumLabels) -> R<Value<'a>> {
    Ok(match ty {
        PgType::Text | PgType::VarChar(_) | PgType::Char(_) => Value::Text(utf8(p)?),
        PgType::Xml => Value::Text(xml_out(utf8(p)?)),
        PgType::Bytea => Value::Bytes(p),
        PgType::Json => Value::Json(utf8(p)?),
        PgType::Jsonb => {
            let mut s = String::new();
            jsonb_container(&p, &mut s, 0)?;
            Value::Json(Cow::Owned(s))
        }
        PgType::Numeric(_) => numeric(&p)?,
        PgType::Inet | PgType::Cidr => {
            let (&family, rest) = p.split_first().ok_or("empty inet")?;
            let (&bits, addr) = rest.split_first().ok_or("inet without its prefix length")?;
            textout::inet_value(family, bits, addr, matches!(ty, PgType::Cidr))?
        }
        PgType::Bit(_) | PgType::VarBit(_) => {
            let n = p.get(..4).ok_or("bit string without its length")?;
            let n = i32::from_le_bytes([n[0], n[1], n[2], n[3]]);
            let n = usize::try_from(n).map_err(|_| format!("bit length {n}"))?;
            Value::Text(Cow::Owned(textout::bits(n, &p[4..])?))
        }
        PgType::Array(e) => Value::Text(Cow::Owned(array(e, &p, enums)?)),
        other => return Err(format!("type {other} is not a varlena type")),
    })
}

/// xml's output drops a stored XML declaration that says nothing but
/// version 1.0 (and an encoding, which the output has replaced).
fn xml_out(s: Cow<'_, str>) -> Cow<'_, str> {
    let Some(rest) = s.strip_prefix("<?xml") else {
        return s;
    };
    let Some(end) = rest.find("?>") else {
        return s;
    };
    let decl = &rest[..end];
    let version_ok = !decl.contains("version")
        || decl.contains("version=\"1.0\"")
        || decl.contains("version='1.0'");
    if decl.contains("standalone") || !version_ok {
        return s;
    }
    let cut = 5 + end + 2;
    Cow::Owned(s[cut..].to_string())
}

/// The on-disk numeric (after the varlena header): a u16 header word, short
/// (`1 0 s ddddd w wwwwww`: sign, 6-bit scale, 7-bit signed weight) or long
/// (`0 s dscale(14)` then an i16 weight), or special (`11..`: NaN,
/// ±Infinity); then base-10000 digits.
fn numeric(p: &[u8]) -> R<Value<'static>> {
    let h = p.get(..2).ok_or("numeric without its header")?;
    let h = u16::from_le_bytes([h[0], h[1]]);
    let word = |b: &[u8]| -> Vec<u16> {
        b.chunks_exact(2)
            .map(|w| u16::from_le_bytes([w[0], w[1]]))
            .collect()
    };
    if h & 0xC000 == 0xC000 {
        return Ok(Value::NumericSpecial(match h & 0xF000 {
            0xC000 => NumericSpecial::NaN,
            0xD000 => NumericSpecial::PosInfinity,
            0xF000 => NumericSpecial::NegInfinity,
            _ => return Err(format!("numeric special header 0x{h:04x}")),
        }));
    }
    let (neg, dscale, weight, digits) = if h & 0x8000 != 0 {
        let w = (h & 0x3F) as i16;
        let weight = if h & 0x40 != 0 { w - 64 } else { w };
        (h & 0x2000 != 0, (h & 0x1F80) >> 7, weight, &p[2..])
    } else {
        let w = p.get(2..4).ok_or("numeric without its weight")?;
        (
            h & 0x4000 != 0,
            h & 0x3FFF,
            i16::from_le_bytes([w[0], w[1]]),
            &p[4..],
        )
    };
    if digits.len() % 2 != 0 {
        return Err("numeric digits of an odd byte length".into());
    }
    Ok(Value::Decimal(Cow::Owned(numeric_text(
        neg,
        weight,
        dscale,
        &word(digits),
    )?)))
}

/// Reads a little-endian i32 at `at` of `p`.
fn le_i32(p: &[u8], at: usize, what: &str) -> R<i32> {
    let b = at
        .checked_add(4)
        .and_then(|e| p.get(at..e))
        .ok_or_else(|| format!("{what} cut short at byte {at}"))?;
    Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The on-disk array (after the varlena header, laid out as if it had a
/// 4-byte header): i32 ndim, i32 dataoffset (0: no null bitmap), u32
/// element type, ndim × i32 dimension, ndim × i32 lower bound, the null
/// bitmap (one bit per element, set = present), then the elements from
/// `dataoffset` (or the 8-aligned end of the header), each aligned by the
/// element type (a varlena with a 1-byte header is not aligned).
fn array(elem: &PgType<'_>, p: &[u8], enums: &dyn EnumLabels) -> R<String> {
    let lay = layout(elem).ok_or_else(|| format!("element type {elem} has no known layout"))?;
    // Positions are counted from the 4-byte header the array had in memory.
    let at = |full: usize| full - 4;
    let ndim = le_i32(p, at(4), "array header")?;
    if !(0..=6).contains(&ndim) {
        return Err(format!("array with {ndim} dimensions (0 to 6)"));
    }
    let ndim = ndim as usize;
    let dataoffset = le_i32(p, at(8), "array header")?;
    let (mut dims, mut lbounds) = (Vec::new(), Vec::new());
    let mut count: u64 = u64::from(ndim > 0);
    for i in 0..ndim {
        let d = le_i32(p, at(16 + 4 * i), "array dimensions")?;
        count = count.saturating_mul(u64::try_from(d).map_err(|_| format!("dimension {d}"))?);
        dims.push(d);
        lbounds.push(le_i32(p, at(16 + 4 * (ndim + i)), "array lower bounds")?);
    }
    let header_end = 16 + 8 * ndim;
    // Every element takes a byte at least, or a bit of the bitmap.
    if count > (p.len() as u64).saturating_mul(8) {
        return Err(format!("array of {count} elements in {} bytes", p.len()));
    }
    let count = count as usize;
    let bitmap = if dataoffset != 0 {
        let b = p
            .get(at(header_end)..at(header_end) + count.div_ceil(8))
            .ok_or("array null bitmap cut short")?;
        Some(b)
    } else {
        None
    };
    let mut pos = if dataoffset != 0 {
        let off = usize::try_from(dataoffset).map_err(|_| format!("data offset {dataoffset}"))?;
        // The elements follow the dimensions and the null bitmap.
        if off < header_end + count.div_ceil(8) {
            return Err(format!(
                "array data offset {dataoffset} inside its header ({header_end} bytes and a \
                 bitmap of {count} bits)"
            ));
        }
        off
    } else {
        header_end.next_multiple_of(8)
    };
    let mut elems = Vec::with_capacity(count.min(p.len()));
    for i in 0..count {
        if bitmap.is_some_and(|b| b[i / 8] & (1 << (i % 8)) == 0) {
            elems.push(None);
            continue;
        }
        let short = lay.len == -1 && p.get(at(pos)).is_some_and(|&x| x != 0);
        if !short {
            pos = pos.next_multiple_of(lay.align_bytes());
        }
        let rest = p
            .get(at(pos)..)
            .ok_or_else(|| format!("array element {i} starts past the end"))?;
        let n = if lay.len > 0 {
            lay.len as usize
        } else {
            varlena_len(rest).ok_or_else(|| format!("array element {i}: bad varlena header"))?
        };
        let eb = rest
            .get(..n)
            .ok_or_else(|| format!("array element {i} cut short"))?;
        match datum(elem, eb, enums)? {
            Datum::Value(v) => elems.push(Some(crate::to_text(&v))),
            Datum::External(_) => return Err(format!("array element {i} stored out of line")),
        }
        pos += n;
    }
    if at(pos) > p.len() {
        return Err("array elements run past the end".into());
    }
    Ok(textout::array(&dims, &lbounds, &elems))
}

const JB_CMASK: u32 = 0x0FFF_FFFF;
const JB_FSCALAR: u32 = 0x1000_0000;
const JB_FOBJECT: u32 = 0x2000_0000;
const JB_FARRAY: u32 = 0x4000_0000;
const JENTRY_OFFLENMASK: u32 = 0x0FFF_FFFF;
const JENTRY_HAS_OFF: u32 = 0x8000_0000;
/// Deepest jsonb nesting decoded (PostgreSQL's own limit is the stack).
const MAX_JSONB_DEPTH: usize = 1000;

/// Writes a jsonb container as the server prints it: `{"a": 1, "b": [1, 2]}`.
///
/// A container is a u32 header (element count, then the scalar, object and
/// array flags), one u32 JEntry per child (objects: the keys, then the
/// values) and the children's data. A JEntry holds the type (bits 28–30:
/// string, numeric, false, true, null, container) and the child's length,
/// or with bit 31 its end offset. Numerics and containers start 4-aligned.
fn jsonb_container(c: &[u8], out: &mut String, depth: usize) -> R<()> {
    if depth > MAX_JSONB_DEPTH {
        return Err("jsonb nested too deeply".into());
    }
    let h = le_i32(c, 0, "jsonb container header")? as u32;
    let count = (h & JB_CMASK) as usize;
    let object = h & JB_FOBJECT != 0;
    let n = if object {
        count.saturating_mul(2)
    } else {
        count
    };
    let data_start = n
        .checked_mul(4)
        .and_then(|x| x.checked_add(4))
        .filter(|&e| e <= c.len())
        .ok_or("jsonb children run past the end")?;
    let entry = |i: usize| le_i32(c, 4 + 4 * i, "jsonb entry").map(|e| e as u32);
    let data = &c[data_start..];
    // Start offset of child i: lengths summed back to an entry with an offset.
    let start = |i: usize| -> R<usize> {
        let mut off = 0usize;
        for j in (0..i).rev() {
            let e = entry(j)?;
            off += (e & JENTRY_OFFLENMASK) as usize;
            if e & JENTRY_HAS_OFF != 0 {
                break;
            }
        }
        Ok(off)
    };
    let child = |i: usize, out: &mut String| -> R<()> {
        let e = entry(i)?;
        let s = start(i)?;
        let len = if e & JENTRY_HAS_OFF != 0 {
            ((e & JENTRY_OFFLENMASK) as usize)
                .checked_sub(s)
                .ok_or("jsonb entry ends before it starts")?
        } else {
            (e & JENTRY_OFFLENMASK) as usize
        };
        let b = s
            .checked_add(len)
            .and_then(|end| data.get(s..end))
            .ok_or("jsonb child runs past the end")?;
        let pad = s.next_multiple_of(4) - s;
        match (e >> 28) & 0x7 {
            0 => json_string(
                std::str::from_utf8(b).map_err(|_| "jsonb string is not UTF-8")?,
                out,
            ),
            1 => {
                let v = b.get(pad..).ok_or("jsonb numeric cut short")?;
                match var_data(v)? {
                    VarData::Bytes(p) => out.push_str(&crate::to_text(&numeric(&p)?)),
                    VarData::External(_) => return Err("jsonb numeric stored out of line".into()),
                }
            }
            2 => out.push_str("false"),
            3 => out.push_str("true"),
            4 => out.push_str("null"),
            5 => jsonb_container(
                b.get(pad..).ok_or("jsonb container cut short")?,
                out,
                depth + 1,
            )?,
            t => return Err(format!("jsonb entry type {t}")),
        }
        Ok(())
    };
    if h & JB_FSCALAR != 0 {
        if h & JB_FARRAY == 0 || count != 1 {
            return Err("jsonb scalar that is not a one-element array".into());
        }
        return child(0, out);
    }
    if object {
        out.push('{');
        for i in 0..count {
            if i > 0 {
                out.push_str(", ");
            }
            child(i, out)?;
            out.push_str(": ");
            child(count + i, out)?;
        }
        out.push('}');
    } else if h & JB_FARRAY != 0 {
        out.push('[');
        for i in 0..count {
            if i > 0 {
                out.push_str(", ");
            }
            child(i, out)?;
        }
        out.push(']');
    } else {
        return Err(format!("jsonb container header 0x{h:08x}"));
    }
    Ok(())
}

/// A JSON string as PostgreSQL escapes it, which is serde_json's escaping:
/// `\b \f \n \r \t \" \\`, other controls as `\u00xx`.
fn json_string(s: &str, out: &mut String) {
    // Serializing a `str` cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}
