//! Change rows accumulated into Arrow record batches: the generic
//! `changes` rows ([`ChangesBuilder`]) and a typed table's rows
//! ([`TableBuilder`]).

use crate::changes::{Row, TableColumns};
use crate::error::{Error, Result};
use crate::schema::{Conv, SchemaRef, UTC, changes_schema};
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use replog_core::Value;
use replog_core::value::{days_from_civil, pg};
use replog_logical::{ColumnValue, Tuple};
use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::Arc;

/// The metadata columns of a change ([`crate::schema::metadata_fields`]).
struct MetaBuilder {
    source_file: StringBuilder,
    position: StringBuilder,
    gtid: StringBuilder,
    lsn: Int64Builder,
    commit_time: TimestampMicrosecondBuilder,
    txid: Int64Builder,
    seq: Int32Builder,
    op: StringBuilder,
    database: StringBuilder,
    table: StringBuilder,
}

impl MetaBuilder {
    fn new() -> MetaBuilder {
        MetaBuilder {
            source_file: StringBuilder::new(),
            position: StringBuilder::new(),
            gtid: StringBuilder::new(),
            lsn: Int64Builder::new(),
            commit_time: TimestampMicrosecondBuilder::new().with_timezone(UTC),
            txid: Int64Builder::new(),
            seq: Int32Builder::new(),
            op: StringBuilder::new(),
            database: StringBuilder::new(),
            table: StringBuilder::new(),
        }
    }

    fn push(&mut self, c: &Row<'_>) {
        self.source_file.append_value(&c.tx.source_file);
        self.position.append_value(&c.tx.position);
        self.gtid.append_option(c.tx.gtid.as_deref());
        self.lsn
            .append_value(i64::try_from(c.lsn).unwrap_or(i64::MAX));
        self.commit_time.append_value(c.tx.commit_us);
        self.txid.append_value(c.tx.txid);
        self.seq
            .append_value(i32::try_from(c.seq).unwrap_or(i32::MAX));
        self.op.append_value(c.op);
        self.database.append_value(&c.table.database);
        self.table.append_value(&c.table.table);
    }

    fn finish(&mut self, out: &mut Vec<ArrayRef>) {
        out.push(Arc::new(self.source_file.finish()));
        out.push(Arc::new(self.position.finish()));
        out.push(Arc::new(self.gtid.finish()));
        out.push(Arc::new(self.lsn.finish()));
        out.push(Arc::new(self.commit_time.finish()));
        out.push(Arc::new(self.txid.finish()));
        out.push(Arc::new(self.seq.finish()));
        out.push(Arc::new(self.op.finish()));
        out.push(Arc::new(self.database.finish()));
        out.push(Arc::new(self.table.finish()));
    }
}

/// Rows of the generic `changes` table.
pub struct ChangesBuilder {
    meta: MetaBuilder,
    key: StringBuilder,
    before: StringBuilder,
    after: StringBuilder,
    json: Vec<u8>,
    rows: usize,
    schema: SchemaRef,
}

impl Default for ChangesBuilder {
    fn default() -> Self {
        ChangesBuilder::new()
    }
}

impl ChangesBuilder {
    /// An empty batch.
    pub fn new() -> ChangesBuilder {
        ChangesBuilder {
            meta: MetaBuilder::new(),
            key: StringBuilder::new(),
            before: StringBuilder::new(),
            after: StringBuilder::new(),
            json: Vec::new(),
            rows: 0,
            schema: changes_schema(),
        }
    }

    /// Rows added since the last [`ChangesBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was added since the last finish.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Adds one change.
    pub fn push(&mut self, c: &Row<'_>) -> Result<()> {
        let key_image = if c.op == "delete" { c.before } else { c.after };
        match key_image {
            Some(t) if !c.columns.identity.is_empty() => {
                write_json(&mut self.json, c, &t, Some(&c.columns.identity))?;
                self.key.append_value(json_str(&self.json));
            }
            _ => self.key.append_null(),
        }
        for (image, b) in [(c.before, &mut self.before), (c.after, &mut self.after)] {
            match image {
                Some(t) => {
                    write_json(&mut self.json, c, &t, None)?;
                    b.append_value(json_str(&self.json));
                }
                None => b.append_null(),
            }
        }
        self.meta.push(c);
        self.rows += 1;
        Ok(())
    }

    /// The rows added so far as one batch; the builder is empty after.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let mut cols = Vec::with_capacity(self.schema.fields().len());
        self.meta.finish(&mut cols);
        cols.push(Arc::new(self.key.finish()));
        cols.push(Arc::new(self.before.finish()));
        cols.push(Arc::new(self.after.finish()));
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), cols)?)
    }
}

/// The JSON text just written (always UTF-8: serde_json writes only valid
/// UTF-8).
fn json_str(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// Writes `t` as a JSON object `{"column": value, …}` into `out` (only the
/// columns `only` lists when given; unchanged columns are left out).
fn write_json(out: &mut Vec<u8>, c: &Row<'_>, t: &Tuple<'_>, only: Option<&[usize]>) -> Result<()> {
    out.clear();
    out.push(b'{');
    let mut first = true;
    for (i, v) in t.values().enumerate() {
        let v = v?;
        if only.is_some_and(|o| !o.contains(&i)) {
            continue;
        }
        let ColumnValue::Value(v) = v else { continue };
        let Some(col) = c.table.columns.get(i) else {
            break;
        };
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *out, &col.name).map_err(json_error)?;
        out.push(b':');
        serde_json::to_writer(&mut *out, &v).map_err(json_error)?;
    }
    out.push(b'}');
    Ok(())
}

#[cold]
fn json_error(e: serde_json::Error) -> Error {
    Error::Content(format!("writing a row as JSON: {e}"))
}

/// One typed column's builder.
enum ColBuilder {
    Int(Int64Builder),
    UInt(UInt64Builder),
    Bool(BooleanBuilder),
    F32(Float32Builder),
    F64(Float64Builder),
    Decimal(Decimal128Builder, i8),
    Bytes(BinaryBuilder),
    Date(Date32Builder),
    Local(TimestampMicrosecondBuilder),
    Utc(TimestampMicrosecondBuilder),
    Text(StringBuilder),
}

impl ColBuilder {
    fn new(conv: Conv) -> ColBuilder {
        match conv {
            Conv::Int => ColBuilder::Int(Int64Builder::new()),
            Conv::UInt => ColBuilder::UInt(UInt64Builder::new()),
            Conv::Bool => ColBuilder::Bool(BooleanBuilder::new()),
            Conv::F32 => ColBuilder::F32(Float32Builder::new()),
            Conv::F64 => ColBuilder::F64(Float64Builder::new()),
            Conv::Decimal(p, s) => ColBuilder::Decimal(
                Decimal128Builder::new()
                    .with_precision_and_scale(p, s)
                    .unwrap_or_default(),
                s,
            ),
            Conv::Bytes => ColBuilder::Bytes(BinaryBuilder::new()),
            Conv::Date => ColBuilder::Date(Date32Builder::new()),
            Conv::LocalTime => ColBuilder::Local(TimestampMicrosecondBuilder::new()),
            Conv::UtcTime => ColBuilder::Utc(TimestampMicrosecondBuilder::new().with_timezone(UTC)),
            Conv::Text => ColBuilder::Text(StringBuilder::new()),
        }
    }

    fn append_null(&mut self) {
        match self {
            ColBuilder::Int(b) => b.append_null(),
            ColBuilder::UInt(b) => b.append_null(),
            ColBuilder::Bool(b) => b.append_null(),
            ColBuilder::F32(b) => b.append_null(),
            ColBuilder::F64(b) => b.append_null(),
            ColBuilder::Decimal(b, _) => b.append_null(),
            ColBuilder::Bytes(b) => b.append_null(),
            ColBuilder::Date(b) => b.append_null(),
            ColBuilder::Local(b) | ColBuilder::Utc(b) => b.append_null(),
            ColBuilder::Text(b) => b.append_null(),
        }
    }

    /// Appends `v`; false when it is of a kind the column cannot hold.
    fn append(&mut self, v: &Value<'_>, text: &mut String) -> bool {
        if matches!(v, Value::Null) {
            self.append_null();
            return true;
        }
        match self {
            ColBuilder::Int(b) => match v {
                Value::Int(x) => b.append_value(*x),
                Value::UInt(x) => match i64::try_from(*x) {
                    Ok(x) => b.append_value(x),
                    Err(_) => return false,
                },
                Value::Bool(x) => b.append_value(i64::from(*x)),
                _ => return false,
            },
            ColBuilder::UInt(b) => match v {
                Value::UInt(x) => b.append_value(*x),
                Value::Int(x) => match u64::try_from(*x) {
                    Ok(x) => b.append_value(x),
                    Err(_) => return false,
                },
                Value::Bool(x) => b.append_value(u64::from(*x)),
                Value::Bytes(x) if x.len() <= 8 => {
                    b.append_value(x.iter().fold(0u64, |a, &y| (a << 8) | u64::from(y)))
                }
                _ => return false,
            },
            ColBuilder::Bool(b) => match v {
                Value::Bool(x) => b.append_value(*x),
                Value::Int(x) => b.append_value(*x != 0),
                Value::UInt(x) => b.append_value(*x != 0),
                _ => return false,
            },
            ColBuilder::F32(b) => match v {
                Value::F32(x) => b.append_value(*x),
                _ => return false,
            },
            ColBuilder::F64(b) => match v {
                Value::F64(x) => b.append_value(*x),
                Value::F32(x) => b.append_value(f64::from(*x)),
                _ => return false,
            },
            ColBuilder::Decimal(b, scale) => match v {
                Value::Decimal(s) => match scaled_decimal(s, *scale) {
                    Some(x) => b.append_value(x),
                    None => return false,
                },
                Value::Int(x) => match scaled_decimal(&x.to_string(), *scale) {
                    Some(x) => b.append_value(x),
                    None => return false,
                },
                // NaN and the infinities of `numeric` have no decimal.
                Value::NumericSpecial(_) => b.append_null(),
                _ => return false,
            },
            ColBuilder::Bytes(b) => match v {
                Value::Bytes(x) => b.append_value(x),
                Value::Text(x) => b.append_value(x.as_bytes()),
                _ => return false,
            },
            ColBuilder::Date(b) => match v {
                Value::Date(d) if d.month != 0 && d.day != 0 => b.append_value(days_from_civil(
                    i64::from(d.year),
                    u32::from(d.month),
                    u32::from(d.day),
                )
                    as i32),
                // MySQL's zero dates have no calendar day.
                Value::Date(_) => b.append_null(),
                Value::PgDate(d) => match i32::try_from(i64::from(*d) + pg::EPOCH_DAYS_FROM_UNIX) {
                    Ok(x) if *d != pg::DATE_POS_INFINITY && *d != pg::DATE_NEG_INFINITY => {
                        b.append_value(x)
                    }
                    _ => b.append_null(),
                },
                _ => return false,
            },
            ColBuilder::Local(b) | ColBuilder::Utc(b) => match v {
                Value::DateTime(dt) if dt.date.month != 0 && dt.date.day != 0 => {
                    let days = days_from_civil(
                        i64::from(dt.date.year),
                        u32::from(dt.date.month),
                        u32::from(dt.date.day),
                    );
                    let secs = days * 86_400
                        + i64::from(dt.hour) * 3600
                        + i64::from(dt.minute) * 60
                        + i64::from(dt.second);
                    b.append_value(secs * 1_000_000 + i64::from(dt.micro));
                }
                Value::DateTime(_) => b.append_null(),
                Value::Timestamp(us) => b.append_value(*us),
                Value::PgTimestamp(t) | Value::PgTimestampTz(t) => {
                    if *t == pg::TS_POS_INFINITY || *t == pg::TS_NEG_INFINITY {
                        b.append_null()
                    } else {
                        b.append_value(t.saturating_add(pg::EPOCH_MICROS_FROM_UNIX))
                    }
                }
                _ => return false,
            },
            ColBuilder::Text(b) => match v {
                Value::Text(s)
                | Value::Enum(s)
                | Value::Set(s)
                | Value::Json(s)
                | Value::Decimal(s) => b.append_value(s),
                Value::Bytes(x) => match std::str::from_utf8(x) {
                    Ok(s) => b.append_value(s),
                    Err(_) => {
                        text.clear();
                        let _ = write!(text, "{v}");
                        b.append_value(&*text)
                    }
                },
                other => {
                    text.clear();
                    let _ = write!(text, "{other}");
                    b.append_value(&*text)
                }
            },
        }
        true
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColBuilder::Int(b) => Arc::new(b.finish()),
            ColBuilder::UInt(b) => Arc::new(b.finish()),
            ColBuilder::Bool(b) => Arc::new(b.finish()),
            ColBuilder::F32(b) => Arc::new(b.finish()),
            ColBuilder::F64(b) => Arc::new(b.finish()),
            ColBuilder::Decimal(b, _) => Arc::new(b.finish()),
            ColBuilder::Bytes(b) => Arc::new(b.finish()),
            ColBuilder::Date(b) => Arc::new(b.finish()),
            ColBuilder::Local(b) | ColBuilder::Utc(b) => Arc::new(b.finish()),
            ColBuilder::Text(b) => Arc::new(b.finish()),
        }
    }
}

/// The canonical decimal text `-?digits(.digits)?` as an integer scaled by
/// 10^scale; None when it has more fraction digits than `scale` or does
/// not fit.
pub fn scaled_decimal(s: &str, scale: i8) -> Option<i128> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let scale = usize::try_from(scale).ok()?;
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale || int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v: i128 = 0;
    for ch in int.bytes().chain(frac.bytes()) {
        if !ch.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i128::from(ch - b'0'))?;
    }
    for _ in frac.len()..scale {
        v = v.checked_mul(10)?;
    }
    Some(if neg { -v } else { v })
}

/// Rows of one table's typed dataset.
pub struct TableBuilder {
    table: Rc<TableColumns>,
    name: String,
    meta: MetaBuilder,
    before: Vec<ColBuilder>,
    after: Vec<ColBuilder>,
    text: String,
    rows: usize,
}

impl TableBuilder {
    /// An empty batch of `table`'s rows.
    pub fn new(name: String, table: Rc<TableColumns>) -> TableBuilder {
        let cols = |t: &TableColumns| t.convs.iter().map(|&c| ColBuilder::new(c)).collect();
        TableBuilder {
            name,
            before: cols(&table),
            after: cols(&table),
            table,
            meta: MetaBuilder::new(),
            text: String::new(),
            rows: 0,
        }
    }

    /// The table's columns.
    pub fn columns(&self) -> &Rc<TableColumns> {
        &self.table
    }

    /// Rows added since the last finish.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was added since the last finish.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Adds one change of this table.
    pub fn push(&mut self, c: &Row<'_>) -> Result<()> {
        for (image, side, name) in [
            (c.before, &mut self.before, "before"),
            (c.after, &mut self.after, "after"),
        ] {
            let Some(t) = image else {
                side.iter_mut().for_each(ColBuilder::append_null);
                continue;
            };
            let mut n = 0;
            for (i, (v, b)) in t.values().zip(side.iter_mut()).enumerate() {
                n += 1;
                match v? {
                    ColumnValue::Unchanged => b.append_null(),
                    ColumnValue::Value(v) => {
                        if !b.append(&v, &mut self.text) {
                            let col = c.table.columns.get(i);
                            return Err(Error::Content(format!(
                                "LSN {}: {name} image of {}: column {} holds a {} value, which its Arrow type {:?} cannot hold",
                                c.lsn,
                                self.name,
                                col.map_or("?", |c| c.name.as_str()),
                                v.kind_name(),
                                self.table.convs.get(i).map(|c| c.data_type()),
                            )));
                        }
                    }
                }
            }
            // A row of another width is refused by read_changes; the
            // columns past the tuple stay aligned all the same.
            side.iter_mut().skip(n).for_each(ColBuilder::append_null);
        }
        self.meta.push(c);
        self.rows += 1;
        Ok(())
    }

    /// The rows added so far as one batch; the builder is empty after.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let mut cols = Vec::with_capacity(self.table.schema.fields().len());
        self.meta.finish(&mut cols);
        cols.extend(self.before.iter_mut().map(ColBuilder::finish));
        cols.extend(self.after.iter_mut().map(ColBuilder::finish));
        self.rows = 0;
        Ok(RecordBatch::try_new(self.table.schema.clone(), cols)?)
    }
}

#[cfg(test)]
mod tests {
    use super::scaled_decimal;

    #[test]
    fn decimals_scale_exactly_or_not_at_all() {
        assert_eq!(scaled_decimal("12.5", 2), Some(1250));
        assert_eq!(scaled_decimal("-0.01", 2), Some(-1));
        assert_eq!(scaled_decimal("7", 0), Some(7));
        assert_eq!(scaled_decimal("1.230", 2), Some(123));
        assert_eq!(scaled_decimal("1.235", 2), None);
        assert_eq!(scaled_decimal("1e5", 2), None);
        assert_eq!(scaled_decimal("", 2), None);
        assert_eq!(
            scaled_decimal("99999999999999999999999999999999999999999", 0),
            None
        );
    }
}
