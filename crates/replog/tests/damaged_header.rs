//! A native log whose segment header is damaged where the kind byte is:
//! `replay` names the damage and its offset as `verify` does (issue 11
//! item 15).

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_replog");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn replay_of_a_log_with_a_damaged_kind_byte_names_the_offset_verify_gives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.replog");
    let mut bytes = std::fs::read(root().join("fixtures/native/logical/sample.replog")).unwrap();
    bytes[8] ^= 0x7f; // the kind byte: no format can be told
    std::fs::write(&path, &bytes).unwrap();
    let p = path.to_str().unwrap();
    let verify = Command::new(BIN).args(["verify", p]).output().unwrap();
    let verify = String::from_utf8(verify.stdout).unwrap();
    let offset = verify
        .split("corruption at offset ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap_or_else(|| panic!("{verify}"));
    for args in [vec!["replay", "--memory", p], vec!["dump", p]] {
        let r = Command::new(BIN).args(&args).output().unwrap();
        let err = String::from_utf8(r.stderr).unwrap();
        assert_ne!(r.status.code(), Some(0), "{args:?}");
        assert!(
            err.contains(&format!("at offset {offset} ")) && err.contains("checksum mismatch"),
            "{args:?}: {err}"
        );
    }
}
