//! `replog convert --to sql` of PostgreSQL's logical decoding, through a
//! real PostgreSQL 15 (`fixtures/postgres/types/sql-roundtrip.sh` ran the
//! SQL on a fresh server and recorded its tables): the SQL replog writes
//! now is the SQL the server ran, and the server's tables after it are the
//! original server's (`fixtures/postgres/logical/debian-15/tables`), cell
//! for cell.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_replog");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/postgres")
}

fn unzstd(p: &Path) -> Vec<u8> {
    let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    zstd::decode_all(f).unwrap()
}

#[test]
fn the_sql_postgresql_ran_is_what_replog_writes() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("pgoutput-v1.recvlogical");
    std::fs::write(
        &capture,
        unzstd(&fixtures().join("logical/debian-15/pgoutput-v1.recvlogical.zst")),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["convert", capture.to_str().unwrap()])
        .args(["--to", "sql"])
        .output()
        .unwrap();
    // 1: converted, with notes (messages dropped). No --allow-imprecise:
    // REPLICA IDENTITY FULL's rows are targeted by every column, the
    // identity pgoutput flags.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ran = unzstd(&fixtures().join("types/sql-roundtrip/pgoutput-v1.sql.zst"));
    assert!(
        out.stdout == ran,
        "replog's SQL is not the SQL PostgreSQL ran: rerun bash fixtures/postgres/types/sql-roundtrip.sh"
    );
    let sql = String::from_utf8(out.stdout).unwrap();
    assert!(
        sql.contains("SET TimeZone = 'UTC';\n"),
        "PostgreSQL's dialect"
    );
}

#[test]
fn postgresql_replaying_replogs_sql_has_the_original_tables() {
    let mut n = 0;
    for t in ["types", "full_t", "nokey", "toast_t", "big"] {
        let read = |p: PathBuf| {
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        let original = read(fixtures().join(format!("logical/debian-15/tables/{t}.csv")));
        let replayed = read(fixtures().join(format!("types/sql-roundtrip/tables/{t}.csv")));
        assert_eq!(replayed, original, "{t}");
        n += original.lines().count() - 1;
    }
    assert!(n >= 10, "{n} rows");
}
