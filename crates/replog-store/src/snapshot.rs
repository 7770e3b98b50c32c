//! Store snapshots: the whole content of a store (databases, table
//! definitions, auto-increment counters, rows) plus the log position it was
//! taken at, in one checksummed file (`formats/store.md` §10).
//!
//! A follower directory (`replog replay --store DIR`) holds one snapshot,
//! `DIR/store.snapshot`, replaced atomically (written to a temporary file,
//! fsynced, renamed, directory fsynced) after a replay; catch-up resumes
//! from its position.

use crate::storage::{MemStorage, Storage};
use crate::types::TableDef;
use crate::{Environment, Store};
use replog_core::codec::{self, Cursor};
use replog_core::{Error, ErrorKind, LogKind, Result, Value};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The snapshot file's magic: `\x89RPLSNAP`.
pub const MAGIC: [u8; 8] = *b"\x89RPLSNAP";
/// The snapshot format version this code writes and reads: 2 since table
/// definitions use the one encoding of `formats/store.md` §13 (version 1
/// laid them out differently and is refused).
pub const VERSION: u16 = 2;
/// Name of the snapshot inside a store directory.
pub const FILE_NAME: &str = "store.snapshot";
const HEADER_LEN: usize = 60;

/// Where a snapshot stands in the log it was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppliedPosition {
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

fn put_value(out: &mut Vec<u8>, v: &Value<'_>) -> Result<()> {
    let at = out.len() as u64;
    v.encode(out).map_err(|m| Error::malformed(at, m))
}

/// Encodes a snapshot of `store` taken at `pos`.
pub fn encode<S: Storage, E: Environment>(
    store: &Store<S, E>,
    pos: &AppliedPosition,
) -> Result<Vec<u8>> {
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
        def.encode(&mut body)?;
        codec::put_u64(&mut body, st.auto_increment(id));
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
pub fn decode(bytes: &[u8]) -> Result<(AppliedPosition, MemStorage)> {
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
    if version == 1 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            at,
            format!(
                "snapshot version 1 was written by an older replog (table definitions laid out \
                 differently); this replog reads version {VERSION}: rebuild the follower \
                 directory by replaying its log"
            ),
        ));
    }
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
    let pos = AppliedPosition {
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
        let def = TableDef::decode(&mut c)?;
        let auto_inc = c.u64("auto-increment")?;
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
    pos: &AppliedPosition,
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
pub fn load(dir: &Path) -> Result<Option<(AppliedPosition, MemStorage)>> {
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
        let pos = AppliedPosition {
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

    /// A snapshot written before table definitions had one encoding is
    /// refused with a message that says so (not misread).
    #[test]
    fn version_1_is_refused_clearly() {
        let s = Store::new(SimEnvironment::default());
        let mut bytes = encode(&s, &AppliedPosition::default()).unwrap();
        bytes[8..10].copy_from_slice(&1u16.to_le_bytes());
        let n = bytes.len() - 4;
        let crc = crc32c::crc32c(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
        let e = decode(&bytes).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(e.offset(), Some(8));
        assert!(e.to_string().contains("older replog"), "{e}");
    }
}
