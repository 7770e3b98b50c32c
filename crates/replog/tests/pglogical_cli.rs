//! `replog` on PostgreSQL logical decoding outputs
//! (`fixtures/postgres/logical/`): the commands that read logs accept
//! them as they are, and agree with test_decoding's capture of the same
//! workload.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_replog");

/// Capture `name` of the logical fixtures, decompressed into `dir`: its
/// path.
fn capture(dir: &Path, name: &str) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/postgres/logical/debian-15")
        .join(format!("{name}.zst"));
    let bytes = zstd::decode_all(std::fs::File::open(&src).unwrap()).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// How many changes of each kind test_decoding printed (committed
/// transactions only: the slot was not streaming).
fn test_decoding_changes(dir: &Path) -> [usize; 3] {
    let text = std::fs::read_to_string(capture(dir, "test_decoding.copy")).unwrap();
    let mut n = [0; 3];
    for line in text.lines() {
        for (i, k) in [": INSERT: ", ": UPDATE: ", ": DELETE: "]
            .iter()
            .enumerate()
        {
            if line.contains(k) {
                n[i] += 1;
            }
        }
    }
    n
}

#[test]
fn inspect_lists_the_changes_test_decoding_printed() {
    let dir = tempfile::tempdir().unwrap();
    let want = test_decoding_changes(dir.path());
    assert!(want[0] > 1000, "{want:?}");
    for name in ["pgoutput-v1.copy", "pgoutput-v2-binary.recvlogical"] {
        let f = capture(dir.path(), name);
        let (code, out, err) = run(&["inspect", "--format", "ndjson", &f]);
        assert_eq!(code, 0, "{name}: {err}");
        let mut got = [0; 3];
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            match v["type"].as_str().unwrap() {
                "INSERT" => got[0] += 1,
                "UPDATE" => got[1] += 1,
                "DELETE" => got[2] += 1,
                _ => {}
            }
        }
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn verify_diff_and_convert_read_the_captures() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = capture(dir.path(), "pgoutput-v1.csv");
    let v2 = capture(dir.path(), "pgoutput-v2.recvlogical");
    let v3 = capture(dir.path(), "pgoutput-v3.recvlogical");
    let (code, out, err) = run(&["verify", &v3]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1 prepared transaction(s) rolled back"),
        "{out}"
    );
    assert!(out.contains("result: OK"), "{out}");
    // Streamed transactions come out as the plain ones.
    let (code, out, err) = run(&["diff", &v1, &v2]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("result: SAME"), "{out}");
    // A logical log written from a capture holds its transactions.
    let log = dir.path().join("out.replog");
    let log = log.to_str().unwrap();
    let (code, out, err) = run(&["convert", &v1, "--to", "logical", "-o", log]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("decoded pgoutput (COPY CSV)"), "{out}");
    let (code, out, err) = run(&["diff", log, &v1]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("result: SAME"), "{out}");
}

#[test]
fn a_truncated_capture_is_damage_with_its_offset_and_lsn() {
    let dir = tempfile::tempdir().unwrap();
    let f = capture(dir.path(), "pgoutput-v1.recvlogical");
    let bytes = std::fs::read(&f).unwrap();
    // Cut inside the first Insert message (type `I`, after a newline):
    // its relation id is incomplete.
    let cut = bytes.windows(2).position(|w| w == b"\nI").unwrap() + 5;
    std::fs::write(&f, &bytes[..cut]).unwrap();
    let (code, out, err) = run(&["verify", &f]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("damage: "), "{out}");
    assert!(out.contains("(LSN 0/"), "{out}");
    assert!(out.contains("at offset "), "{out}");
    assert!(out.contains("result: DAMAGED"), "{out}");
}
