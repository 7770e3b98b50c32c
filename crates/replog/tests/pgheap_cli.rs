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

/// `--follow` does not follow WAL files yet: it is refused (exit 2), not
/// silently ignored with the listing printed once.
#[test]
fn follow_on_wal_files_is_refused_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let seg = segment(dir.path());
    let (code, out, err) = run(&["inspect", "--follow", seg.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("--follow") && err.contains("receive-wal"),
        "{err}"
    );
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

/// One server's WAL segments of `fixtures/postgres/logical/<server>/`,
/// decompressed into `dir/wal`, and its catalog file and pgoutput v1
/// capture: (wal directory, catalog, capture).
fn logical_fixture(dir: &Path, server: &str) -> (String, String, String) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/postgres/logical")
        .join(server);
    let wal = dir.join("wal");
    std::fs::create_dir_all(&wal).unwrap();
    for e in std::fs::read_dir(src.join("wal")).unwrap() {
        let p = e.unwrap().path();
        let bytes = zstd::decode_all(std::fs::File::open(&p).unwrap()).unwrap();
        std::fs::write(wal.join(p.file_stem().unwrap()), bytes).unwrap();
    }
    let capture = dir.join("pgoutput-v1.copy");
    let bytes =
        zstd::decode_all(std::fs::File::open(src.join("pgoutput-v1.copy.zst")).unwrap()).unwrap();
    std::fs::write(&capture, bytes).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    (s(&wal), s(&src.join("catalog.tsv")), s(&capture))
}

/// `replog diff WAL pgoutput`: the rows decoded from the WAL and the rows
/// the server's logical decoding sent for the same range are the same,
/// transaction by transaction (xid, commit LSN, time, every record), on
/// PostgreSQL 14, 15 and 18 (13's pgoutput sends no logical messages, which
/// the WAL holds); a capture of another server differs.
#[test]
fn diff_of_wal_and_pgoutput_finds_them_the_same() {
    for server in ["debian-15", "npm-14", "npm-18"] {
        let dir = tempfile::tempdir().unwrap();
        let (wal, catalog, capture) = logical_fixture(dir.path(), server);
        let (code, out, err) = run(&["diff", &wal, &capture, "--catalog", &catalog]);
        assert_eq!(code, 0, "{server}: {out}{err}");
        assert!(out.contains("result: SAME"), "{server}: {out}");
        let (code, out, err) = run(&[
            "diff",
            &wal,
            &capture,
            "--catalog",
            &catalog,
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{server}: {err}");
        let j: serde_json::Value = serde_json::from_str(&out).unwrap();
        let same = j["summary"]["same"].as_u64().unwrap_or(0);
        assert!(same > 10 && j["identical"] == true, "{server}: {out}");
        assert_eq!(j["summary"]["different"], 0, "{server}: {out}");
    }
    // Another server's capture of the same workload: other xids and LSNs.
    let dir = tempfile::tempdir().unwrap();
    let (wal, catalog, _) = logical_fixture(dir.path(), "debian-15");
    let other = tempfile::tempdir().unwrap();
    let (_, _, capture) = logical_fixture(other.path(), "npm-16");
    let (code, out, err) = run(&["diff", &wal, &capture, "--catalog", &catalog]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("result: DIFFERENT"), "{out}");
}

/// `replog diff --state WAL pgoutput`: both sides replay into the reference
/// store to the same state after every step (the WAL side opened as any
/// other source, with its catalog); a capture whose workload stops early
/// leaves a different final state.
#[test]
fn state_diff_of_wal_and_pgoutput_finds_the_same_states() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, catalog, capture) = logical_fixture(dir.path(), "debian-15");
    let (code, out, err) = run(&["diff", "--state", &wal, &capture, "--catalog", &catalog]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("result: SAME"), "{out}");
    assert!(
        out.contains("the digests are equal after every step"),
        "{out}"
    );
    // The capture cut after its first half of transactions (COPY lines of
    // whole transactions: up to the line before a BEGIN).
    let text = std::fs::read_to_string(&capture).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let begins: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            lines[i]
                .split('\t')
                .nth(2)
                .is_some_and(|d| d.starts_with("\\\\x42"))
        })
        .collect();
    assert!(begins.len() > 4, "{} BEGINs", begins.len());
    let cut = dir.path().join("half.copy");
    std::fs::write(&cut, lines[..begins[begins.len() / 2]].join("\n") + "\n").unwrap();
    let (code, out, err) = run(&[
        "diff",
        "--state",
        &wal,
        cut.to_str().unwrap(),
        "--catalog",
        &catalog,
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("result: DIFFERENT"), "{out}");
}

/// `replog invert` of PostgreSQL WAL (with its catalog) and of the
/// pgoutput capture of the same range: the same flashback, read through
/// the native log each stands for. The REPLICA IDENTITY FULL table's
/// insert, update (of the key) and delete of transactions 742–745 are
/// undone last first; the whole range is refused, naming the update whose
/// table keeps no before-image.
#[test]
fn invert_of_wal_and_pgoutput_give_the_same_flashback() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, catalog, capture) = logical_fixture(dir.path(), "debian-15");
    let mut sql = Vec::new();
    for (name, input) in [
        ("wal", vec![wal.as_str(), "--catalog", &catalog]),
        ("capture", vec![capture.as_str()]),
    ] {
        let out = dir.path().join(format!("{name}.inverse"));
        let mut args = vec!["invert"];
        args.extend(&input);
        args.extend([
            "--txid", "742", "--txid", "743", "--txid", "744", "--txid", "745",
        ]);
        args.extend(["-o", out.to_str().unwrap()]);
        let (code, text, err) = run(&args);
        assert_eq!(code, 0, "{name}: {text}{err}");
        assert!(
            text.contains("4 transactions, 6 row changes"),
            "{name}: {text}"
        );
        let (code, text, err) = run(&["convert", out.to_str().unwrap(), "--to", "sql"]);
        assert_eq!(code, 0, "{name}: {err}");
        sql.push(text);
        // Without a selection: refused, nothing written.
        let whole = dir.path().join(format!("{name}.whole"));
        let mut args = vec!["invert"];
        args.extend(&input);
        args.extend(["-o", whole.to_str().unwrap()]);
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains("UPDATE on public.types has no before-image"),
            "{name}: {err}"
        );
        assert!(!whole.exists(), "{name}");
    }
    assert_eq!(sql[0], sql[1]);
    let s = &sql[0];
    let undo_delete = s.find(r#"INSERT INTO "public"."full_t" ("id", "v") VALUES (3, NULL);"#);
    let undo_update =
        s.find(r#"UPDATE "public"."full_t" SET "id" = 2 WHERE "id" = 20 AND "v" = 'second';"#);
    let undo_insert = s.find(r#"DELETE FROM "public"."full_t" WHERE "id" = 1"#);
    assert!(
        undo_delete.is_some() && undo_update.is_some() && undo_insert.is_some(),
        "{s}"
    );
    assert!(
        undo_delete < undo_update && undo_update < undo_insert,
        "{s}"
    );
}

/// `replog inspect --decode-rows`: the rows decoded from the WAL (with its
/// catalog) and from the pgoutput capture of the same range are the same,
/// change by change (xid, op, table, column types, key, before and after
/// images), as NDJSON; the LSNs differ by design (a capture's change has
/// its own LSN, a change decoded from WAL its commit's). The table output
/// names the columns with their types once per table version and shows a
/// key-only before-image as its key.
#[test]
fn decode_rows_of_wal_and_pgoutput_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, catalog, capture) = logical_fixture(dir.path(), "debian-15");
    let rows = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut all = vec!["inspect", "--decode-rows", "--format", "ndjson"];
        all.extend(args);
        let (code, out, err) = run(&all);
        assert_eq!(code, 0, "{args:?}: {err}");
        out.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                assert!(v["lsn"].as_str().is_some_and(|s| s.contains('/')), "{l}");
                v.as_object_mut().unwrap().remove("lsn");
                v
            })
            .collect()
    };
    let from_wal = rows(&[&wal, "--catalog", &catalog]);
    let from_capture = rows(&[&capture]);
    assert!(from_wal.len() > 1000, "{} changes", from_wal.len());
    assert_eq!(from_wal.len(), from_capture.len());
    for (a, b) in from_wal.iter().zip(&from_capture) {
        assert_eq!(a, b);
    }
    let update = from_wal
        .iter()
        .find(|v| v["op"] == "update" && v["table"] == "public.full_t")
        .unwrap();
    assert_eq!(update["types"]["v"], "text", "{update}");
    assert_eq!(update["before"]["v"], "first", "{update}");
    assert_eq!(update["after"]["v"], "FIRST", "{update}");

    let (code, out, err) = run(&[
        "inspect",
        "--decode-rows",
        &capture,
        "--table",
        "public.types",
        "--type",
        "delete",
        "--limit",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("| columns |") && lines[0].contains("id integer key, i2 smallint"),
        "{out}"
    );
    assert!(
        lines[1].contains("| delete  |") && lines[1].ends_with("(id=4)"),
        "{out}"
    );
}

/// `replog convert WAL --catalog C --to sql` writes the rows decoded from
/// the WAL as PostgreSQL SQL, the same text as from the pgoutput capture
/// of the same range (whose SQL `pg_sql_roundtrip` applies with psql).
#[test]
fn sql_from_wal_equals_sql_from_pgoutput() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, catalog, capture) = logical_fixture(dir.path(), "debian-15");
    let (code_wal, from_wal, err) = run(&["convert", &wal, "--catalog", &catalog, "--to", "sql"]);
    assert!(
        from_wal.contains("INSERT INTO \"public\".\"types\""),
        "{err}"
    );
    let (code_capture, from_capture, _) = run(&["convert", &capture, "--to", "sql"]);
    assert_eq!(code_wal, code_capture, "{err}");
    assert_eq!(from_wal, from_capture);
}

/// `--spill-limit` reaches the reorder buffer: `convert --to logical` of
/// the debian-15 WAL with a 16 KiB limit moves transactions to temporary
/// files (the JSON report says how much) and writes the same log, byte for
/// byte, as with the default limit, which spills nothing. A size that is
/// not one is refused.
#[test]
fn the_spill_limit_option_spills_and_changes_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, catalog, _) = logical_fixture(dir.path(), "debian-15");
    let convert = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "convert",
            &wal,
            "--catalog",
            &catalog,
            "--to",
            "logical",
            "-o",
            out.to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let (code, text, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        (
            std::fs::read(out).unwrap(),
            doc["decoded"]["spilled_bytes"].as_u64().unwrap(),
        )
    };
    let (whole, none) = convert("default.replog", &[]);
    let (spilled, bytes) = convert("spilled.replog", &["--spill-limit", "16K"]);
    assert_eq!(none, 0);
    assert!(bytes > 100_000, "{bytes}");
    assert!(whole == spilled, "the logs differ");
    let (code, _, err) = run(&[
        "convert",
        &wal,
        "--catalog",
        &catalog,
        "--spill-limit",
        "lots",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a size"), "{err}");
}
