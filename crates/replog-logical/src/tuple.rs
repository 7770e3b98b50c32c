//! Row tuples: zero-copy over the record body, validated lazily.
//!
//! ```text
//! tuple  = u16 column_count | u32 byte_len | byte_len bytes of columns
//! column = 0xFF                      (unchanged, not sent)
//!        | value                     (replog_core::Value encoding; tag 0x00 = NULL)
//! ```
//!
//! Decoding a record only slices the tuple (O(1)); [`Tuple::values`] walks the
//! columns, validates each and yields borrowed values, without allocating.

use replog_core::codec::{self, Cursor};
use replog_core::error::{Error, Result};
use replog_core::value::{Value, decode_after_tag};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// The byte that marks a column as unchanged and not sent (pgoutput's `u`,
/// used for large values that did not change). Value tags never reach it.
pub const UNCHANGED: u8 = 0xFF;

/// One column of a tuple.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValue<'a> {
    /// The column's value did not change and was not sent (only in UPDATE
    /// after-images and key-only before-images).
    Unchanged,
    /// A value; [`Value::Null`] is SQL NULL.
    Value(Value<'a>),
}

impl<'a> ColumnValue<'a> {
    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, ColumnValue::Value(Value::Null))
    }

    /// The value, unless unchanged.
    pub fn value(&self) -> Option<&Value<'a>> {
        match self {
            ColumnValue::Value(v) => Some(v),
            ColumnValue::Unchanged => None,
        }
    }

    /// Detaches the value from the buffer it was decoded from.
    pub fn into_owned(self) -> ColumnValue<'static> {
        match self {
            ColumnValue::Unchanged => ColumnValue::Unchanged,
            ColumnValue::Value(v) => ColumnValue::Value(v.into_owned()),
        }
    }

    /// Appends the column encoding.
    pub fn encode(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        match self {
            ColumnValue::Unchanged => {
                out.push(UNCHANGED);
                Ok(())
            }
            ColumnValue::Value(v) => v.encode(out),
        }
    }
}

impl<'a> From<Value<'a>> for ColumnValue<'a> {
    fn from(v: Value<'a>) -> Self {
        ColumnValue::Value(v)
    }
}

/// JSON: the value as `Value` renders it; unchanged is `{"unchanged": true}`.
impl Serialize for ColumnValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ColumnValue::Value(v) => v.serialize(s),
            ColumnValue::Unchanged => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("unchanged", &true)?;
                m.end()
            }
        }
    }
}

/// A row image inside a record body: a column count and the raw bytes of the
/// columns, not yet validated.
#[derive(Debug, Clone, Copy)]
pub struct Tuple<'a> {
    count: u16,
    data: &'a [u8],
    offset: u64,
}

/// Equal when they hold the same columns (wherever they were found).
impl PartialEq for Tuple<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.data == other.data
    }
}

impl<'a> Tuple<'a> {
    /// Reads a tuple header at the cursor and slices its columns.
    #[inline]
    pub fn read(c: &mut Cursor<'a>) -> Result<Tuple<'a>> {
        let count = c.u16("tuple column count")?;
        let len = c.u32("tuple byte length")?;
        let offset = c.offset();
        let data = c.bytes(len as usize, "tuple columns")?;
        Ok(Tuple {
            count,
            data,
            offset,
        })
    }

    /// Number of columns.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// True for a tuple without columns.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded columns.
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        self.data
    }

    /// Absolute offset of the first column byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The columns, validated one by one. Yields an error (and then stops)
    /// at the first malformed column, or when bytes are left after the last.
    #[inline]
    pub fn values(&self) -> TupleValues<'a> {
        TupleValues {
            c: Cursor::new(self.data, self.offset),
            left: self.count,
            done: false,
        }
    }

    /// Validates every column; returns the column count.
    pub fn validate(&self) -> Result<usize> {
        let mut it = self.values();
        for v in &mut it {
            v?;
        }
        Ok(self.len())
    }

    /// All columns, collected.
    pub fn to_vec(&self) -> Result<Vec<ColumnValue<'a>>> {
        self.values().collect()
    }

    /// Appends the tuple (header and columns) unchanged.
    pub fn encode(&self, out: &mut Vec<u8>) {
        codec::put_u16(out, self.count);
        codec::put_bytes_u32(out, self.data);
    }
}

/// JSON: an array of the column values (serialization fails on a malformed tuple).
impl Serialize for Tuple<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for v in self.values() {
            seq.serialize_element(&v.map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}

/// Iterator over the columns of a [`Tuple`].
#[derive(Debug, Clone)]
pub struct TupleValues<'a> {
    c: Cursor<'a>,
    left: u16,
    done: bool,
}

impl<'a> TupleValues<'a> {
    /// Absolute offset of the next column.
    pub fn offset(&self) -> u64 {
        self.c.offset()
    }

    #[cold]
    fn fail(&mut self, e: Error) -> Option<Result<ColumnValue<'a>>> {
        self.done = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for TupleValues<'a> {
    type Item = Result<ColumnValue<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.left == 0 {
            self.done = true;
            return match self.c.finish("the last tuple column") {
                Ok(()) => None,
                Err(e) => Some(Err(e)),
            };
        }
        self.left -= 1;
        let at = self.c.offset();
        let t = match self.c.u8("column tag") {
            Ok(t) => t,
            Err(e) => return self.fail(e),
        };
        if t == UNCHANGED {
            return Some(Ok(ColumnValue::Unchanged));
        }
        match decode_after_tag(&mut self.c, t, at) {
            Ok(v) => Some(Ok(ColumnValue::Value(v))),
            Err(e) => self.fail(e),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            (0, Some(0))
        } else {
            (0, Some(usize::from(self.left) + 1))
        }
    }
}

/// An owned, encoded tuple for writers: push values, then borrow it as a
/// [`Tuple`] to put in a record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TupleBuf {
    count: u16,
    data: Vec<u8>,
}

impl TupleBuf {
    /// An empty tuple.
    pub fn new() -> TupleBuf {
        TupleBuf::default()
    }

    /// A tuple of `values`.
    pub fn from_values<'v, I>(values: I) -> std::result::Result<TupleBuf, String>
    where
        I: IntoIterator,
        I::Item: Into<ColumnValue<'v>>,
    {
        let mut t = TupleBuf::new();
        for v in values {
            t.push(&v.into())?;
        }
        Ok(t)
    }

    /// Removes every column, keeping the allocation.
    pub fn clear(&mut self) {
        self.count = 0;
        self.data.clear();
    }

    /// Appends a column.
    pub fn push(&mut self, v: &ColumnValue<'_>) -> std::result::Result<(), String> {
        self.push_encoded(|data| v.encode(data))
    }

    /// Appends a value.
    pub fn push_value(&mut self, v: &Value<'_>) -> std::result::Result<(), String> {
        self.push_encoded(|data| v.encode(data))
    }

    /// Appends the column `encode` writes, within the tuple's limits.
    fn push_encoded(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), String>,
    ) -> std::result::Result<(), String> {
        if self.count == u16::MAX {
            return Err("more than 65535 columns in a tuple".into());
        }
        encode(&mut self.data)?;
        if u32::try_from(self.data.len()).is_err() {
            return Err("tuple longer than 4 GiB".into());
        }
        self.count += 1;
        Ok(())
    }

    /// Appends an unchanged marker.
    pub fn push_unchanged(&mut self) -> std::result::Result<(), String> {
        self.push(&ColumnValue::Unchanged)
    }

    /// The tuple, to put in a record.
    pub fn as_tuple(&self) -> Tuple<'_> {
        Tuple {
            count: self.count,
            data: &self.data,
            offset: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_core::ErrorKind;
    use std::borrow::Cow;

    #[test]
    fn tuple_layout() {
        let t = TupleBuf::from_values([
            ColumnValue::Value(Value::Int(7)),
            ColumnValue::Value(Value::Null),
            ColumnValue::Unchanged,
            ColumnValue::Value(Value::Text(Cow::Borrowed("hi"))),
        ])
        .unwrap();
        let mut out = Vec::new();
        t.as_tuple().encode(&mut out);
        #[rustfmt::skip]
        let expected = [
            0x04, 0x00,                         // 4 columns
            0x12, 0x00, 0x00, 0x00,             // 18 bytes of columns
            0x02, 7, 0, 0, 0, 0, 0, 0, 0,       // Int 7
            0x00,                               // NULL
            0xFF,                               // unchanged
            0x07, 0x02, 0x00, 0x00, 0x00, b'h', b'i', // Text "hi"
        ];
        assert_eq!(out, expected);
        let mut c = Cursor::new(&expected, 1000);
        let back = Tuple::read(&mut c).unwrap();
        assert_eq!(back.offset(), 1006);
        assert_eq!(back, t.as_tuple());
        let vals = back.to_vec().unwrap();
        assert_eq!(vals.len(), 4);
        assert!(vals[1].is_null());
        assert_eq!(vals[2], ColumnValue::Unchanged);
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            r#"[7,null,{"unchanged":true},"hi"]"#
        );
    }

    /// The bytes of `formats/logical.md` section 14.
    #[test]
    fn postgres_values_layout() {
        use replog_core::value::{Interval, NumericSpecial};
        let t = TupleBuf::from_values([
            ColumnValue::Value(Value::PgTimestampTz(1_500_000)),
            ColumnValue::Value(Value::NumericSpecial(NumericSpecial::NaN)),
            ColumnValue::Value(Value::Interval(Interval {
                months: 14,
                days: 3,
                micros: 14_706_000_000,
            })),
            ColumnValue::Value(Value::PgDate(-1)),
        ])
        .unwrap();
        let mut out = Vec::new();
        t.as_tuple().encode(&mut out);
        #[rustfmt::skip]
        let expected = [
            0x04, 0x00,                                     // 4 columns
            0x21, 0x00, 0x00, 0x00,                         // 33 bytes of columns
            0x15, 0x60, 0xe3, 0x16, 0, 0, 0, 0, 0,          // PgTimestampTz 1,500,000 µs
            0x16, 0x00,                                     // NumericSpecial NaN
            0x11, 0x0e, 0, 0, 0, 0x03, 0, 0, 0,             // Interval 14 months, 3 days,
            0x80, 0xc0, 0x8b, 0x6c, 0x03, 0, 0, 0,          //   14,706,000,000 µs
            0x13, 0xff, 0xff, 0xff, 0xff,                   // PgDate -1
        ];
        assert_eq!(out, expected);
        let back = Tuple::read(&mut Cursor::new(&expected, 0)).unwrap();
        let text: Vec<String> = back
            .to_vec()
            .unwrap()
            .iter()
            .map(|c| c.value().unwrap().to_string())
            .collect();
        assert_eq!(
            text,
            [
                "2000-01-01 00:00:01.5+00",
                "NaN",
                "1 year 2 mons 3 days 04:05:06",
                "1999-12-31"
            ]
        );
    }

    #[test]
    fn too_few_column_bytes() {
        #[rustfmt::skip]
        let bytes = [
            0x02, 0x00,             // 2 columns                @ 10
            0x05, 0x00, 0x00, 0x00, // 5 bytes                  @ 12
            0x00,                   // NULL                     @ 16
            0x03, 1, 2, 3,          // UInt with 3 of 8 bytes   @ 17, payload @ 18
        ];
        let t = Tuple::read(&mut Cursor::new(&bytes, 10)).unwrap();
        let mut it = t.values();
        assert!(it.next().unwrap().unwrap().is_null());
        let e = it.next().unwrap().unwrap_err();
        assert_eq!(e.offset(), Some(18));
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof { needed: 5 });
        assert!(it.next().is_none(), "the iterator stops after an error");
        assert_eq!(t.validate().unwrap_err().offset(), Some(18));
    }

    #[test]
    fn bytes_after_last_column() {
        #[rustfmt::skip]
        let bytes = [
            0x01, 0x00,             // 1 column
            0x02, 0x00, 0x00, 0x00, // 2 bytes
            0x00,                   // NULL                     @ 6
            0x00,                   // extra byte               @ 7
        ];
        let t = Tuple::read(&mut Cursor::new(&bytes, 0)).unwrap();
        assert_eq!(t.validate().unwrap_err().offset(), Some(7));
    }

    #[test]
    fn unknown_tag_and_short_header() {
        #[rustfmt::skip]
        let bytes = [
            0x01, 0x00,             // 1 column
            0x01, 0x00, 0x00, 0x00, // 1 byte
            0x55,                   // unknown tag              @ 6
        ];
        let t = Tuple::read(&mut Cursor::new(&bytes, 0)).unwrap();
        assert_eq!(t.validate().unwrap_err().offset(), Some(6));
        #[rustfmt::skip]
        let short = [
            0x01, 0x00,             // 1 column
            0x09, 0x00, 0x00, 0x00, // 9 bytes, only 1 follows @ 6
            0x00,
        ];
        let e = Tuple::read(&mut Cursor::new(&short, 0)).unwrap_err();
        assert_eq!(e.offset(), Some(6));
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof { needed: 8 });
    }
}
