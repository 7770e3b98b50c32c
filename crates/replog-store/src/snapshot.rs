//! Store snapshots: the whole content of a store (databases, table
//! definitions, auto-increment counters, rows) plus the log position it was
//! taken at, in one checksummed file (`formats/store.md` §10).
//!
//! A follower directory (`replog replay --store DIR`) holds one snapshot,
//! `DIR/store.snapshot`, replaced atomically (written to a temporary file,
//! fsynced, renamed, directory fsynced) after a replay; catch-up resumes
//! from its position.

use crate::storage::{MemStorage, Storage};
use crate::types::{Column, ColumnDefault, SqlType, TableDef, UniqueKey};
use crate::{Environment, Store};
use replog_core::codec::{self, Cursor};
use replog_core::{Error, LogKind, Result, Value};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The snapshot file's magic: `\x89RPLSNAP`.
pub const MAGIC: [u8; 8] = *b"\x89RPLSNAP";
/// The snapshot format version this code writes and reads.
pub const VERSION: u16 = 1;
/// Name of the snapshot inside a store directory.
pub const FILE_NAME: &str = "store.snapshot";
const HEADER_LEN: usize = 60;

/// Where a snapshot stands in the log it was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Kind of the log applied (None: nothing applied yet).
    pub kind: Option<LogKind>,
    /// Identity of that log (zeros when none).
    pub log_id: [u8; 16],
    /// LSN just past the last applied COMMIT.
    pub applied_lsn: u64,
    /// txid of the last applied transaction (0: none).
    pub last_txid: u64,
    /// Store digest at that point.
    pub digest: u64,
}

/// The snapshot path of store directory `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

fn put_str16(out: &mut Vec<u8>, s: &str) -> Result<()> {
    if !codec::fits_u16(s.as_bytes()) {
        return Err(Error::malformed(
            out.len() as u64,
            "name longer than 65535 bytes",
        ));
    }
    codec::put_bytes_u16(out, s.as_bytes());
    Ok(())
}

fn count16(n: usize, at: usize) -> Result<u16> {
    u16::try_from(n).map_err(|_| Error::malformed(at as u64, "more than 65535 items"))
}

fn put_type(out: &mut Vec<u8>, t: &SqlType) -> Result<()> {
    match t {
        SqlType::Int {
            bytes,
            unsigned,
            boolean,
        } => {
            out.extend([1, *bytes, u8::from(*unsigned) | (u8::from(*boolean) << 1)]);
        }
        SqlType::Decimal {
            precision,
            scale,
            unsigned,
        } => out.extend([2, *precision, *scale, u8::from(*unsigned)]),
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
        SqlType::Time(f) => out.extend([12, *f]),
        SqlType::DateTime(f) => out.extend([13, *f]),
        SqlType::Timestamp(f) => out.extend([14, *f]),
        SqlType::Year => out.push(15),
        SqlType::Enum(l) | SqlType::Set(l) => {
            out.push(if matches!(t, SqlType::Enum(_)) {
                16
            } else {
                17
            });
            codec::put_u16(out, count16(l.len(), out.len())?);
            for s in l {
                put_str16(out, s)?;
            }
        }
        SqlType::Bit(n) => out.extend([18, *n]),
        SqlType::Json => out.push(19),
    }
    Ok(())
}

fn read_type(c: &mut Cursor<'_>) -> Result<SqlType> {
    let at = c.offset();
    Ok(match c.u8("type code")? {
        1 => {
            let bytes = c.u8("int width")?;
            let f = c.u8("int flags")?;
            SqlType::Int {
                bytes,
                unsigned: f & 1 != 0,
                boolean: f & 2 != 0,
            }
        }
        2 => SqlType::Decimal {
            precision: c.u8("precision")?,
            scale: c.u8("scale")?,
            unsigned: c.u8("unsigned")? != 0,
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
            let mut l = Vec::with_capacity(usize::from(n));
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
            return Err(Error::malformed(
                at,
                format!("unknown column type code {t}"),
            ));
        }
    })
}

fn put_value(out: &mut Vec<u8>, v: &Value<'_>) -> Result<()> {
    let at = out.len() as u64;
    v.encode(out).map_err(|m| Error::malformed(at, m))
}

fn put_def(out: &mut Vec<u8>, d: &TableDef, auto_inc: u64) -> Result<()> {
    put_str16(out, &d.database)?;
    put_str16(out, &d.name)?;
    codec::put_u32(out, d.version);
    codec::put_u64(out, auto_inc);
    codec::put_u16(out, count16(d.columns.len(), out.len())?);
    for c in &d.columns {
        put_str16(out, &c.name)?;
        out.push(u8::from(c.nullable) | (u8::from(c.auto_increment) << 1));
        put_type(out, &c.ty)?;
        match &c.default {
            ColumnDefault::Missing => out.push(0),
            ColumnDefault::Value(v) => {
                out.push(1);
                put_value(out, v)?;
            }
            ColumnDefault::CurrentTimestamp => out.push(2),
        }
    }
    let put_idx = |out: &mut Vec<u8>, idx: &[usize]| -> Result<()> {
        codec::put_u16(out, count16(idx.len(), out.len())?);
        for &i in idx {
            codec::put_u16(out, count16(i, out.len())?);
        }
        Ok(())
    };
    put_idx(out, &d.primary_key)?;
    codec::put_u16(out, count16(d.unique_keys.len(), out.len())?);
    for u in &d.unique_keys {
        put_str16(out, &u.name)?;
        put_idx(out, &u.columns)?;
    }
    Ok(())
}

fn read_def(c: &mut Cursor<'_>) -> Result<(TableDef, u64)> {
    let database = c.str_u16("database")?.to_string();
    let name = c.str_u16("table")?.to_string();
    let version = c.u32("schema version")?;
    let auto_inc = c.u64("auto-increment")?;
    let n = c.u16("column count")?;
    let mut columns = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let name = c.str_u16("column name")?.to_string();
        let flags = c.u8("column flags")?;
        let ty = read_type(c)?;
        let at = c.offset();
        let default = match c.u8("default kind")? {
            0 => ColumnDefault::Missing,
            1 => ColumnDefault::Value(Value::decode(c)?.into_owned()),
            2 => ColumnDefault::CurrentTimestamp,
            k => return Err(Error::malformed(at, format!("unknown default kind {k}"))),
        };
        columns.push(Column {
            name,
            ty,
            nullable: flags & 1 != 0,
            default,
            auto_increment: flags & 2 != 0,
        });
    }
    let read_idx = |c: &mut Cursor<'_>, ncols: usize| -> Result<Vec<usize>> {
        let n = c.u16("index column count")?;
        (0..n)
            .map(|_| {
                let at = c.offset();
                let i = usize::from(c.u16("column index")?);
                if i >= ncols {
                    return Err(Error::malformed(at, "column index out of range"));
                }
                Ok(i)
            })
            .collect()
    };
    let primary_key = read_idx(c, columns.len())?;
    let nu = c.u16("unique key count")?;
    let mut unique_keys = Vec::new();
    for _ in 0..nu {
        let name = c.str_u16("unique key name")?.to_string();
        unique_keys.push(UniqueKey {
            name,
            columns: read_idx(c, columns.len())?,
        });
    }
    Ok((
        TableDef {
            database,
            name,
            columns,
            primary_key,
            unique_keys,
            version,
        },
        auto_inc,
    ))
}

/// Encodes a snapshot of `store` taken at `pos`.
pub fn encode<S: Storage, E: Environment>(store: &Store<S, E>, pos: &Position) -> Result<Vec<u8>> {
    let st = store.storage();
    let mut body = Vec::new();
    let dbs = store.databases();
    codec::put_u32(&mut body, dbs.len() as u32);
    for d in &dbs {
        put_str16(&mut body, d)?;
    }
    let tables = st.tables();
    codec::put_u32(&mut body, tables.len() as u32);
    for id in tables {
        let Some(def) = st.def(id) else { continue };
        put_def(&mut body, def, st.auto_increment(id))?;
        let keys = st.keys(id);
        codec::put_u64(&mut body, keys.len() as u64);
        for k in keys {
            let row = st
                .get(id, &k)
                .ok_or_else(|| Error::malformed(0, "row vanished while snapshotting"))?;
            for v in &row {
                put_value(&mut body, v)?;
            }
        }
    }
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + 4);
    out.extend_from_slice(&MAGIC);
    codec::put_u16(&mut out, VERSION);
    out.push(pos.kind.map_or(0, LogKind::code));
    out.push(0);
    out.extend_from_slice(&pos.log_id);
    codec::put_u64(&mut out, pos.applied_lsn);
    codec::put_u64(&mut out, pos.last_txid);
    codec::put_u64(&mut out, pos.digest);
    codec::put_u64(&mut out, body.len() as u64);
    out.extend_from_slice(&body);
    let crc = crc32c::crc32c(&out);
    codec::put_u32(&mut out, crc);
    Ok(out)
}

/// Decodes a snapshot into its position and storage. Checks the magic,
/// version, checksum, every length, and that the rows' digest equals the
/// recorded one.
pub fn decode(bytes: &[u8]) -> Result<(Position, MemStorage)> {
    if bytes.len() < HEADER_LEN + 4 || bytes[..8] != MAGIC {
        return Err(Error::malformed(
            0,
            "not a replog store snapshot (bad magic)",
        ));
    }
    let (data, crc) = bytes.split_at(bytes.len() - 4);
    let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let got = crc32c::crc32c(data);
    if want != got {
        return Err(Error::malformed(
            (bytes.len() - 4) as u64,
            format!("snapshot checksum mismatch: stored {want:08x}, computed {got:08x}"),
        ));
    }
    let mut c = Cursor::new(data, 0);
    c.array::<8>("magic")?;
    let at = c.offset();
    let version = c.u16("version")?;
    if version != VERSION {
        return Err(Error::malformed(
            at,
            format!("snapshot version {version}; this replog reads version {VERSION}"),
        ));
    }
    let at = c.offset();
    let kind = match c.u8("log kind")? {
        0 => None,
        k => Some(
            LogKind::from_code(k)
                .ok_or_else(|| Error::malformed(at, format!("unknown log kind {k}")))?,
        ),
    };
    c.u8("reserved")?;
    let pos = Position {
        kind,
        log_id: c.array::<16>("log id")?,
        applied_lsn: c.u64("applied LSN")?,
        last_txid: c.u64("last txid")?,
        digest: c.u64("digest")?,
    };
    let at = c.offset();
    let body_len = c.u64("body length")?;
    if body_len != c.remaining() as u64 {
        return Err(Error::malformed(at, "body length does not match the file"));
    }
    let mut st = MemStorage::new();
    let ndb = c.u32("database count")?;
    for _ in 0..ndb {
        let at = c.offset();
        st.create_database(c.str_u16("database")?)
            .map_err(|e| Error::malformed(at, e.to_string()))?;
    }
    let nt = c.u32("table count")?;
    for _ in 0..nt {
        let at = c.offset();
        let (def, auto_inc) = read_def(&mut c)?;
        let ncols = def.columns.len();
        if !st.database_exists(&def.database) {
            st.create_database(&def.database)
                .map_err(|e| Error::malformed(at, e.to_string()))?;
        }
        let id = st
            .create_table(def)
            .map_err(|e| Error::malformed(at, e.to_string()))?;
        st.set_auto_increment(id, auto_inc);
        let rows = c.u64("row count")?;
        for _ in 0..rows {
            let at = c.offset();
            let mut row = Vec::with_capacity(ncols);
            for _ in 0..ncols {
                row.push(Value::decode(&mut c)?.into_owned());
            }
            st.insert(id, row)
                .map_err(|e| Error::malformed(at, e.to_string()))?;
        }
    }
    c.finish("snapshot")?;
    let digest = st
        .tables()
        .into_iter()
        .fold(0u64, |a, id| a.wrapping_add(st.digest(id)));
    if digest != pos.digest {
        return Err(Error::malformed(
            0,
            format!(
                "snapshot rows digest to {digest:016x}, header says {:016x}",
                pos.digest
            ),
        ));
    }
    Ok((pos, st))
}

/// Writes the snapshot of `store` at `pos` into directory `dir`
/// atomically: a temporary file, fsync, rename over [`FILE_NAME`], fsync
/// of the directory.
pub fn save<S: Storage, E: Environment>(
    dir: &Path,
    store: &Store<S, E>,
    pos: &Position,
) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(e, format!("creating {}", dir.display())))?;
    let bytes = encode(store, pos)?;
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let mut f =
        File::create(&tmp).map_err(|e| Error::io(e, format!("creating {}", tmp.display())))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(e, format!("writing {}", tmp.display())))?;
    drop(f);
    let dst = path_in(dir);
    std::fs::rename(&tmp, &dst)
        .map_err(|e| Error::io(e, format!("renaming to {}", dst.display())))?;
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(e, format!("fsync of {}", dir.display())))?;
    Ok(())
}

/// Loads the snapshot of store directory `dir`; `None` when the directory
/// holds none (a new follower).
pub fn load(dir: &Path) -> Result<Option<(Position, MemStorage)>> {
    let p = path_in(dir);
    match std::fs::read(&p) {
        Ok(b) => decode(&b).map(Some).map_err(|e| e.context(p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(e, format!("reading {}", p.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimEnvironment;

    #[test]
    fn round_trip_keeps_everything() {
        let mut s = Store::new(SimEnvironment::default());
        s.execute_script(
            "CREATE DATABASE empty_db; CREATE DATABASE d; USE d;
             CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, c CHAR(3) NOT NULL DEFAULT 'x',
               e ENUM('a','b'), s SET('p','q'),               dec1 DECIMAL(6,2) UNSIGNED, b BOOLEAN, bin BINARY(2), bit5 BIT(5), j JSON,
               UNIQUE KEY uk_c (c));
             INSERT INTO t (c, e, s, dec1, b, bin, bit5, j) VALUES ('a', 'b', 'q,p', 1.5, 2, 'z', 3, '[1]');
             INSERT INTO t (c) VALUES ('b');",
        )
        .unwrap();
        let pos = Position {
            kind: Some(LogKind::Logical),
            log_id: [7; 16],
            applied_lsn: 4096,
            last_txid: 9,
            digest: s.digest(),
        };
        let bytes = encode(&s, &pos).unwrap();
        let (p2, st) = decode(&bytes).unwrap();
        assert_eq!(p2, pos);
        let mut back = Store::with_storage(st, SimEnvironment::default());
        assert_eq!(back.digest(), s.digest());
        assert_eq!(
            back.databases(),
            vec!["d".to_string(), "empty_db".to_string()]
        );
        assert_eq!(back.table_defs(), s.table_defs());
        let mut a = Vec::new();
        let mut b = Vec::new();
        s.dump(&mut a).unwrap();
        back.dump(&mut b).unwrap();
        assert_eq!(a, b);
        // Defaults and counters survive: the next insert behaves the same.
        s.execute("INSERT INTO d.t (c) VALUES ('c')").unwrap();
        back.execute("INSERT INTO d.t (c) VALUES ('c')").unwrap();
        assert_eq!(
            back.dump_table("d", "t").unwrap(),
            s.dump_table("d", "t").unwrap()
        );
        // Any flipped byte is caught.
        for i in [0, 9, 30, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(decode(&bad).is_err(), "flip at {i}");
        }
    }
}
