mod common;

use common::*;
use replog_binlog::ReadOptions;

const TRUNCATED: [&str; 2] = [
    "binlog_truncated_event.000001",
    "binlog_truncated_prev_gtid_event.000001",
];

fn all_fixtures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    v.sort();
    v
}

#[test]
fn dump_all() {
    for name in all_fixtures() {
        let data = read_fixture(&name);
        let (w, err) = walk(&data, ReadOptions::default());
        println!(
            "== {name}: {} events, {} inner, {} row changes, err={:?}",
            w.events.len(),
            w.inner.len(),
            w.changes.len(),
            err.as_ref().map(|e| e.to_string())
        );
        for (p, t, n) in &w.events {
            println!("   {p} {t} {n}");
        }
        for c in w.changes.iter().take(6) {
            println!("   {c:?}");
        }
    }
}
