//! TABLE_MAP (19): column types, per-type metadata and optional metadata
//! (MySQL `libs/mysql/binlog/event/rows_event.h` class comment of
//! `Table_map_event`, `sql/log_event.cc` `Table_map_log_event::init_*_field`;
//! MariaDB `sql/log_event.h`, `sql/rpl_utility.cc`).

use crate::consts::{BINARY_CHARSET, column_type as ct, column_type_name};
use crate::rd::{Rd, bit, lossy};
use replog_core::{Error, Result};

/// Optional metadata field codes (`Table_map_event::Optional_metadata_field_type`).
pub mod optional_field {
    #![allow(missing_docs)]
    pub const SIGNEDNESS: u8 = 1;
    pub const DEFAULT_CHARSET: u8 = 2;
    pub const COLUMN_CHARSET: u8 = 3;
    pub const COLUMN_NAME: u8 = 4;
    pub const SET_STR_VALUE: u8 = 5;
    pub const ENUM_STR_VALUE: u8 = 6;
    pub const GEOMETRY_TYPE: u8 = 7;
    pub const SIMPLE_PRIMARY_KEY: u8 = 8;
    pub const PRIMARY_KEY_WITH_PREFIX: u8 = 9;
    pub const ENUM_AND_SET_DEFAULT_CHARSET: u8 = 10;
    pub const ENUM_AND_SET_COLUMN_CHARSET: u8 = 11;
    pub const COLUMN_VISIBILITY: u8 = 12;
    pub const VECTOR_DIMENSIONALITY: u8 = 13;
}

/// How a column's values are laid out in a row image (derived once from the
/// type code and metadata so that row decoding is a single match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Little-endian integer of `bytes` bytes (1, 2, 3, 4 or 8).
    Int {
        /// Width in bytes.
        bytes: u8,
    },
    /// YEAR: one byte, 0 or years since 1900.
    Year,
    /// FLOAT (4 bytes).
    Float,
    /// DOUBLE (8 bytes).
    Double,
    /// Packed DECIMAL.
    Decimal {
        /// Precision (total digits).
        precision: u8,
        /// Scale (fraction digits).
        scale: u8,
    },
    /// DATE / NEWDATE, 3 bytes.
    Date,
    /// Old TIME, 3 bytes.
    TimeOld,
    /// TIME2 with fractional-second precision.
    Time2 {
        /// Fractional second digits, 0..=6.
        fsp: u8,
    },
    /// Old DATETIME, 8 bytes.
    DateTimeOld,
    /// DATETIME2.
    DateTime2 {
        /// Fractional second digits, 0..=6.
        fsp: u8,
    },
    /// Old TIMESTAMP, 4 bytes little-endian seconds.
    TimestampOld,
    /// TIMESTAMP2.
    Timestamp2 {
        /// Fractional second digits, 0..=6.
        fsp: u8,
    },
    /// CHAR/VARCHAR/BINARY/VARBINARY: a 1- or 2-byte length then bytes.
    VarString {
        /// Bytes of the length prefix.
        len_bytes: u8,
    },
    /// BLOB/TEXT/JSON/GEOMETRY/VECTOR: a 1..4-byte length then bytes.
    Blob {
        /// Bytes of the length prefix.
        len_bytes: u8,
    },
    /// ENUM: the index in 1 or 2 bytes.
    Enum {
        /// Width of the index.
        bytes: u8,
    },
    /// SET: a bitmask of 1..8 bytes.
    Set {
        /// Width of the bitmask.
        bytes: u8,
    },
    /// BIT(n): (n+7)/8 big-endian bytes.
    Bit {
        /// Number of bits.
        bits: u16,
    },
    /// A column that is always NULL.
    Null,
    /// A type this reader cannot lay out; decoding a non-NULL value fails.
    Unsupported,
}

/// One column of a [`TableMap`].
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Type code as written in the table map.
    pub type_code: u8,
    /// Real type: for CHAR columns the STRING metadata may reveal ENUM or SET.
    pub real_type: u8,
    /// Raw per-type metadata (0..=2 bytes as little-endian number).
    pub metadata: u16,
    /// Whether the column may be NULL.
    pub nullable: bool,
    /// Signedness from optional metadata (`Some(true)` = UNSIGNED); `None`
    /// when absent or not numeric. Integers without it decode as signed.
    pub unsigned: Option<bool>,
    /// Collation number from optional metadata (63 = binary).
    pub charset: Option<u16>,
    /// Column name from optional metadata.
    pub name: Option<String>,
    /// ENUM labels or SET members from optional metadata.
    pub labels: Option<Vec<String>>,
    /// Geometry subtype from optional metadata.
    pub geometry_type: Option<u32>,
    /// Visibility from optional metadata (`false` = INVISIBLE).
    pub visible: Option<bool>,
    /// VECTOR dimensionality from optional metadata.
    pub vector_dimensions: Option<u32>,
    /// Declared maximum length in bytes for CHAR/VARCHAR, if known.
    pub max_length: Option<u32>,
    /// How values are laid out.
    pub layout: Layout,
}

impl Column {
    /// SQL-ish name of the column's real type.
    pub fn type_name(&self) -> &'static str {
        column_type_name(self.real_type)
    }

    fn is_numeric(&self) -> bool {
        matches!(
            self.real_type,
            ct::TINY
                | ct::SHORT
                | ct::INT24
                | ct::LONG
                | ct::LONGLONG
                | ct::DECIMAL
                | ct::NEWDECIMAL
                | ct::FLOAT
                | ct::DOUBLE
                | ct::YEAR
        )
    }

    fn is_character(&self) -> bool {
        matches!(
            self.real_type,
            ct::STRING
                | ct::VAR_STRING
                | ct::VARCHAR
                | ct::BLOB
                | ct::TINY_BLOB
                | ct::MEDIUM_BLOB
                | ct::LONG_BLOB
                | ct::BLOB_COMPRESSED
                | ct::VARCHAR_COMPRESSED
        )
    }

    fn is_enum_or_set(&self) -> bool {
        matches!(self.real_type, ct::ENUM | ct::SET)
    }

    /// True when the column's values are binary (collation 63).
    pub fn is_binary(&self) -> bool {
        self.charset == Some(BINARY_CHARSET)
    }
}

/// A decoded TABLE_MAP event: which table a table id stands for and how its
/// columns are encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct TableMap {
    /// Absolute position of the TABLE_MAP event.
    pub position: u64,
    /// Table id used by the rows events that follow.
    pub table_id: u64,
    /// Table-map flags.
    pub flags: u16,
    /// Database name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Columns in table order.
    pub columns: Vec<Column>,
    /// Primary key columns (index, prefix length; 0 = whole column).
    pub primary_key: Vec<(usize, u32)>,
    /// Number of JSON columns (sizes the partial-update bitmap).
    pub json_columns: usize,
}

impl TableMap {
    /// `schema.table` for messages.
    pub fn qualified_name(&self) -> String {
        format!("`{}`.`{}`", self.schema, self.table)
    }

    /// Parses the body of a TABLE_MAP event (`body` starts at the
    /// post-header, absolute offset `base`; checksum already removed).
    pub(crate) fn parse(
        body: &[u8],
        base: u64,
        post_header_len: u8,
        position: u64,
    ) -> Result<TableMap> {
        let mut r = Rd::new(body, base);
        let table_id = if post_header_len == 6 {
            u64::from(r.u32("table id")?)
        } else {
            r.uint_n(6, "table id")?
        };
        let flags = r.u16("table map flags")?;
        if post_header_len > 8 {
            r.skip(usize::from(post_header_len) - 8, "table map post-header")?;
        }
        let n = r.u8("schema name length")?;
        let schema = lossy(r.bytes(usize::from(n), "schema name")?);
        r.skip(1, "schema name terminator")?;
        let n = r.u8("table name length")?;
        let table = lossy(r.bytes(usize::from(n), "table name")?);
        r.skip(1, "table name terminator")?;
        let at = r.offset();
        let count = r.packed("column count")?;
        if count > r.remaining() as u64 {
            return Err(Error::malformed(
                at,
                format!("column count {count} exceeds the event size"),
            ));
        }
        let count = count as usize;
        let types = r.bytes(count, "column types")?;
        let meta_len = r.packed_len("metadata length")?;
        let meta_at = r.offset();
        let meta = r.bytes(meta_len, "column metadata")?;
        let nulls = r.bytes(count.div_ceil(8), "null bitmap")?;
        let mut columns = Vec::with_capacity(count);
        let mut m = Rd::new(meta, meta_at);
        for (i, &t) in types.iter().enumerate() {
            columns.push(column_from_meta(t, &mut m, bit(nulls, i))?);
        }
        let json_columns = columns.iter().filter(|c| c.type_code == ct::JSON).count();
        let mut tm = TableMap {
            position,
            table_id,
            flags,
            schema,
            table,
            columns,
            primary_key: Vec::new(),
            json_columns,
        };
        // Optional metadata: TLV (type u8, packed length, value).
        while !r.is_empty() {
            let t = r.u8("optional metadata type")?;
            let vat = r.offset();
            let len = r.packed_len("optional metadata length")?;
            let v = r.bytes(len, "optional metadata")?;
            tm.apply_optional(t, v, vat)?;
        }
        Ok(tm)
    }

    fn apply_optional(&mut self, t: u8, v: &[u8], at: u64) -> Result<()> {
        use optional_field::*;
        let mut r = Rd::new(v, at);
        match t {
            SIGNEDNESS => {
                for (k, c) in self
                    .columns
                    .iter_mut()
                    .filter(|c| c.is_numeric())
                    .enumerate()
                {
                    // Most significant bit first.
                    let byte = v.get(k / 8).copied().unwrap_or(0);
                    c.unsigned = Some(byte & (0x80 >> (k % 8)) != 0);
                }
            }
            DEFAULT_CHARSET | ENUM_AND_SET_DEFAULT_CHARSET => {
                let enum_set = t == ENUM_AND_SET_DEFAULT_CHARSET;
                let default = r.packed("default charset")? as u16;
                let mut exceptions = Vec::new();
                while !r.is_empty() {
                    let idx = r.packed("charset column index")?;
                    let cs = r.packed("charset")? as u16;
                    exceptions.push((idx, cs));
                }
                let mut k = 0u64;
                for c in self.columns.iter_mut() {
                    let take = if enum_set {
                        c.is_enum_or_set()
                    } else {
                        c.is_character()
                    };
                    if take {
                        c.charset = Some(
                            exceptions
                                .iter()
                                .find(|(i, _)| *i == k)
                                .map(|(_, cs)| *cs)
                                .unwrap_or(default),
                        );
                        k += 1;
                    }
                }
            }
            COLUMN_CHARSET | ENUM_AND_SET_COLUMN_CHARSET => {
                let enum_set = t == ENUM_AND_SET_COLUMN_CHARSET;
                for c in self.columns.iter_mut() {
                    let take = if enum_set {
                        c.is_enum_or_set()
                    } else {
                        c.is_character()
                    };
                    if take && !r.is_empty() {
                        c.charset = Some(r.packed("column charset")? as u16);
                    }
                }
            }
            COLUMN_NAME => {
                for c in self.columns.iter_mut() {
                    if r.is_empty() {
                        break;
                    }
                    c.name = Some(lossy(r.packed_bytes("column name")?));
                }
            }
            SET_STR_VALUE | ENUM_STR_VALUE => {
                let want = if t == SET_STR_VALUE {
                    ct::SET
                } else {
                    ct::ENUM
                };
                for c in self.columns.iter_mut().filter(|c| c.real_type == want) {
                    if r.is_empty() {
                        break;
                    }
                    let n = r.packed_len("label count")?;
                    let mut labels = Vec::with_capacity(n.min(v.len()));
                    for _ in 0..n {
                        labels.push(lossy(r.packed_bytes("label")?));
                    }
                    c.labels = Some(labels);
                }
            }
            GEOMETRY_TYPE => {
                for c in self
                    .columns
                    .iter_mut()
                    .filter(|c| c.real_type == ct::GEOMETRY)
                {
                    if r.is_empty() {
                        break;
                    }
                    c.geometry_type = Some(r.packed("geometry type")? as u32);
                }
            }
            SIMPLE_PRIMARY_KEY => {
                while !r.is_empty() {
                    let i = r.packed("primary key column")? as usize;
                    self.primary_key.push((i, 0));
                }
            }
            PRIMARY_KEY_WITH_PREFIX => {
                while !r.is_empty() {
                    let i = r.packed("primary key column")? as usize;
                    let p = r.packed("primary key prefix")? as u32;
                    self.primary_key.push((i, p));
                }
            }
            COLUMN_VISIBILITY => {
                for (i, c) in self.columns.iter_mut().enumerate() {
                    let byte = v.get(i / 8).copied().unwrap_or(0xff);
                    c.visible = Some(byte & (0x80 >> (i % 8)) != 0);
                }
            }
            VECTOR_DIMENSIONALITY => {
                for c in self
                    .columns
                    .iter_mut()
                    .filter(|c| c.real_type == ct::VECTOR)
                {
                    if r.is_empty() {
                        break;
                    }
                    c.vector_dimensions = Some(r.packed("vector dimensionality")? as u32);
                }
            }
            // Unknown optional fields are skipped: their length is explicit.
            _ => {}
        }
        Ok(())
    }

    /// Builds a table map from parts (used by tests and fuzzing).
    pub fn from_parts(
        table_id: u64,
        schema: &str,
        table: &str,
        types: &[u8],
        meta: &[u8],
    ) -> Result<TableMap> {
        let mut m = Rd::new(meta, 0);
        let mut columns = Vec::with_capacity(types.len());
        for &t in types {
            columns.push(column_from_meta(t, &mut m, true)?);
        }
        let json_columns = columns.iter().filter(|c| c.type_code == ct::JSON).count();
        Ok(TableMap {
            position: 0,
            table_id,
            flags: 0,
            schema: schema.to_string(),
            table: table.to_string(),
            columns,
            primary_key: Vec::new(),
            json_columns,
        })
    }
}

/// Reads one column's type metadata (`Table_map_log_event::save_field_metadata`
/// per type) and derives its layout.
fn column_from_meta(t: u8, m: &mut Rd<'_>, nullable: bool) -> Result<Column> {
    let at = m.offset();
    let (metadata, real_type, layout, max_length) = match t {
        ct::TINY => (0, t, Layout::Int { bytes: 1 }, None),
        ct::SHORT => (0, t, Layout::Int { bytes: 2 }, None),
        ct::INT24 => (0, t, Layout::Int { bytes: 3 }, None),
        ct::LONG => (0, t, Layout::Int { bytes: 4 }, None),
        ct::LONGLONG => (0, t, Layout::Int { bytes: 8 }, None),
        ct::YEAR => (0, t, Layout::Year, None),
        ct::NULL => (0, t, Layout::Null, None),
        ct::DATE | ct::NEWDATE => (0, t, Layout::Date, None),
        ct::TIME => (0, t, Layout::TimeOld, None),
        ct::DATETIME => (0, t, Layout::DateTimeOld, None),
        ct::TIMESTAMP => (0, t, Layout::TimestampOld, None),
        ct::FLOAT | ct::DOUBLE => {
            let v = m.u8("float metadata")?;
            let l = if t == ct::FLOAT {
                Layout::Float
            } else {
                Layout::Double
            };
            (u16::from(v), t, l, None)
        }
        ct::TIMESTAMP2 | ct::DATETIME2 | ct::TIME2 => {
            let fsp = m.u8("fractional seconds precision")?;
            if fsp > 6 {
                return Err(Error::malformed(
                    at,
                    format!("fractional seconds precision {fsp} > 6"),
                ));
            }
            let l = match t {
                ct::TIMESTAMP2 => Layout::Timestamp2 { fsp },
                ct::DATETIME2 => Layout::DateTime2 { fsp },
                _ => Layout::Time2 { fsp },
            };
            (u16::from(fsp), t, l, None)
        }
        ct::VARCHAR | ct::VAR_STRING | ct::VARCHAR_COMPRESSED => {
            let max = m.u16("varchar max length")?;
            let len_bytes = if max < 256 { 1 } else { 2 };
            let l = if t == ct::VARCHAR_COMPRESSED {
                Layout::Unsupported
            } else {
                Layout::VarString { len_bytes }
            };
            (max, t, l, Some(u32::from(max)))
        }
        ct::BIT => {
            let bits = m.u8("bit metadata")?;
            let bytes = m.u8("bit metadata")?;
            let n = u16::from(bytes) * 8 + u16::from(bits);
            (
                u16::from(bits) | (u16::from(bytes) << 8),
                t,
                Layout::Bit { bits: n },
                None,
            )
        }
        ct::NEWDECIMAL => {
            let precision = m.u8("decimal precision")?;
            let scale = m.u8("decimal scale")?;
            if !crate::decimal::valid_decimal(precision, scale) {
                return Err(Error::malformed(
                    at,
                    format!("invalid DECIMAL({precision},{scale})"),
                ));
            }
            (
                u16::from(precision) | (u16::from(scale) << 8),
                t,
                Layout::Decimal { precision, scale },
                None,
            )
        }
        ct::BLOB
        | ct::TINY_BLOB
        | ct::MEDIUM_BLOB
        | ct::LONG_BLOB
        | ct::GEOMETRY
        | ct::JSON
        | ct::VECTOR
        | ct::BLOB_COMPRESSED => {
            let n = m.u8("blob length bytes")?;
            if !(1..=4).contains(&n) {
                return Err(Error::malformed(
                    at,
                    format!(
                        "invalid length-prefix width {n} for {}",
                        column_type_name(t)
                    ),
                ));
            }
            let l = if t == ct::BLOB_COMPRESSED {
                Layout::Unsupported
            } else {
                Layout::Blob { len_bytes: n }
            };
            (u16::from(n), t, l, None)
        }
        ct::STRING | ct::ENUM | ct::SET => {
            let b0 = m.u8("string metadata")?;
            let b1 = m.u8("string metadata")?;
            let metadata = u16::from(b0) << 8 | u16::from(b1);
            // Long CHAR: bits 4-5 of byte 0 hold (inverted) bits 8-9 of the length.
            let (real, len) = if b0 != 0 && (b0 & 0x30) != 0x30 {
                (
                    b0 | 0x30,
                    u32::from(b1) | (u32::from((b0 & 0x30) ^ 0x30) << 4),
                )
            } else if b0 == 0 {
                (ct::STRING, u32::from(b1))
            } else {
                (b0, u32::from(b1))
            };
            let real = if t == ct::STRING { real } else { t };
            let layout = match real {
                ct::ENUM => match b1 {
                    1 | 2 => Layout::Enum { bytes: b1 },
                    _ => return Err(Error::malformed(at, format!("invalid ENUM width {b1}"))),
                },
                ct::SET => match b1 {
                    1..=8 => Layout::Set { bytes: b1 },
                    _ => return Err(Error::malformed(at, format!("invalid SET width {b1}"))),
                },
                _ => Layout::VarString {
                    len_bytes: if len < 256 { 1 } else { 2 },
                },
            };
            let real = if matches!(real, ct::ENUM | ct::SET) {
                real
            } else {
                ct::STRING
            };
            (
                metadata,
                real,
                layout,
                if matches!(layout, Layout::VarString { .. }) {
                    Some(len)
                } else {
                    None
                },
            )
        }
        ct::TYPED_ARRAY => {
            return Err(Error::new(
                replog_core::ErrorKind::Unsupported,
                at,
                "TYPED_ARRAY columns are only used inside the server".to_string(),
            ));
        }
        ct::DECIMAL => (0, t, Layout::Unsupported, None),
        _ => {
            return Err(Error::new(
                replog_core::ErrorKind::Unsupported,
                at,
                format!("unknown column type {t} in table map (its metadata size is unknown)"),
            ));
        }
    };
    Ok(Column {
        type_code: t,
        real_type,
        metadata,
        nullable,
        unsigned: None,
        charset: None,
        name: None,
        labels: None,
        geometry_type: None,
        visible: None,
        vector_dimensions: None,
        max_length,
        layout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_char_metadata() {
        // CHAR(255) in utf8mb4 = 1020 bytes: 1020 = 0x3FC; bits 8-9 (0x3)
        // are stored inverted in bits 4-5 of byte 0: 0xFE ^ 0x30 = 0xCE.
        #[rustfmt::skip]
        let meta = [
            0xce, 0xfc, // real type 0xfe with length bits, low byte 0xfc
        ];
        let tm = TableMap::from_parts(1, "d", "t", &[ct::STRING], &meta).unwrap();
        let c = &tm.columns[0];
        assert_eq!(c.real_type, ct::STRING);
        assert_eq!(c.max_length, Some(1020));
        assert_eq!(c.layout, Layout::VarString { len_bytes: 2 });
    }

    #[test]
    fn enum_and_set_hidden_in_string_metadata() {
        #[rustfmt::skip]
        let meta = [
            0xf7, 0x01, // ENUM, 1-byte index
            0xf8, 0x02, // SET, 2-byte mask
            0xfe, 0x0a, // CHAR(10)
        ];
        let tm = TableMap::from_parts(1, "d", "t", &[ct::STRING, ct::STRING, ct::STRING], &meta)
            .unwrap();
        assert_eq!(tm.columns[0].layout, Layout::Enum { bytes: 1 });
        assert_eq!(tm.columns[1].layout, Layout::Set { bytes: 2 });
        assert_eq!(tm.columns[2].layout, Layout::VarString { len_bytes: 1 });
        assert_eq!(tm.columns[2].max_length, Some(10));
    }

    #[test]
    fn bad_metadata_is_an_error() {
        let e = TableMap::from_parts(1, "d", "t", &[ct::NEWDECIMAL], &[70, 2]).unwrap_err();
        assert!(e.to_string().contains("DECIMAL(70,2)"));
        assert!(TableMap::from_parts(1, "d", "t", &[ct::VARCHAR], &[1]).is_err());
        assert!(TableMap::from_parts(1, "d", "t", &[200], &[]).is_err());
    }
}
