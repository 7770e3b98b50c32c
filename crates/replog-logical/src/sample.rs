//! A small, fixed logical log covering every record type, every column type
//! and every value kind: the committed fixture
//! `fixtures/native/logical/sample.replog`.

use crate::{
    Column, ColumnType, ColumnValue, Ddl, Delete, ImageKind, Insert, LogicalRecord, Message,
    OldImage, Relation, Truncate, TupleBuf, Update,
};
use replog_core::value::{Date, DateTime};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, Error, LogKind, Result, Value};
use std::borrow::Cow;
use std::io::Write;

/// Leader time of the first sample transaction: 2023-11-14 22:13:20 UTC, in µs.
pub const SAMPLE_EPOCH_US: i64 = 1_700_000_000_000_000;

/// The fixed writer options the committed sample was written with.
pub fn sample_options() -> WriterOptions {
    let mut o = WriterOptions::new(LogKind::Logical);
    o.log_id = *b"replog-logi-smpl";
    o.store_id = 2;
    o.salt = 0x4c4f_4749_5341_4d50; // "PMASIGOL" little-endian
    o.start_lsn = 0;
    o.start_seq = 0;
    o.start_state = None;
    o
}

/// Encodes `r` and appends it to `w`; returns its LSN.
pub fn append<W: Write>(w: &mut LogWriter<W>, r: &LogicalRecord<'_>) -> Result<u64> {
    let mut body = Vec::new();
    r.encode(&mut body).map_err(|m| {
        Error::malformed(
            w.segment_len(),
            format!("cannot encode {}: {m}", crate::type_name(r.record_type())),
        )
    })?;
    w.append(&body)
}

fn tuple<'v>(values: impl IntoIterator<Item = ColumnValue<'v>>) -> Result<TupleBuf> {
    TupleBuf::from_values(values).map_err(|m| Error::malformed(0, m))
}

fn v(x: Value<'_>) -> ColumnValue<'_> {
    ColumnValue::Value(x)
}

fn text(s: &str) -> ColumnValue<'_> {
    ColumnValue::Value(Value::Text(Cow::Borrowed(s)))
}

fn dec(s: &str) -> ColumnValue<'_> {
    ColumnValue::Value(Value::Decimal(Cow::Borrowed(s)))
}

const U: ColumnValue<'static> = ColumnValue::Unchanged;

/// A row of `items` version 1: id, name, price and notes (None: NULL).
fn item(id: i64, name: &str, price: &str, notes: Option<&str>) -> Result<TupleBuf> {
    tuple([
        v(Value::Int(id)),
        text(name),
        dec(price),
        notes.map_or(v(Value::Null), text),
    ])
}

/// Appends a DDL statement run in database `shop`.
fn ddl<W: Write>(w: &mut LogWriter<W>, sql: &str) -> Result<u64> {
    append(
        w,
        &LogicalRecord::Ddl(Ddl {
            database: "shop",
            sql,
        }),
    )
}

/// Appends an INSERT of `new` into relation `relation_id`.
fn insert<W: Write>(w: &mut LogWriter<W>, relation_id: u32, new: &TupleBuf) -> Result<u64> {
    append(
        w,
        &LogicalRecord::Insert(Insert {
            relation_id,
            new: new.as_tuple(),
        }),
    )
}

/// Appends an UPDATE of relation 1 (`items`) to `after`, with the
/// before-image `before` of its kind when given.
fn update<W: Write>(
    w: &mut LogWriter<W>,
    before: Option<(ImageKind, &TupleBuf)>,
    after: &TupleBuf,
) -> Result<u64> {
    append(
        w,
        &LogicalRecord::Update(Update {
            relation_id: 1,
            before: before.map(|(kind, b)| OldImage {
                kind,
                values: b.as_tuple(),
            }),
            after: after.as_tuple(),
        }),
    )
}

/// Appends a DELETE from relation 1 (`items`) with the before-image
/// `before` of kind `kind`.
fn delete<W: Write>(w: &mut LogWriter<W>, kind: ImageKind, before: &TupleBuf) -> Result<u64> {
    append(
        w,
        &LogicalRecord::Delete(Delete {
            relation_id: 1,
            before: OldImage {
                kind,
                values: before.as_tuple(),
            },
        }),
    )
}

fn items(version: u32) -> Relation<'static> {
    let mut columns = vec![
        Column::new("id", ColumnType::BigInt { unsigned: false })
            .key()
            .auto_increment(),
        Column::new("name", ColumnType::VarChar(40)),
        Column::new(
            "price",
            ColumnType::Decimal {
                precision: 10,
                scale: 2,
            },
        )
        .not_null(),
        Column::new("notes", ColumnType::Text),
    ];
    if version >= 2 {
        columns.push(Column::new("added", ColumnType::DateTime(6)));
    }
    Relation {
        relation_id: 1,
        schema_version: version,
        database: "shop",
        table: "items",
        columns,
    }
}

fn all_types() -> Relation<'static> {
    let c = Column::new;
    Relation {
        relation_id: 2,
        schema_version: 1,
        database: "shop",
        table: "all_types",
        columns: vec![
            c("k", ColumnType::Int { unsigned: true }).key(),
            c("c_tinyint", ColumnType::TinyInt { unsigned: false }),
            c("c_smallint", ColumnType::SmallInt { unsigned: true }),
            c("c_mediumint", ColumnType::MediumInt { unsigned: false }),
            c("c_bigint", ColumnType::BigInt { unsigned: true }),
            c(
                "c_decimal",
                ColumnType::Decimal {
                    precision: 20,
                    scale: 4,
                },
            ),
            c("c_float", ColumnType::Float),
            c("c_double", ColumnType::Double),
            c("c_char", ColumnType::Char(2)),
            c("c_blob", ColumnType::Blob),
            c("c_binary", ColumnType::Binary(3)),
            c("c_varbinary", ColumnType::VarBinary(8)),
            c("c_date", ColumnType::Date),
            c("c_time", ColumnType::Time(3)),
            c("c_datetime", ColumnType::DateTime(0)),
            c("c_timestamp", ColumnType::Timestamp(6)),
            c("c_year", ColumnType::Year),
            c("c_enum", ColumnType::Enum(vec!["small", "large"])),
            c("c_set", ColumnType::Set(vec!["red", "green", "blue"])),
            c("c_bit", ColumnType::Bit(5)),
            c("c_bool", ColumnType::Boolean),
            c("c_json", ColumnType::Json),
            c("c_geo", ColumnType::Other("POINT")),
        ],
    }
}

/// The sample log as bytes ([`write_sample`] with [`sample_options`]).
pub fn sample_bytes() -> Result<Vec<u8>> {
    replog_core::writer::write_to_vec(&sample_options(), write_sample)
}

/// Writes the sample: seven transactions.
///
/// 1. DDL `CREATE TABLE`, RELATION 1 `shop.items` (schema version 1);
/// 2. two INSERTs (one with a NULL);
/// 3. UPDATEs without before-image, with a key-only and with a full
///    before-image, using unchanged markers for the TEXT column;
/// 4. DELETEs with key-only and full before-images;
/// 5. DDL `ALTER TABLE`, RELATION 1 again at schema version 2, an INSERT
///    under the new schema, a transactional MESSAGE;
/// 6. DDL and RELATION 2 `shop.all_types` (every column type) and an INSERT
///    holding a value of every kind;
/// 7. TRUNCATE of both relations and a non-transactional MESSAGE.
pub fn write_sample<W: Write>(w: &mut LogWriter<W>) -> Result<()> {
    const SEC: i64 = 1_000_000;
    let mut txid = 0;
    let mut tx =
        |w: &mut LogWriter<W>, f: &mut dyn FnMut(&mut LogWriter<W>) -> Result<()>| -> Result<()> {
            txid += 1;
            let t = SAMPLE_EPOCH_US + (txid as i64 - 1) * SEC;
            let origin = format!("0-2-{txid}");
            w.begin(&Begin {
                txid,
                timestamp_us: t,
                server_id: 2,
                origin: &origin,
            })?;
            f(w)?;
            w.commit(&Commit {
                txid,
                timestamp_us: t + 700,
                state_before: None,
                state_after: None,
            })?;
            Ok(())
        };

    tx(w, &mut |w| {
        ddl(
            w,
            "CREATE TABLE items (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40), \
             price DECIMAL(10,2) NOT NULL, notes TEXT)",
        )?;
        append(w, &LogicalRecord::Relation(items(1)))?;
        Ok(())
    })?;

    tx(w, &mut |w| {
        insert(w, 1, &item(1, "widget", "9.99", None)?)?;
        insert(w, 1, &item(2, "gadget", "5.00", Some("a long note"))?)?;
        Ok(())
    })?;

    tx(w, &mut |w| {
        // Price change; the key did not change, so no before-image.
        update(w, None, &item(1, "widget", "8.99", None)?)?;
        // Key change: the old key is sent; the TEXT column is unchanged and not sent.
        let key = tuple([v(Value::Int(2)), U, U, U])?;
        let after = tuple([v(Value::Int(20)), text("gadget"), dec("5.00"), U])?;
        update(w, Some((ImageKind::Key, &key)), &after)?;
        // Full before-image (replica identity FULL).
        let before = item(1, "widget", "8.99", None)?;
        let after = item(1, "widget", "8.99", Some("restocked"))?;
        update(w, Some((ImageKind::Full, &before)), &after)?;
        Ok(())
    })?;

    tx(w, &mut |w| {
        let key = tuple([v(Value::Int(1)), U, U, U])?;
        delete(w, ImageKind::Key, &key)?;
        let full = item(20, "gadget", "5.00", Some("a long note"))?;
        delete(w, ImageKind::Full, &full)?;
        Ok(())
    })?;

    tx(w, &mut |w| {
        ddl(w, "ALTER TABLE items ADD COLUMN added DATETIME(6)")?;
        append(w, &LogicalRecord::Relation(items(2)))?;
        let added = DateTime {
            date: Date {
                year: 2023,
                month: 11,
                day: 14,
            },
            hour: 22,
            minute: 13,
            second: 24,
            micro: 123_456,
        };
        let row = tuple([
            v(Value::Int(3)),
            text("gizmo"),
            dec("12.50"),
            v(Value::Null),
            v(Value::DateTime(added)),
        ])?;
        insert(w, 1, &row)?;
        append(
            w,
            &LogicalRecord::Message(Message {
                transactional: true,
                prefix: "audit",
                content: b"{\"user\":\"alice\"}",
            }),
        )?;
        Ok(())
    })?;

    tx(w, &mut |w| {
        ddl(
            w,
            "CREATE TABLE all_types (k INT UNSIGNED PRIMARY KEY, ...)",
        )?;
        append(w, &LogicalRecord::Relation(all_types()))?;
        let row = tuple([
            v(Value::UInt(1)),
            v(Value::Int(-128)),
            v(Value::UInt(65_535)),
            v(Value::Int(-8_388_608)),
            v(Value::UInt(u64::MAX)),
            dec("-1234567890123456.7890"),
            v(Value::F32(1.5)),
            v(Value::F64(-2.25)),
            text("ab"),
            v(Value::Bytes(Cow::Borrowed(&[0x00, 0xFF, 0x10]))),
            v(Value::Bytes(Cow::Borrowed(b"bin"))),
            v(Value::Bytes(Cow::Borrowed(b""))),
            v(Value::Date(Date {
                year: 0,
                month: 0,
                day: 0,
            })),
            v(Value::Time(
                -(838 * 3600 + 59 * 60 + 59) * 1_000_000 - 999_000,
            )),
            v(Value::DateTime(DateTime {
                date: Date {
                    year: 1999,
                    month: 12,
                    day: 31,
                },
                hour: 23,
                minute: 59,
                second: 59,
                micro: 0,
            })),
            v(Value::Timestamp(SAMPLE_EPOCH_US + 5 * SEC + 1)),
            v(Value::UInt(2024)),
            v(Value::Enum(Cow::Borrowed("large"))),
            v(Value::Set(Cow::Borrowed("red,blue"))),
            v(Value::UInt(0b10101)),
            v(Value::Bool(true)),
            v(Value::Json(Cow::Borrowed("{\"tags\":[\"a\",\"b\"]}"))),
            v(Value::Bytes(Cow::Borrowed(&[0x01, 0x01, 0x00, 0x00, 0x00]))),
        ])?;
        insert(w, 2, &row)?;
        Ok(())
    })?;

    tx(w, &mut |w| {
        append(
            w,
            &LogicalRecord::Truncate(Truncate {
                cascade: false,
                restart_identity: true,
                relation_ids: vec![1, 2],
            }),
        )?;
        append(
            w,
            &LogicalRecord::Message(Message {
                transactional: false,
                prefix: "heartbeat",
                content: &[1, 2, 3, 4],
            }),
        )?;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogicalFormat;
    use replog_core::record::{Record, RecordView, decode_segment};
    use std::collections::{BTreeSet, HashMap};

    #[test]
    fn sample_matches_committed_fixture() {
        let fixture = replog_test_support::root().join("fixtures/native/logical/sample.replog");
        replog_test_support::bless::check(&fixture, &sample_bytes().unwrap());
    }

    #[test]
    fn sample_reads_back_and_covers_everything() {
        let bytes = sample_bytes().unwrap();
        let (_, records) = decode_segment::<LogicalFormat>(&bytes, 0).unwrap();
        let mut types = BTreeSet::new();
        let mut kinds = BTreeSet::new();
        let mut relations: HashMap<u64, (String, usize)> = HashMap::new();
        for r in records {
            let Record::Data(r) = r else { continue };
            types.insert(r.type_name());
            if let (Some((id, name)), LogicalRecord::Relation(rel)) = (r.defines_table(), &r) {
                relations.insert(id, (name, rel.columns.len()));
            }
            if let Some(replog_core::TableRef::Id(id)) = r.table() {
                assert!(
                    relations.contains_key(&id),
                    "relation {id} used before RELATION"
                );
            }
            for t in r.tuples() {
                if let LogicalRecord::Insert(_) = &r {
                    assert_eq!(t.len(), relations[&u64::from(r.relation_id().unwrap())].1);
                }
                for cv in t.values() {
                    if let ColumnValue::Value(v) = cv.unwrap() {
                        kinds.insert(v.kind_name());
                    }
                }
            }
        }
        assert_eq!(types.len(), 7, "{types:?}");
        assert_eq!(kinds.len(), 16, "every value kind appears: {kinds:?}");
        assert_eq!(relations[&1].0, "shop.items");
        assert_eq!(relations[&2].0, "shop.all_types");
    }

    #[test]
    fn decode_segment_checks_transaction_brackets() {
        use replog_core::{Begin, Commit};
        let begin = |txid| Begin {
            txid,
            timestamp_us: 1,
            server_id: 1,
            origin: "",
        };
        let commit = |txid| Commit {
            txid,
            timestamp_us: 1,
            state_before: None,
            state_after: None,
        };
        let log = |f: &dyn Fn(&mut LogWriter<Vec<u8>>) -> Result<()>| {
            let bytes = replog_core::writer::write_to_vec(&sample_options(), |w| f(w)).unwrap();
            decode_segment::<LogicalFormat>(&bytes, 0)
                .map(|(_, r)| r.len())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            log(&|w| {
                w.begin(&begin(1))?;
                w.commit(&commit(1)).map(|_| ())
            }),
            Ok(2)
        );
        // The writer keeps brackets; a record outside one it writes.
        let e = log(&|w| {
            w.begin(&begin(1))?;
            w.commit(&commit(1))?;
            append(
                w,
                &LogicalRecord::Truncate(crate::Truncate {
                    cascade: false,
                    restart_identity: false,
                    relation_ids: vec![1],
                }),
            )
            .map(|_| ())
        })
        .unwrap_err();
        assert!(e.contains("record outside a transaction"), "{e}");
        let e = log(&|w| w.begin(&begin(4)).map(|_| ())).unwrap_err();
        assert!(e.contains("transaction 4 not committed"), "{e}");
    }
}
