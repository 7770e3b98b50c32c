//! MySQL binary JSON (MySQL `sql-common/json_binary.h` / `json_binary.cc`)
//! rendered as JSON text, and the partial-update diffs of
//! PARTIAL_UPDATE_ROWS (`sql/json_diff.cc`).
//!
//! Layout: a document is one type byte followed by the value. Objects and
//! arrays come in a small form (16-bit counts, sizes and offsets) and a
//! large form (32-bit): element count, byte size, then for objects the key
//! entries (offset, u16 key length), then one value entry per element (type
//! byte plus either an offset relative to the start of the container or an
//! inlined scalar), then keys and values. Literals and 16-bit integers are
//! always inlined; 32-bit integers only in the large form. Strings and
//! opaque values carry a variable-length size (7 bits per byte, high bit =
//! more, at most 5 bytes).
//!
//! Text output follows MySQL's style: `{"k": 1, "a": [1, 2]}`.

use crate::decimal::{decimal_size, decode_decimal};
use crate::rd::le_uint;
use std::fmt::Write as _;

const SMALL_OBJECT: u8 = 0x00;
const LARGE_OBJECT: u8 = 0x01;
const SMALL_ARRAY: u8 = 0x02;
const LARGE_ARRAY: u8 = 0x03;
const LITERAL: u8 = 0x04;
const INT16: u8 = 0x05;
const UINT16: u8 = 0x06;
const INT32: u8 = 0x07;
const UINT32: u8 = 0x08;
const INT64: u8 = 0x09;
const UINT64: u8 = 0x0a;
const DOUBLE: u8 = 0x0b;
const STRING: u8 = 0x0c;
const OPAQUE: u8 = 0x0f;

/// Deepest nesting accepted (MySQL's own limit is 100).
const MAX_DEPTH: usize = 150;

/// Why a binary JSON value could not be decoded, with the offset inside the
/// value where it was noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Offset relative to the start of the binary value.
    pub offset: usize,
    /// What was wrong.
    pub message: &'static str,
}

type JResult<T> = std::result::Result<T, JsonError>;

fn err<T>(offset: usize, message: &'static str) -> JResult<T> {
    Err(JsonError { offset, message })
}

/// Renders a binary JSON document as JSON text. An empty input is the JSON
/// `null` (MySQL writes a zero-length value for a JSON NULL inside a
/// non-NULL column in some versions).
pub fn json_to_text(doc: &[u8]) -> JResult<String> {
    let mut out = String::with_capacity(doc.len() * 2);
    if doc.is_empty() {
        out.push_str("null");
        return Ok(out);
    }
    let t = doc[0];
    write_value(t, doc, 1, doc.len(), 0, &mut out)?;
    Ok(out)
}

/// Reads the variable-length size used by strings and opaque values.
/// Returns (value, bytes used).
fn var_len(b: &[u8], at: usize) -> JResult<(usize, usize)> {
    let mut v: u64 = 0;
    for i in 0..5 {
        let Some(&x) = b.get(at + i) else {
            return err(at, "truncated variable-length size");
        };
        v |= u64::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            if v > u64::from(u32::MAX) {
                return err(at, "variable-length size too large");
            }
            return Ok((v as usize, i + 1));
        }
    }
    err(at, "variable-length size longer than 5 bytes")
}

fn slice(b: &[u8], start: usize, len: usize, end: usize) -> JResult<&[u8]> {
    match start.checked_add(len) {
        Some(e) if e <= end && e <= b.len() => Ok(&b[start..e]),
        _ => err(start, "value extends past its container"),
    }
}

/// Writes the value of type `t` whose data starts at `at` (absolute in `b`);
/// `end` bounds the enclosing container.
fn write_value(
    t: u8,
    b: &[u8],
    at: usize,
    end: usize,
    depth: usize,
    out: &mut String,
) -> JResult<()> {
    if depth > MAX_DEPTH {
        return err(at, "JSON nested too deeply");
    }
    match t {
        SMALL_OBJECT | LARGE_OBJECT => {
            write_container(b, at, end, t == LARGE_OBJECT, true, depth, out)
        }
        SMALL_ARRAY | LARGE_ARRAY => {
            write_container(b, at, end, t == LARGE_ARRAY, false, depth, out)
        }
        LITERAL => match slice(b, at, 1, end)?[0] {
            0 => {
                out.push_str("null");
                Ok(())
            }
            1 => {
                out.push_str("true");
                Ok(())
            }
            2 => {
                out.push_str("false");
                Ok(())
            }
            _ => err(at, "unknown JSON literal"),
        },
        INT16 => {
            let v = le_uint(slice(b, at, 2, end)?) as u16 as i16;
            let _ = write!(out, "{v}");
            Ok(())
        }
        UINT16 => {
            let v = le_uint(slice(b, at, 2, end)?) as u16;
            let _ = write!(out, "{v}");
            Ok(())
        }
        INT32 => {
            let v = le_uint(slice(b, at, 4, end)?) as u32 as i32;
            let _ = write!(out, "{v}");
            Ok(())
        }
        UINT32 => {
            let v = le_uint(slice(b, at, 4, end)?) as u32;
            let _ = write!(out, "{v}");
            Ok(())
        }
        INT64 => {
            let v = le_uint(slice(b, at, 8, end)?) as i64;
            let _ = write!(out, "{v}");
            Ok(())
        }
        UINT64 => {
            let v = le_uint(slice(b, at, 8, end)?);
            let _ = write!(out, "{v}");
            Ok(())
        }
        DOUBLE => {
            let v = f64::from_bits(le_uint(slice(b, at, 8, end)?));
            write_double(v, out);
            Ok(())
        }
        STRING => {
            let (n, used) = var_len(b, at)?;
            let s = slice(b, at + used, n, end)?;
            let s = std::str::from_utf8(s).map_err(|_| JsonError {
                offset: at + used,
                message: "JSON string is not valid UTF-8",
            })?;
            write_str(s, out);
            Ok(())
        }
        OPAQUE => {
            let ft = slice(b, at, 1, end)?[0];
            let (n, used) = var_len(b, at + 1)?;
            let data = slice(b, at + 1 + used, n, end)?;
            write_opaque(ft, data, out);
            Ok(())
        }
        _ => err(at.saturating_sub(1), "unknown JSON value type"),
    }
}

#[allow(clippy::too_many_arguments)]
fn write_container(
    b: &[u8],
    at: usize,
    end: usize,
    large: bool,
    object: bool,
    depth: usize,
    out: &mut String,
) -> JResult<()> {
    let w = if large { 4 } else { 2 };
    let count = le_uint(slice(b, at, w, end)?) as usize;
    let size = le_uint(slice(b, at + w, w, end)?) as usize;
    // The container's own bytes: everything is relative to `at`.
    let cend = match at.checked_add(size) {
        Some(e) if e <= end && e <= b.len() => e,
        _ => return err(at, "JSON container size past its end"),
    };
    let key_entry = w + 2;
    let value_entry = 1 + w;
    let header = 2 * w;
    let keys_len = if object {
        count.checked_mul(key_entry)
    } else {
        Some(0)
    };
    let need = keys_len
        .and_then(|k| {
            count
                .checked_mul(value_entry)
                .and_then(|v| v.checked_add(k))
        })
        .and_then(|x| x.checked_add(header));
    match need {
        Some(n) if n <= size => {}
        _ => return err(at, "JSON container too small for its element count"),
    }
    let keys_len = keys_len.unwrap_or(0);
    out.push(if object { '{' } else { '[' });
    for i in 0..count {
        if i > 0 {
            out.push_str(", ");
        }
        if object {
            let ke = at + header + i * key_entry;
            let koff = le_uint(slice(b, ke, w, cend)?) as usize;
            let klen = le_uint(slice(b, ke + w, 2, cend)?) as usize;
            let key = slice(b, at.saturating_add(koff), klen, cend)?;
            let key = std::str::from_utf8(key).map_err(|_| JsonError {
                offset: at + koff,
                message: "JSON key is not valid UTF-8",
            })?;
            write_str(key, out);
            out.push_str(": ");
        }
        let ve = at + header + keys_len + i * value_entry;
        let vt = slice(b, ve, 1, cend)?[0];
        let inlined =
            matches!(vt, LITERAL | INT16 | UINT16) || (large && matches!(vt, INT32 | UINT32));
        if inlined {
            write_value(vt, b, ve + 1, cend, depth + 1, out)?;
        } else {
            let voff = le_uint(slice(b, ve + 1, w, cend)?) as usize;
            if voff >= size {
                return err(ve + 1, "JSON value offset past its container");
            }
            write_value(vt, b, at + voff, cend, depth + 1, out)?;
        }
    }
    out.push(if object { '}' } else { ']' });
    Ok(())
}

fn write_double(v: f64, out: &mut String) {
    if v.is_finite() {
        // serde_json renders the shortest round-trip form (1e100, 0.1).
        match serde_json::to_string(&v) {
            Ok(s) => out.push_str(&s),
            Err(_) => out.push_str("null"),
        }
    } else {
        out.push_str("null");
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn write_str(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{08}' => Some("\\b"),
            '\u{0c}' => Some("\\f"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Opaque values: DECIMAL as a number, temporal values as strings (MySQL
/// prints them with six fractional digits), anything else as
/// `"base64:typeNN:..."` as MySQL does.
fn write_opaque(field_type: u8, data: &[u8], out: &mut String) {
    use crate::consts::column_type as ct;
    match field_type {
        ct::NEWDECIMAL if data.len() >= 2 => {
            let (p, s) = (data[0], data[1]);
            let body = &data[2..];
            if body.len() == decimal_size(p, s)
                && let Some(t) = decode_decimal(body, p, s)
            {
                out.push_str(&t);
                return;
            }
        }
        ct::DATE | ct::DATETIME | ct::TIMESTAMP | ct::DATETIME2 | ct::TIMESTAMP2
            if data.len() == 8 =>
        {
            let packed = le_uint(data) as i64;
            let p = packed.unsigned_abs();
            let frac = p % (1 << 24);
            let ymdhms = p >> 24;
            let ymd = ymdhms >> 17;
            let ym = ymd >> 5;
            let hms = ymdhms % (1 << 17);
            let (y, mo, d) = (ym / 13, ym % 13, ymd % 32);
            let (h, mi, s) = (hms >> 12, (hms >> 6) % 64, hms % 64);
            if field_type == ct::DATE {
                let _ = write!(out, "\"{y:04}-{mo:02}-{d:02}\"");
            } else {
                let _ = write!(
                    out,
                    "\"{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{frac:06}\""
                );
            }
            return;
        }
        ct::TIME | ct::TIME2 if data.len() == 8 => {
            let packed = le_uint(data) as i64;
            let neg = packed < 0;
            let p = packed.unsigned_abs();
            let frac = p % (1 << 24);
            let hms = p >> 24;
            let (h, mi, s) = ((hms >> 12) % (1 << 10), (hms >> 6) % 64, hms % 64);
            let sign = if neg { "-" } else { "" };
            let _ = write!(out, "\"{sign}{h:02}:{mi:02}:{s:02}.{frac:06}\"");
            return;
        }
        _ => {}
    }
    let _ = write!(out, "\"base64:type{field_type}:");
    base64(data, out);
    out.push('"');
}

fn base64(data: &[u8], out: &mut String) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
}

/// One operation of a JSON partial update (PARTIAL_UPDATE_ROWS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonDiff {
    /// The operation.
    pub op: JsonDiffOp,
    /// The JSON path it applies to, e.g. `$.a[1]`.
    pub path: String,
    /// The new value as JSON text (absent for `Remove`).
    pub value: Option<String>,
}

/// The kind of a [`JsonDiff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonDiffOp {
    /// `JSON_REPLACE(col, path, value)`.
    Replace,
    /// `JSON_ARRAY_INSERT`/`JSON_INSERT(col, path, value)`.
    Insert,
    /// `JSON_REMOVE(col, path)`.
    Remove,
}

/// Decodes the diff list of a partially updated JSON column (the bytes
/// after the column's length prefix): repeated `op u8, path (packed length
/// + bytes), [value (packed length + binary JSON)]`.
pub fn decode_json_diffs(b: &[u8]) -> JResult<Vec<JsonDiff>> {
    let mut out = Vec::new();
    let mut r = crate::rd::Rd::new(b, 0);
    while !r.is_empty() {
        let at = r.offset() as usize;
        let op = match r.u8("diff op").map_err(|_| JsonError {
            offset: at,
            message: "truncated diff",
        })? {
            0 => JsonDiffOp::Replace,
            1 => JsonDiffOp::Insert,
            2 => JsonDiffOp::Remove,
            _ => return err(at, "unknown JSON diff operation"),
        };
        let path = r.packed_bytes("diff path").map_err(|e| JsonError {
            offset: e.offset().unwrap_or(0) as usize,
            message: "truncated diff path",
        })?;
        let path = String::from_utf8_lossy(path).into_owned();
        let value = if op == JsonDiffOp::Remove {
            None
        } else {
            let voff = r.offset() as usize;
            let v = r.packed_bytes("diff value").map_err(|e| JsonError {
                offset: e.offset().unwrap_or(0) as usize,
                message: "truncated diff value",
            })?;
            Some(json_to_text(v).map_err(|e| JsonError {
                offset: voff + e.offset,
                message: e.message,
            })?)
        };
        out.push(JsonDiff { op, path, value });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_scalars() {
        assert_eq!(json_to_text(&[LITERAL, 0]).unwrap(), "null");
        assert_eq!(json_to_text(&[LITERAL, 1]).unwrap(), "true");
        assert_eq!(json_to_text(&[LITERAL, 2]).unwrap(), "false");
        assert_eq!(json_to_text(&[INT16, 0xff, 0xff]).unwrap(), "-1");
        assert_eq!(
            json_to_text(&[UINT64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            "18446744073709551615"
        );
        let mut d = vec![DOUBLE];
        d.extend_from_slice(&3.5f64.to_le_bytes());
        assert_eq!(json_to_text(&d).unwrap(), "3.5");
        assert_eq!(json_to_text(&[STRING, 2, b'h', b'"']).unwrap(), "\"h\\\"\"");
        assert!(json_to_text(&[LITERAL, 9]).is_err());
        assert!(json_to_text(&[0x42]).is_err());
    }

    #[test]
    #[rustfmt::skip]
    fn small_object() {
        // {"a": 1, "bc": "x"}
        let doc = [
            SMALL_OBJECT,
            0x02, 0x00,             // element count 2
            0x19, 0x00,             // size 25
            0x12, 0x00, 0x01, 0x00, // key 0 at 18, length 1
            0x13, 0x00, 0x02, 0x00, // key 1 at 19, length 2
            INT16, 0x01, 0x00,      // value 0: inlined int16 1
            STRING, 0x15, 0x00,     // value 1: string at 21
            b'a',                   // 18: "a"
            b'b', b'c',             // 19: "bc"
            0x01, b'x',             // 21: length 1, "x"
            0x00, 0x00,             // padding up to size 25 (unused)
        ];
        assert_eq!(json_to_text(&doc).unwrap(), r#"{"a": 1, "bc": "x"}"#);
    }

    #[test]
    #[rustfmt::skip]
    fn large_array_with_inlined_int32_and_nested_small_array() {
        // [70000, true, [2]]
        let doc = [
            LARGE_ARRAY,
            0x03, 0x00, 0x00, 0x00,             // count 3
            0x1f, 0x00, 0x00, 0x00,             // size 31
            INT32, 0x70, 0x11, 0x01, 0x00,      // 70000 inlined (large form)
            LITERAL, 0x01, 0x00, 0x00, 0x00,    // true inlined
            SMALL_ARRAY, 0x17, 0x00, 0x00, 0x00, // nested array at 23
            0x01, 0x00,                         // 23: count 1
            0x07, 0x00,                         // size 7
            INT16, 0x02, 0x00,                  // 2 inlined
            0x00,                               // pad to 31
        ];
        assert_eq!(json_to_text(&doc).unwrap(), "[70000, true, [2]]");
    }

    #[test]
    fn bad_offsets_are_errors_not_panics() {
        // small array of one string whose offset points past the end
        let doc = [SMALL_ARRAY, 0x01, 0x00, 0x07, 0x00, STRING, 0x40, 0x00];
        assert!(json_to_text(&doc).is_err());
        // count that does not fit its size
        let doc = [SMALL_OBJECT, 0xff, 0xff, 0x04, 0x00];
        assert!(json_to_text(&doc).is_err());
    }

    #[test]
    #[rustfmt::skip]
    fn opaque_values() {
        // DECIMAL(4,2) 12.34 as opaque
        let doc = [
            OPAQUE, 246, 0x04, // field type NEWDECIMAL, 4 bytes
            0x04, 0x02,        // precision 4, scale 2
            0x8c, 0x22,        // 12 | .34
        ];
        assert_eq!(json_to_text(&doc).unwrap(), "12.34");
        // unknown opaque type: base64
        let doc = [OPAQUE, 252, 0x03, b'a', b'b', b'c'];
        assert_eq!(json_to_text(&doc).unwrap(), "\"base64:type252:YWJj\"");
        // DATE 2015-01-15 packed
        let ymd: i64 = ((2015 * 13 + 1) << 5) | 15;
        let packed = (ymd << 17) << 24;
        let mut doc = vec![OPAQUE, 10, 8];
        doc.extend_from_slice(&packed.to_le_bytes());
        assert_eq!(json_to_text(&doc).unwrap(), "\"2015-01-15\"");
    }

    #[test]
    fn diffs() {
        #[rustfmt::skip]
        let b = [
            0x00, 0x03, b'$', b'.', b'a', 0x03, INT16, 0x05, 0x00, // replace $.a 5
            0x02, 0x04, b'$', b'[', b'0', b']',                    // remove $[0]
        ];
        let d = decode_json_diffs(&b).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].value.as_deref(), Some("5"));
        assert_eq!(d[1].op, JsonDiffOp::Remove);
        assert_eq!(d[1].path, "$[0]");
    }
}
