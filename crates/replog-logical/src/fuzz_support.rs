//! Pure functions for fuzz targets (wired into cargo-fuzz by `fuzz/`), with
//! smoke tests so that `cargo test` exercises them too.
//!
//! - [`fuzz_decode`]: arbitrary bytes as a record body must decode or fail
//!   with an error inside the input, never panic; every tuple iterator is
//!   drained; whatever decodes re-encodes to the very same bytes.
//! - [`fuzz_roundtrip`]: bytes drive the construction of a valid record,
//!   which must survive encode → decode unchanged, value by value.

use crate::{
    Column, ColumnType, ColumnValue, Ddl, Delete, ImageKind, Insert, LogicalFormat, LogicalRecord,
    Message, OldImage, Relation, Truncate, TupleBuf, Update,
};
use replog_core::record::{RecordView, decode_record};

/// Decodes `data` as a logical-format record body (BEGIN and COMMIT
/// included), drains every tuple and exercises the record view.
pub fn fuzz_decode(data: &[u8]) {
    const BASE: u64 = 1 << 40;
    let in_input = |off: Option<u64>| {
        let off = off.expect("decode errors carry an offset");
        assert!(
            off >= BASE && off <= BASE + data.len() as u64,
            "offset {off} outside the input"
        );
    };
    match decode_record::<LogicalFormat>(data, BASE) {
        Ok(r) => {
            let _ = (r.summary(), r.type_name(), r.table(), r.defines_table());
        }
        Err(e) => in_input(e.offset()),
    }
    if let Ok(r) = LogicalRecord::decode(data, BASE) {
        for t in r.tuples() {
            let mut n = 0;
            for v in t.values() {
                match v {
                    Ok(_) => n += 1,
                    Err(e) => in_input(e.offset()),
                }
            }
            assert!(n <= t.len());
        }
        match r.validate() {
            Ok(n) => assert_eq!(n, r.tuples().map(|t| t.len()).sum::<usize>()),
            Err(e) => in_input(e.offset()),
        }
        let mut again = Vec::new();
        r.encode(&mut again).expect("a decoded record re-encodes");
        assert_eq!(again, data, "decode → encode is not the identity");
    }
}

/// Builds a record from `data`, encodes it, decodes it and checks that the
/// result is equal, value by value, and re-encodes to the same bytes.
pub fn fuzz_roundtrip(data: &[u8]) {
    let mut g = Gen::new(data);
    let choice = g.u8() % 7;
    // Owned tuples first: records borrow them.
    let t1 = g.tuple();
    let t2 = g.tuple();
    let kind = if g.bool() {
        ImageKind::Key
    } else {
        ImageKind::Full
    };
    let rel = g.u64() as u32;
    let r = match choice {
        0 => LogicalRecord::Relation(g.relation()),
        1 => LogicalRecord::Insert(Insert {
            relation_id: rel,
            new: t1.1.as_tuple(),
        }),
        2 => LogicalRecord::Update(Update {
            relation_id: rel,
            before: g.bool().then(|| OldImage {
                kind,
                values: t1.1.as_tuple(),
            }),
            after: t2.1.as_tuple(),
        }),
        3 => LogicalRecord::Delete(Delete {
            relation_id: rel,
            before: OldImage {
                kind,
                values: t1.1.as_tuple(),
            },
        }),
        4 => {
            let n = g.u8() % 5;
            LogicalRecord::Truncate(Truncate {
                cascade: g.bool(),
                restart_identity: g.bool(),
                relation_ids: (0..n).map(|_| g.u64() as u32).collect(),
            })
        }
        5 => LogicalRecord::Ddl(Ddl {
            database: g.str(8),
            sql: g.str(64),
        }),
        _ => {
            let n = usize::from(g.u8() % 32);
            LogicalRecord::Message(Message {
                transactional: g.bool(),
                prefix: g.str(8),
                content: g.take(n),
            })
        }
    };
    let mut body = Vec::new();
    r.encode(&mut body)
        .expect("generated records are encodable");
    let back = LogicalRecord::decode(&body, 3).expect("encoded record decodes");
    assert_eq!(back, r);
    let values: Vec<Vec<ColumnValue<'_>>> = back
        .tuples()
        .map(|t| t.to_vec().expect("tuple validates"))
        .collect();
    let expected: Vec<&Vec<ColumnValue<'_>>> = match &r {
        LogicalRecord::Insert(_) => vec![&t1.0],
        LogicalRecord::Update(u) if u.before.is_some() => vec![&t1.0, &t2.0],
        LogicalRecord::Update(_) => vec![&t2.0],
        LogicalRecord::Delete(_) => vec![&t1.0],
        _ => vec![],
    };
    assert_eq!(values.iter().collect::<Vec<_>>(), expected);
    let mut again = Vec::new();
    back.encode(&mut again).unwrap();
    assert_eq!(again, body);
}

pub use replog_core::fuzz_support::Gen;

/// Logical records' parts built by the byte-driven generator.
pub trait GenLogical<'a> {
    /// Up to 15 columns, with their encoding.
    fn tuple(&mut self) -> (Vec<ColumnValue<'a>>, TupleBuf);
    /// ENUM or SET labels.
    fn labels(&mut self, set: bool) -> Vec<&'a str>;
    /// A valid column type.
    fn column_type(&mut self) -> ColumnType<'a>;
    /// A valid RELATION.
    fn relation(&mut self) -> Relation<'a>;
}

impl<'a> GenLogical<'a> for Gen<'a> {
    fn tuple(&mut self) -> (Vec<ColumnValue<'a>>, TupleBuf) {
        let n = self.u8() % 16;
        let vals: Vec<ColumnValue<'a>> = (0..n)
            .map(|_| {
                if self.u8() % 8 == 0 {
                    ColumnValue::Unchanged
                } else {
                    ColumnValue::Value(self.value())
                }
            })
            .collect();
        let buf = TupleBuf::from_values(vals.iter().cloned()).expect("generated values encode");
        (vals, buf)
    }

    fn labels(&mut self, set: bool) -> Vec<&'a str> {
        let n = self.u8() % 5;
        (0..n)
            .map(|_| self.str(6))
            .filter(|l| !set || !l.contains(','))
            .collect()
    }

    fn column_type(&mut self) -> ColumnType<'a> {
        let unsigned = self.bool();
        match self.u8() % 25 {
            0 => ColumnType::TinyInt { unsigned },
            1 => ColumnType::SmallInt { unsigned },
            2 => ColumnType::MediumInt { unsigned },
            3 => ColumnType::Int { unsigned },
            4 => ColumnType::BigInt { unsigned },
            5 => {
                let precision = self.u8() % 65 + 1;
                ColumnType::Decimal {
                    precision,
                    scale: self.u8() % (precision + 1),
                }
            }
            6 => ColumnType::Float,
            7 => ColumnType::Double,
            8 => ColumnType::Char(self.u64() as u32),
            9 => ColumnType::VarChar(self.u64() as u32),
            10 => ColumnType::Text,
            11 => ColumnType::Blob,
            12 => ColumnType::Binary(self.u64() as u32),
            13 => ColumnType::VarBinary(self.u64() as u32),
            14 => ColumnType::Date,
            15 => ColumnType::Time(self.u8() % 7),
            16 => ColumnType::DateTime(self.u8() % 7),
            17 => ColumnType::Timestamp(self.u8() % 7),
            18 => ColumnType::Year,
            19 => ColumnType::Enum(self.labels(false)),
            20 => ColumnType::Set(self.labels(true)),
            21 => ColumnType::Bit(self.u8() % 64 + 1),
            22 => ColumnType::Boolean,
            23 => ColumnType::Json,
            _ => ColumnType::Other(self.str(12)),
        }
    }

    fn relation(&mut self) -> Relation<'a> {
        let n = self.u8() % 8;
        let mut columns = Vec::new();
        for _ in 0..n {
            let name = self.str(10);
            let f = self.u8();
            columns.push(Column {
                name,
                ty: self.column_type(),
                nullable: f & 1 != 0,
                key: f & 2 != 0,
                auto_increment: f & 4 != 0,
            });
        }
        Relation {
            relation_id: self.u64() as u32,
            schema_version: self.u64() as u32,
            database: self.str(8),
            table: self.str(12),
            columns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes the record `data` describes (as fuzz_roundtrip builds it).
    fn encoded(data: &[u8]) -> Vec<u8> {
        let mut g = Gen::new(data);
        let t = g.tuple();
        let mut body = Vec::new();
        let r = match data.first().copied().unwrap_or(0) % 3 {
            0 => LogicalRecord::Relation(g.relation()),
            1 => LogicalRecord::Insert(Insert {
                relation_id: 9,
                new: t.1.as_tuple(),
            }),
            _ => LogicalRecord::Update(Update {
                relation_id: 9,
                before: Some(OldImage {
                    kind: ImageKind::Key,
                    values: t.1.as_tuple(),
                }),
                after: t.1.as_tuple(),
            }),
        };
        r.encode(&mut body).unwrap();
        body
    }

    #[test]
    fn smoke() {
        replog_test_support::smoke(7, 400, 255, |rng, input| {
            fuzz_roundtrip(input);
            fuzz_decode(input);
            let body = encoded(input);
            fuzz_decode(&body);
            // Start from a valid encoding, mutated.
            fuzz_decode(&rng.mutate(&body));
        });
    }
}
