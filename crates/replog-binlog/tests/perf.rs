//! Rough decode throughput (run with `--release -- --ignored`).
use replog_binlog::{EventBody, Events};

#[test]
#[ignore]
fn decode_throughput() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/mariadb/out/types/row-full/mariadb-bin.000001"
    );
    let Ok(data) = std::fs::read(path) else {
        return;
    };
    let reps = 300;
    let start = std::time::Instant::now();
    let mut values = 0usize;
    for _ in 0..reps {
        for ev in Events::new(&data).unwrap() {
            if let EventBody::Rows(r) = ev.unwrap().body() {
                for ch in r.rows() {
                    let ch = ch.unwrap();
                    values += ch.before.map_or(0, |r| r.values.len())
                        + ch.after.map_or(0, |r| r.values.len());
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = (data.len() * reps) as f64 / 1e6;
    eprintln!(
        "{mb:.1} MB in {secs:.3} s = {:.0} MB/s, {values} values",
        mb / secs
    );
}
