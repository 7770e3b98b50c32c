//! The WAL fixtures of `fixtures/postgres/logical/`: one workload on
//! PostgreSQL 15 from Debian (`debian-15`) and on the npm builds of 13, 14,
//! 16, 17 and 18 (`npm-*`), each with its WAL segments, the catalog file,
//! pgoutput captures and the final tables.
#![allow(dead_code)]

use replog_pgheap::PgWalInput;
use std::path::{Path, PathBuf};

/// The fixture directory of every server, Debian's 15 first.
pub const SERVERS: &[&str] = &[
    "debian-15",
    "npm-13",
    "npm-14",
    "npm-16",
    "npm-17",
    "npm-18",
];

/// The fixture directory of one server.
pub fn fixture_of(server: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/postgres/logical")
        .join(server)
}

/// The fixture directory of Debian's PostgreSQL 15.
pub fn fixture() -> PathBuf {
    fixture_of("debian-15")
}

/// The bytes of a `.zst` file.
pub fn unzstd(src: &Path) -> Vec<u8> {
    let z = std::fs::read(src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    zstd::decode_all(&z[..]).unwrap()
}

/// The WAL segments, decompressed: (file name, bytes), in WAL order.
pub fn segments() -> Vec<(String, Vec<u8>)> {
    segments_of("debian-15")
}

/// The WAL segments of one server, decompressed.
pub fn segments_of(server: &str) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixture_of(server).join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, unzstd(p))
        })
        .collect()
}

/// The WAL segments decompressed into `dir`, with the catalog file, as a
/// source input.
pub fn wal_input(dir: &Path) -> PgWalInput {
    wal_input_of("debian-15", dir)
}

/// One server's WAL segments decompressed into `dir`, with its catalog
/// file, as a source input.
pub fn wal_input_of(server: &str, dir: &Path) -> PgWalInput {
    let segments = segments_of(server)
        .into_iter()
        .map(|(name, bytes)| {
            let out = dir.join(name);
            std::fs::write(&out, bytes).unwrap();
            out
        })
        .collect();
    PgWalInput {
        segments,
        catalog: fixture_of(server).join("catalog.tsv"),
        spill_limit: None,
    }
}
