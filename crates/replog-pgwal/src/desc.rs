//! Record descriptions in pg_waldump's words, for the resource managers
//! XLOG, Transaction, Storage, Standby, Heap, Heap2, Btree, Sequence,
//! Database and LogicalMessage, in the text PostgreSQL 13 to 15 print, and
//! in the words of 16 to 18 where they reworded them (every Heap, Heap2 and
//! Btree record: `name: value` pairs, with the offset arrays of pruning,
//! freezing, vacuum and index deletion; checked against pg_walinspect
//! 16–18).
//!
//! Every reader here is bounds-checked: main data shorter than its
//! structure gives `(short main data)`, never a panic.

use std::fmt::Write;

use crate::consts::{FORK_NAMES, PgVersion, rmgr};
use crate::record::push_u32;
use crate::{Lsn, Record};

/// Little-endian reads at fixed offsets of a record's main data.
struct Data<'a>(&'a [u8]);

impl Data<'_> {
    fn u8(&self, at: usize) -> Option<u8> {
        self.0.get(at).copied()
    }
    fn u16(&self, at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(self.0.get(at..at + 2)?.try_into().ok()?))
    }
    fn u32(&self, at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.0.get(at..at + 4)?.try_into().ok()?))
    }
    fn i32(&self, at: usize) -> Option<i32> {
        self.u32(at).map(|v| v as i32)
    }
    fn u64(&self, at: usize) -> Option<u64> {
        Some(u64::from_le_bytes(self.0.get(at..at + 8)?.try_into().ok()?))
    }
    fn i64(&self, at: usize) -> Option<i64> {
        self.u64(at).map(|v| v as i64)
    }
}

/// Appends the description of `rec` (pg_waldump's text after the record
/// type, without block references) to `out`.
pub fn describe(rec: &Record<'_>, out: &mut String) {
    let start = out.len();
    if describe_inner(rec, out).is_none() {
        out.truncate(start);
        out.push_str("(short main data)");
    }
}

/// Appends pg_waldump's block reference summary (`, blkref #0: rel
/// 1663/5/16384 blk 0 FPW`) to `out`.
pub fn block_refs(rec: &Record<'_>, out: &mut String) {
    for b in rec.block_headers {
        let r = b.rel;
        out.push_str(", blkref #");
        push_u32(out, u32::from(b.id));
        out.push_str(": rel ");
        push_u32(out, r.spc);
        out.push('/');
        push_u32(out, r.db);
        out.push('/');
        push_u32(out, r.rel);
        if b.fork != 0 {
            out.push_str(" fork ");
            out.push_str(fork_name(b.fork));
        }
        out.push_str(" blk ");
        push_u32(out, b.block);
        if let Some(img) = &b.image {
            out.push_str(if img.apply {
                " FPW"
            } else {
                " FPW for WAL verification"
            });
        }
    }
}

/// pg_waldump's detailed block references (`-b`, `--bkp-details`): one line
/// per block, each `\tblkref #0: rel 1663/5/16384 fork main blk 0`, with
/// `(FPW); hole: offset: …, length: …` and, for a compressed image,
/// `, compression saved: …, method: …`. Lines are separated by `\n`; no
/// newline ends the last one.
pub fn block_details(rec: &Record<'_>, out: &mut String) {
    for (i, b) in rec.block_headers.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push('\t');
        block_detail(rec, b, out);
    }
}

/// One line of [`block_details`], without its leading tab.
pub fn block_detail(rec: &Record<'_>, b: &crate::BlockHeader, out: &mut String) {
    let r = b.rel;
    let _ = write!(
        out,
        "blkref #{}: rel {}/{}/{} fork {} blk {}",
        b.id,
        r.spc,
        r.db,
        r.rel,
        fork_name(b.fork),
        b.block
    );
    if let Some(img) = &b.image {
        let _ = write!(
            out,
            " (FPW{}); hole: offset: {}, length: {}",
            if img.apply {
                ""
            } else {
                " for WAL verification"
            },
            img.hole_offset,
            img.hole_length
        );
        if img.compression != crate::ImageCompression::None {
            let saved =
                i64::from(rec.block_size) - i64::from(img.hole_length) - i64::from(img.length);
            let _ = write!(
                out,
                ", compression saved: {saved}, method: {}",
                img.compression.name()
            );
        }
    }
}

/// pg_waldump's listing of `rec` with `-b`: the line of [`waldump_line`]
/// without the short block references, then [`block_details`] on lines of
/// their own (no newline at the end).
pub fn waldump_line_detailed(rec: &Record<'_>, out: &mut String) {
    waldump_head(rec, out);
    for b in rec.block_headers {
        out.push_str("\n\t");
        block_detail(rec, b, out);
    }
}

/// pg_waldump's default listing line for `rec` (without the newline).
pub fn waldump_line(rec: &Record<'_>, out: &mut String) {
    waldump_head(rec, out);
    block_refs(rec, out);
}

/// The listing line up to the description (no block references).
fn waldump_head(rec: &Record<'_>, out: &mut String) {
    let _ = write!(
        out,
        "rmgr: {:<11} len (rec/tot): {:>6}/{:>6}, tx: {:>10}, lsn: {}, prev {}, desc: ",
        rec.rmgr_name(),
        rec.rec_len(),
        rec.header.tot_len,
        rec.header.xid,
        rec.lsn.padded(),
        rec.header.prev.padded()
    );
    match rec.record_type() {
        Some(t) => out.push_str(t),
        None => {
            let _ = write!(out, "UNKNOWN ({:x})", rec.header.info & 0xF0);
        }
    }
    out.push(' ');
    describe(rec, out);
}

/// Appends `b` as two upper-case hexadecimal digits.
fn push_hex2(s: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    s.push(char::from(DIGITS[usize::from(b >> 4)]));
    s.push(char::from(DIGITS[usize::from(b & 0xF)]));
}

fn fork_name(fork: u8) -> &'static str {
    FORK_NAMES.get(usize::from(fork)).copied().unwrap_or("?")
}

/// A relation's path as `relpathperm` prints it.
fn relpath(out: &mut String, spc: u32, db: u32, rel: u32, fork: u32, version: PgVersion) {
    let _ = match spc {
        1664 => write!(out, "global/{rel}"),
        1663 => write!(out, "base/{db}/{rel}"),
        _ => write!(out, "pg_tblspc/{spc}/PG_{}_*/{db}/{rel}", version.major()),
    };
    if fork > 0 && (fork as usize) < FORK_NAMES.len() {
        let _ = write!(out, "_{}", FORK_NAMES[fork as usize]);
    }
}

/// `timestamptz_to_str` of the frontend: microseconds since 2000-01-01, in UTC.
pub fn timestamp(out: &mut String, ts: i64) {
    const EPOCH_2000: i64 = 946_684_800;
    let secs = ts.div_euclid(1_000_000) + EPOCH_2000;
    let micros = ts.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        let _ = write!(out, "{y:04}");
    } else {
        push_padded(out, y as u32, 4);
    }
    for (sep, v, w) in [
        ('-', m, 2),
        ('-', d, 2),
        (' ', (tod / 3600) as u32, 2),
        (':', (tod % 3600 / 60) as u32, 2),
        (':', (tod % 60) as u32, 2),
        ('.', micros as u32, 6),
    ] {
        out.push(sep);
        push_padded(out, v, w);
    }
    out.push_str(" UTC");
}

/// Appends `v` in decimal, zero-padded to `width` digits.
fn push_padded(out: &mut String, v: u32, width: usize) {
    let mut b = itoa::Buffer::new();
    let digits = b.format(v);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn describe_inner(rec: &Record<'_>, s: &mut String) -> Option<()> {
    let d = Data(rec.main_data());
    let info = rec.header.info;
    let v = rec.version;
    match rec.header.rmid {
        rmgr::XLOG => xlog(&d, info, v, s),
        rmgr::XACT => xact(rec, &d, info, v, s),
        rmgr::SMGR => match info & 0xF0 {
            0x10 => {
                relpath(s, d.u32(0)?, d.u32(4)?, d.u32(8)?, d.u32(12)?, v);
                Some(())
            }
            0x20 => {
                relpath(s, d.u32(4)?, d.u32(8)?, d.u32(12)?, 0, v);
                let _ = write!(s, " to {} blocks flags {}", d.u32(0)?, d.i32(16)?);
                Some(())
            }
            _ => Some(()),
        },
        rmgr::STANDBY => standby(&d, info, s),
        rmgr::HEAP if v >= PgVersion::V16 => heap_16(&d, info, v, s),
        rmgr::HEAP => heap(&d, info, s),
        rmgr::HEAP2 if v >= PgVersion::V16 => heap2_16(rec, &d, info, v, s),
        rmgr::HEAP2 => heap2(&d, info, v, s),
        rmgr::BTREE => btree(rec, &d, info, v, s),
        rmgr::SEQ => {
            if info & 0xF0 == 0 {
                let _ = write!(s, "rel {}/{}/{}", d.u32(0)?, d.u32(4)?, d.u32(8)?);
            }
            Some(())
        }
        rmgr::DBASE => dbase(&d, info, v, s),
        rmgr::LOGICALMSG => {
            if info & 0xF0 != 0 {
                return Some(());
            }
            let transactional = d.u8(4)? != 0;
            let prefix_size = usize::try_from(d.u64(8)?).ok()?;
            let message_size = usize::try_from(d.u64(16)?).ok()?;
            let prefix = d.0.get(24..24usize.checked_add(prefix_size)?)?;
            let prefix = prefix.strip_suffix(&[0]).unwrap_or(prefix);
            let start = 24 + prefix_size;
            let payload = d.0.get(start..start.checked_add(message_size)?)?;
            let _ = write!(
                s,
                "{}, prefix \"{}\"; payload ({} bytes): ",
                if transactional {
                    "transactional"
                } else {
                    "non-transactional"
                },
                String::from_utf8_lossy(prefix),
                message_size
            );
            for (i, b) in payload.iter().enumerate() {
                let _ = write!(s, "{}{b:02X}", if i == 0 { "" } else { " " });
            }
            Some(())
        }
        _ => Some(()),
    }
}

fn lsn(s: &mut String, v: u64) {
    let _ = write!(s, "{}", Lsn(v));
}

fn xlog(d: &Data<'_>, info: u8, v: PgVersion, s: &mut String) -> Option<()> {
    match info & 0xF0 {
        0x00 | 0x10 => {
            // CheckPoint; 17 and later put wal_level after fullPageWrites,
            // in what was padding before the 8-aligned nextXid: no other
            // field moves.
            s.push_str("redo ");
            lsn(s, d.u64(0)?);
            let next = d.u64(24)?;
            let _ = write!(
                s,
                "; tli {}; prev tli {}; fpw {}; ",
                d.u32(8)?,
                d.u32(12)?,
                if d.u8(16)? != 0 { "true" } else { "false" }
            );
            if v >= PgVersion::V17 {
                let lvl = d.i32(20)?;
                let _ = write!(s, "wal_level {}; ", wal_level(lvl));
            }
            let _ = write!(
                s,
                "xid {}:{}; oid {}; multi {}; offset {}; oldest xid {} in DB {}; oldest multi {} in DB {}; oldest/newest commit timestamp xid: {}/{}; oldest running xid {}; {}",
                next >> 32,
                next as u32,
                d.u32(32)?,
                d.u32(36)?,
                d.u32(40)?,
                d.u32(44)?,
                d.u32(48)?,
                d.u32(52)?,
                d.u32(56)?,
                d.u32(72)?,
                d.u32(76)?,
                d.u32(80)?,
                if info & 0xF0 == 0 {
                    "shutdown"
                } else {
                    "online"
                }
            );
        }
        0x30 => {
            let _ = write!(s, "{}", d.u32(0)?);
        }
        0x50 => lsn(s, d.u64(0)?),
        0x60 => {
            let _ = write!(
                s,
                "max_connections={} max_worker_processes={} max_wal_senders={} max_prepared_xacts={} max_locks_per_xact={} wal_level={} wal_log_hints={} track_commit_timestamp={}",
                d.i32(0)?,
                d.i32(4)?,
                d.i32(8)?,
                d.i32(12)?,
                d.i32(16)?,
                wal_level(d.i32(20)?),
                if d.u8(24)? != 0 { "on" } else { "off" },
                if d.u8(25)? != 0 { "on" } else { "off" }
            );
        }
        0x70 => {
            let name = d.0.get(8..)?;
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            s.push_str(&String::from_utf8_lossy(&name[..end]));
        }
        0x80 => s.push_str(if d.u8(0)? != 0 { "true" } else { "false" }),
        0x90 => {
            let _ = write!(s, "tli {}; prev tli {}; time ", d.u32(8)?, d.u32(12)?);
            timestamp(s, d.i64(0)?);
        }
        0xD0 => {
            s.push_str("lsn ");
            lsn(s, d.u64(0)?);
            s.push_str("; time ");
            timestamp(s, d.i64(8)?);
        }
        0xE0 if v >= PgVersion::V17 => {
            let _ = write!(s, "wal_level {}", wal_level(d.i32(0)?));
        }
        _ => {}
    }
    Some(())
}

fn wal_level(l: i32) -> String {
    match l {
        0 => "minimal".into(),
        1 => "replica".into(),
        2 => "logical".into(),
        n => format!("?({n})"),
    }
}

const XACT_XINFO_HAS_DBINFO: u32 = 1 << 0;
const XACT_XINFO_HAS_SUBXACTS: u32 = 1 << 1;
const XACT_XINFO_HAS_RELFILENODES: u32 = 1 << 2;
const XACT_XINFO_HAS_INVALS: u32 = 1 << 3;
const XACT_XINFO_HAS_TWOPHASE: u32 = 1 << 4;
const XACT_XINFO_HAS_ORIGIN: u32 = 1 << 5;
const XACT_XINFO_HAS_GID: u32 = 1 << 7;
const XACT_XINFO_HAS_DROPPED_STATS: u32 = 1 << 8;
const XACT_COMPLETION_APPLY_FEEDBACK: u32 = 1 << 29;
const XACT_COMPLETION_UPDATE_RELCACHE_FILE: u32 = 1 << 30;
const XACT_COMPLETION_FORCE_SYNC_COMMIT: u32 = 1 << 31;

/// A commit or abort record's optional parts (`ParseCommitRecord`).
#[derive(Default)]
struct Parsed<'a> {
    xinfo: u32,
    db: u32,
    ts: u32,
    subxacts: &'a [u8],
    rels: &'a [u8],
    stats: &'a [u8],
    invals: &'a [u8],
    twophase_xid: u32,
    origin_lsn: u64,
    origin_ts: i64,
}

/// What a Transaction COMMIT, ABORT, COMMIT PREPARED or ABORT PREPARED
/// record says about the transaction it ends (for decoders of row
/// changes): `None` for other records or when the main data is too short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XactEnd<'a> {
    /// A commit (or commit prepared), not an abort.
    pub commit: bool,
    /// The end's time, microseconds since 2000-01-01 UTC.
    pub timestamp: i64,
    /// Subtransaction ids, little-endian u32s.
    pub subxacts: &'a [u8],
    /// The prepared transaction's id (COMMIT/ABORT PREPARED), else 0.
    pub twophase_xid: u32,
}

/// Parses the main data of a Transaction end record (see [`XactEnd`]).
pub fn xact_end<'a>(main_data: &'a [u8], info: u8, v: PgVersion) -> Option<XactEnd<'a>> {
    let op = info & 0x70;
    let commit = match op {
        0x00 | 0x30 => true,
        0x20 | 0x40 => false,
        _ => return None,
    };
    let d = Data(main_data);
    let p = parse_commit(&d, info, v, commit)?;
    Some(XactEnd {
        commit,
        timestamp: d.i64(0)?,
        subxacts: p.subxacts,
        twophase_xid: p.twophase_xid,
    })
}

/// Takes `n` items of `size` bytes after a 4-byte count at `*at`.
fn counted<'a>(d: &Data<'a>, at: &mut usize, size: usize) -> Option<&'a [u8]> {
    let n = usize::try_from(d.i32(*at)?).ok()?;
    let len = n.checked_mul(size)?;
    let items = d.0.get(*at + 4..(*at + 4).checked_add(len)?)?;
    *at += 4 + len;
    Some(items)
}

fn parse_commit<'a>(d: &Data<'a>, info: u8, v: PgVersion, is_commit: bool) -> Option<Parsed<'a>> {
    let mut p = Parsed::default();
    let mut at = 8;
    if info & 0x80 != 0 {
        p.xinfo = d.u32(at)?;
        at += 4;
    }
    let x = p.xinfo;
    if x & XACT_XINFO_HAS_DBINFO != 0 {
        p.db = d.u32(at)?;
        p.ts = d.u32(at + 4)?;
        at += 8;
    }
    if x & XACT_XINFO_HAS_SUBXACTS != 0 {
        p.subxacts = counted(d, &mut at, 4)?;
    }
    if x & XACT_XINFO_HAS_RELFILENODES != 0 {
        p.rels = counted(d, &mut at, 12)?;
    }
    if v >= PgVersion::V15 && x & XACT_XINFO_HAS_DROPPED_STATS != 0 {
        p.stats = counted(d, &mut at, 12)?;
    }
    if is_commit && x & XACT_XINFO_HAS_INVALS != 0 {
        p.invals = counted(d, &mut at, 16)?;
    }
    if x & XACT_XINFO_HAS_TWOPHASE != 0 {
        p.twophase_xid = d.u32(at)?;
        at += 4;
        if x & XACT_XINFO_HAS_GID != 0 {
            let rest = d.0.get(at..)?;
            at += rest.iter().position(|&b| b == 0)? + 1;
        }
    }
    if x & XACT_XINFO_HAS_ORIGIN != 0 {
        p.origin_lsn = d.u64(at)?;
        p.origin_ts = d.i64(at + 8)?;
    }
    Some(p)
}

fn rels(s: &mut String, label: &str, items: &[u8], v: PgVersion) {
    if items.is_empty() {
        return;
    }
    let _ = write!(s, "; {label}:");
    for r in items.chunks_exact(12) {
        let d = Data(r);
        s.push(' ');
        relpath(
            s,
            d.u32(0).unwrap_or(0),
            d.u32(4).unwrap_or(0),
            d.u32(8).unwrap_or(0),
            0,
            v,
        );
    }
}

fn subxacts(s: &mut String, items: &[u8]) {
    if items.is_empty() {
        return;
    }
    s.push_str("; subxacts:");
    for x in items.chunks_exact(4) {
        let _ = write!(s, " {}", u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
    }
}

fn stats(s: &mut String, label: &str, items: &[u8]) {
    if items.is_empty() {
        return;
    }
    let _ = write!(s, "; {label}dropped stats:");
    for x in items.chunks_exact(12) {
        let d = Data(x);
        let _ = write!(
            s,
            " {}/{}/{}",
            d.i32(0).unwrap_or(0),
            d.u32(4).unwrap_or(0),
            d.u32(8).unwrap_or(0)
        );
    }
}

/// `standby_desc_invalidations`.
fn invals(s: &mut String, msgs: &[u8], db: u32, ts: u32, relcache_init: bool) {
    if msgs.is_empty() {
        return;
    }
    if relcache_init {
        let _ = write!(s, "; relcache init file inval dbid {db} tsid {ts}");
    }
    s.push_str("; inval msgs:");
    for m in msgs.chunks_exact(16) {
        let d = Data(m);
        let id = m[0] as i8;
        let _ = match id {
            0.. => write!(s, " catcache {id}"),
            -1 => write!(s, " catalog {}", d.u32(8).unwrap_or(0)),
            -2 => write!(s, " relcache {}", d.u32(8).unwrap_or(0)),
            -3 => write!(s, " smgr"),
            -4 => write!(s, " relmap db {}", d.u32(4).unwrap_or(0)),
            -5 => write!(s, " snapshot {}", d.u32(8).unwrap_or(0)),
            _ => write!(s, " unrecognized id {id}"),
        };
    }
}

fn xact(rec: &Record<'_>, d: &Data<'_>, info: u8, v: PgVersion, s: &mut String) -> Option<()> {
    match info & 0x70 {
        op @ (0x00 | 0x30 | 0x20 | 0x40) => {
            let is_commit = op == 0x00 || op == 0x30;
            let p = parse_commit(d, info, v, is_commit)?;
            if p.twophase_xid != 0 {
                let _ = write!(s, "{}: ", p.twophase_xid);
            }
            timestamp(s, d.i64(0)?);
            rels(s, "rels", p.rels, v);
            subxacts(s, p.subxacts);
            stats(s, "", p.stats);
            if is_commit {
                invals(
                    s,
                    p.invals,
                    p.db,
                    p.ts,
                    p.xinfo & XACT_COMPLETION_UPDATE_RELCACHE_FILE != 0,
                );
                if p.xinfo & XACT_COMPLETION_APPLY_FEEDBACK != 0 {
                    s.push_str("; apply_feedback");
                }
                if p.xinfo & XACT_COMPLETION_FORCE_SYNC_COMMIT != 0 {
                    s.push_str("; sync");
                }
            }
            if p.xinfo & XACT_XINFO_HAS_ORIGIN != 0 {
                let _ = write!(
                    s,
                    "; origin: node {}, lsn {}, at ",
                    rec.body.origin.unwrap_or(0),
                    Lsn(p.origin_lsn)
                );
                timestamp(s, p.origin_ts);
            }
        }
        0x10 => prepare(d, v, s)?,
        0x50 => {
            let _ = write!(s, "xtop {}: subxacts:", d.u32(0)?);
            let n = usize::try_from(d.i32(4)?).ok()?;
            for i in 0..n {
                let _ = write!(s, " {}", d.u32(8 + 4 * i)?);
            }
        }
        0x60 => {
            let mut at = 0;
            let msgs = counted(d, &mut at, 16)?;
            invals(s, msgs, 0, 0, false);
        }
        _ => {}
    }
    Some(())
}

fn maxalign(n: usize) -> usize {
    (n + 7) & !7
}

/// `xl_xact_prepare` (the two-phase state file header) and what follows.
fn prepare(d: &Data<'_>, v: PgVersion, s: &mut String) -> Option<()> {
    let with_stats = v >= PgVersion::V15;
    let (nsub, ncommit, nabort) = (d.i32(28)?, d.i32(32)?, d.i32(36)?);
    let (ncstats, nastats) = if with_stats {
        (d.i32(40)?, d.i32(44)?)
    } else {
        (0, 0)
    };
    let o = if with_stats { 8 } else { 0 };
    let ninval = d.i32(40 + o)?;
    let init = d.u8(44 + o)? != 0;
    let gidlen = usize::from(d.u16(46 + o)?);
    let mut at = maxalign(64 + o);
    let n = |x: i32| usize::try_from(x).ok();
    let gid = d.0.get(at..at.checked_add(gidlen)?)?;
    at += maxalign(gidlen);
    let take = |at: &mut usize, count: usize, size: usize| -> Option<&[u8]> {
        let len = count.checked_mul(size)?;
        let r = d.0.get(*at..at.checked_add(len)?)?;
        *at += maxalign(len);
        Some(r)
    };
    let sub = take(&mut at, n(nsub)?, 4)?;
    let crels = take(&mut at, n(ncommit)?, 12)?;
    let arels = take(&mut at, n(nabort)?, 12)?;
    let cstats = take(&mut at, n(ncstats)?, 12)?;
    let astats = take(&mut at, n(nastats)?, 12)?;
    let msgs = take(&mut at, n(ninval)?, 16)?;
    let gid = gid.strip_suffix(&[0]).unwrap_or(gid);
    let _ = write!(s, "gid {}: ", String::from_utf8_lossy(gid));
    timestamp(s, d.i64(16)?);
    rels(s, "rels(commit)", crels, v);
    rels(s, "rels(abort)", arels, v);
    stats(s, "commit ", cstats);
    stats(s, "abort ", astats);
    subxacts(s, sub);
    invals(s, msgs, d.u32(12)?, 0, init);
    Some(())
}

fn standby(d: &Data<'_>, info: u8, s: &mut String) -> Option<()> {
    match info & 0xF0 {
        0x00 => {
            let n = usize::try_from(d.i32(0)?).ok()?;
            for i in 0..n {
                let at = 4 + 12 * i;
                let _ = write!(
                    s,
                    "xid {} db {} rel {} ",
                    d.u32(at)?,
                    d.u32(at + 4)?,
                    d.u32(at + 8)?
                );
            }
        }
        0x10 => {
            let xcnt = usize::try_from(d.i32(0)?).ok()?;
            let subxcnt = usize::try_from(d.i32(4)?).ok()?;
            let overflow = d.u8(8)? != 0;
            let _ = write!(
                s,
                "nextXid {} latestCompletedXid {} oldestRunningXid {}",
                d.u32(12)?,
                d.u32(20)?,
                d.u32(16)?
            );
            if xcnt > 0 {
                let _ = write!(s, "; {xcnt} xacts:");
                for i in 0..xcnt {
                    let _ = write!(s, " {}", d.u32(24 + 4 * i)?);
                }
            }
            if overflow {
                s.push_str("; subxid overflowed");
            }
            if subxcnt > 0 {
                let _ = write!(s, "; {subxcnt} subxacts:");
                for i in 0..subxcnt {
                    let _ = write!(s, " {}", d.u32(24 + 4 * (xcnt + i))?);
                }
            }
        }
        0x20 => {
            let n = usize::try_from(d.i32(12)?).ok()?;
            let msgs = d.0.get(16..16usize.checked_add(n.checked_mul(16)?)?)?;
            invals(s, msgs, d.u32(0)?, d.u32(4)?, d.u8(8)? != 0);
        }
        _ => {}
    }
    Some(())
}

/// `out_infobits` of heapdesc.c.
fn infobits(s: &mut String, bits: u8) {
    for (bit, name) in [
        (0x01, "IS_MULTI "),
        (0x02, "LOCK_ONLY "),
        (0x04, "EXCL_LOCK "),
        (0x08, "KEYSHR_LOCK "),
        (0x10, "KEYS_UPDATED "),
    ] {
        if bits & bit != 0 {
            s.push_str(name);
        }
    }
}

/// `infobits_desc` of PostgreSQL 16 and later: `[LOCK_ONLY, EXCL_LOCK]`.
fn infobits_list(s: &mut String, label: &str, bits: u8) {
    s.push_str(label);
    s.push_str(": [");
    let mut first = true;
    for (bit, name) in [
        (0x01, "IS_MULTI"),
        (0x02, "LOCK_ONLY"),
        (0x04, "EXCL_LOCK"),
        (0x08, "KEYSHR_LOCK"),
        (0x10, "KEYS_UPDATED"),
    ] {
        if bits & bit != 0 {
            if !first {
                s.push_str(", ");
            }
            s.push_str(name);
            first = false;
        }
    }
    s.push(']');
}

/// Heap records in the words of PostgreSQL 16 and later (`name: value`
/// pairs, info bits as lists).
fn heap_16(d: &Data<'_>, info: u8, v: PgVersion, s: &mut String) -> Option<()> {
    match info & 0x70 {
        0x00 => {
            let _ = write!(s, "off: {}, flags: 0x{:02X}", d.u16(0)?, d.u8(2)?);
        }
        0x10 | 0x60 => {
            let _ = write!(s, "xmax: {}, off: {}, ", d.u32(0)?, d.u16(4)?);
            infobits_list(s, "infobits", d.u8(6)?);
            let _ = write!(s, ", flags: 0x{:02X}", d.u8(7)?);
        }
        0x20 | 0x40 => {
            let _ = write!(s, "old_xmax: {}, old_off: {}, ", d.u32(0)?, d.u16(4)?);
            infobits_list(s, "old_infobits", d.u8(6)?);
            let _ = write!(
                s,
                ", flags: 0x{:02X}, new_xmax: {}, new_off: {}",
                d.u8(7)?,
                d.u32(8)?,
                d.u16(12)?
            );
        }
        0x30 => {
            let flags = d.u8(8)?;
            let mut names = Vec::new();
            if flags & 0x01 != 0 {
                names.push("CASCADE");
            }
            if flags & 0x02 != 0 {
                names.push("RESTART_SEQS");
            }
            let n = d.u32(4)? as usize;
            let _ = write!(s, "flags: [{}], nrelids: {n}, relids: [", names.join(", "));
            for i in 0..n {
                let _ = write!(
                    s,
                    "{}{}",
                    if i == 0 { "" } else { ", " },
                    d.u32(12 + 4 * i)?
                );
            }
            s.push(']');
        }
        0x50 => {
            let _ = write!(s, "off: {}", d.u16(0)?);
        }
        0x70 => {
            let _ = write!(s, "off: {}", d.u16(0)?);
            if v >= PgVersion::V18 {
                // offnum, dbId, tsId, relcacheInitFileInval, nmsgs, msgs.
                let nmsgs = usize::try_from(d.i32(16)?).ok()?;
                let msgs = d.0.get(20..20usize.checked_add(nmsgs.checked_mul(16)?)?)?;
                if nmsgs > 0 {
                    invals(s, msgs, d.u32(4)?, d.u32(8)?, d.u8(12)? != 0);
                }
            }
        }
        _ => {}
    }
    Some(())
}

fn heap(d: &Data<'_>, info: u8, s: &mut String) -> Option<()> {
    match info & 0x70 {
        0x00 => {
            s.push_str("off ");
            push_u32(s, u32::from(d.u16(0)?));
            s.push_str(" flags 0x");
            push_hex2(s, d.u8(2)?);
        }
        0x10 => {
            let _ = write!(s, "off {} flags 0x{:02X} ", d.u16(4)?, d.u8(7)?);
            infobits(s, d.u8(6)?);
        }
        0x20 | 0x40 => {
            s.push_str("off ");
            push_u32(s, u32::from(d.u16(4)?));
            s.push_str(" xmax ");
            push_u32(s, d.u32(0)?);
            s.push_str(" flags 0x");
            push_hex2(s, d.u8(7)?);
            s.push(' ');
            infobits(s, d.u8(6)?);
            s.push_str("; new off ");
            push_u32(s, u32::from(d.u16(12)?));
            s.push_str(" xmax ");
            push_u32(s, d.u32(8)?);
        }
        0x30 => {
            let flags = d.u8(8)?;
            if flags & 0x01 != 0 {
                s.push_str("cascade ");
            }
            if flags & 0x02 != 0 {
                s.push_str("restart_seqs ");
            }
            let n = d.u32(4)? as usize;
            let _ = write!(s, "nrelids {n} relids");
            for i in 0..n {
                let _ = write!(s, " {}", d.u32(12 + 4 * i)?);
            }
        }
        0x50 | 0x70 => {
            let _ = write!(s, "off {}", d.u16(0)?);
        }
        0x60 => {
            let _ = write!(
                s,
                "off {}: xid {}: flags 0x{:02X} ",
                d.u16(4)?,
                d.u32(0)?,
                d.u8(7)?
            );
            infobits(s, d.u8(6)?);
        }
        _ => {}
    }
    Some(())
}

/// Heap2 records of PostgreSQL 13 to 15.
fn heap2(d: &Data<'_>, info: u8, v: PgVersion, s: &mut String) -> Option<()> {
    match (info & 0x70, v) {
        // 13: CLEAN, FREEZE_PAGE and CLEANUP_INFO (14 replaced them).
        (0x10, PgVersion::V13) => {
            let _ = write!(s, "remxid {}", d.u32(0)?);
        }
        (0x20, PgVersion::V13) => {
            let _ = write!(s, "cutoff xid {} ntuples {}", d.u32(0)?, d.u16(4)?);
        }
        (0x30, PgVersion::V13) => {
            // After the relation (12 bytes).
            let _ = write!(s, "remxid {}", d.u32(12)?);
        }
        (0x10, _) => {
            let _ = write!(
                s,
                "latestRemovedXid {} nredirected {} ndead {}",
                d.u32(0)?,
                d.u16(4)?,
                d.u16(6)?
            );
        }
        (0x20, _) => {
            let _ = write!(s, "nunused {}", d.u16(0)?);
        }
        (0x30, _) => {
            let _ = write!(s, "cutoff xid {} ntuples {}", d.u32(0)?, d.u16(4)?);
        }
        (0x40, _) => {
            let _ = write!(s, "cutoff xid {} flags 0x{:02X}", d.u32(0)?, d.u8(4)?);
        }
        (0x50, _) => {
            let _ = write!(s, "{} tuples flags 0x{:02X}", d.u16(2)?, d.u8(0)?);
        }
        (0x60, _) => {
            let _ = write!(
                s,
                "off {}: xmax {}: flags 0x{:02X} ",
                d.u16(4)?,
                d.u32(0)?,
                d.u8(7)?
            );
            infobits(s, d.u8(6)?);
        }
        (0x70, _) => new_cid(d, v, s)?,
        _ => {}
    }
    Some(())
}

/// The data of block reference 0 when the record carries any
/// (`XLogRecHasBlockData`: none when a full-page image replaced it).
/// Heap2 NEW_CID (`xl_heap_new_cid`), in the words of 13–15 or of 16 and
/// later: the relation, the tuple's block and offset, its command ids.
fn new_cid(d: &Data<'_>, v: PgVersion, s: &mut String) -> Option<()> {
    let blk = (u32::from(d.u16(28)?) << 16) | u32::from(d.u16(30)?);
    let (rel, tid, cmin) = if v >= PgVersion::V16 {
        ("rel: ", ", tid: ", ", cmin: ")
    } else {
        ("rel ", "; tid ", "; cmin: ")
    };
    let _ = write!(
        s,
        "{rel}{}/{}/{}{tid}{blk}/{}{cmin}{}, cmax: {}, combo: {}",
        d.u32(16)?,
        d.u32(20)?,
        d.u32(24)?,
        d.u16(32)?,
        d.u32(4)?,
        d.u32(8)?,
        d.u32(12)?
    );
    Some(())
}

fn block0_data<'a>(rec: &Record<'a>) -> Option<Data<'a>> {
    rec.block(0)
        .filter(|b| !b.data.is_empty())
        .map(|b| Data(b.data))
}

/// `label [a, b, c]`: `n` offset numbers (u16) of `d` from `at`, as
/// rmgrdesc's `array_desc` prints them; returns the offset after them.
fn offset_list(s: &mut String, label: &str, d: &Data<'_>, at: usize, n: usize) -> Option<usize> {
    s.push_str(label);
    s.push_str(" [");
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        push_u32(s, u32::from(d.u16(at + 2 * i)?));
    }
    s.push(']');
    Some(at + 2 * n)
}

/// `label [a->b, …]`: `n` redirections (pairs of offset numbers) from `at`.
fn redirect_list(s: &mut String, label: &str, d: &Data<'_>, at: usize, n: usize) -> Option<()> {
    s.push_str(label);
    s.push_str(" [");
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{}->{}", d.u16(at + 4 * i)?, d.u16(at + 4 * i + 2)?);
    }
    s.push(']');
    Some(())
}

/// `, plans: [{ xmax: …, infomask: …, infomask2: …, ntuples: …, offsets:
/// […] }, …]`: `nplans` freeze plans (12 bytes each: xmax, infomask2,
/// infomask, frzflags, ntuples) from `plans`, whose tuples' offsets follow
/// one another from `offsets`.
fn freeze_plans(
    s: &mut String,
    d: &Data<'_>,
    plans: usize,
    nplans: usize,
    mut offsets: usize,
) -> Option<()> {
    s.push_str(", plans: [");
    for i in 0..nplans {
        if i > 0 {
            s.push_str(", ");
        }
        let p = plans + 12 * i;
        let ntuples = d.u16(p + 10)?;
        let _ = write!(
            s,
            "{{ xmax: {}, infomask: {}, infomask2: {}, ntuples: {ntuples}",
            d.u32(p)?,
            d.u16(p + 6)?,
            d.u16(p + 4)?
        );
        offsets = offset_list(s, ", offsets:", d, offsets, usize::from(ntuples))?;
        s.push_str(" }");
    }
    s.push(']');
    Some(())
}

/// Heap2 records in the words of PostgreSQL 16 and later. 16 has PRUNE,
/// VACUUM and FREEZE_PAGE; 17 replaced them with one pruning record in
/// three kinds (ON_ACCESS, VACUUM_SCAN, VACUUM_CLEANUP) whose block data
/// holds sub-records named by flags.
fn heap2_16(rec: &Record<'_>, d: &Data<'_>, info: u8, v: PgVersion, s: &mut String) -> Option<()> {
    match (info & 0x70, v) {
        (0x10, PgVersion::V16) => {
            // snapshotConflictHorizon, nredirected, ndead, isCatalogRel;
            // the block data holds the redirections (pairs), the dead and
            // then the unused offsets (as many as fit).
            let (nredirected, ndead) = (usize::from(d.u16(4)?), usize::from(d.u16(6)?));
            let _ = write!(
                s,
                "snapshotConflictHorizon: {}, nredirected: {nredirected}, ndead: {ndead}",
                d.u32(0)?
            );
            if let Some(b) = block0_data(rec) {
                let nunused = (b.0.len() / 2).checked_sub(2 * nredirected + ndead)?;
                let _ = write!(s, ", nunused: {nunused}");
                redirect_list(s, ", redirected:", &b, 0, nredirected)?;
                let at = offset_list(s, ", dead:", &b, 4 * nredirected, ndead)?;
                offset_list(s, ", unused:", &b, at, nunused)?;
            }
        }
        (0x20, PgVersion::V16) => {
            let nunused = d.u16(0)?;
            let _ = write!(s, "nunused: {nunused}");
            if let Some(b) = block0_data(rec) {
                offset_list(s, ", unused:", &b, 0, usize::from(nunused))?;
            }
        }
        (0x30, PgVersion::V16) => {
            // snapshotConflictHorizon, nplans, isCatalogRel; the block data
            // holds the plans, then the offsets of their tuples.
            let nplans = usize::from(d.u16(4)?);
            let _ = write!(
                s,
                "snapshotConflictHorizon: {}, nplans: {nplans}",
                d.u32(0)?
            );
            if let Some(b) = block0_data(rec) {
                freeze_plans(s, &b, 0, nplans, 12 * nplans)?;
            }
        }
        (0x10..=0x30, _) => prune_17(rec, d, s)?,
        (0x40, _) => {
            let _ = write!(
                s,
                "snapshotConflictHorizon: {}, flags: 0x{:02X}",
                d.u32(0)?,
                d.u8(4)?
            );
        }
        (0x50, _) => {
            let _ = write!(s, "ntuples: {}, flags: 0x{:02X}", d.u16(2)?, d.u8(0)?);
            // The offsets the tuples go to, when the block carries the
            // tuples (not a whole-page image) and the page is not new.
            if info & 0x80 == 0 && block0_data(rec).is_some() {
                offset_list(s, ", offsets:", d, 4, usize::from(d.u16(2)?))?;
            }
        }
        (0x60, _) => {
            let _ = write!(s, "xmax: {}, off: {}, ", d.u32(0)?, d.u16(4)?);
            infobits_list(s, "infobits", d.u8(6)?);
            let _ = write!(s, ", flags: 0x{:02X}", d.u8(7)?);
        }
        (0x70, _) => new_cid(d, v, s)?,
        _ => {}
    }
    Some(())
}

/// `xl_heap_prune` flags of PostgreSQL 17 and later.
const XLHP_IS_CATALOG_REL: u8 = 1 << 1;
const XLHP_HAS_CONFLICT_HORIZON: u8 = 1 << 3;
const XLHP_HAS_FREEZE_PLANS: u8 = 1 << 4;
const XLHP_HAS_REDIRECTIONS: u8 = 1 << 5;
const XLHP_HAS_DEAD_ITEMS: u8 = 1 << 6;
const XLHP_HAS_NOW_UNUSED_ITEMS: u8 = 1 << 7;

/// PRUNE_ON_ACCESS, PRUNE_VACUUM_SCAN and PRUNE_VACUUM_CLEANUP of
/// PostgreSQL 17 and later. Main data: reason, flags, then the conflict
/// horizon (unaligned) when a flag says so. Block 0's data: the freeze
/// plans (a count, 2 bytes of padding, 12 bytes a plan), the redirections,
/// dead and unused items (each a count and its offsets), each present when
/// its flag is set, then the offsets of the frozen tuples.
fn prune_17(rec: &Record<'_>, d: &Data<'_>, s: &mut String) -> Option<()> {
    let flags = d.u8(1)?;
    if flags & XLHP_HAS_CONFLICT_HORIZON != 0 {
        let _ = write!(s, "snapshotConflictHorizon: {}", d.u32(2)?);
    }
    let catalog = if flags & XLHP_IS_CATALOG_REL != 0 {
        'T'
    } else {
        'F'
    };
    let _ = write!(s, ", isCatalogRel: {catalog}");
    let Some(b) = block0_data(rec) else {
        return Some(());
    };
    let mut at = 0;
    let mut part = |flag: u8, header: usize, width: usize| -> Option<(usize, usize)> {
        if flags & flag == 0 {
            return Some((0, at));
        }
        let n = usize::from(b.u16(at)?);
        let start = at + header;
        at = start + width * n;
        Some((n, start))
    };
    let (nplans, plans) = part(XLHP_HAS_FREEZE_PLANS, 4, 12)?;
    let (nredirected, redirected) = part(XLHP_HAS_REDIRECTIONS, 2, 4)?;
    let (ndead, dead) = part(XLHP_HAS_DEAD_ITEMS, 2, 2)?;
    let (nunused, unused) = part(XLHP_HAS_NOW_UNUSED_ITEMS, 2, 2)?;
    let frozen = at;
    let _ = write!(
        s,
        ", nplans: {nplans}, nredirected: {nredirected}, ndead: {ndead}, nunused: {nunused}"
    );
    if nplans > 0 {
        freeze_plans(s, &b, plans, nplans, frozen)?;
    }
    if nredirected > 0 {
        redirect_list(s, ", redirected:", &b, redirected, nredirected)?;
    }
    if ndead > 0 {
        offset_list(s, ", dead:", &b, dead, ndead)?;
    }
    if nunused > 0 {
        offset_list(s, ", unused:", &b, unused, nunused)?;
    }
    Some(())
}

/// A full transaction id, printed `epoch:xid`.
struct FullXid(u64);

impl std::fmt::Display for FullXid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.0 >> 32, self.0 as u32)
    }
}

/// A relation, printed `spc/db/rel`.
struct Rel(u32, u32, u32);

impl std::fmt::Display for Rel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.0, self.1, self.2)
    }
}

/// A field of a description: its name up to 15, its name from 16, its value.
type Field<'a> = (&'a str, &'a str, &'a dyn std::fmt::Display);

/// Appends `fields` in the words of `v`: from 16 `name: value` joined by
/// `, ` (the second names), before 16 `name value` joined by `sep` (the
/// first names).
fn fields(s: &mut String, v: PgVersion, sep: &str, fields: &[Field<'_>]) {
    let new = v >= PgVersion::V16;
    for (i, (old_name, new_name, value)) in fields.iter().enumerate() {
        if i > 0 {
            s.push_str(if new { ", " } else { sep });
        }
        let _ = if new {
            write!(s, "{new_name}: {value}")
        } else {
            write!(s, "{old_name} {value}")
        };
    }
}

/// Btree records, in the words of 13–15 or of 16 and later (which print
/// the offset arrays of DELETE and VACUUM too, and, from 17, `isCatalogRel`
/// of DELETE and REUSE_PAGE).
fn btree(rec: &Record<'_>, d: &Data<'_>, info: u8, v: PgVersion, s: &mut String) -> Option<()> {
    let new = v >= PgVersion::V16;
    let catalog = |s: &mut String, at: usize| -> Option<()> {
        if v >= PgVersion::V17 {
            let _ = write!(
                s,
                ", isCatalogRel: {}",
                if d.u8(at)? != 0 { 'T' } else { 'F' }
            );
        }
        Some(())
    };
    match info & 0xF0 {
        0x00 | 0x10 | 0x20 | 0x50 => {
            // The most common records: written without core::fmt.
            s.push_str(if new { "off: " } else { "off " });
            push_u32(s, u32::from(d.u16(0)?));
        }
        0x30 | 0x40 => fields(
            s,
            v,
            ", ",
            &[
                ("level", "level", &d.u32(0)?),
                ("firstrightoff", "firstrightoff", &d.u16(4)?),
                ("newitemoff", "newitemoff", &d.u16(6)?),
                ("postingoff", "postingoff", &d.u16(8)?),
            ],
        ),
        0x60 => fields(s, v, "", &[("nintervals", "nintervals", &d.u16(0)?)]),
        0x70 => {
            // Conflict horizon, ndeleted, nupdated, isCatalogRel (16+).
            let (ndeleted, nupdated) = (d.u16(4)?, d.u16(6)?);
            fields(
                s,
                v,
                "; ",
                &[
                    ("latestRemovedXid", "snapshotConflictHorizon", &d.u32(0)?),
                    ("ndeleted", "ndeleted", &ndeleted),
                    ("nupdated", "nupdated", &nupdated),
                ],
            );
            catalog(s, 8)?;
            if let Some(b) = block0_data(rec).filter(|_| new) {
                deleted_updated(s, &b, ndeleted, nupdated)?;
            }
        }
        0xC0 => {
            let (ndeleted, nupdated) = (d.u16(0)?, d.u16(2)?);
            fields(
                s,
                v,
                "; ",
                &[
                    ("ndeleted", "ndeleted", &ndeleted),
                    ("nupdated", "nupdated", &nupdated),
                ],
            );
            if let Some(b) = block0_data(rec).filter(|_| new) {
                deleted_updated(s, &b, ndeleted, nupdated)?;
            }
        }
        0xB0 => fields(
            s,
            v,
            "; ",
            &[
                ("topparent", "topparent", &d.u32(16)?),
                ("leaf", "leaf", &d.u32(4)?),
                ("left", "left", &d.u32(8)?),
                ("right", "right", &d.u32(12)?),
            ],
        ),
        0x80 | 0x90 => fields(
            s,
            v,
            "; ",
            &[
                ("left", "left", &d.u32(0)?),
                ("right", "right", &d.u32(4)?),
                ("level", "level", &d.u32(8)?),
                ("safexid", "safexid", &FullXid(d.u64(16)?)),
                ("leafleft", "leafleft", &d.u32(24)?),
                ("leafright", "leafright", &d.u32(28)?),
                ("leaftopparent", "leaftopparent", &d.u32(32)?),
            ],
        ),
        0xA0 => fields(s, v, "", &[("lev", "level", &d.u32(4)?)]),
        0xD0 => {
            // Relation, block, conflict horizon (a full xid, at 16),
            // isCatalogRel (16+).
            fields(
                s,
                v,
                "; ",
                &[
                    ("rel", "rel", &Rel(d.u32(0)?, d.u32(4)?, d.u32(8)?)),
                    (
                        "latestRemovedXid",
                        "snapshotConflictHorizon",
                        &FullXid(d.u64(16)?),
                    ),
                ],
            );
            catalog(s, 24)?;
        }
        0xE0 => {
            // The metapage's fields are block 0's data.
            let b = rec.block(0)?;
            let n = Data(b.data).u32(20)?;
            fields(
                s,
                v,
                "",
                &[("last_cleanup_num_delpages", "last_cleanup_num_delpages", &n)],
            );
        }
        _ => {}
    }
    Some(())
}

/// The block data of a Btree VACUUM or DELETE: `ndeleted` offsets,
/// `nupdated` offsets, then per updated tuple a count and that many
/// posting-list positions (u16 each), printed as `, deleted: […],
/// updated: [{ off: …, nptids: …, ptids: […] }, …]`.
fn deleted_updated(s: &mut String, b: &Data<'_>, ndeleted: u16, nupdated: u16) -> Option<()> {
    let (ndeleted, nupdated) = (usize::from(ndeleted), usize::from(nupdated));
    let offsets = offset_list(s, ", deleted:", b, 0, ndeleted)?;
    let mut update = offsets + 2 * nupdated;
    s.push_str(", updated: [");
    for i in 0..nupdated {
        if i > 0 {
            s.push_str(", ");
        }
        let nptids = usize::from(b.u16(update)?);
        let _ = write!(
            s,
            "{{ off: {}, nptids: {nptids}, ptids: [",
            b.u16(offsets + 2 * i)?
        );
        for p in 0..nptids {
            if p > 0 {
                s.push_str(", ");
            }
            push_u32(s, u32::from(b.u16(update + 2 + 2 * p)?));
        }
        s.push_str("] }");
        update += 2 + 2 * nptids;
    }
    s.push(']');
    Some(())
}

fn dbase(d: &Data<'_>, info: u8, v: PgVersion, s: &mut String) -> Option<()> {
    if v < PgVersion::V15 {
        return Some(());
    }
    match info & 0xF0 {
        0x00 => {
            let _ = write!(
                s,
                "copy dir {}/{} to {}/{}",
                d.u32(12)?,
                d.u32(8)?,
                d.u32(4)?,
                d.u32(0)?
            );
        }
        0x10 => {
            let _ = write!(s, "create dir {}/{}", d.u32(4)?, d.u32(0)?);
        }
        0x20 => {
            let _ = write!(s, "dir");
            let n = usize::try_from(d.i32(4)?).ok()?;
            for i in 0..n {
                let _ = write!(s, " {}/{}", d.u32(8 + 4 * i)?, d.u32(0)?);
            }
        }
        _ => {}
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_like_the_frontend() {
        let mut s = String::new();
        timestamp(&mut s, 0);
        assert_eq!(s, "2000-01-01 00:00:00.000000 UTC");
        s.clear();
        // 2024-02-29 12:34:56.000007 UTC
        timestamp(
            &mut s,
            ((24 * 365 + 6 + 59) * 86_400 + 45_296) * 1_000_000 + 7,
        );
        assert_eq!(s, "2024-02-29 12:34:56.000007 UTC");
        s.clear();
        timestamp(&mut s, -1);
        assert_eq!(s, "1999-12-31 23:59:59.999999 UTC");
    }
}
