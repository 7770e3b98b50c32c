//! Rows events (WRITE/UPDATE/DELETE_ROWS v1 23-25, v2 30-32,
//! PARTIAL_UPDATE_ROWS 39, MariaDB compressed 166-171) and row images.
//!
//! Body after the post-header (table id, flags, and for v2 the extra-data
//! length that counts itself): column count (packed), the columns-present
//! bitmap of the before image (or the only image), for updates a second
//! bitmap for the after image, then row images until the end. Each image is
//! a NULL bitmap over the present columns followed by the non-NULL values.
//! PARTIAL_UPDATE_ROWS prefixes each after image with `value_options`
//! (packed); bit 0 announces a bitmap over the table's JSON columns whose set
//! bits mark columns stored as diffs.
//!
//! Decoding is lazy: [`RowsEvent::rows`] yields one [`RowChange`] at a time and
//! values borrow from the event.

use crate::consts::{BINARY_CHARSET, column_type as ct};
use crate::rd::{Rd, be_uint, bit};
use crate::table_map::{Column, Layout, TableMap};
use crate::{decimal, json, temporal};
use replog_core::{Error, ErrorKind, Result, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// What a rows event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsKind {
    /// WRITE_ROWS: after images only.
    Write,
    /// UPDATE_ROWS: before and after images.
    Update,
    /// DELETE_ROWS: before images only.
    Delete,
    /// PARTIAL_UPDATE_ROWS: before and after images, JSON columns possibly as diffs.
    PartialUpdate,
}

/// A rows event. Rows are decoded on demand by [`RowsEvent::rows`].
#[derive(Debug, Clone)]
pub struct RowsEvent<'a> {
    /// Absolute position of the event.
    pub position: u64,
    /// Write, update, delete or partial update.
    pub kind: RowsKind,
    /// 1 for v1 (and MariaDB) events, 2 for v2 events.
    pub version: u8,
    /// Whether the row data was zlib-compressed (MariaDB 166-171).
    pub compressed: bool,
    /// Table id, matching a preceding TABLE_MAP.
    pub table_id: u64,
    /// Rows-event flags (`STMT_END_F` = 1, ...).
    pub flags: u16,
    /// v2 extra data (without its 2-byte length), kept raw.
    pub extra_data: &'a [u8],
    /// Number of columns of the table as the event sees it.
    pub column_count: usize,
    /// Indexes of the columns present in the before image (or the only image).
    pub columns_before: Vec<u32>,
    /// Indexes of the columns present in the after image (updates only).
    pub columns_after: Vec<u32>,
    /// The table map this event refers to (`None` only for an event with no
    /// row data whose table id is unknown).
    pub table: Option<Arc<TableMap>>,
    data: Cow<'a, [u8]>,
    /// A pre-GA rows event (codes 20-22): its row images are not decoded.
    pre_ga: bool,
    /// Absolute offset of the row data (for compressed events, the offset of
    /// the compressed data: offsets inside are relative to it).
    data_offset: u64,
}

/// One row image: the values of the present columns, in column order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    /// Table column index of each value.
    pub columns: &'a [u32],
    /// Values, one per present column.
    pub values: Vec<Value<'a>>,
    /// Positions (into `values`) of JSON columns stored as partial-update
    /// diffs; those values are `Value::Bytes` holding the raw diff list
    /// (decode with [`json::decode_json_diffs`]).
    pub json_diffs: Vec<usize>,
}

impl<'a> Row<'a> {
    /// The value of table column `col`, if present in this image.
    pub fn get(&self, col: usize) -> Option<&Value<'a>> {
        let i = self.columns.iter().position(|&c| c as usize == col)?;
        self.values.get(i)
    }

    /// (column index, value) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Value<'a>)> {
        self.columns
            .iter()
            .map(|&c| c as usize)
            .zip(self.values.iter())
    }
}

/// One row change: a before image (update, delete), an after image (write,
/// update) or both.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowChange<'a> {
    /// The row before the change.
    pub before: Option<Row<'a>>,
    /// The row after the change.
    pub after: Option<Row<'a>>,
}

impl<'a> RowsEvent<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn parse(
        code: u8,
        body: &'a [u8],
        base: u64,
        post_header_len: u8,
        position: u64,
        tables: &std::collections::HashMap<u64, Arc<TableMap>>,
        max_size: usize,
    ) -> Result<RowsEvent<'a>> {
        use crate::consts::event_type as et;
        let (kind, version, compressed) = match code {
            et::WRITE_ROWS_V1 | et::PRE_GA_WRITE_ROWS => (RowsKind::Write, 1, false),
            et::UPDATE_ROWS_V1 | et::PRE_GA_UPDATE_ROWS => (RowsKind::Update, 1, false),
            et::DELETE_ROWS_V1 | et::PRE_GA_DELETE_ROWS => (RowsKind::Delete, 1, false),
            et::WRITE_ROWS => (RowsKind::Write, 2, false),
            et::UPDATE_ROWS => (RowsKind::Update, 2, false),
            et::DELETE_ROWS => (RowsKind::Delete, 2, false),
            et::PARTIAL_UPDATE_ROWS => (RowsKind::PartialUpdate, 2, false),
            et::WRITE_ROWS_COMPRESSED_V1 => (RowsKind::Write, 1, true),
            et::UPDATE_ROWS_COMPRESSED_V1 => (RowsKind::Update, 1, true),
            et::DELETE_ROWS_COMPRESSED_V1 => (RowsKind::Delete, 1, true),
            et::WRITE_ROWS_COMPRESSED => (RowsKind::Write, 2, true),
            et::UPDATE_ROWS_COMPRESSED => (RowsKind::Update, 2, true),
            _ => (RowsKind::Delete, 2, true),
        };
        let mut r = Rd::new(body, base);
        let table_id = if post_header_len == 6 {
            u64::from(r.u32("table id")?)
        } else {
            r.uint_n(6, "table id")?
        };
        let flags = r.u16("rows flags")?;
        let mut extra_data: &[u8] = &[];
        // v2 carries the extra-data length in the post-header (10 bytes);
        // MariaDB's v2-compressed types follow the same layout.
        let fixed = if post_header_len == 6 { 6 } else { 8 };
        if version == 2 && post_header_len >= 10 {
            let at = r.offset();
            let n = r.u16("extra data length")?;
            if n < 2 {
                return Err(Error::malformed(
                    at,
                    format!("rows extra-data length {n} < 2"),
                ));
            }
            if post_header_len > 10 {
                r.skip(usize::from(post_header_len) - 10, "rows post-header")?;
            }
            extra_data = r.bytes(usize::from(n) - 2, "rows extra data")?;
        } else if usize::from(post_header_len) > fixed {
            r.skip(usize::from(post_header_len) - fixed, "rows post-header")?;
        }
        let at = r.offset();
        let count = r.packed("column count")?;
        if count.div_ceil(8) > r.remaining() as u64 {
            return Err(Error::malformed(
                at,
                format!("column count {count} exceeds the event size"),
            ));
        }
        let column_count = count as usize;
        let nb = column_count.div_ceil(8);
        let before_bm = r.bytes(nb, "columns-present bitmap")?;
        let columns_before = present(before_bm, column_count);
        let columns_after = if matches!(kind, RowsKind::Update | RowsKind::PartialUpdate) {
            present(r.bytes(nb, "after-image columns bitmap")?, column_count)
        } else {
            Vec::new()
        };
        let data_offset = r.offset();
        let raw = r.rest();
        let data: Cow<'a, [u8]> = if compressed {
            Cow::Owned(crate::events::mariadb_uncompress(
                raw,
                data_offset,
                max_size,
            )?)
        } else {
            Cow::Borrowed(raw)
        };
        let table = tables.get(&table_id).cloned();
        if table.is_none() && !data.is_empty() {
            return Err(Error::new(
                ErrorKind::Mismatch,
                position,
                format!("rows event refers to table id {table_id} with no preceding TABLE_MAP"),
            ));
        }
        if let Some(t) = &table
            && column_count > t.columns.len()
        {
            return Err(Error::malformed(
                at,
                format!(
                    "rows event has {column_count} columns but the table map of {} has {}",
                    t.qualified_name(),
                    t.columns.len()
                ),
            ));
        }
        Ok(RowsEvent {
            position,
            kind,
            version,
            compressed,
            table_id,
            flags,
            extra_data,
            column_count,
            columns_before,
            columns_after,
            table,
            data,
            pre_ga: matches!(
                code,
                et::PRE_GA_WRITE_ROWS | et::PRE_GA_UPDATE_ROWS | et::PRE_GA_DELETE_ROWS
            ),
            data_offset,
        })
    }

    /// The raw row data (decompressed for MariaDB compressed events).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Whether this event ends its statement (`STMT_END_F`).
    pub fn is_stmt_end(&self) -> bool {
        self.flags & crate::consts::STMT_END_F != 0
    }

    /// Iterates over the row changes, decoding each on demand. The iterator
    /// stops after the first error.
    pub fn rows(&self) -> RowIter<'_> {
        RowIter {
            ev: self,
            r: Rd::new(&self.data, self.data_offset),
            index: 0,
            done: false,
        }
    }

    /// Decodes every row (convenience over [`RowsEvent::rows`]).
    pub fn decode_all(&self) -> Result<Vec<RowChange<'_>>> {
        self.rows().collect()
    }
}

fn present(bm: &[u8], n: usize) -> Vec<u32> {
    (0..n).filter(|&i| bit(bm, i)).map(|i| i as u32).collect()
}

/// Iterator over the row changes of a [`RowsEvent`].
#[derive(Debug)]
pub struct RowIter<'e> {
    ev: &'e RowsEvent<'e>,
    r: Rd<'e>,
    index: u64,
    done: bool,
}

impl<'e> Iterator for RowIter<'e> {
    type Item = Result<RowChange<'e>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut change = RowChange::default();
        self.next_into(&mut change).map(|r| r.map(|()| change))
    }
}

impl<'e> RowIter<'e> {
    /// Like [`Iterator::next`], but decodes into `change`, reusing its
    /// images' storage: a loop over many rows allocates nothing per row.
    pub fn next_into(&mut self, change: &mut RowChange<'e>) -> Option<Result<()>> {
        if self.done || self.r.is_empty() {
            return None;
        }
        let start = self.r.offset();
        let mut res = self.next_change(change);
        if res.is_ok() && self.r.offset() == start {
            // An image with no columns consumes nothing: stop instead of
            // yielding it forever.
            res = Err(Error::malformed(
                start,
                format!(
                    "rows event at {} has row images of zero bytes",
                    self.ev.position
                ),
            ));
        }
        if res.is_err() {
            self.done = true;
        }
        self.index += 1;
        Some(res)
    }

    fn next_change(&mut self, change: &mut RowChange<'e>) -> Result<()> {
        let ev = self.ev;
        if ev.pre_ga {
            return Err(Error::new(
                ErrorKind::Unsupported,
                ev.data_offset,
                format!(
                    "rows event at {} is a pre-GA rows event (types 20-22, written by MySQL 5.1 alpha and beta servers): its row images use an older layout that this reader does not decode",
                    ev.position
                ),
            ));
        }
        let Some(table) = ev.table.as_deref() else {
            return Err(Error::new(
                ErrorKind::Mismatch,
                ev.position,
                "rows without a table map",
            ));
        };
        let (b, a, shared) = match ev.kind {
            RowsKind::Write => (false, true, false),
            RowsKind::Delete => (true, false, false),
            RowsKind::Update => (true, true, false),
            RowsKind::PartialUpdate => (true, true, true),
        };
        if b {
            let row = change.before.get_or_insert_with(Row::empty);
            self.image_into(table, &ev.columns_before, false, row)?;
        } else {
            change.before = None;
        }
        if a {
            let cols = if ev.kind == RowsKind::Write {
                &ev.columns_before
            } else {
                &ev.columns_after
            };
            let row = change.after.get_or_insert_with(Row::empty);
            self.image_into(table, cols, shared, row)?;
        } else {
            change.after = None;
        }
        Ok(())
    }

    fn image_into(
        &mut self,
        table: &'e TableMap,
        cols: &'e [u32],
        shared: bool,
        row: &mut Row<'e>,
    ) -> Result<()> {
        let ev = self.ev;
        let mut partial: &[u8] = &[];
        if shared {
            let opts = self.r.packed("value options")?;
            if opts & 1 != 0 {
                partial = self
                    .r
                    .bytes(table.json_columns.div_ceil(8), "partial JSON bitmap")?;
            }
        }
        let nulls = self.r.bytes(cols.len().div_ceil(8), "row NULL bitmap")?;
        row.columns = cols;
        row.values.clear();
        row.json_diffs.clear();
        let values = &mut row.values;
        let json_diffs = &mut row.json_diffs;
        for (k, &c) in cols.iter().enumerate() {
            let col = &table.columns[c as usize];
            let mut is_partial = false;
            if !partial.is_empty() && col.type_code == ct::JSON {
                // The partial bitmap numbers the table's JSON columns.
                let json_index = table.columns[..c as usize]
                    .iter()
                    .filter(|x| x.type_code == ct::JSON)
                    .count();
                is_partial = bit(partial, json_index);
            }
            if bit(nulls, k) {
                values.push(Value::Null);
                continue;
            }
            let at = self.r.offset();
            let v = if is_partial {
                json_diffs.push(values.len());
                decode_partial_json(col, &mut self.r)
            } else {
                decode_value(col, &mut self.r)
            };
            match v {
                Ok(v) => values.push(v),
                Err(e) => {
                    let name = col
                        .name
                        .as_deref()
                        .map(|n| format!(" `{n}`"))
                        .unwrap_or_default();
                    let off = e.offset().unwrap_or(at);
                    return Err(Error::new(
                        e.kind(),
                        off,
                        format!(
                            "row {} of rows event at {}, table {}, column {}{} ({}): {}",
                            self.index,
                            ev.position,
                            table.qualified_name(),
                            c,
                            name,
                            col.type_name(),
                            e.message()
                        ),
                    )
                    .with_record(self.index));
                }
            }
        }
        Ok(())
    }
}

impl Row<'_> {
    fn empty() -> Self {
        Row {
            columns: &[],
            values: Vec::new(),
            json_diffs: Vec::new(),
        }
    }
}

fn decode_partial_json<'b>(col: &Column, r: &mut Rd<'b>) -> Result<Value<'b>> {
    let n = match col.layout {
        Layout::Blob { len_bytes } => usize::from(len_bytes),
        _ => 4,
    };
    let len = r.uint_n(n, "JSON diff length")? as usize;
    let at = r.offset();
    let b = r.bytes(len, "JSON diffs")?;
    json::decode_json_diffs(b).map_err(|e| {
        Error::malformed(
            at + e.offset as u64,
            format!("bad JSON diff: {}", e.message),
        )
    })?;
    Ok(Value::Bytes(Cow::Borrowed(b)))
}

/// Decodes one non-NULL value of `col` from `r`.
///
/// Choices where the binlog does not say everything:
/// - integers are signed unless optional metadata marks the column UNSIGNED;
/// - CHAR/VARCHAR: `Bytes` for the binary collation (63), `Text` when valid
///   UTF-8 (latin1 collations are transcoded), otherwise `Bytes`;
/// - BLOB/TEXT: `Text` only when a non-binary collation is known, else `Bytes`;
/// - ENUM/SET without labels: `UInt` index / bitmask;
/// - BIT: `UInt`; YEAR: `Int`; GEOMETRY and VECTOR: `Bytes`.
pub(crate) fn decode_value<'b>(col: &'b Column, r: &mut Rd<'b>) -> Result<Value<'b>> {
    Ok(match col.layout {
        Layout::Int { bytes } => {
            let n = usize::from(bytes);
            let v = r.uint_n(n, "integer")?;
            if col.unsigned == Some(true) {
                Value::UInt(v)
            } else {
                let shift = 64 - 8 * n as u32;
                Value::Int(((v << shift) as i64) >> shift)
            }
        }
        Layout::Year => {
            let v = r.u8("year")?;
            Value::Int(if v == 0 { 0 } else { 1900 + i64::from(v) })
        }
        Layout::Float => Value::F32(f32::from_bits(r.u32("float")?)),
        Layout::Double => Value::F64(f64::from_bits(r.u64("double")?)),
        Layout::Decimal { precision, scale } => {
            let at = r.offset();
            let b = r.bytes(decimal::decimal_size(precision, scale), "decimal")?;
            match decimal::decode_decimal(b, precision, scale) {
                Some(s) => Value::Decimal(Cow::Owned(s)),
                None => return Err(Error::malformed(at, "invalid packed decimal digits")),
            }
        }
        Layout::Date => {
            let at = r.offset();
            let v = r.uint_n(3, "date")? as u32;
            Value::Date(temporal::date3(v).map_err(|e| invalid_temporal(col, at, e))?)
        }
        Layout::TimeOld => {
            let at = r.offset();
            let v = r.uint_n(3, "time")? as u32;
            let v = ((v << 8) as i32) >> 8;
            Value::Time(temporal::time_old(v).map_err(|e| invalid_temporal(col, at, e))?)
        }
        Layout::Time2 { fsp } => {
            let at = r.offset();
            let b = r.bytes(3 + temporal::frac_bytes(fsp), "time2")?;
            Value::Time(temporal::time2(b, fsp).map_err(|e| invalid_temporal(col, at, e))?)
        }
        Layout::DateTimeOld => {
            let at = r.offset();
            let v = r.u64("datetime")?;
            Value::DateTime(temporal::datetime_old(v).map_err(|e| invalid_temporal(col, at, e))?)
        }
        Layout::DateTime2 { fsp } => {
            let at = r.offset();
            let b = r.bytes(5 + temporal::frac_bytes(fsp), "datetime2")?;
            Value::DateTime(temporal::datetime2(b, fsp).map_err(|e| invalid_temporal(col, at, e))?)
        }
        Layout::TimestampOld => Value::Timestamp(i64::from(r.u32("timestamp")?) * 1_000_000),
        Layout::Timestamp2 { fsp } => {
            let at = r.offset();
            let b = r.bytes(4 + temporal::frac_bytes(fsp), "timestamp2")?;
            Value::Timestamp(
                temporal::timestamp2(b, fsp).map_err(|e| invalid_temporal(col, at, e))?,
            )
        }
        Layout::VarString { len_bytes } => {
            let n = r.uint_n(usize::from(len_bytes), "string length")? as usize;
            let b = r.bytes(n, "string")?;
            text_or_bytes(col, b, true)
        }
        Layout::Blob { len_bytes } => {
            let n = r.uint_n(usize::from(len_bytes), "blob length")? as usize;
            let at = r.offset();
            let b = r.bytes(n, "blob")?;
            match col.real_type {
                ct::JSON => match json::json_to_text(b) {
                    Ok(s) => Value::Json(Cow::Owned(s)),
                    Err(e) => {
                        return Err(Error::malformed(
                            at + e.offset as u64,
                            format!("bad binary JSON: {}", e.message),
                        ));
                    }
                },
                ct::GEOMETRY | ct::VECTOR => Value::Bytes(Cow::Borrowed(b)),
                _ => text_or_bytes(col, b, false),
            }
        }
        Layout::Enum { bytes } => {
            let v = r.uint_n(usize::from(bytes), "enum")?;
            match &col.labels {
                Some(_) if v == 0 => Value::Enum(Cow::Borrowed("")),
                Some(l) => match l.get(v as usize - 1) {
                    Some(s) => Value::Enum(Cow::Borrowed(s.as_str())),
                    None => Value::UInt(v),
                },
                None => Value::UInt(v),
            }
        }
        Layout::Set { bytes } => {
            let v = r.uint_n(usize::from(bytes), "set")?;
            match &col.labels {
                Some(l) => {
                    let mut s = String::new();
                    for (i, label) in l.iter().enumerate().take(64) {
                        if v & (1 << i) != 0 {
                            if !s.is_empty() {
                                s.push(',');
                            }
                            s.push_str(label);
                        }
                    }
                    Value::Set(Cow::Owned(s))
                }
                None => Value::UInt(v),
            }
        }
        Layout::Bit { bits } => {
            let n = usize::from(bits).div_ceil(8);
            let b = r.bytes(n, "bit")?;
            if n > 8 {
                Value::Bytes(Cow::Borrowed(b))
            } else {
                Value::UInt(be_uint(b))
            }
        }
        Layout::Null => Value::Null,
        Layout::Unsupported => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                r.offset(),
                format!("cannot decode values of type {}", col.type_name()),
            ));
        }
    })
}

/// The error for a temporal value with a field out of range, at the
/// value's absolute offset.
#[cold]
fn invalid_temporal(col: &Column, at: u64, e: temporal::OutOfRange) -> Error {
    Error::malformed(at, format!("invalid {} value: {e}", col.type_name()))
}

/// Collations whose bytes are latin1 (cp1252 in MySQL): transcoded to UTF-8.
fn is_latin1(cs: u16) -> bool {
    matches!(cs, 5 | 8 | 15 | 31 | 47 | 48 | 49 | 94)
}

fn text_or_bytes<'b>(col: &Column, b: &'b [u8], assume_text: bool) -> Value<'b> {
    match col.charset {
        Some(BINARY_CHARSET) => Value::Bytes(Cow::Borrowed(b)),
        Some(cs) if is_latin1(cs) && !b.is_ascii() => {
            Value::Text(Cow::Owned(b.iter().map(|&c| char::from(c)).collect()))
        }
        Some(_) => match std::str::from_utf8(b) {
            Ok(s) => Value::Text(Cow::Borrowed(s)),
            Err(_) => Value::Bytes(Cow::Borrowed(b)),
        },
        None if assume_text => match std::str::from_utf8(b) {
            Ok(s) => Value::Text(Cow::Borrowed(s)),
            Err(_) => Value::Bytes(Cow::Borrowed(b)),
        },
        None => Value::Bytes(Cow::Borrowed(b)),
    }
}

/// Decodes one row image of `table` from `data` (whose first byte is at
/// absolute offset `base`), with every column present. Used by fuzzing and
/// tests; returns the values and the bytes consumed.
pub fn decode_image<'b>(
    table: &'b TableMap,
    data: &'b [u8],
    base: u64,
) -> Result<(Vec<Value<'b>>, usize)> {
    let mut r = Rd::new(data, base);
    let n = table.columns.len();
    let nulls = r.bytes(n.div_ceil(8), "row NULL bitmap")?;
    let mut values = Vec::with_capacity(n);
    for (i, col) in table.columns.iter().enumerate() {
        if bit(nulls, i) {
            values.push(Value::Null);
        } else {
            values.push(decode_value(col, &mut r)?);
        }
    }
    let used = data.len() - r.remaining();
    Ok((values, used))
}
