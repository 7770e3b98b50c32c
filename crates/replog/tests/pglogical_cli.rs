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

/// Flashback of a PostgreSQL capture: the transactions that changed only
/// the REPLICA IDENTITY FULL table (full before-images) are inverted, and
/// the inverse, converted to SQL, is in PostgreSQL's dialect and targets
/// each row by its whole before-image (every column is the identity), with
/// no --allow-imprecise. Inverting the inverse gives the original row
/// records back; the whole capture (before-images missing or key-only
/// elsewhere) is refused.
#[test]
fn invert_of_a_capture_gives_postgresql_flashback_sql() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = capture(dir.path(), "pgoutput-v1.copy");
    let (code, out, err) = run(&["inspect", "--format", "ndjson", &v1]);
    assert_eq!(code, 0, "{err}");
    // txid → the tables its row records change.
    let mut tables: std::collections::BTreeMap<u64, std::collections::BTreeSet<String>> =
        Default::default();
    for line in out.lines() {
        let j: serde_json::Value = serde_json::from_str(line).unwrap();
        let ty = j["type"].as_str().unwrap_or("");
        if ["INSERT", "UPDATE", "DELETE", "TRUNCATE"].contains(&ty) {
            let t = j["table"].as_str().unwrap_or(ty).to_string();
            tables
                .entry(j["txid"].as_u64().unwrap())
                .or_default()
                .insert(t);
        }
    }
    let only_full: Vec<String> = tables
        .iter()
        .filter(|(_, t)| t.len() == 1 && t.contains("public.full_t"))
        .map(|(x, _)| x.to_string())
        .collect();
    assert!(only_full.len() >= 4, "{tables:?}");
    let mut args = vec!["invert".to_string(), v1.clone()];
    for x in &only_full {
        args.extend(["--txid".to_string(), x.clone()]);
    }
    let undo = dir.path().join("undo.replog");
    args.extend(["-o".to_string(), undo.to_str().unwrap().to_string()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&argv);
    assert_eq!(code, 0, "{out}{err}");
    let undo = undo.to_str().unwrap();
    let (code, sql, err) = run(&["convert", undo, "--to", "sql"]);
    assert_eq!(code, 0, "{err}");
    assert!(sql.contains("SET TimeZone = 'UTC';\n"), "{sql}");
    // The first UPDATE of the workload (v 'first' → 'FIRST'), undone.
    assert!(
        sql.contains(
            "UPDATE \"public\".\"full_t\" SET \"v\" = 'first' WHERE \"id\" = 1 AND \"v\" = 'FIRST';"
        ),
        "{sql}"
    );
    // The row deleted with a NULL column comes back.
    assert!(
        sql.contains("INSERT INTO \"public\".\"full_t\" (\"id\", \"v\") VALUES (3, NULL);"),
        "{sql}"
    );
    assert!(!sql.contains("ctid"), "{sql}");
    // Inverting the inverse gives the original row records back.
    let redo = dir.path().join("redo.replog");
    let (code, out, err) = run(&["invert", undo, "-o", redo.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let rows = |f: &str| -> Vec<String> {
        let (code, out, err) = run(&["inspect", "--format", "ndjson", f]);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .filter_map(|l| {
                let j: serde_json::Value = serde_json::from_str(l).unwrap();
                let ty = j["type"].as_str()?;
                ["INSERT", "UPDATE", "DELETE"]
                    .contains(&ty)
                    .then(|| format!("{ty} {}", j["record"]))
            })
            .collect()
    };
    let want: Vec<String> = {
        let (_, out, _) = run(&["inspect", "--format", "ndjson", &v1]);
        out.lines()
            .filter_map(|l| {
                let j: serde_json::Value = serde_json::from_str(l).unwrap();
                let ty = j["type"].as_str()?;
                let x = j["txid"].as_u64()?.to_string();
                (["INSERT", "UPDATE", "DELETE"].contains(&ty) && only_full.contains(&x))
                    .then(|| format!("{ty} {}", j["record"]))
            })
            .collect()
    };
    assert_eq!(rows(redo.to_str().unwrap()), want);
    // The whole capture cannot be undone: the first UPDATE of the table
    // with a primary key has no before-image.
    let all = dir.path().join("all.replog");
    let (code, _, err) = run(&["invert", &v1, "-o", all.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("before-image"), "{err}");
    assert!(!all.exists());
}

/// Replay into an on-disk store (the page store) keeps identical rows of a
/// table without a key as copies: the workload inserts `(1, 'x')` twice
/// into `nokey`, which used to stop replay with a duplicate key. The only
/// conflict left is the one the stream cannot avoid (`full_t`'s rows
/// stored before its ALTER ... DEFAULT 42, see
/// crates/replog-pglogical/tests/replay.rs), and the store ends with the
/// server's `nokey` rows; a second replay applies nothing and names the
/// store's position in PostgreSQL's terms.
#[test]
fn replay_into_a_store_keeps_identical_rows_of_a_keyless_table() {
    let dir = tempfile::tempdir().unwrap();
    let log = capture(dir.path(), "pgoutput-v2.copy");
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let (code, out, err) = run(&["replay", &log, "--store", s, "--on-conflict", "skip"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!out.contains("nokey"), "{out}");
    assert_eq!(
        out.matches("missing row on update of public.full_t")
            .count(),
        1,
        "{out}"
    );
    let (code, dump, err) = run(&["dump", s]);
    assert_eq!(code, 0, "{err}");
    let nokey = dump.split("-- public.nokey\n").nth(1).unwrap_or_default();
    assert!(nokey.starts_with("4\tafter truncate\n-- "), "{dump}");
    let (code, out, err) = run(&["replay", &log, "--store", s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("applied 0 transaction(s)"), "{out}");
    assert!(
        out.contains("position: after the transaction at LSN 0/") && out.contains(" xid "),
        "{out}"
    );
}

/// A capture that cannot be inverted (an UPDATE of a table without
/// REPLICA IDENTITY FULL has no before-image) is refused naming the
/// transaction by PostgreSQL's commit LSN and xid, not by a position in
/// the log replog reads it as; nothing is written.
#[test]
fn invert_refusal_names_postgresql_positions() {
    let dir = tempfile::tempdir().unwrap();
    let log = capture(dir.path(), "pgoutput-v2.copy");
    let out = dir.path().join("undo.replog");
    let (code, _, err) = run(&["invert", &log, "-o", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot invert transaction "), "{err}");
    assert!(err.contains(" (LSN 0/") && err.contains(" xid "), "{err}");
    assert!(err.contains("has no before-image"), "{err}");
    assert!(!err.contains("offset"), "{err}");
    assert!(!out.exists());
}
