//! `--stats` tables equal pg_waldump's line for line (Debian 15) and
//! pg_walinspect's numbers (15 to 18).

mod common;

use common::*;
use replog_pgwal::WalReader;
use replog_pgwal::stats::WalStats;

fn stats(
    dir: &std::path::Path,
    from: Option<replog_pgwal::Lsn>,
    to: Option<replog_pgwal::Lsn>,
) -> WalStats {
    let segs = segments(dir);
    let mut r = WalReader::new(inputs(&segs));
    let mut s = WalStats::default();
    while let Some(rec) = r.next_record().unwrap() {
        if from.is_some_and(|f| rec.lsn < f) || to.is_some_and(|t| rec.lsn >= t) {
            continue;
        }
        s.add(&rec);
    }
    s
}

#[test]
fn stats_equal_pg_waldump_line_for_line() {
    let dir = fixtures().join("debian-15");
    let s = stats(&dir, None, None);
    for (per_record, file) in [
        (true, "waldump-stats-record.txt"),
        (false, "waldump-stats.txt"),
    ] {
        let mut out = Vec::new();
        s.write_pg_waldump(per_record, &mut out).unwrap();
        let ours = String::from_utf8(out).unwrap();
        let theirs = std::fs::read_to_string(dir.join(file)).unwrap();
        for (i, (o, t)) in ours.lines().zip(theirs.lines()).enumerate() {
            assert_eq!(o, t, "{file} line {}", i + 1);
        }
        assert_eq!(ours.lines().count(), theirs.lines().count(), "{file}");
    }
}

#[test]
fn stats_equal_pg_walinspect_for_every_version() {
    for dir in fixture_dirs() {
        let path = dir.join("walinspect-stats-record.csv");
        if !path.exists() {
            continue;
        }
        let start = replog_pgwal::Lsn::parse(&info(&dir, "start_lsn"));
        let end = replog_pgwal::Lsn::parse(&info(&dir, "end_lsn"));
        let s = stats(&dir, start, end);
        for (per_record, file) in [
            (true, "walinspect-stats-record.csv"),
            (false, "walinspect-stats.csv"),
        ] {
            let rows = csv(&std::fs::read_to_string(dir.join(file)).unwrap());
            let theirs: Vec<(String, u64, u64, u64)> = rows[1..]
                .iter()
                .map(|r| {
                    (
                        r[0].clone(),
                        r[1].parse().unwrap(),
                        r[3].parse().unwrap(),
                        r[5].parse().unwrap(),
                    )
                })
                // pg_walinspect lists managers without records too in the
                // per-manager form; so does pg_waldump.
                .collect();
            let ours: Vec<(String, u64, u64, u64)> = s
                .rows(per_record)
                .into_iter()
                .map(|r| (r.name, r.entry.count, r.entry.rec_len, r.entry.fpi_len))
                .collect();
            assert_eq!(ours, theirs, "{} {file}", dir.display());
        }
    }
}
