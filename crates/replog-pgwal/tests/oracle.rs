//! Every record of the committed WAL compared with what PostgreSQL's own
//! tools say about it: pg_waldump 15 for the Debian server, pg_walinspect
//! for each server of 15 to 18.

mod common;

use common::*;
use replog_pgwal::{Lsn, WalEnd, WalReader};

/// What the oracles print per record.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Row {
    lsn: Lsn,
    prev: Lsn,
    xid: u32,
    rmgr: String,
    kind: String,
    rec_len: u32,
    tot_len: u32,
}

fn parse_waldump_line(line: &str) -> Row {
    let field = |key: &str| -> &str {
        let at = line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len();
        line[at..].trim_start()
    };
    let rmgr = field("rmgr:")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let lens = field("len (rec/tot):");
    let (rec, tot) = lens.split_once('/').unwrap();
    let tot = tot.trim_start().split(',').next().unwrap();
    let xid = field("tx:").split(',').next().unwrap();
    let lsn = field("lsn:").split(',').next().unwrap();
    let prev = field("prev").split(',').next().unwrap();
    let kind = field("desc:")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    Row {
        lsn: Lsn::parse(lsn).unwrap(),
        prev: Lsn::parse(prev).unwrap(),
        xid: xid.trim().parse().unwrap(),
        rmgr,
        kind,
        rec_len: rec.trim().parse().unwrap(),
        tot_len: tot.trim().parse().unwrap(),
    }
}

struct Ours {
    row: Row,
    end: Lsn,
    main_len: u32,
    fpi_len: u32,
}

fn read_all(dir: &std::path::Path) -> (Vec<Ours>, WalEnd) {
    let segs = segments(dir);
    let mut r = WalReader::new(inputs(&segs));
    let mut out = Vec::new();
    while let Some(rec) = r
        .next_record()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
    {
        out.push(Ours {
            row: Row {
                lsn: rec.lsn,
                prev: rec.header.prev,
                xid: rec.header.xid,
                rmgr: rec.rmgr_name().into_owned(),
                kind: rec.record_type().unwrap_or("UNKNOWN").to_string(),
                rec_len: rec.rec_len(),
                tot_len: rec.header.tot_len,
            },
            end: rec.end,
            main_len: rec.main_data().len() as u32,
            fpi_len: rec.body.fpi_len,
        });
    }
    let end = r.end().cloned().expect("clean end");
    (out, end)
}

#[test]
fn debian_15_every_record_equals_pg_waldump() {
    let dir = fixtures().join("debian-15");
    let text = read_zst(&dir.join("waldump.txt.zst"));
    let theirs: Vec<Row> = text.lines().map(parse_waldump_line).collect();
    let (ours, end) = read_all(&dir);
    assert!(theirs.len() > 6000, "{}", theirs.len());
    assert_eq!(ours.len(), theirs.len(), "record count");
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(&o.row, t);
    }
    // pg_waldump stopped at the zeroed tail where we end cleanly.
    let stderr = std::fs::read_to_string(dir.join("waldump.stderr")).unwrap();
    let at = stderr
        .rsplit("invalid record length at ")
        .next()
        .unwrap()
        .split(':')
        .next()
        .unwrap();
    assert_eq!(end.lsn(), Lsn::parse(at).unwrap(), "{end:?}");
    assert!(matches!(end, WalEnd::ZeroedTail { .. }), "{end:?}");
}

#[test]
fn every_version_from_15_equals_pg_walinspect() {
    for dir in fixture_dirs() {
        let csv_path = dir.join("walinspect-records.csv.zst");
        if !csv_path.exists() {
            continue;
        }
        let rows = csv(&read_zst(&csv_path));
        let head = &rows[0];
        let col = |name: &str| head.iter().position(|h| h == name).unwrap();
        let (c_start, c_end, c_prev, c_xid, c_rmgr, c_type, c_len, c_main, c_fpi) = (
            col("start_lsn"),
            col("end_lsn"),
            col("prev_lsn"),
            col("xid"),
            col("resource_manager"),
            col("record_type"),
            col("record_length"),
            col("main_data_length"),
            col("fpi_length"),
        );
        let (ours, _) = read_all(&dir);
        let start = Lsn::parse(&info(&dir, "start_lsn")).unwrap();
        let ours: Vec<&Ours> = ours.iter().filter(|o| o.row.lsn >= start).collect();
        let theirs = &rows[1..];
        assert!(theirs.len() > 3000, "{}: {}", dir.display(), theirs.len());
        for (i, t) in theirs.iter().enumerate() {
            let o = ours[i];
            let what = format!("{} record {i} at {}", dir.display(), t[c_start]);
            assert_eq!(o.row.lsn, Lsn::parse(&t[c_start]).unwrap(), "{what}");
            assert_eq!(o.end, Lsn::parse(&t[c_end]).unwrap(), "{what} end");
            assert_eq!(o.row.prev, Lsn::parse(&t[c_prev]).unwrap(), "{what} prev");
            assert_eq!(o.row.xid.to_string(), t[c_xid], "{what} xid");
            assert_eq!(o.row.rmgr, t[c_rmgr], "{what} rmgr");
            assert_eq!(o.row.kind, t[c_type], "{what} type");
            assert_eq!(o.row.tot_len.to_string(), t[c_len], "{what} length");
            assert_eq!(o.main_len.to_string(), t[c_main], "{what} main data");
            assert_eq!(o.fpi_len.to_string(), t[c_fpi], "{what} fpi");
        }
    }
}

#[test]
fn versions_13_and_14_read_to_a_clean_end() {
    for name in ["npm-13", "npm-14"] {
        let dir = fixtures().join(name);
        let (ours, end) = read_all(&dir);
        let end_lsn = Lsn::parse(&info(&dir, "end_lsn")).unwrap();
        assert!(ours.len() > 3000, "{name}: {}", ours.len());
        // The records run past the end LSN noted before shutdown (the
        // shutdown checkpoint), and the end is the zeroed tail.
        assert!(ours.iter().any(|o| o.row.lsn >= end_lsn), "{name}");
        assert!(matches!(end, WalEnd::ZeroedTail { .. }), "{name}: {end:?}");
        assert!(ours.iter().all(|o| o.row.kind != "UNKNOWN"), "{name}");
    }
}
