//! The WAL fixture of `fixtures/postgres/logical/debian-15/` (PostgreSQL
//! 15: WAL segments, the catalog file, pgoutput captures, final tables).
#![allow(dead_code)]

use replog_pgheap::PgWalInput;
use std::path::{Path, PathBuf};

/// The fixture directory.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/postgres/logical/debian-15")
}

/// The bytes of a `.zst` file.
pub fn unzstd(src: &Path) -> Vec<u8> {
    let z = std::fs::read(src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    zstd::decode_all(&z[..]).unwrap()
}

/// The WAL segments, decompressed: (file name, bytes), in WAL order.
pub fn segments() -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixture().join("wal"))
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
    let segments = segments()
        .into_iter()
        .map(|(name, bytes)| {
            let out = dir.join(name);
            std::fs::write(&out, bytes).unwrap();
            out
        })
        .collect();
    PgWalInput {
        segments,
        catalog: fixture().join("catalog.tsv"),
    }
}
