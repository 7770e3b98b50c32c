//! Heap WAL decoded offline agrees with the server's own logical decoding
//! of the same range: `fixtures/postgres/logical/<server>/` holds, for one
//! workload on PostgreSQL 13 to 18, the WAL segments, the catalog file taken
//! at the end, and pgoutput's output (protocol 1; messages on from 14) up
//! to the same end LSN. Every committed transaction must carry the same xid, commit
//! time and changes — row by row, value by value (values compared by
//! PostgreSQL's text output of each, so the comparison holds whichever
//! value kinds the two decoders choose for a type).

mod common;
use common::*;
use replog_core::txn::{TxnEvent, TxnSource};
use replog_logical::{ColumnValue, LogicalRecord, OldImage, Tuple};
use std::collections::HashMap;

/// One committed transaction, normalized: xid, commit time, RELATIONs and
/// changes as text lines.
#[derive(Debug, PartialEq)]
struct Tx {
    xid: u64,
    time_us: i64,
    changes: Vec<String>,
}

fn tuple(t: &Tuple<'_>, cols: &[String]) -> String {
    let vals = t.to_vec().expect("tuple");
    assert_eq!(vals.len(), cols.len(), "columns of {cols:?}");
    let mut s = String::new();
    for (c, v) in cols.iter().zip(vals) {
        let v = match v {
            ColumnValue::Unchanged => "~".to_string(),
            ColumnValue::Value(replog_core::Value::Null) => "NULL".to_string(),
            ColumnValue::Value(v) => replog_pgtype::to_text(&v),
        };
        s.push_str(&format!(" {c}={v}"));
    }
    s
}

fn old(o: &Option<OldImage<'_>>, cols: &[String]) -> String {
    match o {
        None => String::new(),
        Some(o) => format!(" old({:?}){}", o.kind, tuple(&o.values, cols)),
    }
}

/// Every committed transaction of `src`.
fn transactions(src: &mut dyn TxnSource) -> Vec<Tx> {
    transactions_and_pieces(src).0
}

/// Every committed transaction of `src`, pieces joined
/// ([`replog_core::txn::Piece`]), and the number of pieces that were not
/// the last of their transaction.
fn transactions_and_pieces(src: &mut dyn TxnSource) -> (Vec<Tx>, usize) {
    let mut rels = Rels::new();
    let mut out: Vec<Tx> = Vec::new();
    let (mut open, mut pieces) = (false, 0);
    while let Some(ev) = src.next() {
        let TxnEvent::Transaction(t) = ev.unwrap_or_else(|e| panic!("{e}")) else {
            continue;
        };
        assert_eq!(open, !t.piece.first(), "pieces in order");
        let mut x = tx(&t, &mut rels);
        match out.last_mut() {
            Some(prev) if open => {
                assert_eq!((prev.xid, prev.time_us), (x.xid, x.time_us));
                prev.changes.append(&mut x.changes);
            }
            _ => out.push(x),
        }
        open = !t.piece.last;
        pieces += usize::from(open);
    }
    assert!(!open, "the last piece came");
    (out, pieces)
}

/// The relations seen so far: id → (name, columns).
type Rels = HashMap<u32, (String, Vec<String>)>;

/// One transaction as a [`Tx`].
fn tx(t: &replog_core::txn::Transaction<'_>, rels: &mut Rels) -> Tx {
    {
        let mut changes = Vec::new();
        for r in t.records() {
            let rec = LogicalRecord::decode(r.body, 0).expect("logical record");
            let name = |id: u32| rels.get(&id).cloned().expect("RELATION before use");
            let line = match rec {
                LogicalRecord::Relation(r) => {
                    let cols: Vec<String> = r.columns.iter().map(|c| c.name.to_string()).collect();
                    let name = format!("{}.{}", r.database, r.table);
                    // Names, key flags and schema versions; types are
                    // compared through the values.
                    let keys: Vec<&str> =
                        r.columns.iter().filter(|c| c.key).map(|c| c.name).collect();
                    let line = format!(
                        "RELATION {name} v{} {cols:?} key {keys:?}",
                        r.schema_version
                    );
                    rels.insert(r.relation_id, (name, cols));
                    line
                }
                LogicalRecord::Insert(i) => {
                    let (n, c) = name(i.relation_id);
                    format!("INSERT {n}{}", tuple(&i.new, &c))
                }
                LogicalRecord::Update(u) => {
                    let (n, c) = name(u.relation_id);
                    format!(
                        "UPDATE {n}{} new{}",
                        old(&u.before, &c),
                        tuple(&u.after, &c)
                    )
                }
                LogicalRecord::Delete(d) => {
                    let (n, c) = name(d.relation_id);
                    format!("DELETE {n}{}", old(&Some(d.before), &c))
                }
                LogicalRecord::Truncate(t) => {
                    let names: Vec<String> = t.relation_ids.iter().map(|&id| name(id).0).collect();
                    format!(
                        "TRUNCATE {names:?} cascade {} restart {}",
                        t.cascade, t.restart_identity
                    )
                }
                other => format!("{other:?}"),
            };
            changes.push(line);
        }
        Tx {
            xid: t.txid(),
            time_us: t.commit.timestamp_us,
            changes,
        }
    }
}

fn pgoutput(server: &str) -> Vec<Tx> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pgoutput-v1.copy");
    std::fs::write(&p, unzstd(&fixture_of(server).join("pgoutput-v1.copy.zst"))).unwrap();
    let input = replog_pglogical::PgLogicalInput::new(&p)
        .unwrap()
        .expect("pgoutput capture recognised");
    transactions(&mut input.open_source().unwrap())
}

/// The WAL fixture decoded, holding at most `limit` bytes of open
/// transactions in memory.
fn wal(server: &str, limit: Option<usize>) -> (Vec<Tx>, replog_pgheap::Report) {
    let (txns, report) = wal_with_undecoded(server, limit);
    assert!(
        report.undecoded.is_empty(),
        "{server}: {:?}",
        report.undecoded
    );
    (txns, report)
}

/// [`wal`], what could not be decoded left in the report.
fn wal_with_undecoded(server: &str, limit: Option<usize>) -> (Vec<Tx>, replog_pgheap::Report) {
    let (txns, report, _) = wal_in_pieces(server, limit, None);
    (txns, report)
}

/// [`wal_with_undecoded`], taken in pieces of about `piece` bytes when
/// given; with the number of pieces that were not the last.
fn wal_in_pieces(
    server: &str,
    limit: Option<usize>,
    piece: Option<usize>,
) -> (Vec<Tx>, replog_pgheap::Report, usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut src = replog_pgheap::source::open(&wal_input_of(server, dir.path())).unwrap();
    if let Some(l) = limit {
        src.producer_mut().set_spill_limit(l);
    }
    if let Some(p) = piece {
        src.accept_pieces(p);
    }
    let (txns, pieces) = transactions_and_pieces(&mut src);
    (txns, src.producer().report().clone(), pieces)
}

/// `fixtures/postgres/logical/debian-15-ddl`: a column dropped (table
/// `d1`) and one retyped with a rewrite into a new file (`d2`) inside the
/// range, with the catalog taken after both. The rows written before the
/// drop (they hold the dropped column, whose type the catalog no longer
/// has) are not output but reported, by relation, LSN and cause; the row
/// written to the file the rewrite replaced (its `c` is text, the
/// catalog's integer) stops the decoding with an error naming its LSN and
/// the likely cause; the rewrite's copies of the rows are no changes; every
/// transaction output equals pgoutput's.
#[test]
fn columns_dropped_or_retyped_in_the_range_are_refused_by_lsn_never_misread() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = replog_pgheap::source::open(&wal_input_of("debian-15-ddl", dir.path())).unwrap();
    let (mut wal, mut rels) = (Vec::new(), Rels::new());
    let err = loop {
        match src.next() {
            None => break None,
            Some(Err(e)) => break Some(e.to_string()),
            Some(Ok(TxnEvent::Transaction(t))) => wal.push(tx(&t, &mut rels)),
            Some(Ok(_)) => {}
        }
    };
    let err = err.expect("the row of the replaced file is an error");
    assert!(
        err.contains("public.d2")
            && err.contains("(LSN 0/")
            && err.contains("replaced inside the range")
            && err.contains("ALTER COLUMN TYPE"),
        "{err}"
    );
    let report = src.producer().report().clone();
    let reasons: Vec<String> = report
        .undecoded
        .iter()
        .map(|u| format!("{} {} {}x: {}", u.lsn, u.relation, u.count, u.reason))
        .collect();
    // Two inserts and an update before the drop.
    let dropped: u64 = report
        .undecoded
        .iter()
        .filter(|u| u.relation == "public.d1" && u.reason.contains("was dropped"))
        .map(|u| u.count)
        .sum();
    assert_eq!(dropped, 3, "{reasons:#?}");
    assert_eq!(report.undecoded.len(), 1, "{reasons:#?}");
    let pgo = pgoutput("debian-15-ddl");
    let by_xid: HashMap<u64, &Tx> = pgo.iter().map(|t| (t.xid, t)).collect();
    // d1 after the drop: an insert, a delete (by key), an update.
    assert_eq!(wal.len(), 3, "{wal:#?}");
    // The schema versions differ: pgoutput described d1 with its dropped
    // column first.
    let unversioned = |t: &Tx| -> Vec<String> {
        t.changes
            .iter()
            .map(|c| match c.split_once(" v") {
                Some((head, rest)) if c.starts_with("RELATION ") => {
                    format!("{head}{}", &rest[rest.find(' ').unwrap_or(0)..])
                }
                _ => c.clone(),
            })
            .collect()
    };
    for t in &wal {
        let p = by_xid
            .get(&t.xid)
            .unwrap_or_else(|| panic!("xid {} not sent", t.xid));
        assert_eq!(t.time_us, p.time_us, "xid {}", t.xid);
        assert_eq!(unversioned(t), unversioned(p), "xid {}", t.xid);
    }
}

#[test]
fn wal_decodes_to_the_transactions_pgoutput_sent() {
    for server in SERVERS {
        wal_agrees_with_pgoutput(server);
    }
}

fn wal_agrees_with_pgoutput(server: &str) {
    let (wal, report) = wal(server, None);
    assert_eq!(report.spilled_bytes, 0, "{server}: {report:?}");
    let mut pgo = pgoutput(server);
    assert!(
        pgo.len() > 10,
        "{server}: {} transactions in the capture",
        pgo.len()
    );
    // pgoutput sends logical messages from 14 on only.
    let messages = !server.ends_with("-13");
    let mut wal = wal;
    if !messages {
        for t in wal.iter_mut() {
            t.changes.retain(|c| !c.starts_with("Message("));
        }
        wal.retain(|t| !t.changes.is_empty());
        pgo.retain(|t| !t.changes.is_empty());
    }
    let mut mismatches = Vec::new();
    let by_xid: HashMap<u64, &Tx> = wal.iter().map(|t| (t.xid, t)).collect();
    for p in &pgo {
        match by_xid.get(&p.xid) {
            None => mismatches.push(format!("xid {} only in pgoutput: {:?}", p.xid, p.changes)),
            Some(w) if *w != p => {
                let first = w
                    .changes
                    .iter()
                    .zip(&p.changes)
                    .position(|(a, b)| a != b)
                    .unwrap_or(w.changes.len().min(p.changes.len()));
                mismatches.push(format!(
                    "xid {} (time {} / {}, {} / {} changes), first difference at {first}:\n  wal: {:?}\n  pgo: {:?}",
                    p.xid,
                    w.time_us,
                    p.time_us,
                    w.changes.len(),
                    p.changes.len(),
                    w.changes.get(first),
                    p.changes.get(first)
                ));
            }
            Some(_) => {}
        }
    }
    let pgo_xids: Vec<u64> = pgo.iter().map(|t| t.xid).collect();
    for w in &wal {
        if !pgo_xids.contains(&w.xid) {
            mismatches.push(format!("xid {} only in the WAL: {:?}", w.xid, w.changes));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{server}:\n{}",
        mismatches.join("\n")
    );
    // Commit order.
    let wal_xids: Vec<u64> = wal.iter().map(|t| t.xid).collect();
    assert_eq!(wal_xids, pgo_xids, "{server}");
}

#[test]
fn spilling_to_temporary_files_changes_nothing() {
    let (all, _) = wal("debian-15", None);
    // The 1500-row transaction (and the rolled-back one) exceed 16 KiB.
    let limit = 16 << 10;
    let (spilled, report) = wal("debian-15", Some(limit));
    assert!(
        report.spilled_bytes > 100_000 && report.spilled_transactions >= 2,
        "{report:?}"
    );
    assert!(report.peak_buffered <= limit as u64, "{report:?}");
    assert_eq!(all.len(), spilled.len());
    for (a, b) in all.iter().zip(&spilled) {
        assert_eq!(a, b, "transaction {}", a.xid);
    }
}

/// A transaction larger than the spill limit, handed over in pieces read
/// back from its temporary file, gives the same rows as decoded whole
/// without spilling; so do transactions in pieces that never spilled.
#[test]
fn a_spilled_transaction_handed_over_in_pieces_gives_the_same_rows() {
    let (all, _) = wal("debian-15", None);
    for limit in [16 << 10, replog_pgreorder::DEFAULT_LIMIT] {
        let (pieced, report, pieces) = wal_in_pieces("debian-15", Some(limit), Some(4 << 10));
        assert!(report.undecoded.is_empty(), "{:?}", report.undecoded);
        assert_eq!(report.spilled_bytes > 0, limit < 1 << 20, "{report:?}");
        // The 1,500-row transaction alone is about 100 KB of records.
        assert!(pieces > 20, "{pieces} pieces");
        assert_eq!(all.len(), pieced.len());
        for (a, b) in all.iter().zip(&pieced) {
            assert_eq!(a, b, "transaction {} (limit {limit})", a.xid);
        }
    }
}
