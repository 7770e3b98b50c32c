//! Loading the committed PostgreSQL fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use replog_pgwal::SegmentInput;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/postgres")
}

/// Every fixture directory (debian-15, npm-13 … npm-18).
pub fn fixture_dirs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("wal").is_dir())
        .collect();
    v.sort();
    assert!(v.len() >= 7, "fixture directories missing: {v:?}");
    v
}

/// The decompressed segments of a fixture directory, in order, with names.
pub fn segments(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_str().unwrap().to_string();
            let bytes = zstd::decode_all(std::fs::File::open(&p).unwrap()).unwrap();
            (name, bytes)
        })
        .collect()
}

/// The segments written as files named by their names into a temporary
/// directory; their paths.
pub fn write_dir(segs: &[(String, Vec<u8>)]) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = segs
        .iter()
        .map(|(n, b)| {
            let p = dir.path().join(n);
            std::fs::write(&p, b).unwrap();
            p
        })
        .collect();
    (dir, paths)
}

pub fn inputs(segs: &[(String, Vec<u8>)]) -> Vec<SegmentInput> {
    segs.iter()
        .map(|(n, b)| SegmentInput::bytes(n, b.clone()))
        .collect()
}

/// A zstd-compressed text fixture.
pub fn read_zst(path: &Path) -> String {
    String::from_utf8(zstd::decode_all(std::fs::File::open(path).unwrap()).unwrap()).unwrap()
}

/// Key=value lines of info.txt.
pub fn info(dir: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(dir.join("info.txt")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("{key} missing"))
        .to_string()
}

/// A CSV file as rows of fields (RFC 4180 quoting, as COPY writes it).
pub fn csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => row.push(std::mem::take(&mut field)),
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                _ => field.push(c),
            }
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}
