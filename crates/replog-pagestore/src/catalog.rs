//! The catalog's encodings (`formats/store.md` §7.6): catalog B+tree keys,
//! table entries (tree roots, counters, the table definition) and rows.

use replog_core::codec::{self, Cursor};
use replog_core::{Result, Value};
use replog_store::types::UniqueKey;
use replog_store::{Column, ColumnDefault, Row, SqlType, TableDef, TableId};

/// Catalog key of a database: `0x01 ‖ name`.
pub fn db_key(name: &str) -> Vec<u8> {
    let mut k = vec![0x01];
    k.extend_from_slice(name.as_bytes());
    k
}

/// Catalog key of a table: `0x02 ‖ id (u64 big-endian)`.
pub fn table_key(id: TableId) -> Vec<u8> {
    let mut k = vec![0x02];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Catalog key of the follower's replication position:
/// `0x03 ‖ "position"` (at most one; absent until a follower applies a
/// transaction, so a leader's catalog never holds it).
pub const POSITION_KEY: &[u8] = b"\x03position";

/// Length of an encoded position.
pub const POSITION_LEN: usize = 42;

/// Encodes a replication position (`formats/store.md` §11.3): version 1
/// (u8), log kind code (u8, 0: none), log id (16 bytes), applied LSN,
/// last txid and store digest (u64 little-endian each).
pub fn encode_position(p: &replog_store::snapshot::Position) -> Vec<u8> {
    let mut v = Vec::with_capacity(POSITION_LEN);
    v.push(1);
    v.push(p.kind.map_or(0, replog_core::LogKind::code));
    v.extend_from_slice(&p.log_id);
    codec::put_u64(&mut v, p.applied_lsn);
    codec::put_u64(&mut v, p.last_txid);
    codec::put_u64(&mut v, p.digest);
    v
}

/// Decodes [`encode_position`]'s bytes; `at` is their absolute offset.
pub fn decode_position(b: &[u8], at: u64) -> Result<replog_store::snapshot::Position> {
    let mut c = Cursor::new(b, at);
    let vat = c.offset();
    let version = c.u8("position version")?;
    if version != 1 {
        return Err(replog_core::Error::malformed(
            vat,
            format!("position version {version}; this replog reads version 1"),
        ));
    }
    let kat = c.offset();
    let kind =
        match c.u8("log kind")? {
            0 => None,
            k => Some(replog_core::LogKind::from_code(k).ok_or_else(|| {
                replog_core::Error::malformed(kat, format!("unknown log kind {k}"))
            })?),
        };
    let p = replog_store::snapshot::Position {
        kind,
        log_id: c.array::<16>("log id")?,
        applied_lsn: c.u64("applied LSN")?,
        last_txid: c.u64("last txid")?,
        digest: c.u64("digest")?,
    };
    c.finish("position")?;
    Ok(p)
}

/// A table's catalog entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry {
    /// Definition.
    pub def: TableDef,
    /// Root of the primary-key tree.
    pub pk_root: u32,
    /// Roots of the unique-key trees, in `def.unique_keys` order.
    pub unique_roots: Vec<u32>,
    /// Next auto-increment value.
    pub auto_inc: u64,
    /// Table digest.
    pub digest: u64,
    /// Number of rows.
    pub rows: u64,
}

fn put_str(out: &mut Vec<u8>, s: &str) -> std::result::Result<(), String> {
    if !codec::fits_u16(s.as_bytes()) {
        return Err(format!("name longer than 65535 bytes: {s:.40}…"));
    }
    codec::put_bytes_u16(out, s.as_bytes());
    Ok(())
}

fn put_count(out: &mut Vec<u8>, n: usize) -> std::result::Result<(), String> {
    let n = u16::try_from(n).map_err(|_| format!("{n} items (at most 65535)"))?;
    codec::put_u16(out, n);
    Ok(())
}

/// Encodes an entry.
pub fn encode_entry(e: &TableEntry) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(128);
    codec::put_u32(&mut out, e.pk_root);
    codec::put_u64(&mut out, e.auto_inc);
    codec::put_u64(&mut out, e.digest);
    codec::put_u64(&mut out, e.rows);
    put_count(&mut out, e.unique_roots.len())?;
    for r in &e.unique_roots {
        codec::put_u32(&mut out, *r);
    }
    encode_def(&e.def, &mut out)?;
    Ok(out)
}

/// Decodes an entry (`at`: offset for errors).
pub fn decode_entry(b: &[u8], at: u64) -> Result<TableEntry> {
    let mut c = Cursor::new(b, at);
    let pk_root = c.u32("primary-key root")?;
    let auto_inc = c.u64("auto-increment")?;
    let digest = c.u64("digest")?;
    let rows = c.u64("row count")?;
    let n = c.u16("unique roots")?;
    let mut unique_roots = Vec::new();
    for _ in 0..n {
        unique_roots.push(c.u32("unique root")?);
    }
    let def = decode_def(&mut c)?;
    c.finish("table entry")?;
    if def.unique_keys.len() != unique_roots.len() {
        return Err(replog_core::Error::malformed(
            at + 28,
            "unique-root count differs from the definition's unique keys",
        ));
    }
    Ok(TableEntry {
        def,
        pk_root,
        unique_roots,
        auto_inc,
        digest,
        rows,
    })
}

/// Appends a table definition.
pub fn encode_def(d: &TableDef, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    put_str(out, &d.database)?;
    put_str(out, &d.name)?;
    codec::put_u32(out, d.version);
    put_count(out, d.columns.len())?;
    for c in &d.columns {
        put_str(out, &c.name)?;
        out.push(u8::from(c.nullable) | (u8::from(c.auto_increment) << 1));
        encode_type(&c.ty, out)?;
        match &c.default {
            ColumnDefault::Missing => out.push(0),
            ColumnDefault::Value(v) => {
                out.push(1);
                v.encode(out)?;
            }
            ColumnDefault::CurrentTimestamp => out.push(2),
        }
    }
    put_count(out, d.primary_key.len())?;
    for &i in &d.primary_key {
        put_count(out, i)?;
    }
    put_count(out, d.unique_keys.len())?;
    for u in &d.unique_keys {
        put_str(out, &u.name)?;
        put_count(out, u.columns.len())?;
        for &i in &u.columns {
            put_count(out, i)?;
        }
    }
    Ok(())
}

fn encode_type(t: &SqlType, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    match t {
        SqlType::Int {
            bytes,
            unsigned,
            boolean,
        } => out.extend_from_slice(&[1, *bytes, u8::from(*unsigned), u8::from(*boolean)]),
        SqlType::Decimal {
            precision,
            scale,
            unsigned,
        } => out.extend_from_slice(&[2, *precision, *scale, u8::from(*unsigned)]),
        SqlType::Float => out.push(3),
        SqlType::Double => out.push(4),
        SqlType::Char(n) => {
            out.push(5);
            codec::put_u32(out, *n);
        }
        SqlType::VarChar(n) => {
            out.push(6);
            codec::put_u32(out, *n);
        }
        SqlType::Text(n) => {
            out.push(7);
            codec::put_u64(out, *n);
        }
        SqlType::Binary(n) => {
            out.push(8);
            codec::put_u32(out, *n);
        }
        SqlType::VarBinary(n) => {
            out.push(9);
            codec::put_u32(out, *n);
        }
        SqlType::Blob(n) => {
            out.push(10);
            codec::put_u64(out, *n);
        }
        SqlType::Date => out.push(11),
        SqlType::Time(f) => out.extend_from_slice(&[12, *f]),
        SqlType::DateTime(f) => out.extend_from_slice(&[13, *f]),
        SqlType::Timestamp(f) => out.extend_from_slice(&[14, *f]),
        SqlType::Year => out.push(15),
        SqlType::Enum(l) | SqlType::Set(l) => {
            out.push(if matches!(t, SqlType::Enum(_)) {
                16
            } else {
                17
            });
            put_count(out, l.len())?;
            for s in l {
                put_str(out, s)?;
            }
        }
        SqlType::Bit(n) => out.extend_from_slice(&[18, *n]),
        SqlType::Json => out.push(19),
    }
    Ok(())
}

fn bool_byte(c: &mut Cursor<'_>, what: &str) -> Result<bool> {
    let at = c.offset();
    match c.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(replog_core::Error::malformed(
            at,
            format!("{what}: {b} is not 0 or 1"),
        )),
    }
}

fn decode_type(c: &mut Cursor<'_>) -> Result<SqlType> {
    let at = c.offset();
    Ok(match c.u8("type tag")? {
        1 => SqlType::Int {
            bytes: c.u8("int bytes")?,
            unsigned: bool_byte(c, "unsigned")?,
            boolean: bool_byte(c, "boolean")?,
        },
        2 => SqlType::Decimal {
            precision: c.u8("precision")?,
            scale: c.u8("scale")?,
            unsigned: bool_byte(c, "unsigned")?,
        },
        3 => SqlType::Float,
        4 => SqlType::Double,
        5 => SqlType::Char(c.u32("length")?),
        6 => SqlType::VarChar(c.u32("length")?),
        7 => SqlType::Text(c.u64("length")?),
        8 => SqlType::Binary(c.u32("length")?),
        9 => SqlType::VarBinary(c.u32("length")?),
        10 => SqlType::Blob(c.u64("length")?),
        11 => SqlType::Date,
        12 => SqlType::Time(c.u8("fsp")?),
        13 => SqlType::DateTime(c.u8("fsp")?),
        14 => SqlType::Timestamp(c.u8("fsp")?),
        15 => SqlType::Year,
        t @ (16 | 17) => {
            let n = c.u16("label count")?;
            let mut l = Vec::new();
            for _ in 0..n {
                l.push(c.str_u16("label")?.to_string());
            }
            if t == 16 {
                SqlType::Enum(l)
            } else {
                SqlType::Set(l)
            }
        }
        18 => SqlType::Bit(c.u8("bits")?),
        19 => SqlType::Json,
        t => {
            return Err(replog_core::Error::malformed(
                at,
                format!("unknown column type tag {t}"),
            ));
        }
    })
}

fn index(c: &mut Cursor<'_>, ncols: usize, what: &str) -> Result<usize> {
    let at = c.offset();
    let i = c.u16(what)? as usize;
    if i >= ncols {
        return Err(replog_core::Error::malformed(
            at,
            format!("{what} {i} is not a column (table has {ncols})"),
        ));
    }
    Ok(i)
}

/// Decodes a table definition.
pub fn decode_def(c: &mut Cursor<'_>) -> Result<TableDef> {
    let database = c.str_u16("database")?.to_string();
    let name = c.str_u16("table name")?.to_string();
    let version = c.u32("version")?;
    let n = c.u16("column count")? as usize;
    let mut columns = Vec::with_capacity(n);
    for _ in 0..n {
        let name = c.str_u16("column name")?.to_string();
        let at = c.offset();
        let flags = c.u8("column flags")?;
        if flags & !3 != 0 {
            return Err(replog_core::Error::malformed(at, "unknown column flags"));
        }
        let ty = decode_type(c)?;
        let at = c.offset();
        let default = match c.u8("default kind")? {
            0 => ColumnDefault::Missing,
            1 => ColumnDefault::Value(Value::decode(c)?.into_owned()),
            2 => ColumnDefault::CurrentTimestamp,
            k => {
                return Err(replog_core::Error::malformed(
                    at,
                    format!("unknown default kind {k}"),
                ));
            }
        };
        columns.push(Column {
            name,
            ty,
            nullable: flags & 1 != 0,
            default,
            auto_increment: flags & 2 != 0,
        });
    }
    let at = c.offset();
    let npk = c.u16("primary-key length")?;
    if npk == 0 {
        return Err(replog_core::Error::malformed(at, "empty primary key"));
    }
    let mut primary_key = Vec::new();
    for _ in 0..npk {
        primary_key.push(index(c, n, "primary-key column")?);
    }
    let nu = c.u16("unique keys")?;
    let mut unique_keys = Vec::new();
    for _ in 0..nu {
        let name = c.str_u16("unique key name")?.to_string();
        let k = c.u16("unique key length")?;
        let mut cols = Vec::new();
        for _ in 0..k {
            cols.push(index(c, n, "unique-key column")?);
        }
        unique_keys.push(UniqueKey {
            name,
            columns: cols,
        });
    }
    Ok(TableDef {
        database,
        name,
        columns,
        primary_key,
        unique_keys,
        version,
    })
}

/// Encodes a row: `Value::encode` of each column in order.
pub fn encode_row(row: &Row, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    for v in row {
        v.encode(out)?;
    }
    Ok(())
}

/// Decodes a row of `ncols` values.
pub fn decode_row(b: &[u8], ncols: usize, at: u64) -> Result<Row> {
    let mut c = Cursor::new(b, at);
    let mut row = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        row.push(Value::decode(&mut c)?.into_owned());
    }
    c.finish("row")?;
    Ok(row)
}
