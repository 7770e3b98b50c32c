//! Decode throughput of small INSERT rows: `cargo bench -p replog-logical`.
//!
//! Plain `main` (no bench framework): decodes one million 4-column INSERT
//! bodies several times, draining every value, and prints rows per second.

use replog_core::Value;
use replog_logical::{ColumnValue, Insert, LogicalRecord, TupleBuf};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    const ROWS: usize = 1_000_000;
    let mut bodies = Vec::new();
    let mut ends = Vec::with_capacity(ROWS);
    let mut row = TupleBuf::new();
    for i in 0..ROWS {
        row.clear();
        row.push_value(&Value::Int(i as i64)).unwrap();
        row.push_value(&Value::Text(format!("name{:04}", i % 10_000).into()))
            .unwrap();
        row.push_value(&Value::UInt((i * 7) as u64)).unwrap();
        row.push_value(&if i % 3 == 0 {
            Value::Null
        } else {
            Value::Bool(i % 2 == 0)
        })
        .unwrap();
        LogicalRecord::Insert(Insert {
            relation_id: 1,
            new: row.as_tuple(),
        })
        .encode(&mut bodies)
        .unwrap();
        ends.push(bodies.len());
    }
    println!(
        "{} bytes, {:.1} bytes/row",
        bodies.len(),
        bodies.len() as f64 / ROWS as f64
    );

    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let (mut start, mut cols, mut nulls) = (0usize, 0usize, 0usize);
        for &end in &ends {
            let r = LogicalRecord::decode(black_box(&bodies[start..end]), start as u64).unwrap();
            if let LogicalRecord::Insert(ins) = r {
                for v in ins.new.values() {
                    match v.unwrap() {
                        ColumnValue::Value(Value::Null) => nulls += 1,
                        v => {
                            black_box(v);
                        }
                    }
                    cols += 1;
                }
            }
            start = end;
        }
        black_box((cols, nulls));
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "decode + iterate values: {:.1} M rows/s (best of 5)",
        ROWS as f64 / best / 1e6
    );

    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let mut start = 0usize;
        let mut cols = 0;
        for &end in &ends {
            let r = LogicalRecord::decode(black_box(&bodies[start..end]), start as u64).unwrap();
            cols += r.validate().unwrap();
            start = end;
        }
        black_box(cols);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "decode + validate: {:.1} M rows/s (best of 5)",
        ROWS as f64 / best / 1e6
    );
}
