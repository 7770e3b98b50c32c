//! `replog` on PostgreSQL WAL: without a catalog it says how to make one;
//! a file that is not the catalog query's output is refused by line.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_replog");

/// The first segment of the WAL fixture, decompressed into `dir`.
fn segment(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/postgres/debian-15/wal/000000010000000000000006.zst");
    let bytes = zstd::decode_all(std::fs::File::open(src).unwrap()).unwrap();
    let p = dir.join("000000010000000000000006");
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn wal_without_a_catalog_tells_how_to_produce_it() {
    let dir = tempfile::tempdir().unwrap();
    let seg = segment(dir.path());
    let out = dir.path().join("out.replog");
    let (code, _, err) = run(&[
        "convert",
        seg.to_str().unwrap(),
        "--to",
        "logical",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--catalog FILE"), "{err}");
    assert!(
        err.contains("psql -X -A") && err.contains("catalog.sql"),
        "{err}"
    );
    assert!(!out.exists());
    // The same for a reader of transactions, given the directory.
    let (code, _, err) = run(&["dump", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--catalog FILE"), "{err}");
}

#[test]
fn a_file_that_is_not_the_catalog_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let seg = segment(dir.path());
    let cat = dir.path().join("catalog.tsv");
    std::fs::write(&cat, "relname\tattname\nt\tid\n").unwrap();
    let out = dir.path().join("out.replog");
    let (code, _, err) = run(&[
        "convert",
        seg.to_str().unwrap(),
        "--catalog",
        cat.to_str().unwrap(),
        "--to",
        "logical",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("catalog.tsv:1: header has no column `server_version_num`"),
        "{err}"
    );
    assert!(!out.exists());
}
