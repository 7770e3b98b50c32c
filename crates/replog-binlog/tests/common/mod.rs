#![allow(dead_code)]

use replog_binlog::{Event, EventBody, Events, ReadOptions};
use replog_core::{Result, Value};
use std::path::PathBuf;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mysql")
}

pub fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// One decoded row change, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedChange {
    pub position: u64,
    pub table: String,
    pub before: Option<Vec<(usize, Value<'static>)>>,
    pub after: Option<Vec<(usize, Value<'static>)>>,
}

/// Summary of a whole walk over a file.
#[derive(Debug, Default)]
pub struct Walk {
    /// (position, type code, type name) of every top-level event.
    pub events: Vec<(u64, u8, &'static str)>,
    /// Inner events of transaction payloads (payload position, inner type).
    pub inner: Vec<(u64, u8)>,
    pub changes: Vec<OwnedChange>,
    pub queries: Vec<String>,
}

fn owned(row: &replog_binlog::Row<'_>) -> Vec<(usize, Value<'static>)> {
    row.iter()
        .map(|(c, v)| (c, v.clone().into_owned()))
        .collect()
}

fn visit(ev: &Event<'_>, walk: &mut Walk, outer: Option<u64>) -> Result<()> {
    match ev.body() {
        EventBody::Rows(r) => {
            let table = r
                .table
                .as_ref()
                .map(|t| t.qualified_name())
                .unwrap_or_default();
            for ch in r.rows() {
                let ch = ch?;
                walk.changes.push(OwnedChange {
                    position: outer.unwrap_or(ev.position()),
                    table: table.clone(),
                    before: ch.before.as_ref().map(owned),
                    after: ch.after.as_ref().map(owned),
                });
            }
        }
        EventBody::Query(q) => walk.queries.push(q.query_str().into_owned()),
        EventBody::TransactionPayload(p) => {
            let buf = p.decompress()?;
            for inner in p.events(&buf) {
                let inner = inner?;
                walk.inner.push((ev.position(), inner.type_code()));
                visit(&inner, walk, Some(ev.position()))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Reads every event, every row and every inner event.
pub fn walk(data: &[u8], opts: ReadOptions) -> (Walk, Option<replog_core::Error>) {
    let mut w = Walk::default();
    let events = match Events::with_options(data, opts) {
        Ok(e) => e,
        Err(e) => return (w, Some(e)),
    };
    for ev in events {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => return (w, Some(e)),
        };
        w.events
            .push((ev.position(), ev.type_code(), ev.type_name()));
        if let Err(e) = visit(&ev, &mut w, None) {
            return (w, Some(e));
        }
    }
    (w, None)
}
