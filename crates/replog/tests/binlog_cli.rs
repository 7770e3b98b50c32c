//! `replog verify` and `replog inspect` on damaged and real binlogs: damage
//! in the middle of a file without checksums is corruption with its offset
//! (reading resumes at the next valid event), never a torn tail; what could
//! not be checked is said; event details as `mariadb-binlog` shows them.

use clap::Parser;
use replog::{Cli, Verdict};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> (anyhow::Result<Verdict>, String) {
    let cli = Cli::try_parse_from(std::iter::once("replog").chain(args.iter().copied()))
        .expect("arguments parse");
    let mut out = Vec::new();
    let r = replog::run(cli, &mut out);
    (r, String::from_utf8(out).expect("utf-8 output"))
}

/// (position, type code, length) of every event, read from the headers.
fn events(d: &[u8]) -> Vec<(usize, u8, usize)> {
    let mut out = Vec::new();
    let mut p = 4;
    while p + 19 <= d.len() {
        let len = u32::from_le_bytes(d[p + 9..p + 13].try_into().unwrap()) as usize;
        out.push((p, d[p + 4], len));
        p += len;
    }
    out
}

fn verify_json(dir: &Path, name: &str, bytes: &[u8], policy: &str) -> (Verdict, serde_json::Value) {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    let (r, out) = run(&[
        "verify",
        "--recovery",
        policy,
        "--format",
        "json",
        p.to_str().unwrap(),
    ]);
    (r.unwrap(), serde_json::from_str(&out).unwrap())
}

/// Two bytes of an event length changed in the middle of real binlogs
/// without checksums (MySQL 5.1 relay log, MySQL 5.1 and 5.0 binlogs), and
/// in the event before the final Rotate: corruption at that event, reading
/// resumes at the next one, and `--recovery tolerate-tail` does not pass it.
#[test]
fn damaged_length_mid_file_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    for (name, victim) in [
        ("binlog_savepoint.000001", 4),
        ("update-full-row.binlog", 4),
        ("binlog_transaction.000001", 5),
        // The last event but one: a whole event followed by a valid Rotate.
        ("binlog_transaction.000001", 18),
    ] {
        let data = std::fs::read(root().join("fixtures/mysql").join(name)).unwrap();
        let evs = events(&data);
        let (at, _, _) = evs[victim];
        let (next, _, _) = evs[victim + 1];
        let mut d = data.clone();
        d[at + 10] ^= 0x40;
        d[at + 11] ^= 0x01;
        for policy in ["strict", "tolerate-tail"] {
            let (r, v) = verify_json(dir.path(), name, &d, policy);
            assert_eq!(r, Verdict::Found, "{name} {policy}: {v}");
            let f = &v["files"][0];
            assert_eq!(f["damage"]["class"], "corrupt", "{name}: {v}");
            assert_eq!(f["damage"]["offset"], at, "{name}: {v}");
            assert_eq!(f["damage"]["resumed_at"], next, "{name}: {v}");
            assert_eq!(f["events_ok"], evs.len() - 1, "{name}: {v}");
            assert_eq!(f["checked"], "structure only", "{name}: {v}");
        }
    }
    // A file cut short is still a torn tail: nothing valid follows.
    let data = std::fs::read(root().join("fixtures/mysql/binlog_transaction.000001")).unwrap();
    let (r, v) = verify_json(
        dir.path(),
        "cut.000001",
        &data[..data.len() - 10],
        "tolerate-tail",
    );
    assert_eq!(r, Verdict::Clean, "{v}");
    assert_eq!(v["files"][0]["damage"]["class"], "torn-tail", "{v}");
}

/// Without checksums, verify says that only the structure was checked.
#[test]
fn verify_says_what_was_not_checked() {
    let no_crc = root().join("fixtures/mysql/binlog_transaction.000001");
    let crc = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let (r, out) = run(&["verify", no_crc.to_str().unwrap()]);
    assert_eq!(r.unwrap(), Verdict::Clean);
    assert!(out.contains("no checksums: structure only"), "{out}");
    let (_, out) = run(&["verify", crc.to_str().unwrap()]);
    assert!(!out.contains("no checksums"), "{out}");
    let (_, out) = run(&[
        "verify",
        "--format",
        "json",
        no_crc.to_str().unwrap(),
        crc.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["files"][0]["checksums"], false);
    assert_eq!(v["files"][0]["checked"], "structure only");
    assert_eq!(v["files"][1]["checksums"], true);
    assert_eq!(v["files"][1]["checked"], "checksums and structure");
}

/// Issue 11 item 28: a damaged event is reported with its offset once
/// (decimal and hex), where the resumption is, and nothing repeated.
#[test]
fn verify_names_a_damaged_events_offset_once() {
    let src = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let mut bytes = std::fs::read(&src).unwrap();
    let evs = events(&bytes);
    // A byte inside the body of the third event (its CRC32 then fails).
    let (at, _, len) = evs[2];
    bytes[at + len / 2] ^= 0x10;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mariadb-bin.000001");
    std::fs::write(&path, &bytes).unwrap();
    let (r, out) = run(&["verify", path.to_str().unwrap()]);
    assert_eq!(r.unwrap(), Verdict::Found, "{out}");
    let line = out.lines().find(|l| l.starts_with("damage:")).unwrap();
    let offset = format!("offset {at} (0x{at:x})");
    assert_eq!(line.matches(&offset).count(), 1, "{line}");
    assert_eq!(
        line.matches("offset").count(),
        2,
        "the damage and the resumption: {line}"
    );
}

/// An Incident event whose number no server defines fails verify, with
/// the number and offset.
#[test]
fn unknown_incident_fails_verify() {
    let data =
        std::fs::read(root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001")).unwrap();
    // Turn the Binlog_checkpoint event (body: u32 name length, name) into
    // an Incident: its number is then the low half of the name length.
    let (at, _, len) = *events(&data).iter().find(|e| e.1 == 161).unwrap();
    let mut d = data.clone();
    d[at + 4] = 26;
    let crc = crc32fast::hash(&d[at..at + len - 4]);
    d[at + len - 4..at + len].copy_from_slice(&crc.to_le_bytes());
    let n = u16::from_le_bytes([d[at + 19], d[at + 20]]);
    assert!(n > 1);
    let dir = tempfile::tempdir().unwrap();
    let (r, v) = verify_json(dir.path(), "incident.000001", &d, "strict");
    assert_eq!(r, Verdict::Found, "{v}");
    let dmg = &v["files"][0]["damage"];
    assert_eq!(dmg["offset"], at + 19, "{v}");
    assert!(
        dmg["message"]
            .as_str()
            .unwrap()
            .contains(&format!("unknown incident {n}")),
        "{v}"
    );
}

/// GTID and Gtid_list details carry what `mariadb-binlog` prints for them
/// (`GTID 0-1-3 trans`, `Gtid list [0-1-324]`), flags included; the
/// context events are named as it names them (`User_var`, `Rand`).
#[test]
fn gtid_details_match_mariadb_binlog() {
    let mut compared = 0;
    let mut named = std::collections::BTreeSet::new();
    for run_dir in [
        "dml/row-full",
        "ddl/statement",
        "txn/mixed-full",
        "unsafe/statement",
    ] {
        let d = root().join("fixtures/mariadb/out").join(run_dir);
        let text = std::fs::read_to_string(d.join("events.txt")).unwrap();
        let theirs: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(" end_log_pos ") && l.contains("server id"))
            .filter_map(|l| l.split('\t').nth(1))
            .collect();
        let (r, out) = run(&[
            "inspect",
            "--format",
            "ndjson",
            d.join("mariadb-bin.000001").to_str().unwrap(),
            d.join("mariadb-bin.000002").to_str().unwrap(),
        ]);
        assert_eq!(r.unwrap(), Verdict::Clean);
        let ours: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{run_dir}");
        for (o, t) in ours.iter().zip(&theirs) {
            let detail = o["detail"].as_str().unwrap();
            match o["type"].as_str().unwrap() {
                "Gtid_list" => {
                    assert_eq!(format!("Gtid list {detail}"), *t, "{run_dir}");
                    compared += 1;
                }
                "Gtid" => {
                    assert!(detail.starts_with(t), "{run_dir}: {detail:?} vs {t:?}");
                    compared += 1;
                }
                name @ ("User_var" | "Rand" | "Intvar") => {
                    assert!(t.starts_with(name), "{run_dir}: {name} vs {t:?}");
                    named.insert(name.to_string());
                }
                _ => {}
            }
        }
    }
    assert!(compared > 20);
    assert!(
        named.contains("User_var") && named.contains("Rand"),
        "{named:?}"
    );
    // The DDL's GTID says it stands alone (no BEGIN … COMMIT around it).
    let d = root().join("fixtures/mariadb/out/ddl/statement/mariadb-bin.000001");
    let (_, out) = run(&[
        "inspect",
        "--format",
        "ndjson",
        "--limit",
        "5",
        d.to_str().unwrap(),
    ]);
    assert!(out.contains("ddl standalone"), "{out}");
}

/// Text values with newlines, tabs and backslashes stay on their table row,
/// escaped as MariaDB's batch output does; JSON keeps them exact. The real
/// binlog's `'changed'` in a rows event is edited to `c`, newline, `an`,
/// tab, backslash, `d` (same length, CRC32 recomputed).
#[test]
fn decoded_text_values_never_break_a_table_row() {
    let bin = root().join("fixtures/mariadb/out/types/row-full/mariadb-bin.000001");
    let mut d = std::fs::read(bin).unwrap();
    let (at, _, len) = *events(&d)
        .iter()
        .find(|(p, t, l)| {
            matches!(t, 23..=25 | 30..=32) && d[*p..p + l].windows(7).any(|w| w == b"changed")
        })
        .unwrap();
    let i = at
        + d[at..at + len]
            .windows(7)
            .position(|w| w == b"changed")
            .unwrap();
    d[i..i + 7].copy_from_slice(b"c\nan\t\\d");
    let crc = crc32fast::hash(&d[at..at + len - 4]);
    d[at + len - 4..at + len].copy_from_slice(&crc.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mariadb-bin.000001");
    std::fs::write(&p, &d).unwrap();
    let (r, out) = run(&["inspect", "--decode-rows", p.to_str().unwrap()]);
    assert_eq!(r.unwrap(), Verdict::Clean);
    for line in out.lines() {
        assert!(line.starts_with('|') || line.is_empty(), "{line:?}");
    }
    assert!(out.contains(r"c10='c\nan\t\\d'"), "{out}");
    let (_, out) = run(&[
        "inspect",
        "--decode-rows",
        "--format",
        "ndjson",
        p.to_str().unwrap(),
    ]);
    let mut exact = 0;
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for ch in v["rows"].as_array().into_iter().flatten() {
            for img in [&ch["before"], &ch["after"]] {
                if img["c10"] == "c\nan\t\\d" {
                    exact += 1;
                }
            }
        }
    }
    assert!(exact > 0, "JSON lost the exact value");
}

/// `inspect --hex` on a binlog: offsets contiguous from the magic to the
/// end of the last event listed, the header fields named.
#[test]
fn hex_dump_of_a_binlog() {
    for name in ["json.binlog.000001", "binlog_transaction.000001"] {
        let bin = root().join("fixtures/mysql").join(name);
        let data = std::fs::read(&bin).unwrap();
        let evs = events(&data);
        let (r, out) = run(&["inspect", "--hex", "--limit", "4", bin.to_str().unwrap()]);
        assert_eq!(r.unwrap(), Verdict::Clean);
        let mut next = 0u64;
        for line in out.lines().skip(2) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let off = u64::from_str_radix(cells[1], 16).unwrap();
            assert_eq!(off, next, "{name}: {line}");
            let bytes: Vec<u8> = cells[2]
                .split(' ')
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect();
            assert_eq!(&data[off as usize..off as usize + bytes.len()], &bytes[..]);
            next += bytes.len() as u64;
        }
        let (p4, _, l4) = evs[3];
        assert_eq!(next as usize, p4 + l4, "{name}");
        for meaning in [
            "binlog magic",
            "Format_desc event at 4",
            "type 15 (Format_desc)",
            "server id 1",
            "event length",
            "next position",
            "server version",
            "common header length 19",
        ] {
            assert!(out.contains(meaning), "{name}: {meaning}\n{out}");
        }
    }
    let (r, _) = run(&[
        "inspect",
        "--hex",
        "--format",
        "json",
        root()
            .join("fixtures/mysql/json.binlog.000001")
            .to_str()
            .unwrap(),
    ]);
    assert!(r.is_err());
}
