//! Loading the committed captures of `fixtures/postgres/logical/`.
#![allow(dead_code)]

use replog_core::txn::{TxnEvent, TxnSource};
use replog_pglogical::{PgLogicalSource, sniff};
use std::path::PathBuf;

/// The fixture directory of one server.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/postgres/logical/debian-15")
}

/// The bytes of a capture (`name` without `.zst`).
pub fn load(name: &str) -> Vec<u8> {
    load_from("debian-15", name)
}

/// The bytes of a capture of one server (`fixtures/postgres/logical/<server>`).
pub fn load_from(server: &str, name: &str) -> Vec<u8> {
    let p = dir().join("..").join(server).join(format!("{name}.zst"));
    let z = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    zstd::decode_all(&z[..]).expect("zstd")
}

/// One transaction as data: xid, commit LSN, end LSN, commit time, origin,
/// record bodies.
#[derive(Debug, Clone, PartialEq)]
pub struct Tx {
    pub xid: u64,
    pub commit_lsn: u64,
    pub end_lsn: u64,
    pub time_us: i64,
    pub origin: String,
    pub records: Vec<Vec<u8>>,
}

/// Opens a capture as a source (sniffed).
pub fn open(name: &str) -> PgLogicalSource {
    open_from("debian-15", name)
}

/// Opens a capture of one server as a source (sniffed).
pub fn open_from(server: &str, name: &str) -> PgLogicalSource {
    let data = load_from(server, name);
    let det =
        sniff(&data[..data.len().min(512)]).unwrap_or_else(|| panic!("{name} not recognised"));
    replog_pglogical::source::source(data, det, name.to_string())
}

/// Every transaction of a capture.
pub fn transactions(src: &mut PgLogicalSource) -> Vec<Tx> {
    let mut out = Vec::new();
    while let Some(ev) = src.next() {
        match ev.unwrap_or_else(|e| panic!("{e}")) {
            TxnEvent::Transaction(t) => out.push(Tx {
                xid: t.txid(),
                commit_lsn: t.commit_lsn,
                end_lsn: t.end_lsn,
                time_us: t.commit.timestamp_us,
                origin: t.begin.origin.to_string(),
                records: t.records().map(|r| r.body.to_vec()).collect(),
            }),
            TxnEvent::Segment { .. } | TxnEvent::Damage(_) => {}
        }
    }
    out
}
